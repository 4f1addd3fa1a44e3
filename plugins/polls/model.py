"""A poll and the views of it each audience gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Poll", "public_view", "results", "staff_view"]


@dataclass
class Poll:
    id: str
    question: str
    options: list[str]
    multiple: bool = False
    anonymous: bool = False
    status: Literal["open", "closed"] = "open"
    #: Whether attendees see the counts (hosts and moderators always do).
    results_visible: bool = True
    created_by: str = ""
    #: identity → {"choices": [option indexes], "name": display name}
    votes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Poll:
        return cls(**raw)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def counts(self) -> list[int]:
        counts = [0] * len(self.options)
        for vote in self.votes.values():
            for choice in vote["choices"]:
                counts[choice] += 1
        return counts


def _base(poll: Poll) -> dict[str, Any]:
    return {
        "id": poll.id,
        "question": poll.question,
        "options": poll.options,
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "status": poll.status,
        "results_visible": poll.results_visible,
        "created_by": poll.created_by,
        "voters": len(poll.votes),
    }


def public_view(poll: Poll) -> dict[str, Any]:
    """What attendees see: counts only once results are visible (live, revealed)."""
    view = _base(poll)
    view["counts"] = poll.counts() if poll.results_visible else None
    return view


def staff_view(poll: Poll) -> dict[str, Any]:
    """Hosts and moderators: counts always; who voted for what unless the poll is anonymous."""
    view = _base(poll)
    view["counts"] = poll.counts()
    if not poll.anonymous:
        view["names"] = [
            sorted(v["name"] for v in poll.votes.values() if i in v["choices"])
            for i in range(len(poll.options))
        ]
    return view


def results(poll: Poll) -> dict[str, Any]:
    """The poll's outcome as the ``plugin.polls.closed`` webhook carries it."""
    counts = poll.counts()
    out: dict[str, Any] = {
        "id": poll.id,
        "question": poll.question,
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "total_voters": len(poll.votes),
        "options": [{"text": text, "votes": counts[i]} for i, text in enumerate(poll.options)],
    }
    if not poll.anonymous:
        out["voters"] = [
            {"identity": k, "name": v["name"], "choices": v["choices"]} for k, v in poll.votes.items()
        ]
    return out

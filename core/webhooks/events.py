"""The catalogue of webhook event types; features and plugins add theirs with ``register_event_type``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventType", "event_type", "event_types", "register_event_type"]


@dataclass(frozen=True)
class EventType:
    """One kind of event a webhook endpoint can subscribe to."""

    name: str
    description: str
    #: Opt-in events (chat) reach only endpoints that name them; ``*`` does not include them.
    opt_in: bool = False
    #: An example of ``data``, shown in the docs and the dashboard.
    example: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, EventType] = {}


def register_event_type(
    name: str, description: str, *, opt_in: bool = False, example: dict[str, Any] | None = None
) -> EventType:
    """Add an event type (``recording.ready``, ``plugin.polls.closed``); registering it twice is fine.

    Names are dotted lowercase words. Registering a name again with a different description or
    ``opt_in`` raises ``ValueError``: two features would be sending different events under one name.
    """
    parts = name.split(".")
    if len(parts) < 2 or not all(p and p.replace("_", "").isalnum() and p.islower() for p in parts):
        raise ValueError(f"event type {name!r} must be dotted lowercase words, like 'recording.ready'")
    kind = EventType(name, description, opt_in, dict(example or {}))
    current = _REGISTRY.get(name)
    if current is not None and (current.description, current.opt_in) != (description, opt_in):
        raise ValueError(f"event type {name!r} is already registered differently")
    _REGISTRY.setdefault(name, kind)
    return _REGISTRY[name]


def event_type(name: str) -> EventType | None:
    return _REGISTRY.get(name)


def event_types() -> list[EventType]:
    """Every registered event type, by name."""
    return sorted(_REGISTRY.values(), key=lambda kind: kind.name)


_ROOM = {"id": 3, "slug": "all-hands", "name": "All hands"}
_PERSON = {
    "id": "15e3a8e9-596c-444e-bc3c-86970821ef26",
    "identity": "user-42",
    "name": "Ada",
    "role": "attendee",
}

register_event_type(
    "room.started", "the first participant entered the room", example={"room": _ROOM, "participant": _PERSON}
)
register_event_type(
    "room.ended",
    "the meeting ended: a host or the API ended it (`ended`), or the last participant left (`empty`)",
    example={"room": _ROOM, "reason": "ended", "by": "Ada"},
)
register_event_type(
    "participant.joined",
    "someone entered the room (lobby waiters count once admitted)",
    example={"room": _ROOM, "participant": _PERSON},
)
register_event_type(
    "participant.left",
    "someone left: `left`, `disconnected`, `kicked`, `replaced` or `ended`",
    example={"room": _ROOM, "participant": _PERSON, "reason": "left"},
)
register_event_type(
    "participant.role_changed",
    "a host, moderator or the API changed someone's role",
    example={
        "room": _ROOM,
        "participant": {**_PERSON, "role": "moderator"},
        "previous_role": "attendee",
        "by": "Ada",
    },
)
register_event_type(
    "participant.stage_changed",
    "webinars: a host, moderator or the API put someone on stage (`on_stage`: they may publish) or "
    "took them off it",
    example={"room": _ROOM, "participant": {**_PERSON, "on_stage": True}, "on_stage": True, "by": "Ada"},
)
register_event_type(
    "breakout.opened",
    "a host opened breakout rooms; `breakouts` lists them with who is assigned where",
    example={"room": _ROOM, "breakouts": {"id": 1, "main_room": "all-hands", "breakouts": []}, "by": "Ada"},
)
register_event_type(
    "breakout.closed",
    "the breakouts closed and everyone is coming back: `closed` (a host or the API), `timer` or `ended`",
    example={"room": _ROOM, "reason": "timer", "by": None},
)
register_event_type(
    "breakout.moved",
    "someone is moving to a breakout room (`to`, its slug; `breakout`, its number) or back (`breakout` 0)",
    example={
        "room": _ROOM,
        "participant": _PERSON,
        "to": "all-hands~1-2",
        "breakout": 2,
        "reason": "assigned",
    },
)
register_event_type(
    "chat.message",
    "a chat message to everyone or to the moderators (private messages are never sent)",
    opt_in=True,
    example={
        "room": _ROOM,
        "message": {
            "id": 55,
            "sender_id": _PERSON["id"],
            "sender_name": "Ada",
            "sender_role": "attendee",
            "to": "everyone",
            "text": "hello",
            "sent_at": "2026-11-23T19:36:05.297468Z",
        },
    },
)
_RECORDING = {
    "id": "out_5f2c…",
    "room": "all-hands",
    "state": "ready",
    "duration": 3600.0,
    "download_url": "…",
}
register_event_type(
    "recording.started", "a recording of the room started", example={"room": _ROOM, "recording": {}}
)
register_event_type(
    "recording.ready",
    "a recording finished processing; its download_url fetches the file with an API key",
    example={"room": _ROOM, "recording": _RECORDING},
)
register_event_type(
    "recording.failed",
    "a recording could not be completed; error says why",
    example={"room": _ROOM, "recording": {**_RECORDING, "state": "failed", "error": "…"}},
)
register_event_type("streaming.started", "the room went live (HLS, or an RTMP push)", example={"room": _ROOM})
register_event_type("streaming.stopped", "a live output stopped", example={"room": _ROOM})
register_event_type(
    "streaming.failed", "a live output failed", example={"room": _ROOM, "stream": {"id": "…", "error": "…"}}
)
register_event_type(
    "webhook.test",
    "sent on request (dashboard, `POST …/endpoints/{id}/test`) to check a receiver",
    opt_in=True,
    example={"tenant": "acme"},
)

"""Chat: persistence before delivery, who may read what, and the per-participant rate limit."""

from __future__ import annotations

import time
import uuid
from typing import Any

from piccolo.columns.combination import Or, Where

from podium.core.auth.permissions import Role
from podium.core.db.tables import ChatMessage
from podium.core.realtime.protocol import ChatAudience, ChatItem, ParticipantInfo
from podium.core.tenants import utcnow

__all__ = ["RateLimiter", "history", "post"]

_STORED_AUDIENCE: dict[ChatAudience, str] = {
    "everyone": "everyone",
    "moderators": "moderators",
    "participant": "private",
}
_WIRE_AUDIENCE: dict[str, ChatAudience] = {v: k for k, v in _STORED_AUDIENCE.items()}

C = ChatMessage
_COLUMNS = (
    C.id,
    C.sender_id,
    C.sender_name,
    C.sender_role,
    C.audience,
    C.recipient_id,
    C.recipient_name,
    C.text,
    C.created_at,
)


def _item(row: dict[str, Any]) -> ChatItem:
    return ChatItem(
        id=row["id"],
        sender_id=None if row["sender_id"] is None else str(row["sender_id"]),
        sender_name=row["sender_name"],
        sender_role=row["sender_role"],
        to=_WIRE_AUDIENCE[row["audience"]],
        recipient_id=None if row["recipient_id"] is None else str(row["recipient_id"]),
        recipient_name=row["recipient_name"],
        text=row["text"],
        sent_at=row["created_at"],
    )


async def post(
    room_id: int, sender: ParticipantInfo, to: ChatAudience, recipient: ParticipantInfo | None, text: str
) -> ChatItem:
    """Store a message (text exactly as sent) and return it as delivered."""
    now = utcnow()
    rows = await C.insert(
        C(
            room=room_id,
            sender_id=uuid.UUID(sender.id),
            sender_identity=sender.identity,
            sender_name=sender.name,
            sender_role=sender.role.value,
            audience=_STORED_AUDIENCE[to],
            recipient_id=None if recipient is None else uuid.UUID(recipient.id),
            recipient_identity=None if recipient is None else recipient.identity,
            recipient_name=None if recipient is None else recipient.name,
            text=text,
            created_at=now,
        )
    ).returning(C.id)
    return ChatItem(
        id=rows[0]["id"],
        sender_id=sender.id,
        sender_name=sender.name,
        sender_role=sender.role.value,
        to=to,
        recipient_id=None if recipient is None else recipient.id,
        recipient_name=None if recipient is None else recipient.name,
        text=text,
        sent_at=now,
    )


def _visible_to(identity: str, role: Role) -> Where | Or:
    """Everyone's messages, staff messages for staff, and one's own private conversations.

    Matched by identity so that a participant who reconnects keeps their history."""
    mine = (C.sender_identity == identity) | (C.recipient_identity == identity)
    if role in (Role.HOST, Role.MODERATOR):
        return (C.audience != "private") | mine
    return (
        (C.audience == "everyone") | ((C.audience == "moderators") & (C.sender_identity == identity)) | mine
    )


async def history(
    room_id: int, *, limit: int, before: int | None = None, viewer: ParticipantInfo | None = None
) -> list[ChatItem]:
    """Up to ``limit`` messages older than id ``before``, oldest first; ``viewer=None`` sees all (tenant)."""
    query = C.select(*_COLUMNS).where(C.room == room_id)
    if before is not None:
        query = query.where(C.id < before)
    if viewer is not None:
        query = query.where(_visible_to(viewer.identity, viewer.role))
    rows = await query.order_by(C.id, ascending=False).limit(limit)
    return [_item(row) for row in reversed(rows)]


class RateLimiter:
    """Token bucket: ``burst`` messages at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

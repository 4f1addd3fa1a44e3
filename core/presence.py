"""Participant sessions: who is in which room, shared by every node through the database.

A session row lives from the join to the leave. Each node refreshes
``last_seen_at`` of the sessions it holds; a row that stops being refreshed
(its node died) is swept as ``disconnected`` by any node.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.engine.postgres import PostgresEngine

from podium.core.auth.permissions import Role
from podium.core.db.tables import ParticipantSession
from podium.core.realtime.protocol import LeaveReason, ParticipantInfo
from podium.core.tenants import utcnow

__all__ = ["Presence", "SessionStatus"]

SessionStatus = Literal["waiting", "joined", "left"]
P = ParticipantSession

_COLUMNS = (
    P.id,
    P.identity,
    P.display_name,
    P.role,
    P.audio_muted,
    P.video_muted,
    P.screen_sharing,
    P.joined_at,
    P.on_stage,
    P.hand_raised_at,
    P.viewer,
)


def _info(row: dict[str, Any]) -> ParticipantInfo:
    return ParticipantInfo(
        id=str(row["id"]),
        identity=row["identity"],
        name=row["display_name"],
        role=Role(row["role"]),
        audio_muted=row["audio_muted"],
        video_muted=row["video_muted"],
        screen_sharing=row["screen_sharing"],
        joined_at=row["joined_at"],
        on_stage=row["on_stage"],
        hand_raised_at=row["hand_raised_at"],
        viewer=row["viewer"],
    )


class Presence:
    """Session bookkeeping for one node."""

    def __init__(self, node_id: str, timeout: float) -> None:
        self.node_id = node_id
        self.timeout = timedelta(seconds=timeout)
        self._local_locks: dict[int, asyncio.Lock] = {}

    def _fresh(self) -> Where:
        return P.last_seen_at > utcnow() - self.timeout

    @asynccontextmanager
    async def room_lock(self, room_id: int) -> AsyncIterator[None]:
        """Serialise capacity decisions for a room across every node.

        PostgreSQL: a transaction-scoped advisory lock. SQLite is single-node, so a
        process-local lock is the whole story."""
        engine = P._meta.db
        if isinstance(engine, PostgresEngine):
            async with engine.transaction():
                await P.raw("SELECT pg_advisory_xact_lock({}, {})", 0x50D1, room_id)
                yield
        else:
            lock = self._local_locks.setdefault(room_id, asyncio.Lock())
            async with lock:
                yield

    async def open(self, room_id: int, me: ParticipantInfo, *, status: SessionStatus) -> None:
        """Record ``me`` (its id chosen by the caller) as waiting in the lobby or joined."""
        await P.insert(
            P(
                id=uuid.UUID(me.id),
                room=room_id,
                identity=me.identity,
                display_name=me.name,
                role=me.role.value,
                status=status,
                node_id=self.node_id,
                joined_at=me.joined_at,
                last_seen_at=utcnow(),
                on_stage=me.on_stage,
                viewer=me.viewer,
            )
        )

    async def listing(self, room_id: int, status: SessionStatus) -> list[ParticipantInfo]:
        rows = await (
            P.select(*_COLUMNS)
            .where((P.room == room_id) & (P.status == status) & self._fresh())
            .order_by(P.joined_at)
        )
        return [_info(row) for row in rows]

    async def live_rooms(self, tenant: str) -> list[int]:
        """Ids of the tenant's rooms (by slug) with someone joined right now."""
        rows = await (
            P.select(P.room)
            .where((P.room._.tenant._.slug == tenant) & (P.status == "joined") & self._fresh())
            .distinct()
        )
        return sorted({int(row["room"]) for row in rows})

    async def count_joined(self, room_id: int, *, viewers: bool | None = None) -> int:
        """Joined participants; ``viewers=False``: only those on WebRTC (a webinar's interactive
        seats), ``True``: only its overflow viewers (HLS)."""
        where = (P.room == room_id) & (P.status == "joined") & self._fresh()
        if viewers is not None:
            where &= P.viewer == viewers
        return int(await P.count().where(where))

    async def session(self, participant_id: str) -> ParticipantInfo | None:
        """A participant as they were, whatever their status now (for reports after they left)."""
        row = await P.select(*_COLUMNS).where(P.id == uuid.UUID(participant_id)).first()
        return None if row is None else _info(row)

    async def find(self, room_id: int, participant_id: str) -> tuple[ParticipantInfo, SessionStatus] | None:
        """A live participant of ``room_id`` (never one of another room)."""
        try:
            pid = uuid.UUID(participant_id)
        except ValueError:
            return None
        row = (
            await P.select(*_COLUMNS, P.status)
            .where((P.id == pid) & (P.room == room_id) & (P.status != "left") & self._fresh())
            .first()
        )
        return None if row is None else (_info(row), row["status"])

    async def same_identity(self, room_id: int, identity: str) -> list[str]:
        rows = await P.select(P.id).where(
            (P.room == room_id) & (P.identity == identity) & (P.status != "left")
        )
        return [str(row["id"]) for row in rows]

    async def was_admitted(self, room_id: int, identity: str, within: float) -> bool:
        """Whether ``identity``'s latest stay in the room is live or dropped (not ended) lately.

        A reconnecting attendee of a lobby room goes straight back in instead of knocking again."""
        latest = (
            await P.select(P.status, P.leave_reason, P.left_at)
            .where((P.room == room_id) & (P.identity == identity) & (P.status != "waiting"))
            .order_by(P.joined_at, ascending=False)
            .first()
        )
        if latest is None:
            return False
        if latest["status"] == "joined":
            return True
        recently = utcnow() - timedelta(seconds=within)
        return bool(latest["leave_reason"] in ("disconnected", "replaced") and latest["left_at"] > recently)

    async def was_on_stage(self, room_id: int, identity: str, within: float) -> bool:
        """Whether ``identity``'s latest stay in the room was on stage and only dropped (or was
        replaced) lately: a speaker whose connection blinked comes back on stage."""
        latest = (
            await P.select(P.on_stage, P.viewer, P.leave_reason, P.left_at)
            .where((P.room == room_id) & (P.identity == identity) & (P.status == "left"))
            .order_by(P.joined_at, ascending=False)
            .first()
        )
        if latest is None or not latest["on_stage"] or latest["viewer"]:
            return False
        recently = utcnow() - timedelta(seconds=within)
        return bool(latest["leave_reason"] in ("disconnected", "replaced") and latest["left_at"] > recently)

    async def kicked_at(self, room_id: int, identity: str) -> datetime | None:
        """When ``identity`` was last kicked out of the room, its lobby or one of its breakouts."""
        row = (
            await P.select(P.left_at)
            .where(
                ((P.room == room_id) | (P.room.parent == room_id))
                & (P.identity == identity)
                & (P.leave_reason == "kicked")
            )
            .order_by(P.left_at, ascending=False)
            .first()
        )
        return None if row is None else row["left_at"]

    async def close(self, participant_id: str, reason: LeaveReason) -> bool:
        """Mark a session left; ``True`` only for the caller that actually closed it."""
        rows = (
            await P.update({P.status: "left", P.left_at: utcnow(), P.leave_reason: reason})
            .where((P.id == uuid.UUID(participant_id)) & (P.status != "left"))
            .returning(P.id)
        )
        return bool(rows)

    async def close_room(self, room_id: int, reason: LeaveReason) -> list[str]:
        rows = (
            await P.update({P.status: "left", P.left_at: utcnow(), P.leave_reason: reason})
            .where((P.room == room_id) & (P.status != "left"))
            .returning(P.id)
        )
        return [str(row["id"]) for row in rows]

    async def admit(self, participant_id: str) -> bool:
        rows = (
            await P.update({P.status: "joined", P.last_seen_at: utcnow()})
            .where((P.id == uuid.UUID(participant_id)) & (P.status == "waiting"))
            .returning(P.id)
        )
        return bool(rows)

    async def set_role(self, participant_id: str, role: Role) -> None:
        await P.update({P.role: role.value}).where(P.id == uuid.UUID(participant_id))

    async def update(self, participant_id: str, **values: object) -> ParticipantInfo | None:
        columns = {
            "name": P.display_name,
            "audio_muted": P.audio_muted,
            "video_muted": P.video_muted,
            "screen_sharing": P.screen_sharing,
            "on_stage": P.on_stage,
            "hand_raised_at": P.hand_raised_at,
            "viewer": P.viewer,
        }
        change: dict[Column | str, Any] = {columns[k]: v for k, v in values.items() if v is not None}
        pid = uuid.UUID(participant_id)
        if change:
            await P.update(change).where(P.id == pid)
        row = await P.select(*_COLUMNS).where(P.id == pid).first()
        return None if row is None else _info(row)

    async def set_hand(self, participant_id: str, raised: bool) -> bool:
        """Raise or lower a hand; ``True`` when it changed. Raising a raised hand keeps its
        place in the queue (its first ``hand_raised_at``)."""
        pid = uuid.UUID(participant_id)
        if raised:
            rows = await (
                P.update({P.hand_raised_at: utcnow()})
                .where((P.id == pid) & P.hand_raised_at.is_null())
                .returning(P.id)
            )
        else:
            rows = await (
                P.update({P.hand_raised_at: None})
                .where((P.id == pid) & P.hand_raised_at.is_not_null())
                .returning(P.id)
            )
        return bool(rows)

    async def set_stage(self, participant_id: str, on_stage: bool) -> None:
        """Put a participant on stage (their hand goes down: they were called on) or off it; a
        viewer put on stage has an interactive seat from now on."""
        change: dict[Column | str, Any] = {P.on_stage: on_stage}
        if on_stage:
            change.update({P.hand_raised_at: None, P.viewer: False})
        await P.update(change).where(P.id == uuid.UUID(participant_id))

    async def refresh(self, participant_ids: list[str]) -> None:
        """Tell other nodes this node's participants are still here."""
        if participant_ids:
            await P.update({P.last_seen_at: utcnow()}).where(
                P.id.is_in([uuid.UUID(pid) for pid in participant_ids]) & (P.status != "left")
            )

    async def sweep(self) -> list[tuple[int, str, str]]:
        """Close sessions whose node stopped refreshing them: ``(room_id, participant_id, was_status)``."""
        cutoff: datetime = utcnow() - self.timeout
        stale = await P.select(P.id, P.room, P.status).where((P.status != "left") & (P.last_seen_at < cutoff))
        closed = []
        for row in stale:
            if await self.close(str(row["id"]), "disconnected"):
                closed.append((row["room"], str(row["id"]), row["status"]))
        return closed

    async def close_everything(self) -> int:
        """Embedded mode starts alone: whatever a previous process held is gone."""
        rows = (
            await P.update({P.status: "left", P.left_at: utcnow(), P.leave_reason: "disconnected"})
            .where(P.status != "left")
            .returning(P.id)
        )
        return len(rows)

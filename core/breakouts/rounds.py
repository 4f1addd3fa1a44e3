"""Breakout rounds in the database: opening one (with a room per breakout), where each identity
belongs, who is where now, and closing it exactly once across nodes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from podium.core.breakouts.messages import BreakoutInfo, BreakoutMember, BreakoutsInfo
from podium.core.db.tables import Breakout, BreakoutAssignment, BreakoutRound, ParticipantSession, Room
from podium.core.errors import PodiumError
from podium.core.rooms import RoomInfo, get_room_by_id
from podium.core.tenants import utcnow

__all__ = [
    "assign",
    "breakouts_of",
    "close_round",
    "create_round",
    "current_round",
    "due_rounds",
    "info",
    "main_of",
    "placement",
    "recently_placed",
]

P = ParticipantSession


async def main_of(room: RoomInfo) -> RoomInfo:
    """The main room of a breakout room; any other room is its own main room."""
    return room if room.parent is None else await get_room_by_id(room.parent, room.tenant)


async def current_round(main_id: int) -> dict[str, Any] | None:
    """The main room's open round, if any."""
    row: dict[str, Any] | None = (
        await BreakoutRound.select()
        .where((BreakoutRound.room == main_id) & BreakoutRound.closed_at.is_null())
        .first()
    )
    return row


async def create_round(
    main: RoomInfo, names: list[str], *, by: str | None, duration: int | None, allow_choice: bool
) -> int:
    """A new round with one room per name; ``breakouts_open`` if one is open already."""
    if await current_round(main.id) is not None:
        raise PodiumError("breakouts_open", "breakouts are already open; close them first", status=409)
    owner = (
        await Room.select(Room.tenant, Room.max_participants, Room.recording_allowed)
        .where(Room.id == main.id)
        .first()
    )
    assert owner is not None
    now = utcnow()
    ends = None if duration is None else now + timedelta(seconds=duration)
    rows = await BreakoutRound.insert(
        BreakoutRound(room=main.id, opened_at=now, opened_by=by, ends_at=ends, allow_choice=allow_choice)
    ).returning(BreakoutRound.id)
    round_id = int(rows[0]["id"])
    for number, name in enumerate(names, start=1):
        # "~" cannot appear in slugs made through the API, so breakout rooms never collide with them.
        room = await Room.insert(
            Room(
                tenant=owner["tenant"],
                slug=f"{main.slug[:40]}~{round_id}-{number}",
                name=name,
                max_participants=owner["max_participants"],
                media_mode="auto",
                lobby=False,
                recording_allowed=owner["recording_allowed"],
                created_at=now,
                parent=main.id,
            )
        ).returning(Room.id)
        await Breakout.insert(Breakout(round=round_id, room=room[0]["id"], position=number, name=name))
    return round_id


async def breakouts_of(round_id: int) -> list[dict[str, Any]]:
    """The round's breakouts in order: ``id``, ``position``, ``name``, ``room`` (id) and ``slug``."""
    rows: list[dict[str, Any]] = (
        await Breakout.select(
            Breakout.id, Breakout.position, Breakout.name, Breakout.room, Breakout.room.slug.as_alias("slug")
        )
        .where(Breakout.round == round_id)
        .order_by(Breakout.position)
    )
    return rows


async def placement(round_id: int, identity: str) -> int | None:
    """The breakout (row id) ``identity`` is assigned to in the round; ``None``: the main room."""
    row = (
        await BreakoutAssignment.select(BreakoutAssignment.breakout)
        .where((BreakoutAssignment.round == round_id) & (BreakoutAssignment.identity == identity))
        .first()
    )
    return None if row is None else row["breakout"]


async def assign(round_id: int, identity: str, breakout_id: int | None) -> None:
    """Record where ``identity`` belongs for the rest of the round (late joins and reloads go there)."""
    await BreakoutAssignment.delete().where(
        (BreakoutAssignment.round == round_id) & (BreakoutAssignment.identity == identity)
    )
    await BreakoutAssignment.insert(
        BreakoutAssignment(round=round_id, identity=identity, breakout=breakout_id)
    )


async def recently_placed(main_id: int, identity: str, within: float) -> bool:
    """Whether ``identity`` was in one of the room's breakouts lately (so it skips the lobby on
    its way back): assigned in the open round, or in one closed less than ``within`` s ago."""
    since = utcnow() - timedelta(seconds=within)
    row = (
        await BreakoutAssignment.select(BreakoutAssignment.id)
        .where(
            (BreakoutAssignment.identity == identity)
            & (BreakoutAssignment.round.room == main_id)
            & (BreakoutAssignment.round.closed_at.is_null() | (BreakoutAssignment.round.closed_at > since))
        )
        .first()
    )
    return row is not None


async def close_round(round_id: int) -> bool:
    """Mark the round closed; ``True`` only for the one caller (on any node) that closed it."""
    rows = (
        await BreakoutRound.update({BreakoutRound.closed_at: utcnow()})
        .where((BreakoutRound.id == round_id) & BreakoutRound.closed_at.is_null())
        .returning(BreakoutRound.id)
    )
    return bool(rows)


async def due_rounds(now: datetime) -> list[dict[str, Any]]:
    """Open rounds whose timer has run out: ``id`` and the main ``room`` id."""
    rows: list[dict[str, Any]] = await BreakoutRound.select(BreakoutRound.id, BreakoutRound.room).where(
        BreakoutRound.closed_at.is_null() & (BreakoutRound.ends_at <= now)
    )
    return rows


async def info(main: RoomInfo, round_row: dict[str, Any]) -> BreakoutsInfo:
    """The round as clients see it: each breakout with who is in it now and who is assigned."""
    breakouts = await breakouts_of(round_row["id"])
    rooms = [b["room"] for b in breakouts]
    present = (
        await P.select(P.room, P.identity, P.display_name, P.role)
        .where(P.room.is_in(rooms) & (P.status == "joined"))
        .order_by(P.joined_at)
        if rooms
        else []
    )
    assigned = await BreakoutAssignment.select(
        BreakoutAssignment.identity, BreakoutAssignment.breakout
    ).where(BreakoutAssignment.round == round_row["id"])
    return BreakoutsInfo(
        id=round_row["id"],
        main_room=main.slug,
        main_name=main.name,
        opened_at=round_row["opened_at"],
        ends_at=round_row["ends_at"],
        allow_choice=round_row["allow_choice"],
        breakouts=[
            BreakoutInfo(
                number=b["position"],
                name=b["name"],
                room=b["slug"],
                participants=[
                    BreakoutMember(identity=p["identity"], name=p["display_name"], role=p["role"])
                    for p in present
                    if p["room"] == b["room"]
                ],
                assigned=[a["identity"] for a in assigned if a["breakout"] == b["id"]],
            )
            for b in breakouts
        ],
    )

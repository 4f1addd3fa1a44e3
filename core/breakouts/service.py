"""Breakout rooms: a host splits the main room into breakouts and brings everyone back.

Each breakout is a room of its own (its slug ``main~round-n``), so media (peer to peer or the
MCU, by its size), chat, plugins and recording work there as in any room. Moving someone means:
mint them a join token for the other room, send it (``breakout.move``), close their socket
(4414 ``moved``); their client reconnects there with camera and microphone as they were. Where
each identity belongs is stored for the round, so late joiners, reloads and reconnects land in
their breakout, and those coming back skip the main room's lobby.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from podium.core.auth import tokens
from podium.core.auth.keys import SecretBox
from podium.core.auth.permissions import Role
from podium.core.breakouts import rounds
from podium.core.breakouts.messages import (
    BreakoutMove,
    BreakoutsChanged,
    BreakoutsInfo,
    BreakoutsMessage,
    BreakoutsSpec,
    MovedTo,
    MoveReason,
)
from podium.core.errors import PodiumError
from podium.core.presence import Presence
from podium.core.realtime import envelope as env
from podium.core.realtime.connection import CloseCode, Connection
from podium.core.realtime.hub import Hub
from podium.core.realtime.protocol import LeaveReason, ParticipantInfo
from podium.core.realtime.room_actions import RoomActions
from podium.core.rooms import RoomInfo, find_room_by_id, get_room_by_id
from podium.core.settings import Settings
from podium.core.tenants import TenantRef, newest_key, utcnow

__all__ = ["Breakouts"]

log = logging.getLogger(__name__)
_STAFF = (Role.HOST, Role.MODERATOR)
#: Seconds people have to follow a ``breakout.move`` home before a closed breakout is ended.
CLOSE_GRACE = 10.0
#: A move's join token is for reconnecting in the other room; it need not outlive a meeting day.
MOVE_TOKEN_TTL = 12 * 3600


def _not_open() -> PodiumError:
    return PodiumError("breakouts_not_open", "this room has no open breakouts", status=409)


class Breakouts:
    """Opening, closing and moving between a room's breakouts (a ``RoomActions`` observer)."""

    def __init__(
        self,
        settings: Settings,
        presence: Presence,
        hub: Hub,
        actions: RoomActions,
        box: SecretBox,
        tenant_of: Callable[[str], Awaitable[TenantRef]],
    ) -> None:
        self.settings = settings
        self.presence = presence
        self.hub = hub
        self.actions = actions
        self.box = box
        self.tenant_of = tenant_of
        actions.observers.append(self)
        self._later: set[asyncio.Task[None]] = set()

    # ---- what hosts do ---------------------------------------------------------------------------------

    async def open(self, room: RoomInfo, spec: BreakoutsSpec, by: ParticipantInfo | None) -> BreakoutsInfo:
        """Open ``spec.count`` breakouts of ``room`` and send people there."""
        main = await rounds.main_of(room)
        names = list(spec.names or [])
        if len(names) > spec.count:
            raise PodiumError("invalid_message", f"{len(names)} names for {spec.count} breakouts")
        names += [f"Breakout {n}" for n in range(len(names) + 1, spec.count + 1)]
        if spec.assignment == "auto" and spec.assignments:
            raise PodiumError("invalid_message", "assignments go with assignment='manual'")
        present = await self.presence.listing(main.id, "joined")
        moves = self._auto(present, spec.count) if spec.assignment == "auto" else []
        for participant_id, number in (spec.assignments or {}).items():
            if number > spec.count:
                raise PodiumError("breakout_not_found", f"there are {spec.count} breakouts", status=404)
            person = next((p for p in present if p.id == participant_id), None)
            if person is None:
                raise PodiumError("participant_not_found", "no such participant in this room", status=404)
            moves.append((person, number))
        round_id = await rounds.create_round(
            main,
            names,
            by=None if by is None else by.name,
            duration=spec.duration,
            allow_choice=spec.allow_choice,
        )
        breakouts = await rounds.breakouts_of(round_id)
        for person, number in moves:
            await rounds.assign(round_id, person.identity, breakouts[number - 1]["id"] if number else None)
        state = await self._announce(main)
        assert state is not None  # just opened
        await self.actions.tell_tenant(
            main, "breakout.opened", breakouts=state, by=None if by is None else by.name
        )
        if self.actions.plugins is not None:
            self.actions.plugins.breakouts_opened(main, state)
        for person, number in moves:
            if number:
                target = await get_room_by_id(breakouts[number - 1]["room"], main.tenant)
                await self._move(main, person, target, number, "assigned", by)
        return await self._announce(main) or state

    @staticmethod
    def _auto(present: list[ParticipantInfo], count: int) -> list[tuple[ParticipantInfo, int]]:
        """Attendees spread evenly over the breakouts in random order; hosts and moderators stay."""
        attendees = [p for p in present if p.role is Role.ATTENDEE]
        random.shuffle(attendees)
        return [(person, index % count + 1) for index, person in enumerate(attendees)]

    async def close(self, room: RoomInfo, by: ParticipantInfo | None, reason: str = "closed") -> None:
        """Close the breakouts: everyone in them comes back to the main room."""
        main = await rounds.main_of(room)
        current = await rounds.current_round(main.id)
        if current is None:
            raise _not_open()
        await self._close(main, current["id"], by, reason)

    async def _close(self, main: RoomInfo, round_id: int, by: ParticipantInfo | None, reason: str) -> None:
        if not await rounds.close_round(round_id):
            return  # another node (or the timer) closed it first
        children = [await get_room_by_id(b["room"], main.tenant) for b in await rounds.breakouts_of(round_id)]
        if reason != "ended":
            for child in children:
                for person in await self.presence.listing(child.id, "joined"):
                    await self._move(child, person, main, 0, "closed", by)
        for target in (main, *children):
            await self.hub.publish(target.id, BreakoutsChanged(breakouts=None))
        await self.actions.tell_tenant(
            main, "breakout.closed", reason=reason, by=None if by is None else by.name
        )
        if self.actions.plugins is not None:
            self.actions.plugins.breakouts_closed(main, reason)
        self._spawn(self._end_later(children, 0 if reason == "ended" else CLOSE_GRACE))

    async def _end_later(self, children: list[RoomInfo], delay: float) -> None:
        """End the closed breakouts once everyone had time to follow their move (stragglers: 4410)."""
        await asyncio.sleep(delay)
        for child in children:
            await self.actions.end(child, None)

    async def assign(
        self, room: RoomInfo, participant_id: str, number: int, by: ParticipantInfo | None
    ) -> None:
        """Move one participant to breakout ``number`` (0: the main room) while breakouts are open."""
        main, current, breakouts = await self._open_round(room)
        found = None
        for place in [main.id, *(b["room"] for b in breakouts)]:
            hit = await self.presence.find(place, participant_id)
            if hit is not None and hit[1] == "joined":
                found = (place, hit[0])
                break
        if found is None:
            raise PodiumError("participant_not_found", "no such participant in this room", status=404)
        here = main if found[0] == main.id else await get_room_by_id(found[0], main.tenant)
        await self._go(main, current["id"], breakouts, here, found[1], number, "assigned", by)

    async def join(self, conn: Connection, number: int, accepted: Callable[[], None] | None = None) -> None:
        """``breakout.join``: visit (staff), pick (attendees, when allowed) or go back (anyone);
        ``accepted`` runs once the move is sure, before the socket closes."""
        main, current, breakouts = await self._open_round(conn.room)
        staff = conn.role in _STAFF
        if number and not staff and not current["allow_choice"]:
            raise PodiumError("forbidden", "the host assigns breakouts in this room", status=403)
        reason: MoveReason = "returned" if number == 0 else "visit" if staff else "chosen"
        await self._go(main, current["id"], breakouts, conn.room, conn.me, number, reason, conn.me, accepted)

    async def broadcast(
        self, room: RoomInfo, text: str, by: ParticipantInfo | None, by_name: str | None = None
    ) -> None:
        """A message to everyone in the main room and in every breakout (from ``by``, or ``by_name``
        when the tenant's server sends it)."""
        main, _, breakouts = await self._open_round(room)
        sender = by.name if by is not None else by_name or "the host"
        message = BreakoutsMessage(by=sender, text=text, sent_at=utcnow())
        for room_id in [main.id, *(b["room"] for b in breakouts)]:
            await self.hub.publish(room_id, message)

    async def state(self, room: RoomInfo) -> BreakoutsInfo | None:
        """The open breakouts of ``room``'s main room, as ``welcome`` and the REST API show them."""
        main = await rounds.main_of(room)
        current = await rounds.current_round(main.id)
        return None if current is None else await rounds.info(main, current)

    async def admit(self, room: RoomInfo) -> None:
        """Refuse joins to a breakout room whose breakouts are closed (``breakout_closed``)."""
        if room.parent is None:
            return
        current = await rounds.current_round(room.parent)
        if current is None or room.id not in [b["room"] for b in await rounds.breakouts_of(current["id"])]:
            raise PodiumError("breakout_closed", "these breakouts are over; rejoin the main room", status=410)

    async def watch(self, interval: float = 1.0) -> None:
        """Close breakouts whose timer ran out, forever (every node runs it; one closes each)."""
        while True:
            await asyncio.sleep(interval)
            try:
                for due in await rounds.due_rounds(utcnow()):
                    main = await find_room_by_id(due["room"])
                    if main is not None:
                        await self._close(main, due["id"], None, "timer")
            except Exception:
                log.exception("breakout timers: retrying")

    # ---- RoomActions observer --------------------------------------------------------------------------

    async def seated(self, conn: Connection) -> None:
        room = conn.room
        if room.parent is not None:
            await self._announce(await rounds.main_of(room))
            return
        current = await rounds.current_round(room.id)
        if current is None:
            return
        # A late joiner, a reload or a reconnect: off to the breakout this identity belongs to.
        placed = await rounds.placement(current["id"], conn.me.identity)
        for breakout in await rounds.breakouts_of(current["id"]):
            if breakout["id"] == placed:
                target = await get_room_by_id(breakout["room"], room.tenant)
                await self._move(room, conn.me, target, breakout["position"], "assigned", None)

    async def departed(self, room: RoomInfo, participant: ParticipantInfo, reason: LeaveReason) -> None:
        if room.parent is not None and reason != "ended":
            await self._announce(await rounds.main_of(room))

    async def ended(self, room: RoomInfo) -> None:
        if room.parent is None:
            # In the background: whoever ended the room gets its answer before its socket closes.
            self._spawn(self._end_breakouts(room))

    async def _end_breakouts(self, main: RoomInfo) -> None:
        current = await rounds.current_round(main.id)
        if current is not None:
            await self._close(main, current["id"], None, "ended")

    async def skips_lobby(self, room: RoomInfo, identity: str) -> bool:
        return await rounds.recently_placed(room.id, identity, self.settings.rejoin_grace + 60)

    # ---- moving people ---------------------------------------------------------------------------------

    async def _open_round(self, room: RoomInfo) -> tuple[RoomInfo, dict[str, Any], list[dict[str, Any]]]:
        main = await rounds.main_of(room)
        current = await rounds.current_round(main.id)
        if current is None:
            raise _not_open()
        return main, current, await rounds.breakouts_of(current["id"])

    async def _go(
        self,
        main: RoomInfo,
        round_id: int,
        breakouts: list[dict[str, Any]],
        here: RoomInfo,
        person: ParticipantInfo,
        number: int,
        reason: MoveReason,
        by: ParticipantInfo | None,
        accepted: Callable[[], None] | None = None,
    ) -> None:
        if number > len(breakouts):
            raise PodiumError("breakout_not_found", f"there are {len(breakouts)} breakouts", status=404)
        chosen = breakouts[number - 1] if number else None
        target = main if chosen is None else await get_room_by_id(chosen["room"], main.tenant)
        if target.id == here.id:
            raise PodiumError("invalid_target", "they are in that room already")
        await rounds.assign(round_id, person.identity, None if chosen is None else chosen["id"])
        if accepted is not None:
            accepted()
        await self._move(here, person, target, number, reason, by)

    async def _move(
        self,
        here: RoomInfo,
        person: ParticipantInfo,
        target: RoomInfo,
        number: int,
        reason: MoveReason,
        by: ParticipantInfo | None,
    ) -> None:
        """Send ``person`` from ``here`` to ``target`` with a token of their own for it."""
        key_id, secret = await newest_key(await self.tenant_of(here.tenant), self.box)
        role = person.role
        token = tokens.mint(
            key_id=key_id,
            secret=secret,
            identity=person.identity,
            room=target.slug,
            role=role,
            name=person.name,
            ttl=min(MOVE_TOKEN_TTL, self.settings.token_max_ttl),
        )
        if not await self.presence.close(person.id, "moved"):
            return  # they left (or were moved) meanwhile
        move = BreakoutMove(
            room=MovedTo(slug=target.slug, name=target.name, breakout=number),
            token=token,
            reason=reason,
            by=None if by is None else by.name,
        )
        await self.hub.publish(
            here.id,
            move,
            audience="none",
            targets=[person.id],
            ops=[env.Close(participant_id=person.id, code=CloseCode.MOVED, reason="moved")],
        )
        await self.actions.depart(here, person, "moved")
        main = await rounds.main_of(target)
        await self.actions.tell_tenant(
            main, "breakout.moved", participant=person, to=target.slug, breakout=number, reason=reason
        )
        if self.actions.plugins is not None:
            self.actions.plugins.participant_moved(main, person, None if number == 0 else target.slug)

    async def _announce(self, main: RoomInfo) -> BreakoutsInfo | None:
        """Tell the main room and every breakout where everyone is now (nothing once closed)."""
        current = await rounds.current_round(main.id)
        if current is None:
            return None
        state = await rounds.info(main, current)
        event = BreakoutsChanged(breakouts=state)
        await self.hub.publish(main.id, event)
        for breakout in await rounds.breakouts_of(current["id"]):
            await self.hub.publish(breakout["room"], event)
        return state

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

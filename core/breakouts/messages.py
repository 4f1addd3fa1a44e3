"""Breakout rooms on the wire: the commands hosts and participants send, the events they get,
and the bodies of the REST API. Part of the realtime protocol's tagged unions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from podium.core.auth.permissions import Role

__all__ = [
    "BREAKOUT_COMMANDS",
    "BREAKOUT_EVENTS",
    "MAX_BREAKOUTS",
    "BreakoutInfo",
    "BreakoutJoin",
    "BreakoutMember",
    "BreakoutMove",
    "BreakoutsAssign",
    "BreakoutsBroadcast",
    "BreakoutsChanged",
    "BreakoutsClose",
    "BreakoutsInfo",
    "BreakoutsMessage",
    "BreakoutsOpen",
    "BreakoutsSpec",
    "MoveReason",
]

#: Breakouts one room may open at once.
MAX_BREAKOUTS = 50
#: The longest breakout timer: a working day.
MAX_DURATION = 12 * 3600

Ref = Annotated[str, Meta(max_length=64)] | None
#: A breakout by its number (1…count); 0 is the main room.
Number = Annotated[int, Meta(ge=0, le=MAX_BREAKOUTS)]
ParticipantId = Annotated[str, Meta(min_length=1, max_length=64)]
Text = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
#: Why a participant is being moved: sent to a breakout, brought back when they closed, a host
#: visiting, someone picking a breakout themselves, or going back to the main room.
MoveReason = Literal["assigned", "closed", "visit", "chosen", "returned"]


class BreakoutsSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How to open breakouts (``breakouts.open``, ``POST /api/v1/rooms/{slug}/breakouts``).

    ``assignment``: ``auto`` spreads the attendees of the main room evenly (hosts and moderators
    stay); ``manual`` sends the participants in ``assignments`` (participant id → number, 0 the
    main room) and leaves everyone else in the main room. ``duration`` (seconds) closes them by
    itself; ``allow_choice`` lets attendees pick a breakout (``breakout.join``)."""

    count: Annotated[int, Meta(ge=1, le=MAX_BREAKOUTS)]
    names: list[Name] | None = None
    assignment: Literal["auto", "manual"] = "auto"
    assignments: dict[ParticipantId, Number] | None = None
    duration: Annotated[int, Meta(ge=5, le=MAX_DURATION)] | None = None
    allow_choice: bool = False


class BreakoutsOpen(BreakoutsSpec, tag_field="type", tag="breakouts.open"):
    """Hosts and moderators: open ``count`` breakouts and send people into them (see ``BreakoutsSpec``)."""

    ref: Ref = None


class BreakoutsClose(
    msgspec.Struct, tag_field="type", tag="breakouts.close", forbid_unknown_fields=True, kw_only=True
):
    """Hosts and moderators: close the breakouts; everyone comes back to the main room."""

    ref: Ref = None


class BreakoutsAssign(
    msgspec.Struct, tag_field="type", tag="breakouts.assign", forbid_unknown_fields=True, kw_only=True
):
    """Hosts and moderators: move one participant (of the main room or any breakout) to
    breakout ``breakout`` (0: the main room) while the breakouts are open."""

    ref: Ref = None
    participant_id: ParticipantId
    breakout: Number


class BreakoutsBroadcast(
    msgspec.Struct, tag_field="type", tag="breakouts.broadcast", forbid_unknown_fields=True, kw_only=True
):
    """Hosts and moderators: a message to everyone, in the main room and every breakout."""

    ref: Ref = None
    text: Text


class BreakoutJoin(
    msgspec.Struct, tag_field="type", tag="breakout.join", forbid_unknown_fields=True, kw_only=True
):
    """Go to breakout ``breakout`` (0: back to the main room). Hosts and moderators visit any
    breakout; attendees go back to the main room, or pick one when the host allows it."""

    ref: Ref = None
    breakout: Number


BREAKOUT_COMMANDS = (BreakoutsOpen, BreakoutsClose, BreakoutsAssign, BreakoutsBroadcast, BreakoutJoin)


class BreakoutMember(msgspec.Struct, frozen=True, kw_only=True):
    """Someone in a breakout (identities stay the same when people move; session ids do not)."""

    identity: str
    name: str
    role: Role


class BreakoutInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One breakout: its number, name, room and who is in it now."""

    number: int
    name: str
    #: The breakout's own room (its slug has a ``~``, which rooms made through the API cannot).
    room: str
    participants: list[BreakoutMember]
    #: Who is assigned to it (identities), present or not.
    assigned: list[str] = []


class BreakoutsInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The open breakouts of a main room."""

    id: int
    #: The main room's slug and name.
    main_room: str
    main_name: str
    opened_at: datetime
    #: When the timer brings everyone back; ``None`` until a host closes them.
    ends_at: datetime | None = None
    allow_choice: bool = False
    breakouts: list[BreakoutInfo]


class BreakoutsChanged(msgspec.Struct, tag_field="type", tag="breakouts", kw_only=True):
    """The breakouts opened, closed (``breakouts`` null) or someone moved; sent to the main room
    and to every breakout."""

    breakouts: BreakoutsInfo | None


class MovedTo(msgspec.Struct, frozen=True, kw_only=True):
    """Where a ``breakout.move`` sends you."""

    slug: str
    name: str
    #: The breakout's number; 0 for the main room.
    breakout: int


class BreakoutMove(msgspec.Struct, tag_field="type", tag="breakout.move", kw_only=True):
    """You are moving: connect to ``room`` with ``token`` (the socket closes next, 4414 ``moved``).
    Your camera and microphone stay as they are."""

    room: MovedTo
    token: str
    reason: MoveReason
    by: str | None = None


class BreakoutsMessage(msgspec.Struct, tag_field="type", tag="breakouts.message", kw_only=True):
    """A host's message to everyone in the main room and every breakout."""

    by: str
    text: str
    sent_at: datetime


BREAKOUT_EVENTS = (BreakoutsChanged, BreakoutMove, BreakoutsMessage)

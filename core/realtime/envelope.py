"""What nodes publish to a room's channel: one encoded event, who gets it, and connection ops.

The event is encoded once by the publisher and travels as raw JSON, so every
node forwards the same text to its sockets without re-encoding.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from podium.core.auth.permissions import Role
from podium.core.realtime.protocol import ServerMessage

__all__ = [
    "Admit",
    "Close",
    "CloseRoom",
    "Envelope",
    "Op",
    "PluginsChanged",
    "SetRole",
    "decode",
    "encode_envelope",
    "event_text",
]


class Close(msgspec.Struct, tag="close", frozen=True):
    """Close one participant's socket after delivering the event."""

    participant_id: str
    code: int
    reason: str


class CloseRoom(msgspec.Struct, tag="close_room", frozen=True):
    """Close every socket of the room (room ended)."""

    code: int
    reason: str


class SetRole(msgspec.Struct, tag="set_role", frozen=True):
    participant_id: str
    role: Role


class Admit(msgspec.Struct, tag="admit", frozen=True):
    """Let a waiting participant in: its node sends it a ``welcome``."""

    participant_id: str


class PluginsChanged(msgspec.Struct, tag="plugins_changed", frozen=True):
    """The tenant changed its plugins: every joined socket of the room gets its new set."""


Op = Close | CloseRoom | SetRole | Admit | PluginsChanged

#: ``all``: joined participants; ``staff``: joined hosts and moderators; ``none``: only ``targets``.
Audience = Literal["all", "staff", "none"]


_NO_EVENT = msgspec.Raw(b"null")


class Envelope(msgspec.Struct, frozen=True, omit_defaults=True):
    #: The encoded server message (JSON ``null`` when the envelope only carries ops).
    event: msgspec.Raw = _NO_EVENT
    audience: Audience = "all"
    #: Participants who get the event whatever the audience (even in the lobby).
    targets: list[str] = []
    #: A participant left out of ``all``/``staff`` (the joiner, who gets ``welcome`` instead).
    exclude: str | None = None
    ops: list[Op] = []


_event_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def encode_envelope(
    event: ServerMessage | None,
    *,
    audience: Audience = "all",
    targets: list[str] | None = None,
    exclude: str | None = None,
    ops: list[Op] | None = None,
) -> bytes:
    raw = _NO_EVENT if event is None else msgspec.Raw(_event_encoder.encode(event))
    envelope = Envelope(event=raw, audience=audience, targets=targets or [], exclude=exclude, ops=ops or [])
    return _event_encoder.encode(envelope)


def decode(payload: bytes) -> Envelope:
    return _decoder.decode(payload)


def event_text(envelope: Envelope) -> str | None:
    """The event as a text frame, or ``None`` for an ops-only envelope."""
    raw = bytes(envelope.event)
    return None if raw == b"null" else raw.decode()

"""The control interface between core and a media node: one WebSocket, JSON messages.

Core (any web node) connects to a media node's control endpoint and sends
*requests*; every request carries an ``id`` and gets exactly one ``ok`` or
``fail`` with that id. The node also sends *events* (dominant speaker, tile
visibility, a participant's connection lost) on the connection that last
touched the room, so one web node republishes each event to the room. The
same messages work between processes on one machine and across machines;
see docs/media.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "EVENTS",
    "MAX_CONTENT_BYTES",
    "REQUESTS",
    "CloseRoom",
    "ConnectParticipant",
    "ControlEvent",
    "ControlRequest",
    "DisconnectParticipant",
    "Fail",
    "Gone",
    "Load",
    "NodeStats",
    "Ok",
    "OpenRoom",
    "Opened",
    "OutputStatus",
    "SetContent",
    "SetLayout",
    "Speaker",
    "StartOutput",
    "StopOutput",
    "UpdateParticipant",
    "Visible",
    "decode_from_core",
    "decode_from_node",
    "encode",
]

RoomKey = Annotated[str, Meta(min_length=1, max_length=128)]
ParticipantId = Annotated[str, Meta(min_length=1, max_length=64)]
LayoutName = Annotated[str, Meta(min_length=1, max_length=64)]
MaxHeight = Annotated[int, Meta(ge=1, le=4320)]


class _Request(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    id: int


class OpenRoom(_Request, tag="room.open"):
    """Create the room's MCU session (idempotent): compositor, mixer, outputs."""

    room: RoomKey
    layout: LayoutName = "grid"
    #: Benchmarks only: encode per receiver (aiortc's MediaRelay + one encoder per connection),
    #: the naive design the MCU is measured against.
    naive: bool = False
    #: Benchmarks only: False never tells anyone their camera is off the composite, so every
    #: camera keeps sending (the cost last-N pausing saves, measured side by side).
    pause_hidden: bool = True
    #: Benchmarks only: False sends through aiortc's own RTP loop, each receiver packing every
    #: frame again (what the node's shared packing saves, measured side by side).
    shared_packing: bool = True


class CloseRoom(_Request, tag="room.close"):
    """Tear the session down: every participant's connection closes."""

    room: RoomKey


class ConnectParticipant(_Request, tag="participant.connect"):
    """Answer a participant's offer; replaces that participant's previous connection. ``ok.sdp``."""

    room: RoomKey
    participant_id: ParticipantId
    name: Annotated[str, Meta(max_length=200)]
    sdp: Annotated[str, Meta(max_length=65536)]
    audio_muted: bool = False
    video_muted: bool = False
    #: The offer may carry a second video section: the participant's screen. While this is
    #: true its picture is the composite's content tile (ahead of any ``room.content``).
    screen_sharing: bool = False
    #: The tallest composite the participant wants (its player's size); None: whatever its link takes.
    max_height: MaxHeight | None = None
    #: False: off stage (a webinar's attendee), view-only. Every section is answered as
    #: receive-nothing, so nothing they send is decoded; no tile, no voice in the mix.
    publish: bool = True


class DisconnectParticipant(_Request, tag="participant.disconnect"):
    room: RoomKey
    participant_id: ParticipantId


class UpdateParticipant(_Request, tag="participant.update"):
    """Name and mute state, drawn on the participant's tile, whether they share their screen, and
    how tall a composite they want."""

    room: RoomKey
    participant_id: ParticipantId
    name: str | None = None
    audio_muted: bool | None = None
    video_muted: bool | None = None
    screen_sharing: bool | None = None
    #: The tallest composite the participant wants now (its player was resized).
    max_height: MaxHeight | None = None
    #: Put on stage (their next offer's sections are received) or taken off it (their uplink is
    #: dropped at once; their tile and voice go).
    publish: bool | None = None


class SetLayout(_Request, tag="room.layout"):
    """The composite's layout (``grid``, ``speaker`` …) and who is pinned first."""

    room: RoomKey
    layout: LayoutName
    pinned: list[ParticipantId] = []


#: A content image (a slide) is at most this many bytes; core scales it to the canvas first.
MAX_CONTENT_BYTES = 1024 * 1024


class SetContent(_Request, tag="room.content"):
    """Show an image (JPEG or PNG: a slide) as the composite's content tile, or clear it.

    The content tile leads the layout: the large tile in every built-in layout (``grid`` and
    ``speaker`` put the cameras in a strip below it, ``presentation`` in a column). It is
    fitted whole (letterboxed, never cropped) and keeps one tile of the last-N for itself.
    """

    room: RoomKey
    #: ``None`` takes the content off the composite.
    image: Annotated[bytes, Meta(max_length=MAX_CONTENT_BYTES)] | None = None


OutputName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class StartOutput(_Request, tag="output.start"):
    """Start recording the room or streaming it; opens the room's session if there is none yet.

    ``recording``: ``target`` is the MP4 file to write (fragmented). ``hls``: the directory for the live
    playlist and its segments. ``rtmp``: the ``rtmp://`` URL to push to (core checks it).
    """

    room: RoomKey
    output: OutputName
    kind: Literal["recording", "hls", "rtmp"]
    target: Annotated[str, Meta(min_length=1, max_length=2048)]


class StopOutput(_Request, tag="output.stop"):
    """Stop one output; for a recording the ``ok`` comes once the file is finished (``ok.stats``)."""

    room: RoomKey
    output: OutputName


class NodeStats(_Request, tag="node.stats"):
    """Counters of the whole node (``ok.stats``): RTP packets in and out, encodes, participants."""


ControlRequest = (
    OpenRoom
    | CloseRoom
    | ConnectParticipant
    | DisconnectParticipant
    | UpdateParticipant
    | SetLayout
    | SetContent
    | NodeStats
    | StartOutput
    | StopOutput
)
REQUESTS: tuple[type[msgspec.Struct], ...] = (
    OpenRoom,
    CloseRoom,
    ConnectParticipant,
    DisconnectParticipant,
    UpdateParticipant,
    SetLayout,
    SetContent,
    NodeStats,
    StartOutput,
    StopOutput,
)


class _Reply(msgspec.Struct, tag_field="type", kw_only=True):
    pass


class Ok(_Reply, tag="ok"):
    id: int
    #: The SDP answer, for ``participant.connect``.
    sdp: str | None = None
    #: Counters, for ``node.stats``.
    stats: dict[str, float] | None = None
    #: Per room (by room key), for ``node.stats``: losses, NACKs, PLIs, keyframes, tier changes.
    room_stats: dict[str, dict[str, float]] | None = None


class Fail(_Reply, tag="fail"):
    id: int
    code: str
    message: str


class Speaker(_Reply, tag="speaker"):
    """The room's dominant speaker changed (``None``: silence)."""

    room: str
    participant_id: str | None


class Visible(_Reply, tag="visible"):
    """Whether a participant's camera is on the composite now (pause sending video if not)."""

    room: str
    participant_id: str
    video: bool


class Gone(_Reply, tag="gone"):
    """A participant's media connection ended on the node's side (ICE failed, node closing)."""

    room: str
    participant_id: str
    reason: str


class Opened(_Reply, tag="room.opened"):
    """The node created a fresh session for ``room`` (first participant or output, or after a
    restart elsewhere): core applies the room's layout and content to it again."""

    room: str


class Load(_Reply, tag="load"):
    """Sent every few seconds: what the node carries."""

    rooms: int
    participants: int
    cpu_percent: float


class OutputStatus(_Reply, tag="output"):
    """An output's state: ``active``, ``retrying`` (RTMP), ``failed`` (with ``message``), ``stopped``."""

    room: str
    output: str
    kind: str
    state: str
    message: str = ""
    #: For recordings: seconds written and the file's size so far.
    seconds: float = 0.0
    bytes: int = 0


ControlEvent = Ok | Fail | Speaker | Visible | Gone | Opened | Load | OutputStatus
EVENTS: tuple[type[msgspec.Struct], ...] = (Ok, Fail, Speaker, Visible, Gone, Opened, Load, OutputStatus)

_from_core: msgspec.json.Decoder[ControlRequest] = msgspec.json.Decoder(ControlRequest)
_from_node: msgspec.json.Decoder[ControlEvent] = msgspec.json.Decoder(ControlEvent)
_encoder = msgspec.json.Encoder()


def decode_from_core(data: str | bytes) -> ControlRequest:
    """A request as the node reads it; raises ``msgspec.DecodeError``/``ValidationError``."""
    return _from_core.decode(data)


def decode_from_node(data: str | bytes) -> ControlEvent:
    """A reply or event as core reads it."""
    return _from_node.decode(data)


def encode(message: Any) -> str:
    return _encoder.encode(message).decode()

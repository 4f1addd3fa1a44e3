"""The realtime wire protocol: every WebSocket message, as msgspec Structs in tagged unions.

Clients send ``ClientMessage``s and receive ``ServerMessage``s, JSON text frames
tagged by ``type``. A client may put a ``ref`` on any command; the server answers
it with ``ack`` (success) or ``error`` (refusal) carrying the same ``ref``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from podium.core.auth.permissions import Role
from podium.core.breakouts.messages import (
    BreakoutJoin,
    BreakoutMove,
    BreakoutsAssign,
    BreakoutsBroadcast,
    BreakoutsChanged,
    BreakoutsClose,
    BreakoutsInfo,
    BreakoutsMessage,
    BreakoutsOpen,
)
from podium.core.rooms import RoomInfo

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "ChatItem",
    "ClientMessage",
    "OutputItem",
    "OutputsChanged",
    "ParticipantInfo",
    "PluginCommand",
    "PluginEvent",
    "PluginWelcome",
    "PluginsChanged",
    "ServerMessage",
    "WatchInfo",
    "decode_client",
    "encode",
]

Ref = Annotated[str, Meta(max_length=64)] | None
#: Text Podium stores: anything but U+0000, which PostgreSQL cannot keep in a text column.
_NO_NUL = r"^[^\x00]*$"
ParticipantId = Annotated[str, Meta(min_length=1, max_length=64)]
ChatAudience = Literal["everyone", "moderators", "participant"]
LeaveReason = Literal["left", "kicked", "ended", "disconnected", "replaced", "denied", "moved"]
MediaKind = Literal["audio", "video"]


class ParticipantInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A participant as every other participant sees them."""

    id: str
    identity: str
    name: str
    role: Role
    audio_muted: bool = False
    video_muted: bool = False
    screen_sharing: bool = False
    joined_at: datetime
    #: May publish camera and microphone. Off stage (a webinar's attendees until a host invites
    #: them): view-only, the media node decodes nothing from them. Outside webinars: always true.
    on_stage: bool = True
    #: When they raised their hand (the queue's order), or null while it is down.
    hand_raised_at: datetime | None = None
    #: A webinar attendee past the room's interactive seats: watches the live stream (HLS).
    viewer: bool = False


class ChatItem(msgspec.Struct, frozen=True, kw_only=True):
    """A persisted chat message. ``to`` is everyone, moderators, or participant (private)."""

    id: int
    sender_id: str | None
    sender_name: str
    sender_role: str
    to: ChatAudience
    recipient_id: str | None = None
    recipient_name: str | None = None
    text: str
    sent_at: datetime


# ---- client → server -------------------------------------------------------------------------------------


class _Command(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    ref: Ref = None


class ChatSend(_Command, tag="chat.send"):
    """Send chat to everyone, to hosts and moderators, or privately to ``recipient``."""

    text: Annotated[str, Meta(pattern=_NO_NUL)]
    to: ChatAudience = "everyone"
    recipient: ParticipantId | None = None


class Kick(_Command, tag="participant.kick"):
    participant_id: ParticipantId


class AskMute(_Command, tag="participant.ask_mute"):
    participant_id: ParticipantId
    kind: MediaKind = "audio"


class SetRole(_Command, tag="participant.set_role"):
    participant_id: ParticipantId
    role: Role


class LobbyAdmit(_Command, tag="lobby.admit"):
    participant_id: ParticipantId


class LobbyDeny(_Command, tag="lobby.deny"):
    participant_id: ParticipantId


class EndRoom(_Command, tag="room.end"):
    pass


class UpdateSelf(_Command, tag="self.update"):
    """Change one's own display name or announced media state."""

    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=_NO_NUL)] | None = None
    audio_muted: bool | None = None
    video_muted: bool | None = None
    screen_sharing: bool | None = None
    #: Raise (true) or lower (false) your hand; raising it again keeps your place in the queue.
    hand_raised: bool | None = None


class SetStage(_Command, tag="participant.stage"):
    """Webinars, hosts and moderators: put a participant on stage (they may publish; their hand
    goes down) or take them off it (view-only again)."""

    participant_id: ParticipantId
    on_stage: bool


class LowerHand(_Command, tag="participant.lower_hand"):
    """Hosts and moderators: lower someone's raised hand."""

    participant_id: ParticipantId


class SessionDescription(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An SDP offer or answer (``RTCSessionDescriptionInit``); its size is capped by settings."""

    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = ""


class IceCandidate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A trickled ICE candidate (``RTCIceCandidateInit``); an empty ``candidate`` ends gathering."""

    candidate: Annotated[str, Meta(max_length=1024)]
    sdpMid: Annotated[str, Meta(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Meta(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, Meta(max_length=256)] | None = None


#: A sender's peer-connection id, stable across WebSocket reconnects: a new one means a new connection.
PeerInstance = Annotated[str, Meta(min_length=1, max_length=64)]
#: Which of the sender's streams carries what, so receivers can tell a screen from a camera.
StreamKinds = Annotated[
    dict[Annotated[str, Meta(max_length=64)], Literal["camera", "screen"]], Meta(max_length=4)
]


class Signal(_Command, tag="rtc.signal"):
    """Peer-to-peer signalling for one peer of the same room: a description or a candidate."""

    to: ParticipantId
    instance: PeerInstance
    #: The receiver's link this answers, once known (lets it drop signals meant for a replaced link).
    to_instance: PeerInstance | None = None
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    streams: StreamKinds | None = None


#: A player's height in device pixels: which composite tiers are worth sending to it.
MaxHeight = Annotated[int, Meta(ge=1, le=4320)]


class MediaOffer(_Command, tag="media.offer"):
    """MCU rooms: an offer (ICE gathered) for one connection to the media server; a new one replaces it.

    The client sends its microphone and camera on it (``sendrecv`` audio and video) and
    receives the room's composite video and its audio mix on the same transceivers. Off stage
    (a webinar's attendees) it offers ``recvonly``: the node answers any send direction of an
    off-stage participant as receive-nothing and decodes none of it."""

    sdp: str
    #: The tallest composite worth sending (the player's height in device pixels): a small
    #: embed or a phone gets the 360p tier however fast its link. Omitted: the link decides.
    max_height: MaxHeight | None = None


class MediaReceive(_Command, tag="media.receive"):
    """MCU rooms: the tallest composite worth sending now (the player was resized, went full
    screen). Takes effect at once on the current connection; ignored in peer-to-peer rooms."""

    max_height: MaxHeight


class PluginCommand(_Command, tag="plugin"):
    """A command for a plugin enabled in the room; ``data`` must match the action's JSON Schema."""

    plugin: Annotated[str, Meta(min_length=1, max_length=40)]
    action: Annotated[str, Meta(min_length=1, max_length=64)]
    data: Any = msgspec.field(default_factory=dict)


class RecordingStart(_Command, tag="recording.start"):
    """Hosts and moderators: start recording the room (everyone is told with ``outputs``)."""


class RecordingStop(_Command, tag="recording.stop"):
    """Hosts and moderators: stop the room's recording; the file is then processed."""


class StreamingStart(_Command, tag="streaming.start"):
    """Hosts and moderators: go live. Without ``destination``: the room's HLS stream (watch page);
    with one: also push to that RTMP URL (it must be on the tenant's streaming allow-list)."""

    destination: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    #: HLS: anyone with the watch link may watch, no viewer token needed.
    public: bool = False


class StreamingStop(_Command, tag="streaming.stop"):
    """Hosts and moderators: stop one live output (``output``, an id from ``outputs``) or all of them."""

    output: Annotated[str, Meta(min_length=1, max_length=40)] | None = None


class Ping(_Command, tag="ping"):
    pass


ClientMessage = (
    ChatSend
    | Kick
    | AskMute
    | SetRole
    | LobbyAdmit
    | LobbyDeny
    | EndRoom
    | UpdateSelf
    | SetStage
    | LowerHand
    | Signal
    | MediaOffer
    | MediaReceive
    | PluginCommand
    | RecordingStart
    | RecordingStop
    | StreamingStart
    | StreamingStop
    | BreakoutsOpen
    | BreakoutsClose
    | BreakoutsAssign
    | BreakoutsBroadcast
    | BreakoutJoin
    | Ping
)
CLIENT_MESSAGES: tuple[type[msgspec.Struct], ...] = (
    ChatSend,
    Kick,
    AskMute,
    SetRole,
    LobbyAdmit,
    LobbyDeny,
    EndRoom,
    UpdateSelf,
    SetStage,
    LowerHand,
    Signal,
    MediaOffer,
    MediaReceive,
    PluginCommand,
    RecordingStart,
    RecordingStop,
    StreamingStart,
    StreamingStop,
    BreakoutsOpen,
    BreakoutsClose,
    BreakoutsAssign,
    BreakoutsBroadcast,
    BreakoutJoin,
    Ping,
)

# ---- server → client -------------------------------------------------------------------------------------


class _Event(msgspec.Struct, tag_field="type", kw_only=True):
    pass


class IceServer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A STUN/TURN server as ``RTCPeerConnection`` takes it (``RTCIceServer``)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class PluginClient(msgspec.Struct, frozen=True, kw_only=True):
    """Where the web client loads a plugin's browser side from, and the UI slots it fills."""

    module: str
    css: list[str] = []
    slots: list[str] = []
    title: str = ""


class PluginWelcome(msgspec.Struct, frozen=True, kw_only=True):
    """One plugin enabled in the room, as ``welcome`` shows it."""

    name: str
    #: action → roles that may send it.
    actions: dict[str, list[Role]] = {}
    client: PluginClient | None = None
    #: The plugin's snapshot for you (the current poll, slide, queue…), any JSON value.
    state: Any = None


class WatchInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where a webinar's overflow viewer watches the room: its HLS stream, with a viewer token."""

    #: The HLS output's id (as in ``outputs``).
    stream: str
    #: The live playlist (``/watch/{tenant}/{stream}/index.m3u8?token=…``), a path on this server.
    playlist: str


class Welcome(_Event, tag="welcome"):
    """The room as it is when you join (or are admitted from the lobby)."""

    room: RoomInfo
    you: ParticipantInfo
    participants: list[ParticipantInfo]
    chat: list[ChatItem]
    #: How media flows now: ``p2p`` (mesh) or ``mcu`` (through the server).
    media_mode: Literal["p2p", "mcu"]
    permissions: list[str]
    #: People knocking in the lobby; only filled for hosts and moderators.
    lobby: list[ParticipantInfo]
    #: STUN/TURN servers for peer connections (TURN credentials are minted per participant).
    ice_servers: list[IceServer] = []
    #: The plugins the room's tenant enabled, with their snapshot.
    plugins: list[PluginWelcome] = []
    #: Recording and live streaming now (``null``: nothing is).
    outputs: OutputsChanged | None = None
    #: Webinar overflow viewers (``you.viewer``): the room's live stream to play instead of
    #: WebRTC; null for everyone else, or while the stream could not be started.
    watch: WatchInfo | None = None
    #: The main room's open breakouts (in the main room and in every breakout), or null.
    breakouts: BreakoutsInfo | None = None


class LobbyWaiting(_Event, tag="lobby.waiting"):
    """You are in the lobby until a host or moderator admits you."""

    room: RoomInfo
    you: ParticipantInfo


class LobbyKnock(_Event, tag="lobby.knock"):
    participant: ParticipantInfo


class LobbyResolved(_Event, tag="lobby.resolved"):
    participant_id: str
    outcome: Literal["admitted", "denied", "left"]


class LobbyDenied(_Event, tag="lobby.denied"):
    pass


class ParticipantJoined(_Event, tag="participant.joined"):
    participant: ParticipantInfo


class ParticipantLeft(_Event, tag="participant.left"):
    participant_id: str
    reason: LeaveReason


class ParticipantUpdated(_Event, tag="participant.updated"):
    participant: ParticipantInfo


class RoleChanged(_Event, tag="participant.role_changed"):
    participant_id: str
    role: Role
    by: str | None
    #: The permissions that come with the new role.
    permissions: list[str]


class SignalRelayed(_Event, tag="rtc.signal"):
    """Signalling from another participant of the room; ``from`` is set by the server."""

    from_: str = msgspec.field(name="from")
    instance: str
    to_instance: str | None = None
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    streams: dict[str, Literal["camera", "screen"]] | None = None


class MediaModeChanged(_Event, tag="media.mode"):
    """The room moved between peer-to-peer and the MCU (an auto room crossed its thresholds)."""

    mode: Literal["p2p", "mcu"]


class MediaAnswer(_Event, tag="media.answer"):
    """The media server's answer to your ``media.offer``."""

    sdp: str


class MediaSpeaker(_Event, tag="media.speaker"):
    """MCU rooms: the dominant speaker changed (``null``: nobody is speaking)."""

    participant_id: str | None


class MediaVisible(_Event, tag="media.visible"):
    """MCU rooms: whether your camera is on the composite; pause sending video while it isn't."""

    video: bool


class MediaFailed(_Event, tag="media.failed"):
    """MCU rooms: your media connection is gone (the media server restarted): offer again."""

    code: str
    message: str


class PluginEvent(_Event, tag="plugin.event"):
    """Something a plugin tells the room (a vote count, a page change…)."""

    plugin: str
    event: str
    data: Any = None


class PluginDisabled(_Event, tag="plugin.disabled"):
    """A plugin was switched off for this room's tenant (it kept failing, or the tenant did it)."""

    plugin: str
    reason: str


class PluginsChanged(_Event, tag="plugins.changed"):
    """The tenant switched plugins on or off, or changed their config, during the meeting: the
    room's plugins now, each with its snapshot for you (as in ``welcome.plugins``)."""

    plugins: list[PluginWelcome]


class ChatMessage(_Event, tag="chat.message"):
    message: ChatItem


class Kicked(_Event, tag="kicked"):
    by: str | None


class MuteRequested(_Event, tag="mute.requested"):
    kind: MediaKind
    by: str | None


class RoomEnded(_Event, tag="room.ended"):
    by: str | None


class Ack(_Event, tag="ack"):
    ref: str
    #: The id of what the command created, such as a chat message.
    id: int | str | None = None


class Error(_Event, tag="error"):
    code: str
    message: str
    ref: str | None = None


class Pong(_Event, tag="pong"):
    ref: str | None = None


class OutputItem(msgspec.Struct, frozen=True, kw_only=True):
    """One recording or live output running in the room."""

    id: str
    kind: Literal["recording", "hls", "rtmp"]
    #: recording | live | retrying (an RTMP destination is unreachable; Podium keeps trying)
    state: str
    #: RTMP: where it goes, stream key hidden.
    destination: str = ""
    #: HLS: people watching now.
    viewers: int = 0


class OutputsChanged(_Event, tag="outputs"):
    """What is recorded and streamed now; everyone in the room gets it (and it is in ``welcome``)."""

    recording: bool
    live: bool
    outputs: list[OutputItem] = []


ServerMessage = (
    Welcome
    | LobbyWaiting
    | LobbyKnock
    | LobbyResolved
    | LobbyDenied
    | ParticipantJoined
    | ParticipantLeft
    | ParticipantUpdated
    | RoleChanged
    | ChatMessage
    | SignalRelayed
    | MediaModeChanged
    | MediaAnswer
    | MediaSpeaker
    | MediaVisible
    | MediaFailed
    | PluginEvent
    | PluginDisabled
    | PluginsChanged
    | Kicked
    | MuteRequested
    | RoomEnded
    | Ack
    | Error
    | Pong
    | OutputsChanged
    | BreakoutsChanged
    | BreakoutMove
    | BreakoutsMessage
)
SERVER_MESSAGES: tuple[type[msgspec.Struct], ...] = (
    Welcome,
    LobbyWaiting,
    LobbyKnock,
    LobbyResolved,
    LobbyDenied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RoleChanged,
    ChatMessage,
    SignalRelayed,
    MediaModeChanged,
    MediaAnswer,
    MediaSpeaker,
    MediaVisible,
    MediaFailed,
    PluginEvent,
    PluginDisabled,
    PluginsChanged,
    Kicked,
    MuteRequested,
    RoomEnded,
    Ack,
    Error,
    Pong,
    OutputsChanged,
    BreakoutsChanged,
    BreakoutMove,
    BreakoutsMessage,
)

_decoder: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_encoder = msgspec.json.Encoder()


def decode_client(data: str | bytes) -> ClientMessage:
    """Parse one client frame; raises ``msgspec.DecodeError`` / ``ValidationError`` when invalid."""
    return _decoder.decode(data)


def encode(message: ServerMessage) -> str:
    """One server message as a JSON text frame."""
    return _encoder.encode(message).decode()

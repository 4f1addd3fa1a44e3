"""The participant WebSocket: ``/ws/{tenant}/{room}?token=<join token>``.

Handshake refusals are sent as a WebSocket close with a documented code and
the stable error code as reason (browsers cannot read an HTTP status of a
refused upgrade); see docs/realtime.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.datastructures import State

from podium.core import logs
from podium.core.auth.permissions import Action, Role, can
from podium.core.auth.throttle import client_address
from podium.core.breakouts.messages import (
    BREAKOUT_COMMANDS,
    BreakoutJoin,
    BreakoutsAssign,
    BreakoutsBroadcast,
    BreakoutsOpen,
)
from podium.core.chat import RateLimiter
from podium.core.errors import PodiumError
from podium.core.metrics import JOIN_SECONDS, WS_MESSAGES
from podium.core.realtime.connection import CloseCode, Connection, close_code_for
from podium.core.realtime.protocol import (
    Ack,
    AskMute,
    ChatSend,
    ClientMessage,
    EndRoom,
    Error,
    Kick,
    LobbyAdmit,
    LobbyDeny,
    LowerHand,
    MediaOffer,
    MediaReceive,
    ParticipantInfo,
    Ping,
    PluginCommand,
    Pong,
    RecordingStart,
    RecordingStop,
    SetRole,
    SetStage,
    Signal,
    StreamingStart,
    StreamingStop,
    UpdateSelf,
    decode_client,
    encode,
)
from podium.core.services import Services
from podium.core.tenants import utcnow

__all__ = ["room_socket"]

log = logging.getLogger(__name__)

_RECEIVED = WS_MESSAGES.labels(direction="in")
_CHAT_ACTION = {"everyone": Action.CHAT_EVERYONE, "moderators": Action.CHAT_MODERATORS}


@websocket("/ws/{tenant:str}/{room:str}", name="room_socket")
async def room_socket(socket: WebSocket[Any, Any, State], tenant: str, room: str) -> None:
    """One participant's realtime connection."""
    services: Services = socket.app.state.services
    await socket.accept()
    if services.draining:
        # This node is shutting down: the client reconnects and lands on another one.
        await socket.close(code=CloseCode.RECONNECT, reason="reconnect")
        return
    started = time.perf_counter()
    logs.bind(tenant=tenant, room=room)
    try:
        conn = await _admit(services, socket, tenant, room)
    except PodiumError as exc:
        await _refuse(socket, exc)
        return
    JOIN_SECONDS.observe(time.perf_counter() - started)
    logs.bind(participant=conn.id, room_id=conn.room.id)
    reason = "disconnected"
    try:
        reason = await _serve(services, conn)
    finally:
        try:
            await services.actions.leave(conn, reason)  # type: ignore[arg-type]
        except PodiumError as exc:  # Redis away: the session is closed; the others see it on reconnect
            log.warning("participant %s left unannounced: %s", conn.id, exc.message)
        if conn.closed_by_server:
            await conn.drain()
        conn.stop()


async def _refuse(socket: WebSocket[Any, Any, Any], exc: PodiumError) -> None:
    try:
        await socket.send_text(encode(Error(code=exc.code, message=exc.message)))
        await socket.close(code=close_code_for(exc.status), reason=exc.code)
    except Exception:  # the client is already gone
        log.debug("could not send refusal", exc_info=True)


async def _admit(
    services: Services, socket: WebSocket[Any, Any, Any], tenant: str, room_slug: str
) -> Connection:
    token = socket.query_params.get("token", "")
    if not token:
        raise PodiumError("token_missing", "connect with ?token=<join token>", status=401)
    claims, room = await services.admit_token(
        token, tenant=tenant, room=room_slug, address=client_address(socket)
    )
    me = ParticipantInfo(
        id=str(uuid.uuid4()),
        identity=claims.sub,
        name=claims.name or claims.sub,
        role=claims.role,
        joined_at=utcnow(),
    )
    settings = services.settings
    conn = Connection(socket, room, me, RateLimiter(settings.chat_rate_per_second, settings.chat_rate_burst))
    await services.actions.join(conn)
    return conn


async def _serve(services: Services, conn: Connection) -> str:
    """Read commands until the socket closes; returns the leave reason."""
    limit = services.settings.max_frame_bytes
    while True:
        message = await conn.socket.receive()
        if message["type"] == "websocket.disconnect":
            return "left" if message.get("code", 1000) in (1000, 1001) else "disconnected"
        data: str | bytes = message.get("text") or message.get("bytes") or b""  # type: ignore[assignment]
        _RECEIVED.inc()
        size = len(data) if isinstance(data, bytes) or len(data) * 4 <= limit else len(data.encode())
        if size > limit:
            conn.error("frame_too_large", f"frames are limited to {limit} bytes")
            conn.close(CloseCode.TOO_BIG, "frame_too_large")
            return "disconnected"
        try:
            command = decode_client(data)
        except msgspec.ValidationError as exc:
            code = "unknown_type" if "`$.type`" in str(exc) else "invalid_message"
            conn.error(code, str(exc), _ref_of(data))
            continue
        except msgspec.DecodeError as exc:
            conn.error("malformed_json", str(exc))
            continue
        except RecursionError:
            # A frame of nested arrays or objects thousands deep: msgspec gives up on it.
            conn.error("invalid_message", "the message is nested too deeply")
            continue
        try:
            await _handle(services, conn, command)
        except PodiumError as exc:
            conn.error(exc.code, exc.message, command.ref)
        except Exception:
            log.exception("command %s from %s failed", type(command).__name__, conn.id)
            conn.error("internal_error", "the server could not process this message", command.ref)


def _ref_of(data: str | bytes) -> str | None:
    """The ``ref`` of a well-formed but invalid command, so its sender can match the error."""
    try:
        raw = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else None


def _require(conn: Connection, action: Action) -> None:
    if not can(conn.role, action):
        raise PodiumError("forbidden", f"role {conn.role} may not {action.value}", status=403)


async def _handle(services: Services, conn: Connection, command: ClientMessage) -> None:
    actions, room, me = services.actions, conn.room, conn.me
    if isinstance(command, Ping):
        conn.send(Pong(ref=command.ref))
        return
    if conn.status != "joined":
        raise PodiumError("in_lobby", "wait until a host or moderator lets you in", status=403)
    if not isinstance(command, ChatSend | PluginCommand) and not conn.commands.allow():
        raise PodiumError("rate_limited", "you are sending commands too fast", status=429)
    created: int | str | None = None
    if isinstance(command, ChatSend):
        _require(conn, _CHAT_ACTION.get(command.to, Action.CHAT_PRIVATE))
        if not conn.limiter.allow():
            raise PodiumError("rate_limited", "you are sending messages too fast", status=429)
        item = await actions.post_chat(room, me, command.to, command.recipient, command.text)
        created = item.id
    elif isinstance(command, Kick):
        _require(conn, Action.KICK)
        await actions.kick(room, command.participant_id, me)
    elif isinstance(command, AskMute):
        _require(conn, Action.ASK_MUTE)
        await actions.ask_mute(room, command.participant_id, command.kind, me)
    elif isinstance(command, SetRole):
        _require(conn, Action.SET_ROLE)
        await actions.set_role(room, command.participant_id, Role(command.role), me)
    elif isinstance(command, LobbyAdmit):
        _require(conn, Action.ADMIT)
        await actions.admit(room, command.participant_id, me)
    elif isinstance(command, LobbyDeny):
        _require(conn, Action.ADMIT)
        await actions.deny(room, command.participant_id, me)
    elif isinstance(command, EndRoom):
        _require(conn, Action.END_ROOM)
        await actions.end(room, me)
    elif isinstance(command, Signal):
        await actions.relay_signal(conn, command)
    elif isinstance(command, PluginCommand):
        created = await services.plugins.message(conn, command)
    elif isinstance(command, MediaOffer):
        await services.routing.offer(conn, command.sdp, command.max_height)
    elif isinstance(command, MediaReceive):
        await services.routing.receive(conn, command.max_height)
    elif isinstance(command, RecordingStart | RecordingStop | StreamingStart | StreamingStop):
        await _outputs(services, conn, command)
    elif isinstance(command, BREAKOUT_COMMANDS):
        await _breakouts(services, conn, command)
    elif isinstance(command, SetStage):
        _require(conn, Action.STAGE)
        await services.stage.set_stage(room, command.participant_id, command.on_stage, me)
    elif isinstance(command, LowerHand):
        if command.participant_id != conn.id:  # one's own hand needs no permission
            _require(conn, Action.LOWER_HAND)
        await services.stage.lower_hand(room, command.participant_id)
    elif isinstance(command, UpdateSelf):
        await actions.update_self(
            conn,
            name=command.name,
            audio_muted=command.audio_muted,
            video_muted=command.video_muted,
            screen_sharing=command.screen_sharing,
            hand_raised=command.hand_raised,
        )
    if command.ref is not None and not isinstance(command, BreakoutJoin):
        conn.send(Ack(ref=command.ref, id=created))


async def _breakouts(services: Services, conn: Connection, command: Any) -> None:
    """Breakout rooms: hosts and moderators open, assign, broadcast and close; anyone may go back
    to the main room (and pick a breakout, where the host allows it)."""
    breakouts, room, me = services.breakouts, conn.room, conn.me
    if isinstance(command, BreakoutJoin):
        # Acknowledged just before the move: the socket closes right after it.
        ref = command.ref
        await breakouts.join(conn, command.breakout, lambda: conn.send(Ack(ref=ref)) if ref else None)
        return
    _require(conn, Action.BREAKOUTS)
    if isinstance(command, BreakoutsOpen):
        await breakouts.open(room, command, me)
    elif isinstance(command, BreakoutsAssign):
        await breakouts.assign(room, command.participant_id, command.breakout, me)
    elif isinstance(command, BreakoutsBroadcast):
        await breakouts.broadcast(room, command.text, me)
    else:
        await breakouts.close(room, me)


async def _outputs(
    services: Services,
    conn: Connection,
    command: RecordingStart | RecordingStop | StreamingStart | StreamingStop,
) -> None:
    """Recording and streaming from the room; everyone hears of it through ``outputs``."""
    room, by = conn.room, conn.me.name or conn.me.identity
    if isinstance(command, RecordingStart | RecordingStop):
        _require(conn, Action.RECORD)
        if isinstance(command, RecordingStart):
            await services.outputs.start_recording(room, by)
        else:
            await services.outputs.stop_recording(room)
        return
    _require(conn, Action.STREAM)
    if isinstance(command, StreamingStop):
        await services.outputs.stop_stream(room, command.output)
    elif command.destination is not None:
        await services.outputs.add_destination(room, by, command.destination)
    else:
        await services.outputs.start_stream(room, by, command.public)

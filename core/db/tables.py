"""Podium's tables: tenants, API keys, rooms, participant sessions, chat, embed origins and webhooks."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.uuid import UUID4
from piccolo.table import Table

__all__ = [
    "MAX_ROW_ID",
    "TABLES",
    "ApiKey",
    "Breakout",
    "BreakoutAssignment",
    "BreakoutRound",
    "ChatMessage",
    "EmbedOrigin",
    "ParticipantSession",
    "PluginState",
    "Room",
    "RoomOutput",
    "StreamingHost",
    "Tenant",
    "TenantPlugin",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]

#: The largest ``Serial`` id (32-bit on PostgreSQL): a cursor (``before=``) above it does not fit
#: the column, and the database refuses the query rather than matching nothing.
MAX_ROW_ID = 2**31 - 1


class Tenant(Table, tablename="tenant"):
    """A company embedding Podium; owns rooms and API keys."""

    id = Serial(primary_key=True)
    slug = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    created_at = Timestamptz()
    #: Lets webhook endpoints point at loopback/private addresses (local development only).
    webhook_development = Boolean(default=False)


class ApiKey(Table, tablename="api_key"):
    """A tenant credential: the secret is kept only as a hash (REST auth) and
    encrypted under the server's master key (to verify join tokens it signed)."""

    id = Serial(primary_key=True)
    key_id = Varchar(length=40, unique=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200, default="")
    secret_hash = Varchar(length=64, unique=True)
    signing_secret = Text()
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Room(Table, tablename="room"):
    """A meeting place; ``slug`` is unique per tenant (enforced by a migration index)."""

    id = Serial(primary_key=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    slug = Varchar(length=64)
    name = Varchar(length=200)
    max_participants = Integer(default=100)
    media_mode = Varchar(length=8, default="auto")
    lobby = Boolean(default=False)
    recording_allowed = Boolean(default=True)
    created_at = Timestamptz()
    #: When the room was last ended; join tokens issued before it no longer admit.
    ended_at = Timestamptz(null=True, default=None)
    #: How media flows right now in an ``auto`` room (p2p | mcu); switches with the head count.
    live_media = Varchar(length=4, default="p2p")
    #: Webinar: attendees watch and listen without publishing until a host puts them on stage.
    webinar = Boolean(default=False)
    #: A breakout room's main room (its id); ``None`` for the rooms a tenant creates.
    parent = Integer(null=True, default=None, index=True)


class ParticipantSession(Table, tablename="participant_session"):
    """One connection's stay in a room; its ``id`` is the public participant id."""

    id = UUID(primary_key=True, default=UUID4())
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    identity = Varchar(length=200)
    display_name = Varchar(length=200)
    role = Varchar(length=16)
    #: waiting (in the lobby) | joined | left
    status = Varchar(length=8, index=True)
    node_id = Varchar(length=64)
    audio_muted = Boolean(default=False)
    video_muted = Boolean(default=False)
    screen_sharing = Boolean(default=False)
    joined_at = Timestamptz()
    last_seen_at = Timestamptz()
    left_at = Timestamptz(null=True, default=None)
    #: left | kicked | ended | disconnected | replaced | denied | moved
    leave_reason = Varchar(length=16, null=True, default=None)
    #: May publish camera and microphone (false for a webinar's attendees until put on stage).
    on_stage = Boolean(default=True)
    #: When the participant raised their hand, while it is up.
    hand_raised_at = Timestamptz(null=True, default=None)
    #: A webinar attendee past the room's interactive capacity: watches the live stream (HLS).
    viewer = Boolean(default=False)


class ChatMessage(Table, tablename="chat_message"):
    """A chat line, persisted before it is delivered."""

    id = Serial(primary_key=True)
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    #: Null when the tenant posted through the REST API.
    sender_id = UUID(default=None, null=True)
    sender_identity = Varchar(length=200, null=True, default=None)
    sender_name = Varchar(length=200)
    sender_role = Varchar(length=16)
    #: everyone | moderators | private
    audience = Varchar(length=12)
    recipient_id = UUID(null=True, default=None)
    recipient_identity = Varchar(length=200, null=True, default=None)
    recipient_name = Varchar(length=200, null=True, default=None)
    text = Text()
    created_at = Timestamptz()


class EmbedOrigin(Table, tablename="embed_origin"):
    """An origin (``https://app.example.com``) allowed to frame the tenant's rooms."""

    id = Serial(primary_key=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    origin = Varchar(length=255)
    created_at = Timestamptz()


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    """Where a tenant wants to hear about events; secrets are sealed under the master key."""

    id = Serial(primary_key=True)
    uid = Varchar(length=40, unique=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    url = Text()
    description = Varchar(length=200, default="")
    #: JSON list of event types; ``["*"]`` means every event that is not opt-in.
    events = Text(default='["*"]')
    secret = Text()
    #: The secret before the last rotation; deliveries carry both signatures until it expires.
    previous_secret = Text(null=True, default=None)
    previous_secret_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Varchar(length=200, null=True, default=None)


class WebhookMessage(Table, tablename="webhook_message"):
    """The outbox: one event for one endpoint, stored before any delivery attempt."""

    id = Serial(primary_key=True)
    #: The ``webhook-id`` header: stable across retries, so receivers can deduplicate.
    uid = Varchar(length=40, unique=True)
    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, index=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    event_type = Varchar(length=100)
    #: The exact JSON body every attempt sends.
    payload = Text()
    #: pending | delivered | failed
    status = Varchar(length=10, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    #: A worker holds the message until then; a crashed worker's claim simply runs out.
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(null=True, default=None)


class WebhookAttempt(Table, tablename="webhook_attempt"):
    """One HTTP request of a message's delivery, for the delivery log."""

    id = Serial(primary_key=True)
    message = ForeignKey(references=WebhookMessage, on_delete=OnDelete.cascade, index=True)
    attempt = Integer()
    started_at = Timestamptz()
    duration_ms = Integer(default=0)
    status_code = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    response_body = Text(default="")


class TenantPlugin(Table, tablename="tenant_plugin"):
    """A plugin as one tenant has it: switched on or off, and its config (JSON)."""

    id = Serial(primary_key=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    plugin = Varchar(length=40)
    enabled = Boolean(default=False)
    config = Text(default="{}")
    #: Set when Podium switched the plugin off after repeated failures.
    disabled_reason = Text(null=True, default=None)
    updated_at = Timestamptz()


class PluginState(Table, tablename="plugin_state"):
    """A plugin's shared state in one room: key → JSON value (polls, current slide, hand queue)."""

    id = Serial(primary_key=True)
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    plugin = Varchar(length=40)
    key = Varchar(length=100)
    value = Text()
    updated_at = Timestamptz()


class RoomOutput(Table, tablename="room_output"):
    """A recording, the room's HLS stream or one RTMP push, and its state.

    Recordings: ``recording → processing → ready | failed``. Streams: ``live → stopped | failed``
    (``retrying`` while an RTMP destination is unreachable)."""

    id = Serial(primary_key=True)
    #: The public id (``rec_…``, ``hls_…``, ``rtmp_…``), also the output's name on the media node.
    uid = Varchar(length=40, unique=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    #: recording | hls | rtmp
    kind = Varchar(length=10, index=True)
    state = Varchar(length=12, index=True)
    #: The RTMP URL (its stream key included), for ``rtmp``; empty otherwise.
    target = Text(default="")
    #: The recording file or the HLS directory, under the data directory.
    path = Text(default="")
    #: HLS only: watchable without a viewer token.
    public = Boolean(default=False)
    started_by = Varchar(length=200, default="")
    started_at = Timestamptz()
    stopped_at = Timestamptz(null=True, default=None)
    duration = Float(default=0.0)
    size = BigInt(default=0)
    error = Text(null=True, default=None)


class BreakoutRound(Table, tablename="breakout_round"):
    """One opening of a room's breakouts, from ``open`` to ``close`` (or its timer)."""

    id = Serial(primary_key=True)
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade, index=True)
    opened_at = Timestamptz()
    opened_by = Varchar(length=200, null=True, default=None)
    #: When the timer closes the breakouts (``None``: until a host closes them).
    ends_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    #: Attendees may pick their breakout themselves.
    allow_choice = Boolean(default=False)


class Breakout(Table, tablename="breakout"):
    """A breakout of a round: a room of its own (``room``), numbered from 1."""

    id = Serial(primary_key=True)
    # No index: its name would be ``breakout_round``, the round table's own name (SQLite keeps
    # tables and indexes in one namespace); a round has a handful of breakouts.
    round = ForeignKey(references=BreakoutRound, on_delete=OnDelete.cascade)
    room = ForeignKey(references=Room, on_delete=OnDelete.cascade)
    position = Integer()
    name = Varchar(length=200)


class BreakoutAssignment(Table, tablename="breakout_assignment"):
    """Where an identity belongs during a round (a breakout, or ``None``: the main room)."""

    id = Serial(primary_key=True)
    round = ForeignKey(references=BreakoutRound, on_delete=OnDelete.cascade, index=True)
    identity = Varchar(length=200)
    breakout = ForeignKey(references=Breakout, on_delete=OnDelete.cascade, null=True, default=None)


class StreamingHost(Table, tablename="streaming_host"):
    """A host the tenant may push RTMP streams to (``a.rtmp.youtube.com``, ``*.live-video.net``)."""

    id = Serial(primary_key=True)
    tenant = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, index=True)
    host = Varchar(length=255)
    created_at = Timestamptz()


TABLES: tuple[type[Table], ...] = (
    Tenant,
    ApiKey,
    Room,
    ParticipantSession,
    ChatMessage,
    EmbedOrigin,
    WebhookEndpoint,
    WebhookMessage,
    WebhookAttempt,
    TenantPlugin,
    PluginState,
    RoomOutput,
    StreamingHost,
    BreakoutRound,
    Breakout,
    BreakoutAssignment,
)

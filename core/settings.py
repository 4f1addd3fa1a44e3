"""Podium's settings: every ``PODIUM_*`` environment variable, read in one typed place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

import msgspec

__all__ = ["Settings", "SettingsError"]


class SettingsError(ValueError):
    """A ``PODIUM_*`` variable holds a value Podium cannot use."""


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime configuration; ``Settings.from_env()`` is the only reader of the environment."""

    #: ``postgres://…`` selects PostgreSQL; empty means a SQLite file under ``data_dir``.
    database_url: str = ""
    #: ``redis://…`` selects Redis pub/sub for realtime fan-out and arq for jobs.
    redis_url: str = ""
    #: Namespace of Podium's Redis keys and channels, so deployments can share one Redis.
    redis_prefix: str = "podium"
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8080
    #: Public base URL used in printed links; defaults to ``http://host:port``.
    public_url: str = ""
    #: Master secret: encrypts tenants' signing secrets at rest. Generated under
    #: ``data_dir`` when unset, so a fresh machine needs no configuration.
    secret_key: str = ""
    #: Largest WebSocket frame a client may send, in bytes (close code 1009 above it).
    max_frame_bytes: int = 64 * 1024
    chat_max_length: int = 2000
    #: Chat rate limit: a burst of ``chat_rate_burst`` then ``chat_rate_per_second``.
    chat_rate_per_second: float = 5.0
    chat_rate_burst: int = 10
    #: Chat messages included in ``welcome``.
    chat_history_in_welcome: int = 50
    #: Failed authentications (bad API secret, refused join token) one client address may make
    #: per minute; beyond it every attempt from there gets ``429 rate_limited`` until the minute is
    #: over. Shared by all nodes through Redis when configured. 0 turns the limit off.
    auth_failures_per_minute: int = 30
    #: Rooms one tenant may create per minute (``POST /api/v1/rooms``); 0 turns the limit off.
    rooms_per_minute: int = 600
    #: Largest lifetime a minted join token may have, in seconds.
    token_max_ttl: int = 24 * 3600
    #: A participant whose node stopped refreshing it for this long is gone.
    presence_timeout: float = 45.0
    presence_refresh: float = 15.0
    #: The media node (MCU for large rooms) to use, ``ws://host:port``. Empty: ``podium serve``
    #: starts its own beside itself. ``off``: no MCU (large rooms get ``media_unavailable``).
    media_url: str = ""
    #: With ``PODIUM_MEDIA_URL=registry`` MCU rooms are placed on the media nodes registered in
    #: Redis (``podium media --advertise``). Nodes beat every ``media_heartbeat`` seconds; one
    #: silent for ``media_node_ttl`` seconds is dead, and its rooms move to another node.
    media_heartbeat: float = 2.0
    media_node_ttl: float = 6.0
    #: Participants one media node is sized for (``podium media --capacity`` overrides it).
    media_capacity: int = 100
    #: A draining media node (first SIGTERM) exits when its rooms are empty or after this long.
    media_drain_timeout: float = 600.0
    #: ``json``: one JSON object per log line, with room, tenant and participant ids when known.
    log_format: Literal["text", "json"] = "text"
    #: An admitted attendee whose connection dropped skips the lobby when back within this many seconds.
    rejoin_grace: float = 120.0
    #: STUN/TURN servers for peer-to-peer media, as a JSON list of ``RTCIceServer``s:
    #: ``[{"urls": ["stun:stun.example.com:3478"]}]``. Empty: host candidates only (LAN, loopback).
    ice_servers: str = ""
    #: TURN servers using a shared secret (coturn ``use-auth-secret``): comma-separated ``turn:`` URLs.
    turn_urls: str = ""
    #: The shared secret; each participant gets its own time-limited TURN username and password.
    turn_secret: str = ""
    turn_credential_ttl: int = 12 * 3600
    #: Webinar attendees past ``max_participants`` (the interactive WebRTC seats) watch the room's
    #: HLS stream; this many at most per room, beyond them ``room_full``. 0: no overflow.
    webinar_max_viewers: int = 1000
    #: Largest SDP a participant may relay to a peer, in bytes.
    max_sdp_bytes: int = 32 * 1024
    #: Extra plugins to load by module path, comma-separated (besides the built-ins and the
    #: ``podium.plugins`` entry points), e.g. a plugin in development.
    plugins: str = ""
    #: Seconds a plugin hook may run before it is cut off (and counted as a failure).
    plugin_hook_timeout: float = 2.0
    #: Failures in a row after which a plugin is switched off for the tenant.
    plugin_max_failures: int = 5
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: Let RTMP destinations resolve to loopback/private addresses (development and tests only;
    #: otherwise a destination must be public, so nobody pushes streams into the internal network).
    streaming_private_addresses: bool = False
    #: Let tenants turn on their webhook development flag (endpoints on loopback and private
    #: addresses). Off by default: a tenant could otherwise point deliveries at the internal
    #: network and read the answers in its delivery log (SSRF).
    webhook_private_addresses: bool = False
    #: ``podium serve`` also runs background jobs (webhook deliveries): through arq when Redis is
    #: configured, in-process otherwise. Turn off when dedicated ``podium worker`` processes run them.
    serve_runs_jobs: bool = True
    #: Seconds to wait before each webhook retry, comma-separated; its length is the number of retries.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    #: Each retry waits its scheduled delay times a random factor in ``1 ± jitter``.
    webhook_retry_jitter: float = 0.2
    #: Seconds a receiver has to answer one delivery attempt.
    webhook_timeout: float = 10.0
    #: Seconds a worker holds a message it is delivering; a crashed worker's messages come back after it.
    webhook_lease: float = 60.0
    #: How often workers look for due or abandoned webhook messages, in seconds.
    webhook_sweep_interval: float = 5.0
    #: After a secret rotation, deliveries are signed with both secrets for this many seconds.
    webhook_secret_overlap: float = 24 * 3600.0

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "podium.sqlite3"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from ``PODIUM_<FIELD>`` variables; unknown values raise ``SettingsError``."""
        env = os.environ if environ is None else environ
        raw: dict[str, str] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(f"PODIUM_{field.name.upper()}")
            if value is not None and value != "":
                raw[field.name] = value
        try:
            settings = msgspec.convert(raw, cls, strict=False, dec_hook=_decode)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid PODIUM_* setting: {exc}") from exc
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject combinations that would fail later in a confusing way."""
        if self.database_url and not self.uses_postgres:
            raise SettingsError("PODIUM_DATABASE_URL must start with postgres:// or postgresql://")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("PODIUM_REDIS_URL must start with redis://, rediss:// or unix://")
        if self.max_frame_bytes < 1024:
            raise SettingsError("PODIUM_MAX_FRAME_BYTES must be at least 1024")
        if self.chat_max_length < 1 or self.chat_rate_burst < 1 or self.chat_rate_per_second <= 0:
            raise SettingsError("chat limits must be positive")
        if self.media_url not in ("", "off", "registry") and not self.media_url.startswith(
            ("ws://", "wss://")
        ):
            raise SettingsError("PODIUM_MEDIA_URL must be empty, off, registry, or a ws:// or wss:// URL")
        if self.media_url == "registry" and not self.redis_url:
            raise SettingsError("PODIUM_MEDIA_URL=registry needs PODIUM_REDIS_URL")
        if self.media_node_ttl <= self.media_heartbeat:
            raise SettingsError("PODIUM_MEDIA_NODE_TTL must be longer than PODIUM_MEDIA_HEARTBEAT")
        if bool(self.turn_urls) != bool(self.turn_secret):
            raise SettingsError("PODIUM_TURN_URLS and PODIUM_TURN_SECRET go together")
        if self.webinar_max_viewers < 0:
            raise SettingsError("PODIUM_WEBINAR_MAX_VIEWERS cannot be negative (0: no overflow viewers)")
        if self.auth_failures_per_minute < 0 or self.rooms_per_minute < 0:
            raise SettingsError("rate limits cannot be negative (0 turns one off)")
        if self.webhook_lease <= self.webhook_timeout:
            raise SettingsError("PODIUM_WEBHOOK_LEASE must be longer than PODIUM_WEBHOOK_TIMEOUT")
        self.retry_delays()
        from podium.core.realtime.ice import parse_ice_servers

        parse_ice_servers(self.ice_servers)

    def retry_delays(self) -> list[float]:
        """``webhook_retry_schedule`` in seconds; ``SettingsError`` when it is not a list of numbers."""
        try:
            delays = [float(part) for part in self.webhook_retry_schedule.split(",") if part.strip()]
        except ValueError as exc:
            raise SettingsError("PODIUM_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds") from exc
        if any(delay < 0 for delay in delays):
            raise SettingsError("PODIUM_WEBHOOK_RETRY_SCHEDULE cannot hold negative delays")
        return delays

    def resolved_secret_key(self) -> str:
        """The master secret, generated once into ``data_dir/secret_key`` when not configured."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        if self.uses_postgres:
            # Several nodes must share one key; a per-node generated key would
            # make every node unable to read the others' tenants.
            raise SettingsError("PODIUM_SECRET_KEY is required with PostgreSQL")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key

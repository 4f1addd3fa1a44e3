"""Pure pieces: settings parsing, the permission matrix, rate limiting, key sealing."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.core.auth.keys import SecretBox, generate_key, hash_secret
from podium.core.auth.permissions import Action, Role, can, can_act_on, can_assign, permissions_of
from podium.core.chat import RateLimiter
from podium.core.settings import Settings, SettingsError


def test_settings_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert (settings.database_url, settings.redis_url, settings.port) == ("", "", 8080)
    assert not settings.uses_postgres
    custom = Settings.from_env(
        {
            "PODIUM_DATABASE_URL": "postgres://u@db/podium",
            "PODIUM_REDIS_URL": "redis://cache:6379/0",
            "PODIUM_DATA_DIR": str(tmp_path),
            "PODIUM_MAX_FRAME_BYTES": "4096",
            "PODIUM_CHAT_RATE_PER_SECOND": "2.5",
        }
    )
    assert custom.uses_postgres
    assert (custom.data_dir, custom.max_frame_bytes, custom.chat_rate_per_second) == (tmp_path, 4096, 2.5)


@pytest.mark.parametrize(
    "env",
    [
        {"PODIUM_PORT": "eighty"},
        {"PODIUM_DATABASE_URL": "mysql://x"},
        {"PODIUM_REDIS_URL": "http://x"},
        {"PODIUM_MAX_FRAME_BYTES": "10"},
        {"PODIUM_LOG_LEVEL": "chatty"},
    ],
)
def test_bad_settings_fail_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_postgres_requires_a_shared_secret_key(tmp_path: Path) -> None:
    settings = Settings.from_env({"PODIUM_DATABASE_URL": "postgres://x/y", "PODIUM_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="PODIUM_SECRET_KEY"):
        settings.resolved_secret_key()
    embedded = Settings.from_env({"PODIUM_DATA_DIR": str(tmp_path)})
    assert embedded.resolved_secret_key() == embedded.resolved_secret_key()  # generated once, then reused


def test_permission_matrix() -> None:
    assert permissions_of(Role.ATTENDEE) == ["chat.everyone", "chat.moderators", "chat.private"]
    assert can(Role.MODERATOR, Action.KICK) and not can(Role.MODERATOR, Action.END_ROOM)
    assert can(Role.HOST, Action.END_ROOM)
    assert not can(Role.ATTENDEE, Action.ADMIT)
    assert can_act_on(Role.HOST, Role.HOST) and can_act_on(Role.MODERATOR, Role.ATTENDEE)
    assert not can_act_on(Role.MODERATOR, Role.MODERATOR) and not can_act_on(Role.MODERATOR, Role.HOST)
    assert can_assign(Role.MODERATOR, Role.ATTENDEE, Role.MODERATOR)
    assert not can_assign(Role.MODERATOR, Role.ATTENDEE, Role.HOST)
    assert not can_assign(Role.ATTENDEE, Role.ATTENDEE, Role.ATTENDEE)


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=1000.0, burst=3)
    assert [limiter.allow() for _ in range(3)] == [True] * 3
    slow = RateLimiter(rate=0.001, burst=2)
    assert [slow.allow() for _ in range(3)] == [True, True, False]


def test_signing_secrets_are_sealed_under_the_master_key() -> None:
    key_id, secret = generate_key()
    assert key_id.startswith("pk_") and secret.startswith("sk_")
    assert hash_secret(secret) != secret and len(hash_secret(secret)) == 64
    sealed = SecretBox("master").seal(secret)
    assert secret not in sealed
    assert SecretBox("master").open(sealed) == secret
    with pytest.raises(ValueError, match="PODIUM_SECRET_KEY"):
        SecretBox("another master").open(sealed)

"""The webhook event catalogue other features extend, and the signing scheme itself."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from podium.core.settings import Settings, SettingsError
from podium.core.webhooks import WebhookVerificationError, event_types, register_event_type, sign, verify
from podium.core.webhooks.addresses import is_public
from podium.core.webhooks.endpoints import wants
from podium.core.webhooks.signing import decode_secret, generate_secret


def test_features_register_their_event_types_once() -> None:
    first = register_event_type("tests.widget.spun", "a widget spun", example={"speed": 3})
    again = register_event_type("tests.widget.spun", "a widget spun")
    assert again is first
    assert "tests.widget.spun" in {kind.name for kind in event_types()}
    with pytest.raises(ValueError, match="registered differently"):
        register_event_type("tests.widget.spun", "something else")
    for bad in ("widget", "Tests.Widget", "tests..spun", "tests.widget spun"):
        with pytest.raises(ValueError, match="dotted lowercase"):
            register_event_type(bad, "bad name")


def test_filters_take_opt_in_events_only_by_name() -> None:
    assert wants('["*"]', "participant.joined")
    assert not wants('["*"]', "chat.message")
    assert wants('["*", "chat.message"]', "chat.message")
    assert not wants('["room.started"]', "room.ended")
    assert not wants('["*"]', "never.registered")


def test_the_signature_is_hmac_sha256_over_id_timestamp_and_body() -> None:
    secret = generate_secret()
    key = decode_secret(secret)
    assert len(key) == 32
    body = b'{"type":"room.started"}'
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert sign([secret], "msg_1", 1700000000, body) == f"v1,{expected}"
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": f"v1,{expected}",
    }
    verify(secret, headers, body, now=1700000100)
    with pytest.raises(WebhookVerificationError, match="too far"):
        verify(secret, headers, body, now=1700000000 + 301)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(secret, {"webhook-id": "msg_1"}, body)
    with pytest.raises(ValueError, match="24"):
        decode_secret("whsec_" + base64.b64encode(b"x" * 23).decode())


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.8", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.1.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_retry_schedule_and_lease_are_checked() -> None:
    assert Settings.from_env({"PODIUM_WEBHOOK_RETRY_SCHEDULE": "1, 2.5,10"}).retry_delays() == [
        1.0,
        2.5,
        10.0,
    ]
    with pytest.raises(SettingsError):
        Settings.from_env({"PODIUM_WEBHOOK_RETRY_SCHEDULE": "1,soon"})
    with pytest.raises(SettingsError):
        Settings.from_env({"PODIUM_WEBHOOK_TIMEOUT": "30", "PODIUM_WEBHOOK_LEASE": "20"})

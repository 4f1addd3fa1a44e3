"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

The receiver side (``verify``) is what the docs show tenants; Podium's tests use it against
real deliveries, so the documented helper and the signer cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

__all__ = [
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "decode_secret",
    "generate_secret",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
#: How far a delivery's timestamp may be from the receiver's clock, in seconds.
TOLERANCE = 5 * 60


class WebhookVerificationError(ValueError):
    """The request was not signed by Podium with this secret, or is too old to trust."""


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; raises ``ValueError`` when malformed or under 24 bytes."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret must hold at least {MIN_SECRET_BYTES} random bytes")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, space-separated."""
    return " ".join(_signature(decode_secret(s), msg_id, timestamp, body) for s in secrets_)


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Check a delivery's ``webhook-*`` headers against ``body``; raises ``WebhookVerificationError``."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    header = lower.get("webhook-signature", "")
    if not (msg_id and stamp and header):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE:
        raise WebhookVerificationError("webhook-timestamp is too far from now")
    expected = _signature(decode_secret(secret), msg_id, timestamp, body)
    for candidate in header.split(" "):
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookVerificationError("no signature matches")

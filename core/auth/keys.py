"""API key material: generation, hashing for REST auth, encryption of signing secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SecretBox", "generate_key", "hash_secret", "looks_like_secret"]

KEY_ID_PREFIX = "pk_"
SECRET_PREFIX = "sk_"


def generate_key() -> tuple[str, str]:
    """A new ``(key_id, secret)`` pair; the secret is shown to the tenant once."""
    return KEY_ID_PREFIX + secrets.token_hex(12), SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of an API secret (SHA-256: secrets are random, so no salt or stretching is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_secret(value: str) -> bool:
    """Cheap shape check before touching the database."""
    return value.startswith(SECRET_PREFIX) and 20 < len(value) < 100


class SecretBox:
    """Encrypts tenants' signing secrets under the server's master key.

    Join tokens are HMAC-signed with the API secret, so the server needs the
    secret itself to verify them; it is kept encrypted rather than in clear."""

    def __init__(self, master_key: str) -> None:
        digest = hmac.new(master_key.encode(), b"podium signing secrets", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("signing secret was sealed under another PODIUM_SECRET_KEY") from exc

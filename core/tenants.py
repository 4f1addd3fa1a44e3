"""Tenants and their API keys: creation, REST authentication, join-token key lookup, revocation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from podium.core.auth.keys import SecretBox, generate_key, hash_secret, looks_like_secret
from podium.core.db.tables import ApiKey, Tenant
from podium.core.errors import PodiumError

__all__ = [
    "ApiKeyInfo",
    "Caller",
    "IssuedKey",
    "TenantRef",
    "authenticate",
    "create_key",
    "create_tenant",
    "list_keys",
    "newest_key",
    "revoke_key",
    "signing_key",
    "tenant_ref",
]

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def utcnow() -> datetime:
    return datetime.now(UTC)


class TenantRef(msgspec.Struct, frozen=True):
    """A tenant, as requests refer to it."""

    id: int
    slug: str
    name: str


class Caller(msgspec.Struct, frozen=True):
    """An authenticated REST caller: its tenant and the key it used (which signs its join tokens)."""

    tenant: TenantRef
    key_id: str
    secret: str


class IssuedKey(msgspec.Struct, frozen=True):
    """A freshly created key: the only time the secret is shown."""

    tenant: str
    key_id: str
    secret: str
    name: str


class ApiKeyInfo(msgspec.Struct, frozen=True):
    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def slugify(name: str) -> str:
    """A URL-safe slug for a display name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "tenant"


def check_slug(slug: str, what: str) -> None:
    if not SLUG_RE.match(slug):
        raise PodiumError(
            f"invalid_{what}_slug",
            f"{what} slug must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            status=422,
        )


async def create_tenant(name: str, box: SecretBox, slug: str | None = None) -> IssuedKey:
    """Create a tenant with a first API key."""
    slug = slug or slugify(name)
    check_slug(slug, "tenant")
    if await Tenant.exists().where(Tenant.slug == slug):
        raise PodiumError("tenant_exists", f"a tenant with slug {slug!r} already exists", status=409)
    rows = await Tenant.insert(Tenant(slug=slug, name=name, created_at=utcnow())).returning(Tenant.id)
    return await create_key(TenantRef(id=rows[0]["id"], slug=slug, name=name), box, name="default")


async def tenant_ref(slug: str) -> TenantRef:
    """The tenant with ``slug``, or ``tenant_not_found``."""
    row = await Tenant.select(Tenant.id, Tenant.slug, Tenant.name).where(Tenant.slug == slug).first()
    if row is None:
        raise PodiumError("tenant_not_found", f"no tenant {slug!r}", status=404)
    return TenantRef(**row)


async def newest_key(tenant: TenantRef, box: SecretBox) -> tuple[str, str]:
    """``(key_id, secret)`` of the tenant's newest live key, for tokens minted by the CLI."""
    row = (
        await ApiKey.select(ApiKey.key_id, ApiKey.signing_secret)
        .where((ApiKey.tenant == tenant.id) & ApiKey.revoked_at.is_null())
        .order_by(ApiKey.id, ascending=False)
        .first()
    )
    if row is None:
        raise PodiumError("no_live_key", f"tenant {tenant.slug!r} has no live API key", status=409)
    return row["key_id"], box.open(row["signing_secret"])


async def create_key(tenant: TenantRef, box: SecretBox, name: str = "") -> IssuedKey:
    """Issue another API key for ``tenant``."""
    key_id, secret = generate_key()
    await ApiKey.insert(
        ApiKey(
            key_id=key_id,
            tenant=tenant.id,
            name=name[:200],
            secret_hash=hash_secret(secret),
            signing_secret=box.seal(secret),
            created_at=utcnow(),
        )
    )
    return IssuedKey(tenant=tenant.slug, key_id=key_id, secret=secret, name=name)


async def authenticate(secret: str) -> Caller | None:
    """The caller holding a live API secret, or ``None``."""
    if not looks_like_secret(secret):
        return None
    row: dict[str, Any] | None = (
        await ApiKey.select(ApiKey.key_id, ApiKey.tenant.id, ApiKey.tenant.slug, ApiKey.tenant.name)
        .where((ApiKey.secret_hash == hash_secret(secret)) & ApiKey.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    tenant = TenantRef(id=row["tenant.id"], slug=row["tenant.slug"], name=row["tenant.name"])
    return Caller(tenant=tenant, key_id=row["key_id"], secret=secret)


async def signing_key(key_id: str, box: SecretBox) -> tuple[str, str] | None:
    """``(tenant_slug, secret)`` for verifying a join token signed by ``key_id``."""
    row: dict[str, Any] | None = (
        await ApiKey.select(ApiKey.signing_secret, ApiKey.tenant.slug)
        .where((ApiKey.key_id == key_id) & ApiKey.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    return row["tenant.slug"], box.open(row["signing_secret"])


async def list_keys(tenant: TenantRef) -> list[ApiKeyInfo]:
    rows = await (
        ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.created_at, ApiKey.revoked_at)
        .where(ApiKey.tenant == tenant.id)
        .order_by(ApiKey.id)
    )
    return [ApiKeyInfo(**row) for row in rows]


async def revoke_key(tenant: TenantRef, key_id: str) -> None:
    """Revoke one of the tenant's keys; its secret and join tokens stop working at once."""
    found = await ApiKey.exists().where((ApiKey.key_id == key_id) & (ApiKey.tenant == tenant.id))
    if not found:
        raise PodiumError("key_not_found", "no such API key", status=404)
    await ApiKey.update({ApiKey.revoked_at: utcnow()}).where(
        (ApiKey.key_id == key_id) & (ApiKey.tenant == tenant.id) & ApiKey.revoked_at.is_null()
    )

"""Embedding: which origins may frame a tenant's rooms, and the room page's frame-ancestors policy."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from podium.core.db.tables import EmbedOrigin, Tenant
from podium.core.errors import PodiumError
from podium.core.tenants import TenantRef, utcnow

__all__ = [
    "MAX_ORIGINS",
    "EmbedOrigins",
    "add_origin",
    "allowed_origins",
    "frame_ancestors",
    "normalize_origin",
    "remove_origin",
    "set_origins",
]

MAX_ORIGINS = 50
Origin = Annotated[str, Meta(min_length=1, max_length=255)]


class EmbedOrigins(msgspec.Struct, forbid_unknown_fields=True):
    """Body and answer of ``/api/v1/embed/origins``."""

    origins: Annotated[list[Origin], Meta(max_length=MAX_ORIGINS)]


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port; ``invalid_origin`` otherwise."""
    parts = urlsplit(value.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or port == -1
        or "*" in value
    ):
        raise PodiumError(
            "invalid_origin", f"{value!r} is not an origin like https://app.example.com[:port]", status=422
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


async def allowed_origins(tenant_id: int) -> list[str]:
    rows = (
        await EmbedOrigin.select(EmbedOrigin.origin)
        .where(EmbedOrigin.tenant == tenant_id)
        .order_by(EmbedOrigin.id)
    )
    return [row["origin"] for row in rows]


async def set_origins(tenant: TenantRef, origins: list[str]) -> list[str]:
    """Replace the tenant's list of origins."""
    clean = list(dict.fromkeys(normalize_origin(o) for o in origins))
    await EmbedOrigin.delete().where(EmbedOrigin.tenant == tenant.id)
    if clean:
        now = utcnow()
        await EmbedOrigin.insert(*(EmbedOrigin(tenant=tenant.id, origin=o, created_at=now) for o in clean))
    return clean


async def add_origin(tenant: TenantRef, origin: str) -> list[str]:
    clean = normalize_origin(origin)
    current = await allowed_origins(tenant.id)
    if clean not in current:
        if len(current) >= MAX_ORIGINS:
            raise PodiumError("too_many_origins", f"at most {MAX_ORIGINS} embed origins", status=422)
        await EmbedOrigin.insert(EmbedOrigin(tenant=tenant.id, origin=clean, created_at=utcnow()))
    return await allowed_origins(tenant.id)


async def remove_origin(tenant: TenantRef, origin: str) -> list[str]:
    await EmbedOrigin.delete().where(
        (EmbedOrigin.tenant == tenant.id) & (EmbedOrigin.origin == normalize_origin(origin))
    )
    return await allowed_origins(tenant.id)


async def frame_ancestors(tenant_slug: str) -> list[str]:
    """Origins that may frame this tenant's room page (Podium's own pages always may)."""
    row = await Tenant.select(Tenant.id).where(Tenant.slug == tenant_slug).first()
    return [] if row is None else await allowed_origins(int(row["id"]))

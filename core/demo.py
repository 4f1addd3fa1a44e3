"""The demo seed behind ``make run`` and the CLI's token minting."""

from __future__ import annotations

from podium.core.auth import tokens
from podium.core.auth.keys import SecretBox
from podium.core.auth.permissions import Role
from podium.core.db.tables import Tenant
from podium.core.errors import PodiumError
from podium.core.rooms import RoomCreate, create_room, get_room
from podium.core.settings import Settings
from podium.core.tenants import create_tenant, newest_key, tenant_ref

__all__ = ["mint_for", "seed_demo"]

DEMO_TENANT = "demo"
DEMO_ROOM = "town-hall"


async def mint_for(
    settings: Settings, tenant: str, room: str, identity: str, name: str, role: str, ttl: int
) -> str:
    """A join token signed with the tenant's newest key (the room must exist)."""
    ref = await tenant_ref(tenant)
    await get_room(ref, room)
    key_id, secret = await newest_key(ref, SecretBox(settings.resolved_secret_key()))
    return tokens.mint(
        key_id=key_id,
        secret=secret,
        identity=identity,
        room=room,
        role=Role(role),
        name=name or identity,
        ttl=ttl,
    )


async def seed_demo(settings: Settings) -> dict[str, str]:
    """Make sure the demo tenant and room exist; return fresh host and attendee links."""
    links: dict[str, str] = {}
    if not await Tenant.exists().where(Tenant.slug == DEMO_TENANT):
        issued = await create_tenant(
            "Demo Company", SecretBox(settings.resolved_secret_key()), slug=DEMO_TENANT
        )
        links["api_key_id"] = issued.key_id
        links["api_secret (shown once)"] = issued.secret
    ref = await tenant_ref(DEMO_TENANT)
    try:
        await get_room(ref, DEMO_ROOM)
    except PodiumError:
        await create_room(ref, RoomCreate(slug=DEMO_ROOM, name="Town Hall"))
    base = f"{settings.base_url}/r/{DEMO_TENANT}/{DEMO_ROOM}?token="
    ttl = 12 * 3600
    host = await mint_for(settings, DEMO_TENANT, DEMO_ROOM, "demo-host", "Hannah Host", "host", ttl)
    links["host link"] = base + host
    for n in (1, 2):
        token = await mint_for(settings, DEMO_TENANT, DEMO_ROOM, f"guest-{n}", f"Guest {n}", "attendee", ttl)
        links[f"attendee link {n}"] = base + token
    return links

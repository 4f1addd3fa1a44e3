"""``/api/v1/embed/origins`` and ``/api/v1/tenant``: where rooms may be embedded, tenant switches."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.params import Parameter
from msgspec import UNSET, UnsetType

from podium.core import embed
from podium.core.api.openapi import errors
from podium.core.db.tables import Tenant
from podium.core.embed import EmbedOrigins
from podium.core.errors import PodiumError
from podium.core.services import Services
from podium.core.tenants import Caller

__all__ = ["EmbedOriginController", "TenantController"]


class OriginAdd(msgspec.Struct, forbid_unknown_fields=True):
    origin: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class EmbedOriginController(Controller):
    path = "/embed/origins"
    tags = ["embedding"]

    @get("/")
    async def list_origins(self, caller: Caller) -> EmbedOrigins:
        """Origins whose pages may frame this tenant's rooms."""
        return EmbedOrigins(origins=await embed.allowed_origins(caller.tenant.id))

    @put("/", responses=errors(422))
    async def replace_origins(self, caller: Caller, data: EmbedOrigins) -> EmbedOrigins:
        """Replace the whole list."""
        return EmbedOrigins(origins=await embed.set_origins(caller.tenant, data.origins))

    @post("/", status_code=200, responses=errors(422))
    async def add_origin(self, caller: Caller, data: OriginAdd) -> EmbedOrigins:
        return EmbedOrigins(origins=await embed.add_origin(caller.tenant, data.origin))

    @delete("/", status_code=200, responses=errors(422))
    async def remove_origin(
        self, caller: Caller, origin: Annotated[str, Parameter(max_length=255)]
    ) -> EmbedOrigins:
        return EmbedOrigins(origins=await embed.remove_origin(caller.tenant, origin))


class TenantSettings(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    #: Webhook endpoints may point at loopback and private addresses (for local development).
    webhook_development: bool
    #: Whether this server lets tenants turn ``webhook_development`` on
    #: (the operator's ``PODIUM_WEBHOOK_PRIVATE_ADDRESSES``).
    webhook_development_allowed: bool


class TenantUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    webhook_development: bool | UnsetType = UNSET


async def _tenant_settings(caller: Caller, services: Services) -> TenantSettings:
    row = await Tenant.select(Tenant.webhook_development).where(Tenant.id == caller.tenant.id).first()
    allowed = services.settings.webhook_private_addresses
    return TenantSettings(
        slug=caller.tenant.slug,
        name=caller.tenant.name,
        webhook_development=allowed and bool(row and row["webhook_development"]),
        webhook_development_allowed=allowed,
    )


class TenantController(Controller):
    path = "/tenant"
    tags = ["tenant"]

    @get("/")
    async def get_tenant(self, caller: Caller, services: Services) -> TenantSettings:
        """The calling tenant and its switches."""
        return await _tenant_settings(caller, services)

    @patch("/", responses=errors(403))
    async def update_tenant(self, caller: Caller, data: TenantUpdate, services: Services) -> TenantSettings:
        """Change the tenant's switches; ``webhook_development`` only where the operator allows it."""
        if data.webhook_development is True and not services.settings.webhook_private_addresses:
            raise PodiumError(
                "webhook_development_not_allowed",
                "this server does not deliver webhooks to private addresses "
                "(the operator sets PODIUM_WEBHOOK_PRIVATE_ADDRESSES for development)",
                status=403,
            )
        if not isinstance(data.webhook_development, UnsetType):
            await Tenant.update({Tenant.webhook_development: data.webhook_development}).where(
                Tenant.id == caller.tenant.id
            )
        return await _tenant_settings(caller, services)

"""``/api/v1/keys``: the tenant's API keys (secrets are shown once, at creation)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from msgspec import Meta

from podium.core import tenants
from podium.core.services import Services
from podium.core.tenants import ApiKeyInfo, Caller, IssuedKey

__all__ = ["KeyController"]


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=200)] = ""


class KeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @get("/")
    async def list_keys(self, caller: Caller) -> list[ApiKeyInfo]:
        return await tenants.list_keys(caller.tenant)

    @post("/")
    async def create_key(self, caller: Caller, data: KeyCreate, services: Services) -> IssuedKey:
        """Issue another key (rotate: create the new one, switch, then revoke the old one)."""
        return await tenants.create_key(caller.tenant, services.box, name=data.name)

    @delete("/{key_id:str}")
    async def revoke_key(self, caller: Caller, key_id: str) -> None:
        """Revoke a key: its secret and every join token it signed stop working."""
        await tenants.revoke_key(caller.tenant, key_id)

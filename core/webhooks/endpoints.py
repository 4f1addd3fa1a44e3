"""Webhook endpoints: a tenant's receivers, their event filters and secrets (CRUD and rotation)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from podium.core.auth.keys import SecretBox
from podium.core.db.tables import Tenant, WebhookEndpoint
from podium.core.errors import PodiumError
from podium.core.tenants import TenantRef, utcnow
from podium.core.webhooks.addresses import check_url
from podium.core.webhooks.events import event_type
from podium.core.webhooks.signing import decode_secret, generate_secret

__all__ = [
    "EndpointCreate",
    "EndpointCreated",
    "EndpointInfo",
    "EndpointUpdate",
    "SecretRotated",
    "create_endpoint",
    "delete_endpoint",
    "disable_endpoint",
    "endpoint_info",
    "endpoint_row",
    "list_endpoints",
    "live_secrets",
    "rotate_secret",
    "update_endpoint",
    "wants",
]

Url = Annotated[str, Meta(min_length=8, max_length=2000)]
Events = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(min_length=1, max_length=100)
]


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/webhooks/endpoints``."""

    url: Url
    description: Annotated[str, Meta(max_length=200)] = ""
    #: Event types, or ``"*"`` for every event that is not opt-in.
    events: Events = msgspec.field(default_factory=lambda: ["*"])
    #: ``whsec_`` + base64 of at least 24 bytes; generated when omitted.
    secret: str | None = None


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Url | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    #: ``true`` turns an endpoint disabled by a 410 (or by you) back on.
    enabled: bool | UnsetType = UNSET


class EndpointInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    disabled_at: datetime | None


class EndpointCreated(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: EndpointInfo
    #: The only time the secret is shown.
    secret: str


class SecretRotated(msgspec.Struct, frozen=True, kw_only=True):
    secret: str
    #: Until then deliveries carry a signature with the previous secret too.
    previous_secret_valid_until: datetime


def endpoint_info(row: dict[str, Any]) -> EndpointInfo:
    return EndpointInfo(
        id=row["uid"],
        url=row["url"],
        description=row["description"],
        events=json.loads(row["events"]),
        enabled=row["disabled_at"] is None,
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        disabled_at=row["disabled_at"],
    )


def _check_events(events: list[str]) -> list[str]:
    for name in events:
        if name != "*" and event_type(name) is None:
            raise PodiumError("unknown_event_type", f"no event type {name!r}", status=422)
    return sorted(set(events))


def _check_secret(secret: str) -> str:
    try:
        decode_secret(secret)
    except ValueError as exc:
        raise PodiumError("invalid_webhook_secret", str(exc), status=422) from exc
    return secret if secret.startswith("whsec_") else "whsec_" + secret


async def _allow_private(tenant: TenantRef, operator_allows: bool) -> bool:
    """The tenant develops locally, and the operator lets tenants do so."""
    if not operator_allows:
        return False
    row = await Tenant.select(Tenant.webhook_development).where(Tenant.id == tenant.id).first()
    return bool(row and row["webhook_development"])


async def endpoint_row(tenant: TenantRef, uid: str) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await WebhookEndpoint.select()
        .where((WebhookEndpoint.uid == uid) & (WebhookEndpoint.tenant == tenant.id))
        .first()
    )
    if row is None:
        raise PodiumError("webhook_endpoint_not_found", "no such webhook endpoint", status=404)
    return row


async def list_endpoints(tenant: TenantRef) -> list[EndpointInfo]:
    rows = (
        await WebhookEndpoint.select().where(WebhookEndpoint.tenant == tenant.id).order_by(WebhookEndpoint.id)
    )
    return [endpoint_info(row) for row in rows]


async def create_endpoint(
    tenant: TenantRef, box: SecretBox, data: EndpointCreate, private_addresses: bool = False
) -> EndpointCreated:
    """Add an endpoint; its URL must resolve to a public address unless the tenant develops locally
    (and ``private_addresses``, the operator's ``PODIUM_WEBHOOK_PRIVATE_ADDRESSES``, allows it)."""
    events = _check_events(data.events)
    secret = _check_secret(data.secret) if data.secret else generate_secret()
    await check_url(data.url, await _allow_private(tenant, private_addresses))
    uid = "we_" + secrets.token_hex(12)
    await WebhookEndpoint.insert(
        WebhookEndpoint(
            uid=uid,
            tenant=tenant.id,
            url=data.url,
            description=data.description,
            events=json.dumps(events),
            secret=box.seal(secret),
            created_at=utcnow(),
        )
    )
    return EndpointCreated(endpoint=endpoint_info(await endpoint_row(tenant, uid)), secret=secret)


async def update_endpoint(
    tenant: TenantRef, uid: str, data: EndpointUpdate, private_addresses: bool = False
) -> EndpointInfo:
    await endpoint_row(tenant, uid)
    values: dict[Any, Any] = {}
    if not isinstance(data.url, UnsetType):
        await check_url(data.url, await _allow_private(tenant, private_addresses))
        values[WebhookEndpoint.url] = data.url
    if not isinstance(data.description, UnsetType):
        values[WebhookEndpoint.description] = data.description
    if not isinstance(data.events, UnsetType):
        values[WebhookEndpoint.events] = json.dumps(_check_events(data.events))
    if not isinstance(data.enabled, UnsetType):
        values[WebhookEndpoint.disabled_at] = None if data.enabled else utcnow()
        values[WebhookEndpoint.disabled_reason] = None if data.enabled else "disabled by the tenant"
    if values:
        await WebhookEndpoint.update(values).where(
            (WebhookEndpoint.uid == uid) & (WebhookEndpoint.tenant == tenant.id)
        )
    return endpoint_info(await endpoint_row(tenant, uid))


async def delete_endpoint(tenant: TenantRef, uid: str) -> None:
    await endpoint_row(tenant, uid)
    await WebhookEndpoint.delete().where((WebhookEndpoint.uid == uid) & (WebhookEndpoint.tenant == tenant.id))


async def rotate_secret(
    tenant: TenantRef, uid: str, box: SecretBox, overlap: float, secret: str | None = None
) -> SecretRotated:
    """A new secret; the old one keeps signing alongside it for ``overlap`` seconds."""
    row = await endpoint_row(tenant, uid)
    new = _check_secret(secret) if secret else generate_secret()
    until = utcnow() + timedelta(seconds=overlap)
    await WebhookEndpoint.update(
        {
            WebhookEndpoint.secret: box.seal(new),
            WebhookEndpoint.previous_secret: row["secret"],
            WebhookEndpoint.previous_secret_until: until,
        }
    ).where(WebhookEndpoint.id == row["id"])
    return SecretRotated(secret=new, previous_secret_valid_until=until)


async def disable_endpoint(endpoint_id: int, reason: str) -> None:
    await WebhookEndpoint.update(
        {WebhookEndpoint.disabled_at: utcnow(), WebhookEndpoint.disabled_reason: reason}
    ).where(WebhookEndpoint.id == endpoint_id)


def live_secrets(row: dict[str, Any], box: SecretBox, now: datetime) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one while it overlaps."""
    found = [box.open(row["secret"])]
    until = row["previous_secret_until"]
    if row["previous_secret"] and until is not None and until > now:
        found.append(box.open(row["previous_secret"]))
    return found


def wants(events_json: str, name: str) -> bool:
    """Whether an endpoint's filter takes events of type ``name``."""
    events = json.loads(events_json)
    kind = event_type(name)
    return name in events or ("*" in events and kind is not None and not kind.opt_in)

"""``/api/v1/webhooks``: endpoints, secret rotation, the event catalogue, the delivery log, redelivery."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from podium.core.api.openapi import errors
from podium.core.db.tables import MAX_ROW_ID, WebhookAttempt, WebhookMessage
from podium.core.errors import PodiumError
from podium.core.services import Services
from podium.core.tenants import Caller
from podium.core.webhooks import endpoints
from podium.core.webhooks.endpoints import (
    EndpointCreate,
    EndpointCreated,
    EndpointInfo,
    EndpointUpdate,
    SecretRotated,
)
from podium.core.webhooks.events import event_types

__all__ = ["WebhookController"]


class EventTypeInfo(msgspec.Struct, frozen=True):
    name: str
    description: str
    opt_in: bool
    example: dict[str, Any]


class RotateSecret(msgspec.Struct, forbid_unknown_fields=True):
    #: Your own new secret (``whsec_`` + base64 of ≥ 24 bytes); generated when omitted.
    secret: str | None = None


class AttemptInfo(msgspec.Struct, frozen=True, kw_only=True):
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str


class MessageInfo(msgspec.Struct, frozen=True, kw_only=True):
    #: The ``webhook-id`` every attempt of this message carries.
    id: str
    endpoint_id: str
    event_type: str
    #: pending | delivered | failed
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: Any
    attempt_log: list[AttemptInfo] | None = None


class MessagePage(msgspec.Struct, frozen=True):
    messages: list[MessageInfo]
    #: Pass as ``before`` for older messages; null on the last page.
    next: int | None


_COLUMNS = (
    WebhookMessage.id,
    WebhookMessage.uid,
    WebhookMessage.endpoint.uid,
    WebhookMessage.event_type,
    WebhookMessage.status,
    WebhookMessage.attempts,
    WebhookMessage.created_at,
    WebhookMessage.next_attempt_at,
    WebhookMessage.delivered_at,
    WebhookMessage.last_status_code,
    WebhookMessage.last_error,
    WebhookMessage.payload,
)


def _message(row: dict[str, Any], attempts: list[AttemptInfo] | None = None) -> MessageInfo:
    return MessageInfo(
        id=row["uid"],
        endpoint_id=row["endpoint.uid"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        delivered_at=row["delivered_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        payload=json.loads(row["payload"]),
        attempt_log=attempts,
    )


async def _message_row(caller: Caller, uid: str) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await WebhookMessage.select(*_COLUMNS)
        .where((WebhookMessage.uid == uid) & (WebhookMessage.tenant == caller.tenant.id))
        .first()
    )
    if row is None:
        raise PodiumError("webhook_message_not_found", "no such webhook message", status=404)
    return row


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @get("/event-types")
    async def list_event_types(self, caller: Caller) -> list[EventTypeInfo]:
        """Every event type an endpoint may subscribe to."""
        return [EventTypeInfo(k.name, k.description, k.opt_in, k.example) for k in event_types()]

    @get("/endpoints")
    async def list_endpoints(self, caller: Caller) -> list[EndpointInfo]:
        return await endpoints.list_endpoints(caller.tenant)

    @post("/endpoints", responses=errors(422))
    async def create_endpoint(
        self, caller: Caller, data: EndpointCreate, services: Services
    ) -> EndpointCreated:
        """Add an endpoint; the answer holds its secret, shown only this once."""
        return await endpoints.create_endpoint(
            caller.tenant, services.box, data, services.settings.webhook_private_addresses
        )

    @get("/endpoints/{endpoint_id:str}")
    async def get_endpoint(self, caller: Caller, endpoint_id: str) -> EndpointInfo:
        return endpoints.endpoint_info(await endpoints.endpoint_row(caller.tenant, endpoint_id))

    @patch("/endpoints/{endpoint_id:str}", responses=errors(422))
    async def update_endpoint(
        self, caller: Caller, endpoint_id: str, data: EndpointUpdate, services: Services
    ) -> EndpointInfo:
        return await endpoints.update_endpoint(
            caller.tenant, endpoint_id, data, services.settings.webhook_private_addresses
        )

    @delete("/endpoints/{endpoint_id:str}")
    async def delete_endpoint(self, caller: Caller, endpoint_id: str) -> None:
        """Remove an endpoint with its delivery log; undelivered messages are dropped."""
        await endpoints.delete_endpoint(caller.tenant, endpoint_id)

    @post("/endpoints/{endpoint_id:str}/rotate-secret", status_code=200, responses=errors(422))
    async def rotate_secret(
        self, caller: Caller, endpoint_id: str, data: RotateSecret, services: Services
    ) -> SecretRotated:
        """A new secret; both sign deliveries for ``PODIUM_WEBHOOK_SECRET_OVERLAP`` seconds."""
        return await endpoints.rotate_secret(
            caller.tenant, endpoint_id, services.box, services.settings.webhook_secret_overlap, data.secret
        )

    @post("/endpoints/{endpoint_id:str}/test", status_code=202, responses=errors(409))
    async def send_test(self, caller: Caller, endpoint_id: str, services: Services) -> MessageInfo:
        """Send a ``webhook.test`` event to this endpoint alone."""
        await endpoints.endpoint_row(caller.tenant, endpoint_id)
        ids = await services.webhooks.outbox.emit(
            caller.tenant.id, "webhook.test", {"tenant": caller.tenant.slug}, endpoint_uid=endpoint_id
        )
        if not ids:
            raise PodiumError("webhook_endpoint_disabled", "the endpoint is disabled", status=409)
        return _message(await _message_row(caller, ids[0]))

    @get("/endpoints/{endpoint_id:str}/messages")
    async def list_messages(
        self,
        caller: Caller,
        endpoint_id: str,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ROW_ID)] = None,
        status: Annotated[str | None, Parameter(pattern="^(pending|delivered|failed)$")] = None,
    ) -> MessagePage:
        """The delivery log of one endpoint, newest first."""
        row = await endpoints.endpoint_row(caller.tenant, endpoint_id)
        where = WebhookMessage.endpoint == row["id"]
        if before is not None:
            where &= WebhookMessage.id < before
        if status is not None:
            where &= WebhookMessage.status == status
        rows = (
            await WebhookMessage.select(*_COLUMNS)
            .where(where)
            .order_by(WebhookMessage.id, ascending=False)
            .limit(limit)
        )
        return MessagePage(
            messages=[_message(r) for r in rows], next=rows[-1]["id"] if len(rows) == limit else None
        )

    @get("/messages/{message_id:str}")
    async def get_message(self, caller: Caller, message_id: str) -> MessageInfo:
        """One message with every attempt: status code, error, response excerpt, timing."""
        row = await _message_row(caller, message_id)
        attempts = (
            await WebhookAttempt.select(
                WebhookAttempt.attempt,
                WebhookAttempt.started_at,
                WebhookAttempt.duration_ms,
                WebhookAttempt.status_code,
                WebhookAttempt.error,
                WebhookAttempt.response_body,
            )
            .where(WebhookAttempt.message == row["id"])
            .order_by(WebhookAttempt.id)
        )
        return _message(row, [AttemptInfo(**a) for a in attempts])

    @post("/messages/{message_id:str}/redeliver", status_code=202)
    async def redeliver(self, caller: Caller, message_id: str, services: Services) -> MessageInfo:
        """Send the message again now (same ``webhook-id``), with a fresh retry schedule."""
        row = await _message_row(caller, message_id)
        await services.webhooks.outbox.redeliver(row["id"])
        return _message(await _message_row(caller, message_id))

"""The webhook outbox: events are stored per endpoint first, then delivered, retried and logged.

A message is claimed by one worker at a time with a lease (``locked_until``); a worker that
dies mid-delivery just lets its lease run out, and the next sweep hands the message to another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec

from podium.core import __version__, metrics
from podium.core.auth.keys import SecretBox
from podium.core.db.tables import Tenant, WebhookEndpoint, WebhookMessage
from podium.core.db.tables import WebhookAttempt as AttemptRow
from podium.core.errors import PodiumError
from podium.core.settings import Settings
from podium.core.tenants import utcnow
from podium.core.webhooks.addresses import Pinned, check_url
from podium.core.webhooks.endpoints import disable_endpoint, live_secrets, wants
from podium.core.webhooks.events import event_type
from podium.core.webhooks.signing import sign
from podium.core.webhooks.transport import delivery_client, post

__all__ = ["DELIVER_JOB", "Outbox"]

log = logging.getLogger(__name__)
# One INFO line per delivery from httpx would drown the server's log; attempts are in the delivery log.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: The job name deliveries run under (arq function name, or in-process job).
DELIVER_JOB = "webhooks.deliver"
Enqueue = Callable[[str, int, float], Awaitable[None]]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Outbox:
    """Stores events for the endpoints that want them and delivers them."""

    def __init__(self, settings: Settings, box: SecretBox, enqueue: Enqueue) -> None:
        self.settings = settings
        self.box = box
        self.enqueue = enqueue
        self.delays = settings.retry_delays()
        self._tenants: dict[str, int] = {}
        self._http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---- emitting ---------------------------------------------------------------------------------------

    async def emit(self, tenant_id: int, type_: str, data: Any, endpoint_uid: str | None = None) -> list[str]:
        """Store ``type_`` for every enabled endpoint of the tenant that wants it, then queue deliveries.

        ``data`` is anything msgspec encodes. Returns the message ids (``webhook-id``s).
        With ``endpoint_uid`` the event goes to that endpoint alone, whatever its filter."""
        if event_type(type_) is None:
            raise ValueError(f"unregistered webhook event type {type_!r}")
        where = (WebhookEndpoint.tenant == tenant_id) & WebhookEndpoint.disabled_at.is_null()
        if endpoint_uid is not None:
            where &= WebhookEndpoint.uid == endpoint_uid
        endpoints = await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.events).where(where)
        targets = [row["id"] for row in endpoints if endpoint_uid is not None or wants(row["events"], type_)]
        if not targets:
            return []
        now = utcnow()
        body = msgspec.json.encode({"type": type_, "timestamp": _iso(now), "data": data}).decode()
        rows = [
            WebhookMessage(
                uid="msg_" + secrets.token_hex(12),
                endpoint=endpoint_id,
                tenant=tenant_id,
                event_type=type_,
                payload=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint_id in targets
        ]
        inserted = await WebhookMessage.insert(*rows).returning(WebhookMessage.id)
        for row in inserted:
            await self._queue(row["id"], 0)
        return [str(row.uid) for row in rows]

    async def emit_for_tenant(self, tenant_slug: str, type_: str, data: Any) -> None:
        """``emit`` by tenant slug; failures are logged, never raised (rooms go on without webhooks)."""
        try:
            tenant_id = self._tenants.get(tenant_slug)
            if tenant_id is None:
                row = await Tenant.select(Tenant.id).where(Tenant.slug == tenant_slug).first()
                if row is None:
                    return
                tenant_id = self._tenants[tenant_slug] = int(row["id"])
            await self.emit(tenant_id, type_, data)
        except Exception:
            log.exception("could not store webhook event %s for %s", type_, tenant_slug)

    async def _queue(self, message_id: int, delay: float) -> None:
        try:
            await self.enqueue(DELIVER_JOB, message_id, delay)
        except Exception:
            # The row is stored: the next sweep delivers it.
            log.exception("could not queue webhook message %s; the sweep will pick it up", message_id)

    # ---- delivering -------------------------------------------------------------------------------------

    async def _claim(self, message_id: int) -> dict[str, Any] | None:
        now = utcnow()
        claimed = (
            await WebhookMessage.update(
                {
                    WebhookMessage.locked_until: now + timedelta(seconds=self.settings.webhook_lease),
                    WebhookMessage.attempts: WebhookMessage.attempts + 1,
                }
            )
            .where(
                (WebhookMessage.id == message_id)
                & (WebhookMessage.status == "pending")
                # Deferred jobs may wake a hair early; a second's slack avoids waiting for the sweep.
                & (WebhookMessage.next_attempt_at <= now + timedelta(seconds=1))
                & (WebhookMessage.locked_until.is_null() | (WebhookMessage.locked_until < now))
            )
            .returning(WebhookMessage.id)
        )
        if not claimed:
            return None
        row: dict[str, Any] | None = (
            await WebhookMessage.select().where(WebhookMessage.id == message_id).first()
        )
        return row

    async def deliver(self, message_id: int) -> None:
        """One delivery attempt of a due message (a no-op when it is not due or someone else holds it)."""
        message = await self._claim(message_id)
        if message is None:
            return
        endpoint: dict[str, Any] | None = (
            await WebhookEndpoint.select().where(WebhookEndpoint.id == message["endpoint"]).first()
        )
        tenant = await Tenant.select(Tenant.webhook_development).where(Tenant.id == message["tenant"]).first()
        if endpoint is None or tenant is None:
            return
        if endpoint["disabled_at"] is not None:
            await self._finish(message, "failed", None, "the endpoint is disabled")
            return
        started, clock = utcnow(), time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt = ""
        try:
            target = Pinned(
                endpoint["url"],
                await check_url(
                    endpoint["url"],
                    self.settings.webhook_private_addresses and bool(tenant["webhook_development"]),
                ),
            )
            timestamp = int(time.time())
            body = message["payload"].encode()
            headers = {
                "content-type": "application/json",
                "user-agent": f"Podium-Webhooks/{__version__}",
                "webhook-id": message["uid"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    live_secrets(endpoint, self.box, started), message["uid"], timestamp, body
                ),
            }
            status, excerpt = await post(self._client(), target, body, headers, self.settings.webhook_timeout)
        except PodiumError as exc:
            error = f"{exc.code}: {exc.message}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except TimeoutError:
            error = f"no complete answer within {self.settings.webhook_timeout:g} s"
        await AttemptRow.insert(
            AttemptRow(
                message=message["id"],
                attempt=message["attempts"],
                started_at=started,
                duration_ms=int((time.perf_counter() - clock) * 1000),
                status_code=status,
                error=error,
                response_body=excerpt,
            )
        )
        if status is None or not 200 <= status < 300:
            metrics.webhook_delivery_failed("error" if status is None else f"http_{status // 100}xx")
        if status is not None and 200 <= status < 300:
            await self._finish(message, "delivered", status, None)
        elif status == 410:
            # Gone: the receiver asks us to stop. Standard Webhooks says disable the endpoint.
            await disable_endpoint(endpoint["id"], "the receiver answered 410 Gone")
            await self._finish(message, "failed", status, "410 Gone: endpoint disabled")
        else:
            reason = error or f"HTTP {status}"
            await self._retry_or_fail(message, status, reason)

    async def _finish(
        self, message: dict[str, Any], outcome: str, status: int | None, error: str | None
    ) -> None:
        now = utcnow()
        await WebhookMessage.update(
            {
                WebhookMessage.status: outcome,
                WebhookMessage.locked_until: None,
                WebhookMessage.delivered_at: now if outcome == "delivered" else None,
                WebhookMessage.last_status_code: status,
                WebhookMessage.last_error: error,
            }
        ).where(WebhookMessage.id == message["id"])

    async def _retry_or_fail(self, message: dict[str, Any], status: int | None, error: str) -> None:
        done = int(message["attempts"])
        if done > len(self.delays):
            await self._finish(message, "failed", status, error)
            return
        jitter = self.settings.webhook_retry_jitter
        delay = self.delays[done - 1] * random.uniform(1 - jitter, 1 + jitter)
        await WebhookMessage.update(
            {
                WebhookMessage.locked_until: None,
                WebhookMessage.next_attempt_at: utcnow() + timedelta(seconds=delay),
                WebhookMessage.last_status_code: status,
                WebhookMessage.last_error: error,
            }
        ).where(WebhookMessage.id == message["id"])
        await self._queue(message["id"], delay)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = delivery_client(self.settings.webhook_timeout)
        return self._http

    # ---- recovery and redelivery --------------------------------------------------------------------------

    async def due(self, limit: int = 100) -> list[int]:
        """Pending messages whose time has come and that no live worker holds."""
        now = utcnow()
        rows = (
            await WebhookMessage.select(WebhookMessage.id)
            .where(
                (WebhookMessage.status == "pending")
                & (WebhookMessage.next_attempt_at <= now)
                & (WebhookMessage.locked_until.is_null() | (WebhookMessage.locked_until < now))
            )
            .order_by(WebhookMessage.next_attempt_at)
            .limit(limit)
        )
        return [int(row["id"]) for row in rows]

    async def sweep_forever(self, deliver: Callable[[int], Awaitable[None]]) -> None:
        """Hand due and abandoned messages to ``deliver`` every ``webhook_sweep_interval`` seconds."""
        while True:
            try:
                for message_id in await self.due():
                    await deliver(message_id)
            except Exception:
                log.exception("webhook sweep failed; retrying")
            await asyncio.sleep(self.settings.webhook_sweep_interval)

    async def redeliver(self, message_id: int) -> None:
        """Send a message again now, with a fresh retry schedule (delivered ones too)."""
        await WebhookMessage.update(
            {
                WebhookMessage.status: "pending",
                WebhookMessage.attempts: 0,
                WebhookMessage.next_attempt_at: utcnow(),
                WebhookMessage.locked_until: None,
            }
        ).where(WebhookMessage.id == message_id)
        await self._queue(message_id, 0)


def payload_of(row: dict[str, Any]) -> Any:
    return json.loads(row["payload"])

"""Signed webhooks: event types, endpoints, the outbox and its delivery.

Other features add their events with ``register_event_type`` at import time and send them with
``services.webhooks.emit(tenant_id, "recording.ready", data)``.
"""

from podium.core.webhooks.events import EventType, event_types, register_event_type
from podium.core.webhooks.service import Webhooks
from podium.core.webhooks.signing import WebhookVerificationError, generate_secret, sign, verify

__all__ = [
    "EventType",
    "WebhookVerificationError",
    "Webhooks",
    "event_types",
    "generate_secret",
    "register_event_type",
    "sign",
    "verify",
]

"""REST authentication: ``Authorization: Bearer <API secret>`` resolves to the tenant."""

from __future__ import annotations

from typing import Any

from litestar import Request

from podium.core.auth.throttle import client_address
from podium.core.errors import PodiumError
from podium.core.services import Services
from podium.core.tenants import Caller, authenticate

__all__ = ["caller"]


async def caller(request: Request[Any, Any, Any]) -> Caller:
    """Dependency: the authenticated caller, or a 401 (429 after many failures) with a stable code."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise PodiumError("api_key_missing", "send Authorization: Bearer <API secret>", status=401)
    services: Services = request.app.state.services
    address, limit = client_address(request), services.settings.auth_failures_per_minute
    # Checked before the secret, so guesses over the limit learn nothing.
    await services.throttle.guard_auth(address, limit)
    found = await authenticate(secret.strip())
    if found is None:
        await services.throttle.auth_failed(address, limit)
        raise PodiumError("api_key_invalid", "unknown or revoked API key", status=401)
    return found

"""The error answers of the REST API in its OpenAPI document, in Podium's own shape.

Every refusal is ``{"error": {"code", "message", "detail"?}}`` (``core/api/errors.py``), where
Litestar would document its ``{"status_code", "detail"}``. ``errors(...)`` declares an
operation's own refusals on its decorator (``responses=errors(409, 422)``); ``ErrorResponses``
adds those that follow from the operation's shape: a bad parameter or body (400), the API key
(401) and its failure limit (429), an unknown id in the path (404), a body over the limit (413).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

__all__ = ["ErrorBody", "ErrorResponses", "errors"]


class ErrorDetail(msgspec.Struct, frozen=True):
    #: Stable: program against it (``room_not_found``, ``invalid_request``, …).
    code: str
    #: For people.
    message: str
    #: ``invalid_request`` only: the offending fields (``message``, ``key``, ``source``).
    detail: list[dict[str, Any]] | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error answer of the REST API."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "`invalid_request`: a parameter or the body fails validation (`detail` lists the fields); "
    "`bad_request`: the body is not JSON",
    401: "`api_key_missing` or `api_key_invalid`",
    403: "not allowed (`code` says why)",
    404: "no such resource in your tenant (`code` names it), or no such route (`not_found`)",
    409: "the resource's state does not allow it now (`code` says why)",
    410: "gone (`code` says why)",
    413: "`payload_too_large`: the body is over the limit",
    415: "the body is not of a type this operation takes",
    416: "`range_not_satisfiable`: the `Range` lies outside the file",
    422: "well-formed but refused (`code` says why)",
    429: "`rate_limited`: too many failed API keys from this address, or too many requests of this "
    "kind; retry after `Retry-After` seconds",
    503: "`media_unavailable`: this server has no media node for it now",
    504: "`media_timeout`: the media node did not answer in time",
}

#: Only routes under this prefix are the tenant's REST API (the rest is pages, assets, HLS).
API_PREFIX = "/api/"


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a route decorator: the given statuses, each with the error body."""
    return {
        status: ResponseSpec(ErrorBody, description=_DESCRIPTIONS[status], generate_examples=False)
        for status in statuses
    }


class ErrorResponses(ReceiveRoutePlugin):
    """Adds to each REST operation the errors its shape implies; its own ``responses`` win."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API_PREFIX):
            return
        for handler, kwargs in route.route_handler_map.values():
            body = "data" in kwargs.expected_reserved_kwargs
            params = (
                kwargs.expected_path_params
                or kwargs.expected_query_params
                or kwargs.expected_header_params
                or kwargs.expected_cookie_params
            )
            common: list[int] = []
            if body or params:
                common.append(400)  # Litestar's own 400 is in its shape, not ours: replaced
            if "caller" in handler.parsed_fn_signature.parameters:
                common += [401, 429]
            if route.path_parameters:
                common.append(404)
            if body:
                common.append(413)
            handler.responses = {**errors(*common), **(handler.responses or {})}

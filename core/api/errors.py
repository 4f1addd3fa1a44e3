"""One error shape for the REST API: ``{"error": {"code": ..., "message": ...}}`` with stable codes."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from podium.core.errors import PodiumError

__all__ = ["exception_handlers"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


def _body(
    code: str, message: str, status: int, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return Response({"error": error}, status_code=status, media_type=MediaType.JSON, headers=headers)


def podium_error(_: Request[Any, Any, Any], exc: PodiumError) -> Response[Any]:
    return _body(exc.code, exc.message, exc.status, headers=exc.headers)


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _body("invalid_request", "the request is not valid", 400, exc.extra)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    # Litestar's own headers stay: a 405 lists the route's methods in ``Allow`` (RFC 9110).
    return _body(code, str(exc.detail), exc.status_code, headers=exc.headers)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _body("internal_error", "the server failed to process the request", 500)


exception_handlers: dict[Any, Any] = {
    PodiumError: podium_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: server_error,
}

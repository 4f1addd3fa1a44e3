"""Podium's error type: every refusal carries a stable machine-readable code."""

from __future__ import annotations

__all__ = ["PodiumError"]


class PodiumError(Exception):
    """A refusal a client can act on: ``code`` is stable, ``message`` is for people."""

    def __init__(
        self, code: str, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        #: Extra HTTP response headers (``Retry-After`` of a 429).
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"PodiumError({self.code!r}, {self.message!r}, {self.status})"

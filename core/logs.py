"""Structured logs: who a line is about (tenant, room, participant) and a JSON line format.

The realtime endpoint binds the tenant, room and participant of each connection with
``bind``; every line logged while serving that connection (and in tasks it starts)
carries them. ``PODIUM_LOG_FORMAT=json`` writes one JSON object per line for a log
pipeline; the default text format appends the ids as ``key=value``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from contextvars import ContextVar
from typing import Any

__all__ = [
    "JsonFormatter",
    "RedactSecrets",
    "TextFormatter",
    "bind",
    "configure",
    "context",
    "redact",
    "uvicorn_log_config",
]

#: The ids a log line is about; empty outside a connection.
_context: ContextVar[dict[str, str]] = ContextVar("podium_log_context", default={})  # noqa: B039
FIELDS = ("tenant", "room", "participant", "node")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


#: What must never reach a log line: join tokens in URLs (``?token=…``, access logs), any JWT,
#: API secrets and webhook secrets.
_SECRETS = [
    (re.compile(r"((?:^|[?&;\s])(?:token|secret|api_secret)=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]+"), "[token redacted]"),
    (re.compile(r"\b(sk|whsec)_[\w+/=-]{16,}"), r"\1_[redacted]"),
]


def redact(text: str) -> str:
    """``text`` with tokens and secrets replaced by ``[redacted]``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: object) -> object:
    """A log argument without secrets; numbers stay numbers (``%d`` still formats them)."""
    if value is None or isinstance(value, int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


class RedactSecrets(logging.Filter):
    """Scrubs secrets from every record a handler writes (message, arguments, exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments stay arguments: uvicorn's access formatter unpacks them.
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _scrub(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def bind(**ids: str | int | None) -> None:
    """Add ids (``tenant=``, ``room=``, ``participant=`` …) to this task's log context."""
    merged = dict(_context.get())
    merged.update({k: str(v) for k, v in ids.items() if v is not None})
    _context.set(merged)


def context() -> dict[str, str]:
    return dict(_context.get())


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = dict(_context.get())
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_") and key not in ("color_message",):
            fields[key] = value
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, exception."""

    def __init__(self, role: str = "") -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.role:
            line["role"] = self.role
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """``time role LEVEL logger: message key=value …``"""

    def __init__(self, role: str = "") -> None:
        super().__init__(f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s".replace("  ", " "))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return f"{text} {extra}" if extra else text


def configure(level: str, fmt: str, role: str) -> None:
    """Root logging for a ``podium`` process (worker, media); ``serve`` goes through uvicorn."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(role) if fmt == "json" else TextFormatter(role))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def uvicorn_log_config(level: str, fmt: str) -> dict[str, Any]:
    """uvicorn's ``log_config`` for ``podium serve``: JSON lines or uvicorn's text, secrets redacted."""
    redacting = {"redact": {"()": RedactSecrets}}
    if fmt != "json":
        import uvicorn.config

        config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
        config["filters"] = redacting
        for handler in config["handlers"].values():
            handler["filters"] = ["redact"]
        return config
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": redacting,
        "formatters": {"json": {"()": JsonFormatter, "role": "serve"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level.upper(), "propagate": True},
        },
    }

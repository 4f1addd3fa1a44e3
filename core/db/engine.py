"""Choosing and binding the database engine (SQLite by default, PostgreSQL when configured)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from podium.core.db.tables import TABLES
from podium.core.settings import Settings

__all__ = ["bind", "engine_for", "postgres_config"]

PICCOLO_CONF = "podium.core.db.piccolo_conf"


def postgres_config(url: str) -> dict[str, object]:
    """asyncpg connection arguments for a ``postgres://`` URL."""
    parsed = urlparse(url)
    config: dict[str, object] = {"database": (parsed.path or "/").lstrip("/") or "postgres"}
    if parsed.hostname:
        config["host"] = parsed.hostname
    if parsed.port:
        config["port"] = parsed.port
    if parsed.username:
        config["user"] = unquote(parsed.username)
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return config


def engine_for(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """A piccolo engine for the configured database."""
    if settings.uses_postgres:
        return PostgresEngine(config=postgres_config(settings.database_url), log_queries=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A generous busy timeout: piccolo opens a connection per query, so writers queue on the file lock.
    return SQLiteEngine(path=str(settings.sqlite_path), timeout=30)


def bind(engine: Engine) -> None:  # type: ignore[type-arg]
    """Point every table at ``engine`` (tables are module-level, so one engine per process)."""
    os.environ.setdefault("PICCOLO_CONF", PICCOLO_CONF)
    for table in TABLES:
        table._meta.db = engine

"""The machine's PostgreSQL and Redis, as the tests use them (``make test`` starts them if down)."""

from __future__ import annotations

import os
import socket
import uuid

import asyncpg

PG_DSN = os.environ.get("PODIUM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PODIUM_TEST_REDIS", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_servers() -> None:
    """Fail loudly (never skip) when the real servers the suite needs are down."""
    missing = [
        name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not reachable("127.0.0.1", port)
    ]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not reachable on 127.0.0.1; run `make test` (it starts them)"
        )


async def create_database() -> str:
    """A fresh, empty PostgreSQL database; returns its URL."""
    name = f"podium_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_DSN.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

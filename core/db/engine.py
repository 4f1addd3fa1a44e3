"""Choosing and binding the database engine (SQLite by default, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from podium.core.db.tables import TABLES
from podium.core.settings import Settings

__all__ = ["SharedSQLiteEngine", "bind", "close", "engine_for", "postgres_config"]

PICCOLO_CONF = "podium.core.db.piccolo_conf"

#: WAL lets reads run beside the writer and commits append to the log. With WAL, NORMAL syncs at
#: checkpoints rather than at every commit: a commit survives the process crashing, but the last
#: ones may be lost if the machine loses power. It never corrupts the database.
_PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON")


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


class _TransactionGate:
    """Plain statements share the connection freely; a transaction has it to itself.

    aiosqlite runs a connection's calls one by one in submission order, so a statement
    submitted while another task's transaction is open would run inside that transaction."""

    def __init__(self) -> None:
        self._transaction = asyncio.Lock()
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[None]:
        if self._transaction.locked():
            async with self._transaction:  # wait for the transaction; none can begin while this runs
                yield
            return
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def begin(self) -> None:
        """Wait until no other transaction is open and the statements already running are done."""
        await self._transaction.acquire()
        try:
            await self._idle.wait()
        except BaseException:
            self._transaction.release()
            raise

    def end(self) -> None:
        self._transaction.release()


class SharedSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on one long-lived WAL connection per process.

    Piccolo's ``SQLiteEngine`` opens a connection per query (a new thread, the rollback journal,
    ``synchronous=FULL``): about 2.5 ms per insert, and concurrent inserts queue on the file lock,
    which held up chat fan-out (docs/benchmarks.md). Here every query and transaction uses one
    connection; each statement outside a transaction still commits before its query returns."""

    def __init__(self, path: str, *, busy_timeout: float = 30) -> None:
        # The busy timeout now only matters between processes (a CLI command beside the server).
        super().__init__(path=path, timeout=busy_timeout)
        self._connection: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()
        self.gate = _TransactionGate()

    async def get_connection(self) -> aiosqlite.Connection:
        """A new connection set up like the shared one (piccolo's ``batch`` uses and closes it)."""
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]  # rows as dicts, as piccolo expects
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def shared_connection(self) -> aiosqlite.Connection:
        """The process's connection, opened on first use."""
        if self._connection is None:
            async with self._opening:
                if self._connection is None:
                    self._connection = await self.get_connection()
        return self._connection

    async def close(self) -> None:
        """Close the shared connection; queries already submitted finish first, a later one reopens it."""
        connection, self._connection = self._connection, None
        # Fresh primitives: the next user may run in another event loop (asyncio.run per CLI command).
        self._opening, self.gate = asyncio.Lock(), _TransactionGate()
        if connection is not None:
            await connection.close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> list[dict[str, Any]]:
        # Piccolo calls this for every query outside a transaction; despite the name, it runs on the
        # shared connection, in one round trip to its thread.
        connection = await self.shared_connection()
        async with self.gate.statement():
            if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING: piccolo's way
                rows = await self._run_in_existing_connection(connection, query, args, query_type, table)
            else:
                rows = await connection.execute_fetchall(query, args or [])
        return list(rows)

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        """A transaction on the shared connection; other tasks' queries wait until it ends."""
        return _SharedTransaction(self, transaction_type=transaction_type, allow_nested=allow_nested)


class _SharedTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction, on the engine's shared connection instead of a new one."""

    def __init__(
        self, engine: SharedSQLiteEngine, transaction_type: TransactionType, allow_nested: bool
    ) -> None:
        super().__init__(engine, transaction_type=transaction_type, allow_nested=allow_nested)
        self.shared = engine

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.shared.shared_connection()

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self.shared.gate.begin()
        try:
            return await super().__aenter__()
        except BaseException:
            await self._release()
            raise

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            if exception is None and not (self._committed or self._rolled_back):
                await self.connection.execute("COMMIT")
                self._committed = True
        finally:
            try:
                self.shared.current_transaction.reset(self.context)
            finally:
                await self._release()
        return exception is None

    async def _release(self) -> None:
        """Hand the connection back to other tasks, never with a transaction left open."""
        connection: aiosqlite.Connection | None = getattr(self, "connection", None)
        try:
            if connection is not None and connection.in_transaction:  # an exception or a failed COMMIT
                await connection.rollback()
                self._rolled_back = True
        finally:
            self.shared.gate.end()


def engine_for(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """A piccolo engine for the configured database."""
    if settings.uses_postgres:
        return PostgresEngine(config=postgres_config(settings.database_url), log_queries=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SharedSQLiteEngine(path=str(settings.sqlite_path))


async def close(engine: Engine | None) -> None:  # type: ignore[type-arg]
    """Release what ``engine`` holds open: the PostgreSQL pool or the shared SQLite connection.

    Required before a process exits: aiosqlite's thread is not a daemon."""
    if isinstance(engine, PostgresEngine):
        if engine.pool is not None:
            await engine.close_connection_pool()
    elif isinstance(engine, SharedSQLiteEngine):
        await engine.close()


def bind(engine: Engine) -> None:  # type: ignore[type-arg]
    """Point every table at ``engine`` (tables are module-level, so one engine per process)."""
    os.environ.setdefault("PICCOLO_CONF", PICCOLO_CONF)
    for table in TABLES:
        table._meta.db = engine

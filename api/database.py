"""Read-only access to the SQL mirror, with the raw drivers (sqlite3, psycopg 3) for speed.

The API never writes: SQLite is opened through a ``mode=ro`` URI with ``PRAGMA query_only``, and
PostgreSQL sessions run every transaction READ ONLY. Two locks on one door, so a mistake in one
place (a wrong URL, a forgotten pragma) still cannot turn a read into a write.

Queries are written once with ``:name`` placeholders (sqlite3's named style) and translated to
psycopg's ``%(name)s`` form when the mirror is PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from api.errors import MirrorUnavailableError, SettingsError

Row = tuple[Any, ...]
Params = dict[str, Any]

CHECKPOINT_VERSION = (
    "SELECT c.block_number, c.block_hash, l.seq, l.head FROM checkpoint c LEFT JOIN ledger l ON l.id = 1 WHERE c.id = 1"
)
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``:name`` placeholders as psycopg's ``%(name)s``; literal ``%`` doubled."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


class Mirror:
    """One read-only handle on the mirror per worker process."""

    dialect: str = ""
    # Seconds api.cache may go without asking ``version()`` again.
    version_interval: float = 0.0

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        raise NotImplementedError

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    def stream(self, sql: str, params: Params | None = None, batch: int = 2000) -> AsyncIterator[Sequence[Row]]:
        raise NotImplementedError

    async def version(self) -> Any:
        """A value that changes whenever the indexer commits (api.cache keeps answers per version)."""
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _unavailable(exc: Exception) -> MirrorUnavailableError:
    return MirrorUnavailableError("the mirror is not available yet; run `govledger index` first")


class SqliteMirror(Mirror):
    """SQLite opened read-only. Queries run inline on the event loop: they are index lookups of a
    few hundred microseconds, cheaper than a hop to a thread pool. Streams (the exports) are not."""

    dialect = "sqlite"
    # PRAGMA data_version opens a read transaction, and with several workers the shared-memory
    # locks of two transactions a request cost the detail route a quarter of its throughput.
    version_interval = 0.05

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._exact: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            if not self.path.exists():
                raise MirrorUnavailableError("the mirror database does not exist yet; run `govledger index` first")
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA query_only = ON")
            connection.execute("PRAGMA cache_size = -65536")
            connection.execute("PRAGMA mmap_size = 268435456")
            self._connection = connection
        return self._connection

    def exact_connection(self) -> sqlite3.Connection:
        """A second read-only handle whose SUM is ``ExactSum`` (slower; only for sums that overflow)."""
        if self._exact is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA query_only = ON")
            connection.create_aggregate("SUM", 1, ExactSum)
            self._exact = connection
        return self._exact

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        try:
            return self.connection().execute(sql, params or {}).fetchall()
        except sqlite3.OperationalError as exc:
            if _missing(str(exc)):
                raise _unavailable(exc) from exc
            if "integer overflow" in str(exc):
                # A sum past 64 bits (hostile totals): once more with PostgreSQL's exact SUM.
                return self.exact_connection().execute(sql, params or {}).fetchall()
            raise

    async def version(self) -> Any:
        # Changes whenever another connection (the indexer, a migration) commits to the file.
        try:
            return self.connection().execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc

    async def stream(self, sql: str, params: Params | None = None, batch: int = 2000) -> AsyncIterator[Sequence[Row]]:
        """Rows in batches, read in a worker thread on a connection of the stream's own.

        An export's query can take a while before its first row (a GROUP BY over a large project)
        and its cursor stays open while the client reads: on the shared connection the first would
        stall the event loop, the second would hold every other request of the worker to the
        snapshot the export started from. The small page cache keeps an export's memory flat.
        """
        self.connection()  # the "no mirror yet" answer, before any thread
        uri = f"{self.path.resolve().as_uri()}?mode=ro"

        def start() -> tuple[sqlite3.Connection, sqlite3.Cursor]:
            own = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            try:
                own.execute("PRAGMA query_only = ON")
                own.execute("PRAGMA cache_size = -2048")
                return own, own.execute(sql, params or {})
            except BaseException:
                own.close()
                raise

        try:
            own, cursor = await asyncio.to_thread(start)
        except sqlite3.OperationalError as exc:
            if _missing(str(exc)):
                raise _unavailable(exc) from exc
            raise
        try:
            while rows := await asyncio.to_thread(cursor.fetchmany, batch):
                yield rows
        finally:
            own.close()

    async def close(self) -> None:
        for connection in (self._connection, self._exact):
            if connection is not None:
                connection.close()
        self._connection = self._exact = None


class ExactSum:
    """SUM as PostgreSQL's sum(bigint) computes it: exact, past 64 bits too. sqlite3 cannot
    return such an integer, so it answers its decimal text, which readers take with int()."""

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = (self.total or 0) + int(value)

    def finalize(self) -> int | str | None:
        total = self.total
        return total if total is None or -(2**63) <= total < 2**63 else str(total)


def _missing(message: str) -> bool:
    return "no such table" in message or "unable to open" in message or "no such column" in message


class PostgresMirror(Mirror):
    """PostgreSQL through psycopg's async connections; every session is READ ONLY."""

    dialect = "postgresql"
    version_interval = 0.2

    def __init__(self, url: str, size: int = 8) -> None:
        self.url = url
        self.size = size
        self._idle: asyncio.LifoQueue[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opened = 0

    async def _connect(self) -> Any:
        import psycopg

        try:
            connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        await connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        await connection.execute("SET default_transaction_read_only = on")
        await connection.execute("SET statement_timeout = '15s'")
        return connection

    async def _acquire(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (a test client, a restarted server) cannot use the old sockets.
            self._loop, self._idle, self._opened = loop, asyncio.LifoQueue(), 0
        assert self._idle is not None
        if self._idle.empty() and self._opened < self.size:
            self._opened += 1
            try:
                return await self._connect()
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    def _release(self, connection: Any) -> None:
        assert self._idle is not None
        if connection.closed or connection.broken:
            self._opened -= 1
        else:
            self._idle.put_nowait(connection)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        import psycopg

        connection = await self._acquire()
        try:
            cursor = await connection.execute(to_pyformat(sql), params or {})
            return await cursor.fetchall()
        except psycopg.errors.UndefinedTable as exc:
            raise _unavailable(exc) from exc
        finally:
            self._release(connection)

    async def version(self) -> Any:
        # The indexer writes every batch's rows and its checkpoint in one transaction, and a
        # reorg moves the checkpoint's hash: the checkpoint row changes whenever the mirror does.
        return await self.fetch_one(CHECKPOINT_VERSION)

    async def stream(self, sql: str, params: Params | None = None, batch: int = 2000) -> AsyncIterator[Sequence[Row]]:
        import psycopg

        connection = await self._acquire()
        try:
            # A server-side cursor needs a transaction; it is READ ONLY like every other.
            async with connection.transaction(), connection.cursor(name="export") as cursor:
                try:
                    await cursor.execute(to_pyformat(sql), params or {})
                except psycopg.errors.UndefinedTable as exc:
                    raise _unavailable(exc) from exc
                while rows := await cursor.fetchmany(batch):
                    yield rows
        finally:
            self._release(connection)

    async def close(self) -> None:
        if self._idle is None:
            return
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            # Closing a dead socket must not stop the shutdown.
            with contextlib.suppress(Exception):
                await connection.close()
        self._opened = 0


def open_mirror(url: str) -> Mirror:
    """The read-only mirror for a ``GOVLEDGER_DATABASE_URL``."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        raw = unquote(url.split("://", 1)[1].split("?", 1)[0])
        if raw.startswith("/"):
            raw = raw[1:]
        if not raw or raw == ":memory:":
            raise SettingsError("the API needs a SQLite mirror file, not an in-memory database")
        return SqliteMirror(Path(raw))
    if scheme in {"postgresql", "postgres"}:
        return PostgresMirror(url.replace(parts.scheme + "://", "postgresql://", 1))
    raise SettingsError(f"database URL scheme {parts.scheme!r} is not supported (sqlite or postgresql)")

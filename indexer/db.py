"""Database URLs, schema migrations, and the raw-driver store the indexer writes through.

The indexer writes with the drivers themselves (sqlite3 ``executemany``; psycopg 3 ``COPY``)
because an ORM insert costs more than decoding and fetching together. Everyone else reads
through SQLAlchemy with ``sqlalchemy_url(url)``.

    upgrade("sqlite:///var/govledger.db")                 # Alembic: create/upgrade the schema
    store = open_store("postgresql://postgres@127.0.0.1/test")
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from indexer.errors import DatabaseError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The tables a backfill fills with a row per event. A mirror built from nothing is written
# without their non-unique indexes, which are then built in one pass each (``indexer.sync``):
# updating eight more B-trees for every event costs more than sorting each finished table once.
BULK_TABLES = ("events", "disbursements")


def dialect_of(url: str) -> str:
    """'sqlite' or 'postgresql'."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise DatabaseError(f"database URL {url!r} is neither sqlite:///... nor postgresql://...")


def sqlalchemy_url(url: str) -> str:
    """The URL with the driver SQLAlchemy must use (psycopg 3 for PostgreSQL)."""
    if dialect_of(url) == "postgresql":
        rest = url.split("://", 1)[1]
        return "postgresql+psycopg://" + rest
    return url


def libpq_url(url: str) -> str:
    """The URL as psycopg/libpq accept it (no SQLAlchemy driver suffix)."""
    return "postgresql://" + url.split("://", 1)[1]


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseError("the mirror needs a SQLite file, not an in-memory database")
    return database


def deferrable_indexes() -> list[Any]:
    """The non-unique indexes of ``BULK_TABLES``, as declared in ``indexer.tables``."""
    from indexer.tables import metadata

    tables = metadata.tables
    return [
        index
        for name in BULK_TABLES
        for index in sorted(tables[name].indexes, key=lambda index: str(index.name))
        if not index.unique
    ]


def upgrade(url: str) -> None:
    """Create or upgrade the mirror's schema to the latest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # WAL before the first table: pysqlite commits each DDL statement on its own, and in
        # rollback-journal mode every one of them costs several fsyncs.
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(sqlalchemy_url(url))
    if dialect_of(url) == "sqlite":
        _transactional_ddl(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DatabaseError:
        raise
    except Exception as exc:
        raise DatabaseError(f"cannot migrate the mirror database: {exc}") from exc
    finally:
        engine.dispose()


def _transactional_ddl(engine: Any) -> None:
    """Make pysqlite run the whole migration in one transaction.

    By default the driver commits before every CREATE TABLE, so a process killed half-way
    through the first migration left tables without an ``alembic_version`` row, and every
    restart then failed on "table already exists". With the driver's own transaction handling
    off and an explicit BEGIN, SQLite's DDL is transactional like PostgreSQL's.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """A raw DB-API connection with one transaction at a time; SQL is written with ``?``."""

    dialect = ""

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    def _sql(self, sql: str) -> str:
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), params)
        return int(cur.rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.cursor().executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), params)
        return list(cur.fetchall())

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def index_names(self) -> set[str]:
        raise NotImplementedError

    def drop_indexes(self, indexes: Sequence[Any]) -> None:
        """Drop ``indexes`` (those present) in one transaction."""
        existing = self.index_names()
        self.rollback()
        present = [index.name for index in indexes if index.name in existing]
        if present:
            self.begin()
            for name in present:
                self.execute(f"DROP INDEX {name}")
            self.commit()

    def create_indexes(self, indexes: Sequence[Any]) -> list[str]:
        """Build the ``indexes`` that are missing, one transaction each; returns their names."""
        from sqlalchemy.dialects import postgresql, sqlite
        from sqlalchemy.schema import CreateIndex

        dialect = sqlite.dialect() if self.dialect == "sqlite" else postgresql.dialect()
        present = self.index_names()
        self.rollback()
        built = []
        for index in indexes:
            if index.name not in present:
                self.begin()
                self.execute(str(CreateIndex(index).compile(dialect=dialect)))
                self.commit()
                built.append(str(index.name))
        return built


class SqliteStore(Store):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so that the write lock
        # is taken before the first read of the batch, not half-way through it.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit that returned is on disk even after a power cut, which is what
        # makes "rows and checkpoint in one transaction" a guarantee rather than a hope.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL into the database every ~64 MB rather than every 4 MB: fewer,
        # larger copies during a backfill; readers are not blocked either way.
        self.conn.execute("PRAGMA wal_autocheckpoint=16384")
        self.conn.execute("PRAGMA temp_store=MEMORY")

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def index_names(self) -> set[str]:
        return {row[0] for row in self.query("SELECT name FROM sqlite_master WHERE type = 'index'")}

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            marks = ",".join("?" * len(columns))
            self.conn.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(libpq_url(url), autocommit=False)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to PostgreSQL: {str(exc).strip()}") from exc

    def begin(self) -> None:
        pass  # psycopg opens a transaction on the first statement

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def index_names(self) -> set[str]:
        return {row[0] for row in self.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.conn.cursor()
        with cur.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)


def open_store(url: str) -> Store:
    """A write connection to the mirror at ``url`` (already migrated)."""
    if dialect_of(url) == "sqlite":
        return SqliteStore(url)
    return PostgresStore(url)

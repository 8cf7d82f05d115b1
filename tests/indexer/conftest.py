"""Fixtures for the indexer suites: private anvil chains, fresh SQLite files and PostgreSQL schemas,
and the reference comparison every test ends with (per-table rows + mirror digest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from web3 import Web3

from indexer.db import sqlalchemy_url
from indexer.digest import mirror_digest
from indexer.tables import MIRROR_TABLES
from ledger import node

# Columns that order each table the same way in every mirror.
ORDER = {
    "request_transitions": "seq",
    "requests": "tracking_code",
    "service_roles": "service_code, agency_code, role",
    "services": "code",
    "reversals": "seq",
    "disbursements": "seq",
    "allocation_amendments": "seq",
    "projects": "code",
    "recorders": "added_seq",
    "agencies": "code",
    "events": "seq",
    "blocks": "number",
    "ledger": "id",
    "checkpoint": "id",
}


@pytest.fixture(scope="module")
def anvil() -> Iterator[tuple[str, Web3]]:
    """A private anvil for one test module (reorgs and reverts must not touch other suites)."""
    process, url = node.start_anvil()
    try:
        yield url, Web3(Web3.HTTPProvider(url))
    finally:
        node.stop(process)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


class PgSchemas:
    """Fresh schemas in the `test` database, dropped at the end."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.names: list[str] = []

    def new(self) -> str:
        name = "idx_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        self.names.append(name)
        return f"{self.base}?options=-csearch_path%3D{name}"

    def drop(self) -> None:
        with psycopg.connect(self.base, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PgSchemas]:
    schemas = PgSchemas(postgres_url)
    try:
        yield schemas
    finally:
        schemas.drop()


@pytest.fixture
def pg_url(pg: PgSchemas) -> str:
    return pg.new()


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def snapshot(url: str) -> dict[str, Any]:
    """Every mirror table's rows (blocks: only those carrying events) and the digest."""
    engine = create_engine(sqlalchemy_url(url))
    out: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            for table in MIRROR_TABLES:
                where = " WHERE log_count > 0" if table == "blocks" else ""
                rows = conn.execute(text(f"SELECT * FROM {table}{where} ORDER BY {ORDER[table]}")).all()
                out[table] = [tuple(_normal(v) for v in row) for row in rows]
        out["digest"] = mirror_digest(engine)
    finally:
        engine.dispose()
    return out


def schema_differences(url: str) -> list[Any]:
    """What the mirror's schema lacks or has beyond ``indexer.tables`` (Alembic's comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from indexer.tables import metadata

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def counts(snap: dict[str, Any]) -> dict[str, int]:
    return {table: len(rows) for table, rows in snap.items() if table != "digest"}


def assert_same_mirror(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Per-table counts, then digest, then every row: the first difference is named."""
    assert counts(got) == counts(want)
    assert got["digest"] == want["digest"]
    for table in MIRROR_TABLES:
        assert got[table] == want[table], f"table {table} differs from the reference"

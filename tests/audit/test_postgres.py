"""A published mirror in PostgreSQL is compared with the SQLite rebuild: equal when untouched,
and a doctored row is named (dates and booleans come back from psycopg as Python objects)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from audit.verify import verify_bundle
from indexer.sync import index_once

from .conftest import _deployment

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_mirror(anvil_chain, postgres_url: str) -> Iterator[str]:
    name = f"govledger_audit_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        index_once(anvil_chain.url, url, _deployment(anvil_chain))
        yield url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_mirror_equals_the_rebuild_and_a_change_is_named(anvil_chain, pg_mirror: str) -> None:
    report = verify_bundle(anvil_chain.directory, db_url=pg_mirror, recompile=False)
    assert report.ok, report.lines()
    with psycopg.connect(pg_mirror, autocommit=True) as db:
        seq = db.execute("SELECT MIN(seq) FROM request_transitions WHERE deadline IS NOT NULL").fetchone()[0]
        db.execute("UPDATE request_transitions SET deadline = deadline + 1 WHERE seq = %s", (seq,))
    report = verify_bundle(anvil_chain.directory, db_url=pg_mirror, recompile=False)
    assert [c.name for c in report.failures()] == ["mirror"]
    assert f"request_transitions row seq={seq} differs: deadline:" in report.failures()[0].detail

"""Migration 0003 on a mirror with rows: tracking-code columns widen to hold the 0x-hex of a
non-canonical code, down and up again without losing a row, indexes intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from indexer.db import MIGRATIONS, sqlalchemy_url

from .conftest import assert_same_mirror, schema_differences, snapshot
from .crafted import CraftedChain, code

A, SERVICE = code("AG-A"), code("complaint")
CANONICAL = bytes(range(1, 21)) + bytes(12)
LOOKALIKE = CANONICAL[:20] + bytes(11) + b"\x01"


def _alembic(url: str, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_down_and_up_keeps_rows_and_indexes(backend: str, sqlite_url: str, request: pytest.FixtureRequest) -> None:
    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("pg_url")
    chain = CraftedChain()
    chain.agency(A)
    chain.service(SERVICE, [b"received", b"closed"], [b"owner"], [(0, 1, 0)])
    chain.open(CANONICAL, A, SERVICE)
    chain.project(code("P-1"), A, 1000)
    chain.disburse(code("P-1"), A, code("V-1"), 5, request=CANONICAL)
    chain.new_block()
    chain.index(url)
    before = snapshot(url)
    _alembic(url, "downgrade", "0002")
    _alembic(url, "upgrade", "head")
    assert snapshot(url) == before
    assert schema_differences(url) == []
    chain.new_block()  # the last block was indexed (empty): the next entries go in a new one
    chain.open(LOOKALIKE, A, SERVICE)  # 66 characters of hex: wider than the old 39
    chain.advance(LOOKALIKE, A, 0, 1, b"done")
    chain.new_block()
    chain.index(url)
    fresh = f"sqlite:///{Path(sqlite_url[len('sqlite:///') :]).with_name('fresh.db')}"
    chain.index(fresh)
    assert_same_mirror(snapshot(url), snapshot(fresh))

"""Backfill into SQLite and PostgreSQL: projections equal the contract's own totals, both mirrors
agree row for row and digest for digest, repeated/overlapping delivery and idle restarts change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from indexer.db import deferrable_indexes, open_store, sqlalchemy_url, upgrade
from indexer.errors import DatabaseError, WrongChainError
from indexer.rpc import RpcClient
from indexer.sync import Options, Syncer, index_once
from ledger.types import encode_code
from ledger.workdays import WorkingCalendar, bangkok_date
from tests.indexer.chain import Scenario, deploy
from tests.indexer.conftest import assert_same_mirror, schema_differences, snapshot

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("indexer-sync")]


@pytest.fixture(scope="module")
def chain(anvil: tuple[str, Any]) -> dict[str, Any]:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=7)
    scenario.setup(agencies=3, projects=5)
    kinds = [scenario.step() for _ in range(80)]
    assert {"disburse", "batch", "reverse", "amend", "open", "advance", "role", "recorder"} <= set(kinds)
    return {"url": url, "w3": w3, "contract": contract, "deployment": deployment, "scenario": scenario}


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def test_projects_match_contract_state(chain: dict[str, Any], sqlite_url: str) -> None:
    result = index_once(chain["url"], sqlite_url, chain["deployment"], initial_span=3)
    assert result.events > 100 and result.batches > 3
    contract = chain["contract"]
    rows = _query(sqlite_url, "SELECT code, agency_code, fiscal_year, allocation, net, remaining FROM projects")
    assert len(rows) == 5
    for code, agency, fiscal_year, allocation, net, remaining in rows:
        on_chain = contract.functions.project(encode_code(code)).call()
        assert (agency.encode().ljust(32, b"\0"), fiscal_year, allocation, net) == (
            on_chain[0],
            on_chain[1],
            on_chain[2],
            on_chain[3],
        )
        assert remaining == allocation - net
    seq, head = contract.functions.ledgerHead().call()
    assert _query(sqlite_url, "SELECT seq, head FROM ledger") == [(seq, "0x" + head.hex())]
    # Every reversal marks its original; every request state equals the contract's.
    reversed_rows = _query(sqlite_url, "SELECT COUNT(*) FROM disbursements WHERE reversed_by_seq IS NOT NULL")
    assert reversed_rows == _query(sqlite_url, "SELECT COUNT(*) FROM reversals")
    from ledger.types import encode_tracking

    for tracking, state in _query(sqlite_url, "SELECT tracking_code, state FROM requests"):
        assert contract.functions.request(encode_tracking(tracking)).call()[2] == state


def test_sqlite_and_postgres_mirrors_are_identical(chain: dict[str, Any], sqlite_url: str, pg_url: str) -> None:
    index_once(chain["url"], sqlite_url, chain["deployment"], initial_span=5)
    index_once(chain["url"], pg_url, chain["deployment"])
    lite, post = snapshot(sqlite_url), snapshot(pg_url)
    assert_same_mirror(post, lite)
    print(f"sqlite digest {lite['digest']} == postgresql digest {post['digest']}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_duplicate_and_overlapping_delivery(chain: dict[str, Any], backend: str, sqlite_url: str, pg: Any) -> None:
    url = sqlite_url if backend == "sqlite" else pg.new()
    reference = pg.new() if backend == "postgresql" else sqlite_url + ".ref"
    index_once(chain["url"], reference, chain["deployment"])
    upgrade(url)
    deployment = chain["deployment"]
    head = chain["w3"].eth.block_number
    rpc = RpcClient(chain["url"])
    store = open_store(url)
    try:
        syncer = Syncer(store, rpc, deployment, Options(reorg_window=8))
        fetcher = syncer.fetcher
        start = deployment.deploy_block
        mid = (start + head) // 2
        first = fetcher.fetch(start, mid, None, head - 7)
        assert syncer.apply(first) > 0
        assert syncer.apply(first) == 0  # the same range again
        overlap = fetcher.fetch(start + 2, head, None, head - 7)  # overlaps the first range
        applied = syncer.apply(overlap)
        assert applied > 0
        assert syncer.apply(overlap) == 0
        tail = fetcher.fetch(mid - 1, head, None, head - 7)
        assert syncer.apply(tail) == 0
    finally:
        store.close()
        rpc.close()
    assert_same_mirror(snapshot(url), snapshot(reference))


def _files_digest(path: Path) -> str:
    sha = hashlib.sha256()
    for suffix in ("", "-wal"):
        f = Path(str(path) + suffix)
        if f.exists():
            sha.update(f.read_bytes())
    return sha.hexdigest()


def test_idle_restarts_write_nothing(chain: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "idle.db"
    url = f"sqlite:///{path}"
    index_once(chain["url"], url, chain["deployment"])
    before = snapshot(url)
    files = _files_digest(path)
    restarts = 100
    for _ in range(restarts):
        result = index_once(chain["url"], url, chain["deployment"])
        assert result.events == 0 and result.batches == 0
    assert _files_digest(path) == files, "an idle restart wrote to the database"
    assert snapshot(url) == before
    print(f"{restarts} idle restarts, 0 writes")


def test_idle_restarts_postgres_commit_nothing(chain: dict[str, Any], pg_url: str) -> None:
    index_once(chain["url"], pg_url, chain["deployment"])
    before = snapshot(pg_url)
    marker = _query(pg_url, "SELECT MAX(xmin::text::bigint) FROM checkpoint")
    for _ in range(20):
        assert index_once(chain["url"], pg_url, chain["deployment"]).batches == 0
    assert _query(pg_url, "SELECT MAX(xmin::text::bigint) FROM checkpoint") == marker
    assert snapshot(pg_url) == before


def test_refuses_a_database_of_another_deployment(chain: dict[str, Any], sqlite_url: str) -> None:
    from dataclasses import replace

    index_once(chain["url"], sqlite_url, chain["deployment"])
    other = replace(chain["deployment"], address="0x" + "11" * 20)
    with pytest.raises(WrongChainError):
        index_once(chain["url"], sqlite_url, other)
    wrong_chain = replace(chain["deployment"], chain_id=1)
    with pytest.raises(WrongChainError):
        index_once(chain["url"], sqlite_url + ".2", wrong_chain)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_first_backfill_defers_the_bulk_indexes_and_builds_them(
    chain: dict[str, Any], backend: str, sqlite_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_url if backend == "sqlite" else pg_url
    deferred = {str(index.name) for index in deferrable_indexes()}
    assert {"ix_events_block_number", "ix_disbursements_project", "ix_disbursements_payee"} <= deferred
    assert "ux_disbursements_voucher" not in deferred  # unique: it guards the rows as they go in
    seen_during_backfill: list[set[str]] = []
    original_apply = Syncer.apply

    def watching_apply(self: Syncer, fetched: Any) -> int:
        seen_during_backfill.append(self.store.index_names())
        return original_apply(self, fetched)

    monkeypatch.setattr(Syncer, "apply", watching_apply)
    index_once(chain["url"], url, chain["deployment"], initial_span=3)
    assert len(seen_during_backfill) > 3
    assert all(not (deferred & names) for names in seen_during_backfill)
    # Built afterwards exactly as the migrations and tables declare them.
    assert schema_differences(url) == []

    # Indexes left unbuilt by a run that died are built when the next run starts, even with
    # nothing new to index; a mirror already complete is not touched.
    store = open_store(url)
    store.drop_indexes(deferrable_indexes())
    assert not deferred & store.index_names()
    store.close()
    before = snapshot(url)
    index_once(chain["url"], url, chain["deployment"])
    assert schema_differences(url) == []
    assert snapshot(url) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_migration_that_fails_half_way_leaves_nothing(
    backend: str, sqlite_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same state a process killed during its first `govledger index` would leave.
    from alembic.operations import Operations

    url = sqlite_url if backend == "sqlite" else pg_url
    create_table = Operations.create_table
    calls = 0

    def failing_create_table(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise RuntimeError("killed")
        return create_table(self, *args, **kwargs)

    monkeypatch.setattr(Operations, "create_table", failing_create_table)
    with pytest.raises(DatabaseError):
        upgrade(url)
    store = open_store(url)
    assert "events" not in {row[0] for row in _query(url, _TABLES[backend])}
    store.close()
    monkeypatch.setattr(Operations, "create_table", create_table)
    upgrade(url)
    assert schema_differences(url) == []


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}


def test_migrations_match_tables(sqlite_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from indexer.tables import metadata

    upgrade(sqlite_url)
    upgrade(sqlite_url)  # idempotent
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_request_deadlines_and_overdue_follow_chain_time(chain: dict[str, Any], sqlite_url: str) -> None:
    from ledger.services import DEFAULT_SERVICES
    from tests.indexer.chain import rpc

    limits = {d.service: d for d in DEFAULT_SERVICES}
    calendar = WorkingCalendar()
    index_once(chain["url"], sqlite_url, chain["deployment"])
    rows = _query(sqlite_url, "SELECT service_code, state, state_time, deadline, overdue, terminal FROM requests")
    assert rows
    with_deadline = 0
    for service, state, state_time, deadline, overdue, terminal in rows:
        definition = limits[service]
        days = definition.time_limit_days[state]
        is_terminal = not definition.next_states(definition.states[state])
        assert bool(terminal) == is_terminal
        if days == 0 or is_terminal:
            assert deadline is None
        else:
            with_deadline += 1
            assert deadline == calendar.add_working_days(bangkok_date(state_time), days).isoformat()
            assert not overdue  # chain time is "now"; no limit is shorter than 3 working days
    assert with_deadline > 0
    # Ninety days later (chain time), every open step with a limit is overdue.
    rpc(chain["w3"], "evm_increaseTime", [90 * 86400])
    rpc(chain["w3"], "evm_mine")
    index_once(chain["url"], sqlite_url, chain["deployment"])
    overdue = _query(sqlite_url, "SELECT COUNT(*) FROM requests WHERE overdue = 1")[0][0]
    assert overdue == with_deadline

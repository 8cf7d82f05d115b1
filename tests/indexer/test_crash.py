"""Crash safety: an indexer process is SIGKILLed at random points — after a fetch, inside the DB
transaction, after a commit (a test hook in indexer.sync), and at random wall-clock moments from
outside — then restarted until it catches up. After every kill the mirror is a consistent prefix
(rows exactly up to its checkpoint); at the end it equals a from-scratch reference index."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from indexer.db import sqlalchemy_url
from indexer.digest import mirror_digest
from indexer.sync import index_once
from ledger.deployment import save_deployment
from tests.indexer.chain import Scenario, deploy
from tests.indexer.conftest import assert_same_mirror, schema_differences, snapshot

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("indexer-crash")]

ROOT = Path(__file__).resolve().parents[2]
HOOK_KILLS = 20  # per backend, as the issue asks
EXTERNAL_KILLS = 2
POINTS = ("after_fetch", "in_transaction", "after_commit")


@pytest.fixture(scope="module")
def chain(anvil: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=21)
    scenario.setup(agencies=2, projects=4)
    for _ in range(45):
        scenario.step()
    path = tmp_path_factory.mktemp("crash") / "deployment.json"
    save_deployment(deployment, path)
    ref_url = f"sqlite:///{path.parent / 'reference.db'}"
    index_once(url, ref_url, deployment)
    return {"url": url, "deployment": deployment, "deployment_path": path, "reference_url": ref_url}


def run_child(chain: dict[str, Any], db_url: str, kill_at: str | None, external_after: float | None = None) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GOVLEDGER_TEST_KILL_AT", None)
    if kill_at:
        env["GOVLEDGER_TEST_KILL_AT"] = kill_at
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.indexer.child", chain["url"], db_url, str(chain["deployment_path"])],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if external_after is not None:
        try:
            process.wait(external_after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"indexer failed ({process.returncode}): {err.decode()[-2000:]}")
    return process.returncode


def check_prefix(db_url: str, reference_url: str) -> int:
    """The mirror holds exactly the reference's events up to its checkpoint, and nothing beyond."""
    engine = create_engine(sqlalchemy_url(db_url))
    try:
        with engine.connect() as conn:
            try:
                row = conn.execute(text("SELECT block_number FROM checkpoint")).first()
            except Exception:
                return -1  # killed before the schema existed
            if row is None:
                assert conn.execute(text("SELECT COUNT(*) FROM events")).scalar() == 0
                return -1
            block = int(row[0])
            for table in ("events", "disbursements", "reversals", "request_transitions"):
                beyond = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE block_number > :b"), {"b": block})
                assert beyond.scalar() == 0, f"{table} has rows past the checkpoint"
            n_events, max_seq = conn.execute(text("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events")).one()
            assert n_events == max_seq, "ledger sequence has a gap or a duplicate"
            ledger = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM ledger")).scalar()
            assert ledger == max_seq
            n_disb = conn.execute(text("SELECT COUNT(*) FROM disbursements")).scalar()
            n_rec = conn.execute(text("SELECT COUNT(*) FROM events WHERE event = 'DisbursementRecorded'")).scalar()
            assert n_disb == n_rec
            total = conn.execute(text("SELECT COALESCE(SUM(disbursement_count), 0) FROM projects")).scalar()
            assert total == n_disb, "project totals disagree with the rows"
        assert mirror_digest(engine) == mirror_digest(reference_url, upto_block=block)
        return block
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_at_random_points(chain: dict[str, Any], backend: str, tmp_path: Path, pg: Any) -> None:
    rng = random.Random(1234 if backend == "sqlite" else 4321)
    want = snapshot(chain["reference_url"])
    head_batches = 40  # kill counts are drawn below a third of this (a full run has ~60 one-block batches)

    def new_db(i: int) -> str:
        return f"sqlite:///{tmp_path / f'mirror-{i}.db'}" if backend == "sqlite" else pg.new()

    databases = 0
    db_url = new_db(databases)
    kills = restarts = mismatches = 0
    tried: list[str] = []
    started = time.monotonic()
    while kills < HOOK_KILLS + EXTERNAL_KILLS:
        external = kills >= HOOK_KILLS
        point = f"{rng.choice(POINTS)}:{rng.randint(1, head_batches // 3)}"
        code = run_child(chain, db_url, None if external else point, rng.uniform(0.8, 2.5) if external else None)
        restarts += 1
        if code == -signal.SIGKILL:
            kills += 1
            tried.append("external" if external else point)
            check_prefix(db_url, chain["reference_url"])
            continue
        # It finished before the kill point: it must equal the reference; start a fresh mirror.
        try:
            assert_same_mirror(snapshot(db_url), want)
        except AssertionError:
            mismatches += 1
            raise
        databases += 1
        db_url = new_db(databases)
    # Catch up after the last kill.
    assert run_child(chain, db_url, None) == 0
    try:
        assert_same_mirror(snapshot(db_url), want)
        assert schema_differences(db_url) == []  # indexes a killed first backfill deferred are built
    except AssertionError:
        mismatches += 1
        raise
    print(
        f"{backend}: {kills} SIGKILLs ({', '.join(tried)}), {restarts} restarts, {databases + 1} mirrors, "
        f"{mismatches} mismatches, {time.monotonic() - started:.0f}s"
    )
    assert mismatches == 0 and kills >= 20

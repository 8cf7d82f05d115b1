"""Reorgs on a real anvil: `anvil_reorg` (depth 1-6, transactions dropped and re-included at other
positions) and `evm_snapshot`/`evm_revert`; after each, the mirror equals a from-scratch index of
the new canonical chain and keeps no block hash that left it. Deeper than the window: a clear stop
and not one row changed."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from indexer.db import sqlalchemy_url
from indexer.errors import ReorgTooDeepError
from indexer.sync import follow, index_once
from tests.indexer.chain import Scenario, deploy, rpc
from tests.indexer.conftest import assert_same_mirror, snapshot

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("indexer-reorg")]

WINDOW = 12


@pytest.fixture(scope="module")
def chain(anvil: tuple[str, Any]) -> dict[str, Any]:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=11)
    scenario.setup(agencies=2, projects=3)
    for _ in range(15):
        scenario.step()
    return {"url": url, "w3": w3, "contract": contract, "deployment": deployment, "scenario": scenario}


def reorg(chain: dict[str, Any], depth: int, rng: random.Random) -> tuple[int, int]:
    """Replace the last `depth` blocks; their transactions are dropped or re-included elsewhere."""
    w3 = chain["w3"]
    head = w3.eth.block_number
    old = []
    for number in range(head - depth + 1, head + 1):
        for tx_hash in w3.eth.get_block(number)["transactions"]:
            tx = w3.eth.get_transaction(tx_hash)
            old.append(
                {"from": tx["from"], "to": tx["to"], "data": "0x" + bytes(tx["input"]).hex(), "gas": hex(tx["gas"])}
            )
    rng.shuffle(old)
    kept = [tx for tx in old if rng.random() < 0.7]
    pairs = [[tx, rng.randrange(depth)] for tx in kept]
    rpc(w3, "anvil_reorg", [depth, pairs])
    assert w3.eth.block_number == head
    return len(old), len(kept)


def canonical_violations(w3: Any, url: str) -> int:
    """Rows whose block hash is not the node's block at that height."""
    engine = create_engine(sqlalchemy_url(url))
    bad = 0
    with engine.connect() as conn:
        pairs = set()
        for table in ("events", "disbursements", "reversals", "request_transitions"):
            pairs |= {tuple(r) for r in conn.execute(text(f"SELECT DISTINCT block_number, block_hash FROM {table}"))}
        pairs |= {tuple(r) for r in conn.execute(text("SELECT number, hash FROM blocks"))}
        pairs |= {tuple(r) for r in conn.execute(text("SELECT block_number, block_hash FROM checkpoint"))}
    engine.dispose()
    for number, block_hash in pairs:
        if "0x" + bytes(w3.eth.get_block(number)["hash"]).hex() != block_hash:
            bad += 1
    return bad


def _reference(chain: dict[str, Any], tmp_path: Path, name: str) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / name}"
    index_once(chain["url"], url, chain["deployment"])
    return snapshot(url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_anvil_reorgs_depth_1_to_6(chain: dict[str, Any], backend: str, tmp_path: Path, pg: Any) -> None:
    url = f"sqlite:///{tmp_path / 'mirror.db'}" if backend == "sqlite" else pg.new()
    rng = random.Random(4 if backend == "sqlite" else 5)
    scenario: Scenario = chain["scenario"]
    runs = mismatches = 0
    for depth in range(1, 7):
        for _ in range(depth + 2):
            scenario.step()
        index_once(chain["url"], url, chain["deployment"], reorg_window=WINDOW, initial_span=2)
        dropped_from, kept = reorg(chain, depth, rng)
        if rng.random() < 0.5:
            scenario.step()  # sometimes the new chain grows past the old head
        result = index_once(chain["url"], url, chain["deployment"], reorg_window=WINDOW, initial_span=2)
        assert result.rollbacks == 1
        got, want = snapshot(url), _reference(chain, tmp_path, f"ref-{depth}.db")
        runs += 1
        try:
            assert_same_mirror(got, want)
        except AssertionError:
            mismatches += 1
            raise
        assert canonical_violations(chain["w3"], url) == 0
        print(f"{backend} reorg depth {depth}: {dropped_from} txs replaced, {kept} re-included, mirror == reference")
    print(f"{backend}: {runs} reorg runs, {mismatches} mismatches")
    assert runs == 6 and mismatches == 0


def test_snapshot_revert_reorg(chain: dict[str, Any], tmp_path: Path) -> None:
    w3 = chain["w3"]
    scenario: Scenario = chain["scenario"]
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    index_once(chain["url"], url, chain["deployment"], reorg_window=WINDOW)
    snap_id = rpc(w3, "evm_snapshot")
    for _ in range(4):
        scenario.step()
    index_once(chain["url"], url, chain["deployment"], reorg_window=WINDOW)
    abandoned_head = w3.eth.block_number
    assert rpc(w3, "evm_revert", [snap_id]) is True
    # The replacement chain differs, and grows past the abandoned head.
    scenario.rng = random.Random(99)
    while w3.eth.block_number <= abandoned_head:
        scenario.disburse_batch("P-1", 3)
    result = index_once(chain["url"], url, chain["deployment"], reorg_window=WINDOW)
    assert result.rollbacks == 1
    assert_same_mirror(snapshot(url), _reference(chain, tmp_path, "ref.db"))
    assert canonical_violations(w3, url) == 0


def test_reorg_deeper_than_window_changes_nothing(chain: dict[str, Any], tmp_path: Path) -> None:
    scenario: Scenario = chain["scenario"]
    path = tmp_path / "mirror.db"
    url = f"sqlite:///{path}"
    for _ in range(6):
        scenario.step()
    index_once(chain["url"], url, chain["deployment"], reorg_window=3)
    before = snapshot(url)
    files = path.read_bytes()
    reorg(chain, 5, random.Random(3))
    with pytest.raises(ReorgTooDeepError, match="deeper than the reorg window of 3 blocks"):
        index_once(chain["url"], url, chain["deployment"], reorg_window=3)
    assert snapshot(url) == before
    assert path.read_bytes() == files
    # A window that covers it recovers.
    index_once(chain["url"], url, chain["deployment"], reorg_window=8)
    assert_same_mirror(snapshot(url), _reference(chain, tmp_path, "ref.db"))


def test_follow_sees_new_blocks_and_reorgs(chain: dict[str, Any], tmp_path: Path) -> None:
    scenario: Scenario = chain["scenario"]
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            follow(chain["url"], url, chain["deployment"], reorg_window=WINDOW, poll_interval=0.2, stop=stop)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    engine = create_engine(url)

    def mirrored_seq() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM ledger")).scalar() or 0)
        except Exception:
            return 0

    try:
        latencies = []
        for _ in range(3):
            scenario.disburse_batch("P-2", 2)
            seq = chain["contract"].functions.ledgerHead().call()[0]
            sent = time.monotonic()
            while mirrored_seq() < seq:
                assert time.monotonic() - sent < 10, "a new block was not readable within 10 s"
                assert not errors, errors
                time.sleep(0.05)
            latencies.append(time.monotonic() - sent)
        reorg(chain, 3, random.Random(8))
        scenario.disburse_batch("P-2", 2)
        deadline = time.monotonic() + 20
        want = _reference(chain, tmp_path, "ref.db")
        while time.monotonic() < deadline:
            got = snapshot(url)
            if got["digest"] == want["digest"] and got["checkpoint"] == want["checkpoint"]:
                break
            time.sleep(0.2)
        assert_same_mirror(snapshot(url), want)
        print(f"follow: new entries readable after {max(latencies):.2f}s at worst")
    finally:
        stop.set()
        thread.join(10)
        engine.dispose()
    assert not thread.is_alive()
    assert not errors

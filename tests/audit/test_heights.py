"""Heights on a chain that makes empty blocks: a followed mirror keeps the same reorg window as a
rebuild, and `verify --db` compares the mirror at its own checkpoint when the chain moved on
after the export (or names the blocks the bundle lacks when the mirror is ahead of it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.export import export_bundle
from audit.source import HttpSource
from audit.verify import verify_bundle
from indexer.sync import DEFAULT_REORG_WINDOW, index_once
from ledger.artifacts import load_artifact
from ledger.deployment import Deployment
from ledger.settings import get_settings
from ledger.types import encode_code

from .scenario import run_scenario

ZERO = b"\0" * 32


def record(chain) -> Deployment:
    with chain.instant() as w3:
        contract, deploy_block = run_scenario(w3, disbursements=12)
        block = w3.eth.get_block(deploy_block)
        block_hash = "0x" + bytes(block["hash"]).hex()
        return Deployment(w3.eth.chain_id, contract.address, deploy_block, block_hash, "", "", "")


def checkpoint(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT block_number FROM checkpoint").fetchone()[0])


def test_a_followed_mirror_keeps_the_window_a_rebuild_keeps(production_chain, tmp_path: Path) -> None:
    dep = record(production_chain)
    mirror = tmp_path / "mirror.db"
    url = f"sqlite:///{mirror}"
    index_once(production_chain.url, url, dep)
    # Indexing after every few blocks, as `index --follow` does on a chain sealing empty blocks.
    for _ in range(8):
        production_chain.burst(12)
        index_once(production_chain.url, url, dep)
    with sqlite3.connect(mirror) as db:
        empty = db.execute("SELECT COUNT(*) FROM blocks WHERE log_count = 0").fetchone()[0]
    # The window's blocks, and the ancestor a reorg of the whole window would roll back to.
    assert empty == DEFAULT_REORG_WINDOW + 1
    bundle = tmp_path / "bundle"
    export_bundle(HttpSource(production_chain.url), dep.address, dep.deploy_block, bundle, to_block=checkpoint(mirror))
    report = verify_bundle(bundle, db_url=url, recompile=False)
    assert report.ok, report.lines()


def test_verify_compares_at_the_mirror_height_when_the_chain_moved_on(production_chain, tmp_path: Path) -> None:
    dep = record(production_chain)
    mirror = tmp_path / "mirror.db"
    url = f"sqlite:///{mirror}"
    index_once(production_chain.url, url, dep)
    production_chain.burst(100)
    bundle = tmp_path / "bundle"
    manifest = export_bundle(HttpSource(production_chain.url), dep.address, dep.deploy_block, bundle)
    assert manifest.head_number >= checkpoint(mirror) + 100
    report = verify_bundle(bundle, db_url=url, recompile=False)
    assert report.ok, report.lines()
    assert f"at the mirror's checkpoint, block {checkpoint(mirror)}" in report.checks[-1].detail


def test_a_mirror_ahead_of_the_bundle_names_the_blocks_it_lacks(production_chain, tmp_path: Path) -> None:
    dep = record(production_chain)
    bundle = tmp_path / "bundle"
    manifest = export_bundle(HttpSource(production_chain.url), dep.address, dep.deploy_block, bundle)
    with production_chain.instant() as w3:
        contract = w3.eth.contract(address=dep.address, abi=load_artifact()["abi"])
        payment = (encode_code("P00.2568"), encode_code("V-AHEAD"), 100, b"payee".ljust(32, b"\0"), ZERO, ZERO)
        sent = contract.functions.disburse(payment).transact({"from": w3.eth.accounts[1], "gas": 1_000_000})
        paid_in = w3.eth.wait_for_transaction_receipt(sent)["blockNumber"]
    production_chain.burst(20)
    mirror = tmp_path / "mirror.db"
    url = f"sqlite:///{mirror}"
    index_once(production_chain.url, url, dep)
    ahead = checkpoint(mirror)
    report = verify_bundle(bundle, db_url=url, recompile=False)
    assert [c.name for c in report.failures()] == ["mirror"]
    detail = report.failures()[0].detail
    assert f"the mirror is at block {ahead}, past the bundle's head {manifest.head_number}" in detail
    assert f"blocks {manifest.head_number + 1}..{ahead} are not in the bundle" in detail
    assert f"in blocks {paid_in};" in detail
    assert f"its events up to block {manifest.head_number} equal the bundle's" in detail
    assert f"--to-block {ahead}" in detail


def test_the_rebuild_keeps_the_window_the_mirror_was_indexed_with(
    production_chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = record(production_chain)
    mirror = tmp_path / "mirror.db"
    url = f"sqlite:///{mirror}"
    production_chain.burst(40)
    index_once(production_chain.url, url, dep, reorg_window=16)
    bundle = tmp_path / "bundle"
    export_bundle(HttpSource(production_chain.url), dep.address, dep.deploy_block, bundle, to_block=checkpoint(mirror))
    # The auditor runs with the indexer's setting, as the operator's environment gives it.
    monkeypatch.setenv("GOVLEDGER_REORG_WINDOW", "16")
    get_settings.cache_clear()
    report = verify_bundle(bundle, db_url=url, recompile=False)
    assert report.ok, report.lines()

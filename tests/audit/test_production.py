"""The auditor and the indexer on a chain in production shape (tests/production_chain.py): anvil
reloaded from its state dump, so it keeps no state of old blocks, sealing a block every second,
with a burst of 300 empty blocks between recording and verifying; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from audit.export import export_bundle, ledger_head_at, state_head_at
from audit.proof import build_proof, verify_proof
from audit.source import HttpSource
from audit.verify import verify_bundle
from ledger.deployment import save_deployment
from ledger.errors import RpcError
from tests.production_chain import ProductionChain

from .test_heights import record


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProductionChain, object]]:
    chain = ProductionChain(tmp_path_factory.mktemp("reloaded")).start()
    try:
        deployment = record(chain)
        chain.reload()
        yield chain, deployment
    finally:
        chain.stop()


def test_export_verify_and_proofs_need_no_old_state(reloaded, tmp_path: Path) -> None:
    chain, dep = reloaded
    source = HttpSource(chain.url)
    # The node really keeps no state of the recorded blocks any more.
    with pytest.raises(RpcError, match="eth_call"):
        ledger_head_at(source, dep.address, dep.deploy_block + 1)
    manifest = export_bundle(source, dep.address, dep.deploy_block, tmp_path / "bundle")
    report = verify_bundle(
        tmp_path / "bundle", recompile=False, live_heads=lambda block: state_head_at(source, dep.address, block)
    )
    assert report.ok, report.lines()
    replay = next(c for c in report.checks if c.name == "replay")
    assert replay.figures["entries"] > 50
    # Of the sampled heights only the latest block still has state; there the contract's head is compared.
    assert replay.figures["head_block_compared"] is True
    assert replay.figures["head_samples"] == 1
    proof = build_proof(source, dep.address, dep.deploy_block, 9)
    entry = verify_proof(proof, trusted_head=bytes.fromhex(proof["checkpoint"]["hash"][2:]))
    assert entry["seq"] == 9 and entry["block"] < manifest.head_number
    # The command line too: a live node verified (export, replay, the head asked of the node).
    deployment = tmp_path / "deployment.json"
    save_deployment(dep, deployment)
    env = {**os.environ, "GOVLEDGER_RPC_URL": chain.url, "GOVLEDGER_DEPLOYMENT": str(deployment)}
    done = govledger(["audit", "verify", "--rpc", chain.url, "--no-recompile", "--json"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


@pytest.fixture(params=["sqlite", "postgresql"])
def mirror_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mirror.db'}"
        return
    name = f"govledger_production_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _checkpoint(url: str) -> int:
    from sqlalchemy import create_engine, text

    from indexer.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT block_number FROM checkpoint")).first()
            return int(row[0]) if row else -1
    finally:
        engine.dispose()


def govledger(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scripts.govledger", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_index_follow_export_verify_with_empty_blocks(reloaded, mirror_url: str, tmp_path: Path) -> None:
    chain, dep = reloaded
    deployment = tmp_path / "deployment.json"
    save_deployment(dep, deployment)
    env = {
        **os.environ,
        "GOVLEDGER_RPC_URL": chain.url,
        "GOVLEDGER_DATABASE_URL": mirror_url,
        "GOVLEDGER_DEPLOYMENT": str(deployment),
    }
    done = govledger(["index", "--json"], env)
    assert done.returncode == 0, done.stderr
    indexed = chain.head
    chain.burst(300)
    # `index --follow` for a few seconds, while the chain seals a block every second, then SIGTERM.
    follow = subprocess.Popen(
        [sys.executable, "-m", "scripts.govledger", "index", "--follow", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Until it has caught up with the burst (its signal handlers are in place by then), and a little more.
        deadline = time.monotonic() + 40
        while _checkpoint(mirror_url) < indexed + 300 and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(2)
    finally:
        follow.send_signal(signal.SIGTERM)
        _, err = follow.communicate(timeout=30)
    assert follow.returncode == 0, err
    time.sleep(1.5)  # the chain moves on between the mirror's last block and the export
    bundle = tmp_path / "bundle"
    done = govledger(["audit", "export", str(bundle), "--json"], env)
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)["head_number"]
    assert exported >= indexed + 300
    done = govledger(["audit", "verify", str(bundle), "--db", mirror_url, "--no-recompile", "--json"], env)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stdout + done.stderr
    mirror = report["checks"][-1]
    assert mirror["name"] == "mirror" and indexed + 300 <= mirror["figures"]["block"] <= exported

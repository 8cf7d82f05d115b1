"""Fixtures of the auditor's suite: one bundle exported from eth-tester and one from a real
anvil process, each holding the same recorded history (tests/audit/scenario.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from audit.bundle import read_manifest
from audit.compare import Snapshot, read_snapshot, rebuild_mirror
from audit.export import export_bundle
from audit.node import BundleNode
from audit.source import HttpSource
from audit.verify import load_bundle
from indexer.sync import index_once
from ledger import node
from ledger.deployment import Deployment
from tests.support.sources import EthTesterSource

from .scenario import run_scenario


@dataclass
class Exported:
    kind: str  # "eth-tester" or "anvil"
    directory: Path
    w3: Any
    source: Any
    contract: Any
    deploy_block: int
    url: str | None = None  # the JSON-RPC URL of a real node (anvil only)


@pytest.fixture(scope="session")
def tester_chain(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    # Our own chain, not the shared session tester: other suites snapshot and revert that one.
    tester = EthereumTester(
        PyEVMBackend(genesis_parameters=PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000}))
    )
    w3 = Web3(EthereumTesterProvider(tester))
    contract, deploy_block = run_scenario(w3)
    source = EthTesterSource(w3, tester)
    directory = tmp_path_factory.mktemp("bundle-eth-tester")
    export_bundle(source, contract.address, deploy_block, directory, samples=100)
    return Exported("eth-tester", directory, w3, source, contract, deploy_block)


@pytest.fixture(scope="session")
def anvil_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    # Our own anvil too: a shared one may be reorganised by the indexer's tests.
    process, url = node.start_anvil()
    try:
        w3 = Web3(Web3.HTTPProvider(url))
        contract, deploy_block = run_scenario(w3)
        source = HttpSource(url)
        directory = tmp_path_factory.mktemp("bundle-anvil")
        export_bundle(source, contract.address, deploy_block, directory, samples=100, chunk=7)
        yield Exported("anvil", directory, w3, source, contract, deploy_block, url)
    finally:
        node.stop(process)


@pytest.fixture(params=["eth-tester", "anvil"])
def chain(request: pytest.FixtureRequest) -> Exported:
    return request.getfixturevalue("tester_chain" if request.param == "eth-tester" else "anvil_chain")


@dataclass
class Published:
    path: Path
    reference: Snapshot  # rebuilt from the bundle


def _deployment(chain) -> Deployment:
    manifest = read_manifest(chain.directory)
    block = chain.w3.eth.get_block(chain.deploy_block)
    return Deployment(
        manifest.chain_id, manifest.address, chain.deploy_block, "0x" + bytes(block["hash"]).hex(), "", "", ""
    )


def _settle(path: Path) -> None:
    """Fold the WAL into the file so that a plain copy holds every row."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


@pytest.fixture(scope="session")
def published(tester_chain, anvil_chain, tmp_path_factory) -> dict[str, Published]:
    out = {}
    for chain in (tester_chain, anvil_chain):
        directory = tmp_path_factory.mktemp(f"mirror-{chain.kind}")
        path = directory / "published.db"
        if chain.url is not None:
            index_once(chain.url, f"sqlite:///{path}", _deployment(chain))
        else:
            bundle = load_bundle(chain.directory)
            with BundleNode(bundle.manifest, bundle.headers, bundle.log_rows) as url:
                index_once(url, f"sqlite:///{path}", _deployment(chain))
        _settle(path)
        rebuilt = directory / "rebuilt.db"
        rebuild_mirror(load_bundle(chain.directory), f"sqlite:///{rebuilt}")
        out[chain.kind] = Published(path, read_snapshot(f"sqlite:///{rebuilt}"))
    return out

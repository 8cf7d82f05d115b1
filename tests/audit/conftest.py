"""Fixtures of the auditor's suite: one bundle exported from eth-tester and one from a real
anvil process, each holding the same recorded history (tests/audit/scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from ledger import node
from ledger.audit.export import export_bundle
from ledger.audit.source import EthTesterSource, HttpSource

from .scenario import run_scenario


@dataclass
class Exported:
    kind: str  # "eth-tester" or "anvil"
    directory: Path
    w3: Any
    source: Any
    contract: Any
    deploy_block: int


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
        yield Exported("anvil", directory, w3, source, contract, deploy_block)
    finally:
        node.stop(process)


@pytest.fixture(params=["eth-tester", "anvil"])
def chain(request: pytest.FixtureRequest) -> Exported:
    return request.getfixturevalue("tester_chain" if request.param == "eth-tester" else "anvil_chain")

"""Fixtures shared by every suite: an in-process chain (eth-tester + py-evm) with the
contract deployed, snapshot/revert isolation per test, and a real anvil process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from ledger import node
from ledger.settings import get_settings
from tests.web3_deploy import define_default_services, deploy_contract


@pytest.fixture(scope="session")
def tester() -> EthereumTester:
    # 10 funded accounts is enough for every role in the access matrix.
    params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
    return EthereumTester(PyEVMBackend(genesis_parameters=params))


@pytest.fixture(scope="session")
def w3(tester: EthereumTester) -> Web3:
    return Web3(EthereumTesterProvider(tester))


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> list[str]:
    return list(w3.eth.accounts)


@pytest.fixture(scope="session")
def deployed(w3: Web3, accounts: list[str], tester: EthereumTester) -> Any:
    """GovLedger deployed by accounts[0] (admin, registrar, pauser) with the default services."""
    contract, _ = deploy_contract(w3, accounts[0])
    define_default_services(contract, accounts[0])
    return contract


@pytest.fixture
def ledger(deployed: Any, tester: EthereumTester) -> Iterator[Any]:
    """The deployed contract, with every change a test makes undone afterwards."""
    snapshot = tester.take_snapshot()
    yield deployed
    tester.revert_to_snapshot(snapshot)


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """A real anvil process on a free loopback port, for the whole session."""
    process, url = node.start_anvil()
    try:
        yield url
    finally:
        node.stop(process)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server the tests must use; CI guarantees it runs (never skipped)."""
    return os.environ.get("GOVLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def production_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """anvil in production shape (tests/production_chain.py): a block per second, bursts, reloads."""
    from tests.production_chain import ProductionChain

    chain = ProductionChain(tmp_path_factory.mktemp("production-chain")).start()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Settings are cached per process; a test that changed the environment must not leave
    its values behind for the next test (monkeypatch restores the environment, not the cache)."""
    yield
    get_settings.cache_clear()

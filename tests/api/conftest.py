"""A real chain (anvil) with a scripted history, mirrored by the real indexer into SQLite and
PostgreSQL, and API clients over those mirrors. Built once per test session (each xdist worker
that runs API tests builds its own; the modules share the ``api`` xdist group)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_scenario import ACCOUNTS, GENESIS, Scenario, build_mirror, seed, settings_for
from fastapi.testclient import TestClient

from api.app import create_app
from ledger import node


@pytest.fixture(scope="session")
def scenario_chain() -> Iterator[Scenario]:
    # Our own anvil: the script sets block timestamps, which must not disturb other suites.
    process, url = node.start_anvil(extra=["--timestamp", str(GENESIS), "--accounts", str(ACCOUNTS)])
    try:
        yield seed(url)
    finally:
        node.stop(process)


@pytest.fixture(scope="session")
def sqlite_url(scenario_chain: Scenario, tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("api-mirror") / "mirror.db"
    url = f"sqlite:///{path}"
    build_mirror(scenario_chain, url)
    return url


@pytest.fixture(scope="session")
def pg_url(scenario_chain: Scenario, postgres_url: str) -> Iterator[str]:
    name = f"govledger_api_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        build_mirror(scenario_chain, url)
        yield url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(sqlite_url: str) -> Any:
    return create_app(settings_for(sqlite_url))


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def pg_client(pg_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(pg_url))) as test_client:
        yield test_client

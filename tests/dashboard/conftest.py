"""The dashboard under a real browser: anvil seeded through the contract's ABI, the mirror built by
the real indexer, the app served by uvicorn on a loopback port, and Debian's chromium driven by
Playwright (never `playwright install`: no downloads)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import ApiSettings
from indexer.sync import index_once
from ledger import node
from tests.dashboard.seed import GENESIS, Seeded, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded, str]]:
    """(rpc url, what was seeded, mirror URL) — a private anvil whose genesis is 1 Oct 2021."""
    process, rpc_url = node.start_anvil(extra=["--timestamp", str(GENESIS)])
    try:
        seeded = seed(rpc_url)
        database_url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'mirror.db'}"
        index_once(rpc_url, database_url, seeded.deployment)
        yield rpc_url, seeded, database_url
    finally:
        node.stop(process)


@pytest.fixture(scope="module")
def server(world: tuple[str, Seeded, str]) -> Iterator[str]:
    """The app (API + dashboard) under uvicorn in a background thread; yields its base URL."""
    _, _, database_url = world
    settings = ApiSettings(database_url=database_url, rate_limit=0, cursor_secret=b"dashboard-tests")
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        runner.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-thai-tlwg (as .ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    # bypass_csp: the pages forbid inline scripts, and axe-core is injected as one.
    context = browser.new_context(
        base_url=server,
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

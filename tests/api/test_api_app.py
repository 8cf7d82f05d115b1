"""The app factory's router hook and `govledger serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_scenario import settings_for

from api import app as app_module
from ledger.node import free_port

pytestmark = pytest.mark.xdist_group("api")


def test_optional_route_modules_are_skipped_only_when_missing(monkeypatch: Any, tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr(app_module, "ROUTE_MODULES", (*app_module.ROUTE_MODULES, ("not_there_yet", False)))
    paths = set(app_module.create_app(settings).openapi()["paths"])
    assert "/v1/disbursements" in paths
    monkeypatch.setattr(app_module, "ROUTE_MODULES", (("not_there_yet", True),))
    with pytest.raises(ModuleNotFoundError):
        app_module.create_app(settings)


def test_govledger_serve_answers(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GOVLEDGER_DATABASE_URL": sqlite_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.govledger", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stderr.read() if process.stderr else b""
                assert time.monotonic() < deadline, "govledger serve did not answer"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/summary", timeout=5).json()["projects"] > 0
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_refuses_bad_settings_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "GOVLEDGER_DATABASE_URL": "mysql://nobody/nothing"}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.govledger", "serve", "--no-migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not supported" in result.stderr.strip().splitlines()[-1]

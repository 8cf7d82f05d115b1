"""The app factory's routers and `govledger serve`."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_scenario import settings_for
from fastapi.testclient import TestClient

import api.routes
from api import app as app_module
from ledger.node import free_port

pytestmark = pytest.mark.xdist_group("api")


def test_every_route_module_is_served(tmp_path: Path) -> None:
    """A module added under api/routes and forgotten in ROUTERS would answer nothing."""
    modules = sorted(path.stem for path in Path(api.routes.__file__).parent.glob("*.py") if path.stem != "__init__")
    assert len(modules) >= 11
    served = {id(router) for router in app_module.ROUTERS}
    for name in modules:
        assert id(importlib.import_module(f"api.routes.{name}").router) in served, name
    app = app_module.create_app(settings_for(f"sqlite:///{tmp_path / 'x.db'}"))
    assert {"/v1/disbursements", "/v1/proofs/disbursements/{id}"} <= set(app.openapi()["paths"])
    with TestClient(app) as client:
        assert client.get("/static/site.css").status_code == 200  # the dashboard's router


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

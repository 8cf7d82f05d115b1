"""`govledger db upgrade` and `govledger index [--follow]`: output, confirmations, one-line errors,
clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from ledger.deployment import save_deployment
from scripts.govledger import main
from tests.indexer.chain import Scenario, deploy

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("indexer-command")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chain(anvil: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=3)
    scenario.setup()
    for _ in range(8):
        scenario.step()
    path = tmp_path_factory.mktemp("cmd") / "deployment.json"
    save_deployment(deployment, path)
    return {"url": url, "w3": w3, "deployment": deployment, "path": path, "scenario": scenario}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
        sys.exit(0)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    code, out, _ = run(["db", "upgrade", "--db", url], capsys)
    assert code == 0 and "up to date" in out
    engine = create_engine(url)
    assert {"events", "disbursements", "projects", "requests", "checkpoint", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_index_json_and_confirmations(
    chain: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    head = chain["w3"].eth.block_number
    argv = ["index", "--rpc", chain["url"], "--db", url, "--deployment", str(chain["path"]), "--json"]
    code, out, _ = run([*argv, "--confirmations", "3"], capsys)
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["block_number"] == head - 3
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT block_number FROM checkpoint")).scalar() == head - 3
        assert conn.execute(text("SELECT COUNT(*) FROM events WHERE block_number > :h"), {"h": head - 3}).scalar() == 0
    engine.dispose()
    code, out, _ = run(argv, capsys)
    assert json.loads(out.strip().splitlines()[-1])["block_number"] == head


def test_errors_are_one_line(chain: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    save_deployment(replace(chain["deployment"], chain_id=999), other)
    code, out, err = run(
        ["index", "--rpc", chain["url"], "--db", f"sqlite:///{tmp_path / 'm.db'}", "--deployment", str(other)], capsys
    )
    assert code == 1
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "chain 999" in err


def test_follow_stops_cleanly_on_sigterm(chain: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.govledger",
            "index",
            "--follow",
            "--poll-interval",
            "0.2",
            "--json",
            "--rpc",
            chain["url"],
            "--db",
            url,
            "--deployment",
            str(chain["path"]),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        engine = create_engine(url)
        head = chain["w3"].eth.block_number
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT block_number FROM checkpoint")).scalar() == head:
                        break
            except Exception:
                pass
            time.sleep(0.1)
        engine.dispose()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode()[-1000:]
    assert json.loads(out.decode().strip().splitlines()[-1])["block_number"] == head

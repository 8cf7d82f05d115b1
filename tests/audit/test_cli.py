"""`govledger audit ...` end to end against the real anvil chain, in process."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from audit.bundle import read_manifest
from ledger.deployment import save_deployment
from ledger.settings import get_settings
from scripts.govledger import main

from .conftest import _deployment


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(anvil_chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "deployment.json"
    save_deployment(_deployment(anvil_chain), path)
    monkeypatch.setenv("GOVLEDGER_RPC_URL", anvil_chain.url)
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(path))
    get_settings.cache_clear()
    yield anvil_chain
    get_settings.cache_clear()


def test_export_then_verify_against_the_mirror(cli_env, published, tmp_path: Path, capsys) -> None:
    outdir = tmp_path / "bundle"
    code, out, err = run(["audit", "export", str(outdir), "--json", "--samples", "20"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["logs"] == 83 and summary["head_hash"].startswith("0x")
    mirror = published["anvil"].path
    code, out, err = run(
        [
            "audit",
            "verify",
            str(outdir),
            "--db",
            f"sqlite:///{mirror}",
            "--no-recompile",
            "--json",
            "--trusted-head",
            summary["head_hash"],
        ],
        capsys,
    )
    report = json.loads(out)
    assert code == 0 and report["ok"], out
    assert [c["name"] for c in report["checks"]][-1] == "mirror"

    doctored = tmp_path / "doctored.db"
    shutil.copy(mirror, doctored)
    with sqlite3.connect(doctored) as db:
        db.execute("UPDATE disbursements SET amount = amount + 1 WHERE seq = (SELECT MIN(seq) FROM disbursements)")
    code, out, err = run(["audit", "verify", str(outdir), "--db", f"sqlite:///{doctored}", "--no-recompile"], capsys)
    assert code == 1
    assert "FAIL mirror" in out and "disbursements row seq=" in out and "amount:" in out
    assert err.strip() == "error: verification failed: 1 check(s) failed (mirror)"


def test_verify_a_live_node(cli_env, published, capsys) -> None:
    mirror = published["anvil"].path
    code, out, err = run(
        ["audit", "verify", "--rpc", cli_env.url, "--db", f"sqlite:///{mirror}", "--no-recompile"], capsys
    )
    assert code == 0, out + err
    assert "ok   replay" in out and "ok   mirror" in out


def test_proof_round_trip(cli_env, tmp_path: Path, capsys) -> None:
    seq = int(
        cli_env.contract.events.DisbursementRecorded().get_logs(from_block=cli_env.deploy_block)[5]["args"]["seq"]
    )
    proof_file = tmp_path / "proof.json"
    code, out, err = run(["audit", "proof", str(seq), "--out", str(proof_file)], capsys)
    assert code == 0, err
    code, out, err = run(["audit", "verify-proof", str(proof_file), "--json"], capsys)
    assert code == 0, err
    entry = json.loads(out)
    assert entry["seq"] == seq and entry["event"] == "DisbursementRecorded"

    proof = json.loads(proof_file.read_text())
    proof["entry"]["fields"]["amount"] += 100
    proof_file.write_text(json.dumps(proof))
    code, out, err = run(["audit", "verify-proof", str(proof_file)], capsys)
    assert code == 1
    assert err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1


def test_verify_needs_a_bundle_or_a_node(cli_env, capsys) -> None:
    code, out, err = run(["audit", "verify"], capsys)
    assert code == 1 and "give a bundle directory or --rpc URL" in err


def test_verify_says_whether_the_head_was_pinned(cli_env, capsys) -> None:
    manifest = read_manifest(cli_env.directory)
    bundle = str(cli_env.directory)
    code, out, err = run(["audit", "verify", bundle, "--no-recompile", "--json"], capsys)
    assert code == 0, err
    head = json.loads(out)["head"]
    assert head == {"number": manifest.head_number, "hash": manifest.head_hash, "trusted": False, "source": "bundle"}
    code, out, err = run(["audit", "verify", bundle, "--no-recompile"], capsys)
    line = next(x for x in out.splitlines() if x.startswith("head "))
    assert f"block {manifest.head_number} {manifest.head_hash} is NOT pinned" in line
    assert "re-run with --trusted-head HASH" in line

    pin = ["--trusted-head", manifest.head_hash]
    code, out, err = run(["audit", "verify", bundle, "--no-recompile", "--json", *pin], capsys)
    assert code == 0, err
    assert json.loads(out)["head"]["trusted"] is True
    assert json.loads(out)["head"]["source"] == "--trusted-head"
    code, out, err = run(["audit", "verify", bundle, "--no-recompile", *pin], capsys)
    assert "is pinned with --trusted-head" in out and "NOT pinned" not in out

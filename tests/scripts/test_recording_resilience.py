"""Recording that loses nothing: SIGKILL of `disburse import` at random rows and a re-run,
`govledger node` state across a clean stop and a crash, and no national ID anywhere after
`request open`."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger import node
from ledger.client import LedgerClient
from ledger.deploy import deploy_with_client
from ledger.deployment import save_deployment
from ledger.importer import HEADER, import_disbursements
from ledger.rpc import JsonRpc
from ledger.values import ProjectSpec

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("recording-resilience")]

GOVLEDGER = str(Path(sys.executable).parent / "govledger")
REGISTRAR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OFFICER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ROWS = 2000
KILL_SEED = 20251122


def _fresh_ledger(url: str, tmp_path: Path) -> tuple[LedgerClient, Path]:
    """A new deployment with agency MOE (officer key) and one project able to pay every row."""
    admin = LedgerClient(JsonRpc(url), None, Account.from_key(REGISTRAR_KEY))
    deployment = deploy_with_client(admin)
    path = tmp_path / "deployment.json"
    save_deployment(deployment, path)
    admin.register_agency("MOE", "กระทรวงศึกษาธิการ")
    officer = Account.from_key(OFFICER_KEY)
    if admin.agency_of(officer.address) is None:
        admin.add_recorder("MOE", officer.address)
    admin.register_projects([ProjectSpec("MOE-2568-001", "MOE", 2568, 10**12, "ห้องเรียน")])
    return LedgerClient(JsonRpc(url), deployment.address, officer, deploy_block=deployment.deploy_block), path


def _env(url: str, deployment: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
    return env | {"GOVLEDGER_RPC_URL": url, "GOVLEDGER_DEPLOYMENT": str(deployment)} | extra


def _recorded_events(client: LedgerClient) -> list[dict[str, Any]]:
    topic = "0x" + client.abi.events["DisbursementRecorded"].topic0.hex()
    return client.transport.call(
        "eth_getLogs",
        [{"address": client.address, "fromBlock": hex(client.deploy_block), "toBlock": "latest", "topics": [topic]}],
    )


def test_sigkill_at_random_rows_then_rerun_records_exactly_the_missing_rows(chain_url: str, tmp_path: Path) -> None:
    rng = random.Random(KILL_SEED)
    kill_points = sorted(rng.sample(range(50, ROWS - 200), 3))
    report = []
    for kill_at, batch_size in zip(kill_points, (7, 13, 25), strict=True):
        run_dir = tmp_path / f"kill-{kill_at}"
        run_dir.mkdir()
        client, deployment = _fresh_ledger(chain_url, run_dir)
        csv_path = run_dir / "payments.csv"
        vouchers = [f"PV-{kill_at}-{i:05d}" for i in range(ROWS)]
        with open(csv_path, "w", encoding="utf-8") as handle:
            handle.write(",".join(HEADER) + "\n")
            for i, voucher in enumerate(vouchers):
                handle.write(
                    f"MOE-2568-001,{i % 97 + 1}.{i % 100:02d},PAY-{i % 13},{voucher},,,2025-01-{i % 28 + 1:02d}\n"
                )
        base_seq = client.ledger_head()[0]
        process = subprocess.Popen(
            [GOVLEDGER, "disburse", "import", str(csv_path), "--batch-size", str(batch_size), "--json"],
            env=_env(chain_url, deployment, GOVLEDGER_PRIVATE_KEY=OFFICER_KEY),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while client.ledger_head()[0] - base_seq < kill_at:
            assert process.poll() is None, "the import finished before the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Transactions the process handed to the node before it died may still be mined.
        settled, previous = time.monotonic(), client.ledger_head()[0]
        while time.monotonic() - settled < 1.0:
            time.sleep(0.1)
            current = client.ledger_head()[0]
            if current != previous:
                settled, previous = time.monotonic(), current
        recorded_before = previous - base_seq
        assert 0 < recorded_before < ROWS, "the kill must land half-way"
        client._nonce = None
        summary = import_disbursements(client, csv_path)
        events = _recorded_events(client)
        on_chain = [bytes.fromhex(e["data"][2:66]).rstrip(b"\0").decode() for e in events]
        lost = len(set(vouchers) - set(on_chain))
        doubled = len(on_chain) - len(set(on_chain))
        assert (summary.recorded, summary.already, summary.refused) == (ROWS - recorded_before, recorded_before, [])
        assert (lost, doubled, len(on_chain)) == (0, 0, ROWS)
        report.append((kill_at, recorded_before, summary.recorded, lost, doubled))
    print("kill points (row reached, recorded before kill, recorded by re-run, lost, doubled):", report)


def test_node_state_survives_stop_and_crash(tmp_path: Path) -> None:
    port = node.free_port()
    state = tmp_path / "chain-state.json"
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [GOVLEDGER, "node", "--port", str(port), "--state", str(state)],
            env=_env(url, tmp_path / "d.json"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not node.rpc_ready(url):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return process

    process = start()
    try:
        client, _ = _fresh_ledger(url, tmp_path)
        head = client.ledger_head()
        process.send_signal(signal.SIGTERM)  # what a service manager (or Ctrl-C) does
        assert process.wait(30) == 0
        assert state.exists()
        process = start()
        assert client.code_at(client.address) and client.ledger_head() == head
        # A crash: anvil killed outright. The periodic dump (every 5 s) keeps what came before it.
        from ledger.values import Disbursement

        client._nonce = None
        client.disburse(Disbursement("MOE-2568-001", 100, "PAY", "AFTER-RESTART"))
        head = client.ledger_head()
        time.sleep(6.5)
        anvil_pids = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert len(anvil_pids) == 1
        os.kill(int(anvil_pids[0]), signal.SIGKILL)
        assert process.wait(30) != 0  # the node command reports the crash
        process = start()
        assert client.ledger_head() == head
        assert client.disbursement("MOE", "AFTER-RESTART") is not None
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def test_no_national_id_in_output_files_or_chain_after_request_open(chain_url: str, tmp_path: Path) -> None:
    national_id = "1101700230708"
    client, deployment = _fresh_ledger(chain_url, tmp_path)
    result = subprocess.run(
        [GOVLEDGER, "request", "open", "--service", "student-loan", "--agency", "MOE", "--applicant-id", "-"],
        input=national_id + "\n",
        env=_env(chain_url, deployment, GOVLEDGER_PRIVATE_KEY=OFFICER_KEY, GOVLEDGER_AGENCY_SECRET="agency-secret"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    tracking = re.search(r"tracking code: (\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    commitment = re.search(r"commitment: 0x([0-9a-f]{64})", result.stdout).group(1)  # type: ignore[union-attr]

    forms = {
        national_id,
        national_id.encode().hex(),
        int(national_id).to_bytes(8, "big").hex().lstrip("0"),
        "1-1017-00230-70-8",
    }
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("latin-1")
    transport = client.transport
    latest = int(transport.call("eth_blockNumber", []), 16)
    chain_text = []
    for number in range(client.deploy_block, latest + 1):
        block = transport.call("eth_getBlockByNumber", [hex(number), True])
        for tx in block["transactions"]:
            chain_text.append(tx["input"])
            receipt = transport.call("eth_getTransactionReceipt", [tx["hash"]])
            chain_text.extend(log["data"] + "".join(log["topics"]) for log in receipt["logs"])
    dump = bytes.fromhex(transport.call("anvil_dumpState", [])[2:])
    chain_text.append(gzip.decompress(dump).decode("latin-1") if dump[:2] == b"\x1f\x8b" else dump.hex())
    texts["chain"] = "\n".join(chain_text).lower()
    # The scan sees the data: the commitment and tracking code are there.
    assert commitment in texts["chain"]
    assert json.dumps(texts).count(commitment) >= 2
    hits = [(where, form) for where, text in texts.items() for form in forms if form.lower() in text.lower()]
    assert hits == []
    assert tracking in result.stdout


def test_record_benchmark_runs_small() -> None:
    """bench/record.py end to end on a tiny run: its JSON lines and figures are well formed."""
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parents[2] / "bench" / "record.py"),
            "--rows",
            "120",
            "--sample",
            "5",
            "--batch-size",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == ["batched", "per_row", "summary"]
    assert lines[0]["rows"] == 120 and lines[0]["transactions"] == 3 and lines[1]["rows"] == 5
    assert (
        lines[2]["ratio"] > 1
        and 0 < lines[2]["event_only_floor_gas_per_disbursement"] < lines[2]["batched_gas_per_disbursement"]
    )

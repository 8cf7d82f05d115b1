"""Recording throughput: 10,000 disbursements from CSV to confirmed on a fresh local anvil.

Two ways, measured in the same run against the same fresh chain:

- ``batched``: ``govledger disburse import``'s code path (``ledger.importer``): the whole CSV
  validated (batched eth_calls), then ``disburseBatch`` transactions signed locally, sent raw
  and confirmed; the clock runs from reading the CSV to the last receipt.
- ``per_row``: the idiomatic one-transaction-per-row approach with web3.py
  (``contract.functions.disburse(...).build_transaction`` → sign → ``send_raw_transaction`` →
  ``wait_for_transaction_receipt`` polling every 5 ms, its best case), on a smaller sample;
  its time for 10,000 rows is scaled.

Prints one JSON object per line (``bench``, ``path``, figures), then a ``summary`` line with
the ratio and the goals (≥ 2,000 disbursements/s, ≥ 50× per-row, ≤ 30,000 gas each), and the
event-only floor per disbursement of the batched transactions:
``(max(4 * tokens + LOG gas, 10 * tokens)) / n`` with tokens = zero bytes + 4 × non-zero bytes
of the calldata (EIP-2028 / EIP-7623) and LOG gas = 375 + 375 × topics + 8 × data bytes.

Usage: ``.venv/bin/python bench/record.py [--rows 10000] [--sample 300] [--batch-size 250]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import node  # noqa: E402
from ledger.artifacts import load_artifact  # noqa: E402
from ledger.client import LedgerClient  # noqa: E402
from ledger.deploy import deploy_with_client  # noqa: E402
from ledger.importer import import_disbursements, write_disbursement_csv  # noqa: E402
from ledger.rpc import JsonRpc  # noqa: E402
from ledger.values import Disbursement, ProjectSpec  # noqa: E402

# anvil's public development keys 0 (registrar) and 1, 2 (recorders).
REGISTRAR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RECORDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
BASELINE_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
PROJECTS = 40


def emit(**fields: object) -> None:
    print(json.dumps({"bench": "record"} | fields), flush=True)


def setup(url: str) -> tuple[LedgerClient, LedgerClient, LedgerClient]:
    admin = LedgerClient(JsonRpc(url), None, Account.from_key(REGISTRAR_KEY))
    deployment = deploy_with_client(admin)
    admin.register_agency("BENCH", "หน่วยทดสอบ")
    admin.register_agency("BASE", "หน่วยเปรียบเทียบ")
    recorder, baseline = Account.from_key(RECORDER_KEY), Account.from_key(BASELINE_KEY)
    admin.add_recorder("BENCH", recorder.address)
    admin.add_recorder("BASE", baseline.address)
    admin.register_projects(
        [ProjectSpec(f"BENCH-{i:03d}", "BENCH", 2568, 10**15, f"โครงการ {i}") for i in range(PROJECTS)]
        + [ProjectSpec(f"BASE-{i:03d}", "BASE", 2568, 10**15, f"โครงการ {i}") for i in range(PROJECTS)]
    )
    mk = lambda account: LedgerClient(  # noqa: E731
        JsonRpc(url), deployment.address, account, deploy_block=deployment.deploy_block
    )
    return admin, mk(recorder), mk(baseline)


def rows(prefix: str, count: int) -> list[tuple[str, str, str, str, str, str, str]]:
    return [
        (
            f"{prefix}-{i % PROJECTS:03d}",
            f"{(i * 7919) % 500_000 + 1:,}.{i % 100:02d}",
            f"PAYEE-{i % 257}",
            f"PV-2568-{i:06d}",
            f"{(i * 2654435761) % 2**256:064x}",
            "",
            f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        )
        for i in range(count)
    ]


def event_floor(data: bytes, logs: int, topics: int, data_bytes: int) -> int:
    tokens = sum(1 if b == 0 else 4 for b in data)
    log_gas = logs * (375 + 375 * topics + 8 * data_bytes)
    return max(4 * tokens + log_gas, 10 * tokens)


def batched(client: LedgerClient, csv_path: Path, batch_size: int) -> dict[str, object]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    summary = import_disbursements(
        client,
        csv_path,
        batch_size=batch_size,
        on_start=lambda plan: marks.setdefault("validated", time.perf_counter()),
    )
    assert summary.refused == [] and summary.stopped is None, (summary.refused[:3], summary.stopped)
    return {
        "rows": summary.recorded,
        "seconds": round(summary.seconds, 3),
        "rows_per_s": round(summary.recorded / summary.seconds, 1),
        "validate_seconds": round(marks["validated"] - started, 3),
        "transactions": summary.batches,
        "batch_size": batch_size,
        "gas_per_disbursement": round(summary.gas_used / summary.recorded),
    }


def per_row(url: str, address: str, count: int) -> dict[str, object]:
    """The idiomatic web3.py way: one disburse transaction per row, each awaited."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url))
    account = Account.from_key(BASELINE_KEY)
    contract = w3.eth.contract(address=address, abi=load_artifact()["abi"])
    from ledger.types import encode_code, parse_baht, parse_hash

    work = rows("BASE", count)
    gas_total = 0
    started = time.perf_counter()
    nonce = w3.eth.get_transaction_count(account.address)
    for project, amount, payee, voucher, document, _request, _paid_on in work:
        tx = contract.functions.disburse(
            (
                encode_code(project),
                encode_code(voucher),
                parse_baht(amount),
                encode_code(payee),
                parse_hash(document),
                b"\0" * 32,
            )
        ).build_transaction({"from": account.address, "nonce": nonce})
        nonce += 1
        signed = account.sign_transaction(tx)
        # A 5 ms poll instead of web3's default 100 ms: the baseline gets its best case.
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.005
        )
        assert receipt["status"] == 1
        gas_total += receipt["gasUsed"]
    seconds = time.perf_counter() - started
    return {
        "rows": count,
        "seconds": round(seconds, 3),
        "rows_per_s": round(count / seconds, 1),
        "gas_per_disbursement": round(gas_total / count),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300, help="rows for the per-row baseline")
    parser.add_argument("--batch-size", type=int, default=LedgerClient.BATCH_SIZE)
    args = parser.parse_args()

    process, url = node.start_anvil()
    try:
        admin, recorder, _ = setup(url)
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "disbursements.csv"
            write_disbursement_csv(csv_path, rows("BENCH", args.rows))
            fast = batched(recorder, csv_path, args.batch_size)
        load = os.getloadavg()[0]
        emit(path="batched", chain="anvil (fresh, default flags)", load_average_1min=round(load, 1), **fast)
        slow = per_row(url, str(admin.address), args.sample)
        slow["scaled_seconds_for_rows"] = round(args.rows / float(slow["rows_per_s"]), 1)  # type: ignore[arg-type]
        emit(path="per_row", chain="anvil (same run)", **slow)

        # Event-only floor of a full batch: calldata + one LOG4 with 192 data bytes per record.
        words = [
            Disbursement(
                f"BENCH-{i % PROJECTS:03d}", 100 + i, f"PAYEE-{i % 257}", f"PV-2568-{i:06d}", bytes(range(32))
            ).to_words()
            for i in range(args.batch_size)
        ]
        data = recorder.encode_disburse_batch(words)
        floor = event_floor(data, args.batch_size, 4, 192) / args.batch_size
        ratio = float(fast["rows_per_s"]) / float(slow["rows_per_s"])  # type: ignore[arg-type]
        emit(
            path="summary",
            batched_rows_per_s=fast["rows_per_s"],
            per_row_rows_per_s=slow["rows_per_s"],
            ratio=round(ratio, 1),
            batched_gas_per_disbursement=fast["gas_per_disbursement"],
            per_row_gas_per_disbursement=slow["gas_per_disbursement"],
            event_only_floor_gas_per_disbursement=round(floor),
            goal_rows_per_s_met=float(fast["rows_per_s"]) >= 2000,  # type: ignore[arg-type]
            goal_ratio_met=ratio >= 50,
            goal_gas_met=int(fast["gas_per_disbursement"]) <= 30_000,  # type: ignore[call-overload]
        )
    finally:
        node.stop(process)


if __name__ == "__main__":
    main()

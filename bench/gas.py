"""Gas of recording disbursements, beside the event-only floor of the same records.

Prints one JSON object per line:

- ``single``: gas of one ``disburse`` transaction (median of several, after warm-up);
- ``batch`` n = 10 / 100 / 500: gas of one ``disburseBatch`` transaction divided by n.

Each line carries the *event-only floor*: what the cheapest possible design would pay to
put the same records on chain as calldata plus a log and nothing else, computed from the
transaction's actual calldata bytes and the actual log sizes:

    floor = 21000 + max(4 * tokens + LOG gas, 10 * tokens)        (EIP-2028 + EIP-7623)
    tokens = zero bytes + 4 * non-zero bytes of the calldata
    LOG gas = sum over logs of 375 + 375 * topics + 8 * data bytes

and ``ratio`` = measured / floor. Gas is measured on eth-tester's py-evm (Cancun rules,
the contract's evmVersion); the floor uses Prague's calldata floor, which only raises it.

Usage: ``.venv/bin/python bench/gas.py [--baseline OLD_ARTIFACT.json]`` (about a minute per
build). With ``--baseline`` the old build is measured first in the same run, e.g. from
``git show <commit>:ledger/artifacts/GovLedger.json > /tmp/old.json``; every line names its
``build``.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from ledger.artifacts import load_artifact
from ledger.types import encode_code

GOAL_SINGLE = 90_000
GOAL_BATCHED = 30_000
BATCHES = (10, 100, 500)


def calldata_tokens(data: bytes) -> int:
    zeros = data.count(0)
    return zeros + 4 * (len(data) - zeros)


def log_gas(logs: list[Any]) -> int:
    return sum(375 + 375 * len(log["topics"]) + 8 * len(bytes(log["data"])) for log in logs)


def event_only_floor(calldata: bytes, logs: list[Any]) -> int:
    tokens = calldata_tokens(calldata)
    return 21_000 + max(4 * tokens + log_gas(logs), 10 * tokens)


class Bench:
    def __init__(self, artifact: dict[str, Any]) -> None:
        params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
        self.w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend(genesis_parameters=params))))
        self.admin, self.recorder = self.w3.eth.accounts[:2]
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self._wait(factory.constructor(0, self.admin).transact({"from": self.admin}))
        self.contract = self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
        self.project = encode_code("2568-EDU-0001")
        agency = encode_code("MOE-OBEC")
        fns = self.contract.functions
        self._wait(fns.registerAgency(agency, "สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน", "OBEC").transact({"from": self.admin}))
        self._wait(fns.addRecorder(agency, self.recorder).transact({"from": self.admin}))
        project = (self.project, agency, 2568, 10**16, "ค่าอาหารกลางวันนักเรียน")  # the allocation cap
        self._wait(fns.registerProjects([project]).transact({"from": self.admin}))
        self.counter = 0

    def _wait(self, tx_hash: Any) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError("benchmark transaction failed")
        return receipt

    def record(self) -> tuple[bytes, bytes, int, bytes, bytes, bytes]:
        """A realistic record: voucher and payee codes, a varying amount, a document hash."""
        self.counter += 1
        n = self.counter
        return (
            self.project,
            encode_code(f"PV2568-{n:06d}"),
            1_000_00 + 37 * n,
            encode_code(f"VENDOR-{n % 97:05d}"),
            hashlib.sha256(f"voucher document {n}".encode()).digest(),
            b"\0" * 32,
        )

    def send(self, fn: str, arg: Any) -> tuple[int, int]:
        """(gas used, event-only floor) of one transaction."""
        call = getattr(self.contract.functions, fn)(arg)
        tx_hash = call.transact({"from": self.recorder, "gas": 55_000_000})
        receipt = self._wait(tx_hash)
        calldata = bytes(self.w3.eth.get_transaction(tx_hash)["input"])
        return receipt["gasUsed"], event_only_floor(calldata, receipt["logs"])


def measure(artifact: dict[str, Any], build: str) -> list[dict[str, Any]]:
    bench = Bench(artifact)
    for _ in range(3):  # warm-up: the first entries write the ledger head's slots
        bench.send("disburse", bench.record())
    singles = [bench.send("disburse", bench.record()) for _ in range(9)]
    gas = int(statistics.median(g for g, _ in singles))
    floor = int(statistics.median(f for _, f in singles))
    lines = [
        {
            "build": build,
            "case": "single",
            "n": 1,
            "gas_per_disbursement": gas,
            "floor": floor,
            "ratio": round(gas / floor, 2),
            "goal": GOAL_SINGLE,
            "meets_goal": gas <= GOAL_SINGLE,
        }
    ]
    for n in BATCHES:
        gas_total, floor_total = bench.send("disburseBatch", [bench.record() for _ in range(n)])
        per, floor_per = gas_total / n, floor_total / n
        lines.append(
            {
                "build": build,
                "case": "batch",
                "n": n,
                "gas_per_disbursement": round(per),
                "floor": round(floor_per),
                "ratio": round(per / floor_per, 2),
                "goal": GOAL_BATCHED,
                "meets_goal": per <= GOAL_BATCHED,
                "gas_total": gas_total,
            }
        )
    return lines


def main(argv: list[str]) -> int:
    builds: list[tuple[dict[str, Any], str]] = []
    if len(argv) == 2 and argv[0] == "--baseline":
        with open(argv[1], encoding="utf-8") as file:
            builds.append((json.load(file), "baseline"))
    elif argv:
        print("usage: bench/gas.py [--baseline OLD_ARTIFACT.json]", file=sys.stderr)
        return 2
    builds.append((load_artifact(), "committed"))
    for artifact, build in builds:
        for line in measure(artifact, build):
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

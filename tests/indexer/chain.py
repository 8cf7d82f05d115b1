"""Test chains for the indexer: GovLedger on anvil, driven directly with web3 (no ledger.client).

``Scenario`` writes a reproducible mix of every event: agencies, recorders (added, removed,
re-added), projects, allocation amendments, disbursements (single and batched), reversals,
service roles, requests opened and advanced. Each ``step`` is one transaction.
"""

from __future__ import annotations

import random
from typing import Any

from web3 import Web3

from ledger.artifacts import artifact_sha256
from ledger.deployment import Deployment
from ledger.services import COMPLAINT, STUDENT_LOAN
from ledger.types import encode_code, encode_tracking, new_tracking_code
from tests.web3_deploy import define_default_services, deploy_contract


def rpc(w3: Web3, method: str, params: list[Any] | None = None) -> Any:
    answer = w3.provider.make_request(method, params or [])
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def deploy(w3: Web3) -> tuple[Any, Deployment]:
    admin = w3.eth.accounts[0]
    contract, receipt = deploy_contract(w3, admin)
    define_default_services(contract, admin)
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        address=contract.address,
        deploy_block=receipt["blockNumber"],
        deploy_block_hash="0x" + bytes(receipt["blockHash"]).hex(),
        deploy_tx="0x" + bytes(receipt["transactionHash"]).hex(),
        artifact_sha256=artifact_sha256(),
        compiler="test",
    )
    return contract, deployment


class Scenario:
    """Sends random but valid ledger transactions from unlocked anvil accounts."""

    def __init__(self, w3: Web3, contract: Any, seed: int = 1) -> None:
        self.w3 = w3
        self.c = contract
        self.rng = random.Random(seed)
        self.admin = w3.eth.accounts[0]
        self.recorder_pool = list(w3.eth.accounts[1:8])
        self.agencies: dict[str, str] = {}  # code -> recorder address
        self.projects: dict[str, tuple[str, int, int]] = {}  # code -> (agency, allocation, net)
        self.vouchers: dict[str, list[tuple[str, int, str]]] = {}  # agency -> [(voucher, amount, project)]
        self.requests: list[tuple[bytes, str, str, int]] = []  # (tracking, service, agency, state)
        self.counter = 0

    def _send(self, fn: Any, sender: str, wait: bool = True) -> Any:
        tx = fn.transact({"from": sender, "gas": 29_000_000})
        return self.w3.eth.wait_for_transaction_receipt(tx) if wait else tx

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def setup(self, agencies: int = 2, projects: int = 3) -> None:
        for i in range(agencies):
            code = f"AG-{i}"
            self._send(self.c.functions.registerAgency(encode_code(code), f"หน่วยงาน {i}", f"Agency {i}"), self.admin)
            recorder = self.recorder_pool[i]
            self._send(self.c.functions.addRecorder(encode_code(code), recorder), self.admin)
            self.agencies[code] = recorder
            self.vouchers[code] = []
        inputs = []
        for i in range(projects):
            code = f"P-{i}"
            agency = f"AG-{i % agencies}"
            allocation = 10_000_000_00
            inputs.append((encode_code(code), encode_code(agency), 2568 + i % 2, allocation, f"โครงการ {i}"))
            self.projects[code] = (agency, allocation, 0)
        self._send(self.c.functions.registerProjects(inputs), self.admin)
        self._send(
            self.c.functions.setServiceRole(encode_code("student-loan"), 1, encode_code("AG-0"), True), self.admin
        )
        self._send(
            self.c.functions.setServiceRole(encode_code("student-loan"), 2, encode_code("AG-0"), True), self.admin
        )

    def disburse_batch(self, project: str, count: int, wait: bool = True) -> Any:
        agency, allocation, net = self.projects[project]
        items = []
        for _ in range(count):
            voucher = self._next("V")
            amount = self.rng.randint(1, 50_000)
            items.append(
                (
                    encode_code(project),
                    encode_code(voucher),
                    amount,
                    encode_code(f"PAYEE-{self.rng.randint(1, 9)}"),
                    self.rng.randbytes(32),
                    b"\0" * 32,
                )
            )
            self.vouchers[agency].append((voucher, amount, project))
            net += amount
        self.projects[project] = (agency, allocation, net)
        return self._send(self.c.functions.disburseBatch(items), self.agencies[agency], wait)

    def step(self) -> str:
        """One random valid transaction; returns what it did."""
        kind = self.rng.choices(
            ["disburse", "batch", "reverse", "amend", "open", "advance", "role", "recorder"],
            weights=[5, 2, 2, 1, 2, 3, 1, 1],
        )[0]
        if kind == "disburse":
            project = self.rng.choice(sorted(self.projects))
            agency, allocation, net = self.projects[project]
            voucher, amount = self._next("V"), self.rng.randint(1, 90_000)
            link = b"\0" * 32
            if self.requests and self.rng.random() < 0.3:
                link = self.rng.choice(self.requests)[0]
            self._send(
                self.c.functions.disburse(
                    (encode_code(project), encode_code(voucher), amount, encode_code("PAYEE-X"), b"\0" * 32, link)
                ),
                self.agencies[agency],
            )
            self.vouchers[agency].append((voucher, amount, project))
            self.projects[project] = (agency, allocation, net + amount)
        elif kind == "batch":
            self.disburse_batch(self.rng.choice(sorted(self.projects)), self.rng.randint(2, 12))
        elif kind == "reverse":
            agency = self.rng.choice(sorted(self.agencies))
            if not self.vouchers[agency]:
                return self.step()
            voucher, amount, project = self.vouchers[agency].pop(self.rng.randrange(len(self.vouchers[agency])))
            self._send(self.c.functions.reverse(encode_code(voucher), "แก้ไขข้อผิดพลาด"), self.agencies[agency])
            a, allocation, net = self.projects[project]
            self.projects[project] = (a, allocation, net - amount)
        elif kind == "amend":
            project = self.rng.choice(sorted(self.projects))
            agency, allocation, net = self.projects[project]
            new = max(net, allocation + self.rng.randint(-1_000_000, 5_000_000))
            self._send(self.c.functions.amendAllocation(encode_code(project), new, "งบเพิ่มเติม"), self.admin)
            self.projects[project] = (agency, new, net)
        elif kind == "open":
            tracking = encode_tracking(new_tracking_code())
            service = self.rng.choice(["student-loan", "complaint"])
            agency = "AG-0" if service == "student-loan" else self.rng.choice(sorted(self.agencies))
            self._send(
                self.c.functions.openRequest(encode_code(service), tracking, self.rng.randbytes(32)),
                self.agencies[agency],
            )
            self.requests.append((tracking, service, agency, 0))
        elif kind == "advance":
            movable = []
            for i, (_, service, _, state) in enumerate(self.requests):
                definition = STUDENT_LOAN if service == "student-loan" else COMPLAINT
                nxt = definition.next_states(definition.states[state])
                if nxt:
                    movable.append((i, definition, nxt))
            if not movable:
                return self.step()
            i, definition, nxt = self.rng.choice(movable)
            tracking, service, agency, state = self.requests[i]
            target = definition.state_index(self.rng.choice(nxt))
            self._send(
                self.c.functions.advanceRequest(tracking, target, "ดำเนินการ"),
                self.agencies["AG-0"] if service == "student-loan" else self.agencies[agency],
            )
            self.requests[i] = (tracking, service, agency, target)
        elif kind == "role":
            self._send(
                self.c.functions.setServiceRole(
                    encode_code("complaint"),
                    0,
                    encode_code(self.rng.choice(sorted(self.agencies))),
                    self.rng.random() < 0.5,
                ),
                self.admin,
            )
        else:
            agency = self.rng.choice(sorted(self.agencies))
            old = self.agencies[agency]
            spare = [a for a in self.recorder_pool if a not in self.agencies.values()]
            if not spare:
                return self.step()
            new = spare[0]
            self._send(self.c.functions.addRecorder(encode_code(agency), new), self.admin)
            self._send(self.c.functions.removeRecorder(encode_code(agency), old), self.admin)
            self.agencies[agency] = new
        return kind

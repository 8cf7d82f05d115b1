"""A small but complete ledger history for the auditor's tests: every event kind, batches,
reversals, amendments, role grants and revocations, request walks along both services."""

from __future__ import annotations

import random
from typing import Any

from ledger.services import COMPLAINT, STUDENT_LOAN
from ledger.types import encode_code
from tests.web3_deploy import define_default_services, deploy_contract


def _send(w3: Any, call: Any, sender: str) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": 30_000_000}))
    assert receipt["status"] == 1
    return receipt


def run_scenario(w3: Any, seed: int = 7, disbursements: int = 40) -> tuple[Any, int]:
    """Deploy and record a history; returns (contract, deploy block)."""
    rng = random.Random(seed)
    accounts = list(w3.eth.accounts)
    admin = accounts[0]
    contract, receipt = deploy_contract(w3, admin)
    define_default_services(contract, admin)
    f = contract.functions
    agencies = {"MOE-01": accounts[1], "SLF-02": accounts[2], "SCH-03": accounts[3]}
    for code, recorder in agencies.items():
        _send(w3, f.registerAgency(encode_code(code), f"agency {code}", code), admin)
        _send(w3, f.addRecorder(encode_code(code), recorder), admin)
    projects = []
    for i, code in enumerate(agencies):
        for j in range(2):
            projects.append((f"P{i}{j}.2568", code))
    _send(
        w3,
        f.registerProjects([(encode_code(p), encode_code(a), 2568, 5_000_000_00, f"project {p}") for p, a in projects]),
        admin,
    )
    school_role = STUDENT_LOAN.roles.index("school")
    fund_role = STUDENT_LOAN.roles.index("fund")
    sl = encode_code(STUDENT_LOAN.service)
    _send(w3, f.setServiceRole(sl, school_role, encode_code("SCH-03"), True), admin)
    _send(w3, f.setServiceRole(sl, fund_role, encode_code("SLF-02"), True), admin)
    # Requests opened by MOE-01, walked by the school and the fund; complaints by their owner.
    requests = []
    for _k in range(4):
        tracking = rng.randbytes(20).ljust(32, b"\0")
        _send(w3, f.openRequest(sl, tracking, rng.randbytes(32)), agencies["MOE-01"])
        requests.append(tracking)
    walks = [
        [("school-verified", "SCH-03"), ("fund-approved", "SLF-02"), ("contract-signed", "SLF-02")],
        [("returned-for-correction", "SCH-03"), ("submitted", "MOE-01"), ("rejected", "SCH-03")],
        [("school-verified", "SCH-03")],
    ]
    for tracking, walk in zip(requests, walks, strict=False):
        for state, agency in walk:
            _send(w3, f.advanceRequest(tracking, STUDENT_LOAN.state_index(state), f"to {state}"), agencies[agency])
    complaint = rng.randbytes(20).ljust(32, b"\0")
    _send(w3, f.openRequest(encode_code(COMPLAINT.service), complaint, rng.randbytes(32)), agencies["SLF-02"])
    for state in ("assigned", "in-progress", "resolved"):
        _send(w3, f.advanceRequest(complaint, COMPLAINT.state_index(state), state), agencies["SLF-02"])
    # Disbursements: one batch per agency, then singles, some linked to a request.
    vouchers: dict[str, list[str]] = {a: [] for a in agencies}
    n = 0
    for agency, recorder in agencies.items():
        own = [p for p, a in projects if a == agency]
        batch = []
        for _ in range(disbursements // 4):
            n += 1
            voucher = f"V{n:05d}"
            link = requests[0] if agency == "MOE-01" and n % 5 == 0 else b"\0" * 32
            batch.append(
                (
                    encode_code(rng.choice(own)),
                    encode_code(voucher),
                    rng.randint(1, 90_000_00),
                    rng.randbytes(8).hex().encode().ljust(32, b"\0"),
                    rng.randbytes(32),
                    link,
                )
            )
            vouchers[agency].append(voucher)
        _send(w3, f.disburseBatch(batch), recorder)
    for _ in range(disbursements - n):
        n += 1
        agency = rng.choice(list(agencies))
        voucher = f"V{n:05d}"
        project = rng.choice([p for p, a in projects if a == agency])
        _send(
            w3,
            f.disburse(
                (
                    encode_code(project),
                    encode_code(voucher),
                    rng.randint(1, 90_000_00),
                    b"payee".ljust(32, b"\0"),
                    b"\0" * 32,
                    b"\0" * 32,
                )
            ),
            agencies[agency],
        )
        vouchers[agency].append(voucher)
    for agency, recorder in agencies.items():
        for voucher in rng.sample(vouchers[agency], 2):
            _send(w3, f.reverse(encode_code(voucher), "wrong payee"), recorder)
    _send(w3, f.amendAllocation(encode_code(projects[0][0]), 6_000_000_00, "supplementary budget"), admin)
    _send(w3, f.setServiceRole(sl, school_role, encode_code("SCH-03"), False), admin)
    _send(w3, f.removeRecorder(encode_code("SCH-03"), agencies["SCH-03"]), admin)
    return contract, int(receipt["blockNumber"])

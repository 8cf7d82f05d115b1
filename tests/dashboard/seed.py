"""A small, realistic chain for the dashboard tests, written through the contract's real ABI.

Budget lines come from tests/dashboard/fixtures/budget-fy2565-sample.csv (rows of the FY B.E. 2565
budget bill, see the README there); each (budgetary unit, project, year) becomes one project
whose allocation is the sum of its rows. Disbursements are spread over the fiscal year, one is
reversed, and service requests move through their states with some steps on time and some late.
Block times are set explicitly (anvil's evm_setNextBlockTimestamp), so months and working days are
those of FY 2565.
"""

from __future__ import annotations

import csv
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from web3 import Web3

from ledger.artifacts import artifact_sha256, load_artifact
from ledger.deployment import Deployment
from ledger.services import COMPLAINT, STUDENT_LOAN
from ledger.types import BANGKOK, BE_OFFSET, encode_code, encode_tracking, new_tracking_code, parse_baht
from tests.web3_deploy import define_default_services, deploy_contract

BUDGET_CSV = Path(__file__).parent / "fixtures" / "budget-fy2565-sample.csv"
# Genesis: 1 Oct 2021 00:00 Bangkok, the first day of FY 2565.
GENESIS = int(datetime(2021, 10, 1, tzinfo=BANGKOK).timestamp())

# Ministry (its Thai name is the bill's MINISTRY column) -> (code, English name). Registered as
# agencies without recorder keys; a unit's code is under its ministry's.
MINISTRIES = {
    "กระทรวงเกษตรและสหกรณ์": ("MOAC", "Ministry of Agriculture and Cooperatives"),
    "กระทรวงศึกษาธิการ": ("MOE", "Ministry of Education"),
    "กระทรวงสาธารณสุข": ("MOPH", "Ministry of Public Health"),
}
# Budgetary unit (Thai name in the bill) -> (agency code, English name).
AGENCIES = {
    "กรมชลประทาน": ("MOAC/RID", "Royal Irrigation Department"),
    "สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน": ("MOE/OBEC", "Office of the Basic Education Commission"),
    "กรมการแพทย์": ("MOPH/DMS", "Department of Medical Services"),
    "กรมประมง": ("MOAC/DOF", "Department of Fisheries"),
}
RID, OBEC, DMS, DOF = (AGENCIES[unit][0] for unit in AGENCIES)
FUND = ("SLF", "กองทุนเงินให้กู้ยืมเพื่อการศึกษา", "Student Loan Fund")  # a code without "/": its own ministry


@dataclass(frozen=True)
class ProjectLine:
    code: str
    agency: str
    fiscal_year: int
    name: str
    allocation: int  # satang
    items: int


@dataclass
class Seeded:
    deployment: Deployment
    projects: list[ProjectLine]
    agencies: dict[str, tuple[str, str]]  # code -> (Thai, English)
    disbursement_ids: list[int] = field(default_factory=list)
    reversed_id: int = 0
    payees: list[str] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)  # label -> tracking code


def budget_lines() -> list[ProjectLine]:
    """Projects from the sample budget rows: allocation = sum of the rows' AMOUNT."""
    totals: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    order: list[tuple[str, str, int]] = []
    with BUDGET_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["BUDGETARY_UNIT"], row["PROJECT"], int(row["FISCAL_YEAR"]) + BE_OFFSET)
            if key not in totals:
                order.append(key)
            totals[key].append(parse_baht(row["AMOUNT"]))
    lines = []
    counters: dict[tuple[str, int], int] = defaultdict(int)
    for unit, project, year in order:
        agency = AGENCIES[unit][0]
        counters[(agency, year)] += 1
        code = f"{year}-{agency.split('/')[-1]}-{counters[(agency, year)]:02d}"  # e.g. 2565-RID-01
        lines.append(
            ProjectLine(
                code, agency, year, project, sum(totals[(unit, project, year)]), len(totals[(unit, project, year)])
            )
        )
    return lines


class Chain:
    """Sends transactions from anvil's unlocked accounts at chosen block times."""

    def __init__(self, url: str) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.accounts = list(self.w3.eth.accounts)
        self.now = GENESIS + 3600

    def at(self, moment: datetime) -> None:
        stamp = int(moment.timestamp())
        # Block times must grow; several transactions "on the same day" get consecutive seconds.
        self.now = max(self.now + 1, stamp)
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [self.now])

    def send(self, call: Any, sender: str) -> Any:
        tx_hash = call.transact({"from": sender, "gas": 3_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise AssertionError(f"seed transaction failed: {tx_hash.hex()}")
        return receipt


def _day(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BANGKOK)


def seed(url: str) -> Seeded:
    chain = Chain(url)
    admin = chain.accounts[0]
    chain.at(_day(2021, 10, 1, 8))
    contract, receipt = deploy_contract(chain.w3, admin)
    chain.at(_day(2021, 10, 1, 8))
    define_default_services(contract, admin)
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    deployment = Deployment(
        chain_id=chain.w3.eth.chain_id,
        address=contract.address,
        deploy_block=receipt["blockNumber"],
        deploy_block_hash="0x" + bytes(block["hash"]).hex(),
        deploy_tx="0x" + bytes(receipt["transactionHash"]).hex(),
        artifact_sha256=artifact_sha256(),
        compiler=str(load_artifact()["compiler"]["version"]),
    )
    fn = contract.functions
    recorders: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    for thai, (code, english) in MINISTRIES.items():
        names[code] = (thai, english)
        chain.at(_day(2021, 10, 1, 9))
        chain.send(fn.registerAgency(encode_code(code), thai, english), admin)
    for index, (thai, (code, english)) in enumerate([*AGENCIES.items(), (FUND[1], (FUND[0], FUND[2]))]):
        recorders[code] = chain.accounts[index + 1]
        names[code] = (thai, english)
        chain.at(_day(2021, 10, 1, 9))
        chain.send(fn.registerAgency(encode_code(code), thai, english), admin)
        chain.at(_day(2021, 10, 1, 9))
        chain.send(fn.addRecorder(encode_code(code), recorders[code]), admin)
    lines = budget_lines()
    chain.at(_day(2021, 10, 4, 9))
    chain.send(
        fn.registerProjects(
            [(encode_code(p.code), encode_code(p.agency), p.fiscal_year, p.allocation, p.name) for p in lines]
        ),
        admin,
    )
    seeded = Seeded(deployment, lines, names)

    # Everything after registration happens in time order: payments, a reversal, requests.
    actions: list[tuple[datetime, int, Callable[[], None]]] = []

    def schedule(moment: datetime, action: Callable[[], None]) -> None:
        actions.append((moment, len(actions), action))

    _plan_disbursements(chain, fn, recorders, seeded, lines, schedule)
    _plan_requests(chain, fn, admin, recorders, seeded, schedule)
    for moment, _, action in sorted(actions, key=lambda item: (item[0], item[1])):
        chain.at(moment)
        action()
    # A last quiet block late in September: "today" for deadlines is the latest indexed block.
    chain.at(_day(2022, 9, 29, 16))
    chain.w3.provider.make_request("evm_mine", [])
    return seeded


Schedule = Callable[[datetime, Callable[[], None]], None]


def _plan_disbursements(
    chain: Chain, fn: Any, recorders: dict[str, str], seeded: Seeded, lines: list[ProjectLine], schedule: Schedule
) -> None:
    """FY 2565 payments, two to five per project, shares well under the allocation; one reversal."""
    shares = (1250, 875, 1530, 640, 990)  # per ten thousand of the allocation
    months = ((2021, 11, 8), (2022, 1, 12), (2022, 3, 15), (2022, 6, 9), (2022, 8, 22))
    payee_for = {RID: "VENDOR-TH-0107", OBEC: "SCHOOL-0042", DMS: "HOSP-SUPPLY-88", DOF: "VENDOR-TH-0215"}
    counter: dict[str, int] = defaultdict(int)
    vouchers: dict[int, str] = {}
    fy2565 = [p for p in lines if p.fiscal_year == 2565]
    for number, project in enumerate(fy2565):
        for k in range(2 + number % 4):
            year, month, day = months[(k + number) % len(months)]
            amount = project.allocation * shares[(k + number) % len(shares)] // 10_000 + 50  # and 50 satang
            counter[project.agency] += 1
            n = counter[project.agency]
            voucher = f"{project.fiscal_year}/{project.agency}/{n:04d}"
            payee = payee_for[project.agency] if n % 3 else f"PAYEE-{project.agency.split('/')[-1]}-{n:03d}"

            def pay(
                project: ProjectLine = project, amount: int = amount, voucher: str = voucher, payee: str = payee
            ) -> None:
                receipt = chain.send(
                    fn.disburse(
                        (
                            encode_code(project.code),
                            encode_code(voucher),
                            amount,
                            encode_code(payee),
                            secrets.token_bytes(32),
                            b"\0" * 32,
                        )
                    ),
                    recorders[project.agency],
                )
                seq = int.from_bytes(bytes(receipt["logs"][-1]["topics"][1]), "big")
                seeded.disbursement_ids.append(seq)
                seeded.payees.append(payee)
                vouchers[seq] = f"{project.agency}:{voucher}"

            schedule(_day(year, month, day + number % 5, 9 + k), pay)

    def reverse() -> None:
        # The second DMS payment was keyed twice on paper; it is corrected by a reversal, never deleted.
        target = [seq for seq, key in sorted(vouchers.items()) if key.startswith(DMS + ":")][1]
        voucher = vouchers[target].split(":", 1)[1]
        chain.send(fn.reverse(encode_code(voucher), "ใบสำคัญซ้ำ / duplicate voucher"), recorders[DMS])
        seeded.reversed_id = target

    schedule(_day(2022, 7, 4, 14), reverse)


def _plan_requests(
    chain: Chain, fn: Any, admin: str, recorders: dict[str, str], seeded: Seeded, schedule: Schedule
) -> None:
    loan = STUDENT_LOAN.service

    def grant() -> None:
        for role, agency in (("school", OBEC), ("fund", "SLF")):
            chain.send(
                fn.setServiceRole(encode_code(loan), STUDENT_LOAN.roles.index(role), encode_code(agency), True), admin
            )

    schedule(_day(2022, 5, 2, 9), grant)

    def open_request(label: str, service: str, owner: str, moment: datetime) -> str:
        code = new_tracking_code()
        seeded.requests[label] = code
        schedule(
            moment,
            lambda: chain.send(
                fn.openRequest(encode_code(service), encode_tracking(code), secrets.token_bytes(32)), recorders[owner]
            ),
        )
        return code

    def advance(code: str, definition: Any, to: str, by: str, moment: datetime, reason: str = "") -> None:
        schedule(
            moment,
            lambda: chain.send(
                fn.advanceRequest(encode_tracking(code), definition.state_index(to), reason), recorders[by]
            ),
        )

    # A student loan that went all the way: the school on time, the fund late (limit 15 working days).
    a = open_request("loan-paid", loan, "SLF", _day(2022, 5, 9))
    advance(a, STUDENT_LOAN, "school-verified", OBEC, _day(2022, 5, 12), "เอกสารครบ")
    advance(a, STUDENT_LOAN, "fund-approved", "SLF", _day(2022, 6, 24), "อนุมัติวงเงิน")
    advance(a, STUDENT_LOAN, "contract-signed", "SLF", _day(2022, 7, 1))
    advance(a, STUDENT_LOAN, "disbursed", "SLF", _day(2022, 7, 8))
    advance(a, STUDENT_LOAN, "closed", "SLF", _day(2022, 7, 15))
    # Returned for correction, resubmitted, and now waiting at the school past its deadline.
    b = open_request("loan-waiting", loan, "SLF", _day(2022, 8, 1))
    advance(b, STUDENT_LOAN, "returned-for-correction", OBEC, _day(2022, 8, 3), "ขาดสำเนาใบแสดงผลการเรียน")
    advance(b, STUDENT_LOAN, "submitted", "SLF", _day(2022, 8, 10), "ส่งเอกสารเพิ่มแล้ว")
    # Complaints: one handled on time, one left untouched past its 3-day limit.
    c = open_request("complaint-resolved", COMPLAINT.service, DOF, _day(2022, 6, 6))
    advance(c, COMPLAINT, "assigned", DOF, _day(2022, 6, 7), "มอบหมายประมงจังหวัด")
    advance(c, COMPLAINT, "in-progress", DOF, _day(2022, 6, 14))
    advance(c, COMPLAINT, "resolved", DOF, _day(2022, 7, 5), "แก้ไขแล้ว")
    open_request("complaint-late", COMPLAINT.service, RID, _day(2022, 9, 1))

"""A real chain and a real mirror for the API tests: anvil, the GovLedger contract, a scripted
history of agencies, projects (some from the FY2565 budget bill sample), disbursements, a
reversal and service requests at chosen times; then the real indexer (``index_once``).

``Scenario`` keeps what the script did, written down independently of the indexer and the API,
so tests compare the API's answers with the inputs rather than with another output.
"""

from __future__ import annotations

import csv
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from web3 import HTTPProvider, Web3

from api.settings import ApiSettings
from ledger.artifacts import artifact_sha256, load_artifact
from ledger.deployment import Deployment
from ledger.types import encode_code, encode_tracking, new_tracking_code, parse_baht
from tests.web3_deploy import define_default_services, deploy_contract

DATA = Path(__file__).resolve().parent / "data"
ZERO = b"\0" * 32


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# Genesis before every scripted timestamp; January 2027 has no Thai public holiday after the 1st.
GENESIS = utc("2027-01-04T00:00:00")
FINAL_TIME = utc("2027-02-01T03:00:00")  # the last block: "now" for open deadlines
OBEC_PROJECT = "MOE/OBEC/2570-001"  # a project code with "/" in it
ACCOUNTS = 12  # anvil's unlocked accounts: the admin and one recorder per agency (one spare)


@dataclass
class Payment:
    seq: int
    agency: str
    project: str
    voucher: str
    satang: int
    payee: str
    time: int
    request: str | None = None
    reversed_reason: str | None = None


@dataclass
class Scenario:
    rpc_url: str = ""
    deployment: Deployment | None = None
    agencies: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (name, name_en)
    recorders: dict[str, list[str]] = field(default_factory=dict)  # active recorders per agency
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> agency, fy, name, allocation
    payments: list[Payment] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)  # role in the story -> tracking code
    budget_projects: list[str] = field(default_factory=list)
    last_seq: int = 0

    def payment(self, voucher: str, agency: str) -> Payment:
        return next(p for p in self.payments if p.voucher == voucher and p.agency == agency)


class Script:
    """Sends the scenario's transactions from anvil's unlocked dev accounts."""

    def __init__(self, w3: Web3, contract: Any, scenario: Scenario) -> None:
        self.w3 = w3
        self.contract = contract
        self.s = scenario
        self.accounts = w3.eth.accounts
        self.admin = self.accounts[0]

    def at(self, timestamp: int) -> None:
        answer = self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        assert "error" not in answer, (timestamp, answer)

    def send(self, call: Any, sender: str) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": 20_000_000}))
        assert receipt["status"] == 1, receipt
        self.s.last_seq = self.contract.functions.ledgerHead().call()[0]
        return receipt

    def agency(self, code: str, name: str, name_en: str, recorder: str) -> None:
        self.send(self.contract.functions.registerAgency(encode_code(code), name, name_en), self.admin)
        self.send(self.contract.functions.addRecorder(encode_code(code), recorder), self.admin)
        self.s.agencies[code] = (name, name_en)
        self.s.recorders[code] = [recorder]

    def projects(self, rows: list[tuple[str, str, int, int, str]]) -> None:
        for start in range(0, len(rows), 40):
            chunk = rows[start : start + 40]
            inputs = [(encode_code(c), encode_code(a), fy, amount, name) for c, a, fy, amount, name in chunk]
            self.send(self.contract.functions.registerProjects(inputs), self.admin)
            for code, agency, fy, amount, name in chunk:
                self.s.projects[code] = {"agency": agency, "fiscal_year": fy, "name": name, "allocation": amount}

    def pay(
        self, agency: str, project: str, voucher: str, amount: str, payee: str, when: int, request: str = ""
    ) -> None:
        self.at(when)
        tracking = encode_tracking(request) if request else ZERO
        item = (encode_code(project), encode_code(voucher), parse_baht(amount), encode_code(payee), ZERO, tracking)
        self.send(self.contract.functions.disburse(item), self.s.recorders[agency][0])
        self.s.payments.append(
            Payment(self.s.last_seq, agency, project, voucher, parse_baht(amount), payee, when, request or None)
        )

    def pay_batch(self, agency: str, project: str, items: list[tuple[str, str, str]], when: int) -> None:
        self.at(when)
        inputs = [
            (
                encode_code(project),
                encode_code(v),
                parse_baht(a),
                encode_code(p),
                hashlib.sha256(v.encode()).digest(),
                ZERO,
            )
            for v, a, p in items
        ]
        self.send(self.contract.functions.disburseBatch(inputs), self.s.recorders[agency][0])
        first = self.s.last_seq - len(items) + 1
        for offset, (voucher, amount, payee) in enumerate(items):
            self.s.payments.append(Payment(first + offset, agency, project, voucher, parse_baht(amount), payee, when))

    def request(self, service: str, agency: str, when: int) -> str:
        self.at(when)
        code = new_tracking_code()
        commitment = secrets.token_bytes(32)
        self.send(
            self.contract.functions.openRequest(encode_code(service), encode_tracking(code), commitment),
            self.s.recorders[agency][0],
        )
        return code

    def advance(self, tracking: str, to_state: int, agency: str, when: int, reason: str = "") -> None:
        self.at(when)
        self.send(
            self.contract.functions.advanceRequest(encode_tracking(tracking), to_state, reason),
            self.s.recorders[agency][0],
        )


def budget_lines(path: Path = DATA / "budget-fy2565-sample.csv") -> list[tuple[str, str, str, int]]:
    """(agency code, unit name, project name, satang) per project of the budget bill sample.

    A project is a budgetary unit's PROJECT, else its OUTPUT, else its BUDGET_PLAN; codes are
    derived from the source document and names so that the same input gives the same code.
    Rows the extraction flagged (DEBUG_LOG), multi-year commitments and bad amounts are left out.
    """
    totals: dict[tuple[str, str, str], int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["DEBUG_LOG"].strip() or row["OBLIGED?"].strip() == "True":
                continue
            try:
                satang = parse_baht(row["AMOUNT"])
            except ValueError:
                continue
            name = row["PROJECT"].strip() or row["OUTPUT"].strip() or row["BUDGET_PLAN"].strip()
            key = (row["REF_DOC"].strip(), row["BUDGETARY_UNIT"].strip(), name)
            totals[key] = totals.get(key, 0) + satang
    lines = []
    for (ref_doc, unit, name), satang in sorted(totals.items()):
        if satang == 0:
            continue
        unit_code = "B65-" + hashlib.sha256(unit.encode()).hexdigest()[:8].upper()
        lines.append((unit_code, unit, name, satang, ref_doc))
    return [(a, u, n, s) for a, u, n, s, _ in lines]


def seed(rpc_url: str) -> Scenario:
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    scenario = Scenario(rpc_url=rpc_url)
    admin = w3.eth.accounts[0]
    contract, receipt = deploy_contract(w3, admin)
    define_default_services(contract, admin)
    block = w3.eth.get_block(receipt["blockNumber"])
    artifact = load_artifact()
    scenario.deployment = Deployment(
        chain_id=w3.eth.chain_id,
        address=contract.address,
        deploy_block=receipt["blockNumber"],
        deploy_block_hash=block["hash"].to_0x_hex(),
        deploy_tx=receipt["transactionHash"].to_0x_hex(),
        artifact_sha256=artifact_sha256(),
        compiler=str(artifact["compiler"]["version"]),
    )
    s = Script(w3, contract, scenario)
    acc = w3.eth.accounts
    s.at(utc("2027-01-04T02:00:00"))
    s.agency("MOE", "กระทรวงศึกษาธิการ", "Ministry of Education", acc[1])
    s.agency("MOPH", "กระทรวงสาธารณสุข", "Ministry of Public Health", acc[2])
    s.agency("SLF", "กองทุนเงินให้กู้ยืมเพื่อการศึกษา", "Student Loan Fund", acc[3])
    # A recorder key added and removed again: only acc[2] records for MOPH afterwards.
    s.send(contract.functions.addRecorder(encode_code("MOPH"), acc[4]), admin)
    s.send(contract.functions.removeRecorder(encode_code("MOPH"), acc[4]), admin)
    s.projects(
        [
            ("MOE-2570-001", "MOE", 2570, parse_baht("1,000,000.00"), "โครงการอาหารกลางวันนักเรียน"),
            ("MOE-2570-002", "MOE", 2570, parse_baht("250000.50"), "School Wi-Fi โครงการอินเทอร์เน็ตโรงเรียน"),
            ("MOE-2569-001", "MOE", 2569, parse_baht("500000"), "โครงการซ่อมแซมอาคารเรียน"),
            ("MOPH-2570-001", "MOPH", 2570, parse_baht("2000000"), "โครงการวัคซีนป้องกันไข้หวัดใหญ่"),
            ("SLF-2570-001", "SLF", 2570, parse_baht("100000"), "เงินกู้ยืมเพื่อการศึกษา"),
        ]
    )
    s.send(
        contract.functions.amendAllocation(encode_code("MOE-2570-002"), parse_baht("300000.50"), "เพิ่มงบกลางปี"),
        admin,
    )
    scenario.projects["MOE-2570-002"]["allocation"] = parse_baht("300000.50")

    # The FY2565 budget bill sample: its units become agencies, its lines projects.
    lines = budget_lines()
    for unit_code, unit in sorted({(a, u) for a, u, _, _ in lines}):
        s.agency(unit_code, unit, "", acc[5 + len([c for c in scenario.agencies if c.startswith("B65-")])])
    budget_rows = []
    for index, (unit_code, _unit, name, satang) in enumerate(lines):
        code = f"FY2565-{index + 1:04d}"
        budget_rows.append((code, unit_code, 2565, satang, name))
        scenario.budget_projects.append(code)
    s.projects(budget_rows)

    # A unit of the Ministry of Education: its code is under MOE's, and so is a project code.
    s.agency("MOE/OBEC", "สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน", "Office of the Basic Education Commission", acc[10])
    s.projects([(OBEC_PROJECT, "MOE/OBEC", 2570, parse_baht("400000"), "โครงการพัฒนาครูทั่วประเทศ")])

    s.pay("MOE", "MOE-2570-001", "V-0001", "12,345.67", "0105556000001", utc("2027-01-05T03:00:00"))
    s.pay("MOE", "MOE-2570-001", "V-0002", "500.00", "SUP-001", utc("2027-01-05T04:00:00"))
    s.pay("MOE", "MOE-2570-002", "V-0003", "100000.00", "SUP-002", utc("2027-01-06T03:00:00"))
    s.pay("MOE", "MOE-2569-001", "V-0004", "1.00", "SUP-001", utc("2027-01-07T03:00:00"))
    s.pay("MOPH", "MOPH-2570-001", "V-0001", "750000", "HOSP-01", utc("2027-01-07T04:00:00"))
    s.pay("MOE/OBEC", OBEC_PROJECT, "V/OBEC/0001", "3,000.25", "SUP-OBEC", utc("2027-01-07T05:00:00"))
    s.pay_batch(
        "MOE",
        "MOE-2570-001",
        [(f"B-{i:03d}", f"{10 + i}.25", "SUP-BULK") for i in range(25)],
        utc("2027-01-08T03:00:00"),
    )
    s.at(utc("2027-01-08T05:00:00"))
    s.send(contract.functions.reverse(encode_code("V-0002"), "จ่ายซ้ำ duplicate payment"), acc[1])
    scenario.payment("V-0002", "MOE").reversed_reason = "จ่ายซ้ำ duplicate payment"
    budget_agency = lines[0][0]
    s.pay(budget_agency, scenario.budget_projects[0], "BV-1", "1000.00", "SUP-65", utc("2027-01-08T06:00:00"))

    # Service requests. Complaint (owner MOE): received 3, assigned 7, in-progress 30 working days.
    s.send(contract.functions.setServiceRole(encode_code("student-loan"), 1, encode_code("MOE"), True), admin)
    s.send(contract.functions.setServiceRole(encode_code("student-loan"), 2, encode_code("SLF"), True), admin)
    t1 = s.request("complaint", "MOE", utc("2027-01-11T03:00:00"))  # Mon 11 Jan, 10:00 Bangkok
    t3 = s.request("student-loan", "SLF", utc("2027-01-11T04:00:00"))
    t2 = s.request("complaint", "MOE", utc("2027-01-12T03:00:00"))
    s.advance(t2, 5, "MOE", utc("2027-01-12T05:00:00"), "ผู้ร้องถอนเรื่อง")  # withdrawn, same day
    s.advance(t1, 1, "MOE", utc("2027-01-13T03:00:00"), "มอบหมายงาน")  # assigned Wed 13: 2 days, limit 3
    s.advance(t3, 1, "MOE", utc("2027-01-22T03:00:00"), "school verified")  # Fri 22: 9 days, limit 7
    s.advance(t1, 2, "MOE", utc("2027-01-25T03:00:00"), "")  # Mon 25: 8 days in assigned, limit 7
    s.pay("SLF", "SLF-2570-001", "L-0001", "20000", "STU-LOAN-0001", utc("2027-01-29T03:00:00"), request=t3)
    scenario.requests = {"complaint-open": t1, "complaint-withdrawn": t2, "loan": t3}
    # The last block, Monday 1 Feb: "now" for the requests still open.
    s.at(FINAL_TIME)
    s.send(contract.functions.addRecorder(encode_code("SLF"), acc[9]), admin)
    scenario.recorders["SLF"].append(acc[9])
    return scenario


def build_mirror(scenario: Scenario, database_url: str) -> None:
    from indexer.sync import index_once

    assert scenario.deployment is not None
    index_once(scenario.rpc_url, database_url, scenario.deployment)


def settings_for(url: str, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {"database_url": url, "cursor_secret": b"test-secret", "rate_limit": 0.0}
    values.update(overrides)
    return ApiSettings(**values)

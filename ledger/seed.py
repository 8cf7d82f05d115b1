"""Demo data for `govledger demo`: real FY2565 budget lines plus realistic activity.

Everything goes through the same paths agencies use (budget import, the typed client,
batched disbursements), with keys derived from public demo seeds: this is for a local
development chain only. The plan is deterministic (one random seed), so the seed data's
totals can be recomputed independently by a test.

When the demo started its own chain, seeding also moves chain time forward (anvil's
`evm_increaseTime`) so that disbursements spread over fiscal year 2565 and some service
requests run past their legal deadlines; on any other node that step is skipped.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.budget import import_budget
from ledger.client import LedgerClient
from ledger.paths import PROJECT_ROOT
from ledger.privacy import DEV_AGENCY_SECRET, applicant_commitment, new_salt
from ledger.rpc import JsonRpc
from ledger.services import COMPLAINT, STUDENT_LOAN
from ledger.types import encode_code, new_tracking_code
from ledger.values import Disbursement

DEMO_BUDGET = PROJECT_ROOT / "ledger" / "data" / "fy2565-demo.csv"
DEMO_FISCAL_YEAR = 2565
RANDOM_SEED = 2565
DAY = 86_400

# Two demo agencies that run the student-loan service (the budget file has no schools).
SCHOOL = ("DEMO-SCHOOL", "โรงเรียนสาธิตตัวอย่าง (ข้อมูลสาธิต)", "Demonstration School (demo data)")
LOAN_FUND = ("DEMO-SLF", "กองทุนเงินให้กู้ยืมเพื่อการศึกษา (ข้อมูลสาธิต)", "Student Loans Fund (demo data)")

# anvil's second development account (public, from its default mnemonic); local chains only.
FUNDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

Progress = Callable[[str], None]


def demo_key(agency: str) -> LocalAccount:
    """The demo recorder key of an agency: derived from a public seed, never for real use."""
    return Account.from_key(keccak(text=f"govledger-demo-recorder:{agency}"))


def fake_national_id(rng: random.Random) -> str:
    """A random 13-digit number with a valid Thai check digit (not a real person's ID)."""
    digits = [rng.randint(1, 8)] + [rng.randint(0, 9) for _ in range(11)]
    check = (11 - sum((13 - i) * d for i, d in enumerate(digits)) % 11) % 10
    return "".join(map(str, digits)) + str(check)


@dataclass
class SeedSummary:
    agencies: int = 0
    projects: int = 0
    allocated: int = 0  # satang
    disbursements: int = 0
    disbursed: int = 0  # satang, gross
    reversals: int = 0
    reversed: int = 0  # satang
    requests: int = 0
    transitions: int = 0
    receipts: list[dict[str, str]] = field(default_factory=list)


def plan_disbursements(
    projects: dict[str, tuple[str, int]], rng: random.Random, limit: int
) -> list[tuple[str, Disbursement]]:
    """(agency, disbursement) pairs: each project spends 15-85% of its allocation in 1-12 payments.

    ``projects`` maps project code to (agency code, allocation in satang).
    """
    vendors = [f"VND-{n:05d}" for n in rng.sample(range(10_000, 99_999), 300)]
    planned: list[tuple[str, Disbursement]] = []
    counters: dict[str, int] = {}
    for code in sorted(projects):
        agency, allocation = projects[code]
        if allocation < 100_00:
            continue
        share = rng.uniform(0.15, 0.85)
        payments = rng.randint(1, 12)
        budget = int(allocation * share)
        weights = [rng.random() + 0.2 for _ in range(payments)]
        total_weight = sum(weights)
        for weight in weights:
            amount = max(1, int(budget * weight / total_weight))
            counters[agency] = counters.get(agency, 0) + 1
            voucher = f"PV65-{counters[agency]:06d}"
            document = hashlib.sha256(f"demo voucher {agency} {voucher}".encode()).digest()
            planned.append((agency, Disbursement(code, amount, rng.choice(vendors), voucher, document)))
    rng.shuffle(planned)
    return planned[:limit]


class Seeder:
    """Seeds an empty deployment. ``admin`` is the registrar's client (anvil's dev key)."""

    def __init__(self, admin: LedgerClient, rpc_url: str, *, time_travel: bool, progress: Progress = print) -> None:
        self.admin = admin
        self.rpc_url = rpc_url
        self._clients: dict[str, LedgerClient] = {}
        self.time_travel = time_travel
        self.progress = progress
        self.rng = random.Random(RANDOM_SEED)
        self.summary = SeedSummary()

    # -- plumbing

    def _client_for(self, agency: str) -> LedgerClient:
        """One client (own connection, own nonces) per agency, so agencies can record in parallel."""
        if agency not in self._clients:
            self._clients[agency] = LedgerClient(
                JsonRpc(self.rpc_url), self.admin.address, demo_key(agency), deploy_block=self.admin.deploy_block
            )
        return self._clients[agency]

    def _advance_time(self, seconds: int) -> None:
        if self.time_travel:
            self.admin.transport.call("evm_increaseTime", [seconds])

    def _fund(self, addresses: list[str]) -> None:
        """Give each recorder gas money with plain value transfers from anvil's second dev account.

        A separate funder keeps the admin client's local nonce untouched.
        """
        account = Account.from_key(FUNDER_KEY)
        nonce = int(self.admin.transport.call("eth_getTransactionCount", [account.address, "pending"]), 16)
        gas_price = int(self.admin.transport.call("eth_gasPrice", []), 16)
        hashes = []
        for i, address in enumerate(addresses):
            tx = {
                "to": address,
                "value": 10**20,
                "gas": 21_000,
                "gasPrice": gas_price * 2,
                "nonce": nonce + i,
                "chainId": self.admin.chain_id,
            }
            raw = account.sign_transaction(tx).raw_transaction
            hashes.append(self.admin.transport.call("eth_sendRawTransaction", ["0x" + raw.hex()]))
        for tx_hash in hashes:
            while self.admin.transport.call("eth_getTransactionReceipt", [tx_hash]) is None:
                time.sleep(0.02)

    # -- phases

    def run(self, budget_file: Path = DEMO_BUDGET, max_disbursements: int = 3000) -> SeedSummary:
        s = self.summary
        self.progress(f"importing budget lines from {budget_file.name}")
        budget = import_budget(self.admin, budget_file, DEMO_FISCAL_YEAR)
        projects = {code: (spec.agency, spec.allocation) for code, spec in budget.plan.projects.items()}
        s.agencies = len(budget.plan.ministries) + len(budget.plan.agencies)
        s.projects = len(projects)
        s.allocated = budget.allocated

        for code, name, name_en in (SCHOOL, LOAN_FUND):
            if not self.admin.agency_exists(code):
                self.admin.register_agency(code, name, name_en)
            s.agencies += 1
        # Recorder keys per budgetary unit (and demo agency); ministries record nothing themselves.
        agencies = sorted(set(budget.plan.agencies) | {SCHOOL[0], LOAN_FUND[0]})
        self.progress(f"adding and funding recorder keys for {len(agencies)} agencies")
        missing = [a for a in agencies if self.admin.agency_of(demo_key(a).address) is None]
        self.admin.send_pipelined(
            [(self.admin.abi.encode("addRecorder", encode_code(a), demo_key(a).address), 200_000) for a in missing]
        )
        self._fund([demo_key(a).address for a in agencies])
        self.admin.set_service_role(STUDENT_LOAN.service, STUDENT_LOAN.roles.index("school"), SCHOOL[0])
        self.admin.set_service_role(STUDENT_LOAN.service, STUDENT_LOAN.roles.index("fund"), LOAN_FUND[0])

        self._disburse(projects, max_disbursements)
        self._requests(complaint_owner=agencies[0])
        return s

    def _disburse(self, projects: dict[str, tuple[str, int]], limit: int) -> None:
        s = self.summary
        planned = plan_disbursements(projects, self.rng, limit)
        self.progress(f"recording {len(planned)} disbursements over fiscal year {DEMO_FISCAL_YEAR}")
        rounds = 6  # one batch per agency every two months keeps the demo's set-up short
        recorded: list[tuple[str, Disbursement]] = []
        for round_ in range(rounds):
            chunk = planned[round_::rounds]
            by_agency: dict[str, list[Disbursement]] = {}
            for agency, disbursement in chunk:
                by_agency.setdefault(agency, []).append(disbursement)
            clients = [(self._client_for(agency), items) for agency, items in sorted(by_agency.items())]
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda pair: pair[0].disburse_batch(pair[1]), clients))
            recorded += chunk
            s.disbursements += len(chunk)
            s.disbursed += sum(d.amount for _, d in chunk)
            self._advance_time(61 * DAY)
        # About one in a hundred payments turns out to be a mistake and is reversed.
        for agency, disbursement in self.rng.sample(recorded, max(1, len(recorded) // 100)):
            reason = self.rng.choice(
                (
                    "จ่ายซ้ำ - duplicate payment",
                    "ผู้รับเงินไม่ถูกต้อง - wrong payee",
                    "จำนวนเงินผิด บันทึกใหม่ - wrong amount, re-recorded",
                )
            )
            self._client_for(agency).reverse(disbursement.voucher, reason)
            s.reversals += 1
            s.reversed += disbursement.amount

    def _requests(self, complaint_owner: str) -> None:
        """Open requests and move them along their flows over ~60 days of chain time."""
        s = self.summary
        secret = DEV_AGENCY_SECRET.encode()
        # Each plan: (service definition, owner agency, [(day, to_state, acting agency), ...]).
        plans = []
        for i in range(24):
            happy = ["school-verified", "fund-approved", "contract-signed", "disbursed", "closed"]
            stop = self.rng.randint(0, len(happy))
            opened = day = self.rng.randint(0, 10)
            steps = []
            actors = {"school-verified": SCHOOL[0]}
            for state in happy[:stop]:
                # Most steps are on time; some take longer than the legal limit.
                day += self.rng.choice((2, 3, 5, 8, 12, 25))
                steps.append((day, state, actors.get(state, LOAN_FUND[0])))
            if stop == 0 and i % 3 == 0:
                steps.append((day + 4, "returned-for-correction", SCHOOL[0]))
            plans.append((STUDENT_LOAN, SCHOOL[0], opened, steps))
        for _ in range(16):
            flow = self.rng.choice(
                (["assigned", "in-progress", "resolved"], ["assigned", "in-progress"], ["rejected"], ["withdrawn"], [])
            )
            day = self.rng.randint(0, 20)
            opened = day
            steps = []
            for state in flow:
                day += self.rng.choice((1, 2, 4, 9, 20))
                steps.append((day, state, complaint_owner))
            plans.append((COMPLAINT, complaint_owner, opened, steps))

        events = []  # (day, order, action)
        for index, (definition, owner, opened, steps) in enumerate(plans):
            tracking = new_tracking_code()
            events.append((opened, index, "open", definition, owner, tracking, None))
            for day, state, actor in steps:
                events.append((day, index, "advance", definition, actor, tracking, state))
        events.sort(key=lambda e: (e[0], e[1], e[2] != "open"))
        self.progress(f"opening {len(plans)} service requests and moving them along their flows")
        today = 0
        for day, _, action, definition, agency, tracking, state in events:
            if day > today:
                self._advance_time((day - today) * DAY)
                today = day
            client = self._client_for(agency)
            if action == "open":
                salt = new_salt()
                commitment = applicant_commitment(fake_national_id(self.rng), secret, salt)
                client.open_request(definition.service, tracking, commitment)
                s.requests += 1
                s.receipts.append({"tracking_code": tracking, "service": definition.service, "salt": salt.hex()})
            else:
                client.advance_request(tracking, definition.state_index(state))
                s.transitions += 1
        self._advance_time(5 * DAY)

"""Hypothesis stateful test: random call sequences against eth-tester's EVM and a Python model.

Every call's outcome (success, or the exact custom error and arguments) must equal the
model's verdict, and every recorded entry's seq and head the model's running hash. After
every step that recorded something, ``ledgerHead()`` and ``project()`` of the projects it
touched equal the model (a reverted call cannot change storage); at the end of each example
every project and every voucher (``disbursement()``: amount, reversal flag) is compared.
Net disbursed never exceeds the allocation; a reversal happens at most once. Each example
starts from the same seeded state by resuming its state root: nothing is redeployed.

Profiles (HYPOTHESIS_PROFILE): ``ci`` (default) 250 examples x 50 steps, asserting that at
least 200 x 50 = 10,000 random steps really ran; ``local`` 1,000 x 100; ``quick`` 20 x 50.
Steps are rule calls after the seeding @initialize.

The whole run also feeds the personal-data scan: calldata, event data and storage
written are scanned for 13-digit strings with a valid Thai ID check digit. Applicants
are real-looking IDs here, committed only through keccak(salt || HMAC), as in the product.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from stdnum.th import pin

from ledger.artifacts import load_artifact
from ledger.deploy import service_args
from ledger.services import DEFAULT_SERVICES
from ledger.types import MAX_ALLOCATION

from .conftest import report
from .evm import Evm, Ledger
from .heads import next_head
from .model import SERVICES, ZERO32, Model, Refusal

# Hypothesis counts the @initialize rule as a step, hence 51 / 101 for 50 / 100 random calls.
settings.register_profile(
    "ci",
    # Hypothesis keeps some examples short (about 44 steps on average were seen with 200), so
    # 250 examples make sure at least 200 x 50 = 10,000 random steps actually run.
    max_examples=250,
    stateful_step_count=51,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # no replays of old local failures: the step count stays exact
)
settings.register_profile(
    "local", max_examples=1_000, stateful_step_count=101, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "quick",
    max_examples=20,
    stateful_step_count=51,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
STEPS_REQUIRED = {"ci": 200 * 50}  # random steps that must really run (issue 2: >= 200 x 50)

AGENCIES = [c.encode().ljust(32, b"\0") for c in ("AG-A", "AG-B", "AG-C", "AG-D")]
PROJECTS = [c.encode().ljust(32, b"\0") for c in ("PA", "PB", "PC", "PD", "PE")]
AGENCY_SECRET = b"agency hmac secret (test only)"
_DIGITS = re.compile(rb"[0-9]{13,}")


def code(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def thai_id(rng: random.Random) -> str:
    body = str(rng.randrange(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(11))
    return body + pin.calc_check_digit(body)


def applicant_commitment(national_id: str, salt: bytes) -> bytes:
    # The product's binding (ledger/privacy.py): keccak256(salt || HMAC-SHA256(agencySecret, id)).
    return keccak(salt + hmac.new(AGENCY_SECRET, national_id.encode(), hashlib.sha256).digest())


def thai_id_hits(blobs: Iterable[bytes]) -> list[bytes]:
    """Every 13-digit ASCII window (inside longer digit runs too) with a valid check digit."""
    hits = []
    for blob in blobs:
        for run in _DIGITS.findall(blob):
            hits += [run[i : i + 13] for i in range(len(run) - 12) if pin.is_valid(run[i : i + 13].decode())]
    return hits


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)
    examples: int = 0
    steps: int = 0
    mismatches: int = 0
    ids_committed: int = 0
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    state_checks: int = 0
    rule_steps: int = 0  # rules run (the invariant runs once after each, and once per example start)


@dataclass
class World:
    """A seeded chain and its model, resumed at the start of every example."""

    evm: Evm
    ledger: Ledger
    keys: list[bytes]
    root: bytes
    model: Model
    stats: Stats = field(default_factory=Stats)
    scan: bool = False
    changed: bool = True  # whether a ledger entry was added since the last state check
    touched: set[bytes] = field(default_factory=set)  # projects changed since the last check
    blobs: list[bytes] = field(default_factory=list)


def build_world(artifact: dict[str, Any] | None = None) -> World:
    evm = Evm()
    keys = evm.accounts
    admin, pauser = keys[0], keys[7]
    ledger = Ledger(evm, artifact or load_artifact(), admin)
    model = Model(registrars={admin}, pausers={admin})
    world = World(evm, ledger, keys, b"", model)
    setup = Driver(world, model)
    for definition in DEFAULT_SERVICES:
        assert ledger.transact(admin, "defineService", *service_args(definition)).ok
        fields = list(service_args(definition))
        model.seq += 1
        model.head = next_head(model.head, model.seq, "ServiceDefined", fields)
    assert ledger.head() == (model.seq, model.head)
    assert ledger.transact(admin, "grantRole", keccak(text="PAUSER_ROLE"), pauser).ok
    model.pausers.add(pauser)
    for i, agency in enumerate(AGENCIES[:3]):
        setup.expect_ok(admin, "registerAgency", (agency, f"กรม {i}", f"Department {i}"), model.register_agency)
        setup.expect_ok(admin, "addRecorder", (agency, keys[1 + i]), model.add_recorder)
    setup.expect_ok(
        admin,
        "registerProjects",
        ([(PROJECTS[i], AGENCIES[i], 2568, 1_000_000, f"project {i}") for i in range(3)],),
        lambda c, p: model.register_projects(c, p),
    )
    setup.expect_ok(admin, "setServiceRole", (code("student-loan"), 1, AGENCIES[1], True), model.set_service_role)
    setup.expect_ok(admin, "setServiceRole", (code("student-loan"), 2, AGENCIES[2], True), model.set_service_role)
    world.root = evm.snapshot()
    return world


class Driver:
    """Send a call, compute the model's verdict, compare both, advance the model."""

    def __init__(self, world: World, model: Model) -> None:
        self.world = world
        self.model = model

    def expect_ok(self, caller: bytes, fn: str, args: tuple[Any, ...], verdict: Any) -> None:
        assert self.run(caller, fn, args, verdict), fn

    def run(self, caller: bytes, fn: str, args: tuple[Any, ...], verdict: Any, label: str = "") -> bool:
        world = self.world
        label = label or fn
        expected = verdict(caller, *args)
        outcome = world.ledger.transact(caller, fn, *args)
        world.stats.calls[label] += 1
        if world.scan:
            world.blobs.append(outcome.calldata)
            world.blobs.extend(
                data + b"".join(t.to_bytes(32, "big") for t in topics) for _, topics, data in outcome.logs
            )
        if isinstance(expected, Refusal):
            world.stats.refusals[(label, expected.error)] += 1
            got = (outcome.error.name, outcome.error.args) if outcome.error else ("<success>", ())
            if got != (expected.error, expected.args):
                world.stats.mismatches += 1
                raise AssertionError(f"{fn} by {caller.hex()}: expected {expected}, got {got}")
            return False
        if not outcome.ok:
            world.stats.mismatches += 1
            raise AssertionError(f"{fn} by {caller.hex()}: expected success, got {outcome.error}")
        applied = self.model.apply(expected)
        ours = [e for e in outcome.events if e["event"] not in ("Paused", "Unpaused")]
        emitted = [(e["args"]["seq"], e["event"], e["args"]["head"]) for e in ours]
        assert emitted == [(s, n, h) for s, n, _, h in applied], f"{fn}: events {emitted} != model {applied}"
        world.stats.successes[label] += 1
        for _, event, fields, _ in applied:
            if event.startswith(("Project", "Allocation", "Disbursement")):
                world.touched.add(fields[0])
        world.changed = world.changed or bool(applied)
        return True


def make_machine(world: World) -> type[RuleBasedStateMachine]:
    """The state machine class over ``world`` (the committed contract or a planted variant)."""

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            world.evm.revert(world.root)
            world.changed = True
            world.touched.clear()
            self.model: Model = world.model.copy()
            world.stats.examples += 1
            self.driver = Driver(world, self.model)
            self.keys = world.keys
            self.counter = 0
            self.rng = random.Random()

        # --- helpers
        def _send(self, caller: bytes, fn: str, args: tuple[Any, ...], verdict: Any, label: str = "") -> bool:
            world.stats.steps += 1
            return self.driver.run(caller, fn, args, verdict, label)

        def _pick_caller(self, hint: str, agency: bytes | None) -> bytes:
            admin, pauser, stranger = self.keys[0], self.keys[7], self.keys[8]
            if hint == "recorder" and agency is not None:
                recorders = [k for k, a in sorted(self.model.recorder_agency.items()) if a == agency]
                if recorders:
                    return recorders[self.counter % len(recorders)]
            return {"admin": admin, "pauser": pauser, "stranger": stranger}.get(hint, self.keys[1 + self.counter % 6])

        def _fresh(self, prefix: str) -> bytes:
            self.counter += 1
            return code(f"{prefix}-{self.counter}")

        @initialize(seed=st.integers(0, 2**32))
        def seed(self, seed: int) -> None:
            self.rng.seed(seed)

        # --- rules
        @rule(
            project=st.sampled_from(PROJECTS[:3] * 3 + PROJECTS[3:]),
            caller=st.sampled_from(["recorder"] * 10 + ["other", "admin", "stranger"]),
            amount=st.sampled_from(["random"] * 8 + ["1"] * 2 + ["remaining", "0", "remaining+1", "max"]),
            reuse=st.integers(0, 9),
            link=st.booleans(),
        )
        def disburse(self, project: bytes, caller: str, amount: str, reuse: int, link: bool) -> None:
            p = self.model.projects.get(project)
            key = self._pick_caller(caller, p.agency if p else None)
            self._send(key, "disburse", (self._item(project, amount, reuse, link),), self._single)

        def _single(self, caller: bytes, item: tuple[bytes, ...]) -> Any:
            return self.model.disburse_batch(caller, [item], single=True)

        def _item(self, project: bytes, amount: str, reuse: int, link: bool, spent: int = 0) -> tuple[bytes, ...]:
            p = self.model.projects.get(project)
            remaining = max(p.allocation - p.net - spent, 0) if p else 1_000
            value = {
                "random": self.rng.randint(1, max(1, remaining // 4)),
                "1": 1,
                "remaining": remaining,
                "0": 0,
                "remaining+1": remaining + 1,
                "max": 2**256 - 1,
            }[amount]
            used = [v for (_, v) in self.model.vouchers]
            voucher = used[reuse % len(used)] if used and reuse == 0 else self._fresh("V")
            tracking = ZERO32
            if link:
                opened = sorted(self.model.requests)
                tracking = opened[reuse % len(opened)] if opened and reuse < 8 else keccak(text="none")[:20] + bytes(12)
            return (project, voucher, value, code(f"VENDOR-{reuse}"), keccak(voucher), tracking)

        @rule(
            project=st.sampled_from(PROJECTS[:3]),
            size=st.integers(1, 5),
            amounts=st.lists(
                st.sampled_from(["random"] * 12 + ["1", "remaining", "0", "remaining+1"]), min_size=5, max_size=5
            ),
            caller=st.sampled_from(["recorder"] * 10 + ["other", "stranger"]),
        )
        def disburse_batch(self, project: bytes, size: int, amounts: list[str], caller: str) -> None:
            p = self.model.projects.get(project)
            key = self._pick_caller(caller, p.agency if p else None)
            items: list[tuple[bytes, ...]] = []
            for i in range(size):
                # "remaining" means what is left after the batch's earlier items.
                items.append(self._item(project, amounts[i], 1 + i, False, spent=sum(int(d[2]) for d in items)))
            self._send(key, "disburseBatch", (items,), lambda c, ds: self.model.disburse_batch(c, ds))

        @rule(
            pick=st.integers(0, 2**16),
            caller=st.sampled_from(["recorder"] * 6 + ["other", "stranger"]),
            reason=st.sampled_from(["ผิดบัญชี", "duplicate", ""]),
        )
        def reverse(self, pick: int, caller: str, reason: str) -> None:
            vouchers = sorted(self.model.vouchers)
            if vouchers:
                agency, voucher = vouchers[pick % len(vouchers)]
            else:
                agency, voucher = AGENCIES[0], code("V-none")
            key = self._pick_caller(caller, agency)
            self._send(key, "reverse", (voucher, reason), self.model.reverse)

        @rule(
            project=st.sampled_from(PROJECTS),
            to=st.sampled_from(["net", "net-1", "net+1", "up", "zero", "max", "uint128", "cap", "cap+1"]),
            caller=st.sampled_from(["admin"] * 4 + ["pauser", "stranger", "recorder"]),
            reason=st.sampled_from(["งบเพิ่มเติม", ""]),
        )
        def amend(self, project: bytes, to: str, caller: str, reason: str) -> None:
            p = self.model.projects.get(project)
            net = p.net if p else 0
            value = {
                "net": net,
                "net-1": max(net - 1, 0),
                "net+1": net + 1,
                "up": net + 500_000,
                "zero": 0,
                "max": 2**256 - 1,
                "uint128": 2**128,
                "cap": MAX_ALLOCATION,
                "cap+1": MAX_ALLOCATION + 1,
            }[to]
            key = self._pick_caller(caller, p.agency if p else AGENCIES[0])
            self._send(key, "amendAllocation", (project, value, reason), self.model.amend_allocation)

        @rule(
            project=st.sampled_from(PROJECTS),
            agency=st.sampled_from(AGENCIES),
            allocation=st.sampled_from([0, 1, 1_000_000, MAX_ALLOCATION, MAX_ALLOCATION + 1]),
            year=st.sampled_from([2568, 2499, 2700]),
            caller=st.sampled_from(["admin"] * 4 + ["pauser", "stranger"]),
        )
        def register_project(self, project: bytes, agency: bytes, allocation: int, year: int, caller: str) -> None:
            key = self._pick_caller(caller, None)
            batch = [(project, agency, year, allocation, "โครงการ")]
            self._send(key, "registerProjects", (batch,), self.model.register_projects)

        @rule(agency=st.sampled_from(AGENCIES), caller=st.sampled_from(["admin"] * 3 + ["stranger"]))
        def register_agency(self, agency: bytes, caller: str) -> None:
            key = self._pick_caller(caller, None)
            self._send(key, "registerAgency", (agency, "กรม", "Dept"), self.model.register_agency)

        @rule(
            agency=st.sampled_from(AGENCIES),
            who=st.integers(1, 6),
            caller=st.sampled_from(["admin"] * 3 + ["stranger"]),
        )
        def add_recorder(self, agency: bytes, who: int, caller: str) -> None:
            self._send(
                self._pick_caller(caller, None), "addRecorder", (agency, self.keys[who]), self.model.add_recorder
            )

        @rule(
            agency=st.sampled_from(AGENCIES),
            who=st.integers(1, 6),
            caller=st.sampled_from(["admin"] * 3 + ["stranger"]),
        )
        def remove_recorder(self, agency: bytes, who: int, caller: str) -> None:
            key = self._pick_caller(caller, None)
            self._send(key, "removeRecorder", (agency, self.keys[who]), self.model.remove_recorder)

        @rule(
            caller=st.sampled_from(["pauser", "admin", "stranger", "recorder"]),
            during=st.sampled_from(["disburse", "reverse", "openRequest", "registerAgency"]),
            unpause_by=st.sampled_from(["stranger", "recorder", "pauser", "admin"]),
        )
        def pause_briefly(self, caller: str, during: str, unpause_by: str) -> None:
            # Pause, try one write, try to unpause by anyone, and finally unpause by the pauser:
            # the ledger stays open between steps so that enough disbursements succeed.
            self._send(self._pick_caller(caller, None), "pause", (), self.model.pause)
            recorder = self._pick_caller("recorder", AGENCIES[0])
            if during == "disburse":
                item = self._item(PROJECTS[0], "1", 1, False)
                self._send(recorder, "disburse", (item,), self._single, label="disburse(paused)")
            elif during == "reverse":
                self._send(recorder, "reverse", (code("V-1"), "r"), self.model.reverse)
            elif during == "openRequest":
                args = (code("complaint"), keccak(self._fresh("T"))[:20] + bytes(12), keccak(b"c"))
                self._send(recorder, "openRequest", args, self.model.open_request)
            else:
                self._send(self.keys[0], "registerAgency", (self._fresh("AG"), "n", "n"), self.model.register_agency)
            self._send(self._pick_caller(unpause_by, None), "unpause", (), self.model.unpause)
            if self.model.paused:
                self._send(self.keys[7], "unpause", (), self.model.unpause)

        @rule(
            service=st.sampled_from(sorted(SERVICES) + [code("unknown")]),
            agency=st.sampled_from(AGENCIES),
            caller=st.sampled_from(["recorder"] * 5 + ["stranger"]),
            reuse=st.integers(0, 9),
        )
        def open_request(self, service: bytes, agency: bytes, caller: str, reuse: int) -> None:
            opened = sorted(self.model.requests)
            tc = opened[reuse % len(opened)] if opened and reuse == 0 else keccak(self._fresh("T"))[:20] + bytes(12)
            if reuse == 9 and opened:
                # Same first 20 bytes as an open request, one low byte set: it would print alike.
                tc = opened[0][:20] + bytes(11) + b"\x01"
            national_id = thai_id(self.rng)
            world.stats.ids_committed += 1
            commitment = applicant_commitment(national_id, self.rng.randbytes(16))
            key = self._pick_caller(caller, agency)
            self._send(key, "openRequest", (service, tc, commitment), self.model.open_request)

        @rule(
            pick=st.integers(0, 2**16),
            to_state=st.integers(0, 8),
            caller=st.sampled_from(["owner", "B", "C", "other"]),
            follow=st.booleans(),
        )
        def advance(self, pick: int, to_state: int, caller: str, follow: bool) -> None:
            target = to_state
            opened = sorted(self.model.requests)
            if not opened:
                return
            tc = opened[pick % len(opened)]
            service, owner, state = self.model.requests[tc]
            moves = [b for a, b, _ in SERVICES[service].encoded_transitions() if a == state]
            if follow and moves:
                target = moves[pick % len(moves)]
            agency = {"owner": owner, "B": AGENCIES[1], "C": AGENCIES[2]}.get(caller)
            key = self._pick_caller("recorder" if agency else "other", agency)
            self._send(key, "advanceRequest", (tc, target, "ดำเนินการ"), self.model.advance_request)

        # --- invariants
        @invariant()
        def ledger_matches_model(self) -> None:
            world.stats.rule_steps += 1
            # A reverted transaction leaves storage untouched (EVM semantics), so the state is
            # re-read only after a step in which some call succeeded.
            if not world.changed:
                return
            world.changed = False
            world.stats.state_checks += 1
            assert world.ledger.head() == (self.model.seq, self.model.head)
            # Projects the step changed; all of them again at the end of the example.
            self._check_projects(sorted(world.touched))
            world.touched.clear()

        def _check_projects(self, codes: list[bytes]) -> None:
            for project_code in codes:
                p = self.model.projects[project_code]
                assert p.net <= p.allocation
                assert world.ledger.call("project", project_code) == (p.agency, p.fiscal_year, p.allocation, p.net)

        def teardown(self) -> None:
            self._check_projects(sorted(self.model.projects))
            # The per-voucher view, once per example: seq, project, amount and the reversal flag.
            for (agency, voucher), v in self.model.vouchers.items():
                got = world.ledger.call("disbursement", agency, voucher)
                assert got == (v.seq, v.project, v.amount, v.reversed)

    return LedgerMachine


def test_ledger_state_machine() -> None:
    world = build_world()
    world.scan = True
    world.evm.storage_writes = []
    machine = make_machine(world)
    started = time.monotonic()
    run_machine(machine)
    elapsed = time.monotonic() - started
    stats = world.stats
    total = sum(stats.calls.values())
    ok = sum(stats.successes.values())
    dis_calls = stats.calls["disburse"] + stats.calls["disburseBatch"]
    dis_ok = stats.successes["disburse"] + stats.successes["disburseBatch"]
    report(
        f"stateful ({PROFILE}): {stats.examples} examples, {stats.rule_steps - stats.examples} steps, "
        f"{stats.steps} calls in rules "
        f"({total} incl. setup), {ok} succeeded ({ok / total:.0%}); disbursement calls {dis_calls}, "
        f"succeeded {dis_ok} ({dis_ok / max(dis_calls, 1):.0%}); {stats.state_checks} state checks; "
        f"mismatches {stats.mismatches}; {elapsed:.0f} s"
    )
    report("stateful refusals: " + ", ".join(f"{fn}/{e} {n}" for (fn, e), n in stats.refusals.most_common(12)))
    report(
        "stateful per function (succeeded/calls): "
        + ", ".join(f"{fn} {stats.successes[fn]}/{n}" for fn, n in sorted(stats.calls.items()))
    )
    profile = settings.get_profile(PROFILE)
    assert stats.examples >= profile.max_examples
    steps = stats.rule_steps - stats.examples
    assert steps >= STEPS_REQUIRED.get(PROFILE, 0.8 * profile.max_examples * (profile.stateful_step_count - 1))
    assert dis_ok / dis_calls >= 0.30
    # Personal data: nothing the run wrote contains a Thai national ID, though every opened
    # request was bound to one.
    storage = [v.to_bytes(32, "big") for _, _, v in world.evm.storage_writes]
    hits = thai_id_hits(world.blobs + storage)
    report(
        f"personal-data scan: {len(world.blobs)} calldata/event blobs, {len(storage)} storage writes, "
        f"{stats.ids_committed} applicant IDs committed, {len(hits)} Thai-ID hits"
    )
    assert stats.ids_committed >= profile.max_examples // 2
    assert hits == []


def run_machine(machine: type[RuleBasedStateMachine]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(machine, settings=settings.get_profile(PROFILE))


def test_thai_id_scanner_finds_a_planted_id() -> None:
    rng = random.Random(7)
    planted = thai_id(rng)
    assert pin.is_valid(planted)
    world = build_world()
    cast_reason = f"refund to {planted}"
    voucher_owner = world.keys[1]
    item = (PROJECTS[0], code("V-PLANT"), 5, code("VENDOR-1"), ZERO32, ZERO32)
    assert world.ledger.transact(voucher_owner, "disburse", item).ok
    outcome = world.ledger.transact(voucher_owner, "reverse", code("V-PLANT"), cast_reason)
    assert outcome.ok
    assert thai_id_hits([outcome.calldata]) == [planted.encode()]
    assert thai_id_hits([outcome.logs[0][2]]) == [planted.encode()]
    # A digit string with a wrong check digit, or 12 digits, is not reported.
    wrong = planted[:12] + str((int(planted[12]) + 1) % 10)
    assert thai_id_hits([wrong.encode(), planted[:12].encode(), b"x" + planted[1:].encode()]) == []
    # Inside a longer run of digits it is still found.
    assert thai_id_hits([b"00" + planted.encode() + b"99"]) == [planted.encode()]

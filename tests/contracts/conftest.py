"""A cast of keys and a seeded ledger for the contract suites, on the fast EVM of evm.py.

Roles: admin (admin + registrar + pauser, as deployed), recorders of agencies A and B, a
recorder of A that was removed, a key holding only PAUSER_ROLE, and a stranger. Agency A
owns project PA, B owns PB; each has one disbursement (VA-1, VB-1) and one open complaint
(TA, TB). Tests run inside a snapshot that is reverted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak

from ledger.artifacts import load_artifact
from ledger.deploy import service_args
from ledger.services import DEFAULT_SERVICES
from ledger.types import encode_code

from .evm import Evm, Ledger

ZERO32 = b"\0" * 32
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
DEFAULT_ADMIN_ROLE = ZERO32
ALLOCATION = 1_000_000_00  # one million baht in satang


def code(text: str) -> bytes:
    return encode_code(text)


def tracking(label: str) -> bytes:
    # 20 random-looking bytes left-aligned, like ledger.types.new_tracking_code.
    return keccak(text=label)[:20] + b"\0" * 12


def commitment(label: str) -> bytes:
    return keccak(text="commitment:" + label)


def disbursement(project: str, voucher: str, amount: int, link: bytes = ZERO32) -> tuple[Any, ...]:
    return (code(project), code(voucher), amount, code("PAYEE-" + voucher), keccak(text=voucher), link)


@dataclass
class Cast:
    evm: Evm
    ledger: Ledger
    admin: bytes
    rec_a: bytes
    rec_b: bytes
    revoked: bytes
    pauser: bytes
    stranger: bytes
    spare: list[bytes]

    def ok(self, sender: bytes, fn: str, *args: Any) -> Any:
        outcome = self.ledger.transact(sender, fn, *args)
        assert outcome.ok, f"{fn} failed: {outcome.error}"
        return outcome

    def refused(self, sender: bytes, fn: str, args: tuple[Any, ...], error: str, *values: Any) -> None:
        """The call reverts with exactly ``error(values...)`` and changes nothing."""
        before = self.ledger.head()
        outcome = self.ledger.transact(sender, fn, *args)
        assert not outcome.ok, f"{fn} succeeded; expected {error}"
        assert outcome.error is not None
        assert (outcome.error.name, outcome.error.args) == (error, tuple(values))
        assert self.ledger.head() == before


def seed(evm: Evm, artifact: dict[str, Any]) -> Cast:
    """Deploy ``artifact`` and write the standard cast's records."""
    a = evm.accounts
    ledger = Ledger(evm, artifact, a[0])
    cast = Cast(evm, ledger, a[0], a[1], a[2], a[3], a[4], a[5], a[6:])
    for definition in DEFAULT_SERVICES:
        cast.ok(cast.admin, "defineService", *service_args(definition))
    cast.ok(cast.admin, "registerAgency", code("AG-A"), "กรม ก", "Department A")
    cast.ok(cast.admin, "registerAgency", code("AG-B"), "กรม ข", "Department B")
    cast.ok(cast.admin, "addRecorder", code("AG-A"), cast.rec_a)
    cast.ok(cast.admin, "addRecorder", code("AG-B"), cast.rec_b)
    cast.ok(cast.admin, "addRecorder", code("AG-A"), cast.revoked)
    cast.ok(cast.admin, "removeRecorder", code("AG-A"), cast.revoked)
    cast.ok(cast.admin, "addRecorder", code("AG-A"), cast.spare[0])  # removable in the access matrix
    cast.ok(cast.admin, "grantRole", PAUSER_ROLE, cast.pauser)
    cast.ok(
        cast.admin,
        "registerProjects",
        [
            (code("PA"), code("AG-A"), 2568, ALLOCATION, "Project A"),
            (code("PB"), code("AG-B"), 2568, ALLOCATION, "Project B"),
        ],
    )
    cast.ok(cast.rec_a, "disburse", disbursement("PA", "VA-1", 1_000))
    cast.ok(cast.rec_b, "disburse", disbursement("PB", "VB-1", 1_000))
    cast.ok(cast.rec_a, "openRequest", code("complaint"), tracking("TA"), commitment("TA"))
    cast.ok(cast.rec_b, "openRequest", code("complaint"), tracking("TB"), commitment("TB"))
    return cast


# Figures the suites report (combinations run, mismatches, calls, gas...), printed at the end.
FIGURES: list[str] = []


def report(line: str) -> None:
    FIGURES.append(line)
    print(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    # Figures travel with the test report, so that under xdist the controller prints them too.
    outcome = yield
    if call.when == "teardown":
        result = outcome.get_result()
        result.user_properties.extend(("contract-figure", line) for line in FIGURES)
        FIGURES.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        value
        for key in ("passed", "failed", "error", "")
        for test_report in terminalreporter.stats.get(key, [])
        for name, value in getattr(test_report, "user_properties", [])
        if name == "contract-figure"
    ]
    if lines:
        terminalreporter.section("contract suite figures")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line)
        planted = [line for line in lines if line.startswith("planted bug ")]
        if planted:
            killed = sum(1 for line in planted if not line.endswith("NOTHING"))
            terminalreporter.write_line(f"planted bugs killed: {killed}/{len(planted)}")


@pytest.fixture(scope="session")
def seeded() -> Cast:
    return seed(Evm(), load_artifact())


@pytest.fixture
def cast(seeded: Cast) -> Iterator[Cast]:
    snapshot = seeded.evm.snapshot()
    try:
        yield seeded
    finally:
        seeded.evm.revert(snapshot)

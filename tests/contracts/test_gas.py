"""Gas does not grow with the ledger: disburse, reverse and advanceRequest cost the same
(within 1%) after 1, 1,000 and 10,000 prior entries. Nothing on chain may loop over history.

"Prior entries" count what was recorded after the fixed setup (services, agency, recorder,
project) and before the measured call's own precondition (the disbursement it reverses,
the request it advances)."""

from __future__ import annotations

import pytest

from ledger.artifacts import load_artifact
from ledger.deploy import service_args
from ledger.services import DEFAULT_SERVICES
from ledger.types import MAX_ALLOCATION

from .conftest import code, commitment, report, tracking
from .evm import Evm, Ledger

CHECKPOINTS = (1, 1_000, 10_000)
BATCH = 500


def voucher(n: int) -> bytes:
    return code(f"V-{n:07d}")  # fixed width: the same calldata bytes at every checkpoint


def item(n: int) -> tuple[bytes, ...]:
    return (code("P-GAS"), voucher(n), 1_000 + n % 7, code(f"VENDOR-{n % 10}"), b"\x11" * 32, b"\0" * 32)


@pytest.mark.slow
@pytest.mark.xdist_group("contracts-gas")
def test_gas_does_not_grow_with_history() -> None:
    evm = Evm()
    admin, recorder = evm.accounts[0], evm.accounts[1]
    ledger = Ledger(evm, load_artifact(), admin)

    def ok(sender: bytes, fn: str, *args: object) -> int:
        outcome = ledger.transact(sender, fn, *args)
        assert outcome.ok, (fn, outcome.error)
        return outcome.gas_used

    for definition in DEFAULT_SERVICES:
        ok(admin, "defineService", *service_args(definition))
    ok(admin, "registerAgency", code("AG-G"), "กรม", "Dept")
    ok(admin, "addRecorder", code("AG-G"), recorder)
    ok(admin, "registerProjects", [(code("P-GAS"), code("AG-G"), 2568, MAX_ALLOCATION, "gas")])
    setup_seq = ledger.head()[0]

    recorded = 0
    results: dict[int, dict[str, int]] = {}
    for checkpoint in CHECKPOINTS:
        # Grow history to `checkpoint` entries after setup (batched disbursements, then a
        # reversal so reversed slots exist too); then the measured calls' own preconditions:
        # one disbursement to reverse and one request to advance.
        while ledger.head()[0] - setup_seq < checkpoint - 1:
            n = min(BATCH, checkpoint - 1 - (ledger.head()[0] - setup_seq))
            ok(recorder, "disburseBatch", [item(recorded + i) for i in range(n)])
            recorded += n
        if recorded:
            ok(recorder, "reverse", voucher(recorded - 1), "r")
        else:
            ok(recorder, "openRequest", code("complaint"), tracking("filler"), commitment("x"))
        assert ledger.head()[0] - setup_seq == checkpoint
        ok(recorder, "disburse", item(recorded))
        recorded += 1
        ok(recorder, "openRequest", code("complaint"), tracking(f"gas-{checkpoint}"), commitment("x"))

        base = evm.snapshot()
        gas = {"disburse": ok(recorder, "disburse", item(9_000_000))}
        evm.revert(base)
        gas["reverse"] = ok(recorder, "reverse", voucher(recorded - 1), "r")
        evm.revert(base)
        gas["advanceRequest"] = ok(recorder, "advanceRequest", tracking(f"gas-{checkpoint}"), 1, "r")
        evm.revert(base)
        results[checkpoint] = gas

    for fn in ("disburse", "reverse", "advanceRequest"):
        figures = [results[c][fn] for c in CHECKPOINTS]
        spread = (max(figures) - min(figures)) / min(figures)
        report(
            f"gas {fn} after "
            + ", ".join(f"{c:,}: {g:,}" for c, g in zip(CHECKPOINTS, figures, strict=True))
            + f" prior entries -> spread {spread:.2%}"
        )
        assert spread <= 0.01, (fn, figures)

"""Planted bugs: deliberately broken variants of the contracts that the suite must kill.

Each variant is a text patch of the committed sources, compiled with ledger.compile (same
settings, viaIR) and cached by source hash in the temp directory, since a compile takes
20-60 s. The suite's own checks (error table, access matrix, transition table, stateful
machine) then run against the variant; each must report at least one mismatch.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import HypothesisException
from hypothesis.stateful import run_state_machine_as_test

from ledger.compile import MAIN_CONTRACT, MAIN_SOURCE, compile_sources, standard_input
from ledger.services import COMPLAINT, STUDENT_LOAN

from .conftest import Cast, report, seed
from .evm import Evm
from .test_access import run_access_matrix
from .test_errors import run_error_cases
from .test_stateful import build_world, make_machine
from .test_transitions import run_transition_table, setup_holders

# name -> [(source unit, exact text, replacement)]; a patch that no longer applies fails loudly.
VARIANTS: dict[str, list[tuple[str, str, str]]] = {
    "missing-role-check": [
        (
            "contracts/BudgetLedger.sol",
            "    function amendAllocation(bytes32 projectCode, uint256 newAllocation, string calldata reason)\n"
            "        external\n        onlyRole(REGISTRAR_ROLE)\n",
            "    function amendAllocation(bytes32 projectCode, uint256 newAllocation, string calldata reason)\n"
            "        external\n",
        )
    ],
    "budget-off-by-one": [
        (
            "contracts/BudgetLedger.sol",
            "if (amount > remaining) revert DisbursementOverBudget(",
            "if (amount > remaining + 1) revert DisbursementOverBudget(",
        )
    ],
    "double-reversal": [
        (
            "contracts/BudgetLedger.sol",
            "if (s.reversed) revert DisbursementAlreadyReversed(agencyCode, voucher);",
            "",
        )
    ],
    "tracking-code-unchecked": [
        (
            "contracts/ServiceRequests.sol",
            "if (uint96(uint256(trackingCode)) != 0) revert TrackingCodeMalformed(trackingCode);",
            "",
        )
    ],
    "allocation-uncapped": [
        (
            "contracts/BudgetLedger.sol",
            "uint256 private constant _MAX_ALLOCATION = 1e16;",
            "uint256 private constant _MAX_ALLOCATION = type(uint128).max;",
        )
    ],
    "forbidden-transition": [
        (
            "contracts/ServiceRequests.sol",
            "if (rolePlusOne == 0) revert TransitionNotAllowed(trackingCode, fromState, toState);",
            # Unknown moves are treated as the owner's: the owner can jump anywhere.
            "if (rolePlusOne == 0) rolePlusOne = 1;",
        )
    ],
}


def variant_input(name: str) -> dict[str, Any]:
    input_json = copy.deepcopy(standard_input())
    for unit, old, new in VARIANTS[name]:
        text = input_json["sources"][unit]["content"]
        assert text.count(old) == 1, f"planted bug {name!r} no longer applies to {unit}: update the patch"
        input_json["sources"][unit]["content"] = text.replace(old, new)
    return input_json


def compile_variant(name: str) -> dict[str, Any]:
    """ABI + bytecode of a variant, from the cache when its sources were compiled before."""
    input_json = variant_input(name)
    key = hashlib.sha256(json.dumps(input_json, sort_keys=True).encode()).hexdigest()[:24]
    cache = Path(tempfile.gettempdir()) / "govledger-planted" / f"{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    contract = compile_sources(input_json)["contracts"][MAIN_SOURCE][MAIN_CONTRACT]
    artifact = {"abi": contract["abi"], "bytecode": "0x" + contract["evm"]["bytecode"]["object"]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(artifact))
    partial.replace(cache)  # atomic, in case two workers compile the same variant
    return artifact


def errors_check(cast: Cast) -> int:
    return len(run_error_cases(cast))


def access_check(cast: Cast) -> int:
    return len(run_access_matrix(cast)[1])


def transitions_check(cast: Cast) -> int:
    keys = setup_holders(cast)
    return sum(len(run_transition_table(cast, d, keys)[2]) for d in (STUDENT_LOAN, COMPLAINT))


def stateful_check(artifact: dict[str, Any]) -> int:
    world = build_world(artifact)
    machine = make_machine(world)
    quick = settings(
        max_examples=100,
        stateful_step_count=50,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    try:
        run_state_machine_as_test(machine, settings=quick)
    except (AssertionError, HypothesisException):
        return 1
    return 0


# The check named for each bug is the one that must kill it; the others run where cheap.
RELEVANT = {
    "missing-role-check": ("errors", "access"),
    "budget-off-by-one": ("errors", "stateful"),
    "double-reversal": ("errors", "stateful"),
    "forbidden-transition": ("errors", "transitions"),
    "tracking-code-unchecked": ("errors", "stateful"),
    "allocation-uncapped": ("errors", "stateful"),
}
KILLED: dict[str, list[str]] = {}


@pytest.mark.slow
@pytest.mark.xdist_group("contracts-planted")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_planted_bug_is_killed(variant: str) -> None:
    artifact = compile_variant(variant)
    cast = seed(Evm(), artifact)
    results = {}
    for check in RELEVANT[variant]:
        if check == "stateful":
            results[check] = stateful_check(artifact)
        else:
            results[check] = {"errors": errors_check, "access": access_check, "transitions": transitions_check}[check](
                cast
            )
    KILLED[variant] = [c for c, n in results.items() if n]
    # conftest's summary counts these lines into "planted bugs killed: k/n".
    report(f"planted bug {variant}: mismatches per check {results} -> killed by {KILLED[variant] or 'NOTHING'}")
    assert KILLED[variant], f"planted bug {variant} survived the suite"
    assert RELEVANT[variant][-1] in KILLED[variant]


def test_the_unpatched_sources_pass_the_same_checks(cast: Cast) -> None:
    # The control: the committed contract gives zero mismatches on the cheap checks.
    assert errors_check(cast) == 0

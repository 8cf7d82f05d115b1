"""The service transition table of student-loan and complaint, checked cell by cell.

For every reachable state x every target state (plus out-of-range ones) x every kind of
role holder: the change happens exactly where ledger/services.py allows it, with one
RequestAdvanced event; elsewhere it is refused with the specified error. Terminal states
absorb. Random walks then mix allowed and forbidden moves.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import pytest

from ledger.services import COMPLAINT, STUDENT_LOAN, ServiceDefinition

from .conftest import Cast, code, commitment, report, tracking

DEFINITIONS = (STUDENT_LOAN, COMPLAINT)
# Caller kinds: the opening agency (A), holders of roles 1 and 2 of student-loan (B, C)
# and an agency holding nothing (D).
HOLDERS = ("A", "B", "C", "D")


def setup_holders(cast: Cast) -> dict[str, bytes]:
    keys = {"A": cast.rec_a, "B": cast.rec_b, "C": cast.spare[2], "D": cast.spare[3]}
    for agency in ("C", "D"):
        cast.ok(cast.admin, "registerAgency", code("AG-" + agency), agency, agency)
        cast.ok(cast.admin, "addRecorder", code("AG-" + agency), keys[agency])
    cast.ok(cast.admin, "setServiceRole", code("student-loan"), 1, code("AG-B"), True)
    cast.ok(cast.admin, "setServiceRole", code("student-loan"), 2, code("AG-C"), True)
    return keys


def holds(definition: ServiceDefinition, role: int, holder: str) -> bool:
    """SPEC: who holds a role. Role 0 is the opening agency (A); roles 1, 2 of student-loan
    were granted to B and C above; complaint has no other roles."""
    if role == 0:
        return holder == "A"
    return definition.service == "student-loan" and {1: "B", 2: "C"}[role] == holder


def table(definition: ServiceDefinition) -> dict[tuple[int, int], int]:
    return {(a, b): r for a, b, r in definition.encoded_transitions()}


def holder_of(definition: ServiceDefinition, role: int) -> str:
    return next(h for h in HOLDERS if holds(definition, role, h))


def paths(definition: ServiceDefinition) -> dict[int, list[int]]:
    """Shortest path (list of states after 0) to every reachable state."""
    moves = table(definition)
    found: dict[int, list[int]] = {0: []}
    queue = deque([0])
    while queue:
        state = queue.popleft()
        for a, b in moves:
            if a == state and b not in found:
                found[b] = found[state] + [b]
                queue.append(b)
    return found


def expected(definition: ServiceDefinition, tc: bytes, state: int, target: int, holder: str) -> Any:
    moves = table(definition)
    if (state, target) not in moves:
        return ("TransitionNotAllowed", (tc, state, target))
    role = moves[(state, target)]
    if not holds(definition, role, holder):
        return ("TransitionRoleMissing", (tc, role, code("AG-" + holder)))
    return None


def advance(cast: Cast, keys: dict[str, bytes], tc: bytes, target: int, holder: str) -> Any:
    before = cast.ledger.call("request", tc)
    outcome = cast.ledger.transact(keys[holder], "advanceRequest", tc, target, "เหตุผล")
    if not outcome.ok:
        assert cast.ledger.call("request", tc) == before
        return (outcome.error.name, outcome.error.args)
    events = [e for e in outcome.events if e["event"] == "RequestAdvanced"]
    assert len(events) == 1 and len(outcome.events) == 1
    args = events[0]["args"]
    assert (args["trackingCode"], args["agencyCode"], args["fromState"], args["toState"]) == (
        tc,
        code("AG-" + holder),
        before[2],
        target,
    )
    assert cast.ledger.call("request", tc) == (before[0], before[1], target)
    return None


def test_every_state_is_reachable_and_terminals_are_known() -> None:
    for definition in DEFINITIONS:
        assert set(paths(definition)) == set(range(len(definition.states))), definition.service
    assert [s for s in STUDENT_LOAN.states if not STUDENT_LOAN.next_states(s)] == ["closed", "rejected"]
    assert [s for s in COMPLAINT.states if not COMPLAINT.next_states(s)] == ["resolved", "rejected", "withdrawn"]


def run_transition_table(
    cast: Cast, definition: ServiceDefinition, keys: dict[str, bytes]
) -> tuple[int, int, list[Any]]:
    """Every (reachable state x target x holder) cell; returns (cells, allowed, mismatches)."""
    n = len(definition.states)
    targets = list(range(n)) + [n, 255]
    runs, allowed, mismatches = 0, 0, []
    for state, path in paths(definition).items():
        tc = tracking(f"{definition.service}-{state}")
        cast.ok(keys["A"], "openRequest", code(definition.service), tc, commitment(str(state)))
        current = 0
        for step in path:
            assert advance(cast, keys, tc, step, holder_of(definition, table(definition)[(current, step)])) is None
            current = step
        base = cast.evm.snapshot()
        for target in targets:
            for holder in HOLDERS:
                cast.evm.revert(base)
                want = expected(definition, tc, state, target, holder)
                try:
                    got = advance(cast, keys, tc, target, holder)
                except AssertionError as exc:  # wrong event or state after a change
                    got = f"broken change: {exc}"
                runs += 1
                allowed += want is None
                if got != want:
                    mismatches.append((definition.service, state, target, holder, want, got))
        cast.evm.revert(base)
        if not definition.next_states(definition.states[state]):
            # Terminal: nothing leaves it, whoever asks.
            assert all(expected(definition, tc, state, t, h) is not None for t in targets for h in HOLDERS)
    return runs, allowed, mismatches


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.service)
def test_full_transition_table(cast: Cast, definition: ServiceDefinition) -> None:
    keys = setup_holders(cast)
    runs, allowed, mismatches = run_transition_table(cast, definition, keys)
    report(
        f"transition table {definition.service}: {runs} (state x target x holder) cells, "
        f"{allowed} allowed, {len(mismatches)} mismatches"
    )
    assert not mismatches, mismatches[:5]
    assert allowed == len(definition.transitions)  # each allowed cell has exactly one holder


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.service)
def test_random_walks(cast: Cast, definition: ServiceDefinition) -> None:
    keys = setup_holders(cast)
    rng = random.Random(f"walk-{definition.service}")
    n = len(definition.states)
    changes = refusals = 0
    for walk in range(25):
        tc = tracking(f"walk-{definition.service}-{walk}")
        cast.ok(keys["A"], "openRequest", code(definition.service), tc, commitment(str(walk)))
        state, walk_changes = 0, 0
        seq_before = cast.ledger.head()[0]
        after_terminal = 0
        while after_terminal < 3:
            moves = [b for (a, b) in table(definition) if a == state]
            after_terminal += not moves
            if moves and rng.random() < 0.5:
                target = rng.choice(moves)
                holder = rng.choice([holder_of(definition, table(definition)[(state, target)]), *HOLDERS])
            else:
                target, holder = rng.randrange(n + 1), rng.choice(HOLDERS)
            want = expected(definition, tc, state, target, holder)
            assert advance(cast, keys, tc, target, holder) == want
            if want is None:
                state, walk_changes = target, walk_changes + 1
            else:
                refusals += 1
        # One entry per change, none per refusal.
        assert cast.ledger.head()[0] - seq_before == walk_changes
        changes += walk_changes
    report(f"random walks {definition.service}: 25 walks, {changes} changes, {refusals} refusals")
    assert changes >= 25 and refusals >= 25

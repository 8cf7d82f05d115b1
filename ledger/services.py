"""Service definitions shipped as deployment defaults.

State 0 is where a request starts; a state with no outgoing transition is terminal. Role 0
("owner") is the agency that opened the request. Time limits are legal limits in working
days per state (0 = none), as the Licensing Facilitation Act B.E. 2558 requires them to be
published; the figures here are illustrative defaults for a development chain, and a real
deployment publishes the limits of its own service manual.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceDefinition:
    service: str
    states: tuple[str, ...]
    time_limit_days: tuple[int, ...]
    roles: tuple[str, ...]
    transitions: tuple[tuple[str, str, str], ...]  # (from state, to state, role)

    def state_index(self, name: str) -> int:
        return self.states.index(name)

    def encoded_transitions(self) -> list[tuple[int, int, int]]:
        return [(self.states.index(a), self.states.index(b), self.roles.index(r)) for a, b, r in self.transitions]

    def next_states(self, state: str) -> list[str]:
        return [b for a, b, _ in self.transitions if a == state]


STUDENT_LOAN = ServiceDefinition(
    service="student-loan",
    states=(
        "submitted",
        "school-verified",
        "fund-approved",
        "contract-signed",
        "disbursed",
        "closed",
        "returned-for-correction",
        "rejected",
    ),
    time_limit_days=(7, 15, 15, 30, 0, 0, 15, 0),
    roles=("owner", "school", "fund"),
    transitions=(
        ("submitted", "school-verified", "school"),
        ("submitted", "returned-for-correction", "school"),
        ("submitted", "rejected", "school"),
        ("returned-for-correction", "submitted", "owner"),
        ("school-verified", "fund-approved", "fund"),
        ("school-verified", "returned-for-correction", "fund"),
        ("school-verified", "rejected", "fund"),
        ("fund-approved", "contract-signed", "fund"),
        ("contract-signed", "disbursed", "fund"),
        ("disbursed", "closed", "fund"),
    ),
)

COMPLAINT = ServiceDefinition(
    service="complaint",
    states=("received", "assigned", "in-progress", "resolved", "rejected", "withdrawn"),
    time_limit_days=(3, 7, 30, 0, 0, 0),
    roles=("owner",),
    transitions=(
        ("received", "assigned", "owner"),
        ("received", "rejected", "owner"),
        ("received", "withdrawn", "owner"),
        ("assigned", "in-progress", "owner"),
        ("assigned", "withdrawn", "owner"),
        ("in-progress", "resolved", "owner"),
        ("in-progress", "rejected", "owner"),
        ("in-progress", "withdrawn", "owner"),
    ),
)

DEFAULT_SERVICES = (STUDENT_LOAN, COMPLAINT)

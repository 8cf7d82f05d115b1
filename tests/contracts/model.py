"""A Python model of GovLedger: what each call must do, written from the interfaces.

Each method returns either ``Refusal(error, args)`` or the list of ledger entries the call
must add (event name + fields, in order); ``apply`` then advances the model's state and its
running head with heads.next_head. The checks run in the order the NatSpec and the access
specification give: role, pause, then the function's own rules in argument order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak, to_checksum_address

from ledger.services import DEFAULT_SERVICES
from ledger.types import MAX_ALLOCATION  # the contract must refuse exactly what the CLI refuses

from .heads import next_head

ZERO32 = b"\0" * 32
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
SERVICES = {d.service.encode().ljust(32, b"\0"): d for d in DEFAULT_SERVICES}


@dataclass
class Refusal:
    error: str
    args: tuple[Any, ...] = ()


@dataclass
class Project:
    agency: bytes
    fiscal_year: int
    allocation: int
    net: int = 0


@dataclass
class Voucher:
    seq: int
    project: bytes
    amount: int
    reversed: bool = False


@dataclass
class Model:
    registrars: set[bytes]
    pausers: set[bytes]
    seq: int = 0
    head: bytes = ZERO32
    paused: bool = False
    agencies: set[bytes] = field(default_factory=set)
    recorder_agency: dict[bytes, bytes] = field(default_factory=dict)
    projects: dict[bytes, Project] = field(default_factory=dict)
    vouchers: dict[tuple[bytes, bytes], Voucher] = field(default_factory=dict)
    requests: dict[bytes, list[Any]] = field(default_factory=dict)  # tc -> [service, agency, state]
    roles: set[tuple[bytes, int, bytes]] = field(default_factory=set)  # (service, role, agency)

    def copy(self) -> Model:
        return copy.deepcopy(self)

    # ---- shared checks -------------------------------------------------------------------
    def _registrar(self, caller: bytes) -> Refusal | None:
        if caller not in self.registrars:
            return Refusal("AccessControlUnauthorizedAccount", (to_checksum_address(caller), REGISTRAR_ROLE))
        if self.paused:
            return Refusal("EnforcedPause")
        return None

    def _recorder(self, caller: bytes) -> tuple[Refusal | None, bytes]:
        if self.paused:
            return Refusal("EnforcedPause"), ZERO32
        agency = self.recorder_agency.get(caller, ZERO32)
        if agency == ZERO32:
            return Refusal("RecorderUnknown", (to_checksum_address(caller),)), ZERO32
        return None, agency

    # ---- the calls: each returns a Refusal or a list of (event, fields, effect) ------------
    def register_agency(self, caller: bytes, agency: bytes, name: str, name_en: str) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal
        if agency in self.agencies:
            return Refusal("AgencyAlreadyRegistered", (agency,))

        def effect() -> None:
            self.agencies.add(agency)

        return [("AgencyRegistered", [agency, name, name_en], effect)]

    def add_recorder(self, caller: bytes, agency: bytes, recorder: bytes) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal
        if agency not in self.agencies:
            return Refusal("AgencyUnknown", (agency,))
        current = self.recorder_agency.get(recorder, ZERO32)
        if current != ZERO32:
            return Refusal("RecorderAlreadyAssigned", (to_checksum_address(recorder), current))

        def effect() -> None:
            self.recorder_agency[recorder] = agency

        return [("RecorderAdded", [agency, to_checksum_address(recorder)], effect)]

    def remove_recorder(self, caller: bytes, agency: bytes, recorder: bytes) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal
        if agency == ZERO32 or self.recorder_agency.get(recorder, ZERO32) != agency:
            return Refusal("RecorderNotAssigned", (to_checksum_address(recorder), agency))

        def effect() -> None:
            del self.recorder_agency[recorder]

        return [("RecorderRemoved", [agency, to_checksum_address(recorder)], effect)]

    def register_projects(self, caller: bytes, projects: list[tuple[bytes, bytes, int, int, str]]) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal
        if not projects:
            return Refusal("BatchEmpty")
        entries, seen = [], set(self.projects)
        for code, agency, year, allocation, name in projects:
            if agency not in self.agencies:
                return Refusal("AgencyUnknown", (agency,))
            if code in seen:
                return Refusal("ProjectAlreadyRegistered", (code,))
            if not 2500 <= year <= 2700:
                return Refusal("FiscalYearInvalid", (year,))
            if allocation > MAX_ALLOCATION:
                return Refusal("AllocationTooLarge", (allocation,))
            seen.add(code)

            def effect(
                code: bytes = code, agency: bytes = agency, year: int = year, allocation: int = allocation
            ) -> None:
                self.projects[code] = Project(agency, year, allocation)

            entries.append(("ProjectRegistered", [code, agency, year, allocation, name], effect))
        return entries

    def amend_allocation(self, caller: bytes, code: bytes, allocation: int, reason: str) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal
        if not reason:
            return Refusal("ReasonMissing")
        if allocation > MAX_ALLOCATION:
            return Refusal("AllocationTooLarge", (allocation,))
        project = self.projects.get(code)
        if project is None:
            return Refusal("ProjectUnknown", (code,))
        if allocation < project.net:
            return Refusal("AllocationBelowDisbursed", (code, project.net, allocation))

        def effect() -> None:
            project.allocation = allocation

        return [("AllocationAmended", [code, project.allocation, allocation, reason], effect)]

    def disburse_batch(self, caller: bytes, items: list[tuple[bytes, ...]], single: bool = False) -> Any:
        if self.paused:
            return Refusal("EnforcedPause")
        if not items and not single:
            return Refusal("BatchEmpty")
        refusal, agency = self._recorder(caller)
        if refusal:
            return refusal
        spent: dict[bytes, int] = {}
        used: set[bytes] = set()
        entries = []
        for code, voucher, amount, payee, document, link in items:
            project = self.projects.get(code)
            if project is None:
                return Refusal("ProjectUnknown", (code,))
            if project.agency != agency:
                return Refusal("ProjectNotOwned", (code, project.agency, agency))
            if voucher == ZERO32:
                return Refusal("VoucherMissing")
            if amount == 0:
                return Refusal("DisbursementAmountZero", (code, voucher))
            remaining = project.allocation - project.net - spent.get(code, 0)
            if amount > remaining:
                return Refusal("DisbursementOverBudget", (code, remaining, amount))
            if (agency, voucher) in self.vouchers or voucher in used:
                return Refusal("VoucherAlreadyUsed", (agency, voucher))
            if link != ZERO32 and link not in self.requests:
                return Refusal("LinkedRequestUnknown", (link,))
            spent[code] = spent.get(code, 0) + amount
            used.add(voucher)

            def effect(code: bytes = code, voucher: bytes = voucher, amount: int = amount) -> None:
                self.projects[code].net += amount
                self.vouchers[(agency, voucher)] = Voucher(self.seq, code, amount)

            entries.append(("DisbursementRecorded", [code, agency, voucher, amount, payee, document, link], effect))
        return entries

    def reverse(self, caller: bytes, voucher: bytes, reason: str) -> Any:
        if self.paused:
            return Refusal("EnforcedPause")
        if not reason:
            return Refusal("ReasonMissing")
        refusal, agency = self._recorder(caller)
        if refusal:
            return refusal
        record = self.vouchers.get((agency, voucher))
        if record is None:
            return Refusal("DisbursementUnknown", (agency, voucher))
        if record.reversed:
            return Refusal("DisbursementAlreadyReversed", (agency, voucher))

        def effect() -> None:
            record.reversed = True
            self.projects[record.project].net -= record.amount

        fields = [record.project, agency, record.seq, voucher, record.amount, reason]
        return [("DisbursementReversed", fields, effect)]

    def open_request(self, caller: bytes, service: bytes, tc: bytes, commitment: bytes) -> Any:
        refusal, agency = self._recorder(caller)
        if refusal:
            return refusal
        if service not in SERVICES:
            return Refusal("ServiceUnknown", (service,))
        if tc == ZERO32:
            return Refusal("TrackingCodeMissing")
        if any(tc[20:]):
            return Refusal("TrackingCodeMalformed", (tc,))
        if commitment == ZERO32:
            return Refusal("CommitmentMissing")
        if tc in self.requests:
            return Refusal("RequestAlreadyOpened", (tc,))

        def effect() -> None:
            self.requests[tc] = [service, agency, 0]

        return [("RequestOpened", [tc, agency, service, commitment], effect)]

    def advance_request(self, caller: bytes, tc: bytes, target: int, reason: str) -> Any:
        refusal, agency = self._recorder(caller)
        if refusal:
            return refusal
        request = self.requests.get(tc)
        if request is None:
            return Refusal("RequestUnknown", (tc,))
        service, owner, state = request
        table = {(a, b): r for a, b, r in SERVICES[service].encoded_transitions()}
        if (state, target) not in table:
            return Refusal("TransitionNotAllowed", (tc, state, target))
        role = table[(state, target)]
        if not (agency == owner if role == 0 else (service, role, agency) in self.roles):
            return Refusal("TransitionRoleMissing", (tc, role, agency))

        def effect() -> None:
            request[2] = target

        return [("RequestAdvanced", [tc, agency, state, target, reason], effect)]

    def set_service_role(self, caller: bytes, service: bytes, role: int, agency: bytes, granted: bool) -> Any:
        refusal = self._registrar(caller)
        if refusal:
            return refusal

        def effect() -> None:
            (self.roles.add if granted else self.roles.discard)((service, role, agency))

        return [("ServiceRoleSet", [service, agency, role, granted], effect)]

    def pause(self, caller: bytes) -> Any:
        if caller not in self.pausers:
            return Refusal("AccessControlUnauthorizedAccount", (to_checksum_address(caller), PAUSER_ROLE))
        if self.paused:
            return Refusal("EnforcedPause")
        self.paused = True
        return []

    def unpause(self, caller: bytes) -> Any:
        if caller not in self.pausers:
            return Refusal("AccessControlUnauthorizedAccount", (to_checksum_address(caller), PAUSER_ROLE))
        if not self.paused:
            return Refusal("ExpectedPause")
        self.paused = False
        return []

    # ---- applying ---------------------------------------------------------------------------
    def apply(self, entries: list[tuple[str, list[Any], Any]]) -> list[tuple[int, str, list[Any], bytes]]:
        """Advance seq and head over the entries; returns (seq, event, fields, head) of each."""
        out = []
        for event, fields, effect in entries:
            self.seq += 1
            effect()
            self.head = next_head(self.head, self.seq, event, fields)
            out.append((self.seq, event, fields, self.head))
        return out

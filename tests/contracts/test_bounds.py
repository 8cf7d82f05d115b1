"""The Python bounds (ledger.types) are the contract's bounds: what the CLI, the API and the
importer check first is exactly what the contract would accept."""

from __future__ import annotations

from ledger.types import MAX_ALLOCATION, MAX_FISCAL_YEAR, MIN_FISCAL_YEAR

from .conftest import Cast, code


def test_the_contract_accepts_exactly_the_fiscal_years_of_ledger_types(cast: Cast) -> None:
    for year in (MIN_FISCAL_YEAR, MAX_FISCAL_YEAR):
        cast.ok(cast.admin, "registerProjects", [(code(f"FY-{year}"), code("AG-A"), year, 1, "")])
    for year in (MIN_FISCAL_YEAR - 1, MAX_FISCAL_YEAR + 1):
        project = (code(f"FY-{year}"), code("AG-A"), year, 1, "")
        cast.refused(cast.admin, "registerProjects", ([project],), "FiscalYearInvalid", year)


def test_the_contract_accepts_exactly_the_allocations_of_ledger_types(cast: Cast) -> None:
    cast.ok(cast.admin, "registerProjects", [(code("CAP"), code("AG-A"), 2568, MAX_ALLOCATION, "")])
    over = (code("CAP-1"), code("AG-A"), 2568, MAX_ALLOCATION + 1, "")
    cast.refused(cast.admin, "registerProjects", ([over],), "AllocationTooLarge", MAX_ALLOCATION + 1)

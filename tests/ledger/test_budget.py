"""Budget-bill import: derived codes, refused rows of real volumes, idempotent registration."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.budget import agency_code, import_budget, parse_amount, plan_budget, project_code

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "budget"
VOLUME_7 = FIXTURES / "2022-3-7.csv"
VOLUME_10 = FIXTURES / "2022-3-10.csv"

# Found by reading the files: FY2022 rows whose AMOUNT cannot be a budget-bill amount.
MALFORMED = {
    VOLUME_7: {"2022.3.7.257": "2535", "2022.3.7.500": "25,000,0", "2022.3.7.735": "76,900,70"},
    VOLUME_10: {"2022.3.10.1453": "4,840,0"},  # DEBUG_LOG: AMOUNT FORMAT IS WORONG
}


def _independent_totals(path: Path, skip: set[str]) -> tuple[int, dict[tuple[str, str, str], int]]:
    """Rows and per-(unit, plan, output/project) sums for 2022, computed without ledger.budget."""
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    rows = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["FISCAL_YEAR"] != "2022" or row["ITEM_ID"] in skip:
                continue
            rows += 1
            key = (row["BUDGETARY_UNIT"].strip(), row["BUDGET_PLAN"].strip(), row["OUTPUT"] or row["PROJECT"])
            sums[key] += int(Decimal(row["AMOUNT"].replace(",", "")) * 100)
    return rows, sums


@pytest.mark.parametrize("path", [VOLUME_7, VOLUME_10], ids=lambda p: p.name)
def test_real_volume_plan(path: Path) -> None:
    plan = plan_budget(path)
    assert plan.fiscal_year == 2565
    refused = dict(plan.refused)
    assert set(refused) == set(MALFORMED[path])
    for item, amount in MALFORMED[path].items():
        assert amount in refused[item]
    rows, sums = _independent_totals(path, set(MALFORMED[path]))
    assert plan.imported_rows == rows
    assert len(plan.projects) == len(sums)
    assert sum(p.allocation for p in plan.projects.values()) == sum(sums.values())
    assert plan.rows == plan.imported_rows + plan.other_year_rows + len(plan.refused)
    units = {unit for unit, _, _ in sums}
    assert set(plan.agencies.values()) == units
    for spec in plan.projects.values():
        assert re.fullmatch(r"2565-[0-9A-F]{12}", spec.code) and spec.agency in plan.agencies
    print(f"{path.name}: rows {plan.rows}, imported {plan.imported_rows}, refused {plan.refused_by_reason}")


def test_codes_are_stable_and_normalised() -> None:
    assert agency_code("กรมการค้าภายใน") == agency_code("  กรมการค้าภายใน ")
    assert agency_code("กรมการค้าภายใน") != agency_code("กรมการค้าต่างประเทศ")
    assert re.fullmatch(r"BU-[0-9A-F]{10}", agency_code("x"))
    a = project_code(2565, "หน่วย", "แผนงาน  ก", "output", "ผลผลิต")
    assert a == project_code(2565, "หน่วย", "แผนงาน ก", "output", "ผลผลิต")
    assert a != project_code(2566, "หน่วย", "แผนงาน ก", "output", "ผลผลิต")
    assert a != project_code(2565, "หน่วย", "แผนงาน ก", "project", "ผลผลิต")
    # The rule written in the docstring, recomputed here.
    import hashlib

    assert agency_code("x") == "BU-" + hashlib.sha256(b"unit|x").hexdigest()[:10].upper()


@pytest.mark.parametrize(
    ("text", "satang"), [("800,000,000", 80_000_000_000), ("58,143,000.0", 5_814_300_000), ("1.5", 150), ("0.0", 0)]
)
def test_amounts(text: str, satang: int) -> None:
    assert parse_amount(text) == satang


@pytest.mark.parametrize("text", ["25,000,0", "2535", "25,", "", "1,234.567", "-5", "3,365,466.6666666665"])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def test_row_order_does_not_change_codes(tmp_path: Path) -> None:
    lines = VOLUME_7.read_text(encoding="utf-8").splitlines(keepends=True)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    original, reordered = plan_budget(VOLUME_7), plan_budget(shuffled)
    assert original.projects == reordered.projects and original.agencies == reordered.agencies


def test_import_registers_and_rerun_changes_nothing(anvil_fresh: dict[str, Any]) -> None:
    admin = anvil_fresh["admin"]
    first = import_budget(admin, VOLUME_7)
    plan = first.plan
    assert first.agencies_added == len(plan.agencies) and first.projects_added == len(plan.projects)
    head = admin.ledger_head()
    again = import_budget(admin, VOLUME_7)
    assert (again.agencies_added, again.projects_added, again.conflicts) == (0, 0, [])
    assert again.agencies_existing == len(plan.agencies) and again.projects_existing == len(plan.projects)
    assert admin.ledger_head() == head
    some = sorted(plan.projects.values(), key=lambda p: p.code)[0]
    state = admin.project(some.code)
    assert (state.agency, state.fiscal_year, state.allocation) == (some.agency, 2565, some.allocation)


def test_changed_allocation_is_a_conflict_not_an_edit(anvil_fresh: dict[str, Any], tmp_path: Path) -> None:
    admin = anvil_fresh["admin"]
    import_budget(admin, VOLUME_7)
    text = VOLUME_7.read_text(encoding="utf-8").replace('"216,186,900"', '"216,186,901"')
    changed = tmp_path / "changed.csv"
    changed.write_text(text, encoding="utf-8")
    head = admin.ledger_head()
    result = import_budget(admin, changed)
    assert len(result.conflicts) == 1 and "left unchanged" in result.conflicts[0]
    assert admin.ledger_head() == head


def test_documented_examples() -> None:
    """The examples printed in docs/DATA.md and the module docstring."""
    unit, plan = "สำนักงานปลัดกระทรวงพลังงาน", "แผนงานบุคลากรภาครัฐ"
    assert agency_code(unit) == "BU-86200C034E"
    assert project_code(2565, unit, plan, "plan", plan) == "2565-438DA57B02F9"
    docs = (Path(__file__).resolve().parents[2] / "docs" / "DATA.md").read_text(encoding="utf-8")
    assert "BU-86200C034E" in docs and "2565-438DA57B02F9" in docs

"""Budget-bill import: derived codes, refused rows of real volumes, idempotent registration."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.budget import agency_code, import_budget, ministry_code, parse_amount, plan_budget, project_code

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "budget"
VOLUME_7 = FIXTURES / "2022-3-7.csv"
VOLUME_10 = FIXTURES / "2022-3-10.csv"

# Found by reading the files: FY2022 rows whose AMOUNT cannot be a budget-bill amount.
MALFORMED = {
    VOLUME_7: {"2022.3.7.257": "2535", "2022.3.7.500": "25,000,0", "2022.3.7.735": "76,900,70"},
    VOLUME_10: {"2022.3.10.1453": "4,840,0"},  # DEBUG_LOG: AMOUNT FORMAT IS WORONG
}


def _independent_totals(path: Path, skip: set[str]) -> tuple[int, dict[tuple[str, str, str], int], dict[str, str]]:
    """Rows, per-(unit, plan, output/project) sums and each unit's ministry for 2022, without ledger.budget."""
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    ministry_of: dict[str, str] = {}
    rows = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["FISCAL_YEAR"] != "2022" or row["ITEM_ID"] in skip:
                continue
            rows += 1
            key = (row["BUDGETARY_UNIT"].strip(), row["BUDGET_PLAN"].strip(), row["OUTPUT"] or row["PROJECT"])
            sums[key] += int(Decimal(row["AMOUNT"].replace(",", "")) * 100)
            assert ministry_of.setdefault(key[0], row["MINISTRY"].strip()) == row["MINISTRY"].strip()
    return rows, sums, ministry_of


@pytest.mark.parametrize("path", [VOLUME_7, VOLUME_10], ids=lambda p: p.name)
def test_real_volume_plan(path: Path) -> None:
    plan = plan_budget(path)
    assert plan.fiscal_year == 2565
    refused = dict(plan.refused)
    assert set(refused) == set(MALFORMED[path])
    for item, amount in MALFORMED[path].items():
        assert amount in refused[item]
    rows, sums, ministry_of = _independent_totals(path, set(MALFORMED[path]))
    assert plan.imported_rows == rows
    assert len(plan.projects) == len(sums)
    assert sum(p.allocation for p in plan.projects.values()) == sum(sums.values())
    assert plan.rows == plan.imported_rows + plan.other_year_rows + len(plan.refused)
    units = {unit for unit, _, _ in sums}
    assert set(plan.agencies.values()) == units
    # Ministries: named with the bill's MINISTRY text, and every unit's code starts with its ministry's.
    assert set(plan.ministries.values()) == set(ministry_of.values())
    for code, unit in plan.agencies.items():
        ministry, _, rest = code.partition("/")
        assert re.fullmatch(r"M-[0-9A-F]{8}/BU-[0-9A-F]{10}", code) and len(code) <= 32
        assert plan.ministries[ministry] == ministry_of[unit] and rest == "BU-" + code[-10:]
    for spec in plan.projects.values():
        assert re.fullmatch(r"2565-[0-9A-F]{12}", spec.code) and spec.agency in plan.agencies
    print(f"{path.name}: rows {plan.rows}, imported {plan.imported_rows}, refused {plan.refused_by_reason}")


def test_codes_are_stable_and_normalised() -> None:
    commerce = "กระทรวงพาณิชย์"
    assert agency_code(commerce, "กรมการค้าภายใน") == agency_code(" กระทรวงพาณิชย์\n", "  กรมการค้าภายใน ")
    assert agency_code(commerce, "กรมการค้าภายใน") != agency_code(commerce, "กรมการค้าต่างประเทศ")
    assert agency_code(commerce, "x") != agency_code("กระทรวงพลังงาน", "x")
    assert re.fullmatch(r"M-[0-9A-F]{8}/BU-[0-9A-F]{10}", agency_code("y", "x"))
    a = project_code(2565, "หน่วย", "แผนงาน  ก", "output", "ผลผลิต")
    assert a == project_code(2565, "หน่วย", "แผนงาน ก", "output", "ผลผลิต")
    assert a != project_code(2566, "หน่วย", "แผนงาน ก", "output", "ผลผลิต")
    assert a != project_code(2565, "หน่วย", "แผนงาน ก", "project", "ผลผลิต")
    # The rule written in the docstring, recomputed here.
    import hashlib

    assert ministry_code("y") == "M-" + hashlib.sha256(b"ministry|y").hexdigest()[:8].upper()
    assert agency_code("y", "x") == ministry_code("y") + "/BU-" + hashlib.sha256(b"unit|x").hexdigest()[:10].upper()


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
    agencies = len(plan.ministries) + len(plan.agencies)
    assert len(plan.ministries) == 2  # volume 7: Commerce and Energy
    assert first.agencies_added == agencies and first.projects_added == len(plan.projects)
    # Every unit's ministry is an agency on the chain, named with the bill's MINISTRY text.
    for code in plan.agencies:
        ministry = code.split("/", 1)[0]
        assert admin.agency_exists(ministry) and plan.ministries[ministry].startswith("กระทรวง")
    head = admin.ledger_head()
    again = import_budget(admin, VOLUME_7)
    assert (again.agencies_added, again.projects_added, again.conflicts) == (0, 0, [])
    assert again.agencies_existing == agencies and again.projects_existing == len(plan.projects)
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
    ministry, unit, plan = "กระทรวงพลังงาน", "สำนักงานปลัดกระทรวงพลังงาน", "แผนงานบุคลากรภาครัฐ"
    assert ministry_code(ministry) == "M-59AE5AA8"
    assert agency_code(ministry, unit) == "M-59AE5AA8/BU-86200C034E"
    assert project_code(2565, unit, plan, "plan", plan) == "2565-438DA57B02F9"
    docs = (Path(__file__).resolve().parents[2] / "docs" / "DATA.md").read_text(encoding="utf-8")
    assert "M-59AE5AA8/BU-86200C034E" in docs and "2565-438DA57B02F9" in docs
    assert "กระทรวงพลังงาน → `M-59AE5AA8`" in docs


def _rewritten(tmp_path: Path, change: Any) -> Path:
    """Volume 7 with each data row passed through ``change(row) -> row``."""
    with open(VOLUME_7, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, [change(dict(row)) for row in reader]
    assert fields is not None
    path = tmp_path / "changed.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_empty_ministry_is_refused(tmp_path: Path) -> None:
    target = "2022.3.7.3"

    def blank(row: dict[str, str]) -> dict[str, str]:
        return row | {"MINISTRY": " "} if row["ITEM_ID"] == target else row

    original, changed = plan_budget(VOLUME_7), plan_budget(_rewritten(tmp_path, blank))
    assert dict(changed.refused)[target] == "MINISTRY is empty"
    assert changed.imported_rows == original.imported_rows - 1


def test_a_unit_under_two_ministries_is_refused_not_merged(tmp_path: Path) -> None:
    """Rows of one unit listed under a second ministry: the whole unit is refused, in any row order."""
    unit = "กรมส่งเสริมการค้าระหว่างประเทศ"
    moved = {"2022.3.7.1000", "2022.3.7.1001"}
    original = plan_budget(VOLUME_7)
    with open(VOLUME_7, encoding="utf-8-sig", newline="") as handle:
        unit_rows = [
            row["ITEM_ID"]
            for row in csv.DictReader(handle)
            if row["BUDGETARY_UNIT"] == unit and row["FISCAL_YEAR"] == "2022"
        ]
    assert moved < set(unit_rows), "the chosen rows must belong to the unit"

    def move(row: dict[str, str]) -> dict[str, str]:
        return row | {"MINISTRY": "กระทรวงพลังงาน"} if row["ITEM_ID"] in moved else row

    changed = plan_budget(_rewritten(tmp_path, move))
    refused = dict(changed.refused)
    assert set(unit_rows) <= set(refused)
    assert "more than one MINISTRY 'กระทรวงพลังงาน, กระทรวงพาณิชย์'" in refused[unit_rows[0]]
    assert unit not in changed.agencies.values()
    assert changed.imported_rows == original.imported_rows - len(unit_rows)
    assert not any(spec.agency.endswith(agency_code("", unit)[-13:]) for spec in changed.projects.values())


@pytest.mark.parametrize("text", ["৪00", "１,０００.00", "٤٠٠"])
def test_amounts_in_other_scripts_are_refused(text: str) -> None:
    """Issue 12 item 5: Decimal() and \\d read every script's digits; ৪ (four) looks like 8."""
    with pytest.raises(ValueError, match="U\\+"):
        parse_amount(text)


def test_names_with_invisible_or_control_text_and_odd_years_are_refused(tmp_path: Path) -> None:
    hidden, controlled, bidi, bengali = "2022.3.7.3", "2022.3.7.4", "2022.3.7.5", "2022.3.7.6"

    def spoil(row: dict[str, str]) -> dict[str, str]:
        changes = {
            hidden: {"OUTPUT": "\u200b\u200b", "PROJECT": "", "BUDGET_PLAN": "\u2060"},
            controlled: {"BUDGETARY_UNIT": row["BUDGETARY_UNIT"] + "\x00"},
            bidi: {"OUTPUT": "\u202eabc"},
            bengali: {"FISCAL_YEAR": "২০২২"},
        }
        return row | changes.get(row["ITEM_ID"], {})

    original, changed = plan_budget(VOLUME_7), plan_budget(_rewritten(tmp_path, spoil))
    refused = dict(changed.refused)
    assert "must not be empty" in refused[hidden]
    assert "BUDGETARY_UNIT has the control character U+0000" in refused[controlled]
    assert "OUTPUT has the bidi control U+202E" in refused[bidi]
    assert refused[bengali] == "malformed FISCAL_YEAR '২০২২'"
    assert changed.imported_rows == original.imported_rows - 4

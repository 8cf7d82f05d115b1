"""`govledger budget import`: Thailand's machine-readable budget bill → agencies, projects, allocations.

Input: one volume of the FY2565 Budget Expenditure Bill as extracted by kaogeek's
thailand-budget-pdf2csv (columns ITEM_ID, REF_DOC, MINISTRY, BUDGETARY_UNIT, BUDGET_PLAN,
OUTPUT, PROJECT, ..., FISCAL_YEAR (Gregorian), AMOUNT ("800,000,000"), OBLIGED?, DEBUG_LOG).

Codes (the data has no official project code, so one is derived; the same input always gives
the same code, whatever file or row order it comes in):

* names are normalised first: Unicode NFC, runs of white space collapsed to one space, trimmed;
* **ministry code** = ``"M-"`` + the first 8 hex digits (upper case) of
  SHA-256(UTF-8 of ``"ministry|" + MINISTRY``), e.g. ``M-59AE5AA8``;
* **agency code** of a budgetary unit = its ministry's code + ``"/BU-"`` + the first 10 hex
  digits (upper case) of SHA-256(UTF-8 of ``"unit|" + BUDGETARY_UNIT``), e.g.
  ``M-59AE5AA8/BU-86200C034E``. An agency code ``PARENT/CHILD`` belongs to the agency
  ``PARENT``, so the ministry of every unit can be read from the chain;
* **project code** = ``"<B.E. fiscal year>-"`` + the first 12 hex digits (upper case) of
  SHA-256(UTF-8 of ``"<fiscal year>|<BUDGETARY_UNIT>|<BUDGET_PLAN>|<kind>|<name>"``), where
  kind/name is ``output``/OUTPUT, ``project``/PROJECT, or ``plan``/BUDGET_PLAN for rows that
  have neither (personnel and similar plans), e.g. ``2565-438DA57B02F9``.

One project per (agency, plan, output or project or plan); its allocation is the sum of the
AMOUNT of its rows whose FISCAL_YEAR is the imported fiscal year (multi-year commitments repeat
a row per year: only this year's row counts). Its on-chain name is the output, project or
plan name; the agency's name is the budgetary unit's Thai name. Each ministry is registered as an
agency too (before its units), named with the bill's MINISTRY text; it gets no recorder key.

Rows of the imported year are refused, with their ITEM_ID and reason, when: the AMOUNT is not
written like ``"1,234,567"`` (optionally ``.0``-style decimals) - e.g. ``"25,000,0"`` or
``"2535"``; it has more than two non-zero decimals (the extraction's split of a multi-year
commitment, ``"3,365,466.6666666665"``); the extraction's DEBUG_LOG says the amount format is
wrong; MINISTRY, BUDGETARY_UNIT or BUDGET_PLAN is empty; the ITEM_ID repeats; the BUDGETARY_UNIT
is listed under more than one MINISTRY in the file (the bill lists each unit under one ministry,
and a project code, derived from the unit's name, cannot tell the two apart: such a unit is
refused whole rather than merged or guessed). Rows whose DEBUG_LOG warns only about category
levels are imported (the categories are not used) and counted.

Re-running changes nothing: agencies and projects that exist with the same agency, year and
allocation are left alone; a project that exists with other values is reported as a conflict
and not changed (amend it with the registrar's reason instead).
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ledger.client import LedgerClient
from ledger.errors import ImportFileError
from ledger.types import BE_OFFSET, ValueFormatError, ascii_digits, check_text
from ledger.values import ProjectSpec

REQUIRED = (
    "ITEM_ID",
    "REF_DOC",
    "MINISTRY",
    "BUDGETARY_UNIT",
    "BUDGET_PLAN",
    "OUTPUT",
    "PROJECT",
    "FISCAL_YEAR",
    "AMOUNT",
)
_AMOUNT = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})*)(?:\.([0-9]+))?")


def normalise(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def _digest(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits].upper()


def ministry_code(ministry: str) -> str:
    """The derived code of a ministry (see the module docstring)."""
    return "M-" + _digest("ministry|" + normalise(ministry), 8)


def agency_code(ministry: str, unit: str) -> str:
    """The derived code of a budgetary unit of a ministry: ``<ministry code>/BU-<10 hex>``."""
    return ministry_code(ministry) + "/BU-" + _digest("unit|" + normalise(unit), 10)


def project_code(fiscal_year: int, unit: str, plan: str, kind: str, name: str) -> str:
    """The derived code of an output, project or plan of a unit in a B.E. fiscal year."""
    key = "|".join((str(fiscal_year), normalise(unit), normalise(plan), kind, normalise(name)))
    return f"{fiscal_year}-{_digest(key, 12)}"


def parse_amount(text: str) -> int:
    """A budget-bill AMOUNT in satang; raises ValueError with the reason."""
    match = _AMOUNT.fullmatch(ascii_digits(text, "amount").strip())
    if not match:
        raise ValueError(f"malformed amount {text!r}")
    decimals = (match.group(2) or "").rstrip("0")
    if len(decimals) > 2:
        raise ValueError(f"amount {text!r} has more than two decimals")
    return int(Decimal(match.group(1).replace(",", "") + "." + (decimals or "0")) * 100)


@dataclass
class BudgetPlan:
    """What a budget file means for the ledger, before anything is sent."""

    fiscal_year: int
    rows: int = 0
    imported_rows: int = 0
    other_year_rows: int = 0
    warned_rows: int = 0  # imported although DEBUG_LOG has a (category) warning
    ministries: dict[str, str] = field(default_factory=dict)  # code -> the bill's MINISTRY text
    agencies: dict[str, str] = field(default_factory=dict)  # budgetary units: code -> Thai name
    projects: dict[str, ProjectSpec] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (ITEM_ID, reason)

    @property
    def refused_by_reason(self) -> dict[str, int]:
        return dict(Counter(_reason_kind(reason) for _, reason in self.refused))


_COLUMN = {"output": "OUTPUT", "project": "PROJECT", "plan": "BUDGET_PLAN"}


def _reason_kind(reason: str) -> str:
    return re.sub(r"\s*'.*'", "", reason).strip()


def _fiscal_year_of(ref_doc: str) -> int | None:
    head = ref_doc.split(".", 1)[0]
    return int(head) + BE_OFFSET if re.fullmatch(r"[0-9]{4}", head) else None


def plan_budget(path: Path, fiscal_year: int | None = None) -> BudgetPlan:
    """Read a budget-bill CSV and derive agencies, projects and allocations for one B.E. year.

    Without ``fiscal_year`` the bill's own year is used (the year in its REF_DOC).
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ImportFileError(f"{path} is not a budget-bill CSV: missing columns {', '.join(missing)}")
            records = list(reader)
    except FileNotFoundError:
        raise ImportFileError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text") from None
    if fiscal_year is None:
        years = Counter(_fiscal_year_of(r["REF_DOC"]) for r in records)
        years.pop(None, None)
        if not years:
            raise ImportFileError(f"{path}: cannot tell the fiscal year from REF_DOC; give --fiscal-year")
        fiscal_year = int(years.most_common(1)[0][0])  # type: ignore[arg-type]
    plan = BudgetPlan(fiscal_year=fiscal_year, rows=len(records))
    gregorian = str(fiscal_year - BE_OFFSET)
    ministries_of: dict[str, set[str]] = {}
    for record in records:
        if (record.get("FISCAL_YEAR") or "").strip() == gregorian:
            unit, ministry = normalise(record.get("BUDGETARY_UNIT") or ""), normalise(record.get("MINISTRY") or "")
            if unit and ministry:
                ministries_of.setdefault(unit, set()).add(ministry)
    seen: set[str] = set()
    sums: Counter[str] = Counter()
    names: dict[str, tuple[str, str]] = {}
    for record in records:
        item = (record.get("ITEM_ID") or "").strip() or f"(row {record.get('', '?')})"
        year = (record.get("FISCAL_YEAR") or "").strip()
        if item in seen:
            plan.refused.append((item, "ITEM_ID repeats an earlier row"))
            continue
        seen.add(item)
        if year != gregorian:
            if not re.fullmatch(r"[0-9]{4}", year):
                plan.refused.append((item, f"malformed FISCAL_YEAR '{year}'"))
            else:
                plan.other_year_rows += 1
            continue
        ministry = normalise(record.get("MINISTRY") or "")
        unit = normalise(record.get("BUDGETARY_UNIT") or "")
        budget_plan = normalise(record.get("BUDGET_PLAN") or "")
        debug = record.get("DEBUG_LOG") or ""
        if not ministry:
            plan.refused.append((item, "MINISTRY is empty"))
            continue
        if not unit:
            plan.refused.append((item, "BUDGETARY_UNIT is empty"))
            continue
        if len(ministries_of[unit]) > 1:
            listed = ", ".join(sorted(ministries_of[unit]))
            plan.refused.append((item, f"BUDGETARY_UNIT is listed under more than one MINISTRY '{listed}'"))
            continue
        if not budget_plan:
            plan.refused.append((item, "BUDGET_PLAN is empty"))
            continue
        if "AMOUNT FORMAT" in debug.upper():
            plan.refused.append((item, f"the extraction flagged the amount '{record['AMOUNT']}' as wrong"))
            continue
        try:
            amount = parse_amount(record["AMOUNT"])
        except ValueError as exc:
            plan.refused.append((item, str(exc)))
            continue
        output = normalise(record.get("OUTPUT") or "")
        project = normalise(record.get("PROJECT") or "")
        kind, name = ("output", output) if output else ("project", project) if project else ("plan", budget_plan)
        try:  # these names are published on chain as they are
            for column, text in (("MINISTRY", ministry), ("BUDGETARY_UNIT", unit), (_COLUMN[kind], name)):
                check_text(text, column)
        except ValueFormatError as exc:
            plan.refused.append((item, str(exc)))
            continue
        code = project_code(fiscal_year, unit, budget_plan, kind, name)
        agency = agency_code(ministry, unit)
        plan.ministries[ministry_code(ministry)] = ministry
        plan.agencies[agency] = unit
        names[code] = (agency, name)
        sums[code] += amount
        plan.imported_rows += 1
        if debug.strip():
            plan.warned_rows += 1
    for code, (agency, name) in names.items():
        plan.projects[code] = ProjectSpec(code, agency, fiscal_year, sums[code], name)
    return plan


@dataclass
class BudgetImport:
    plan: BudgetPlan
    agencies_added: int = 0  # ministries and units
    agencies_existing: int = 0
    projects_added: int = 0
    projects_existing: int = 0
    conflicts: list[str] = field(default_factory=list)

    @property
    def allocated(self) -> int:
        return sum(p.allocation for p in self.plan.projects.values())


def import_budget(client: LedgerClient, path: Path, fiscal_year: int | None = None) -> BudgetImport:
    """Register the file's ministries, units, projects and allocations (registrar key); idempotent.

    Ministries come first, so a unit's parent is on the chain before the unit.
    """
    plan = plan_budget(path, fiscal_year)
    result = BudgetImport(plan)
    for code, name in [*sorted(plan.ministries.items()), *sorted(plan.agencies.items())]:
        if client.agency_exists(code):
            result.agencies_existing += 1
        else:
            client.register_agency(code, name, "")
            result.agencies_added += 1
    on_chain = client.projects(list(plan.projects))
    new: list[ProjectSpec] = []
    for code, spec in sorted(plan.projects.items()):
        state = on_chain[code]
        if state is None:
            new.append(spec)
        elif (state.agency, state.fiscal_year, state.allocation) == (spec.agency, spec.fiscal_year, spec.allocation):
            result.projects_existing += 1
        else:
            result.conflicts.append(
                f"project {code} is on the ledger with agency {state.agency}, year {state.fiscal_year}, "
                f"allocation {state.allocation} satang; the file says {spec.agency}, {spec.fiscal_year}, "
                f"{spec.allocation} satang (left unchanged)"
            )
    client.register_projects(new)
    result.projects_added = len(new)
    return result

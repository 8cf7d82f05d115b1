"""`govledger demo` end to end: a fresh anvil, a fresh SQLite mirror, the real seeding,
indexing and API; then a restart that must not duplicate anything."""

from __future__ import annotations

import csv
import json
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger import node
from ledger.seed import DEMO_BUDGET, RANDOM_SEED, plan_disbursements
from ledger.settings import get_settings
from scripts.govledger import main

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _budget_total(path: Path) -> int:
    """FY2565 allocations in satang, summed straight from the CSV (rows the importer refuses excluded)."""
    total = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            # The files give the Gregorian year; FY 2565 B.E. is 2022.
            if row["FISCAL_YEAR"] != "2022" or not row["BUDGETARY_UNIT"] or not row["BUDGET_PLAN"]:
                continue
            amount = row["AMOUNT"].strip()
            if not re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?", amount) or "amount" in row["DEBUG_LOG"].lower():
                continue
            value = Decimal(amount.replace(",", "")) * 100
            if value != value.to_integral_value():
                continue
            total += int(value)
    return total


def _run_demo(tmp_path: Path) -> None:
    try:
        main(["demo", "--seed-only", "--state", str(tmp_path / "chain-state.json")])
    except SystemExit as exc:
        assert exc.code in (0, None), f"govledger demo exited with {exc.code}"


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOVLEDGER_RPC_URL", f"http://127.0.0.1:{node.free_port()}")
    monkeypatch.setenv("GOVLEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'govledger.db'}")
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(tmp_path / "deployment.json"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_demo_seeds_indexes_and_resumes_without_duplicates(demo_env: Path) -> None:
    _run_demo(demo_env)
    marker = json.loads((demo_env / "demo-seed.json").read_text(encoding="utf-8"))

    from api.app import create_app

    with TestClient(create_app()) as api:
        summary = api.get("/v1/summary", params={"fiscal_year": 2565}).json()
        checkpoint = api.get("/v1/checkpoint").json()
        first_page = api.get("/v1/disbursements", params={"limit": 500}).json()

    # Allocations: the API's total equals the CSV's own sum.
    expected_allocated = _budget_total(DEMO_BUDGET)
    assert Decimal(summary["allocated"]) * 100 == expected_allocated == marker["allocated_satang"]
    # Disbursements: the seed plan recomputed here from the same inputs and random seed.
    from ledger.budget import plan_budget

    projects = {c: (p.agency, p.allocation) for c, p in plan_budget(DEMO_BUDGET, 2565).projects.items()}
    plan = plan_disbursements(projects, random.Random(RANDOM_SEED), 3000)
    assert marker["disbursements"] == len(plan) > 1000
    assert Decimal(summary["disbursed"]) * 100 == sum(d.amount for _, d in plan) == marker["disbursed_satang"]
    assert Decimal(summary["reversed"]) * 100 == marker["reversed_satang"] > 0
    assert Decimal(summary["net"]) == Decimal(summary["disbursed"]) - Decimal(summary["reversed"])
    assert len(first_page["items"]) == 500

    # Running the demo again resumes: no new entries, the same mirror.
    _run_demo(demo_env)
    with TestClient(create_app()) as api:
        again = api.get("/v1/checkpoint").json()
        summary_again = api.get("/v1/summary", params={"fiscal_year": 2565}).json()
    assert again["ledger_seq"] == checkpoint["ledger_seq"]
    assert again["mirror_digest"] == checkpoint["mirror_digest"]
    assert summary_again == summary

"""The OCDS export validates against the OCDS 1.1.5 release package schema (draft 4, formats
checked, offline), including the projects registered from the FY2565 budget bill sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from api_scenario import Scenario, settings_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ledger.types import format_baht

pytestmark = pytest.mark.xdist_group("api")

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "ocds-1.1.5"
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


def validator() -> jsonschema.Draft4Validator:
    package = json.loads((SCHEMAS / "release-package-schema.json").read_text())
    release = json.loads((SCHEMAS / "release-schema.json").read_text())
    registry = Registry().with_resource(RELEASE_URL, Resource.from_contents(release, default_specification=DRAFT4))
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    # Without these the checker silently passes "uri" and "date-time": make sure they really run.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return jsonschema.Draft4Validator(package, registry=registry, format_checker=checker)


def errors_of(document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]


def test_the_validator_rejects_a_broken_package() -> None:
    broken = {"uri": "not a uri", "version": "1.1", "publishedDate": "yesterday", "publisher": {}, "releases": []}
    assert len(errors_of(broken)) >= 3


def test_whole_mirror_export_is_valid_ocds(client: Any, scenario_chain: Scenario) -> None:
    answer = client.get("/v1/export/ocds")
    assert answer.status_code == 200
    package = answer.json()
    assert errors_of(package) == []
    releases = {r["ocid"]: r for r in package["releases"]}
    assert len(releases) == len(scenario_chain.projects)
    lunch = releases["ocds-govledger-MOE-2570-001"]
    transactions = lunch["contracts"][0]["implementation"]["transactions"]
    payments = [p for p in scenario_chain.payments if p.project == "MOE-2570-001"]
    # One transaction per disbursement plus one negative per reversal.
    assert len(transactions) == len(payments) + 1
    total = sum(round(t["value"]["amount"] * 100) for t in transactions)
    assert total == sum(p.satang for p in payments) - sum(p.satang for p in payments if p.reversed_reason)
    assert all(t["value"]["currency"] == "THB" for t in transactions)
    hashes = {d["id"] for d in lunch["contracts"][0]["implementation"]["documents"]}
    detail = client.get(f"/v1/disbursements/{payments[0].seq}").json()
    assert detail["provenance"]["tx_hash"] in hashes
    count = sum(len(c["implementation"]["transactions"]) for r in package["releases"] for c in r.get("contracts", []))
    print(f"OCDS: {len(package['releases'])} releases, {count} transactions, 0 schema errors")


def test_budget_bill_projects_export_is_valid(client: Any, scenario_chain: Scenario) -> None:
    package = client.get("/v1/export/ocds", params={"fiscal_year": 2565}).json()
    assert errors_of(package) == []
    budgets = {r["planning"]["budget"]["projectID"]: r["planning"]["budget"] for r in package["releases"]}
    assert sorted(budgets) == scenario_chain.budget_projects
    for code, budget in budgets.items():
        expected = scenario_chain.projects[code]
        assert format_baht(round(budget["amount"]["amount"] * 100)) == format_baht(expected["allocation"])
        assert budget["project"] == expected["name"]


def test_ocds_prefix_setting_and_empty_filter(scenario_chain: Scenario, sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings_for(sqlite_url, ocid_prefix="ocds-th0000"))) as client:
        package = client.get("/v1/export/ocds", params={"agency": "SLF"}).json()
        assert [r["ocid"] for r in package["releases"]] == ["ocds-th0000-SLF-2570-001"]
        assert errors_of(package) == []
        assert client.get("/v1/export/ocds", params={"agency": "NOBODY"}).status_code == 404


def test_the_streamed_export_is_the_same_on_postgresql(client: Any, pg_client: Any) -> None:
    for params in ({}, {"project": "MOE-2570-001"}, {"fiscal_year": 2565}):
        on_sqlite = client.get("/v1/export/ocds", params=params)
        on_postgresql = pg_client.get("/v1/export/ocds", params=params)
        assert on_sqlite.status_code == on_postgresql.status_code == 200
        assert on_sqlite.content == on_postgresql.content, params
        assert errors_of(on_postgresql.json()) == []

"""The published OpenAPI document of the /v1 API and /healthz, against a committed snapshot.

A change to a route, parameter or response model changes the public contract: review it, then
regenerate the snapshot with

    GOVLEDGER_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/api/test_api_openapi.py

Routes owned elsewhere (the dashboard pages, /v1/proofs) are left out of this snapshot.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from api_scenario import settings_for

from api.app import create_app

pytestmark = pytest.mark.xdist_group("api")

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "openapi.json"


def ours(path: str) -> bool:
    return path == "/healthz" or (path.startswith("/v1/") and not path.startswith("/v1/proofs"))


def public_contract(document: dict[str, Any]) -> dict[str, Any]:
    """The document restricted to our paths and the schemas they reach."""
    paths = {p: ops for p, ops in document["paths"].items() if ours(p)}
    schemas = document["components"]["schemas"]
    reached: set[str] = set()
    pending = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(paths))
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    return {
        "openapi": document["openapi"],
        "info": document["info"],
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(reached)}},
    }


def current(tmp_path: Path) -> dict[str, Any]:
    # The document does not depend on the data: an empty, not-yet-created mirror is enough.
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'none.db'}"))
    return public_contract(app.openapi())


def test_openapi_matches_snapshot(tmp_path: Path) -> None:
    document = current(tmp_path)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("GOVLEDGER_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == text, (
        "the public API contract changed; review, then run with GOVLEDGER_UPDATE_SNAPSHOT=1"
    )


EXPECTED_PATHS = {
    "/healthz",
    "/v1/agencies",
    "/v1/agencies/{code}",
    "/v1/projects",
    "/v1/projects/{code}",
    "/v1/disbursements",
    "/v1/disbursements/{id}",
    "/v1/requests/{tracking_code}",
    "/v1/services/{service}/stats",
    "/v1/summary",
    "/v1/export/disbursements.csv",
    "/v1/export/ocds",
    "/v1/checkpoint",
}


def test_every_route_of_the_architecture_is_documented(tmp_path: Path) -> None:
    document = current(tmp_path)
    assert set(document["paths"]) == EXPECTED_PATHS
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}, path  # read-only: no other method exists
        responses = operations["get"]["responses"]
        for status in ("400", "422", "429"):
            assert "application/problem+json" in responses[status]["content"], (path, status)
        assert "HTTPValidationError" not in json.dumps(responses)
    schemas = document["components"]["schemas"]
    assert not any(name.endswith("Table") or name in ("Disbursement", "Project", "Agency") for name in schemas)
    money = schemas["DisbursementPublic"]["properties"]["amount"]
    assert money["type"] == "string" and money["pattern"].startswith("^-?[0-9]+")


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_docs_are_served(client: Any, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    if path == "/openapi.json":
        assert set(answer.json()["paths"]) >= EXPECTED_PATHS

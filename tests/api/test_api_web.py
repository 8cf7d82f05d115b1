"""Web hygiene of every route (issue 12): HEAD wherever GET is served, security headers on every
answer, CSV cells that a spreadsheet will not run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from api_scenario import Scenario, settings_for
from fastapi.testclient import TestClient

from api.app import create_app

pytestmark = pytest.mark.xdist_group("api")

IGNORED_HEADERS = {"date"}


def get_routes(app: Any) -> Iterator[Any]:
    """Every route of the app that serves GET, through FastAPI's included routers."""
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            if "GET" in (getattr(context, "methods", None) or ()):
                yield context


def concrete(path: str, scenario: Scenario) -> str:
    """A path template with real values of the scenario, so that most routes answer 200."""
    payment = scenario.payments[0]
    values = {
        "{id}": str(payment.seq),
        "{tracking_code}": scenario.requests["loan"],
        "{seq}": "1",
        "{service}": "student-loan",
        "{name}": "swagger-ui.css" if path.startswith("/docs") else "site.css",
        # A code with a slash, as the routes accept.
        "{code:path}": "MOE/OBEC" if "agencies" in path else payment.project,
    }
    for template, value in values.items():
        path = path.replace(template, value)
    assert "{" not in path, path
    return path


@pytest.fixture(scope="module")
def cached_client(sqlite_url: str) -> Iterator[TestClient]:
    # The answer cache keeps an answer from the second time it is asked: HEAD must be served from it too.
    with TestClient(create_app(settings_for(sqlite_url, cache_entries=64))) as client:
        yield client


def test_every_get_route_answers_head_like_get(cached_client: TestClient, scenario_chain: Scenario) -> None:
    paths = sorted({concrete(route.path, scenario_chain) for route in get_routes(cached_client.app)})
    assert len(paths) >= 20
    ok = revalidated = 0
    for path in paths:
        for _ in range(3):  # uncached, then kept, then served from the answer cache
            got = cached_client.get(path)
            head = cached_client.head(path)
            assert head.status_code == got.status_code, (path, head.status_code, head.text[:200])
            assert head.content == b"", path
            same = {k: v for k, v in got.headers.items() if k not in IGNORED_HEADERS}
            assert {k: v for k, v in head.headers.items() if k not in IGNORED_HEADERS} == same, path
        ok += got.status_code == 200
        etag = got.headers.get("etag")
        if got.status_code == 200 and etag:
            conditional = {"If-None-Match": etag}
            again = cached_client.head(path, headers=conditional)
            assert again.status_code == cached_client.get(path, headers=conditional).status_code, path
            assert again.content == b"" and again.headers["etag"] == etag, path
            revalidated += again.status_code == 304
    assert ok >= len(paths) - 2  # the proofs may need the node; everything else answers
    assert revalidated >= 12  # the JSON routes, the exports, the static files


def test_head_is_rate_limited_like_get(sqlite_url: str) -> None:
    with TestClient(create_app(settings_for(sqlite_url, rate_limit=1.0, rate_burst=2))) as client:
        statuses = [client.head("/v1/summary").status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429


def test_head_does_not_run_the_whole_export(client: TestClient) -> None:
    answer = client.head("/v1/export/ocds")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["etag"]


def test_the_openapi_document_lists_no_head_operations(client: TestClient) -> None:
    operations = {method for item in client.get("/openapi.json").json()["paths"].values() for method in item}
    assert operations == {"get"}


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def check_security_headers(answer: Any, context: Any) -> None:
    for name, value in SECURITY.items():
        assert answer.headers.get(name) == value, (context, name, answer.status_code)
    policy = answer.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, (context, policy)
    assert "unsafe-inline" not in policy.split("script-src", 1)[-1].split(";")[0], (context, policy)


def test_security_headers_on_every_answer(client: TestClient, scenario_chain: Scenario, sqlite_url: str) -> None:
    paths = sorted({concrete(route.path, scenario_chain) for route in get_routes(client.app)})
    for path in paths:
        for method in ("GET", "HEAD"):
            check_security_headers(client.request(method, path), (method, path))
    errors = [
        client.get("/no/such/route"),  # 404 from the router
        client.get("/v1/disbursements", params={"limit": "x"}),  # 422
        client.get("/v1/disbursements", params={"nope": "1"}),  # 400
        client.get("/v1/agencies/NOBODY"),  # 404 from a route
        client.get("/v1/summary", params={"q": "x" * 5000}),  # 414 from the guard
        client.post("/v1/summary", content=b"x"),  # 413 from the guard
        client.delete("/v1/summary"),  # 405
        client.options("/v1/summary"),  # CORS preflight
        client.get("/projects/NOBODY"),  # the dashboard's 404 page
        client.get("/v1/export/disbursements.csv", headers={"If-None-Match": "*"}),  # 304
    ]
    for answer in errors:
        check_security_headers(answer, answer.request.url)
    with TestClient(create_app(settings_for(sqlite_url, rate_limit=1.0, rate_burst=1))) as limited:
        limited.get("/healthz")
        refused = limited.get("/healthz")
        assert refused.status_code == 429
        check_security_headers(refused, "429")


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def formula_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A mirror whose recorder wrote spreadsheet formulas into every free-text field (and a code
    starting with '-', which the code charset allows), written through the indexer's handlers."""
    from indexer import decode as ev
    from indexer.db import open_store, upgrade
    from indexer.handlers import BatchWriter, apply_events

    path = tmp_path_factory.mktemp("formulas") / "mirror.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    store = open_store(url)
    contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    events: list[Any] = []

    def where() -> dict[str, Any]:
        seq = len(events) + 1
        return {
            "seq": seq,
            "head": f"0x{seq:064x}",
            "address": contract,
            "block_number": 1,
            "block_hash": f"0x{1:064x}",
            "tx_hash": f"0x{seq:064x}",
            "tx_index": 0,
            "log_index": seq,
        }

    events.append(ev.AgencyRegistered(**where(), agency="-AG", name="=1+1", name_en="@x"))
    events.append(
        ev.ProjectRegistered(**where(), project="-1-P", agency="-AG", fiscal_year=2570, allocation=10**9, name="+x")
    )
    for text in FORMULAS:
        events.append(
            ev.DisbursementRecorded(
                **where(),
                project="-1-P",
                agency="-AG",
                voucher=text + "-V",
                amount=123_45,
                payee=text,
                document_hash=None,
                request=None,
            )
        )
    writer = BatchWriter(store, 31337, contract)
    store.begin()
    apply_events(writer, events, [e.fields_json() for e in events], {1: 1_790_000_000})
    writer.flush(1_790_000_000)
    store.execute(
        "INSERT INTO checkpoint (id, chain_id, contract, block_number, block_hash) VALUES (1, 31337, ?, 1, ?)",
        (contract, f"0x{1:064x}"),
    )
    store.commit()
    store.close()
    with TestClient(create_app(settings_for(url))) as client:
        yield client


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(formula_client: TestClient) -> None:
    rows = _csv_rows(formula_client.get("/v1/export/disbursements.csv").text)
    header, body = rows[0], rows[1:]
    assert len(body) == len(FORMULAS)
    column = {name: index for index, name in enumerate(header)}
    for row in body:
        for name in ("agency", "project", "voucher", "payee"):
            cell = row[column[name]]
            # Excel, LibreOffice and Google Sheets start a formula with these: the cell must not.
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (name, cell)
        assert row[column["agency"]] == "'-AG" and row[column["project"]] == "'-1-P"
    assert sorted(row[column["payee"]] for row in body) == sorted("'" + text for text in FORMULAS)
    # Figures we format ourselves stay numbers.
    assert {row[column["amount"]] for row in body} == {"123.45"}
    assert all(row[column["id"]].isdigit() for row in body)
    # The JSON API still gives the values exactly as recorded.
    payees = {item["payee"] for item in formula_client.get("/v1/disbursements").json()["items"]}
    assert payees == set(FORMULAS)

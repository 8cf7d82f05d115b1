"""Every route against a mirror the real indexer built from a real chain; expected values come
from the scenario's inputs (what was sent to the chain), never from the API's own output."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from api_scenario import OBEC_PROJECT, Scenario
from web3 import HTTPProvider, Web3

from indexer.digest import mirror_digest
from ledger.types import format_baht

pytestmark = pytest.mark.xdist_group("api")


def walk(client: Any, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page by page; also checks that pages never repeat an item."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = client.get(path, params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def net_of(scenario: Scenario, predicate: Any) -> tuple[int, int]:
    disbursed = sum(p.satang for p in scenario.payments if predicate(p))
    reversed_ = sum(p.satang for p in scenario.payments if predicate(p) and p.reversed_reason)
    return disbursed, reversed_


def test_agencies_pages_cover_every_agency_once(client: Any, scenario_chain: Scenario) -> None:
    items = walk(client, "/v1/agencies", limit=2)
    codes = [item["code"] for item in items]
    assert codes == sorted(scenario_chain.agencies)
    by_code = {item["code"]: item for item in items}
    for code, (name, name_en) in scenario_chain.agencies.items():
        assert (by_code[code]["name"], by_code[code]["name_en"]) == (name, name_en)
        assert by_code[code]["recorders"] == scenario_chain.recorders[code]
        assert by_code[code]["ministry"] == code.split("/")[0]


def test_agency_detail_totals(client: Any, scenario_chain: Scenario) -> None:
    answer = client.get("/v1/agencies/MOE")
    assert answer.status_code == 200
    body = answer.json()
    projects = {c: p for c, p in scenario_chain.projects.items() if p["agency"] == "MOE"}
    disbursed, reversed_ = net_of(scenario_chain, lambda p: p.agency == "MOE")
    assert body["project_count"] == len(projects)
    assert body["allocated"] == format_baht(sum(p["allocation"] for p in projects.values()))
    assert (body["disbursed"], body["reversed"], body["net"]) == (
        format_baht(disbursed),
        format_baht(reversed_),
        format_baht(disbursed - reversed_),
    )
    assert client.get("/v1/agencies/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agency": "MOE"}, ["MOE-2569-001", "MOE-2570-001", "MOE-2570-002"]),
        ({"fiscal_year": 2570}, ["MOE-2570-001", "MOE-2570-002", OBEC_PROJECT, "MOPH-2570-001", "SLF-2570-001"]),
        ({"agency": "MOE/OBEC"}, [OBEC_PROJECT]),
        ({"agency": "MOE", "fiscal_year": 2569}, ["MOE-2569-001"]),
        ({"q": "อาหารกลางวัน"}, ["MOE-2570-001"]),  # Thai project name
        ({"q": "WI-FI"}, ["MOE-2570-002"]),  # English words, any case
        ({"q": "public health"}, ["MOPH-2570-001"]),  # the agency's English name
        ({"q": "สาธารณสุข"}, ["MOPH-2570-001"]),  # the agency's Thai name
        ({"q": "100%"}, []),  # LIKE wildcards are literal
        ({"q": "_"}, []),
        ({"fiscal_year": 2600}, []),
    ],
)
def test_project_filters(client: Any, params: dict[str, Any], expected: list[str]) -> None:
    assert [item["code"] for item in walk(client, "/v1/projects", limit=2, **params)] == expected


def test_projects_of_the_budget_bill(client: Any, scenario_chain: Scenario) -> None:
    items = walk(client, "/v1/projects", limit=4, fiscal_year=2565)
    assert [item["code"] for item in items] == scenario_chain.budget_projects
    for item in items:
        assert item["allocation"] == format_baht(scenario_chain.projects[item["code"]]["allocation"])


def test_project_detail(client: Any, scenario_chain: Scenario) -> None:
    body = client.get("/v1/projects/MOE-2570-001").json()
    disbursed, reversed_ = net_of(scenario_chain, lambda p: p.project == "MOE-2570-001")
    allocation = scenario_chain.projects["MOE-2570-001"]["allocation"]
    assert body["allocation"] == format_baht(allocation)
    assert body["disbursed"] == format_baht(disbursed)
    assert body["reversed"] == format_baht(reversed_) == "500.00"
    assert body["net"] == format_baht(disbursed - reversed_)
    assert body["remaining"] == format_baht(allocation - disbursed + reversed_)
    assert body["disbursement_count"] == sum(1 for p in scenario_chain.payments if p.project == "MOE-2570-001")
    assert body["reversal_count"] == 1
    assert body["last_activity_at"] == "2027-01-08T05:00:00Z"  # the reversal
    amended = client.get("/v1/projects/MOE-2570-002").json()
    assert (amended["initial_allocation"], amended["allocation"]) == ("250000.50", "300000.50")
    assert [a["reason"] for a in amended["amendments"]] == ["เพิ่มงบกลางปี"]
    assert client.get("/v1/projects/NOPE").status_code == 404


def bangkok_day(timestamp: int) -> str:
    from ledger.types import BANGKOK

    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone(BANGKOK).date().isoformat()


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({}, lambda p: True),
        ({"project": "MOE-2570-001"}, lambda p: p.project == "MOE-2570-001"),
        ({"agency": "MOPH"}, lambda p: p.agency == "MOPH"),
        ({"fiscal_year": 2569}, lambda p: p.project == "MOE-2569-001"),
        ({"payee": "SUP-001"}, lambda p: p.payee == "SUP-001"),
        ({"min_amount": "20.25", "max_amount": "30.25"}, lambda p: 2025 <= p.satang <= 3025),
        ({"min_amount": "750000"}, lambda p: p.satang >= 75_000_000),
        ({"since": "2027-01-07"}, lambda p: bangkok_day(p.time) >= "2027-01-07"),
        ({"until": "2027-01-06"}, lambda p: bangkok_day(p.time) <= "2027-01-06"),
        (
            {"since": "2027-01-06", "until": "2027-01-07", "agency": "MOE"},
            lambda p: p.agency == "MOE" and "2027-01-06" <= bangkok_day(p.time) <= "2027-01-07",
        ),
    ],
)
def test_disbursement_filters_and_pages(
    client: Any, scenario_chain: Scenario, params: dict[str, Any], predicate: Any
) -> None:
    expected = sorted((p for p in scenario_chain.payments if predicate(p)), key=lambda p: -p.seq)
    assert expected or params.get("min_amount") is None
    items = walk(client, "/v1/disbursements", limit=7, **params)
    assert [item["id"] for item in items] == [p.seq for p in expected]
    for item, payment in zip(items, expected, strict=True):
        assert item["amount"] == format_baht(payment.satang)
        assert (item["project"], item["agency"], item["voucher"], item["payee"]) == (
            payment.project,
            payment.agency,
            payment.voucher,
            payment.payee,
        )
        assert item["reversed"] == (payment.reversed_reason is not None)
        assert item["request"] == payment.request


def test_disbursement_detail_matches_the_chain(client: Any, scenario_chain: Scenario) -> None:
    payment = scenario_chain.payment("V-0002", "MOE")
    body = client.get(f"/v1/disbursements/{payment.seq}").json()
    assert body["id"] == payment.seq
    assert body["reversed"] is True
    assert body["reversal"]["reason"] == "จ่ายซ้ำ duplicate payment"
    # Provenance, checked against the node itself.
    w3 = Web3(HTTPProvider(scenario_chain.rpc_url))
    prov = body["provenance"]
    receipt = w3.eth.get_transaction_receipt(prov["tx_hash"])
    assert receipt["blockNumber"] == prov["block_number"]
    assert receipt["blockHash"].to_0x_hex() == prov["block_hash"]
    assert prov["log_index"] in [log["logIndex"] for log in receipt["logs"]]
    assert prov["recorded_at"] == "2027-01-05T04:00:00Z"
    reversal = body["reversal"]["provenance"]
    assert reversal["ledger_seq"] > payment.seq
    assert w3.eth.get_transaction_receipt(reversal["tx_hash"])["blockNumber"] == reversal["block_number"]
    assert client.get(f"/v1/disbursements/{scenario_chain.last_seq + 1}").status_code == 404
    linked = scenario_chain.payment("L-0001", "SLF")
    assert client.get(f"/v1/disbursements/{linked.seq}").json()["request"] == scenario_chain.requests["loan"]


def test_request_timeline_with_working_day_deadlines(client: Any, scenario_chain: Scenario) -> None:
    code = scenario_chain.requests["complaint-open"]
    body = client.get(f"/v1/requests/{code}").json()
    assert (body["service"], body["agency"], body["state"], body["terminal"]) == (
        "complaint",
        "MOE",
        "in-progress",
        False,
    )
    assert "applicant" not in str(body) and "commitment" not in str(body)
    # Worked out by hand: opened Mon 11 Jan 2027; 3/7/30 working-day limits; no holidays after 1 Jan.
    steps = [
        (s["state"], s["deadline"], s["working_days_taken"], s["status"], s["overdue_working_days"])
        for s in body["steps"]
    ]
    assert steps == [
        ("received", "2027-01-14", 2, "met", 0),
        ("assigned", "2027-01-22", 8, "overdue", 1),
        ("in-progress", "2027-03-09", 5, "open", 0),
    ]
    # Typed without dashes and in lower case, it is the same request.
    assert client.get("/v1/requests/" + code.replace("-", "").lower()).json()["tracking_code"] == code
    loan = client.get(f"/v1/requests/{scenario_chain.requests['loan']}").json()
    assert [(s["state"], s["status"], s["overdue_working_days"]) for s in loan["steps"]] == [
        ("submitted", "overdue", 2),
        ("school-verified", "open", 0),
    ]
    assert loan["steps"][0]["entered_by"] == "SLF" and loan["steps"][1]["entered_by"] == "MOE"
    withdrawn = client.get(f"/v1/requests/{scenario_chain.requests['complaint-withdrawn']}").json()
    assert (withdrawn["state"], withdrawn["terminal"], withdrawn["deadline"]) == ("withdrawn", True, None)
    assert withdrawn["steps"][-1]["status"] == "no-limit"


def test_unknown_tracking_code_is_a_plain_404(client: Any) -> None:
    answer = client.get("/v1/requests/0000-0000-0000-0000-0000-0000-0000-0000")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no such request"


def test_service_stats(client: Any) -> None:
    body = client.get("/v1/services/complaint/stats").json()
    counts = {s["state"]: s["count"] for s in body["states"]}
    assert counts == {"received": 0, "assigned": 0, "in-progress": 1, "resolved": 0, "rejected": 0, "withdrawn": 1}
    steps = {s["state"]: s for s in body["steps"]}
    # received: 2 working days (first complaint) and 0 (withdrawn the same day) -> median 1, p80 1.6
    assert (steps["received"]["completed"], steps["received"]["median_working_days"]) == (2, 1.0)
    assert steps["received"]["p80_working_days"] == pytest.approx(1.6)
    assert steps["received"]["on_time_share"] == 1.0
    assert (steps["assigned"]["median_working_days"], steps["assigned"]["on_time_share"]) == (8.0, 0.0)
    assert body["agencies"] == [{"agency": "MOE", "steps_with_limit": 3, "on_time": 2, "on_time_share": 0.6667}]
    loan = client.get("/v1/services/student-loan/stats").json()
    assert loan["requests"] == 1
    assert loan["agencies"] == [{"agency": "MOE", "steps_with_limit": 1, "on_time": 0, "on_time_share": 0.0}]
    assert client.get("/v1/services/nope/stats").status_code == 404


@pytest.mark.parametrize("fiscal_year", [None, 2570, 2569, 2565, 2600])
def test_summary_totals(client: Any, scenario_chain: Scenario, fiscal_year: int | None) -> None:
    params = {"fiscal_year": fiscal_year} if fiscal_year else {}
    body = client.get("/v1/summary", params=params).json()
    projects = {c: p for c, p in scenario_chain.projects.items() if fiscal_year in (None, p["fiscal_year"])}
    disbursed, reversed_ = net_of(scenario_chain, lambda p: p.project in projects)
    allocated = sum(p["allocation"] for p in projects.values())
    assert body["fiscal_year"] == fiscal_year
    assert body["projects"] == len(projects)
    assert (body["allocated"], body["disbursed"], body["reversed"], body["net"], body["remaining"]) == (
        format_baht(allocated),
        format_baht(disbursed),
        format_baht(reversed_),
        format_baht(disbursed - reversed_),
        format_baht(allocated - disbursed + reversed_),
    )
    assert [a["agency"] for a in body["agencies"]] == sorted({p["agency"] for p in projects.values()})
    assert sum(int(a["allocated"].replace(".", "")) for a in body["agencies"]) == allocated
    # By ministry: the root of each agency code; recomputed here from the scenario's inputs.
    ministries: dict[str, dict[str, Any]] = {}
    for project in projects.values():
        ministry = project["agency"].split("/")[0]
        row = ministries.setdefault(ministry, {"agencies": set(), "projects": 0, "allocated": 0})
        row["agencies"].add(project["agency"])
        row["projects"] += 1
        row["allocated"] += project["allocation"]
    assert [m["code"] for m in body["ministries"]] == sorted(ministries)
    for m in body["ministries"]:
        wanted = ministries[m["code"]]
        paid, undone = net_of(
            scenario_chain, lambda p, code=m["code"]: p.project in projects and p.agency.split("/")[0] == code
        )
        assert (m["name"], m["name_en"]) == scenario_chain.agencies[m["code"]]
        assert (m["agencies"], m["projects"]) == (len(wanted["agencies"]), wanted["projects"])
        assert (m["allocated"], m["disbursed"], m["reversed"], m["net"]) == (
            format_baht(wanted["allocated"]),
            format_baht(paid),
            format_baht(undone),
            format_baht(paid - undone),
        )
    for a in body["agencies"]:
        assert a["ministry"] == a["agency"].split("/")[0]
    if fiscal_year in (None, 2570):
        moe = next(m for m in body["ministries"] if m["code"] == "MOE")
        assert moe["agencies"] == 2  # MOE itself and MOE/OBEC


def test_codes_with_a_slash(client: Any, scenario_chain: Scenario) -> None:
    """Hierarchical codes work in paths: an agency under MOE, and a project code with "/"."""
    agency = client.get("/v1/agencies/MOE/OBEC")
    assert agency.status_code == 200, agency.text
    body = agency.json()
    assert (body["code"], body["ministry"]) == ("MOE/OBEC", "MOE")
    assert body["name"] == scenario_chain.agencies["MOE/OBEC"][0]
    assert body["recorders"] == scenario_chain.recorders["MOE/OBEC"]
    paid, undone = net_of(scenario_chain, lambda p: p.agency == "MOE/OBEC")
    assert paid > 0 and (body["project_count"], body["net"]) == (1, format_baht(paid - undone))
    assert client.get("/v1/agencies/MOE").json()["ministry"] == "MOE"
    project = client.get(f"/v1/projects/{OBEC_PROJECT}")
    assert project.status_code == 200, project.text
    assert (project.json()["code"], project.json()["agency"]) == (OBEC_PROJECT, "MOE/OBEC")
    assert project.json()["allocation"] == format_baht(scenario_chain.projects[OBEC_PROJECT]["allocation"])
    # The whole path is still one code, checked by its pattern.
    assert client.get("/v1/agencies/MOE/NOPE").status_code == 404
    assert client.get("/v1/agencies/MOE/" + "X" * 40).status_code in (400, 422)
    assert client.get("/v1/agencies/MOE/OB%20EC").status_code in (400, 422)
    assert client.get("/v1/projects/MOE//2570").status_code in (404, 400, 422)


def test_checkpoint_matches_chain_and_indexer_digest(client: Any, scenario_chain: Scenario, sqlite_url: str) -> None:
    body = client.get("/v1/checkpoint").json()
    w3 = Web3(HTTPProvider(scenario_chain.rpc_url))
    assert scenario_chain.deployment is not None
    assert body["chain_id"] == w3.eth.chain_id
    assert body["contracts"]["GovLedger"].lower() == scenario_chain.deployment.address.lower()
    assert body["block_number"] == w3.eth.block_number
    assert body["block_hash"] == w3.eth.get_block(body["block_number"])["hash"].to_0x_hex()
    contract = w3.eth.contract(
        address=scenario_chain.deployment.address,
        abi=[
            {
                "name": "ledgerHead",
                "type": "function",
                "stateMutability": "view",
                "inputs": [],
                "outputs": [{"name": "seq", "type": "uint64"}, {"name": "head", "type": "bytes32"}],
            }
        ],
    )
    seq, head = contract.functions.ledgerHead().call()
    assert (body["ledger_seq"], body["ledger_head"]) == (seq, "0x" + head.hex())
    assert body["mirror_digest"] == mirror_digest(sqlite_url)
    assert body["unheld"] == []  # every money value of a real chain fits


def test_csv_export_is_excel_friendly_and_filtered(client: Any, scenario_chain: Scenario) -> None:
    answer = client.get("/v1/export/disbursements.csv", params={"agency": "MOE", "payee": "SUP-001"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    raw = answer.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    expected = [p for p in scenario_chain.payments if p.agency == "MOE" and p.payee == "SUP-001"]
    assert [int(r["id"]) for r in rows] == sorted(p.seq for p in expected)
    assert [r["amount"] for r in rows] == [format_baht(p.satang) for p in sorted(expected, key=lambda p: p.seq)]
    reversed_ids = {p.seq for p in expected if p.reversed_reason}
    assert {int(r["id"]) for r in rows if r["reversed_by"]} == reversed_ids
    everything = client.get("/v1/export/disbursements.csv").content.decode("utf-8-sig").splitlines()
    assert len(everything) == 1 + len(scenario_chain.payments)


@pytest.mark.parametrize(
    "path", ["/v1/agencies", "/v1/projects/MOE-2570-001", "/v1/summary", "/v1/export/disbursements.csv"]
)
def test_etag_and_conditional_get(client: Any, path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_cors_is_open_for_get(client: Any) -> None:
    answer = client.get("/v1/summary", headers={"Origin": "https://example.org"})
    assert answer.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/v1/summary", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_health(client: Any) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["block_number"] >= 1

"""The citizen dashboard in Debian's chromium, against a mirror the real indexer built from anvil.

Figures shown on pages are read back from the rendered text (``฿1,234,567.50``) and compared with
the JSON API's answers for the same agency or project; the budget allocations are also checked
against the sample budget rows themselves, so a bug shared by the API and the pages still fails.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ledger.types import new_tracking_code
from tests.dashboard.conftest import AXE
from tests.dashboard.seed import MINISTRIES, Seeded, budget_lines

pytestmark = [pytest.mark.browser, pytest.mark.anvil, pytest.mark.xdist_group("dashboard")]

FIGURES = ("allocated", "disbursed", "reversed", "net", "remaining")
MONEY = re.compile(r"^-?฿\d{1,3}(,\d{3})*\.\d{2}$")


def shown_baht(text: str) -> Decimal:
    """The amount in a ``฿1,234,567.50`` string as the page shows it; refuses any other form."""
    cleaned = text.strip()
    assert MONEY.fullmatch(cleaned), f"not formatted as baht: {cleaned!r}"
    return Decimal(cleaned.replace("฿", "").replace(",", ""))


def figure_texts(page: Any, scope: str = "dl.figures") -> dict[str, str]:
    return {key: page.locator(f"{scope} [data-figure='{key}'] .value").first.inner_text() for key in FIGURES}


def expected(body: dict[str, Any]) -> dict[str, Decimal]:
    allocated = Decimal(body["allocated"] if "allocated" in body else body["allocation"])
    net = Decimal(body["net"])
    return {
        "allocated": allocated,
        "disbursed": Decimal(body["disbursed"]),
        "reversed": Decimal(body["reversed"]),
        "net": net,
        "remaining": allocated - net,
    }


class Tally:
    def __init__(self) -> None:
        self.pages = 0
        self.figures = 0
        self.mismatches: list[str] = []

    def compare(self, where: str, shown: dict[str, str], wanted: dict[str, Decimal]) -> None:
        self.pages += 1
        for key, value in wanted.items():
            self.figures += 1
            if shown_baht(shown[key]) != value:
                self.mismatches.append(f"{where} {key}: page {shown[key]} != API {value}")


def row_texts(page: Any, selector: str) -> dict[str, str]:
    """The five figures of one table row, as shown."""
    row = page.locator(selector)
    assert row.count() == 1, selector
    return {key: row.locator(f"[data-figure='{key}']").inner_text() for key in FIGURES}


def compare_ministry_rows(page: Any, tally: Tally, summary: dict[str, Any]) -> None:
    for ministry in summary["ministries"]:
        shown = row_texts(page, f"#ministry-table tbody tr[data-ministry='{ministry['code']}']")
        tally.compare(f"overview ministry {ministry['code']}", shown, expected(ministry))


def test_totals_on_pages_equal_the_api(page: Any, api: httpx.Client, world: tuple[str, Seeded, str]) -> None:
    _, seeded, _ = world
    tally = Tally()
    summary = api.get("/v1/summary", params={"fiscal_year": 2565}).json()

    page.goto("/?fy=2565")
    tally.compare("overview 2565", figure_texts(page), expected(summary) | {"remaining": Decimal(summary["remaining"])})
    for agency in summary["agencies"]:
        shown = row_texts(page, f"#agency-table tbody tr[data-agency='{agency['agency']}']")
        tally.compare(f"overview row {agency['agency']}", shown, expected(agency))
    # By ministry: every ministry of the API is a row, with the API's totals, in order of allocation.
    assert len(summary["ministries"]) >= 3
    shown_codes = page.locator("#ministry-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ministry)")
    by_allocation = sorted(summary["ministries"], key=lambda m: Decimal(m["allocated"]), reverse=True)
    assert shown_codes == [m["code"] for m in by_allocation]
    compare_ministry_rows(page, tally, summary)

    # Independent of both API and pages: the allocations are the budget rows' sums.
    lines = budget_lines()
    by_agency: dict[str, int] = defaultdict(int)
    by_ministry: dict[str, int] = defaultdict(int)
    for line in lines:
        by_agency[line.agency] += line.allocation
        if line.fiscal_year == 2565:
            by_ministry[line.agency.split("/")[0]] += line.allocation
    assert {m["code"]: Decimal(m["allocated"]) * 100 for m in summary["ministries"]} == by_ministry
    for code, satang in by_agency.items():
        page.goto(f"/agencies/{code}")
        body = api.get(f"/v1/agencies/{code}").json()
        assert Decimal(body["allocated"]) == Decimal(satang) / 100, code
        tally.compare(f"agency {code}", figure_texts(page), expected(body))

    first_of_agency = {}
    for line in lines:
        if line.fiscal_year == 2565:
            first_of_agency.setdefault(line.agency, line.code)
    reversed_project = api.get(f"/v1/disbursements/{seeded.reversed_id}").json()["project"]
    for code in {*first_of_agency.values(), reversed_project}:
        page.goto(f"/projects/{code}")
        body = api.get(f"/v1/projects/{code}").json()
        tally.compare(f"project {code}", figure_texts(page), expected(body))

    print(
        f"\ndashboard totals: {tally.pages} page views x figures = {tally.figures} compared, "
        f"{len(tally.mismatches)} mismatches"
    )
    assert tally.pages >= 15 and tally.figures >= 75
    assert not tally.mismatches, tally.mismatches
    assert not page.console_errors, page.console_errors


def test_a_planted_wrong_ministry_total_is_caught(page: Any, api: httpx.Client) -> None:
    """The comparison above would notice one ministry's figure changed by a single satang."""
    summary = api.get("/v1/summary", params={"fiscal_year": 2565}).json()
    page.goto("/?fy=2565")
    clean = Tally()
    compare_ministry_rows(page, clean, summary)
    assert clean.figures == 5 * len(summary["ministries"]) and not clean.mismatches
    target = summary["ministries"][1]
    cell = f"#ministry-table tr[data-ministry='{target['code']}'] [data-figure='net']"
    wrong = Decimal(target["net"]) + Decimal("0.01")
    page.locator(cell).evaluate("(cell, text) => { cell.textContent = text; }", f"฿{wrong:,.2f}")
    planted = Tally()
    compare_ministry_rows(page, planted, summary)
    assert len(planted.mismatches) == 1 and target["code"] in planted.mismatches[0]


def test_ministry_page_lists_its_units_and_units_link_to_it(
    page: Any, api: httpx.Client, world: tuple[str, Seeded, str]
) -> None:
    _, seeded, _ = world
    everything = api.get("/v1/summary").json()
    tally = Tally()
    ministries = {m["code"]: m for m in everything["ministries"]}
    for thai, (code, english) in MINISTRIES.items():
        units = [a for a in everything["agencies"] if a["ministry"] == code]
        page.goto(f"/agencies/{code}?lang=th")
        assert page.locator("h1").inner_text() == thai
        # The ministry's figures are the API's totals of all its units, over all years.
        tally.compare(f"ministry {code}", figure_texts(page), expected(ministries[code]))
        shown = page.locator("#unit-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.agency)")
        assert sorted(shown) == sorted(a["agency"] for a in units) and shown
        for unit in units:
            row = f"#unit-table tbody tr[data-agency='{unit['agency']}']"
            tally.compare(f"ministry {code} unit {unit['agency']}", row_texts(page, row), expected(unit))
            # The unit's page names its ministry and links back to it.
            page.goto(f"/agencies/{unit['agency']}?lang=en")
            link = page.locator(".part-of a")
            assert link.get_attribute("href") == f"/agencies/{code}" and link.inner_text() == english
            page.goto(f"/agencies/{code}?lang=th")
    assert len(MINISTRIES) >= 3 and tally.figures >= 5 * (len(MINISTRIES) + 4)
    assert not tally.mismatches, tally.mismatches
    # The overview in English names ministries in English.
    page.goto("/?fy=2565&lang=en")
    names = page.locator("#ministry-table tbody th a").all_inner_texts()
    assert sorted(names) == sorted(english for _, english in MINISTRIES.values())


def test_entries_link_to_their_chain_proof(page: Any, api: httpx.Client, world: tuple[str, Seeded, str]) -> None:
    _, seeded, _ = world
    target = seeded.reversed_id
    body = api.get(f"/v1/disbursements/{target}").json()
    assert body["reversed"] is True
    page.goto(f"/projects/{body['project']}")
    row = page.locator(f"tr[data-entry='{target}']")
    assert row.count() == 1
    text = row.inner_text()
    assert "ยกเลิกแล้ว" in text
    assert str(body["provenance"]["block_number"]) in text
    assert body["provenance"]["tx_hash"][:8] in text
    assert row.locator(".hash").get_attribute("title") == body["provenance"]["tx_hash"]
    hrefs = row.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert f"/v1/disbursements/{target}" in hrefs
    assert f"/v1/proofs/disbursements/{target}" in hrefs
    assert shown_baht(row.locator("td.num").inner_text()) == Decimal(body["amount"])
    # Following the JSON link lands on the same entry.
    page.goto(f"/v1/disbursements/{target}")
    assert f'"id":{target}' in page.content().replace(" ", "")


def test_search_finds_thai_names_and_payees(page: Any, api: httpx.Client) -> None:
    page.goto("/search")
    page.fill("#q", "โรงเรียนคุณภาพ")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    results = page.locator("li.result")
    assert results.count() >= 1
    title = results.first.locator("a.result-title")
    assert "โครงการโรงเรียนคุณภาพประจำตำบล" in title.inner_text()
    title.click()
    assert page.locator("h1").inner_text() == "โครงการโรงเรียนคุณภาพประจำตำบล"

    # An agency's English name finds its projects; the same list as the API's search.
    page.goto("/search?q=Irrigation")
    shown = sorted(page.locator("li.result").evaluate_all("items => items.map(i => i.dataset.project)"))
    wanted = sorted(p["code"] for p in api.get("/v1/projects", params={"q": "Irrigation"}).json()["items"])
    assert shown == wanted and len(shown) >= 3

    # A payee reference lists that payee's disbursements, and nothing else.
    page.goto("/search?q=HOSP-SUPPLY-88")
    rows = page.locator("#payee-caption").locator("xpath=..").locator("tbody tr")
    wanted_ids = [d["id"] for d in api.get("/v1/disbursements", params={"payee": "HOSP-SUPPLY-88"}).json()["items"]]
    assert len(wanted_ids) >= 2
    assert rows.evaluate_all("rows => rows.map(r => Number(r.dataset.entry))") == wanted_ids

    page.goto("/search?q=" + quote("ไม่มีโครงการนี้แน่นอน"))
    assert "ไม่พบผลลัพธ์" in page.locator(".notice").inner_text()

    # What people type is shown as text, never as markup.
    page.goto("/search?q=" + quote("<b id=x>bold</b>"))
    assert "<b id=x>bold</b>" in page.locator(".notice").inner_text()
    assert page.locator("#x").count() == 0


def _steps(page: Any) -> list[str]:
    return page.locator("ol.timeline > li").evaluate_all("items => items.map(i => i.dataset.status)")


def test_tracking_code_shows_its_timeline(page: Any, api: httpx.Client, world: tuple[str, Seeded, str]) -> None:
    _, seeded, _ = world
    code = seeded.requests["loan-paid"]
    body = api.get(f"/v1/requests/{code}").json()
    page.goto("/track")
    # Typed the way people type: lower case, no dashes.
    page.fill("#code", code.replace("-", "").lower())
    page.click("button[type=submit]")
    page.wait_for_selector("#track-result")
    assert _steps(page) == [step["status"] for step in body["steps"]]
    assert len(body["steps"]) == 6
    statuses = [step["status"] for step in body["steps"]]
    assert statuses[:4] == ["met", "overdue", "met", "met"]
    late = body["steps"][1]
    assert f"เกินกำหนด {late['overdue_working_days']} วันทำการ" in page.locator("ol.timeline > li").nth(1).inner_text()
    assert "ศูนย์ดำรงธรรม โทร 1567" in page.locator(".complain").inner_text()

    waiting = seeded.requests["loan-waiting"]
    page.goto(f"/track?code={waiting}")
    body = api.get(f"/v1/requests/{waiting}").json()
    assert body["overdue"] is True and body["state"] == "submitted"
    assert _steps(page)[-1] == "overdue"
    assert page.locator("[data-state='submitted']").count() == 1


@pytest.mark.parametrize("typed", ["unknown", "garbage"])
def test_unknown_tracking_code_gets_a_friendly_message(page: Any, typed: str) -> None:
    code = new_tracking_code() if typed == "unknown" else "hello there"
    page.goto("/track")
    page.fill("#code", code)
    page.keyboard.press("Enter")
    message = page.locator("#track-unknown")
    message.wait_for()
    assert "ไม่พบคำขอที่ใช้รหัสนี้" in message.inner_text()
    assert page.locator("#track-result").count() == 0
    assert page.evaluate("document.querySelector('#code').value") == code


def test_language_switch(page: Any) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "th"
    assert page.locator("h1").inner_text().startswith("ภาพรวม")
    page.click("a.lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().startswith("Overview")
    assert "Allocated" in page.locator("dl.figures").inner_text()
    # The choice sticks (cookie) on pages reached without ?lang.
    page.click("nav a[href='/track']")
    assert page.locator("h1").inner_text() == "Track your request"
    page.click("a.lang")
    assert page.locator("h1").inner_text() == "ติดตามสถานะคำขอ"


def test_tables_sort_with_and_without_javascript(browser: Any, server: str, page: Any) -> None:
    def order(tab: Any) -> list[str]:
        return tab.locator("#agency-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.agency)")

    def remaining(tab: Any) -> list[Decimal]:
        return [shown_baht(t) for t in tab.locator("#agency-table tbody [data-figure='remaining']").all_inner_texts()]

    context = browser.new_context(base_url=server, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto("/?fy=2565")
        plain.click("#agency-table thead th[data-key='remaining'] a")
        values = remaining(plain)
        assert values == sorted(values, reverse=True) and len(values) == 4
        # The ministry table sorts on its own; the agency table keeps the order just chosen.
        agencies = order(plain)
        plain.click("#ministry-table thead th[data-key='name'] a")
        names = plain.locator("#ministry-table tbody th[scope='row']").evaluate_all(
            "cells => cells.map(c => c.dataset.sort)"
        )
        assert names == sorted(names) and len(names) == 3 and order(plain) == agencies
    finally:
        context.close()

    page.goto("/?fy=2565")
    before = order(page)
    # Keyboard only: focus the heading's control and press Enter; JavaScript sorts in place.
    page.focus("#agency-table thead th[data-key='remaining'] a")
    page.keyboard.press("Enter")
    values = remaining(page)
    assert values == sorted(values, reverse=True)
    assert page.url.endswith("/?fy=2565")  # no navigation happened
    assert page.get_attribute("#agency-table thead th[data-key='remaining']", "aria-sort") == "descending"
    assert sorted(order(page)) == sorted(before)


def test_skip_link_is_the_first_stop(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


PAGES = {
    "overview": "/?fy=2565&lang=th",
    "overview-en": "/?fy=2565&lang=en",
    "ministry": "/agencies/MOAC?lang=th",
    "ministry-en": "/agencies/MOAC?lang=en",
    "agency": "/agencies/MOPH/DMS?lang=th",
    "project": "/projects/2565-OBEC-01?lang=th",
    "search": "/search?lang=th&q=" + quote("โรงเรียน"),
    "track": "/track?lang=th&code={loan-paid}",
    "track-unknown": "/track?lang=th&code={unknown}",
    "performance": "/performance?lang=th",
    "performance-complaint": "/performance?service=complaint&lang=en",
    "verify": "/verify?lang=th",
}


def test_screenshots_accessibility_and_weight(page: Any, world: tuple[str, Seeded, str], artifacts: Path) -> None:
    _, seeded, _ = world
    sizes: dict[str, int] = defaultdict(int)
    page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))
    report = []
    serious: list[str] = []
    for name, path in PAGES.items():
        target = path.format(**{"loan-paid": seeded.requests["loan-paid"], "unknown": new_tracking_code()})
        sizes.clear()
        page.goto(target)
        page.wait_for_load_state("networkidle")
        shot = artifacts / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        serious += [f"{name}: {v['id']} ({v['impact']}, {v['nodes']} nodes)" for v in bad]
        weight = sum(sizes.values())
        found = ", ".join(f"{v['id']}/{v['impact']}" for v in result) or "none"
        report.append(f"{name}: {shot.name}, {weight / 1024:.1f} kB, axe violations: {found}")
        assert weight < 150 * 1024, f"{name} weighs {weight} bytes"
    print("\n" + "\n".join(report))
    assert not serious, serious
    assert not page.console_errors, page.console_errors


FIGURE_HTML = re.compile(r'data-figure="(\w+)">\s*<dt>.*?</dt>\s*<dd><span class="value">([^<]+)</span>', re.DOTALL)


@pytest.mark.postgres
def test_pages_on_a_postgresql_mirror(world: tuple[str, Seeded, str], postgres_url: str, api: httpx.Client) -> None:
    """The same chain indexed into PostgreSQL: every page renders, and its figures equal the API's."""
    import psycopg
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ApiSettings
    from indexer.sync import index_once

    rpc_url, seeded, _ = world
    name = f"govledger_dash_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        index_once(rpc_url, url, seeded.deployment)
        settings = ApiSettings(database_url=url, rate_limit=0, cursor_secret=b"dashboard-tests")
        compared = 0
        with TestClient(create_app(settings)) as client:
            for path in (
                "/",
                "/search?q=HOSP-SUPPLY-88",
                f"/track?code={seeded.requests['loan-waiting']}",
                "/performance?service=complaint",
                "/verify",
            ):
                answer = client.get(path)
                assert answer.status_code == 200, path
                assert "text/html" in answer.headers["content-type"]
            for path, api_path in (
                ("/agencies/MOPH/DMS", "/v1/agencies/MOPH/DMS"),
                ("/projects/2565-RID-01", "/v1/projects/2565-RID-01"),
            ):
                html = client.get(path).text
                shown = dict(FIGURE_HTML.findall(html))
                wanted = expected(client.get(api_path).json())
                # The SQLite mirror of the same chain gives the same figures.
                assert wanted == expected(api.get(api_path).json())
                for key, value in wanted.items():
                    assert shown_baht(shown[key]) == value, (path, key)
                    compared += 1
            assert client.get("/verify").text.count(client.get("/v1/checkpoint").json()["mirror_digest"]) == 1
        print(f"\npostgresql pages: {compared} figures compared, 0 mismatches")
        assert compared == 10
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_verify_page_commands_pass_the_audit(
    page: Any, world: tuple[str, Seeded, str], server: str, tmp_path: Path
) -> None:
    """An auditor copies the live-node command from the page: it must run and pass as printed."""
    import os
    import subprocess
    import sys

    from ledger.deployment import save_deployment

    rpc_url, seeded, _ = world
    page.goto("/verify?lang=en")
    command = page.locator("ol.howto pre code").first.inner_text().strip()
    checkpoint = httpx.get(f"{server}/v1/checkpoint").json()
    assert command == (
        f"govledger audit verify --rpc <RPC_URL> --api {server} --trusted-head {checkpoint['block_hash']}"
    )
    deployment = tmp_path / "deployment.json"
    save_deployment(seeded.deployment, deployment)
    argv = command.replace("<RPC_URL>", rpc_url).split()
    govledger = Path(sys.executable).with_name("govledger")
    env = dict(os.environ, GOVLEDGER_DEPLOYMENT=str(deployment))
    done = subprocess.run([str(govledger), *argv[1:]], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "verified: everything holds" in done.stdout
    assert checkpoint["mirror_digest"] in done.stdout


def test_pages_work_under_their_content_security_policy(
    browser: Any, server: str, world: tuple[str, Seeded, str]
) -> None:
    """The other tests bypass the policy (axe-core is injected inline); here it is enforced, and
    anything it blocks (a script, a style, an image) shows as a console error."""
    _, seeded, _ = world
    project = seeded.projects[0]
    paths = [
        "/",
        f"/agencies/{quote(project.agency, safe='')}",
        f"/projects/{quote(project.code, safe='')}",
        "/search?q=" + quote(seeded.payees[0]),
        "/track?code=" + seeded.requests["loan-paid"],
        "/performance",
        "/verify",
        "/projects/NO-SUCH-PROJECT",
    ]
    context = browser.new_context(base_url=server)
    errors: list[str] = []
    try:
        tab = context.new_page()
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        for path in paths:
            answer = tab.goto(path)
            assert answer is not None and "script-src 'self'" in answer.headers["content-security-policy"], path
            tab.wait_for_load_state("load")
        # site.js runs under the policy: a heading sorts its table in place.
        tab.goto("/?fy=2565")
        tab.focus("#agency-table thead th[data-key='remaining'] a")
        tab.keyboard.press("Enter")
        assert tab.get_attribute("#agency-table thead th[data-key='remaining']", "aria-sort") == "descending"
        assert tab.url.endswith("/?fy=2565")
    finally:
        context.close()
    # The 404 page logs its own status as a console error; nothing else may.
    assert [e for e in errors if "404" not in e] == []

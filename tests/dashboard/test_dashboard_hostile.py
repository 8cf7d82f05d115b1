"""The dashboard over names and codes a hostile recorder could write (issue 12): every link leads to
the page it names, whatever the code holds (``/``, ``..``, ``%``, ``?``, ``#``), and bidi overrides
and control characters neither reach the HTML raw nor escape their own cell.

The mirror is written through the indexer's own handlers and bulk writer (no chain), so the codes
are exactly what the mirror would hold; pages are read as HTML and their links are resolved the way
a browser resolves them (WHATWG: ``%2e`` counts as a dot in a dot segment).
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import ApiSettings
from tests.dashboard.conftest import _free_port

pytestmark = pytest.mark.xdist_group("dashboard")

BASE_TIME = 1_790_000_000
CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
RLO = "\u202e"
EVIL_NAME = f"โครงการ {RLO}gnp.exe\x07 ยาว"
AGENCIES = {
    "MOE": "กระทรวงศึกษาธิการ",
    "MOE/OBEC": f"สพฐ. {RLO}CEBO",
    "MOE/../..": "..หน่วยงานจุดจุด",
}
PROJECTS = {
    # code: agency
    "MOE/OBEC/2570-001": "MOE/OBEC",
    "P/../../v1/checkpoint": "MOE",
    "P/..": "MOE",
    "..": "MOE",
    ".": "MOE",
    "...": "MOE",
    "A%2F..%2F..%2Fv1": "MOE",
    "Q?x=1#frag": "MOE",
    "%2e%2e": "MOE",
    "EVIL-NAME": "MOE/OBEC",
    "Z-1": "MOE/../..",
}
# What the routes accept (api.schemas.CODE_PATTERN): other codes get their own "not found" page.
CHARSET = re.compile(r"[A-Za-z0-9._/-]{1,32}")


def build_mirror(path: Path) -> None:
    from indexer import decode as ev
    from indexer.db import open_store, upgrade
    from indexer.handlers import BatchWriter, apply_events

    url = f"sqlite:///{path}"
    upgrade(url)
    store = open_store(url)
    events: list[Any] = []

    def where() -> dict[str, Any]:
        seq = len(events) + 1
        return {
            "seq": seq,
            "head": f"0x{seq:064x}",
            "address": CONTRACT,
            "block_number": 1,
            "block_hash": f"0x{1:064x}",
            "tx_hash": f"0x{seq:064x}",
            "tx_index": 0,
            "log_index": seq,
        }

    for code, name in AGENCIES.items():
        events.append(ev.AgencyRegistered(**where(), agency=code, name=name, name_en=name))
    for code, agency in PROJECTS.items():
        name = EVIL_NAME if code == "EVIL-NAME" else f"โครงการ {code}"
        events.append(
            ev.ProjectRegistered(**where(), project=code, agency=agency, fiscal_year=2570, allocation=10**9, name=name)
        )
        events.append(
            ev.DisbursementRecorded(
                **where(),
                project=code,
                agency=agency,
                voucher=f"V-{len(events)}",
                amount=100_00,
                payee=f"PAYEE{RLO}-{len(events)}",
                document_hash=None,
                request=None,
            )
        )
    writer = BatchWriter(store, 31337, CONTRACT)
    store.begin()
    apply_events(writer, events, [e.fields_json() for e in events], {1: BASE_TIME})
    writer.flush(BASE_TIME)
    store.execute(
        "INSERT INTO checkpoint (id, chain_id, contract, block_number, block_hash) VALUES (1, ?, ?, ?, ?)",
        (31337, CONTRACT, 1, f"0x{1:064x}"),
    )
    store.execute(
        "INSERT INTO blocks (number, hash, parent_hash, timestamp, log_count) VALUES (?, ?, ?, ?, ?)",
        (1, f"0x{1:064x}", f"0x{0:064x}", BASE_TIME, len(events)),
    )
    store.commit()
    store.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The app under uvicorn (the test client decodes a path twice, which would hide the bug)."""
    path = tmp_path_factory.mktemp("hostile") / "mirror.db"
    build_mirror(path)
    settings = ApiSettings(database_url=f"sqlite:///{path}", rate_limit=0, cursor_secret=b"hostile")
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(timeout=10)


DOT = {".", "%2e"}
DOTS = {"..", ".%2e", "%2e.", "%2e%2e"}


def resolve(page: str, href: str) -> str:
    """``href`` on ``page`` as a browser resolves it (RFC 3986 + WHATWG's encoded dot segments)."""
    parts = urlsplit(urljoin(page, href))
    segments: list[str] = []
    for segment in parts.path.split("/")[1:]:
        if segment.lower() in DOTS:
            if segments:
                segments.pop()
        elif segment.lower() not in DOT:
            segments.append(segment)
    path = "/" + "/".join(segments)
    return path + (f"?{parts.query}" if parts.query else "")


def links(body: str, attribute: str) -> dict[str, str]:
    """Code -> href of the table rows and results marked with ``data-<attribute>="code"``."""
    found = {}
    pattern = rf'data-{attribute}="([^"]*)"[^>]*>\s*(?:<th[^>]*>)?\s*<a[^>]*href="([^"]*)"'
    for code, href in re.findall(pattern, body):
        found[html.unescape(code)] = html.unescape(href)
    return found


def shown_code(body: str) -> str:
    """The code a project or agency page says it is about (its eyebrow)."""
    match = re.search(r'<p class="eyebrow">[^<]*<span class="code">([^<]*)</span>', body)
    assert match, body[:500]
    return html.unescape(match.group(1))


def test_every_project_link_leads_to_its_own_page(client: httpx.Client) -> None:
    page = str(client.base_url) + "/agencies/MOE"
    body = client.get("/agencies/MOE").text
    found = links(body, "project")
    expected = {code for code, agency in PROJECTS.items() if agency == "MOE"}
    assert set(found) == expected
    for code, href in found.items():
        target = resolve(page, href)
        answer = client.get(target)
        if CHARSET.fullmatch(code):
            assert answer.status_code == 200, (code, href, target)
            assert shown_code(answer.text) == code, (code, href, target)
        else:
            # Outside the charset the routes accept: the page that says this very code is unknown.
            assert answer.status_code == 404, (code, href, target)
            assert html.escape(code) in answer.text, (code, href, target)


def test_agency_links_with_slashes_and_dots_lead_to_their_pages(client: httpx.Client) -> None:
    body = client.get("/", params={"fy": 2570}).text
    found = links(body, "agency")
    assert {"MOE/OBEC", "MOE/../.."} <= set(found)
    for code, href in found.items():
        answer = client.get(resolve(str(client.base_url) + "/", href))
        assert answer.status_code == 200, (code, href)
        assert shown_code(answer.text) == code, (code, href)
    # The pages still answer at the plain path with a slash, as they always did.
    assert shown_code(client.get("/agencies/MOE/OBEC").text) == "MOE/OBEC"
    assert shown_code(client.get("/agencies/" + quote("MOE/OBEC", safe="")).text) == "MOE/OBEC"


def test_links_on_a_page_reached_through_a_hostile_code_stay_on_it(client: httpx.Client) -> None:
    # The page of a project whose code climbs: its own links (language switch) must not climb either.
    for code in ("P/../../v1/checkpoint", "..", "."):
        listing = links(client.get("/agencies/MOE").text, "project")
        here = resolve(str(client.base_url) + "/agencies/MOE", listing[code])
        body = client.get(here).text
        switch = re.search(r'<a class="lang" href="([^"]*)"', body)
        assert switch, code
        answer = client.get(resolve(str(client.base_url) + here, html.unescape(switch.group(1))))
        assert answer.status_code == 200 and shown_code(answer.text) == code, code


def test_bidi_and_control_characters_are_shown_not_obeyed(client: httpx.Client) -> None:
    pages = [
        client.get("/projects/EVIL-NAME").text,
        client.get("/agencies/MOE/OBEC").text,
        client.get("/", params={"fy": 2570}).text,
        client.get("/search", params={"q": "โครงการ"}).text,
    ]
    for body in pages:
        assert RLO not in body and "\x07" not in body
        assert "[U+202E]" in body
    project = pages[0]
    assert "[U+0007]" in project
    shown = html.escape("โครงการ [U+202E]gnp.exe[U+0007] ยาว", quote=False)
    # The name is isolated wherever it is shown as text: the heading and the agency's table.
    assert f'<h1 lang="th"><bdi>{shown}</bdi></h1>' in project
    assert f"<bdi>{shown}</bdi>" in pages[1]
    # Payees (recorder-written) too.
    assert re.search(r"<bdi>PAYEE\[U\+202E\]-\d+</bdi>", project)

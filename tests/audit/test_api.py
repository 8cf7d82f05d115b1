"""The API side of the auditor: /v1/proofs/... and `verify --api` (checkpoint digest, paged reads)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from audit.proof import verify_proof
from audit.verify import verify_bundle
from ledger.deployment import save_deployment
from ledger.settings import get_settings

from .conftest import _deployment


def _client(database: Path) -> TestClient:
    settings = ApiSettings(database_url=f"sqlite:///{database}", rate_limit=0)
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def api_env(anvil_chain, published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "deployment.json"
    save_deployment(_deployment(anvil_chain), path)
    monkeypatch.setenv("GOVLEDGER_RPC_URL", anvil_chain.url)
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(path))
    get_settings.cache_clear()
    yield published["anvil"]
    get_settings.cache_clear()


def test_disbursement_and_request_proofs(api_env) -> None:
    db = sqlite3.connect(api_env.path)
    seq = db.execute("SELECT seq FROM disbursements ORDER BY seq LIMIT 1 OFFSET 7").fetchone()[0]
    tracking, step = db.execute("SELECT tracking_code, seq FROM request_transitions ORDER BY seq LIMIT 1").fetchone()
    checkpoint = db.execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
    other = db.execute("SELECT seq FROM request_transitions WHERE tracking_code != ? LIMIT 1", (tracking,)).fetchone()
    db.close()
    with _client(api_env.path) as client:
        answer = client.get(f"/v1/proofs/disbursements/{seq}")
        assert answer.status_code == 200, answer.text
        proof = answer.json()
        entry = verify_proof(proof, trusted_head=bytes.fromhex(checkpoint[1][2:]))
        assert (entry["seq"], entry["event"]) == (seq, "DisbursementRecorded")
        assert proof["checkpoint"]["number"] == checkpoint[0]

        answer = client.get(f"/v1/proofs/requests/{tracking}/{step}")
        assert answer.status_code == 200, answer.text
        assert verify_proof(answer.json())["event"] == "RequestAdvanced"

        for url in (
            "/v1/proofs/disbursements/999999",
            f"/v1/proofs/disbursements/{step}",  # a seq that is not a disbursement
            f"/v1/proofs/requests/{tracking}/{other[0]}",  # another request's step
            f"/v1/proofs/requests/{'0' * 32}/{step}",
        ):
            answer = client.get(url)
            assert answer.status_code == 404, url
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert client.get("/v1/proofs/disbursements/0").status_code == 422


class FalsifyingApi:
    """The real API (in process) behind a loopback HTTP server that can rewrite its answers, and
    answer 429 with Retry-After to the first ``throttle`` requests, as a rate-limited API does."""

    def __init__(self, database: Path, falsify: Callable[[str, Any], Any] | None = None, throttle: int = 0) -> None:
        self.client = _client(database)
        self.falsify = falsify
        self.throttle = throttle
        self.throttled = 0
        self.lock = threading.Lock()

    def __enter__(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with api.lock:
                    if api.throttled < api.throttle:
                        api.throttled += 1
                        self.send_response(429)
                        self.send_header("Retry-After", "1")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    answer = api.client.get(self.path)
                body = answer.content
                if answer.status_code == 200 and api.falsify is not None:
                    body = json.dumps(api.falsify(self.path.split("?")[0], answer.json())).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.client.__enter__()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.__exit__(None, None, None)


def _verify_api(anvil_chain, published, falsify=None, throttle: int = 0):
    api = FalsifyingApi(published["anvil"].path, falsify, throttle)
    with api as url:
        report = verify_bundle(anvil_chain.directory, api_url=url, recompile=False)
    return report, api


def test_verify_against_the_api(anvil_chain, published) -> None:
    report, _ = _verify_api(anvil_chain, published)
    assert report.ok, report.lines()
    mirror = report.checks[-1]
    assert mirror.name == "mirror"
    assert mirror.figures["disbursements"] == 40 and mirror.figures["projects"] == 6
    assert mirror.figures["agencies"] == 3 and mirror.figures["requests"] == 5 and mirror.figures["services"] == 2
    assert mirror.figures["digest"] == published["anvil"].reference.digest


def _on(path: str, change: Callable[[Any], Any]) -> Callable[[str, Any], Any]:
    def falsify(at: str, body: Any) -> Any:
        if at == path or (path.endswith("*") and at.startswith(path[:-1])):
            change(body)
        return body

    return falsify


def _first_with_limit(body: Any) -> None:
    step = next(s for s in body["steps"] if s["time_limit_working_days"] is not None)
    step["status"] = "met" if step["status"] != "met" else "overdue"


FALSIFICATIONS = {
    "renamed agency": (
        _on("/v1/agencies", lambda b: b["items"][0].update(name="กระทรวงอื่น")),
        r"agency 'MOE-01' differs: name: 'กระทรวงอื่น' instead of 'agency MOE-01'",
    ),
    "agency moved to another ministry": (
        _on("/v1/agencies", lambda b: b["items"][1].update(ministry="MOE-01")),
        r"agency 'SCH-03' differs: ministry: 'MOE-01' instead of 'SCH-03'",
    ),
    "request flipped to resolved": (
        _on(
            "/v1/requests/*", lambda b: b.update(state="resolved", terminal=True) if b["state"] != "resolved" else None
        ),
        r"request '[0-9A-Z-]+' differs: state: 'resolved' instead of '[a-z-]+'; terminal: True instead of False",
    ),
    "step marked on time": (
        _on("/v1/requests/*", _first_with_limit),
        r"request '[0-9A-Z-]+' differs: steps\[\d\]\.status: '(met|overdue)' instead of",
    ),
    "summary total changed": (
        _on("/v1/summary", lambda b: b.update(disbursed="1.00")),
        r"summary 'totals' differs: disbursed: '1.00' instead of '\d+\.\d\d'",
    ),
    "ministry total changed": (
        _on("/v1/summary", lambda b: b["ministries"][0].update(net="0.00")),
        r"summary 'totals' differs: ministries\[0\]\.net: '0.00' instead of",
    ),
    "disbursement dropped": (
        _on("/v1/disbursements", lambda b: b["items"].pop(3)),
        r"disbursement \d+ is missing from the API",
    ),
    "disbursement added": (
        _on("/v1/disbursements", lambda b: b["items"].append({**b["items"][0], "id": 999999})),
        r"disbursement 999999 is served by the API but not on chain",
    ),
    "reversal hidden": (
        _on("/v1/disbursements", lambda b: [i.update(reversed=False) for i in b["items"]]),
        r"disbursement \d+ differs: reversed: False instead of True",
    ),
    "service counts changed": (
        _on("/v1/services/*", lambda b: b["states"][0].update(count=b["states"][0]["count"] + 1)),
        r"service '[a-z-]+' differs: states\[0\]\.count:",
    ),
    "step statistics changed": (
        _on("/v1/services/student-loan/stats", lambda b: b["steps"][0].update(median_working_days=99.0)),
        r"service 'student-loan' differs: steps\[0\]\.median_working_days: 99.0 instead of",
    ),
    "agency on-time share changed": (
        _on("/v1/services/student-loan/stats", lambda b: b["agencies"][0].update(on_time=0, on_time_share=0.0)),
        r"service 'student-loan' differs: agencies\[0\]\.on_time: 0 instead of \d+",
    ),
}


@pytest.mark.parametrize("kind", list(FALSIFICATIONS))
def test_a_falsified_api_is_caught_and_the_difference_named(anvil_chain, published, kind: str) -> None:
    falsify, named = FALSIFICATIONS[kind]
    report, _ = _verify_api(anvil_chain, published, falsify)
    assert [c.name for c in report.failures()] == ["mirror"], report.lines()
    detail = report.failures()[0].detail
    first = detail.removeprefix("the API's mirror differs from the chain: ")
    assert re.match(named, first), detail


def test_a_rate_limited_api_is_retried_after_retry_after(anvil_chain, published) -> None:
    started = time.monotonic()
    report, api = _verify_api(anvil_chain, published, throttle=2)
    assert report.ok, report.lines()
    assert api.throttled == 2
    assert time.monotonic() - started >= 2  # waited the Retry-After each time


def test_a_doctored_mirror_row_is_named(anvil_chain, published, tmp_path: Path) -> None:
    target = published["anvil"]
    doctored = tmp_path / "doctored.db"
    shutil.copy(target.path, doctored)
    with sqlite3.connect(doctored) as db:
        db.execute("UPDATE disbursements SET payee = 'someone-else' WHERE seq = (SELECT MAX(seq) FROM disbursements)")
    with FalsifyingApi(doctored) as url:
        report = verify_bundle(anvil_chain.directory, api_url=url, recompile=False)
    assert [c.name for c in report.failures()] == ["mirror"]
    assert re.search(r"disbursement \d+ differs: payee: 'someone-else'", report.failures()[0].detail)


def test_429_and_503_wait_as_retry_after_says_then_back_off() -> None:
    from email.utils import formatdate

    from audit.api_mirror import _get

    answers = [
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(503, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)}),
        httpx.Response(503),
        httpx.Response(200, json={"ok": True}),
    ]
    waits: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    assert _get(client, "http://api.test/v1/summary", sleep=waits.append) == {"ok": True}
    assert waits[0] == 3 and 25 <= waits[1] <= 30 and waits[2] == 2.0  # the third: back-off after two tries
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    assert _get(client, "http://api.test/v1/requests/X", missing=None) is None

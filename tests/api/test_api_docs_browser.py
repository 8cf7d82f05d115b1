"""``/docs`` works without the Internet: Debian's chromium renders every route from the files the
API serves itself, and the page asks nothing of any other host."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from api_scenario import settings_for

from api.app import DOCS_FILES, create_app

pytestmark = pytest.mark.xdist_group("api")

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def served(sqlite_url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings_for(sqlite_url)), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_docs_render_offline(served: str) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    elsewhere: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()

            def only_here(route: Any) -> None:
                url = route.request.url
                if url.startswith(served) or url.startswith("data:"):
                    route.continue_()
                else:
                    elsewhere.append(url)
                    route.abort()

            page.route("**/*", only_here)
            # Under the page's real Content-Security-Policy: anything it blocks is logged as an error.
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            answer = page.goto(served + "/docs")
            assert answer is not None and "script-src 'self' 'sha256-" in answer.headers["content-security-policy"]
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            # Open one operation and run it: Swagger UI fetches and renders the answer under the policy.
            page.locator(".opblock-summary-path", has_text="/v1/checkpoint").first.click()
            page.locator("button.try-out__btn").first.click()
            page.locator("button.execute").first.click()
            page.wait_for_selector(".responses-wrapper .live-responses-table", timeout=30_000)
        finally:
            browser.close()
    assert errors == []
    assert elsewhere == []
    assert {"/v1/disbursements", "/v1/disbursements/{id}", "/v1/checkpoint"} <= {p.strip() for p in paths}


def test_docs_files_are_the_vendored_ones(client: Any) -> None:
    for name, media_type in DOCS_FILES.items():
        answer = client.get(f"/docs/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"] == media_type
        assert answer.content == (Path(__file__).resolve().parents[2] / "api" / "docs_ui" / name).read_bytes()
    assert client.get("/docs/../settings.py").status_code == 404
    assert client.get("/docs/LICENSE").status_code == 404

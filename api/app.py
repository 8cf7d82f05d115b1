"""The public API's app factory.

``create_app()`` builds a FastAPI app over a read-only mirror. Routers come from the modules
listed in ``ROUTE_MODULES``; ``pages`` (the dashboard) and ``proofs`` are optional so that the
engineers who own them add a module and nothing else. Every error is ``application/problem+json``
without traces or SQL; a request the app cannot parse is a 4xx, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, Response

from api.cache import AnswerCache
from api.database import open_mirror
from api.errors import ApiError, NotFoundError
from api.guard import CONTENT_SECURITY_POLICY, Guard
from api.responses import PROBLEM, problem_answer
from api.settings import ApiSettings, load_api_settings

log = logging.getLogger("govledger.api")

# (module under api.routes, required). Optional modules are included when they exist.
# Routers are tried in this order and their paths never overlap, so the most requested come
# first: matching a route through FastAPI's included routers costs ~15 us per router passed.
ROUTE_MODULES: tuple[tuple[str, bool], ...] = (
    ("disbursements", True),
    ("projects", True),
    ("agencies", True),
    ("requests", True),
    ("summary", True),
    ("services", True),
    ("checkpoint", True),
    ("exports", True),
    ("meta", True),
    ("proofs", False),
    ("pages", False),
)

DESCRIPTION = """Read-only public API over the govledger mirror of Thai government budget disbursements
and service requests. Money is a decimal string of baht (`"1234.50"`), times are ISO-8601 UTC,
fiscal years are Buddhist Era. Lists page with opaque keyset cursors (`next_cursor`). Every answer
carries an `ETag`; send it back in `If-None-Match` to get a 304. Errors are `application/problem+json`.
Every disbursement carries its transaction hash, block and log index, so anyone can check it
against the chain; `/v1/checkpoint` gives the mirror digest an auditor compares."""

_PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["parameter", "in", "message"],
                "properties": {
                    "parameter": {"type": "string"},
                    "in": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_ERROR_STATUSES = {
    "400": "Unknown or repeated query parameter",
    "404": "No such resource",
    "413": "Request carries a body",
    "414": "Query string too long",
    "422": "A parameter failed validation",
    "429": "Rate limit exceeded; see Retry-After",
    "503": "Mirror not available yet",
}


def _route_modules() -> list[Any]:
    modules = []
    for name, required in ROUTE_MODULES:
        qualified = f"api.routes.{name}"
        try:
            modules.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if required or exc.name != qualified:
                raise
    return modules


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with our problem+json errors in place of its validation schema."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = _PROBLEM_SCHEMA
    problem = {"content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _ERROR_STATUSES.items():
                responses[status] = {"description": description, **problem}
            ok = responses.get("200", {})
            if "application/json" in ok.get("content", {}) or path.startswith("/v1/export"):
                responses["304"] = {"description": "Not modified: the If-None-Match ETag is current"}
    app.openapi_schema = document
    return document


# Swagger UI's files, vendored from npm (api/docs_ui/README.md): /docs must work offline.
DOCS_UI = Path(__file__).resolve().parent / "docs_ui"
DOCS_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}


def _docs_policy(html: bytes) -> str:
    """The site's Content-Security-Policy, plus the hashes of the page's own inline scripts
    (Swagger UI's start-up call), so nothing else inline may run on /docs."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    ]
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes]))


def _install_docs(app: FastAPI) -> None:
    page = get_swagger_ui_html(
        openapi_url=str(app.openapi_url),
        title=f"{app.title} - docs",
        swagger_js_url="/docs/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger-ui.css",
        swagger_favicon_url="data:,",
    ).body
    policy = _docs_policy(page)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})

    @app.get("/docs/{name}", include_in_schema=False)
    async def docs_file(name: str) -> Response:
        media_type = DOCS_FILES.get(name)
        if media_type is None:
            raise NotFoundError(f"no file {name[:40]!r} under /docs")
        return FileResponse(DOCS_UI / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        return problem_answer(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ())]
            where = location[0] if location else "request"
            name = ".".join(location[1:]) or where
            # The message only; never the input echoed back (it may be 10 kB of someone's payload).
            errors.append({"parameter": name[:64], "in": where, "message": str(error.get("msg", "invalid"))[:200]})
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors[:10]) or "invalid request"
        return problem_answer(422, "Unprocessable Content", detail, errors=errors[:20])

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route; see /docs"
        return problem_answer(exc.status_code, titles.get(exc.status_code, "Error"), detail, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its trace for the operator; the client learns nothing about internals.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_answer(500, "Internal Server Error", "the server failed to answer; this is not your fault")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The public API over the mirror at ``settings.database_url`` (read-only)."""
    settings = settings or load_api_settings()
    mirror = open_mirror(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await mirror.close()

    app = FastAPI(
        title="govledger public API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks ask the global providers on every request whether anyone
        # listens (a few environment lookups each time); nothing here exports spans or metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.mirror = mirror
    app.state.digest_cache = {}
    for module in _route_modules():
        app.include_router(module.router)
    _install_docs(app)
    _install_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # Added first, so it runs inside the Guard: rate limits and CORS apply to cached answers too.
    app.add_middleware(AnswerCache, mirror=mirror, entries=settings.cache_entries)
    app.add_middleware(
        Guard,
        rate_limit=settings.rate_limit,
        rate_burst=settings.rate_burst,
        max_query_bytes=settings.max_query_bytes,
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded=settings.trust_forwarded,
    )
    return app

"""JSON answers serialised with orjson, with a strong ETag and Cache-Control, and 304 on a match.

Routes build plain dicts and lists in the shape of the ``*Public`` models (which document them in
OpenAPI); skipping Pydantic's second pass over every row is most of the API's speed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

PROBLEM = "application/problem+json"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/").strip('"')
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag == bare:
            return True
    return False


def cache_control(request: Request) -> str:
    return f"public, max-age={request.app.state.settings.cache_max_age}"


def json_answer(request: Request, payload: Any, *, status: int = 200) -> Response:
    """``payload`` as JSON with ETag and Cache-Control; a 304 when the client's copy is current."""
    body = orjson.dumps(payload)
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": cache_control(request)}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and status == 200 and matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def problem_answer(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """An RFC 9457 problem document; never anything but what the caller wrote into ``detail``."""
    payload = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    merged = {"Cache-Control": "no-store", **(headers or {})}
    return Response(orjson.dumps(payload), status_code=status, media_type=PROBLEM, headers=merged)

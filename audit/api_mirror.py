"""Comparing with a mirror behind the public API (`verify --api URL`).

The checkpoint first (block, hash, ledger head, and the mirror digest against the rebuild), then
every public table the API serves, each against the auditor's own replay (audit/public.py,
never the indexer's code): agencies, projects, disbursements (reversals included), every request
with its steps, each service's statistics (requests per state; per step the count, median and p80
working days and on-time share; each agency's on-time share), and the summary totals. Lists are
read with keyset paging (``limit=500``); requests one by one, a few at a time. 429 and 503 answers
are retried after their Retry-After (else an exponential back-off), so a rate-limited API is
read slowly, never failed.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from audit.errors import MirrorError, SourceError
from audit.public import PublicLedger

PAGE = 500
SHOWN = 3
WORKERS = 4  # concurrent requests: within the API's default rate limit (20/s, bursts of 100)
RETRIES = 10
MAX_WAIT = 60.0


def _retry_after(response: httpx.Response, attempt: int) -> float:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(float(value), MAX_WAIT)
    if value:
        when = email.utils.parsedate_to_datetime(value)
        if when is not None:
            return max(0.0, min(when.timestamp() - time.time(), MAX_WAIT))
    return min(0.5 * 2**attempt, MAX_WAIT)


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    missing: Any = ...,
) -> Any:
    """The JSON answer; 429/503 retried after Retry-After; a 404 gives ``missing`` when given."""
    for attempt in range(RETRIES + 1):
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            if attempt == RETRIES:
                raise SourceError(f"API {url}: {exc}") from None
            sleep(min(0.5 * 2**attempt, MAX_WAIT))
            continue
        except httpx.HTTPError as exc:
            raise SourceError(f"API {url}: {exc}") from None
        if response.status_code in (429, 503) and attempt < RETRIES:
            sleep(_retry_after(response, attempt))
            continue
        if response.status_code == 404 and missing is not ...:
            return missing
        if response.status_code != 200:
            raise SourceError(f"API {url} answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"API {url} did not answer JSON") from None
    raise AssertionError("unreachable")


def new_client() -> httpx.Client:
    return httpx.Client(timeout=60, limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS))


def fetch_checkpoint(api_url: str) -> dict[str, Any]:
    with new_client() as client:
        return _get(client, api_url.rstrip("/") + "/v1/checkpoint")


def _pages(client: httpx.Client, url: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = _get(client, url, {"limit": PAGE, **({"cursor": cursor} if cursor else {})})
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _what(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) or len(repr(value)) < 120 else repr(value)[:117] + "..."


def _field_differences(expected: Any, published: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(published, dict):
        out = []
        for k in list(expected) + [k for k in published if k not in expected]:
            out += _field_differences(expected.get(k, "(absent)"), published.get(k, "(absent)"), f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(published, list) and len(expected) == len(published):
        out = []
        for i, (a, b) in enumerate(zip(expected, published, strict=True)):
            out += _field_differences(a, b, f"{path}[{i}]")
        return out
    return [] if expected == published else [f"{path.lstrip('.')}: {_what(published)} instead of {_what(expected)}"]


def _diff(what: str, expected: dict[Any, Any], published: dict[Any, Any]) -> list[str]:
    found = []
    for k in sorted(set(expected) | set(published), key=lambda v: (str(type(v)), v)):
        a, b = expected.get(k), published.get(k)
        if a == b:
            continue
        if b is None:
            found.append(f"{what} {k!r} is missing from the API")
        elif a is None:
            found.append(f"{what} {k!r} is served by the API but not on chain")
        else:
            found.append(f"{what} {k!r} differs: {'; '.join(_field_differences(a, b)[:4])}")
    if len(found) > SHOWN:
        found = found[:SHOWN] + [f"{len(found) - SHOWN} more {what} rows differ"]
    return found


def compare_api(
    reference_digest: str,
    public: PublicLedger,
    api_url: str,
    manifest: Any,
    ledger: tuple[int, str],
    client: httpx.Client | None = None,
) -> tuple[str, dict[str, Any]]:
    """Compare every public table of the API with ``public`` (the replay's). ``ledger``: the
    replay's (seq, head) at the bundle's head; ``client``: an httpx client to use, for tests."""
    base = api_url.rstrip("/")
    started = time.perf_counter()
    with client or new_client() as client:
        checkpoint = _get(client, base + "/v1/checkpoint")
        if checkpoint.get("block_number") != manifest.head_number:
            raise MirrorError(
                f"the API's mirror is at block {checkpoint.get('block_number')}, the bundle at {manifest.head_number}: "
                f"export with --to-block {checkpoint.get('block_number')}"
            )
        problems: list[str] = []
        expected_checkpoint = {
            "block_hash": manifest.head_hash.lower(),
            "ledger_seq": ledger[0],
            "ledger_head": ledger[1],
            "mirror_digest": reference_digest,
        }
        problems += _diff(
            "checkpoint", {"": expected_checkpoint}, {"": {k: checkpoint.get(k) for k in expected_checkpoint}}
        )

        def listed(path: str, key: str) -> dict[Any, Any]:
            return {item.get(key): item for item in _pages(client, base + path)}

        agencies = listed("/v1/agencies", "code")
        problems += _diff("agency", public.agencies, agencies)
        projects = listed("/v1/projects", "code")
        problems += _diff("project", public.projects, projects)
        disbursements = listed("/v1/disbursements", "id")
        problems += _diff("disbursement", public.disbursements, disbursements)
        problems += _diff("summary", {"totals": public.summary}, {"totals": _get(client, base + "/v1/summary")})

        def one(path: str) -> Any:
            return _get(client, base + path, missing=None)

        with ThreadPoolExecutor(WORKERS) as pool:
            codes = sorted(public.requests)
            answers = pool.map(lambda code: one(f"/v1/requests/{quote(code, safe='')}"), codes)
            requests = dict(zip(codes, answers, strict=True))
            names = sorted(public.services)
            stats = pool.map(lambda name: one(f"/v1/services/{quote(name, safe='')}/stats"), names)
            services = {name: s for name, s in zip(names, stats, strict=True) if s is not None}
        requests = {code: answer for code, answer in requests.items() if answer is not None}
        problems += _diff("request", public.requests, requests)
        problems += _diff("service", public.services, services)
    if problems:
        raise MirrorError("the API's mirror differs from the chain: " + "; ".join(problems))
    figures = {
        "digest": reference_digest,
        "agencies": len(agencies),
        "projects": len(projects),
        "disbursements": len(disbursements),
        "requests": len(requests),
        "services": len(services),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return (
        f"API checkpoint (digest {reference_digest}) and every public table equal the replay: "
        f"{len(agencies)} agencies, {len(projects)} projects, {len(disbursements)} disbursements, "
        f"{len(requests)} requests with their steps, {len(services)} services' statistics, the summary totals",
        figures,
    )

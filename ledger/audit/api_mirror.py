"""Comparing with a mirror behind the public API (`verify --api URL`): the checkpoint's
digest first, then paged reads of disbursements and projects against the rebuilt mirror."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from ledger.audit.errors import MirrorError, SourceError
from ledger.types import format_baht

PAGE = 500
SHOWN = 3


def _get(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise SourceError(f"API {url}: {exc}") from None
    if response.status_code != 200:
        raise SourceError(f"API {url} answered {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError:
        raise SourceError(f"API {url} did not answer JSON") from None


def fetch_checkpoint(api_url: str) -> dict[str, Any]:
    with httpx.Client(timeout=60) as client:
        return _get(client, api_url.rstrip("/") + "/v1/checkpoint")


def _pages(client: httpx.Client, url: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = _get(client, url, {"limit": PAGE, **({"cursor": cursor} if cursor else {})})
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _expected_disbursement(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["seq"],
        "project": row["project_code"],
        "agency": row["agency_code"],
        "fiscal_year": row["fiscal_year"],
        "voucher": row["voucher"],
        "amount": format_baht(row["amount"]),
        "payee": row["payee"],
        "document_hash": row["document_hash"],
        "request": row["request_tracking"],
        "reversed": row["reversed_by_seq"] is not None,
        "ledger_head": row["head"],
        "tx_hash": row["tx_hash"],
        "block_number": row["block_number"],
        "block_hash": row["block_hash"],
        "log_index": row["log_index"],
    }


def _published_disbursement(item: dict[str, Any]) -> dict[str, Any]:
    p = item.get("provenance", {})
    return {
        "id": item.get("id"),
        "project": item.get("project"),
        "agency": item.get("agency"),
        "fiscal_year": item.get("fiscal_year"),
        "voucher": item.get("voucher"),
        "amount": item.get("amount"),
        "payee": item.get("payee"),
        "document_hash": item.get("document_hash"),
        "request": item.get("request"),
        "reversed": item.get("reversed"),
        "ledger_head": p.get("ledger_head"),
        "tx_hash": p.get("tx_hash"),
        "block_number": p.get("block_number"),
        "block_hash": p.get("block_hash"),
        "log_index": p.get("log_index"),
    }


def _expected_project(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "agency": row["agency_code"],
        "fiscal_year": row["fiscal_year"],
        "name": row["name"],
        "allocation": format_baht(row["allocation"]),
        "net": format_baht(row["net"]),
        "remaining": format_baht(row["remaining"]),
    }


def _diff(what: str, key: str, expected: dict[Any, dict], published: dict[Any, dict]) -> list[str]:
    found = []
    for k in sorted(set(expected) | set(published), key=str):
        a, b = expected.get(k), published.get(k)
        if a == b:
            continue
        if b is None:
            found.append(f"{what} {key}={k!r} is missing from the API")
        elif a is None:
            found.append(f"{what} {key}={k!r} is served by the API but not on chain")
        else:
            cols = [f"{c}: {b.get(c)!r} instead of {v!r}" for c, v in a.items() if b.get(c) != v]
            found.append(f"{what} {key}={k!r} differs: {'; '.join(cols)}")
    return found


def compare_api(
    reference: Any, api_url: str, manifest: Any, client: httpx.Client | None = None
) -> tuple[str, dict[str, Any]]:
    """Compare the API's mirror with the rebuilt one (``client``: an httpx client to use, for tests)."""
    base = api_url.rstrip("/")
    with client or httpx.Client(timeout=60) as client:
        checkpoint = _get(client, base + "/v1/checkpoint")
        problems: list[str] = []
        if checkpoint.get("block_number") != manifest.head_number:
            raise MirrorError(
                f"the API's mirror is at block {checkpoint.get('block_number')}, the bundle at {manifest.head_number}: "
                f"export with --to-block {checkpoint.get('block_number')}"
            )
        if checkpoint.get("block_hash", "").lower() != manifest.head_hash.lower():
            problems.append(
                f"checkpoint block hash {checkpoint.get('block_hash')} is not the chain's {manifest.head_hash}"
            )
        if checkpoint.get("mirror_digest") != reference.digest:
            problems.append(
                f"mirror digest {checkpoint.get('mirror_digest')} differs from the rebuilt {reference.digest}"
            )
        table = reference.tables["disbursements"]
        rows = [dict(zip(table.columns, values, strict=True)) for values in table.rows.values()]
        expected = {r["seq"]: _expected_disbursement(r) for r in rows}
        published = {
            item.get("id"): _published_disbursement(item) for item in _pages(client, base + "/v1/disbursements")
        }
        problems += _diff("disbursement", "id", expected, published)[:SHOWN]
        table = reference.tables["projects"]
        rows = [dict(zip(table.columns, values, strict=True)) for values in table.rows.values()]
        expected_p = {r["code"]: _expected_project(r) for r in rows}
        published_p = {}
        for item in _pages(client, base + "/v1/projects"):
            published_p[item.get("code")] = {k: item.get(k) for k in _expected_project(rows[0])} if rows else item
        problems += _diff("project", "code", expected_p, published_p)[:SHOWN]
    if problems:
        raise MirrorError("the API's mirror differs from the chain: " + "; ".join(problems))
    return (
        f"API checkpoint digest {reference.digest} equals the rebuild; {len(published)} disbursements and "
        f"{len(published_p)} projects read page by page match",
        {"digest": reference.digest, "disbursements": len(published), "projects": len(published_p)},
    )

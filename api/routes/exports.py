"""``/v1/export/...``: the whole (filtered) ledger as a streamed CSV or an OCDS 1.1 release package.

Both stream: rows go out in batches as the database yields them, so memory stays flat whatever
the mirror's size. Their ETag is weak and derived from the checkpoint and the query, because
the body is not known before it is sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from api.deps import Code, FiscalYear, Strict
from api.errors import MirrorUnavailableError, NotFoundError
from api.query import documented, parse_query
from api.render import iso_utc, money
from api.responses import cache_control, matches
from api.routes.disbursements import COLUMNS, EXPORT_PARAMETERS, filters_of

router = APIRouter(prefix="/v1/export", tags=["exports"], dependencies=[Strict])

CSV_HEADER = (
    "id",
    "recorded_at",
    "fiscal_year",
    "agency",
    "project",
    "voucher",
    "amount",
    "payee",
    "document_hash",
    "request",
    "reversed_by",
    "ledger_head",
    "tx_hash",
    "block_number",
    "block_hash",
    "log_index",
)
BOM = "\ufeff"


async def _version(request: Request) -> str:
    row = await request.app.state.mirror.fetch_one(
        "SELECT c.block_hash, l.seq, l.head FROM checkpoint c LEFT JOIN ledger l ON l.id = 1 WHERE c.id = 1"
    )
    if row is None:
        raise MirrorUnavailableError("the mirror has not indexed any block yet")
    key = "\0".join(str(value) for value in row) + "\0" + request.url.path + "?" + str(request.query_params)
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def _not_modified(request: Request, etag: str) -> Response | None:
    header = request.headers.get("if-none-match")
    if header and matches(header, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control(request)})
    return None


@router.get(
    "/disbursements.csv",
    summary="Disbursements as CSV (UTF-8 with BOM), same filters as the list",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV, streamed"}},
    openapi_extra=documented(*EXPORT_PARAMETERS.values()),
)
async def export_csv(request: Request) -> Response:
    clauses, params = filters_of(parse_query(request, EXPORT_PARAMETERS)).sql()
    etag = await _version(request)
    if (answer := _not_modified(request, etag)) is not None:
        return answer
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    params["cap"] = request.app.state.settings.export_max_rows
    sql = f"SELECT {COLUMNS} FROM disbursements d {where} ORDER BY d.seq LIMIT :cap"
    mirror = request.app.state.mirror

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow(CSV_HEADER)
        async for batch in mirror.stream(sql, params):
            for row in batch:
                (seq, project, agency, fiscal_year, voucher, amount, payee, document_hash, tracking, reversed_by) = row[
                    :10
                ]
                head, tx_hash, block_number, block_hash, log_index, at = row[10:16]
                writer.writerow(
                    (
                        seq,
                        iso_utc(at),
                        fiscal_year,
                        agency,
                        project,
                        voucher,
                        money(amount),
                        payee,
                        document_hash or "",
                        tracking or "",
                        reversed_by or "",
                        head,
                        tx_hash,
                        block_number,
                        block_hash,
                        log_index,
                    )
                )
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "ETag": etag,
            "Cache-Control": cache_control(request),
            "Content-Disposition": 'attachment; filename="disbursements.csv"',
        },
    )


def _baht_number(satang: int) -> float:
    # OCDS values are JSON numbers; two decimals survive a float exactly as printed (shortest repr).
    return satang / 100


def _party(party_id: str, name: str, roles: list[str]) -> dict[str, Any]:
    return {"id": party_id, "name": name, "roles": roles}


def ocds_release(
    prefix: str, base: str, project: Any, agency_name: str, entries: list[Any], chain_id: int
) -> dict[str, Any]:
    """One project as an OCDS release: planning.budget, and its ledger entries as transactions."""
    code, agency, fiscal_year, name, allocation, last_seq, last_time = project
    ocid = f"{prefix}-{code}"
    buyer = {"id": f"agency-{agency}", "name": agency_name or agency}
    parties: dict[str, dict[str, Any]] = {buyer["id"]: _party(buyer["id"], buyer["name"], ["buyer", "payer"])}
    transactions = []
    documents = []
    for kind, seq, amount, payee, at, tx_hash, block_number, block_hash, log_index, head in entries:
        payee_id = f"payee-{payee}"
        parties.setdefault(payee_id, _party(payee_id, payee, ["payee"]))
        record = f"{base}/v1/disbursements/{seq}"
        transaction = {
            "id": str(seq),
            "source": f"{base}/v1/checkpoint",
            "date": iso_utc(at),
            "value": {"amount": _baht_number(amount if kind == "D" else -amount), "currency": "THB"},
            "payer": buyer,
            "payee": {"id": payee_id, "name": payee},
            "uri": record,
        }
        transactions.append(transaction)
        documents.append(
            {
                "id": tx_hash,
                "title": f"{'Disbursement' if kind == 'D' else 'Reversal'} {seq}: transaction {tx_hash}",
                "description": (
                    f"Ledger entry {seq} (head {head}) in transaction {tx_hash} on chain {chain_id}, log {log_index},"
                    f" block {block_number} ({block_hash})."
                ),
                "url": record,
                "format": "application/json",
                "datePublished": iso_utc(at),
            }
        )
    value = {"amount": _baht_number(allocation), "currency": "THB"}
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{code}-{last_seq}",
        "date": iso_utc(last_time),
        "tag": ["planning", "implementation"] if transactions else ["planning"],
        "initiationType": "tender",
        "language": "th",
        "parties": list(parties.values()),
        "buyer": buyer,
        "planning": {
            "budget": {
                "id": code,
                "description": f"{name} (fiscal year {fiscal_year} B.E.)",
                "amount": value,
                "project": name,
                "projectID": code,
                "uri": f"{base}/v1/projects/{code}",
            }
        },
        "tender": {"id": code, "title": name, "procuringEntity": buyer},
    }
    if transactions:
        release["awards"] = [{"id": f"{code}-award", "title": name, "value": value}]
        release["contracts"] = [
            {
                "id": f"{code}-contract",
                "awardID": f"{code}-award",
                "title": name,
                "value": value,
                "implementation": {"transactions": transactions, "documents": documents},
            }
        ]
    return release


@router.get(
    "/ocds",
    summary="OCDS 1.1 release package: projects as contracting processes, disbursements as transactions",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "OCDS"}},
)
async def export_ocds(
    request: Request,
    agency: Code | None = None,
    fiscal_year: FiscalYear | None = None,
    project: Annotated[Code | None, Query(description="Only this project")] = None,
) -> Response:
    mirror = request.app.state.mirror
    settings = request.app.state.settings
    etag = await _version(request)
    if (answer := _not_modified(request, etag)) is not None:
        return answer
    clauses, params = [], {}
    for column, name, value in (
        ("p.agency_code", "agency", agency),
        ("p.fiscal_year", "fiscal_year", fiscal_year),
        ("p.code", "project", project),
    ):
        if value is not None:
            clauses.append(f"{column} = :{name}")
            params[name] = value
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    # Pages by keyset rather than one long cursor: each release needs its own query, and on
    # PostgreSQL a held cursor would pin a pooled connection for the whole export.
    after = f"{'AND' if clauses else 'WHERE'} p.code > :after"
    projects_sql = (
        "SELECT p.code, p.agency_code, p.fiscal_year, p.name, p.allocation, p.last_activity_seq,"
        f" p.last_activity_time, COALESCE(a.name_en, ''), COALESCE(a.name, '') FROM projects p"
        f" LEFT JOIN agencies a ON a.code = p.agency_code {where} {after} ORDER BY p.code LIMIT 200"
    )
    # A release package needs at least one release; an empty answer is a 404, decided before streaming.
    if await mirror.fetch_one(f"SELECT 1 FROM projects p {where} LIMIT 1", params) is None:
        raise NotFoundError("no project matches these filters")
    chain = await mirror.fetch_one(
        "SELECT c.chain_id, b.timestamp FROM checkpoint c LEFT JOIN blocks b ON b.number = c.block_number"
        " WHERE c.id = 1"
    )
    chain_id = int(chain[0]) if chain else 0
    # Published "as of" the indexed block, so the same mirror always gives the same bytes.
    published = iso_utc(int(chain[1])) if chain and chain[1] is not None else iso_utc(int(time.time()))
    base = str(request.base_url).rstrip("/")
    prefix = settings.ocid_prefix
    entries_sql = (
        "SELECT 'D', seq, amount, payee, block_time, tx_hash, block_number, block_hash, log_index, head"
        " FROM disbursements WHERE project_code = :code"
        " UNION ALL SELECT 'R', r.seq, r.amount, d.payee, r.block_time, r.tx_hash, r.block_number, r.block_hash,"
        " r.log_index, r.head FROM reversals r JOIN disbursements d ON d.seq = r.original_seq"
        " WHERE r.project_code = :code ORDER BY 2"
    )

    async def body() -> AsyncIterator[bytes]:
        head = {
            "uri": str(request.url),
            "version": "1.1",
            "publishedDate": published,
            "publisher": {"name": "govledger public mirror"},
            "publicationPolicy": f"{base}/docs",
        }
        yield orjson.dumps(head)[:-1] + b',"releases":['
        first = True
        last = ""
        while batch := await mirror.fetch_all(projects_sql, {**params, "after": last}):
            for row in batch:
                entries = await mirror.fetch_all(entries_sql, {"code": row[0]})
                release = ocds_release(prefix, base, row[:7], row[8] or row[7], entries, chain_id)
                yield (b"" if first else b",") + orjson.dumps(release)
                first = False
            last = batch[-1][0]
        yield b"]}"

    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={
            "ETag": etag,
            "Cache-Control": cache_control(request),
            "Content-Disposition": 'attachment; filename="govledger-ocds.json"',
        },
    )

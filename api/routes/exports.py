"""``/v1/export/...``: the whole (filtered) ledger as a streamed CSV or an OCDS 1.1 release package.

Both stream: rows go out in batches as the database yields them, so memory stays flat whatever
the mirror's size. Their ETag is weak and derived from the checkpoint and the query, because
the body is not known before it is sent.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from api.database import Mirror
from api.deps import Code, Db, FiscalYear, Strict
from api.errors import MirrorUnavailableError, NotFoundError
from api.params import documented, parse_query
from api.query import COLUMNS
from api.render import iso_utc, money
from api.responses import cache_control, matches
from api.routes.disbursements import EXPORT_PARAMETERS, filters_of

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
# A cell a spreadsheet would read as a formula (OWASP's CSV-injection list) gets a leading "'".
# Only the text a recorder wrote (codes, voucher, payee, document hash, request) can start so:
# every other column is a figure, hash or time we format ourselves, and amount is a disbursement's
# (never negative here; a "-123.45" of ours would be a number to a spreadsheet, not a formula).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


async def _version(request: Request, mirror: Mirror) -> tuple[str, int]:
    """The export's weak ETag, and the ledger seq it covers (entries recorded later are left out)."""
    row = await mirror.fetch_one(
        "SELECT c.block_hash, l.seq, l.head FROM checkpoint c LEFT JOIN ledger l ON l.id = 1 WHERE c.id = 1"
    )
    if row is None:
        raise MirrorUnavailableError("the mirror has not indexed any block yet")
    key = "\0".join(str(value) for value in row) + "\0" + request.url.path + "?" + str(request.query_params)
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"', int(row[1] or 0)


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
async def export_csv(request: Request, mirror: Db) -> Response:
    clauses, params = filters_of(parse_query(request, EXPORT_PARAMETERS)).sql()
    etag, _ = await _version(request, mirror)
    if (answer := _not_modified(request, etag)) is not None:
        return answer
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    params["cap"] = request.app.state.settings.export_max_rows
    sql = f"SELECT {COLUMNS} FROM disbursements d {where} ORDER BY d.seq LIMIT :cap"

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
                        _cell(agency),
                        _cell(project),
                        _cell(voucher),
                        money(amount),
                        _cell(payee),
                        _cell(document_hash or ""),
                        _cell(tracking or ""),
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


# Rows per database batch of a streamed array: small enough that encoding one batch (in a worker
# thread) takes a few milliseconds and a few hundred kilobytes, large enough to amortise the hop.
OCDS_BATCH = 1000
# Bytes gathered before a chunk goes to the client: fewer, larger writes than one per fragment.
OCDS_CHUNK = 64 << 10


def _baht_number(satang: int) -> float:
    # OCDS values are JSON numbers; two decimals survive a float exactly as printed (shortest repr).
    return satang / 100


def _party(party_id: str, name: str, roles: list[str]) -> dict[str, Any]:
    return {"id": party_id, "name": name, "roles": roles}


class _Streamed:
    """A JSON array inside a release whose items are encoded batch by batch as they are read."""

    def __init__(self, batches: AsyncIterator[bytes]) -> None:
        self.batches = batches


def _holds_stream(value: Any) -> bool:
    if isinstance(value, _Streamed):
        return True
    if isinstance(value, dict):
        return any(_holds_stream(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_stream(item) for item in value)
    return False


async def _encode(value: Any) -> AsyncIterator[bytes]:
    """``orjson.dumps(value)``, byte for byte, with every ``_Streamed`` array spliced in as it is read."""
    if isinstance(value, _Streamed):
        yield b"["
        first = True
        async for batch in value.batches:
            yield batch if first else b"," + batch
            first = False
        yield b"]"
    elif isinstance(value, dict) and _holds_stream(value):
        for index, (key, item) in enumerate(value.items()):
            yield (b"," if index else b"{") + orjson.dumps(key) + b":"
            async for part in _encode(item):
                yield part
        yield b"}"
    elif isinstance(value, list) and _holds_stream(value):
        for index, item in enumerate(value):
            yield b"," if index else b"["
            async for part in _encode(item):
                yield part
        yield b"]"
    else:
        yield orjson.dumps(value)


def _items(values: list[Any]) -> bytes:
    """A batch of array items, without the brackets: ``a,b,c``."""
    return orjson.dumps(values)[1:-1]


class OcdsProject:
    """One project's release, read from the mirror as it is sent: planning.budget, and its ledger
    entries (up to ledger seq ``upto``) as transactions. Parties, transactions and documents are
    three passes over the entries, each in batches, so memory does not grow with the project; a
    project of at most one batch (most of them) is read once, in one query."""

    ENTRIES = (
        "SELECT 'D', seq, amount, payee, block_time, tx_hash, block_number, block_hash, log_index, head"
        " FROM disbursements WHERE project_code = :code AND seq <= :upto"
        " UNION ALL SELECT 'R', r.seq, r.amount, d.payee, r.block_time, r.tx_hash, r.block_number, r.block_hash,"
        " r.log_index, r.head FROM reversals r JOIN disbursements d ON d.seq = r.original_seq"
        " WHERE r.project_code = :code AND r.seq <= :upto ORDER BY 2"
    )
    # Payees in order of first appearance, as one pass over ENTRIES would meet them.
    PAYEES = (
        "SELECT payee, MIN(seq) FROM (SELECT seq, payee FROM disbursements WHERE project_code = :code"
        " AND seq <= :upto UNION ALL SELECT r.seq, d.payee FROM reversals r JOIN disbursements d"
        " ON d.seq = r.original_seq WHERE r.project_code = :code AND r.seq <= :upto) AS e"
        " GROUP BY payee ORDER BY 2"
    )

    def __init__(self, mirror: Any, prefix: str, base: str, chain_id: int, upto: int, row: Any) -> None:
        self.mirror = mirror
        self.prefix, self.base, self.chain_id = prefix, base, chain_id
        self.code, self.agency, self.fiscal_year, self.name, self.allocation, self.last_seq, self.last_time = row[:7]
        self.buyer = {"id": f"agency-{self.agency}", "name": row[8] or row[7] or self.agency}
        self.params = {"code": self.code, "upto": upto}

    async def _batches(
        self, sql: str, encode: Callable[[Sequence[Any]], bytes], read: Sequence[Any] | None
    ) -> AsyncIterator[bytes]:
        """Encoded batches of ``sql``'s rows, or of the rows already ``read`` when there are few."""
        if read is not None:
            if read:
                yield await asyncio.to_thread(encode, read)
            return
        async for rows in self.mirror.stream(sql, self.params, batch=OCDS_BATCH):
            # Encoding runs in a worker thread: the event loop only waits for the database.
            yield await asyncio.to_thread(encode, rows)

    def _parties(self, rows: Sequence[Any]) -> bytes:
        return _items([_party(f"payee-{payee}", payee, ["payee"]) for payee, _ in rows])

    def _transactions(self, rows: Sequence[Any]) -> bytes:
        base, buyer = self.base, self.buyer
        return _items(
            [
                {
                    "id": str(seq),
                    "source": f"{base}/v1/checkpoint",
                    "date": iso_utc(at),
                    "value": {"amount": _baht_number(amount if kind == "D" else -amount), "currency": "THB"},
                    "payer": buyer,
                    "payee": {"id": f"payee-{payee}", "name": payee},
                    "uri": f"{base}/v1/disbursements/{seq}",
                }
                for kind, seq, amount, payee, at, *_ in rows
            ]
        )

    def _documents(self, rows: Sequence[Any]) -> bytes:
        return _items(
            [
                {
                    "id": tx_hash,
                    "title": f"{'Disbursement' if kind == 'D' else 'Reversal'} {seq}: transaction {tx_hash}",
                    "description": (
                        f"Ledger entry {seq} (head {head}) in transaction {tx_hash} on chain {self.chain_id},"
                        f" log {log_index}, block {block_number} ({block_hash})."
                    ),
                    "url": f"{self.base}/v1/disbursements/{seq}",
                    "format": "application/json",
                    "datePublished": iso_utc(at),
                }
                for kind, seq, _, _, at, tx_hash, block_number, block_hash, log_index, head in rows
            ]
        )

    async def release(self) -> dict[str, Any]:
        """The release, with its parties, transactions and documents still to be read."""
        code, name, buyer = self.code, self.name, self.buyer
        first = await self.mirror.fetch_all(self.ENTRIES + " LIMIT :cap", {**self.params, "cap": OCDS_BATCH + 1})
        active = bool(first)
        few = first if len(first) <= OCDS_BATCH else None
        # Payees in order of first appearance, like PAYEES.
        payees = None if few is None else [(payee, None) for payee in dict.fromkeys(row[3] for row in few)]
        value = {"amount": _baht_number(self.allocation), "currency": "THB"}
        buyer_party = orjson.dumps(_party(buyer["id"], buyer["name"], ["buyer", "payer"]))

        async def parties() -> AsyncIterator[bytes]:
            yield buyer_party
            async for batch in self._batches(self.PAYEES, self._parties, payees):
                yield batch

        release: dict[str, Any] = {
            "ocid": f"{self.prefix}-{code}",
            "id": f"{code}-{self.last_seq}",
            "date": iso_utc(self.last_time),
            "tag": ["planning", "implementation"] if active else ["planning"],
            "initiationType": "tender",
            "language": "th",
            "parties": _Streamed(parties()),
            "buyer": buyer,
            "planning": {
                "budget": {
                    "id": code,
                    "description": f"{name} (fiscal year {self.fiscal_year} B.E.)",
                    "amount": value,
                    "project": name,
                    "projectID": code,
                    "uri": f"{self.base}/v1/projects/{code}",
                }
            },
            "tender": {"id": code, "title": name, "procuringEntity": buyer},
        }
        if active:
            transactions = _Streamed(self._batches(self.ENTRIES, self._transactions, few))
            documents = _Streamed(self._batches(self.ENTRIES, self._documents, few))
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
    mirror: Db,
    agency: Code | None = None,
    fiscal_year: FiscalYear | None = None,
    project: Annotated[Code | None, Query(description="Only this project")] = None,
) -> Response:
    settings = request.app.state.settings
    etag, upto = await _version(request, mirror)
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

    async def body() -> AsyncIterator[bytes]:
        head = {
            "uri": str(request.url),
            "version": "1.1",
            "publishedDate": published,
            "publisher": {"name": "govledger public mirror"},
            "publicationPolicy": f"{base}/docs",
        }
        pending = [orjson.dumps(head)[:-1] + b',"releases":[']
        size = 0
        first = True
        last = ""
        while batch := await mirror.fetch_all(projects_sql, {**params, "after": last}):
            for row in batch:
                release = await OcdsProject(mirror, prefix, base, chain_id, upto, row).release()
                if not first:
                    pending.append(b",")
                first = False
                async for part in _encode(release):
                    pending.append(part)
                    size += len(part)
                    if size >= OCDS_CHUNK:
                        yield b"".join(pending)
                        pending, size = [], 0
            last = batch[-1][0]
        pending.append(b"]}")
        yield b"".join(pending)

    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={
            "ETag": etag,
            "Cache-Control": cache_control(request),
            "Content-Disposition": 'attachment; filename="govledger-ocds.json"',
        },
    )

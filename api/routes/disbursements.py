"""``/v1/disbursements``: every payment recorded on the chain, newest first, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.cursor import MAX_CURSOR_CHARS, decode_cursor, encode_cursor
from api.deps import (
    AMOUNT_MAX_CHARS,
    AMOUNT_PATTERN,
    CURSOR_PATTERN,
    DATE_PATTERN,
    MAX_LIMIT,
    reject_unknown_parameters,
    to_date,
    to_satang,
)
from api.errors import InvalidParameterError, NotFoundError
from api.query import QueryParameter, documented, parse_query
from api.render import money, provenance
from api.responses import json_answer
from api.schemas import CODE_PATTERN, DisbursementDetailPublic, DisbursementListPublic
from ledger.types import BANGKOK, CODE_MAX_LENGTH, MAX_FISCAL_YEAR, MIN_FISCAL_YEAR

# The list parses its own query (``parse_query`` refuses unknown names); the detail route takes none.
router = APIRouter(prefix="/v1/disbursements", tags=["disbursements"])

COLUMNS = (
    "d.seq, d.project_code, d.agency_code, d.fiscal_year, d.voucher, d.amount, d.payee, d.document_hash,"
    " d.request_tracking, d.reversed_by_seq, d.head, d.tx_hash, d.block_number, d.block_hash, d.log_index,"
    " d.block_time"
)
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class DisbursementFilters:
    """The filters shared by the list and the CSV export, as SQL over ``disbursements d``."""

    project: str | None
    agency: str | None
    fiscal_year: int | None
    payee: str | None
    min_amount: str | None
    max_amount: str | None
    since: date | None
    until: date | None

    def scope(self) -> str:
        return "\0".join(str(value) for value in self.__dict__.values())

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for column, name in (
            ("project_code", "project"),
            ("agency_code", "agency"),
            ("fiscal_year", "fiscal_year"),
            ("payee", "payee"),
        ):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"d.{column} = :{name}")
                params[name] = value
        low = to_satang("min_amount", self.min_amount) if self.min_amount is not None else None
        high = to_satang("max_amount", self.max_amount) if self.max_amount is not None else None
        if low is not None and high is not None and low > high:
            raise InvalidParameterError("min_amount", "is greater than max_amount")
        if low is not None:
            clauses.append("d.amount >= :min_amount")
            params["min_amount"] = low
        if high is not None:
            clauses.append("d.amount <= :max_amount")
            params["max_amount"] = high
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidParameterError("since", "is after until")
        # Dates are Bangkok calendar days, as people in Thailand read them; blocks carry UTC seconds.
        if self.since is not None:
            clauses.append("d.block_time >= :since")
            params["since"] = _bangkok_midnight(self.since)
        if self.until is not None:
            clauses.append("d.block_time < :until")
            params["until"] = _bangkok_midnight(self.until + timedelta(days=1))
        return clauses, params


def _bangkok_midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=BANGKOK).timestamp())


CODE_RULES = {"pattern": CODE_PATTERN, "max_length": CODE_MAX_LENGTH}
FILTER_PARAMETERS = (
    QueryParameter("project", str, "Project code", "MOE-2570-001", **CODE_RULES),
    QueryParameter("agency", str, "Agency code", "MOE", **CODE_RULES),
    QueryParameter(
        "fiscal_year",
        int,
        "Thai fiscal year, Buddhist Era (2568 = 1 Oct 2024 - 30 Sep 2025)",
        2570,
        minimum=MIN_FISCAL_YEAR,
        maximum=MAX_FISCAL_YEAR,
    ),
    QueryParameter("payee", str, "Payee reference", "SUP-001", **CODE_RULES),
    QueryParameter(
        "min_amount", str, "Smallest amount, baht, e.g. 1234.50", "1000.00", AMOUNT_PATTERN, AMOUNT_MAX_CHARS
    ),
    QueryParameter(
        "max_amount", str, "Largest amount, baht, e.g. 1234.50", "100000.00", AMOUNT_PATTERN, AMOUNT_MAX_CHARS
    ),
    QueryParameter("since", str, "First day, ISO date, Bangkok calendar", "2027-01-06", DATE_PATTERN, format="date"),
    QueryParameter("until", str, "Last day, ISO date, Bangkok calendar", "2027-01-31", DATE_PATTERN, format="date"),
)
PAGE_PARAMETERS = (
    QueryParameter("limit", int, f"Items per page, 1-{MAX_LIMIT}", 50, minimum=1, maximum=MAX_LIMIT, default=50),
    QueryParameter("cursor", str, "next_cursor of the previous page", None, CURSOR_PATTERN, MAX_CURSOR_CHARS),
)
LIST_PARAMETERS = {p.name: p for p in FILTER_PARAMETERS + PAGE_PARAMETERS}
EXPORT_PARAMETERS = {p.name: p for p in FILTER_PARAMETERS}


def filters_of(values: dict[str, Any]) -> DisbursementFilters:
    """The filters of parsed query values; dates are checked as calendar dates here."""
    since, until = values["since"], values["until"]
    return DisbursementFilters(
        values["project"],
        values["agency"],
        values["fiscal_year"],
        values["payee"],
        values["min_amount"],
        values["max_amount"],
        to_date("since", since) if since is not None else None,
        to_date("until", until) if until is not None else None,
    )


def disbursement(row: Any) -> dict[str, Any]:
    # Unpacked in one go and built inline: this runs 50-500 times per list page.
    (
        seq,
        project,
        agency,
        fiscal_year,
        voucher,
        amount,
        payee,
        document_hash,
        request_tracking,
        reversed_by,
        head,
        tx_hash,
        block_number,
        block_hash,
        log_index,
        at,
    ) = row
    return {
        "id": seq,
        "project": project,
        "agency": agency,
        "fiscal_year": fiscal_year,
        "voucher": voucher,
        "amount": money(amount),
        "payee": payee,
        "document_hash": document_hash,
        "request": request_tracking,
        "reversed": reversed_by is not None,
        "provenance": provenance(seq, head, tx_hash, block_number, block_hash, log_index, at),
    }


@router.get(
    "",
    response_model=DisbursementListPublic,
    summary="Disbursements, newest first, filtered",
    openapi_extra=documented(*LIST_PARAMETERS.values()),
)
async def list_disbursements(request: Request) -> Response:
    values = parse_query(request, LIST_PARAMETERS)
    filters, limit, cursor = filters_of(values), values["limit"], values["cursor"]
    secret = request.app.state.settings.cursor_secret
    clauses, params = filters.sql()
    scope = "disbursements\0" + filters.scope()
    if cursor is not None:
        (params["before"],) = decode_cursor(secret, scope, cursor, (int,))
        clauses.append("d.seq < :before")
    params["limit"] = limit + 1
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await request.app.state.mirror.fetch_all(
        f"SELECT {COLUMNS} FROM disbursements d {where} ORDER BY d.seq DESC LIMIT :limit", params
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(secret, scope, [rows[-1][0]]) if more else None
    return json_answer(request, {"items": [disbursement(row) for row in rows], "next_cursor": next_cursor})


# Parsed by hand like the list's query: FastAPI's parameter machinery costs this hot route a
# fifth of its time. Documented with the schema FastAPI would write for Path(ge=1, le=MAX_SEQ).
ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {
        "type": "integer",
        "maximum": MAX_SEQ,
        "minimum": 1,
        "description": "Ledger sequence number",
        "title": "Id",
    },
    "description": "Ledger sequence number",
}


def parse_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidParameterError("id", "must be a whole number")
    value = int(raw)
    if not 1 <= value <= MAX_SEQ:
        raise InvalidParameterError("id", f"must be between 1 and {MAX_SEQ}")
    return value


@router.get(
    "/{id}",
    response_model=DisbursementDetailPublic,
    summary="One disbursement and its reversal, if any",
    openapi_extra={"parameters": [ID_PARAMETER]},
)
async def get_disbursement(request: Request) -> Response:
    if request.scope["query_string"]:
        await reject_unknown_parameters(request)
    id = parse_id(request.path_params["id"])
    row = await request.app.state.mirror.fetch_one(
        f"SELECT {COLUMNS}, d.reversal_reason, r.head, r.tx_hash, r.block_number, r.block_hash, r.log_index,"
        " r.block_time FROM disbursements d LEFT JOIN reversals r ON r.seq = d.reversed_by_seq WHERE d.seq = :seq",
        {"seq": id},
    )
    if row is None:
        raise NotFoundError(f"no disbursement with id {id}")
    body = disbursement(row[:16])
    reversed_by = row[9]
    body["reversal"] = (
        None if reversed_by is None else {"reason": row[16], "provenance": provenance(reversed_by, *row[17:23])}
    )
    return json_answer(request, body)

"""``/v1/disbursements``: every payment recorded on the chain, newest first, with its provenance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.cursor import MAX_CURSOR_CHARS
from api.deps import (
    AMOUNT_MAX_CHARS,
    AMOUNT_PATTERN,
    CURSOR_PATTERN,
    DATE_PATTERN,
    MAX_LIMIT,
    mirror_of,
    reject_unknown_parameters,
    to_date,
)
from api.errors import InvalidParameterError, NotFoundError
from api.params import QueryParameter, documented, parse_query
from api.query import Disbursement, DisbursementFilters
from api.render import money, provenance
from api.responses import json_answer
from api.schemas import CODE_PATTERN, DisbursementDetailPublic, DisbursementListPublic
from ledger.types import CODE_MAX_LENGTH, MAX_FISCAL_YEAR, MIN_FISCAL_YEAR

# The list parses its own query (``parse_query`` refuses unknown names); the detail route takes none.
router = APIRouter(prefix="/v1/disbursements", tags=["disbursements"])

MAX_SEQ = 2**63 - 1


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


def disbursement(row: Disbursement) -> dict[str, Any]:
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
    page = await query.disbursements(
        mirror_of(request),
        filters_of(values),
        values["limit"],
        values["cursor"],
        request.app.state.settings.cursor_secret,
    )
    return json_answer(request, {"items": [disbursement(row) for row in page.items], "next_cursor": page.next_cursor})


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
    found = await query.disbursement(mirror_of(request), id)
    if found is None:
        raise NotFoundError(f"no disbursement with id {id}")
    body = disbursement(found.entry)
    reversal = found.reversal
    body["reversal"] = (
        None if reversal is None else {"reason": reversal.reason, "provenance": provenance(*reversal.provenance)}
    )
    return json_answer(request, body)

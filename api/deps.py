"""Dependencies and parameter types shared by the routes.

Every parameter is validated before a query runs: codes by pattern, fiscal years as Buddhist Era,
dates as ISO dates, amounts as decimal strings, ``limit`` in 1..500. A parameter the route does
not take is refused by name (400) instead of being ignored, so a typo such as ``?fiscalyear=``
does not silently return everything.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.routing import APIRoute

from api.cursor import MAX_CURSOR_CHARS
from api.database import Mirror
from api.errors import BadRequestError, InvalidParameterError
from api.schemas import CODE_PATTERN
from ledger.types import CODE_MAX_LENGTH, MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, ValueFormatError, parse_baht

AMOUNT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
AMOUNT_MAX_CHARS = 19  # 16 digits, the point and 2 decimals
MAX_LIMIT = 500  # items on one page of a list; the dashboard asks for a whole page at most
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

Code = Annotated[
    str,
    Query(
        pattern=CODE_PATTERN,
        min_length=1,
        max_length=CODE_MAX_LENGTH,
        description=f"1-{CODE_MAX_LENGTH} of A-Z a-z 0-9 . _ / -",
    ),
]
FiscalYear = Annotated[
    int,
    Query(
        ge=MIN_FISCAL_YEAR,
        le=MAX_FISCAL_YEAR,
        examples=[2570],
        description="Thai fiscal year, Buddhist Era (2568 = 1 Oct 2024 - 30 Sep 2025)",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, examples=[50], description=f"Items per page, 1-{MAX_LIMIT}")]
Cursor = Annotated[
    str, Query(pattern=CURSOR_PATTERN, max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page")
]
PathCode = Annotated[
    str, Path(pattern=CODE_PATTERN, min_length=1, max_length=CODE_MAX_LENGTH, examples=["MOE-2570-001"])
]
TrackingCode = Annotated[
    str,
    Path(
        min_length=32,
        max_length=39,
        pattern=r"^[0-9A-Za-z]{4}(-?[0-9A-Za-z]{4}){7}$",
        description="The 32-character code on the applicant's receipt, with or without dashes",
    ),
]


def mirror_of(request: Request) -> Mirror:
    """The app's one read-only mirror (``api.app.create_app``)."""
    return request.app.state.mirror


async def mirror(request: Request) -> Mirror:
    # async: FastAPI would run a plain function dependency in a worker thread.
    return mirror_of(request)


# Routes take the mirror as ``mirror: Db``. The two hottest (the disbursement list and detail, which
# parse their own parameters for the same reason) call ``mirror_of`` instead: resolving even this
# dependency costs FastAPI some 80 Python calls per request.
Db = Annotated[Mirror, Depends(mirror)]


def to_date(parameter: str, text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidParameterError(parameter, f"{text[:40]!r} is not a calendar date like 2025-01-31") from None
    if not 1970 <= day.year <= 2200:
        raise InvalidParameterError(parameter, "must be a date between 1970 and 2200")
    return day


def to_satang(parameter: str, text: str) -> int:
    try:
        return parse_baht(text)
    except ValueFormatError:
        raise InvalidParameterError(parameter, f"{text[:40]!r} is not an amount like 1234.50") from None


_ACCEPTED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_parameters(request: Request) -> None:
    """400 naming every query parameter the route does not take, or takes once but got twice."""
    query = request.query_params
    if not query:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = _ACCEPTED.get(id(route))
    if accepted is None:
        documented = {p["name"] for p in (route.openapi_extra or {}).get("parameters", []) if p.get("in") == "query"}
        accepted = _ACCEPTED[id(route)] = frozenset(_query_names(route.dependant) | documented)
    keys = query.keys()
    unknown = sorted({key for key in keys if key not in accepted})
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:10])
        allowed = ", ".join(sorted(accepted)) or "none"
        raise BadRequestError(f"unknown query parameter(s) {shown}; this route takes: {allowed}")
    if len(query.multi_items()) != len(set(keys)):
        repeated = sorted({key for key in keys if len(query.getlist(key)) > 1})
        raise BadRequestError(f"query parameter(s) given more than once: {', '.join(repeated)}")


Strict = Depends(reject_unknown_parameters)

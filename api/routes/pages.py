"""The citizen dashboard: server-rendered HTML pages over the same read-only mirror as ``/v1``.

Every total on a page comes from the API's own route functions (same SQL, same rounding), called
in-process and decoded from their JSON; the page only adds what the API does not publish (a
timeline bucketed by Bangkok month, per-agency per-step durations) with its own read-only queries.
Tables work without JavaScript; ``static/site.js`` only sorts them in place.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from api import charts
from api.deps import CURSOR_PATTERN
from api.errors import ApiError, MirrorUnavailableError, NotFoundError
from api.i18n import (
    Words,
    baht,
    compact_baht,
    long_date,
    month_label,
    percent,
    pick_language,
    satang_of,
    spoken_baht,
)
from api.routes.agencies import get_agency
from api.routes.checkpoint import mirror_state
from api.routes.disbursements import list_disbursements
from api.routes.projects import get_project, list_projects
from api.routes.requests import get_request
from api.routes.services import quantile, service_stats
from api.routes.summary import summary
from api.schemas import CODE_PATTERN
from indexer.workdays import bangkok_date, working_days_between
from ledger.types import fiscal_year_of

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parent.parent
# Control characters and bidi formatting characters that a recorder put in a name, reason or
# payee: shown as their code point, never sent raw, so they can neither reorder the page around
# them nor hide. (Tab, newline and CR stay: HTML shows them as spaces.) Names are also wrapped in
# <bdi> by the templates, so right-to-left text stays inside its own cell.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(value: Any) -> Any:
    """Jinja's finalize: every ``{{ ... }}`` of every page passes here before it is escaped."""
    if not isinstance(value, str) or not INVISIBLE.search(value):
        return value
    shown = INVISIBLE.sub(lambda match: f"[U+{ord(match.group()):04X}]", value)
    # The replacement holds no markup characters, so markup stays markup.
    return Markup(shown) if isinstance(value, Markup) else shown


TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_visible,
)
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
BANGKOK_OFFSET = 7 * 3600  # Asia/Bangkok has no daylight saving time
TRACKING_PATTERN = re.compile(r"^[0-9A-Za-z]{4}(-?[0-9A-Za-z]{4}){7}$")
CODE_RE = re.compile(CODE_PATTERN)
SORTS = ("name", "ministry", "allocated", "net", "remaining", "spent")
LATEST = 10
PAGE = 50


# ----------------------------------------------------------------------------- plumbing


def _api_view(request: Request, query: dict[str, Any] | None = None) -> Request:
    """The request as an API route should see it: only the API's own query parameters, and none of
    the browser's conditional headers (an API route must never answer a page's call with a 304)."""
    scope = dict(request.scope)
    scope["headers"] = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"if-none-match", b"if-modified-since")
    ]
    kept = {k: str(v) for k, v in (query or {}).items() if v is not None}
    scope["query_string"] = urlencode(kept).encode()
    return Request(scope, request.receive)


async def _api(
    request: Request, route: Callable[..., Awaitable[Response]], query: dict[str, Any] | None = None, **path: Any
) -> Any:
    """Call an API route in-process and decode its JSON: the page shows what /v1 answers, from the same SQL.

    Routes read their query either from the request or from keyword arguments; both are given, so the
    page does not depend on which style a route uses. API errors (404, 503) propagate to the page.
    """
    query = {k: v for k, v in (query or {}).items() if v is not None}
    accepted = inspect.signature(route).parameters
    keywords = {k: v for k, v in {**query, **path}.items() if k in accepted}
    response = await route(_api_view(request, query), **keywords)
    return orjson.loads(bytes(response.body))


def _language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get("lang"))


def _url(request: Request, path: str, **query: Any) -> str:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    if not kept:
        return path
    return path + ("&" if "?" in path else "?") + urlencode(kept)


def page_path(kind: str, code: str) -> str:
    """The dashboard page of an agency or project (``kind``): the code as one percent-encoded path
    segment, its ``/`` included, so no code (``A/../../v1``) can lead to another page. Browsers
    resolve a segment of only dots whatever its encoding (``%2E%2E`` too), so the codes ``.`` and
    ``..`` go in the query instead; the route reads them from there."""
    if code in (".", ".."):
        return f"/{kind}/?" + urlencode({"code": code})
    return f"/{kind}/" + quote(code, safe="")


def _switch_url(request: Request, lang: str, here: str) -> str:
    other = "en" if lang == "th" else "th"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    if "?" in here:
        query = [(k, v) for k, v in query if k != "code"]
    return _url(request, here, **dict(query))


async def _names(request: Request) -> dict[str, tuple[str, str]]:
    """Agency code -> (Thai name, English name); a few hundred rows at most."""
    rows = await request.app.state.mirror.fetch_all("SELECT code, name, name_en FROM agencies")
    return {code: (name or code, name_en or name or code) for code, name, name_en in rows}


async def _project_names(request: Request, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    params = {f"p{i}": code for i, code in enumerate(sorted(codes))}
    rows = await request.app.state.mirror.fetch_all(
        "SELECT code, name FROM projects WHERE code IN (" + ", ".join(f":{k}" for k in params) + ")", params
    )
    return dict(rows)


async def _as_of(request: Request) -> tuple[int, int] | None:
    row = await request.app.state.mirror.fetch_one(
        "SELECT c.block_number, b.timestamp FROM checkpoint c LEFT JOIN blocks b ON b.number = c.block_number"
        " WHERE c.id = 1"
    )
    return (int(row[0]), int(row[1] or 0)) if row else None


async def _current_year(request: Request, years: list[int]) -> int | None:
    """The fiscal year of the latest indexed block (chain time), else the latest year with projects."""
    as_of = await _as_of(request)
    if as_of and as_of[1]:
        current = fiscal_year_of(datetime.fromtimestamp(as_of[1], tz=UTC))
        if current in years:
            return current
    return years[0] if years else None


def _agency_name(names: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    pair = names.get(code)
    if pair is None:
        return code
    return pair[0] if lang == "th" else pair[1]


async def _render(
    request: Request, template: str, lang: str, status: int = 200, here: str | None = None, **context: Any
) -> HTMLResponse:
    """A page; ``here`` is its own link (an agency's or project's ``page_path``), else the fixed path."""
    here = here or request.url.path
    words = Words(lang)
    try:
        as_of = await _as_of(request)
    except MirrorUnavailableError:
        as_of = None
    html = TEMPLATES.get_template(template).render(
        request=request,
        lang=lang,
        w=words,
        baht=baht,
        compact=lambda value: compact_baht(value, lang),
        spoken=lambda value: spoken_baht(value, lang),
        when=lambda moment, **kw: long_date(moment, lang, **kw),
        percent=percent,
        satang=satang_of,
        url=lambda path, **query: _url(request, path, **query),
        agency_path=lambda code: page_path("agencies", code),
        project_path=lambda code: page_path("projects", code),
        switch_url=_switch_url(request, lang, here),
        path=request.url.path,
        here=here,
        as_of=as_of,
        asset=_asset,
        **context,
    )
    # Content-Security-Policy and the other security headers: api.guard, on every answer.
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-cache"
    if request.query_params.get("lang") in ("th", "en"):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


async def _problem_page(request: Request, lang: str, exc: ApiError) -> HTMLResponse:
    words = Words(lang)
    message = words.mirror_empty if isinstance(exc, MirrorUnavailableError) else words.not_found
    return await _render(request, "message.html", lang, status=exc.status, title=message, message=message)


# ----------------------------------------------------------------------------- derived figures


def _disbursement_rows(items: list[dict[str, Any]], projects: dict[str, str]) -> list[dict[str, Any]]:
    return [item | {"project_name": projects.get(item["project"], item["project"])} for item in items]


# Which entries a timeline covers: one project's, one agency's, or those of every agency of a ministry.
_TIMELINE_SCOPES = {
    "project_code": "project_code = :code",
    "agency_code": "agency_code = :code",
    "ministry_code": "agency_code IN (SELECT code FROM agencies WHERE ministry_code = :code)",
}


async def _timeline(request: Request, column: str, code: str, allocation: int, lang: str) -> dict[str, Any]:
    """Net disbursed per Bangkok month (gross minus reversals, each in the month it was recorded)."""
    mirror = request.app.state.mirror
    day = f"(block_time + {BANGKOK_OFFSET}) / 86400"
    scope = _TIMELINE_SCOPES[column]
    paid = await mirror.fetch_all(
        f"SELECT {day} AS day, SUM(amount) FROM disbursements WHERE {scope} GROUP BY {day} ORDER BY 1",
        {"code": code},
    )
    undone = await mirror.fetch_all(
        f"SELECT {day} AS day, SUM(amount) FROM reversals WHERE {scope} GROUP BY {day} ORDER BY 1",
        {"code": code},
    )
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for index, rows in enumerate((paid, undone)):
        for number, amount in rows:
            moment = date(1970, 1, 1) + timedelta(days=int(number))
            months[(moment.year, moment.month)][index] += int(amount)
    rows_out: list[dict[str, Any]] = []
    points: list[charts.Point] = []
    if months:
        first, last = min(months), max(months)
        year, month = first
        running = 0
        while (year, month) <= last:
            gross, reversed_ = months.get((year, month), (0, 0))
            running += gross - reversed_
            label = month_label(year, month, lang)
            rows_out.append({"label": label, "gross": gross, "reversed": reversed_, "cumulative": running})
            points.append(charts.Point(label, running))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    words = Words(lang)
    svg = charts.timeline(f"timeline-{column}", words.timeline_chart, points, allocation, lang, words.allocated)
    return {"rows": rows_out, "svg": svg}


# ----------------------------------------------------------------------------- pages


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    lang = _language(request)
    words = Words(lang)
    mirror = request.app.state.mirror
    try:
        years = [
            int(row[0])
            for row in await mirror.fetch_all("SELECT DISTINCT fiscal_year FROM projects ORDER BY fiscal_year DESC")
        ]
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    asked = request.query_params.get("fy", "")
    fiscal_year = int(asked) if asked.isdigit() and int(asked) in years else await _current_year(request, years)
    if fiscal_year is None:
        return await _render(request, "message.html", lang, title=words.overview, message=words.no_data)
    totals = await _api(request, summary, {"fiscal_year": fiscal_year})
    names = await _names(request)
    ministries = [
        _with_shares(m, (m["name_en"] if lang == "en" else "") or m["name"] or m["code"]) for m in totals["ministries"]
    ]
    rows = [
        _with_shares(a, _agency_name(names, a["agency"], lang), ministry_label=_agency_name(names, a["ministry"], lang))
        for a in totals["agencies"]
    ]
    msort, mdescending = _sort_rows(request, ministries, "m")
    sort, descending = _sort_rows(request, rows, "")

    def sort_link(table: str, key: str, numeric: bool) -> str:
        """Server-side sorting (without JavaScript) of one table, keeping the other table's order."""
        current = {"ministry": (msort, mdescending), "agency": (sort, descending)}
        active, down = current[table]
        if numeric:
            current[table] = (key, not (active == key and down))
        else:
            current[table] = (key, active == key and not down)
        (ministry_key, ministry_down), (agency_key, agency_down) = current["ministry"], current["agency"]
        query = {
            "fy": fiscal_year,
            "msort": ministry_key,
            "mdir": "desc" if ministry_down else "asc",
            "sort": agency_key,
            "dir": "desc" if agency_down else "asc",
        }
        return _url(request, "/", **query, lang=lang) + f"#by-{table}-h"

    def bars(chart_id: str, title: str, items: list[dict[str, Any]]) -> Any:
        return charts.allocation_bars(
            chart_id,
            title,
            [charts.Bar(r["label"], r["allocated_satang"], r["net_satang"]) for r in items],
            lang,
            words.allocated,
            words.net,
        )

    ministry_chart = bars("by-ministry", words.chart_by_ministry, ministries)
    chart = bars("by-agency", words.chart_by_agency, rows)
    latest = await _api(request, list_disbursements, {"fiscal_year": fiscal_year, "limit": LATEST})
    projects = await _project_names(request, {item["project"] for item in latest["items"]})
    return await _render(
        request,
        "overview.html",
        lang,
        title=f"{words.overview} {words.fiscal_year} {fiscal_year}",
        years=years,
        fiscal_year=fiscal_year,
        totals=totals,
        ministries=ministries,
        ministry_chart=ministry_chart,
        msort=msort,
        mdescending=mdescending,
        sort_link=sort_link,
        rows=rows,
        chart=chart,
        sort=sort,
        descending=descending,
        latest=_disbursement_rows(latest["items"], projects),
        names=names,
        agency_name=lambda code: _agency_name(names, code, lang),
    )


def _with_shares(item: dict[str, Any], label: str, **extra: Any) -> dict[str, Any]:
    """A totals row of /v1/summary with its label and the satang figures the tables sort by."""
    allocated, net = satang_of(item["allocated"]), satang_of(item["net"])
    return (
        item
        | extra
        | {
            "label": label,
            "allocated_satang": allocated,
            "net_satang": net,
            "remaining_satang": allocated - net,
            "spent_permille": (net * 1000 // allocated) if allocated else 0,
        }
    )


_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda r: r["label"],
    "ministry": lambda r: (r.get("ministry_label", ""), r["label"]),
    "allocated": lambda r: r["allocated_satang"],
    "net": lambda r: r["net_satang"],
    "remaining": lambda r: r["remaining_satang"],
    "spent": lambda r: r["spent_permille"],
}


def _sort_rows(request: Request, rows: list[dict[str, Any]], prefix: str) -> tuple[str, bool]:
    """Sort in place by ``?<prefix>sort=&<prefix>dir=`` (the overview's two tables sort separately)."""
    sort = request.query_params.get(prefix + "sort", "allocated")
    sort = sort if sort in SORTS else "allocated"
    textual = sort in ("name", "ministry")
    descending = request.query_params.get(prefix + "dir", "asc" if textual else "desc") != "asc"
    rows.sort(key=_SORT_KEYS[sort], reverse=descending)
    return sort, descending


def _cursor(request: Request) -> str | None:
    cursor = request.query_params.get("cursor")
    return cursor if cursor and len(cursor) <= 512 and re.fullmatch(CURSOR_PATTERN, cursor) else None


@router.get("/agencies/{code:path}", response_class=HTMLResponse)
async def agency_page(request: Request, code: str) -> Response:
    lang = _language(request)
    words = Words(lang)
    code = code or request.query_params.get("code", "")  # "." and "..": see page_path
    try:
        if not CODE_RE.fullmatch(code):
            raise NotFoundError(code)
        agency = await _api(request, get_agency, code=code)
    except NotFoundError:
        message = words("not_found_agency", code=code[:40])
        return await _render(request, "message.html", lang, status=404, title=message, message=message)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    projects = await _api(request, list_projects, {"agency": code, "limit": 500})
    try:
        entries = await _api(request, list_disbursements, {"agency": code, "limit": PAGE, "cursor": _cursor(request)})
    except ApiError:
        entries = {"items": [], "next_cursor": None}
    names = await _project_names(request, {item["project"] for item in entries["items"]})
    agencies = await _names(request)
    name = agency["name"] if lang == "th" or not agency.get("name_en") else agency["name_en"]
    # A ministry (an agency other agencies' codes are under): its figures and timeline cover all of them.
    totals, units, scope = agency, [], "agency_code"
    has_units = await request.app.state.mirror.fetch_one(
        "SELECT 1 FROM agencies WHERE ministry_code = :code AND code <> :code LIMIT 1", {"code": code}
    )
    if has_units:
        everything = await _api(request, summary)
        totals = next((m for m in everything["ministries"] if m["code"] == code), None) or agency
        units = [
            _with_shares(a, _agency_name(agencies, a["agency"], lang))
            for a in everything["agencies"]
            if a["ministry"] == code and a["agency"] != code
        ]
        units.sort(key=_SORT_KEYS["allocated"], reverse=True)
        scope = "ministry_code"
    allocated, net = satang_of(totals["allocated"]), satang_of(totals["net"])
    return await _render(
        request,
        "agency.html",
        lang,
        here=page_path("agencies", code),
        title=name,
        agency=agency,
        name=name,
        ministry_label=_agency_name(agencies, agency["ministry"], lang),
        is_ministry=bool(has_units),
        units=units,
        figures=_figures(totals, allocated, net),
        projects=projects["items"],
        entries=_disbursement_rows(entries["items"], names),
        next_cursor=entries["next_cursor"],
        timeline=await _timeline(request, scope, code, allocated, lang),
    )


def _figures(body: dict[str, Any], allocated: int, net: int) -> list[tuple[str, int]]:
    """The five headline figures of an agency or project, in display order."""
    allocation_key = "allocated" if "allocated" in body else "allocation"
    return [
        ("allocated", satang_of(body[allocation_key])),
        ("disbursed", satang_of(body["disbursed"])),
        ("reversed", satang_of(body["reversed"])),
        ("net", net),
        ("remaining", allocated - net),
    ]


@router.get("/projects/{code:path}", response_class=HTMLResponse)
async def project_page(request: Request, code: str) -> Response:
    lang = _language(request)
    words = Words(lang)
    code = code or request.query_params.get("code", "")  # "." and "..": see page_path
    try:
        if not CODE_RE.fullmatch(code):
            raise NotFoundError(code)
        project = await _api(request, get_project, code=code)
    except NotFoundError:
        message = words("not_found_project", code=code[:40])
        return await _render(request, "message.html", lang, status=404, title=message, message=message)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    allocated, net = satang_of(project["allocation"]), satang_of(project["net"])
    try:
        entries = await _api(request, list_disbursements, {"project": code, "limit": PAGE, "cursor": _cursor(request)})
    except ApiError:
        entries = {"items": [], "next_cursor": None}
    names = await _names(request)
    return await _render(
        request,
        "project.html",
        lang,
        here=page_path("projects", code),
        title=project["name"],
        project=project,
        agency_label=_agency_name(names, project["agency"], lang),
        figures=_figures(project, allocated, net),
        entries=_disbursement_rows(entries["items"], {code: project["name"]}),
        next_cursor=entries["next_cursor"],
        timeline=await _timeline(request, "project_code", code, allocated, lang),
    )


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request) -> Response:
    lang = _language(request)
    q = " ".join(request.query_params.get("q", "").split())
    context: dict[str, Any] = {"q": q, "projects": [], "payments": [], "too_long": False, "searched": bool(q)}
    try:
        if len(q) > 100:
            context["too_long"] = True
        elif q:
            found = await _api(request, list_projects, {"q": q, "limit": PAGE})
            context["projects"] = found["items"]
            if CODE_RE.fullmatch(q) and len(q) <= 32:
                paid = await _api(request, list_disbursements, {"payee": q, "limit": PAGE})
                names = await _project_names(request, {item["project"] for item in paid["items"]})
                context["payments"] = _disbursement_rows(paid["items"], names)
        names = await _names(request)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    words = Words(lang)
    return await _render(
        request,
        "search.html",
        lang,
        title=words.search_title,
        agency_name=lambda code: _agency_name(names, code, lang),
        **context,
    )


@router.get("/track", response_class=HTMLResponse)
async def track_page(request: Request) -> Response:
    lang = _language(request)
    raw = request.query_params.get("code", "")
    code = "".join(raw.split())
    found: dict[str, Any] | None = None
    unknown = False
    names: dict[str, tuple[str, str]] = {}
    if code:
        try:
            if not TRACKING_PATTERN.fullmatch(code):
                raise NotFoundError("no such request")
            found = await _api(request, get_request, tracking_code=code)
            names = await _names(request)
        except NotFoundError:
            unknown = True
        except MirrorUnavailableError as exc:
            return await _problem_page(request, lang, exc)
    words = Words(lang)
    return await _render(
        request,
        "track.html",
        lang,
        title=words.track_title,
        code=raw.strip()[:64],
        found=found,
        unknown=unknown,
        agency_name=lambda c: _agency_name(names, c, lang),
    )


async def _agency_steps(request: Request, service: str, states: list[str]) -> list[dict[str, Any]]:
    """Per agency and step: steps finished, share on time, median working days (not in /v1)."""
    rows = await request.app.state.mirror.fetch_all(
        "SELECT agency_code, from_state, from_time, block_time, on_time FROM request_transitions"
        " WHERE service_code = :service ORDER BY seq",
        {"service": service},
    )
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for agency, from_state, from_time, block_time, on_time in rows:
        cell = cells.setdefault((agency, int(from_state)), {"days": [], "timed": 0, "on_time": 0})
        cell["days"].append(working_days_between(bangkok_date(from_time), bangkok_date(block_time)))
        if on_time is not None:
            cell["timed"] += 1
            cell["on_time"] += 1 if on_time else 0
    result = []
    for (agency, state), cell in sorted(cells.items()):
        result.append(
            {
                "agency": agency,
                "state": states[state] if state < len(states) else str(state),
                "completed": len(cell["days"]),
                "median": quantile(cell["days"], 0.5),
                "timed": cell["timed"],
                "on_time_share": cell["on_time"] / cell["timed"] if cell["timed"] else None,
            }
        )
    return result


@router.get("/performance", response_class=HTMLResponse)
async def performance_page(request: Request) -> Response:
    lang = _language(request)
    words = Words(lang)
    try:
        services = [
            row[0] for row in await request.app.state.mirror.fetch_all("SELECT code FROM services ORDER BY code")
        ]
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    if not services:
        return await _render(request, "message.html", lang, title=words.performance, message=words.no_data)
    asked = request.query_params.get("service", "")
    service = asked if asked in services else ("student-loan" if "student-loan" in services else services[0])
    stats = await _api(request, service_stats, service=service)
    names = await _names(request)
    states = [s["state"] for s in stats["states"]]
    chart = charts.share_bars(
        "on-time",
        words.chart_on_time,
        [
            charts.Bar(_agency_name(names, a["agency"], lang), round((a["on_time_share"] or 0) * 1000))
            for a in stats["agencies"]
        ],
    )
    return await _render(
        request,
        "performance.html",
        lang,
        title=f"{words.perf_title}: {words.service(service)}",
        services=services,
        service=service,
        stats=stats,
        chart=chart,
        cells=await _agency_steps(request, service, states),
        agency_name=lambda c: _agency_name(names, c, lang),
    )


@router.get("/verify", response_class=HTMLResponse)
async def verify_page(request: Request) -> Response:
    lang = _language(request)
    words = Words(lang)
    try:
        state = await mirror_state(_api_view(request))
    except MirrorUnavailableError as exc:
        return await _problem_page(request, lang, exc)
    base = str(request.base_url).rstrip("/")
    return await _render(request, "verify.html", lang, title=words.verify_title, state=state, base=base)


def _static_files() -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in STATIC.glob("*"):
        if path.suffix in STATIC_TYPES:
            body = path.read_bytes()
            files[path.name] = (
                body,
                STATIC_TYPES[path.suffix],
                '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"',
            )
    return files


_STATIC_CACHE: dict[str, tuple[bytes, str, str]] = {}


def _asset(name: str) -> str:
    """A static file's URL with its content hash, so browsers may cache it for an hour safely."""
    if not _STATIC_CACHE:
        _STATIC_CACHE.update(_static_files())
    found = _STATIC_CACHE.get(name)
    return f"/static/{name}?v={found[2][1:-1]}" if found else f"/static/{name}"


@router.get("/static/{name}")
async def static_file(request: Request, name: str) -> Response:
    if not _STATIC_CACHE:
        _STATIC_CACHE.update(_static_files())
    found = _STATIC_CACHE.get(name)
    if found is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    body, media_type, etag = found
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)

"""The citizen dashboard: server-rendered HTML pages over the same read-only mirror as ``/v1``.

Every figure on a page comes from ``api.query``, the same typed rows (integer satang) the ``/v1``
routes format as JSON; the pages format them as HTML. Tables work without JavaScript;
``static/site.js`` only sorts them in place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from api import charts, query
from api.database import Mirror
from api.deps import CURSOR_PATTERN, Db
from api.errors import ApiError, MirrorUnavailableError
from api.i18n import Words, baht, compact_baht, long_date, month_label, percent, pick_language, spoken_baht
from api.query import AgencyTotals, Disbursement, DisbursementFilters, MinistryTotals, Page
from api.schemas import CODE_PATTERN
from ledger.types import ValueFormatError, decode_tracking, encode_tracking, fiscal_year_of

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
TRACKING_PATTERN = re.compile(r"^[0-9A-Za-z]{4}(-?[0-9A-Za-z]{4}){7}$")
CODE_RE = re.compile(CODE_PATTERN)
SORTS = ("name", "ministry", "allocated", "net", "remaining", "spent")
LATEST = 10
PAGE = 50


# ----------------------------------------------------------------------------- plumbing


def _language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get("lang"))


def _url(request: Request, path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
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
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    if "?" in here:
        kept = [(k, v) for k, v in kept if k != "code"]
    return _url(request, here, **dict(kept))


async def _current_year(mirror: Mirror, years: list[int]) -> int | None:
    """The fiscal year of the latest indexed block (chain time), else the latest year with projects."""
    as_of = await query.as_of(mirror)
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
    request: Request,
    mirror: Mirror,
    template: str,
    lang: str,
    status: int = 200,
    here: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page; ``here`` is its own link (an agency's or project's ``page_path``), else the fixed path."""
    here = here or request.url.path
    words = Words(lang)
    try:
        as_of = await query.as_of(mirror)
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
        url=lambda path, **params: _url(request, path, **params),
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


async def _problem_page(request: Request, mirror: Mirror, lang: str, exc: ApiError) -> HTMLResponse:
    words = Words(lang)
    message = words.mirror_empty if isinstance(exc, MirrorUnavailableError) else words.not_found
    return await _render(request, mirror, "message.html", lang, status=exc.status, title=message, message=message)


# ----------------------------------------------------------------------------- derived figures


async def _entries(mirror: Mirror, request: Request, filters: DisbursementFilters) -> Page[Disbursement]:
    """A page of disbursements (with the reader's ``?cursor=``); a stale or forged cursor gives none."""
    secret = request.app.state.settings.cursor_secret
    try:
        return await query.disbursements(mirror, filters, PAGE, _cursor(request), secret)
    except ApiError:
        return Page([], None)


@dataclass(frozen=True)
class Timeline:
    rows: list[tuple[str, query.Month]]  # (month label, figures)
    svg: Markup


async def _timeline(mirror: Mirror, scope: str, code: str, allocation: int, lang: str) -> Timeline:
    """Net disbursed per Bangkok month, as a chart and as the table behind it."""
    months = await query.monthly_net(mirror, scope, code)
    rows = [(month_label(m.year, m.month, lang), m) for m in months]
    points = [charts.Point(label, m.cumulative) for label, m in rows]
    words = Words(lang)
    svg = charts.timeline(f"timeline-{scope}", words.timeline_chart, points, allocation, lang, words.allocated)
    return Timeline(rows, svg)


# ----------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class TotalsRow:
    """A ministry's or an agency's totals, labelled in the reader's language, for a sortable table."""

    code: str
    label: str
    totals: query.Totals
    ministry: str = ""
    ministry_label: str = ""
    agencies: int = 0


def _ministry_row(ministry: MinistryTotals, lang: str) -> TotalsRow:
    label = (ministry.name_en if lang == "en" else "") or ministry.name or ministry.code
    return TotalsRow(ministry.code, label, ministry.totals, agencies=ministry.agencies)


def _agency_row(agency: AgencyTotals, names: dict[str, tuple[str, str]], lang: str) -> TotalsRow:
    return TotalsRow(
        agency.agency,
        _agency_name(names, agency.agency, lang),
        agency.totals,
        ministry=agency.ministry,
        ministry_label=_agency_name(names, agency.ministry, lang),
    )


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, mirror: Db) -> Response:
    lang = _language(request)
    words = Words(lang)
    try:
        years = await query.fiscal_years(mirror)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    asked = request.query_params.get("fy", "")
    fiscal_year = int(asked) if asked.isdigit() and int(asked) in years else await _current_year(mirror, years)
    if fiscal_year is None:
        return await _render(request, mirror, "message.html", lang, title=words.overview, message=words.no_data)
    found = await query.summary(mirror, fiscal_year)
    names = await query.agency_names(mirror)
    ministries = [_ministry_row(m, lang) for m in found.ministries]
    rows = [_agency_row(a, names, lang) for a in found.agencies]
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
        order = {
            "fy": fiscal_year,
            "msort": ministry_key,
            "mdir": "desc" if ministry_down else "asc",
            "sort": agency_key,
            "dir": "desc" if agency_down else "asc",
        }
        return _url(request, "/", **order, lang=lang) + f"#by-{table}-h"

    def bars(chart_id: str, title: str, items: list[TotalsRow]) -> Any:
        return charts.allocation_bars(
            chart_id,
            title,
            [charts.Bar(r.label, r.totals.allocated, r.totals.net) for r in items],
            lang,
            words.allocated,
            words.net,
        )

    ministry_chart = bars("by-ministry", words.chart_by_ministry, ministries)
    chart = bars("by-agency", words.chart_by_agency, rows)
    secret = request.app.state.settings.cursor_secret
    latest = await query.disbursements(mirror, DisbursementFilters(fiscal_year=fiscal_year), LATEST, None, secret)
    totals = found.totals
    return await _render(
        request,
        mirror,
        "overview.html",
        lang,
        title=f"{words.overview} {words.fiscal_year} {fiscal_year}",
        years=years,
        fiscal_year=fiscal_year,
        totals=totals,
        figures=_figures(totals.allocated, totals.disbursed, totals.reversed, totals.net, found.remaining),
        remaining=found.remaining,
        ministries=ministries,
        ministry_chart=ministry_chart,
        msort=msort,
        mdescending=mdescending,
        sort_link=sort_link,
        rows=rows,
        chart=chart,
        sort=sort,
        descending=descending,
        latest=latest.items,
        project_names=await query.project_names(mirror, {d.project for d in latest.items}),
        names=names,
        agency_name=lambda code: _agency_name(names, code, lang),
    )


_SORT_KEYS: dict[str, Callable[[TotalsRow], Any]] = {
    "name": lambda r: r.label,
    "ministry": lambda r: (r.ministry_label, r.label),
    "allocated": lambda r: r.totals.allocated,
    "net": lambda r: r.totals.net,
    "remaining": lambda r: r.totals.remaining,
    "spent": lambda r: r.totals.spent_permille,
}


def _sort_rows(request: Request, rows: list[TotalsRow], prefix: str) -> tuple[str, bool]:
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
async def agency_page(request: Request, mirror: Db, code: str) -> Response:
    lang = _language(request)
    words = Words(lang)
    code = code or request.query_params.get("code", "")  # "." and "..": see page_path
    try:
        found = await query.agency(mirror, code) if CODE_RE.fullmatch(code) else None
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    if found is None:
        message = words("not_found_agency", code=code[:40])
        return await _render(request, mirror, "message.html", lang, status=404, title=message, message=message)
    agency = found.agency
    secret = request.app.state.settings.cursor_secret
    projects = await query.projects(mirror, code, None, None, 500, None, secret)
    entries = await _entries(mirror, request, DisbursementFilters(agency=code))
    names = await query.agency_names(mirror)
    name = agency.name if lang == "th" or not agency.name_en else agency.name_en
    # A ministry (an agency other agencies' codes are under): its figures and timeline cover all of them.
    totals, units, scope = found.totals, [], "agency_code"
    is_ministry = await query.has_units(mirror, code)
    if is_ministry:
        everything = await query.summary(mirror, None)
        totals = next((m.totals for m in everything.ministries if m.code == code), totals)
        units = [_agency_row(a, names, lang) for a in everything.agencies if a.ministry == code and a.agency != code]
        units.sort(key=_SORT_KEYS["allocated"], reverse=True)
        scope = "ministry_code"
    return await _render(
        request,
        mirror,
        "agency.html",
        lang,
        here=page_path("agencies", code),
        title=name,
        agency=agency,
        name=name,
        ministry_label=_agency_name(names, agency.ministry, lang),
        is_ministry=is_ministry,
        units=units,
        figures=_figures(totals.allocated, totals.disbursed, totals.reversed, totals.net),
        projects=projects.items,
        entries=entries.items,
        project_names=await query.project_names(mirror, {d.project for d in entries.items}),
        next_cursor=entries.next_cursor,
        timeline=await _timeline(mirror, scope, code, totals.allocated, lang),
    )


def _figures(
    allocated: int, disbursed: int, reversed_: int, net: int, remaining: int | None = None
) -> list[tuple[str, int]]:
    """The five headline figures, in display order; ``remaining`` is allocated minus net unless given."""
    return [
        ("allocated", allocated),
        ("disbursed", disbursed),
        ("reversed", reversed_),
        ("net", net),
        ("remaining", allocated - net if remaining is None else remaining),
    ]


@router.get("/projects/{code:path}", response_class=HTMLResponse)
async def project_page(request: Request, mirror: Db, code: str) -> Response:
    lang = _language(request)
    words = Words(lang)
    code = code or request.query_params.get("code", "")  # "." and "..": see page_path
    try:
        found = await query.project(mirror, code) if CODE_RE.fullmatch(code) else None
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    if found is None:
        message = words("not_found_project", code=code[:40])
        return await _render(request, mirror, "message.html", lang, status=404, title=message, message=message)
    project = found.project
    entries = await _entries(mirror, request, DisbursementFilters(project=code))
    names = await query.agency_names(mirror)
    return await _render(
        request,
        mirror,
        "project.html",
        lang,
        here=page_path("projects", code),
        title=project.name,
        project=project,
        amendments=found.amendments,
        registered=found.registered,
        agency_label=_agency_name(names, project.agency, lang),
        figures=_figures(project.allocation, found.disbursed, found.reversed, project.net),
        entries=entries.items,
        project_names={code: project.name},
        next_cursor=entries.next_cursor,
        timeline=await _timeline(mirror, "project_code", code, project.allocation, lang),
    )


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, mirror: Db) -> Response:
    lang = _language(request)
    q = " ".join(request.query_params.get("q", "").split())
    context: dict[str, Any] = {
        "q": q,
        "projects": [],
        "payments": [],
        "project_names": {},
        "too_long": False,
        "searched": bool(q),
    }
    secret = request.app.state.settings.cursor_secret
    try:
        if len(q) > 100:
            context["too_long"] = True
        elif q:
            context["projects"] = (await query.projects(mirror, None, None, q, PAGE, None, secret)).items
            if CODE_RE.fullmatch(q) and len(q) <= 32:
                paid = await query.disbursements(mirror, DisbursementFilters(payee=q), PAGE, None, secret)
                context["payments"] = paid.items
                context["project_names"] = await query.project_names(mirror, {d.project for d in paid.items})
        names = await query.agency_names(mirror)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    words = Words(lang)
    return await _render(
        request,
        mirror,
        "search.html",
        lang,
        title=words.search_title,
        agency_name=lambda code: _agency_name(names, code, lang),
        **context,
    )


@router.get("/track", response_class=HTMLResponse)
async def track_page(request: Request, mirror: Db) -> Response:
    lang = _language(request)
    raw = request.query_params.get("code", "")
    code = "".join(raw.split())
    found: query.RequestRecord | None = None
    unknown = False
    names: dict[str, tuple[str, str]] = {}
    if code:
        try:
            if TRACKING_PATTERN.fullmatch(code):
                found = await query.service_request(mirror, decode_tracking(encode_tracking(code)))
            if found is None:
                unknown = True
            else:
                names = await query.agency_names(mirror)
        except ValueFormatError:
            unknown = True
        except MirrorUnavailableError as exc:
            return await _problem_page(request, mirror, lang, exc)
    words = Words(lang)
    return await _render(
        request,
        mirror,
        "track.html",
        lang,
        title=words.track_title,
        code=raw.strip()[:64],
        found=found,
        unknown=unknown,
        agency_name=lambda c: _agency_name(names, c, lang),
    )


@router.get("/performance", response_class=HTMLResponse)
async def performance_page(request: Request, mirror: Db) -> Response:
    lang = _language(request)
    words = Words(lang)
    try:
        services = await query.service_codes(mirror)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    if not services:
        return await _render(request, mirror, "message.html", lang, title=words.performance, message=words.no_data)
    asked = request.query_params.get("service", "")
    service = asked if asked in services else ("student-loan" if "student-loan" in services else services[0])
    stats = await query.service_stats(mirror, service)
    assert stats is not None  # one of the services just listed
    names = await query.agency_names(mirror)
    chart = charts.share_bars(
        "on-time",
        words.chart_on_time,
        [charts.Bar(_agency_name(names, a.agency, lang), round((a.on_time_share or 0) * 1000)) for a in stats.agencies],
    )
    return await _render(
        request,
        mirror,
        "performance.html",
        lang,
        title=f"{words.perf_title}: {words.service(service)}",
        services=services,
        service=service,
        stats=stats,
        chart=chart,
        cells=await query.agency_steps(mirror, service, [s.state for s in stats.states]),
        agency_name=lambda c: _agency_name(names, c, lang),
    )


@router.get("/verify", response_class=HTMLResponse)
async def verify_page(request: Request, mirror: Db) -> Response:
    lang = _language(request)
    words = Words(lang)
    try:
        state = await query.checkpoint(mirror, request.app.state.digest_cache)
    except MirrorUnavailableError as exc:
        return await _problem_page(request, mirror, lang, exc)
    base = str(request.base_url).rstrip("/")
    return await _render(request, mirror, "verify.html", lang, title=words.verify_title, state=state, base=base)


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

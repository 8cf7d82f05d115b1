"""`govledger disburse import`: a disbursement CSV validated in full, then recorded in batches.

CSV (UTF-8, optional BOM, header row)::

    project_code,amount,payee,voucher,document_hash,request,paid_on

Every row is checked before anything is sent: unknown project, project of another agency,
malformed or non-positive amount, more than two decimals, over the remaining budget (counting
the earlier rows of the same file), voucher repeated in the file or already used on chain
with other values, malformed payee or voucher code, bad document hash, unknown linked
request, bad date.
Valid rows are then recorded in atomic batches, grouped by project (each project's rows in
file order), which lets the contract keep a project in memory across consecutive items.

A voucher is identified by its canonical form (``ledger.types.canonical_voucher``): letter
case and surrounding spaces do not count, so ``pv-a-0001`` and ``PV-A-0001`` are one voucher,
recorded as ``PV-A-0001``. Amounts and dates take ASCII or Thai digits; any other script's
digits are refused by name. A row is named by the file line it starts on (a quoted field may
span lines).

Re-running is safe because vouchers are unique per agency on chain: a row whose voucher is
already recorded with the same project, amount, payee, document hash and linked request
counts as "already on the ledger" and is not sent again; if any of these differ, the row is
refused and the differing fields are named (ledger value beside row value), never dropped.
A run killed half-way (even by SIGKILL) and started again therefore records exactly the rows
that are missing. ``paid_on`` is validated but not stored on chain (the
contract has no field for it); see docs/DATA.md.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ledger.client import LedgerClient
from ledger.errors import ContractError, ImportFileError, LedgerError, TransactionError
from ledger.types import (
    ValueFormatError,
    ascii_digits,
    decode_tracking,
    encode_tracking,
    format_baht,
)
from ledger.values import ZERO32, Disbursement, ProjectState, RecordedDisbursement

HEADER = ("project_code", "amount", "payee", "voucher", "document_hash", "request", "paid_on")


@dataclass(frozen=True)
class Refusal:
    line: int  # line number in the file, the header being line 1
    reason: str


@dataclass
class DisbursementImport:
    """What an import did. ``stopped`` is set when recording stopped early (re-run to finish)."""

    rows: int = 0
    recorded: int = 0
    already: int = 0
    refused: list[Refusal] = field(default_factory=list)
    batches: int = 0
    gas_used: int = 0
    seconds: float = 0.0
    stopped: str | None = None


@dataclass
class _Row:
    line: int
    values: dict[str, str]


def read_rows(path: Path) -> list[_Row]:
    """The rows of a disbursement CSV; a missing file or wrong header refuses the whole file."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ImportFileError(f"{path} is empty; expected the header {','.join(HEADER)}")
            names = tuple(h.strip().lower() for h in header)
            if names != HEADER:
                raise ImportFileError(f"{path}: header must be {','.join(HEADER)} (found {','.join(header)})")
            rows = []
            while True:
                # A quoted field may hold newlines: a row is named by the file line it starts on.
                line = reader.line_num + 1
                record = next(reader, None)
                if record is None:
                    break
                if not any(cell.strip() for cell in record):
                    continue  # blank lines (a trailing newline pair) are not rows
                rows.append(_Row(line, dict(zip(HEADER, [c.strip() for c in record] + [""] * 7, strict=False))))
                if len(record) != len(HEADER):
                    rows[-1].values["_width"] = str(len(record))
            return rows
    except FileNotFoundError:
        raise ImportFileError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path} is not valid CSV: {exc}") from None


@dataclass
class ImportPlan:
    agency: str
    rows: int
    to_record: list[tuple[int, Disbursement]]
    already: list[int]
    refused: list[Refusal]


def _parse(row: _Row) -> Disbursement:
    """One row as a Disbursement (voucher in its canonical form); raises ValueFormatError."""
    v = row.values
    if "_width" in v:
        raise ValueFormatError(f"has {v['_width']} columns, expected {len(HEADER)}")
    if not v["project_code"]:
        raise ValueFormatError("project_code is empty")
    disbursement = Disbursement.from_text(
        v["project_code"], v["amount"], v["payee"], v["voucher"], v["document_hash"], v["request"]
    )
    try:
        date.fromisoformat(ascii_digits(v["paid_on"], "paid_on"))
    except ValueError as exc:
        if isinstance(exc, ValueFormatError):
            raise
        raise ValueFormatError(f"paid_on {v['paid_on']!r} is not an ISO date like 2025-01-31") from None
    return disbursement


def _differences(chain: RecordedDisbursement, row: Disbursement) -> list[str]:
    """The fields in which a row differs from the disbursement its voucher already recorded."""

    def tracking(raw: bytes) -> str:
        return decode_tracking(raw) if raw != ZERO32 else "none"

    pairs = [
        ("project", chain.project, row.project),
        ("amount", format_baht(chain.amount), format_baht(row.amount)),
        ("payee", chain.payee, row.payee),
        (
            "document_hash",
            chain.document_hash.hex() if chain.document_hash != ZERO32 else "none",
            row.document_hash.hex() if row.document_hash else "none",
        ),
        ("request", tracking(chain.request), tracking(encode_tracking(row.request)) if row.request else "none"),
    ]
    return [
        f"{name} {on_chain} on the ledger, {in_row} in this row"
        for name, on_chain, in_row in pairs
        if on_chain != in_row
    ]


def plan_import(client: LedgerClient, path: Path) -> ImportPlan:
    """Validate every row against the file itself and the chain; nothing is sent."""
    rows = read_rows(path)
    agency = client.my_agency()
    refused: list[Refusal] = []
    parsed: list[tuple[int, Disbursement]] = []
    typed: dict[int, str] = {}  # line -> the voucher as typed, when not canonical
    for row in rows:
        try:
            parsed.append((row.line, _parse(row)))
        except ValueFormatError as exc:
            refused.append(Refusal(row.line, str(exc)))
            continue
        if row.values["voucher"] != parsed[-1][1].voucher:
            typed[row.line] = row.values["voucher"]

    projects: dict[str, ProjectState | None] = client.projects([d.project for _, d in parsed])
    # Vouchers recorded before the canonical form was enforced exist only as typed, so the
    # typed spelling is looked up too.
    on_chain = client.disbursements(agency, list(dict.fromkeys([d.voucher for _, d in parsed] + list(typed.values()))))
    found = {line: on_chain[d.voucher] or on_chain.get(typed.get(line, d.voucher)) for line, d in parsed}
    recorded = client.recorded_disbursements([state.seq for state in found.values() if state is not None])
    requests = {d.request: client.request_state(d.request) for _, d in parsed if d.request}
    remaining = {code: p.remaining for code, p in projects.items() if p is not None}
    first_line: dict[str, int] = {}
    to_record: list[tuple[int, Disbursement]] = []
    already: list[int] = []
    for line, d in parsed:
        project = projects[d.project]
        earlier = first_line.get(d.voucher)
        chain_state = found[line]
        if earlier is not None:
            reason = f"voucher {d.voucher} repeats line {earlier} (letter case and surrounding spaces do not count)"
        elif chain_state is not None:
            first_line[d.voucher] = line
            chain_row = recorded.get(chain_state.seq)
            if chain_row is None:
                raise LedgerError(f"the node returned no DisbursementRecorded event for ledger entry {chain_state.seq}")
            differences = _differences(chain_row, d)
            if not differences:
                already.append(line)
                continue
            reason = (
                f"voucher {chain_row.voucher} is already used on the ledger by disbursement {chain_state.seq} "
                f"with other values: {'; '.join(differences)}"
            )
        elif project is None:
            reason = f"unknown project {d.project}"
        elif project.agency != agency:
            reason = f"project {d.project} belongs to agency {project.agency}, not to {agency}"
        elif d.request and requests.get(d.request) is None:
            reason = f"linked request {d.request} does not exist"
        elif d.amount > remaining[d.project]:
            reason = (
                f"over budget: project {d.project} has {format_baht(remaining[d.project])} baht remaining "
                f"after the earlier rows, {format_baht(d.amount)} requested"
            )
        else:
            first_line[d.voucher] = line
            remaining[d.project] -= d.amount
            to_record.append((line, d))
            continue
        refused.append(Refusal(line, reason))
    refused.sort(key=lambda r: r.line)
    return ImportPlan(agency, len(rows), to_record, already, refused)


def import_disbursements(
    client: LedgerClient,
    path: Path,
    *,
    batch_size: int | None = None,
    on_start: Callable[[ImportPlan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DisbursementImport:
    """Validate the whole file, then record the valid rows in batches.

    ``on_start(plan)`` runs once validation is done; ``on_progress(n)`` after each confirmed
    batch of ``n`` rows. A batch refused by the chain (someone recorded the same voucher in
    the meantime) stops the run with ``stopped`` set; a re-run picks up from there.
    """
    started = time.perf_counter()
    plan = plan_import(client, path)
    summary = DisbursementImport(rows=plan.rows, already=len(plan.already), refused=list(plan.refused))
    if on_start:
        on_start(plan)

    def confirmed(start: int, batch: list[Disbursement], result: object) -> None:
        summary.recorded += len(batch)
        summary.batches += 1
        summary.gas_used += getattr(result, "gas_used", 0)
        if on_progress:
            on_progress(len(batch))

    # Rows of one project go out next to each other (their own order kept): the contract keeps
    # the project in memory across consecutive items of a batch, which saves gas. Each
    # project's rows still come in file order, so the budget check above stays exact.
    ordered = sorted(plan.to_record, key=lambda row: row[1].project)
    try:
        client.disburse_batch([d for _, d in ordered], batch_size=batch_size, on_batch=confirmed)
    except (ContractError, TransactionError) as exc:
        summary.stopped = f"{exc}; {summary.recorded} rows were recorded before it, re-run to record the rest"
    except LedgerError as exc:
        summary.stopped = str(exc)
    summary.seconds = time.perf_counter() - started
    return summary


def write_disbursement_csv(path: Path, rows: list[tuple[str, str, str, str, str, str, str]]) -> None:
    """Write a disbursement CSV in the import format (used by the demo and the benchmark)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)

"""`govledger disburse add|import` and `govledger reverse` (recorder key of the paying agency)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Annotated

import typer

from ledger.errors import InputError
from scripts.commands.chain import DeploymentFile, Json, RpcUrl, connect, print_json

app = typer.Typer(help="Record disbursements against your agency's projects.", no_args_is_help=True)


@app.command("add")
def add(
    project: Annotated[str, typer.Argument(help="Project code of your agency.")],
    amount: Annotated[str, typer.Argument(help="Baht: 1234.50, 1,234.50 or '1234.50 บาท'.")],
    payee: Annotated[str, typer.Option("--payee", help="Payee reference (registry number or code), never a name.")],
    voucher: Annotated[
        str,
        typer.Option(
            "--voucher",
            help="Voucher number, unique within your agency; letter case and surrounding spaces do not count "
            "(pv-1 is PV-1, recorded as PV-1).",
        ),
    ],
    document: Annotated[
        Path | None, typer.Option("--document", help="Supporting document; its SHA-256 is recorded, not the file.")
    ] = None,
    document_hash: Annotated[
        str | None, typer.Option("--document-hash", help="SHA-256 of the document as 64 hex digits.")
    ] = None,
    request: Annotated[str | None, typer.Option("--request", help="Tracking code of a linked service request.")] = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Record one disbursement; prints its public id (the ledger sequence number).

    \b
    Example:
        govledger disburse add MOE-2568-001 250000.00 --payee 0105551234567 --voucher PV-2568-0042 \\
            --document invoice.pdf
    """
    from ledger.types import format_baht
    from ledger.values import Disbursement

    if document is not None and document_hash is not None:
        raise InputError("give --document or --document-hash, not both")
    digest: bytes | str | None = document_hash
    if document is not None:
        try:
            digest = hashlib.sha256(document.read_bytes()).digest()
        except OSError as exc:
            raise InputError(f"cannot read {document}: {exc.strerror}") from None
    disbursement = Disbursement.from_text(project, amount, payee, voucher, digest, request)
    typed, voucher, satang = voucher, disbursement.voucher, disbursement.amount
    client = connect(rpc_url, deployment)
    if typed.strip() != voucher:
        # Recorded before vouchers were canonical, it exists only as typed.
        mine = client.my_agency()
        earlier = client.disbursement(mine, typed.strip())
        if earlier is not None:
            raise InputError(
                f"voucher {typed.strip()} is already recorded for agency {mine} (disbursement {earlier.seq})"
            )
    result = client.disburse(disbursement)
    disbursement_id = result.seqs[0]
    if as_json:
        print_json(
            {
                "id": disbursement_id,
                "project": project,
                "amount": format_baht(satang),
                "payee": payee,
                "voucher": voucher,
                "document_hash": disbursement.document_hash.hex() if disbursement.document_hash else None,
                "request": request,
                "tx_hash": result.tx_hash,
                "block_number": result.block_number,
            }
        )
    else:
        typer.echo(
            f"recorded disbursement {disbursement_id}: {format_baht(satang)} baht on {project}, voucher {voucher}"
        )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: project_code,amount,payee,voucher,document_hash,request,paid_on")],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1000, help="Disbursements per transaction.")
    ] = 500,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Record a CSV of disbursements: every row validated first, then batched, resumable.

    Rows are refused (and listed with the file line they start on and the reason) for an
    unknown project, another agency's project, a malformed, zero or over-budget amount
    (earlier rows of the file count), more than two decimals, digits other than 0-9 or Thai
    ๐-๙, a voucher repeated in the file, a voucher already on the ledger with any other value
    (project, amount, payee, document hash, request: each difference is named), a bad hash, an
    unknown request, or a bad paid_on date. The others are recorded.

    Vouchers are compared and recorded upper-cased without surrounding spaces (pv-1 is PV-1).
    A row identical to what its voucher recorded is "already on the ledger", so after an
    interruption just run the same command again: it records exactly the missing rows.

    Exit code 0 when every row is on the ledger, 1 when some row was refused or the run stopped.

    \b
    Example:
        govledger disburse import payments-2568-01.csv
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ledger.importer import ImportPlan, import_disbursements

    client = connect(rpc_url, deployment)
    progress = Progress(
        TextColumn("recording"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
        transient=False,
        disable=as_json,
    )
    task = progress.add_task("record", total=None, rate="-", start=False)
    clock = {"started": 0.0, "done": 0}

    def started(plan: ImportPlan) -> None:
        progress.update(task, total=len(plan.to_record))
        progress.start_task(task)
        clock["started"] = time.perf_counter()

    def advanced(count: int) -> None:
        clock["done"] += count
        rate = clock["done"] / max(time.perf_counter() - clock["started"], 1e-9)
        progress.update(task, advance=count, rate=f"{rate:,.0f}")

    with progress:
        summary = import_disbursements(client, file, batch_size=batch_size, on_start=started, on_progress=advanced)
    if as_json:
        print_json(
            {
                "file": str(file),
                "rows": summary.rows,
                "recorded": summary.recorded,
                "already_on_ledger": summary.already,
                "refused": [{"line": r.line, "reason": r.reason} for r in summary.refused],
                "batches": summary.batches,
                "gas_used": summary.gas_used,
                "seconds": round(summary.seconds, 3),
                "stopped": summary.stopped,
            }
        )
    else:
        for refusal in summary.refused:
            typer.echo(f"line {refusal.line}: {refusal.reason}")
        typer.echo(
            f"{file}: {summary.rows} rows: {summary.recorded} recorded, {summary.already} already on the ledger, "
            f"{len(summary.refused)} refused ({summary.seconds:.1f}s)"
        )
    if summary.stopped:
        typer.echo(f"error: stopped: {summary.stopped}", err=True)
        raise typer.Exit(1)
    if summary.refused:
        typer.echo(f"error: {len(summary.refused)} rows refused (listed above); fix them and run again", err=True)
        raise typer.Exit(1)


def reverse_command(
    disbursement_id: Annotated[int, typer.Argument(help="Disbursement id (its ledger sequence number).", min=1)],
    reason: Annotated[
        str, typer.Option("--reason", help="Why; published with the reversal. Visible text; no control characters.")
    ],
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Reverse one of your agency's disbursements (at most once); nothing is ever deleted.

    \b
    Example:
        govledger reverse 1042 --reason "amount typed twice; see voucher PV-2568-0043"
    """
    from ledger.types import check_text, format_baht

    check_text(reason, "the reason")
    found, result = connect(rpc_url, deployment).reverse_by_id(disbursement_id, reason)
    if as_json:
        print_json(
            {
                "reversed": disbursement_id,
                "reversal_id": result.seqs[0],
                "project": found.project,
                "voucher": found.voucher,
                "amount": format_baht(found.amount),
                "tx_hash": result.tx_hash,
            }
        )
    else:
        typer.echo(
            f"reversed disbursement {disbursement_id} ({format_baht(found.amount)} baht on {found.project}, "
            f"voucher {found.voucher}) as ledger entry {result.seqs[0]}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="disburse")
    root.command("reverse")(reverse_command)

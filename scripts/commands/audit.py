"""`govledger audit`: export a portable bundle, verify it (or a live node) offline, and
make or check a citizen's proof of one entry."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from audit.errors import AuditError

USER_ERRORS = (AuditError,)

audit_app = typer.Typer(help="Auditor tools: export, verify, proofs.", no_args_is_help=True)


def _deployment(path: Path | None) -> Any:
    from ledger.deployment import load_deployment
    from ledger.settings import get_settings

    return load_deployment(path or get_settings().deployment)


def _rpc(url: str | None) -> str:
    from ledger.settings import get_settings

    return url or get_settings().rpc_url


def _trusted(value: str | None) -> bytes | None:
    if value is None:
        return None
    from ledger.types import parse_hash

    return parse_hash(value, "--trusted-head")


def _export(rpc_url: str, deployment: Any, outdir: Path, to_block: int | None, samples: int, quiet: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from audit.export import export_bundle
    from audit.source import HttpSource

    source = HttpSource(rpc_url)
    columns = (TextColumn("blocks"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=quiet, console=None) as bar:
        task = bar.add_task("export", total=None)
        manifest = export_bundle(
            source,
            deployment.address,
            deployment.deploy_block,
            outdir,
            to_block=to_block,
            samples=samples,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    return manifest


def export_command(
    outdir: Annotated[Path, typer.Argument(help="Directory for the bundle (re-run to resume).")],
    rpc: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL (default GOVLEDGER_RPC_URL).")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment file (default GOVLEDGER_DEPLOYMENT).")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", help="Last block (default: the node's latest).")] = None,
    samples: Annotated[int, typer.Option(help="Heights at which ledgerHead() is recorded.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest summary as JSON.")] = False,
) -> None:
    """Write a portable bundle: headers, receipts and logs, with a SHA-256 manifest."""
    manifest = _export(_rpc(rpc), _deployment(deployment), outdir, to_block, samples, as_json)
    summary = {
        "outdir": str(outdir),
        "head_number": manifest.head_number,
        "head_hash": manifest.head_hash,
        **manifest.counts,
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"bundle {outdir}: blocks {manifest.from_block}..{manifest.head_number} (head {manifest.head_hash}), "
            f"{manifest.counts['logs']} logs in {manifest.counts['receipt_blocks']} blocks"
        )


def verify_command(
    outdir: Annotated[Path | None, typer.Argument(help="A bundle written by `audit export`.")] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Verify a live node instead (exports first).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Compare with this mirror database URL.")] = None,
    api: Annotated[str | None, typer.Option("--api", help="Compare with the mirror behind this API.")] = None,
    trusted_head: Annotated[str | None, typer.Option("--trusted-head", help="Block hash the head must equal.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment file, for --rpc.")] = None,
    recompile: Annotated[bool, typer.Option(help="Recompile the sources (solc) to check the bytecode.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check headers, receipt tries, bytecode, the ledger rules and head, and a mirror. Exit 1 on any failure."""
    from audit.verify import verify_bundle

    if outdir is None and rpc is None:
        raise AuditError("give a bundle directory or --rpc URL")
    if db is not None and api is not None:
        raise AuditError("give --db or --api, not both")
    live_heads = live_code = None
    scratch = pinned = None
    if rpc is not None:
        from audit.export import code_at, state_head_at
        from audit.source import HttpSource

        dep = _deployment(deployment)
        source = HttpSource(rpc)
        if outdir is None:
            scratch = tempfile.TemporaryDirectory(prefix="govledger-audit-")
            outdir = Path(scratch.name)
            # Export up to the block the mirror is complete to; a database mirror is pinned first (one
            # read transaction), so an indexer following the chain meanwhile does not move it.
            to_block = None
            if db is not None:
                from audit.compare import PinnedMirror

                pinned = PinnedMirror(db)
                to_block = pinned.block
            elif api is not None:
                from audit.api_mirror import fetch_checkpoint

                to_block = int(fetch_checkpoint(api)["block_number"])
            _export(rpc, dep, outdir, to_block, 100, as_json)
        live_heads = lambda block: state_head_at(source, dep.address, block)  # noqa: E731
        from audit.bundle import read_manifest

        manifest = read_manifest(outdir)
        live_code = code_at(source, manifest.address, manifest.head_number)
    try:
        report = verify_bundle(
            outdir,
            trusted_head=_trusted(trusted_head),
            db_url=db,
            api_url=api,
            live_heads=live_heads,
            live_code=live_code,
            recompile=recompile,
            head_source="node" if rpc is not None else "bundle",
            pinned=pinned,
        )
    finally:
        if pinned is not None:
            pinned.close()
        if scratch is not None:
            scratch.cleanup()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        for line in report.lines():
            typer.echo(line)
        if report.ok:
            typer.echo("verified: everything holds")
    if not report.ok:
        # An error rather than typer.Exit(1): the entry point runs click with standalone_mode=False,
        # which turns typer.Exit into a return value; an AuditError becomes one line and exit 1.
        names = ", ".join(c.name for c in report.failures())
        raise AuditError(f"verification failed: {len(report.failures())} check(s) failed ({names})")


def proof_command(
    seq: Annotated[int, typer.Argument(metavar="ID", help="Disbursement id or any ledger seq.")],
    rpc: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL (default GOVLEDGER_RPC_URL).")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment file (default GOVLEDGER_DEPLOYMENT).")] = None,
    checkpoint: Annotated[int | None, typer.Option(help="Block the header chain ends at (default latest).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the proof here instead of stdout.")] = None,
) -> None:
    """Print a self-contained proof that ledger entry ID is in the chain."""
    from audit.proof import build_proof
    from audit.source import HttpSource

    dep = _deployment(deployment)
    proof = build_proof(HttpSource(_rpc(rpc)), dep.address, dep.deploy_block, seq, checkpoint)
    text = json.dumps(proof, indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote proof of {proof['entry']['event']} seq {seq} to {out}", err=True)


def verify_proof_command(
    file: Annotated[Path, typer.Argument(help="A proof from `audit proof` or /v1/proofs/...")],
    trusted_head: Annotated[str | None, typer.Option("--trusted-head", help="Checkpoint hash it must end at.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the proven entry as JSON.")] = False,
) -> None:
    """Check a proof offline: header chain, receipt-trie path, and the decoded entry."""
    from audit.proof import verify_proof

    try:
        proof = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read proof {file}: {exc}") from None
    if not isinstance(proof, dict):
        raise AuditError(f"{file} is not a proof")
    entry = verify_proof(proof, _trusted(trusted_head))
    if as_json:
        typer.echo(json.dumps(entry))
    else:
        typer.echo(
            f"proven: {entry['event']} seq {entry['seq']} in block {entry['block']} {entry['block_hash']}, "
            f"{entry['confirmations']} blocks below checkpoint {entry['checkpoint']['hash']}"
        )


def register(app: typer.Typer) -> None:
    audit_app.command("export")(export_command)
    audit_app.command("verify")(verify_command)
    audit_app.command("proof")(proof_command)
    audit_app.command("verify-proof")(verify_proof_command)
    app.add_typer(audit_app, name="audit")

"""`govledger index [--follow]` and `govledger db upgrade`: chain → SQL mirror."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from indexer.errors import IndexerError

USER_ERRORS = (IndexerError,)

db_app = typer.Typer(help="The SQL mirror's schema.", no_args_is_help=True)


class _KeyValueFormatter(logging.Formatter):
    """Structured logs: the message, then every extra field as key=value (or one JSON object)."""

    _standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in record.__dict__.items() if k not in self._standard}
        if self.as_json:
            payload = {
                "time": self.formatTime(record),
                "level": record.levelname,
                "event": record.getMessage(),
                **extra,
            }
            return orjson.dumps(payload, default=str).decode()
        fields = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"{self.formatTime(record)} {record.levelname.lower()} {record.getMessage()} {fields}".rstrip()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (it may be replaced, e.g. under test capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _configure_logging(as_json: bool) -> None:
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(_KeyValueFormatter(as_json))
    root = logging.getLogger("govledger")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def index_command(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the chain until SIGINT/SIGTERM.")] = False,
    rpc_url: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL (GOVLEDGER_RPC_URL).")] = None,
    database_url: Annotated[
        str | None, typer.Option("--db", help="Mirror database URL (GOVLEDGER_DATABASE_URL).")
    ] = None,
    deployment_path: Annotated[
        Path | None, typer.Option("--deployment", help="Deployment file (GOVLEDGER_DEPLOYMENT).")
    ] = None,
    confirmations: Annotated[
        int | None,
        typer.Option("--confirmations", min=0, help="Stay this many blocks behind the head (GOVLEDGER_CONFIRMATIONS)."),
    ] = None,
    reorg_window: Annotated[
        int | None,
        typer.Option(
            "--reorg-window", min=1, help="Deepest reorg rolled back automatically (GOVLEDGER_REORG_WINDOW, 64)."
        ),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.05, help="Seconds between head polls.")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result (and logs) as JSON.")] = False,
) -> None:
    """Mirror the chain's events into SQL: once up to head − confirmations, or keep following.

    Applies the schema migrations first. Stops with a clear message on a reorg deeper than the
    window or on a log it cannot decode; the mirror is never left half-written.
    """
    from indexer.sync import follow as follow_chain
    from indexer.sync import index_once
    from ledger.deployment import load_deployment
    from ledger.settings import get_settings

    settings = get_settings().with_overrides(
        rpc_url=rpc_url, database_url=database_url, deployment=deployment_path, confirmations=confirmations
    )
    deployment = load_deployment(settings.deployment)
    from indexer.sync import reorg_window as configured_window

    window = configured_window(reorg_window)
    _configure_logging(as_json)
    progress = None if as_json or follow or not sys.stderr.isatty() else _ProgressBar()
    kwargs: dict[str, Any] = {
        "confirmations": settings.confirmations,
        "reorg_window": window,
        "progress": progress,
    }
    try:
        if follow:
            result = follow_chain(
                settings.rpc_url, settings.database_url, deployment, poll_interval=poll_interval, **kwargs
            )
        else:
            result = index_once(settings.rpc_url, settings.database_url, deployment, **kwargs)
    finally:
        if progress is not None:
            progress.close()
    rate = result.events / result.seconds if result.seconds > 0 else 0.0
    summary = {
        "block_number": result.block_number,
        "block_hash": result.block_hash,
        "ledger_seq": result.ledger_seq,
        "events": result.events,
        "batches": result.batches,
        "rollbacks": result.rollbacks,
        "seconds": round(result.seconds, 3),
        "events_per_second": round(rate, 1),
    }
    if as_json:
        typer.echo(orjson.dumps(summary).decode())
    else:
        typer.echo(
            f"mirrored up to block {result.block_number} (ledger entry {result.ledger_seq}); "
            f"{result.events} new entries in {result.seconds:.1f}s ({rate:,.0f}/s)"
        )


class _ProgressBar:
    """A rich progress bar with the indexing rate, shown on a terminal during backfill."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("indexing"),
            BarColumn(),
            TextColumn("block {task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[events]:,} entries {task.fields[rate]:,.0f}/s"),
            TimeRemainingColumn(),
            transient=True,
        )
        self.task: Any = None
        self.started = 0.0

    def __call__(self, result: Any, target: int) -> None:
        import time

        if self.task is None:
            self.started = time.perf_counter()
            self.progress.start()
            self.task = self.progress.add_task("index", total=target, events=0, rate=0.0)
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        self.progress.update(
            self.task, completed=result.block_number, total=target, events=result.events, rate=result.events / elapsed
        )

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def upgrade_command(
    database_url: Annotated[
        str | None, typer.Option("--db", help="Mirror database URL (GOVLEDGER_DATABASE_URL).")
    ] = None,
) -> None:
    """Create or upgrade the mirror database's schema (Alembic); safe to run repeatedly."""
    from indexer.db import upgrade
    from ledger.settings import get_settings

    url = get_settings().with_overrides(database_url=database_url).database_url
    upgrade(url)
    typer.echo("mirror schema is up to date")


def register(app: typer.Typer) -> None:
    app.command("index")(index_command)
    db_app.command("upgrade")(upgrade_command)
    app.add_typer(db_app, name="db")

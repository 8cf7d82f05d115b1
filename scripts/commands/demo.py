"""`govledger demo`: the whole system on the embedded default (anvil + SQLite).

Starts (or reuses) the local chain with persistent state, deploys when there is no live
deployment, seeds real FY2565 budget lines and realistic activity only when the chain is
empty, indexes, keeps following the chain, and serves the API and dashboard. Ctrl-C stops
everything; running it again resumes with the same data.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from ledger import node
from ledger.settings import get_settings

# Genesis of a fresh demo chain: 1 Oct 2021 00:00 Bangkok, the first day of fiscal year 2565,
# so that the seeded FY2565 disbursements carry dates inside their fiscal year.
DEFAULT_STATE = Path("var/chain-state.json")
FY2565_START = int(datetime(2021, 9, 30, 17, 0, tzinfo=UTC).timestamp())


def _say(message: str) -> None:
    typer.echo(f"[demo] {message}", err=True)


def _is_loopback(url: str) -> bool:
    return url.startswith(("http://127.0.0.1:", "http://localhost:"))


def _start_chain(rpc_url: str, state: Path) -> tuple[Any, bool]:
    """Reuse a node that answers at ``rpc_url``, or start anvil there; (process or None, fresh)."""
    if node.rpc_ready(rpc_url):
        _say(f"using the chain already running at {rpc_url}")
        return None, False
    if not _is_loopback(rpc_url):
        raise typer.BadParameter(f"no node answers at {rpc_url}; the demo only starts a local one")
    port = int(rpc_url.rsplit(":", 1)[1].split("/", 1)[0])
    fresh = not state.exists()
    state.parent.mkdir(parents=True, exist_ok=True)
    extra = ["--timestamp", str(FY2565_START)] if fresh else []
    process, _ = node.start_anvil(port, state, extra=extra)
    _say(f"started anvil on {rpc_url} (state in {state}{', new chain' if fresh else ''})")
    return process, fresh


def demo(
    port: int = typer.Option(8000, help="Port of the API and dashboard."),
    host: str = typer.Option("127.0.0.1", help="Address to serve on (loopback by default)."),
    state: Path = typer.Option(DEFAULT_STATE, help="anvil's state file: the chain survives restarts."),
    seed_only: bool = typer.Option(False, "--seed-only", help="Set up, seed and index, then exit without serving."),
) -> None:
    """Run everything on a local chain: anvil, deploy, seed FY2565 data, index, serve.

    Uses GOVLEDGER_RPC_URL (default http://127.0.0.1:8545; a node already answering there is
    reused), GOVLEDGER_DATABASE_URL (default sqlite:///var/govledger.db) and
    GOVLEDGER_DEPLOYMENT (default var/deployment.json). Nothing here needs PostgreSQL.

    Example:  govledger demo            then open http://127.0.0.1:8000/
    """
    from indexer import sync
    from ledger.client import LedgerClient
    from ledger.deploy import deploy_and_save, live_deployment
    from ledger.keys import DEV_PRIVATE_KEY
    from ledger.seed import Seeder

    settings = get_settings()
    process, fresh_chain = _start_chain(settings.rpc_url, state)
    try:
        from eth_account import Account

        admin = LedgerClient(LedgerClient.node(settings.rpc_url), None, Account.from_key(DEV_PRIVATE_KEY))
        if admin.chain_id != 31337:
            raise typer.BadParameter(f"the demo runs on a local development chain (31337), not chain {admin.chain_id}")
        deployment = live_deployment(settings.deployment, admin)
        if deployment is None:
            deployment = deploy_and_save(admin, settings.deployment, force=True)
            _say(f"deployed GovLedger at {deployment.address} (deployment file {settings.deployment})")
        else:
            _say(f"using the deployment at {deployment.address}")
        admin = LedgerClient(admin.transport, deployment.address, admin.account, deploy_block=deployment.deploy_block)

        marker = settings.deployment.with_name("demo-seed.json")
        seq, _ = admin.ledger_head()
        seeded = marker.exists() and json.loads(marker.read_text()).get("address") == deployment.address
        if not seeded and seq <= 2:  # only the two default service definitions: an empty chain
            started = time.perf_counter()
            summary = Seeder(admin, settings.rpc_url, time_travel=fresh_chain, progress=_say).run()
            receipts = summary.receipts
            marker.write_text(
                json.dumps(
                    {
                        "address": deployment.address,
                        "agencies": summary.agencies,
                        "projects": summary.projects,
                        "allocated_satang": summary.allocated,
                        "disbursements": summary.disbursements,
                        "disbursed_satang": summary.disbursed,
                        "reversals": summary.reversals,
                        "reversed_satang": summary.reversed,
                        "requests": summary.requests,
                        "transitions": summary.transitions,
                        "sample_receipts": receipts[:5],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
            _say(
                f"seeded {summary.agencies} agencies, {summary.projects} projects, {summary.disbursements} "
                f"disbursements, {summary.reversals} reversals, {summary.requests} requests "
                f"in {time.perf_counter() - started:.0f}s"
            )
        elif not seeded:
            _say("the chain already has entries that the demo did not write; not seeding")
        else:
            _say("the chain is already seeded; resuming")

        started = time.perf_counter()
        result = sync.index_once(settings.rpc_url, settings.database_url, deployment)
        _say(
            f"indexed {result.events} events up to block {result.block_number} into {settings.database_url} "
            f"in {time.perf_counter() - started:.1f}s"
        )
        if seed_only:
            return
        _serve(settings, deployment, host, port, marker)
    finally:
        if process is not None:
            node.stop(process)
            _say("stopped anvil (state saved)")


def _serve(settings: Any, deployment: Any, host: str, port: int, marker: Path) -> None:
    import uvicorn

    from api.app import create_app
    from indexer import sync

    stop = threading.Event()
    failure: list[BaseException] = []

    def follow() -> None:
        try:
            sync.follow(settings.rpc_url, settings.database_url, deployment, stop=stop)
        except BaseException as exc:  # reported below; the API keeps serving what is mirrored
            failure.append(exc)
            _say(f"indexer stopped: {exc}")

    follower = threading.Thread(target=follow, name="indexer", daemon=True)
    follower.start()
    base = f"http://{host}:{port}"
    if marker.exists():
        sample = json.loads(marker.read_text()).get("sample_receipts") or []
        if sample:
            _say(f"track a sample request at {base}/track?code={sample[0]['tracking_code']}")
    _say(f"dashboard  {base}/")
    _say(f"API        {base}/v1/summary?fiscal_year=2565   (docs at {base}/docs)")
    _say("Ctrl-C stops everything; run `govledger demo` again to resume with the same data")
    server = uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port, log_level="warning"))
    try:
        server.run()
    finally:
        stop.set()
        follower.join(timeout=10)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

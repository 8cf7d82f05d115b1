"""OCDS export benchmark: one project of 100,000 disbursements, its release exported by 1 and by 4
concurrent clients from one uvicorn worker.

The mirror is written like bench/api.py writes its own (synthetic events through the indexer's
handlers and bulk writer, no chain). For each concurrency a fresh server is started, so the
kernel's peak-RSS mark (VmHWM) belongs to that run alone:

    rss_growth_mb_per_export   (peak RSS during the exports - RSS before) / concurrency
    healthz_max_ms             the slowest /healthz answer while the exports ran (polled every
                               20 ms): how long the worker's event loop was blocked at worst
                               (an upper bound: the client shares the machine); healthz_p50_ms
                               the median
    export_seconds             until the last client had its whole body
    body_mb, body_sha256       the body each client got (all equal, checked; the hash is taken with
                               the server's address replaced, so it is equal across builds)

The goal (issue 12): at most 50 MB growth per concurrent export, whatever the project's size, and
no stall a person would notice (< 100 ms). Baseline: the same figures from an older build, run with
``--at REV`` (a git worktree of that revision is served over the same mirror).

    python bench/ocds.py [--rows 100000] [--concurrency 1 4] [--at main] [--rebuild]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PROJECT = "BIG-2570-001"
BASE_TIME = 1_790_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_mirror(path: Path, rows: int) -> None:
    """One agency, one project, ``rows`` disbursements (every 100th reversed), in blocks of 100."""
    sys.path.insert(0, str(ROOT))
    from indexer import decode as ev
    from indexer.db import open_store, upgrade
    from indexer.handlers import BatchWriter, apply_events

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    store = open_store(url)
    contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    state = {"seq": 0, "block": 1}

    def where() -> dict[str, object]:
        state["seq"] += 1
        digest = f"{state['seq']:064x}"
        return {
            "seq": state["seq"],
            "head": "0x" + digest[::-1],
            "address": contract,
            "block_number": state["block"],
            "block_hash": f"0x{state['block']:064x}",
            "tx_hash": "0x" + digest,
            "tx_index": 0,
            "log_index": state["seq"] % 100,
        }

    def commit(events: list[ev.LedgerEvent]) -> None:
        block = state["block"]
        writer = BatchWriter(store, 31337, contract)
        times = {e.block_number: BASE_TIME + e.block_number * 12 for e in events}
        store.begin()
        apply_events(writer, events, [e.fields_json() for e in events], times)
        writer.flush(BASE_TIME + block * 12)
        store.execute("DELETE FROM checkpoint")
        store.execute(
            "INSERT INTO checkpoint (id, chain_id, contract, block_number, block_hash) VALUES (1, ?, ?, ?, ?)",
            (31337, contract, block, f"0x{block:064x}"),
        )
        store.execute(
            "INSERT OR REPLACE INTO blocks (number, hash, parent_hash, timestamp, log_count) VALUES (?, ?, ?, ?, ?)",
            (block, f"0x{block:064x}", f"0x{block - 1:064x}", BASE_TIME + block * 12, len(events)),
        )
        store.commit()

    commit(
        [
            ev.AgencyRegistered(**where(), agency="AG-BIG", name="หน่วยงานใหญ่", name_en="Big agency"),
            ev.ProjectRegistered(
                **where(), project=PROJECT, agency="AG-BIG", fiscal_year=2570, allocation=10**15, name="โครงการใหญ่"
            ),
        ]
    )
    batch: list[ev.LedgerEvent] = []
    for i in range(rows):
        if i % 100 == 0:
            state["block"] += 1
        paid = ev.DisbursementRecorded(
            **where(),
            project=PROJECT,
            agency="AG-BIG",
            voucher=f"V-{i:08d}",
            amount=100_00 + (i * 7919) % 10_000_000,
            payee=f"PAYEE-{i % 5000:05d}",
            document_hash=None,
            request=None,
        )
        batch.append(paid)
        if i % 100 == 99:
            batch.append(
                ev.DisbursementReversed(
                    **where(),
                    project=PROJECT,
                    agency="AG-BIG",
                    original_seq=paid.seq,
                    voucher=paid.voucher,
                    amount=paid.amount,
                    reason="duplicate voucher",
                )
            )
        if len(batch) >= 20_000:
            commit(batch)
            batch = []
    if batch:
        commit(batch)
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def measure(source: Path, mirror: Path, concurrency: int) -> dict[str, object]:
    port = free_port()
    env = {
        **os.environ,
        "GOVLEDGER_DATABASE_URL": f"sqlite:///{mirror}",
        "GOVLEDGER_API_RATE_LIMIT": "0",
        "GOVLEDGER_API_CURSOR_SECRET": "bench",
        "PYTHONPATH": str(source),
    }
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, cwd=source, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.1)
            # Warm: everything imported, the mirror open, once through a small export.
            client.get("/v1/export/ocds", params={"agency": "NOBODY"})
            time.sleep(0.5)
            before, _ = memory_mb(server.pid)
            bodies: list[bytes] = []
            done = threading.Event()
            stalls: list[float] = []

            def export() -> None:
                with httpx.Client(base_url=base, timeout=600) as own:
                    bodies.append(own.get("/v1/export/ocds", params={"project": PROJECT}).content)

            def ticker() -> None:
                with httpx.Client(base_url=base, timeout=600) as own:
                    while not done.is_set():
                        started = time.perf_counter()
                        own.get("/healthz")
                        stalls.append(time.perf_counter() - started)
                        time.sleep(0.02)

            watcher = threading.Thread(target=ticker)
            watcher.start()
            started = time.perf_counter()
            workers = [threading.Thread(target=export) for _ in range(concurrency)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            done.set()
            watcher.join()
            _, peak = memory_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    # The body names the server's address (a new port each run): hashed without it, so that builds compare.
    digests = {hashlib.sha256(body.replace(base.encode(), b"BASE")).hexdigest() for body in bodies}
    if len(digests) != 1 or len(bodies) != concurrency:
        raise RuntimeError("the concurrent exports got different bodies")
    return {
        "concurrency": concurrency,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb_per_export": round((peak - before) / concurrency, 1),
        "healthz_max_ms": round(max(stalls) * 1000, 1),
        "healthz_p50_ms": round(sorted(stalls)[len(stalls) // 2] * 1000, 1),
        "healthz_polls": len(stalls),
        "export_seconds": round(elapsed, 2),
        "body_mb": round(len(bodies[0]) / 1e6, 1),
        "body_sha256": digests.pop()[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--at", help="also measure this git revision (the baseline), before the working tree")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    mirror = OUT / f"ocds-{args.rows}.db"
    if args.rebuild or not mirror.exists():
        log(f"building a mirror of one project with {args.rows:,} disbursements")
        build_mirror(mirror, args.rows)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        builds = [("working tree", ROOT)]
        if args.at:
            worktree = Path(scratch) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.at], cwd=ROOT, check=True)
            builds.insert(0, (args.at, worktree))
        try:
            for name, source in builds:
                for concurrency in args.concurrency:
                    figures = measure(source, mirror, concurrency)
                    print(json.dumps({"bench": "ocds", "build": name, "rows": args.rows, **figures, "load": load}))
                    sys.stdout.flush()
        finally:
            if args.at:
                subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()

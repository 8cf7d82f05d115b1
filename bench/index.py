"""Indexing benchmark: events from a fresh anvil → SQLite and PostgreSQL mirrors, beside the naive
web3.py pipeline (``w3.eth.get_logs`` + ``contract.events.X().process_log`` + SQLModel ORM inserts)
measured in the same run. Prints one JSON object per line.

    python bench/index.py                         # 100k events, naive on a 10k sample, 1M for peak RSS
    python bench/index.py --events 20000 --rss-events 0

Each indexer run is a separate process (``python bench/index.py --child ...``) so that its peak
RSS is its own (``wait4`` rusage). Rates include everything the indexer does: fetching, decoding,
projections (projects, disbursements, ...), blocks and the checkpoint in one transaction per batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 500  # disbursements per disburseBatch transaction (~15M gas)
# Transactions queued before waiting for them to be mined: a queue of the whole million held
# ~24 GB in anvil's memory and got it killed.
IN_FLIGHT = 20
DISBURSEMENT_ARRAY = "(bytes32,bytes32,uint256,bytes32,bytes32,bytes32)[]"
POSTGRES = os.environ.get("GOVLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def emit(**row: Any) -> None:
    print(json.dumps(row), flush=True)


# -- chain ---------------------------------------------------------------------------------


def start_chain(extra: list[str] | None = None) -> tuple[Any, str, Any, Any, Any]:
    from web3 import Web3

    from ledger import node
    from tests.indexer.chain import deploy

    # --prune-history: no state snapshot per block (getLogs needs none); with them, anvil's memory
    # grows by tens of MB a block of 500-disbursement transactions.
    process, url = node.start_anvil(extra=["--gas-limit", "100000000", "--prune-history", *(extra or [])])
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 120}))
    contract, deployment = deploy(w3)
    return process, url, w3, contract, deployment


def generate(w3: Any, contract: Any, events: int, state: dict[str, Any], budget: float | None = None) -> float:
    """Add about `events` disbursements (batches of 500 across 20 projects of 4 agencies).

    Stops early when `budget` seconds have passed: anvil slows down as its state grows (each
    disbursement adds a storage slot), so 1M events can take over an hour on a busy machine.
    """
    import random

    import httpx
    import orjson
    from eth_abi import encode as abi_encode
    from eth_utils import function_signature_to_4byte_selector

    from ledger.types import encode_code

    selector = "0x" + function_signature_to_4byte_selector(f"disburseBatch({DISBURSEMENT_ARRAY})").hex()
    admin = w3.eth.accounts[0]
    if not state:
        agencies = [f"BENCH-{i}" for i in range(4)]
        recorders = w3.eth.accounts[1:5]
        for code, recorder in zip(agencies, recorders, strict=True):
            w3.eth.wait_for_transaction_receipt(
                contract.functions.registerAgency(encode_code(code), f"หน่วยงาน {code}", code).transact({"from": admin})
            )
            w3.eth.wait_for_transaction_receipt(
                contract.functions.addRecorder(encode_code(code), recorder).transact({"from": admin})
            )
        projects = [(f"PRJ-{i}", agencies[i % 4]) for i in range(20)]
        inputs = [(encode_code(p), encode_code(a), 2568, 10**16, f"โครงการ {p}") for p, a in projects]
        w3.eth.wait_for_transaction_receipt(contract.functions.registerProjects(inputs).transact({"from": admin}))
        state.update(projects=projects, recorders=dict(zip(agencies, recorders, strict=True)), voucher=0)
    rng = random.Random(7)
    started = time.perf_counter()
    client = httpx.Client(timeout=300)
    sent = 0
    last_tx = None
    while sent < events and (budget is None or time.perf_counter() - started < budget):
        project, agency = state["projects"][(state["voucher"] // BATCH) % len(state["projects"])]
        items = []
        for _ in range(BATCH):
            state["voucher"] += 1
            items.append(
                (
                    encode_code(project),
                    encode_code(f"V{state['voucher']}"),
                    rng.randint(100, 5_000_000),
                    encode_code(f"PAYEE-{rng.randint(1, 5000)}"),
                    rng.randbytes(32),
                    b"\0" * 32,
                )
            )
        data = selector + abi_encode([DISBURSEMENT_ARRAY], [items]).hex()
        tx = {"from": state["recorders"][agency], "to": contract.address, "data": data, "gas": hex(25_000_000)}
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
        answer = orjson.loads(client.post(w3.provider.endpoint_uri, json=body).content)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        sent += BATCH
        last_tx = answer["result"]
        if sent % (BATCH * IN_FLIGHT) == 0:
            wait_mined(client, w3.provider.endpoint_uri, last_tx)
    # anvil mines asynchronously: count only what is on chain.
    wait_mined(client, w3.provider.endpoint_uri, last_tx)
    client.close()
    return time.perf_counter() - started


def wait_mined(client: Any, url: str, tx: str | None) -> None:
    """Poll for ``tx``'s receipt on our own connection, with retries: a pooled keep-alive
    connection left idle while anvil mines a long queue gets reset."""
    import httpx
    import orjson

    deadline = time.monotonic() + 3600
    while tx is not None:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [tx]}
        try:
            if orjson.loads(client.post(url, json=body).content).get("result"):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"transaction {tx} not mined within an hour")
        time.sleep(0.2)


# -- indexer runs (child processes) -----------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from indexer.sync import index_once
    from ledger.deployment import load_deployment

    result = index_once(args.rpc, args.db, load_deployment(Path(args.deployment)))
    print(json.dumps({"events": result.events, "seconds": result.seconds, "block": result.block_number}))


def run_indexer(url: str, db: str, deployment_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", "--rpc", url, "--db", db, "--deployment", str(deployment_path)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    if status != 0:
        raise RuntimeError(f"indexer child failed with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda run: run["events"] / run["seconds"])[len(runs) // 2]


def run_figures(run: dict[str, Any]) -> dict[str, Any]:
    """What every indexer run reports (``run_indexer``'s result), rounded."""
    return {
        "events": run["events"],
        "seconds": round(run["seconds"], 2),
        "wall_seconds_with_startup": round(run["wall_seconds"], 2),
        "events_per_second": round(run["events"] / run["seconds"]),
        "cpu_seconds": round(run["cpu_seconds"], 2),
        "events_per_cpu_second": round(run["events"] / run["cpu_seconds"]),
        "peak_rss_mb": round(run["peak_rss_mb"]),
        "load_average": round(os.getloadavg()[0], 1),
    }


def rates(runs: list[dict[str, Any]]) -> list[int]:
    return [round(run["events"] / run["seconds"]) for run in runs]


def pg_schema() -> tuple[str, str]:
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{POSTGRES}?options=-csearch_path%3D{name}"


def drop_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


# -- naive baseline ------------------------------------------------------------------------------


def naive(w3: Any, contract: Any, deployment: Any, db_url: str, sample: int) -> dict[str, Any]:
    """The idiomatic web3.py + SQLModel pipeline over the first `sample` events."""
    from sqlmodel import Session, create_engine

    from indexer.db import upgrade
    from indexer.tables import Disbursement, Event, Project
    from ledger.types import decode_code

    upgrade(db_url)
    engine = create_engine(db_url)
    events_by_topic = {}
    for item in contract.abi:
        if item["type"] == "event":
            event = getattr(contract.events, item["name"])()
            from eth_utils import event_abi_to_log_topic

            events_by_topic[event_abi_to_log_topic(item)] = event
    done = 0
    times: dict[int, int] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()
    block = deployment.deploy_block
    head = w3.eth.block_number
    with Session(engine) as session:
        while done < sample and block <= head:
            logs = w3.eth.get_logs({"address": contract.address, "fromBlock": block, "toBlock": block})
            for entry in logs:
                event = events_by_topic.get(bytes(entry["topics"][0]))
                if event is None:
                    continue
                decoded = event.process_log(entry)
                args = decoded["args"]
                if "seq" not in args:
                    continue
                block_time = times.get(entry["blockNumber"])
                if block_time is None:  # one header per block, not per log: a fair baseline
                    block_time = times[entry["blockNumber"]] = w3.eth.get_block(entry["blockNumber"])["timestamp"]
                session.add(
                    Event(
                        seq=args["seq"],
                        event=decoded["event"],
                        chain_id=deployment.chain_id,
                        contract=entry["address"].lower(),
                        block_number=entry["blockNumber"],
                        block_hash="0x" + bytes(entry["blockHash"]).hex(),
                        tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                        tx_index=entry["transactionIndex"],
                        log_index=entry["logIndex"],
                        head="0x" + bytes(args["head"]).hex(),
                        fields=json.dumps(dict(args), default=lambda v: v.hex() if isinstance(v, bytes) else str(v)),
                    )
                )
                if decoded["event"] == "DisbursementRecorded":
                    code = decode_code(args["projectCode"])
                    project = session.get(Project, code)
                    if project is not None:
                        project.disbursed += args["amount"]
                        project.disbursement_count += 1
                        session.add(project)
                    session.add(
                        Disbursement(
                            seq=args["seq"],
                            project_code=code,
                            agency_code=decode_code(args["agencyCode"]),
                            fiscal_year=project.fiscal_year if project else 0,
                            voucher=decode_code(args["voucher"]),
                            amount=args["amount"],
                            payee=decode_code(args["payee"]),
                            head="0x" + bytes(args["head"]).hex(),
                            block_number=entry["blockNumber"],
                            block_hash="0x" + bytes(entry["blockHash"]).hex(),
                            block_time=block_time,
                            tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                            log_index=entry["logIndex"],
                        )
                    )
                elif decoded["event"] == "ProjectRegistered":
                    session.add(
                        Project(
                            code=decode_code(args["projectCode"]),
                            agency_code=decode_code(args["agencyCode"]),
                            fiscal_year=args["fiscalYear"],
                            name=args["name"],
                            initial_allocation=args["allocation"],
                            allocation=args["allocation"],
                            disbursed=0,
                            reversed=0,
                            net=0,
                            remaining=args["allocation"],
                            seq=args["seq"],
                            block_number=entry["blockNumber"],
                            block_time=block_time,
                            last_activity_seq=args["seq"],
                            last_activity_block=entry["blockNumber"],
                            last_activity_time=block_time,
                        )
                    )
                    session.flush()
                done += 1
            session.commit()
            block += 1
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    engine.dispose()
    return {"events": done, "seconds": seconds, "events_per_second": done / seconds, "cpu_seconds": cpu}


# -- follow latency -------------------------------------------------------------------------------


def follow_latency(url: str, w3: Any, contract: Any, deployment: Any, deployment_path: Path, db_url: str) -> dict:
    """Seconds from a confirmed disbursement to the API answering it, with `govledger index --follow` running."""
    import signal

    import httpx

    from ledger.types import encode_code

    env = dict(
        os.environ, GOVLEDGER_RPC_URL=url, GOVLEDGER_DATABASE_URL=db_url, GOVLEDGER_DEPLOYMENT=str(deployment_path)
    )
    indexer = subprocess.Popen(
        [sys.executable, "-m", "scripts.govledger", "index", "--follow", "--poll-interval", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from fastapi.testclient import TestClient

        from api.app import create_app
        from api.settings import ApiSettings

        api = TestClient(create_app(ApiSettings(database_url=db_url, deployment=deployment_path, rate_limit=0)))
        through = "api"
    except Exception as exc:  # the API is another engineer's; fall back to the table it reads
        api, through = None, f"database (API unavailable: {type(exc).__name__})"
    latencies = []
    try:
        time.sleep(3)
        for i in range(5):
            tx = contract.functions.disburse(
                (encode_code("PRJ-0"), encode_code(f"FOLLOW-{i}"), 100, encode_code("P"), b"\0" * 32, b"\0" * 32)
            ).transact({"from": w3.eth.accounts[1]})
            w3.eth.wait_for_transaction_receipt(tx)
            seq = contract.functions.ledgerHead().call()[0]
            sent = time.perf_counter()
            while time.perf_counter() - sent < 30:
                if api is not None:
                    if api.get(f"/v1/disbursements/{seq}").status_code == 200:
                        break
                else:
                    from sqlalchemy import create_engine, text

                    engine = create_engine(db_url)
                    with engine.connect() as conn:
                        found = conn.execute(text("SELECT 1 FROM disbursements WHERE seq = :s"), {"s": seq}).first()
                    engine.dispose()
                    if found:
                        break
                time.sleep(0.05)
            latencies.append(time.perf_counter() - sent)
    finally:
        indexer.send_signal(signal.SIGTERM)
        indexer.wait(30)
        del httpx
    return {"through": through, "max_seconds": max(latencies), "median_seconds": sorted(latencies)[2]}


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3, help="indexer runs per backend; the median is reported")
    parser.add_argument("--rss-events", type=int, default=1_000_000)
    parser.add_argument("--rss-budget", type=float, default=900.0, help="seconds allowed to generate the RSS chain")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--rpc")
    parser.add_argument("--db")
    parser.add_argument("--deployment")
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    from ledger import node
    from ledger.deployment import save_deployment

    work = Path(tempfile.mkdtemp(prefix="govledger-bench-"))
    process, url, w3, contract, deployment = start_chain()
    deployment_path = work / "deployment.json"
    save_deployment(deployment, deployment_path)
    state: dict[str, Any] = {}
    try:
        emit(bench="index", step="machine", cores=os.cpu_count(), load_average=round(os.getloadavg()[0], 1))
        gen = generate(w3, contract, args.events, state)
        total = contract.functions.ledgerHead().call()[0]
        emit(bench="index", step="generate", events=total, seconds=round(gen, 1), blocks=w3.eth.block_number)

        # Each backend indexes the whole chain into a fresh mirror `--repeat` times, alternating,
        # and the median run is reported (with every rate): on a shared machine single runs vary
        # by a third. Rates are over the indexing itself (fetch, decode, projections, commits,
        # index builds); the wall time with process start and schema migration is printed beside.
        from indexer.digest import mirror_digest

        sqlite_runs, pg_runs = [], []
        for attempt in range(args.repeat):
            sqlite_db = work / f"mirror-{attempt}.db"
            sqlite_runs.append(run_indexer(url, f"sqlite:///{sqlite_db}", deployment_path))
            if attempt:
                sqlite_db.unlink()  # keep the first for the digest and the follow check
            schema, pg_url = pg_schema()
            try:
                pg_runs.append(run_indexer(url, pg_url, deployment_path))
                if attempt == 0:
                    pg_digest = mirror_digest(pg_url)
            finally:
                drop_schema(schema)
        naive_result = naive(w3, contract, deployment, f"sqlite:///{work / 'naive.db'}", args.naive_sample)
        naive_rate = naive_result["events_per_second"]
        naive_per_cpu = round(naive_result["events"] / naive_result["cpu_seconds"])
        for backend, runs, goal in (("sqlite", sqlite_runs, 20_000), ("postgresql", pg_runs, 25_000)):
            run = median_run(runs)
            emit(
                bench="index",
                backend=backend,
                **run_figures(run),
                runs_events_per_second=rates(runs),
                goal=goal,
                naive_events_per_second=round(naive_rate),
                naive_sample=naive_result["events"],
                naive_events_per_cpu_second=naive_per_cpu,
                speedup_vs_naive=round(run["events"] / run["seconds"] / naive_rate, 1),
                goal_speedup=10,
            )
        sqlite_digest = mirror_digest(f"sqlite:///{work / 'mirror-0.db'}")
        emit(
            bench="index", step="digests", sqlite=sqlite_digest, postgresql=pg_digest, equal=pg_digest == sqlite_digest
        )

        latency = follow_latency(url, w3, contract, deployment, deployment_path, f"sqlite:///{work / 'mirror-0.db'}")
        emit(bench="index", step="follow", goal_seconds=10, **latency)

        if args.rss_events > total:
            gen = generate(
                w3, contract, args.rss_events - contract.functions.ledgerHead().call()[0], state, args.rss_budget
            )
            total = contract.functions.ledgerHead().call()[0]
            emit(
                bench="index",
                step="generate",
                events=total,
                seconds=round(gen, 1),
                events_goal=args.rss_events,
                stopped_by_time_budget=total < args.rss_events,
            )
            schema, pg_url = pg_schema()
            try:
                for backend, db_url in (("sqlite", f"sqlite:///{work / 'big.db'}"), ("postgresql", pg_url)):
                    big = run_indexer(url, db_url, deployment_path)
                    emit(bench="index", backend=backend, **run_figures(big), goal_peak_rss_mb=300)
            finally:
                drop_schema(schema)
    finally:
        node.stop(process)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

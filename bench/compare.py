"""Two git refs' benchmark figures side by side, measured in alternation in one run.

    python bench/compare.py main HEAD
    python bench/compare.py main issue-13 --events 20000 --rows 4000 --disbursements 100000 --rounds 5

Each ref is checked out into its own temporary worktree (``git worktree add --detach``) and
measured with its own code and its own benchmark scripts: every measurement is a subprocess with
the worktree as its working directory and first on PYTHONPATH, so the editable install of the
project venv (which points at one checkout) is shadowed; the files each ref imports are printed
first and checked. This script imports no product module, so the refs may move packages.

Per round, each benchmark runs for both refs, in the order before, after, then after, before
in the next round, and so on:

    index   events/s of ``bench/index.py --child`` (the indexer over the whole chain, one
            process per run) into a fresh SQLite file and a fresh PostgreSQL schema. One anvil
            chain of ``--events`` disbursements serves both refs (it is generated with the
            before ref's bench/index.py; the contract is the same on both sides).
    api     req/s from bench/api.py's own server and ``wrk`` runs on a ``--disbursements``
            SQLite mirror (built once per ref by bench/api.py's ``build_mirror``): detail and
            first-page list, with the answer cache on (as served) and off (every request to SQL).
    record  rows/s of ``bench/record.py --rows N`` (CSV to confirmed on a fresh anvil, batched).

Prints one JSON object per line: ``imports`` per ref, ``chain``, ``mirror`` per ref, one
``measure`` line per figure and run, then a ``summary`` line: per figure, every run's value per
ref, the medians, ``ratio`` = median after / median before (above 1 is faster), and the ratio of
each round's pair. Needs ``wrk`` (apt-get install -y wrk), anvil (node_modules of this checkout)
and PostgreSQL (GOVLEDGER_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("GOVLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

# The snippets below run inside a ref's worktree (cwd and PYTHONPATH), importing that ref's
# bench scripts and product code; arguments come through sys.argv.
IMPORTS = """
import importlib, json
found = {}
for name in ("ledger", "indexer", "api", "scripts", "audit"):
    try:
        found[name] = importlib.import_module(name).__file__
    except ModuleNotFoundError as exc:
        found[name] = None if exc.name == name else f"error: {exc!r}"
    except Exception as exc:
        found[name] = f"error: {exc!r}"
print(json.dumps(found))
"""

# Holds the chain: prints its URL once the disbursements are mined, then keeps anvil running
# until its stdin is closed.
CHAIN = """
import json, sys
sys.path.insert(0, "bench")
import index
from ledger import node
from ledger.deployment import save_deployment

process, url, w3, contract, deployment = index.start_chain()
try:
    save_deployment(deployment, sys.argv[2])
    seconds = index.generate(w3, contract, int(sys.argv[1]), {})
    head = contract.functions.ledgerHead().call()[0]
    blocks = w3.eth.block_number
    print(json.dumps({"url": url, "events": head, "blocks": blocks, "seconds": round(seconds, 1)}), flush=True)
    sys.stdin.read()
finally:
    node.stop(process)
"""

MIRROR = """
import json, sys
sys.path.insert(0, "bench")
import api
api.OUT.mkdir(parents=True, exist_ok=True)
mirror = api.OUT / f"api-mirror-{sys.argv[1]}.db"
print(json.dumps({"path": str(mirror), **api.build_mirror(mirror, int(sys.argv[1]))}))
"""

# One server per cache mode, bench/api.py's serve/load/lua_script, detail then first-page list.
API = """
import json, os, sys
sys.path.insert(0, "bench")
import api
rows, duration = int(sys.argv[1]), int(sys.argv[2])
mirror = api.OUT / f"api-mirror-{rows}.db"
with open(mirror, "rb") as handle:
    while handle.read(1 << 24):
        pass
env = {**os.environ, "GOVLEDGER_DATABASE_URL": f"sqlite:///{mirror}", "GOVLEDGER_API_RATE_LIMIT": "0"}
first = api.AGENCIES + api.PROJECTS + 1
detail = api.lua_script(api.OUT / "detail.lua", "/v1/disbursements/%d", first, first + rows - 1)
out = {}
for cache, settings in (("on", {}), ("off", {"GOVLEDGER_API_CACHE_ENTRIES": "0"})):
    port = api.free_port()
    server = api.serve("api.app:create_app", port, {**env, **settings})
    try:
        base = f"http://127.0.0.1:{port}"
        out[f"detail_cache_{cache}"] = api.load(base + "/v1/disbursements/1", duration, detail)
        out[f"list_cache_{cache}"] = api.load(base + "/v1/disbursements?limit=50", duration)
    finally:
        api.stop(server)
print(json.dumps(out))
"""


def emit(**row: Any) -> None:
    print(json.dumps(row, ensure_ascii=False), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class MeasureError(RuntimeError):
    pass


@dataclass
class Ref:
    role: str  # before | after
    name: str
    commit: str
    tree: Path

    def env(self) -> dict[str, str]:
        path = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": str(self.tree) + (os.pathsep + path if path else "")}

    def run(self, args: list[str], timeout: float = 900) -> str:
        """Run `args` (after the interpreter) in this ref's worktree; its stdout's last line."""
        proc = subprocess.run(
            [sys.executable, *args], cwd=self.tree, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-3:]
            raise MeasureError(f"{self.role} ({self.name}): {' '.join(args[:2])} exited {proc.returncode}: {tail}")
        return proc.stdout.strip().splitlines()[-1]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def add_worktree(role: str, name: str, work: Path) -> Ref:
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"compare: {name} is not a commit in {REPO}") from None
    tree = work / role
    git("worktree", "add", "--detach", str(tree), commit)
    # anvil comes from node_modules (ledger/paths.py), which a fresh worktree does not have.
    if (REPO / "node_modules").exists():
        (tree / "node_modules").symlink_to(REPO / "node_modules")
    return Ref(role, name, commit, tree)


def check_imports(ref: Ref) -> None:
    found = json.loads(ref.run(["-c", IMPORTS]))
    emit(step="imports", ref=ref.role, name=ref.name, commit=ref.commit[:12], modules=found)
    # A package the ref does not have (audit/ before issue 13) may still resolve through the venv's
    # editable install of another checkout; only the ref's own packages must come from its tree.
    own = {name for name in found if (ref.tree / name / "__init__.py").exists()}
    wrong = [
        name for name, file in found.items() if name in own and file is not None and not file.startswith(str(ref.tree))
    ]
    if wrong or found.get("indexer") is None:
        raise SystemExit(f"compare: {ref.role} imports {wrong or ['indexer']} from outside {ref.tree}")


# -- the benchmarks, one run each -----------------------------------------------------------------


def pg_schema(action: str, name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"{action} SCHEMA {name}" + (" CASCADE" if action == "DROP" else ""))


def index_rates(ref: Ref, chain: dict[str, Any], work: Path) -> dict[str, float]:
    common = ["bench/index.py", "--child", "--rpc", chain["url"], "--deployment", chain["deployment"]]
    db = work / f"index-{ref.role}.db"
    try:
        sqlite = json.loads(ref.run([*common, "--db", f"sqlite:///{db}"]))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    schema = "bench_" + uuid.uuid4().hex[:10]
    pg_schema("CREATE", schema)
    try:
        pg = json.loads(ref.run([*common, "--db", f"{POSTGRES}?options=-csearch_path%3D{schema}"]))
    finally:
        pg_schema("DROP", schema)
    return {
        "index_sqlite_events_per_s": sqlite["events"] / sqlite["seconds"],
        "index_postgresql_events_per_s": pg["events"] / pg["seconds"],
    }


def api_rates(ref: Ref, rows: int, duration: int) -> dict[str, float]:
    loads = json.loads(ref.run(["-c", API, str(rows), str(duration)]))
    failed = {name: run["non_2xx"] for name, run in loads.items() if run["non_2xx"] or run["socket_errors"]}
    if failed:
        raise MeasureError(f"{ref.role} ({ref.name}): API answered errors: {failed}")
    return {f"api_{name}_req_per_s": run["req_per_s"] for name, run in loads.items()}


def record_rate(ref: Ref, rows: int) -> dict[str, float]:
    # --sample: record.py's per-row web3 baseline is not compared here; keep it short.
    args = ["bench/record.py", "--rows", str(rows), "--sample", "10"]
    proc = subprocess.run(
        [sys.executable, *args], cwd=ref.tree, env=ref.env(), capture_output=True, text=True, timeout=900
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    batched = [line for line in lines if line.get("path") == "batched"]
    if proc.returncode != 0 or not batched:
        raise MeasureError(f"{ref.role} ({ref.name}): bench/record.py failed: {proc.stderr.strip().splitlines()[-3:]}")
    return {"record_rows_per_s": float(batched[0]["rows_per_s"])}


# -- the run -------------------------------------------------------------------------------------------


def start_chain(ref: Ref, events: int, work: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    deployment = work / "deployment.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", CHAIN, str(events), str(deployment)],
        cwd=ref.tree,
        env=ref.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = holder.stdout.readline() if holder.stdout else ""
    if not line:
        stop_chain(holder)
        raise SystemExit(f"compare: the chain could not be generated with {ref.name}'s bench/index.py")
    return holder, {**json.loads(line), "deployment": str(deployment)}


def stop_chain(holder: subprocess.Popen[str]) -> None:
    if holder.stdin:
        holder.stdin.close()
    try:
        holder.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def summarize(values: dict[str, dict[str, list[tuple[int, float]]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for figure, by_role in values.items():
        before = dict(by_role.get("before", []))
        after = dict(by_role.get("after", []))
        if not before or not after:
            summary[figure] = {"before": list(before.values()), "after": list(after.values()), "ratio": None}
            continue
        median_before, median_after = statistics.median(before.values()), statistics.median(after.values())
        paired = [round(after[r] / before[r], 3) for r in sorted(before) if r in after and before[r]]
        summary[figure] = {
            "before": [round(v, 1) for v in before.values()],
            "after": [round(v, 1) for v in after.values()],
            "median_before": round(median_before, 1),
            "median_after": round(median_after, 1),
            "ratio": round(median_after / median_before, 3) if median_before else None,
            "round_ratios": paired,
        }
    return summary


def measure_rounds(
    rounds: int,
    refs: list[Ref],
    benches: dict[str, Callable[[Ref], dict[str, float]]],
    values: dict[str, dict[str, list[tuple[int, float]]]],
    errors: list[dict[str, Any]],
) -> None:
    """Each round runs every benchmark for both refs: before, after, then after, before, ..."""
    for round_ in range(rounds):
        order = refs if round_ % 2 == 0 else refs[::-1]
        for bench, measure in benches.items():
            for ref in order:
                log(f"compare: round {round_ + 1}/{rounds} {bench} {ref.role}")
                begun = time.perf_counter()
                try:
                    figures = measure(ref)
                except (MeasureError, subprocess.TimeoutExpired) as exc:
                    errors.append(
                        {"step": "error", "round": round_ + 1, "bench": bench, "ref": ref.role, "error": str(exc)}
                    )
                    emit(**errors[-1])
                    continue
                for figure, value in figures.items():
                    values.setdefault(figure, {}).setdefault(ref.role, []).append((round_, value))
                    emit(
                        step="measure",
                        round=round_ + 1,
                        ref=ref.role,
                        figure=figure,
                        value=round(value, 1),
                        bench_seconds=round(time.perf_counter() - begun, 1),
                        load_average=round(os.getloadavg()[0], 1),
                    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="git ref measured as 'before'")
    parser.add_argument("after", help="git ref measured as 'after'")
    parser.add_argument("--events", type=int, default=20_000, help="disbursements on the shared indexing chain")
    parser.add_argument("--rows", type=int, default=3_000, help="CSV rows recorded per record run")
    parser.add_argument("--disbursements", type=int, default=100_000, help="rows of the API mirror")
    parser.add_argument("--duration", type=int, default=3, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", nargs="+", choices=("index", "api", "record"), default=["index", "api", "record"])
    args = parser.parse_args(argv)

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="govledger-compare-"))
    refs: list[Ref] = []
    holder = None
    errors: list[dict[str, Any]] = []
    values: dict[str, dict[str, list[tuple[int, float]]]] = {}
    try:
        for role, name in (("before", args.before), ("after", args.after)):
            refs.append(add_worktree(role, name, work))
        for ref in refs:
            check_imports(ref)
        benches: dict[str, Callable[[Ref], dict[str, float]]] = {}
        if "index" in args.only:
            log(f"compare: generating {args.events:,} disbursements on anvil with {args.before}'s bench/index.py ...")
            holder, chain = start_chain(refs[0], args.events, work)
            emit(step="chain", **{k: v for k, v in chain.items() if k != "deployment"})
            benches["index"] = lambda ref: index_rates(ref, chain, work)
        if "api" in args.only:
            for ref in refs:
                log(f"compare: building the {args.disbursements:,}-row API mirror for {ref.role} ...")
                emit(step="mirror", ref=ref.role, **json.loads(ref.run(["-c", MIRROR, str(args.disbursements)])))
            benches["api"] = lambda ref: api_rates(ref, args.disbursements, args.duration)
        if "record" in args.only:
            benches["record"] = lambda ref: record_rate(ref, args.rows)
        measure_rounds(args.rounds, refs, benches, values, errors)
    except MeasureError as exc:
        raise SystemExit(f"compare: {exc}") from None
    finally:
        if holder is not None:
            stop_chain(holder)
        for ref in refs:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref.tree)], cwd=REPO, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)
    emit(
        step="summary",
        before={"ref": args.before, "commit": refs[0].commit[:12]} if refs else args.before,
        after={"ref": args.after, "commit": refs[1].commit[:12]} if len(refs) > 1 else args.after,
        rounds=args.rounds,
        sizes={"events": args.events, "rows": args.rows, "disbursements": args.disbursements},
        seconds=round(time.perf_counter() - started),
        errors=len(errors),
        figures=summarize(values),
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

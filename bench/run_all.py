"""Run every benchmark and write one table of results to bench/RESULTS.md.

Each benchmark is a script in bench/ that prints one JSON object per line. This runner
starts them one after another (never in parallel: they would measure each other), keeps
every line, and renders them with the machine they ran on.

    python bench/run_all.py                 # all of them
    python bench/run_all.py gas record      # some of them
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ORDER = ("gas", "record", "index", "api", "ocds", "audit")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


def run(name: str) -> tuple[list[dict], float, int, str]:
    script = BENCH_DIR / f"{name}.py"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=BENCH_DIR.parent)
    elapsed = time.perf_counter() - started
    rows = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows, elapsed, proc.returncode, proc.stderr[-2000:]


def render_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if (BENCH_DIR / f"{n}.py").exists()]
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python bench/run_all.py` on {machine()}.",
        "Each row is one JSON line a benchmark printed; baselines were measured in the same run.",
        "",
    ]
    failed = 0
    for name in names:
        rows, elapsed, code, err = run(name)
        print(f"{name}: {len(rows)} results in {elapsed:.0f}s (exit {code})", file=sys.stderr)
        lines += [f"## {name} ({elapsed:.0f} s)", ""]
        if code != 0:
            failed += 1
            lines += [f"Exited with code {code}:", "", "```", err.strip(), "```", ""]
        for row in rows:
            lines.append("- " + ", ".join(f"**{k}** {render_value(v)}" for k, v in row.items()))
        lines.append("")
    (BENCH_DIR / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

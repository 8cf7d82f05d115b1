"""The largest modules and functions of the product packages, for the working tree or a git ref.

    python bench/sizes.py              # the working tree (tracked and untracked .py files)
    python bench/sizes.py main         # what `main` holds (read with git ls-tree / git show)
    python bench/sizes.py main --top 20

Looks in ledger/ indexer/ api/ scripts/ audit/, whichever exist. Prints one JSON object per
line: a ``total`` line, then the ``--top`` largest modules (lines of the file), then the
``--top`` largest functions and methods (lines from ``def`` to the function's last line, found
with ``ast``; a nested function is counted inside its parent and on its own line too).
Run it before and after a restructuring and compare the two outputs.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("ledger", "indexer", "api", "scripts", "audit")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def sources(repo: Path, ref: str | None) -> Iterator[tuple[str, str]]:
    """(path, text) of every .py file under the packages, at `ref` or in the working tree."""
    if ref is None:
        for package in PACKAGES:
            for path in sorted((repo / package).rglob("*.py")):
                yield path.relative_to(repo).as_posix(), path.read_text(encoding="utf-8")
        return
    listed = git(repo, "ls-tree", "-r", "--name-only", ref, "--", *PACKAGES).splitlines()
    for path in sorted(name for name in listed if name.endswith(".py")):
        yield path, git(repo, "show", f"{ref}:{path}")


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, lines) of every function in `tree`, methods as Class.name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            yield name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, prefix + node.name + ".")
        else:
            yield from functions(node, prefix)


def sizes(repo: Path, ref: str | None, top: int) -> list[dict[str, object]]:
    modules: list[dict[str, object]] = []
    found: list[dict[str, object]] = []
    for path, text in sources(repo, ref):
        modules.append({"kind": "module", "path": path, "lines": len(text.splitlines())})
        for name, line, lines in functions(ast.parse(text, filename=path)):
            found.append({"kind": "function", "path": path, "name": name, "line": line, "lines": lines})
    by_size = lambda row: (-int(row["lines"]), row["path"], row.get("line", 0))  # type: ignore[call-overload]  # noqa: E731
    where = ref if ref is not None else "working tree"
    total = {
        "kind": "total",
        "ref": where,
        "packages": sorted({str(row["path"]).split("/")[0] for row in modules}),
        "modules": len(modules),
        "lines": sum(int(row["lines"]) for row in modules),  # type: ignore[call-overload]
        "functions": len(found),
    }
    ranked = [
        {"rank": rank, **row}
        for rows in (modules, found)
        for rank, row in enumerate(sorted(rows, key=by_size)[:top], start=1)
    ]
    return [total, *ranked]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref", nargs="?", help="a git ref; without it, the working tree")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    try:
        rows = sizes(args.repo, args.ref, args.top)
    except subprocess.CalledProcessError as exc:
        print(f"sizes: git {' '.join(exc.cmd[1:3])} failed: {exc.stderr.strip()}", file=sys.stderr)
        return 1
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

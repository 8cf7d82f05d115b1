"""The import graph of the product packages, and the floors it must respect.

Floors, lowest first: ``ledger`` (agencies write) ← ``indexer`` (the mirror) ← ``audit`` (auditors
replay) ← ``api`` (citizens read) ← ``scripts`` (the CLI). A module may import its own package or
one on a lower floor, never one above, and never ``tests`` or ``bench``. Every import counts: at
the top of a module, inside a function, under ``TYPE_CHECKING``, and ``importlib.import_module``
with a literal name.

Run ``python -m tests.layers`` from the repository root to print the graph (exit 1 on an upward
import); ``tests/test_layers.py`` runs the same check (``pytest tests/test_layers.py -s`` prints it).
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ["ledger", "indexer", "audit", "api", "scripts"]
# Never imported by the product: they sit above every floor.
ABOVE_ALL = ["tests", "bench"]
# Test dependencies (pyproject's ``test`` extra), which the product must run without; ``eth`` is py-evm.
TEST_ONLY = ["web3", "eth_tester", "eth"]


@dataclass(frozen=True)
class Edge:
    """One import of another top-level package: ``module`` (at ``path:line``) imports ``target``."""

    module: str
    target: str
    path: str
    line: int

    @property
    def source_package(self) -> str:
        return self.module.split(".")[0]

    @property
    def target_package(self) -> str:
        return self.target.split(".")[0]

    @property
    def upward(self) -> bool:
        rank = {name: floor for floor, name in enumerate(FLOORS + ABOVE_ALL)}
        return rank[self.target_package] > rank[self.source_package]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every module name the code imports, with its line; relative imports resolved."""
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from ledger import node`` imports the module ledger.node; ``from ledger.types import
            # encode_code`` the module ledger.types (the longest prefix that is a module, below).
            names.extend((f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno) for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append((node.args[0].value, node.lineno))
    return names


def known_module(name: str, modules: set[str]) -> str | None:
    """The longest prefix of ``name`` that is a module of the tree (``ledger.x.y`` of ``from ledger.x import y``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def all_imports(root: Path = ROOT) -> list[tuple[Path, str, str, int]]:
    """(file, module, imported name, line) for every import in all .py files of the floors."""
    found = []
    for package in FLOORS:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            module = module_name(path, root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found += [
                (path, module, name, line) for name, line in imported_names(tree, module, path.name == "__init__.py")
            ]
    return found


def import_edges(root: Path = ROOT) -> list[Edge]:
    """Every import from one top-level package into another."""
    imports = all_imports(root)
    modules = {module_name(path, root) for package in FLOORS for path in (root / package).rglob("*.py")}
    modules |= {package for package in FLOORS + ABOVE_ALL if (root / package).is_dir()}
    edges: set[Edge] = set()
    for path, module, name, line in imports:
        top = name.split(".")[0]
        if top not in FLOORS + ABOVE_ALL or top == module.split(".")[0]:
            continue
        target = known_module(name, modules) or top
        edges.add(Edge(module, target, str(path.relative_to(root)), line))
    return sorted(edges, key=lambda edge: (edge.module, edge.target, edge.line))


def imports_of_test_dependencies(root: Path = ROOT) -> list[str]:
    """Product imports of a test dependency, as ``path:line: module imports name``."""
    return [
        f"{path.relative_to(root)}:{line}: {module} imports {name}, a test dependency"
        for path, module, name, line in all_imports(root)
        if name.split(".")[0] in TEST_ONLY
    ]


def report(edges: list[Edge]) -> str:
    """The package graph (imports counted per pair) and the cross-package module edges."""
    packages = Counter((edge.source_package, edge.target_package) for edge in edges)
    lines = ["floors, lowest first: " + " <- ".join(FLOORS), "", "package graph (imports per pair):"]
    for (source, target), count in sorted(packages.items()):
        flag = "   UPWARD" if Edge(source, target, "", 0).upward else ""
        lines.append(f"  {source:8} -> {target:8} {count:4}{flag}")
    lines += ["", "cross-package module edges (first line of each):"]
    first: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        first.setdefault((edge.module, edge.target), edge)
    for edge in first.values():
        flag = "   UPWARD" if edge.upward else ""
        lines.append(f"  {edge.module} -> {edge.target}  ({edge.path}:{edge.line}){flag}")
    return "\n".join(lines)


def upward(edges: list[Edge]) -> list[str]:
    return [
        f"{edge.path}:{edge.line}: {edge.module} imports {edge.target}, a floor above it"
        for edge in edges
        if edge.upward
    ]


def main() -> int:
    edges = import_edges()
    print(report(edges))
    wrong = upward(edges) + imports_of_test_dependencies()
    if wrong:
        print("\nimports the floors forbid:", *wrong, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Floors that only point down: ledger ← indexer ← audit ← api ← scripts (tests/layers.py).

``python -m pytest tests/test_layers.py -s`` prints the import graph; ``python -m tests.layers``
prints it without pytest."""

from __future__ import annotations

from pathlib import Path

from tests.layers import import_edges, imports_of_test_dependencies, report, upward


def test_no_package_imports_one_above_it() -> None:
    edges = import_edges()
    print(report(edges))
    assert {edge.source_package for edge in edges} >= {"indexer", "audit", "api", "scripts"}
    assert upward(edges) == []


def test_the_product_imports_no_test_dependency() -> None:
    assert imports_of_test_dependencies() == []


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_an_upward_import_is_named_with_its_module_and_line(tmp_path: Path) -> None:
    """Every form of import counts: in a function, relative, through importlib, and test-only ones."""
    write(tmp_path, "ledger/__init__.py", "")
    write(tmp_path, "ledger/types.py", "import os\n")
    write(tmp_path, "ledger/seed.py", "from . import types\n\n\ndef run():\n    from indexer.sync import go\n")
    write(tmp_path, "indexer/__init__.py", "")
    write(tmp_path, "indexer/sync.py", "import importlib\nimportlib.import_module('api.app')\nimport web3\n")
    write(tmp_path, "indexer/reorg.py", "from tests.chain import deploy\nfrom ledger.types import os\n")
    write(tmp_path, "api/app.py", "from indexer import sync\n")

    edges = import_edges(tmp_path)

    assert upward(edges) == [
        "indexer/reorg.py:1: indexer.reorg imports tests, a floor above it",
        "indexer/sync.py:2: indexer.sync imports api.app, a floor above it",
        "ledger/seed.py:5: ledger.seed imports indexer.sync, a floor above it",
    ]
    assert imports_of_test_dependencies(tmp_path) == ["indexer/sync.py:3: indexer.sync imports web3, a test dependency"]
    assert "  api      -> indexer     1" in report(edges)

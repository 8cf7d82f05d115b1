"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import node


@pytest.fixture(scope="module")
def chain_url() -> Iterator[str]:
    """A fresh anvil for each test module (each deploys its own contracts on it)."""
    process, url = node.start_anvil()
    try:
        yield url
    finally:
        node.stop(process)

"""Deployed bytecode against what the committed sources compile to.

The comparison is of runtime bytecode, metadata included: the metadata hash covers every
source file and the compiler settings, so an equal tail means equal sources. GovLedger has no
immutables; if a future version adds some, their slots must be masked here before comparing.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from audit.errors import BytecodeError
from ledger.artifacts import load_artifact


def start_recompile() -> Future[dict[str, Any]]:
    """Compile in the background (solc-js is a separate process): the other checks run meanwhile."""
    from ledger.compile import compile_artifact

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recompile")
    future = pool.submit(compile_artifact)
    pool.shutdown(wait=False)
    return future


def _first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            metadata_start = len(b) - 2 - int.from_bytes(b[-2:], "big") if len(b) >= 2 else len(b)
            where = "in the CBOR metadata (sources or settings differ)" if i >= metadata_start else "in the code"
            return f"first difference at byte {i} of {len(b)}, {where}"
    return f"lengths differ: {len(a)} vs {len(b)} bytes"


def check_sources_match_artifact() -> None:
    """The committed artifact was built from the sources in this checkout (by their SHA-256)."""
    from ledger.compile import standard_input

    artifact = load_artifact()
    current = {
        unit: hashlib.sha256(src["content"].encode("utf-8")).hexdigest()
        for unit, src in standard_input()["sources"].items()
    }
    if current != artifact["sources"]:
        changed = sorted(set(current.items()) ^ set(artifact["sources"].items()))
        raise BytecodeError(f"the committed artifact is stale: source {changed[0][0]} differs; run `govledger compile`")


def check_bytecode(deployed_hex: str, compiled: dict[str, Any] | None = None) -> str:
    """Raise unless the deployed runtime code equals the compiled one; returns the compiler version.

    ``compiled`` is a fresh ``ledger.compile.compile_artifact()``; without it, the committed
    artifact is used after checking it matches the sources in this checkout.
    """
    if compiled is None:
        check_sources_match_artifact()
        compiled = load_artifact()
    deployed = bytes.fromhex(deployed_hex.removeprefix("0x"))
    expected = bytes.fromhex(compiled["deployedBytecode"].removeprefix("0x"))
    if not deployed:
        raise BytecodeError("no code at the contract address")
    if deployed != expected:
        raise BytecodeError(
            f"deployed code ({len(deployed)} bytes) is not what the sources compile to "
            f"({len(expected)} bytes): {_first_difference(deployed, expected)}"
        )
    return str(compiled.get("compiler", {}).get("version", "?"))

"""`govledger audit verify`: every check an auditor runs over a bundle, each named in the report.

Checks run in order and each records its own failure, so one report names every problem:
files (manifest SHA-256), headers (hash and parent chain), receipts (receipts-trie roots,
completeness by logsBloom, logs equal to the receipts'), bytecode, replay (rules and the
ledger head at sampled heights), and the mirror (rebuilt from the bundle, compared).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.audit.bundle import HEADERS, LOGS, RECEIPTS, Manifest, check_files, read_lines, read_manifest
from ledger.audit.errors import AuditError, BundleError, HeaderError, ReceiptError, ReplayError
from ledger.audit.events import Entry, decode_entries
from ledger.audit.headers import check_chain
from ledger.audit.receipts import Log, bloom_contains, decode_receipt, receipts_root
from ledger.audit.replay import ReplayResult, replay


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.__dict__ for c in self.checks]}

    def lines(self) -> list[str]:
        return [f"{'ok  ' if c.ok else 'FAIL'} {c.name:<9} {c.detail}" for c in self.checks]


@dataclass
class Bundle:
    """A bundle read into memory, with what each check proved about it."""

    directory: Path
    manifest: Manifest
    headers: list[dict[str, Any]] = field(default_factory=list)
    receipt_lines: list[dict[str, Any]] = field(default_factory=list)
    log_rows: list[dict[str, Any]] = field(default_factory=list)
    hashes: dict[int, bytes] = field(default_factory=dict)  # block -> proven header hash
    entries: list[Entry] = field(default_factory=list)
    senders: dict[tuple[int, int], bytes] = field(default_factory=dict)
    replay: ReplayResult | None = None


def _run(report: Report, name: str, step: Callable[[], tuple[str, dict[str, Any]]]) -> bool:
    started = time.perf_counter()
    try:
        detail, figures = step()
        report.checks.append(Check(name, True, detail, time.perf_counter() - started, figures))
        return True
    except AuditError as exc:
        report.checks.append(Check(name, False, str(exc), time.perf_counter() - started))
        return False


def load_bundle(directory: Path) -> Bundle:
    directory = Path(directory)
    bundle = Bundle(directory, read_manifest(directory))
    read_data(bundle)
    return bundle


def read_data(bundle: Bundle) -> None:
    try:
        bundle.headers = list(read_lines(bundle.directory / HEADERS))
        bundle.receipt_lines = list(read_lines(bundle.directory / RECEIPTS))
        bundle.log_rows = list(read_lines(bundle.directory / LOGS))
    except FileNotFoundError as exc:
        raise BundleError(f"{Path(exc.filename).name} is missing from the bundle") from None


def check_headers(bundle: Bundle, trusted_head: bytes | None) -> tuple[str, dict[str, Any]]:
    m = bundle.manifest
    try:
        bundle.hashes = check_chain(bundle.headers, trusted_head)
    except (KeyError, TypeError, ValueError) as exc:
        raise HeaderError(f"a header is malformed: {exc!r}") from None
    first, last = min(bundle.hashes), max(bundle.hashes)
    if first != max(m.from_block - 1, 0) or last != m.head_number:
        raise HeaderError(
            f"headers cover blocks {first}..{last}, the manifest says {max(m.from_block - 1, 0)}..{m.head_number}"
        )
    if "0x" + bundle.hashes[last].hex() != m.head_hash.lower():
        raise HeaderError(f"head block {last} hashes to 0x{bundle.hashes[last].hex()}, the manifest says {m.head_hash}")
    trusted = " = trusted head" if trusted_head else ""
    return f"{len(bundle.hashes)} headers hash correctly and chain to head {last} {m.head_hash}{trusted}", {
        "headers": len(bundle.hashes)
    }


def check_receipts(bundle: Bundle) -> tuple[str, dict[str, Any]]:
    """Every receipts line rebuilds its block's receiptsRoot; every block whose bloom may hold
    our address has its receipts here; logs.jsonl is exactly our logs from those receipts."""
    address = bytes.fromhex(bundle.manifest.address[2:])
    by_number = {int(h["number"], 16): h for h in bundle.headers}
    proven: list[tuple[Log, int, int, int, str, str]] = []
    seen: set[int] = set()
    receipt_count = 0
    for line in bundle.receipt_lines:
        try:
            number, encoded = line["block"], [bytes.fromhex(r[2:]) for r in line["receipts"]]
            tx = line["tx"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptError(f"a receipts line is malformed: {exc!r}") from None
        header = by_number.get(number)
        if header is None or number in seen or number < bundle.manifest.from_block:
            raise ReceiptError(f"receipts for block {number}, which has no header or appears twice")
        seen.add(number)
        if line.get("hash") != header["hash"]:
            raise ReceiptError(
                f"block {number}: receipts name block hash {line.get('hash')}, the header is {header['hash']}"
            )
        if receipts_root(encoded) != bytes.fromhex(header["receiptsRoot"][2:]):
            raise ReceiptError(f"block {number}: receipts do not rebuild receiptsRoot {header['receiptsRoot']}")
        if len(tx) != len(encoded):
            raise ReceiptError(f"block {number}: {len(tx)} transaction hashes for {len(encoded)} receipts")
        receipt_count += len(encoded)
        log_index = 0
        for tx_index, raw in enumerate(encoded):
            receipt = decode_receipt(raw)
            if tx[tx_index][1]:
                bundle.senders[(number, tx_index)] = bytes.fromhex(tx[tx_index][1][2:])
            for log in receipt.logs:
                if log.address == address:
                    proven.append((log, number, tx_index, log_index, tx[tx_index][0], header["hash"]))
                log_index += 1
    for number, header in by_number.items():
        if (
            number >= bundle.manifest.from_block
            and number not in seen
            and bloom_contains(bytes.fromhex(header["logsBloom"][2:]), address)
        ):
            raise ReceiptError(f"block {number}'s logsBloom may hold our logs but its receipts are not in the bundle")
    if len(proven) != len(bundle.log_rows):
        raise ReceiptError(f"logs.jsonl has {len(bundle.log_rows)} logs, the proven receipts hold {len(proven)}")
    for (log, number, tx_index, log_index, tx_hash, block_hash), row in zip(proven, bundle.log_rows, strict=True):
        try:
            claimed = (
                row["block"],
                row["tx_index"],
                row["log_index"],
                row["tx_hash"].lower(),
                row["block_hash"].lower(),
                bytes.fromhex(row["address"][2:]),
                tuple(bytes.fromhex(t[2:]) for t in row["topics"]),
                bytes.fromhex(row["data"][2:]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReceiptError(f"logs.jsonl row for block {row.get('block')} is malformed: {exc!r}") from None
        actual = (number, tx_index, log_index, tx_hash.lower(), block_hash.lower(), log.address, log.topics, log.data)
        if claimed != actual:
            raise ReceiptError(
                f"logs.jsonl: the log at block {row.get('block')} index {row.get('log_index')} "
                f"differs from block {number} log {log_index} in the proven receipts"
            )
    try:
        bundle.entries = decode_entries([(log, n, t, i) for log, n, t, i, _, _ in proven])
    except ReplayError as exc:
        raise ReceiptError(str(exc)) from None
    return (
        f"{len(seen)} blocks' receipts ({receipt_count}) rebuild their receiptsRoot; {len(proven)} logs proven, "
        f"none missing by logsBloom",
        {"receipt_blocks": len(seen), "receipts": receipt_count, "logs": len(proven)},
    )


def check_replay(bundle: Bundle, live_heads: Callable[[int], tuple[int, str]] | None) -> tuple[str, dict[str, Any]]:
    result = replay(bundle.entries, bundle.senders)
    bundle.replay = result
    samples = bundle.manifest.ledger_heads
    if not samples or samples[-1]["block"] != bundle.manifest.head_number:
        raise ReplayError("the manifest has no ledger head at the head block")
    compared = 0
    for sample in samples:
        seq, head = result.head_at(sample["block"])
        claims = [("bundle", sample["seq"], sample["head"])]
        if live_heads is not None:
            claims.append(("node", *live_heads(sample["block"])))
        for who, c_seq, c_head in claims:
            if (c_seq, c_head.lower()) != (seq, "0x" + head.hex()):
                raise ReplayError(
                    f"at block {sample['block']} the replay reaches seq {seq} head 0x{head.hex()}, "
                    f"the contract ({who}) reports seq {c_seq} head {c_head}"
                )
            compared += 1
    s = result.state
    return (
        f"{s.seq} entries replayed without a rule broken; head 0x{s.head.hex()} equals the contract's "
        f"at {len(samples)} heights; the senders of {result.sender_checks} recorder entries (as the node reports "
        f"them) held that agency's recorder key",
        {
            "entries": s.seq,
            "head_samples": len(samples),
            "head_comparisons": compared,
            "sender_checks": result.sender_checks,
            "counts": dict(s.counts),
        },
    )


def verify_bundle(
    directory: Path,
    *,
    trusted_head: bytes | None = None,
    db_url: str | None = None,
    api_url: str | None = None,
    live_heads: Callable[[int], tuple[int, str]] | None = None,
    live_code: str | None = None,
    recompile: bool = True,
    workdir: Path | None = None,
) -> Report:
    """Run every check over the bundle in ``directory`` and return the report (never raises AuditError)."""
    from ledger.audit.bytecode import start_recompile

    report = Report()
    compiling = start_recompile() if recompile else None
    try:
        bundle = Bundle(Path(directory), read_manifest(Path(directory)))
    except AuditError as exc:
        report.checks.append(Check("bundle", False, str(exc)))
        return report

    rebuild = None
    if db_url or api_url:
        from ledger.audit.compare import MirrorRebuild

        rebuild = MirrorRebuild(bundle.directory, workdir)
    try:
        _run_checks(report, bundle, trusted_head, db_url, api_url, live_heads, live_code, compiling, rebuild)
    finally:
        if rebuild is not None:
            rebuild.close()
    return report


def _run_checks(
    report: Report,
    bundle: Bundle,
    trusted_head: bytes | None,
    db_url: str | None,
    api_url: str | None,
    live_heads: Callable[[int], tuple[int, str]] | None,
    live_code: str | None,
    compiling: Any,
    rebuild: Any,
) -> None:
    from ledger.audit.bytecode import check_bytecode

    def files() -> tuple[str, dict[str, Any]]:
        check_files(bundle.directory, bundle.manifest)
        return f"{len(bundle.manifest.files)} files match the manifest's SHA-256", {}

    _run(report, "files", files)
    if not _run(report, "bundle", lambda: (read_data(bundle), ("every line of every file parses", {}))[1]):
        return
    _run(report, "headers", lambda: check_headers(bundle, trusted_head))
    receipts_ok = _run(report, "receipts", lambda: check_receipts(bundle))

    def code() -> tuple[str, dict[str, Any]]:
        if live_code is not None and live_code.lower() != bundle.manifest.deployed_bytecode.lower():
            raise AuditError("the node's code differs from the bundle's deployed bytecode")
        compiled = compiling.result() if compiling is not None else None
        version = check_bytecode(bundle.manifest.deployed_bytecode, compiled)
        how = "recompiled" if compiled is not None else "committed artifact of"
        return f"deployed code equals the {how} sources ({version})", {}

    if receipts_ok:
        _run(report, "replay", lambda: check_replay(bundle, live_heads))
    _run(report, "bytecode", code)
    if (db_url or api_url) and receipts_ok:
        from ledger.audit.compare import check_mirror

        _run(report, "mirror", lambda: check_mirror(bundle, db_url=db_url, api_url=api_url, rebuild=rebuild))

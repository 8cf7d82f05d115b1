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

from audit.bundle import HEADERS, LOGS, RECEIPTS, Manifest, check_files, read_lines, read_manifest
from audit.errors import AuditError, BundleError, HeaderError, ReceiptError, ReplayError
from audit.events import Entry, decode_entries
from audit.headers import check_chain
from audit.receipts import Log, bloom_contains, decode_receipt, receipts_root
from audit.replay import ReplayResult, replay


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
    # The head every check hangs from: its number and hash, whether --trusted-head pinned it, and
    # otherwise where it was taken from ("bundle" or "node"), which could have forged the whole chain.
    head: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "head": self.head, "checks": [c.__dict__ for c in self.checks]}

    def lines(self) -> list[str]:
        lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.name:<9} {c.detail}" for c in self.checks]
        return lines + [self.head_line()] if self.head else lines

    def head_line(self) -> str:
        h = self.head
        if h["trusted"]:
            return (
                f"head      block {h['number']} {h['hash']} is pinned with --trusted-head (the headers check holds it)"
            )
        return (
            f"head      block {h['number']} {h['hash']} is NOT pinned: it was taken from the {h['source']}, "
            f"which could have made up the whole chain. Pin it: get block {h['number']}'s hash from a party you "
            "trust (another node, a published checkpoint) and re-run with --trusted-head HASH"
        )


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


def check_replay(
    bundle: Bundle, live_heads: Callable[[int], tuple[int, str] | None] | None
) -> tuple[str, dict[str, Any]]:
    """The rules and the running head; then the head against ``ledgerHead()`` wherever the bundle
    recorded it, or the node (``live_heads``) still keeps the state. A production node keeps state
    for recent blocks only, so a height without it is skipped, and said so."""
    result = replay(bundle.entries, bundle.senders)
    bundle.replay = result
    head_number = bundle.manifest.head_number
    samples = [s for s in bundle.manifest.ledger_heads if s["block"] <= head_number]
    heights = sorted({s["block"] for s in samples} | {head_number})
    recorded = {s["block"]: s for s in samples}
    compared = 0
    stateful: list[int] = []
    for height in heights:
        seq, head = result.head_at(height)
        claims = []
        if height in recorded:
            claims.append(("bundle", recorded[height]["seq"], recorded[height]["head"]))
        live = live_heads(height) if live_heads is not None else None
        if live is not None:
            claims.append(("node", *live))
        for who, c_seq, c_head in claims:
            if (c_seq, c_head.lower()) != (seq, "0x" + head.hex()):
                raise ReplayError(
                    f"at block {height} the replay reaches seq {seq} head 0x{head.hex()}, "
                    f"the contract ({who}) reports seq {c_seq} head {c_head}"
                )
            compared += 1
        if claims:
            stateful.append(height)
    s = result.state
    if head_number in stateful:
        against = f"equals the contract's ledgerHead() at {len(stateful)} heights, the head block included"
    elif stateful:
        against = (
            f"equals the contract's ledgerHead() at {len(stateful)} heights up to block {stateful[-1]}; "
            f"no state of the head block {head_number} was available, there the head rests on the logs"
        )
    else:
        against = "rests on the proven logs alone: the node kept no contract state at any height of the bundle"
    return (
        f"{s.seq} entries replayed without a rule broken; head 0x{s.head.hex()} {against}; the senders of "
        f"{result.sender_checks} recorder entries (as the node reports them) held that agency's recorder key",
        {
            "entries": s.seq,
            "head_samples": len(stateful),
            "head_comparisons": compared,
            "head_block_compared": head_number in stateful,
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
    live_heads: Callable[[int], tuple[int, str] | None] | None = None,
    live_code: str | None = None,
    recompile: bool = True,
    workdir: Path | None = None,
    pinned: Any = None,
    head_source: str = "bundle",
) -> Report:
    """Run every check over the bundle in ``directory`` and return the report (never raises AuditError).

    ``pinned``: a ``compare.PinnedMirror`` of ``db_url`` opened by the caller (before an export to
    its height); without it, the database mirror is pinned here, before the rebuild starts."""
    from audit.bytecode import start_recompile

    report = Report()
    compiling = start_recompile() if recompile else None
    try:
        bundle = Bundle(Path(directory), read_manifest(Path(directory)))
    except AuditError as exc:
        report.checks.append(Check("bundle", False, str(exc)))
        return report
    report.head = {
        "number": bundle.manifest.head_number,
        "hash": bundle.manifest.head_hash,
        "trusted": trusted_head is not None,
        "source": "--trusted-head" if trusted_head is not None else head_source,
    }

    rebuild = None
    own_pin = db_url is not None and pinned is None
    if db_url or api_url:
        from audit.compare import MirrorRebuild, PinnedMirror

        height = None
        if db_url is not None:
            try:
                pinned = pinned or PinnedMirror(db_url)
            except AuditError as exc:
                report.checks.append(Check("mirror", False, str(exc)))
                return report
            # The rebuild stops at the mirror's checkpoint when the bundle reaches it.
            height = min(pinned.block, bundle.manifest.head_number)
        rebuild = MirrorRebuild(bundle.directory, workdir, height)
    try:
        _run_checks(report, bundle, trusted_head, db_url, api_url, live_heads, live_code, compiling, rebuild, pinned)
    finally:
        if rebuild is not None:
            rebuild.close()
        if own_pin and pinned is not None:
            pinned.close()
    return report


def _run_checks(
    report: Report,
    bundle: Bundle,
    trusted_head: bytes | None,
    db_url: str | None,
    api_url: str | None,
    live_heads: Callable[[int], tuple[int, str] | None] | None,
    live_code: str | None,
    compiling: Any,
    rebuild: Any,
    pinned: Any = None,
) -> None:
    from audit.bytecode import check_bytecode

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
        from audit.compare import check_mirror

        _run(
            report,
            "mirror",
            lambda: check_mirror(bundle, db_url=db_url, api_url=api_url, rebuild=rebuild, pinned=pinned),
        )

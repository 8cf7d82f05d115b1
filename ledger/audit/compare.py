"""Mirror comparison: the mirror rebuilt from a verified bundle against a published one.

First the mirror digest (one string), then every table (row count and a SHA-256 of its rows
in key order), then, for each table that differs, the first differing rows by key, named
with the columns that differ. The rebuild goes through the indexer on purpose: the question
is whether the published mirror is what the indexer makes of the proven logs.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ledger.audit.errors import MirrorError

SKIPPED_TABLES = {"alembic_version"}
SHOWN_DIFFERENCES = 3


@dataclass
class TableRows:
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: dict[tuple[Any, ...], tuple[Any, ...]]  # key -> row (all columns, in `columns` order)
    count: int  # rows read (more than len(rows) only if keys repeat)
    sha256: str


@dataclass
class Snapshot:
    digest: str
    tables: dict[str, TableRows] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)  # tables the indexer does not define


@dataclass
class Difference:
    table: str
    kind: str  # "digest", "columns", "missing", "unexpected", "changed", "count"
    detail: str


def _key_text(key: tuple[str, ...], value: tuple[Any, ...]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(key, value, strict=True))


def mirror_schema() -> dict[str, Any]:
    """The mirror's tables as the indexer defines them (SQLAlchemy Table objects by name)."""
    from sqlmodel import SQLModel

    import indexer.tables  # noqa: F401  (registers the tables on SQLModel's metadata)

    return {name: table for name, table in SQLModel.metadata.tables.items() if name not in SKIPPED_TABLES}


def _normal(value: Any) -> Any:
    """One form per value whatever the driver: dates as ISO text, booleans as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _needs_normal(kind: Any) -> bool:
    from sqlalchemy import Boolean, Date, DateTime

    return isinstance(kind, (Boolean, Date, DateTime))


def read_snapshot(url: str) -> Snapshot:
    """Every mirrored table of the database at ``url``, rows keyed by primary key."""
    from indexer.db import dialect_of, sqlite_path

    if dialect_of(url) == "sqlite":
        # The raw driver: ten times faster than SQLAlchemy here, and mutation tests read thousands.
        db = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
        try:
            return sqlite_snapshot(db)
        except sqlite3.Error as exc:
            raise MirrorError(f"mirror {url} cannot be read: {exc}") from None
        finally:
            db.close()
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from indexer.db import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return _read(lambda sql: conn.execute(text(sql)), set(inspect(conn).get_table_names()))
    except SQLAlchemyError as exc:
        raise MirrorError(f"mirror {url} cannot be read: {exc}") from None
    finally:
        engine.dispose()


def sqlite_snapshot(db: sqlite3.Connection) -> Snapshot:
    """The snapshot of an open SQLite mirror (a file, or an in-memory copy in tests)."""
    present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return _read(db.execute, present)


def _read(execute: Callable[[str], Iterable[Any]], present: set[str]) -> Snapshot:
    from indexer.digest import DIGEST_QUERY, digest_rows

    present -= SKIPPED_TABLES
    digest = digest_rows(execute(DIGEST_QUERY + " ORDER BY seq")) if "events" in present else "(no events table)"
    snapshot = Snapshot(digest)
    for name, table in sorted(mirror_schema().items()):
        if name not in present:
            continue
        columns = tuple(sorted(c.name for c in table.columns))
        key = tuple(c.name for c in table.primary_key.columns) or columns
        order = ", ".join(list(key) + [c for c in columns if c not in key])
        positions = [columns.index(k) for k in key]
        # Only dates and booleans come back in driver-specific forms; other values pass as they are.
        typed = [i for i, c in enumerate(columns) if _needs_normal(table.c[c].type)]
        rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        sha = hashlib.sha256()
        count = 0
        for row in execute(f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}"):
            values = tuple(row)
            if typed:
                values = tuple(_normal(v) if i in typed else v for i, v in enumerate(values))
            sha.update(repr(values).encode())
            rows[tuple(values[p] for p in positions)] = values
            count += 1
        snapshot.tables[name] = TableRows(columns, key, rows, count, sha.hexdigest())
    snapshot.extra = sorted(present - set(mirror_schema()))
    return snapshot


def compare_snapshots(reference: Snapshot, target: Snapshot) -> list[Difference]:
    """What differs between the rebuilt (reference) and the published (target) mirror."""
    out: list[Difference] = []
    if reference.digest != target.digest:
        out.append(
            Difference("events", "digest", f"mirror digest {target.digest} differs from the rebuilt {reference.digest}")
        )
    for name, ref in reference.tables.items():
        tgt = target.tables.get(name)
        if tgt is None:
            out.append(Difference(name, "missing", f"table {name} is missing from the mirror"))
            continue
        if tgt.columns != ref.columns:
            out.append(Difference(name, "columns", f"{name} has columns {tgt.columns}, expected {ref.columns}"))
            continue
        if tgt.sha256 == ref.sha256 and tgt.count == ref.count:
            continue
        out.extend(_row_differences(name, ref, tgt))
    for name in sorted((set(target.tables) - set(reference.tables)) | set(target.extra)):
        out.append(Difference(name, "unexpected", f"the mirror has a table {name} the indexer does not make"))
    return out


def _row_differences(name: str, ref: TableRows, tgt: TableRows) -> list[Difference]:
    found: list[Difference] = []
    if tgt.count != len(tgt.rows):
        found.append(Difference(name, "count", f"{name}: {tgt.count - len(tgt.rows)} rows repeat a key"))
    keys = sorted(set(ref.rows) | set(tgt.rows), key=lambda k: tuple((v is None, v) for v in k))
    missing = changed = unexpected = 0
    named: list[Difference] = []
    for key in keys:
        a, b = ref.rows.get(key), tgt.rows.get(key)
        if a == b:
            continue
        where = f"{name} row {_key_text(ref.key, key)}"
        if b is None:
            missing += 1
            if len(named) < SHOWN_DIFFERENCES:
                named.append(Difference(name, "missing", f"{where} is missing from the mirror"))
        elif a is None:
            unexpected += 1
            if len(named) < SHOWN_DIFFERENCES:
                named.append(Difference(name, "unexpected", f"{where} is in the mirror but not on chain"))
        else:
            changed += 1
            if len(named) < SHOWN_DIFFERENCES:
                cols = [
                    f"{c}: {bv!r} instead of {av!r}" for c, av, bv in zip(ref.columns, a, b, strict=True) if av != bv
                ]
                named.append(Difference(name, "changed", f"{where} differs: {'; '.join(cols)}"))
    if not named and not found:
        # Same keys and values but a different order of equal keys cannot happen; rows must repeat.
        found.append(Difference(name, "count", f"{name} has {tgt.count} rows, the rebuilt mirror {ref.count}"))
    summary = f"{name}: {missing} missing, {unexpected} unexpected, {changed} changed rows"
    return found + named + [Difference(name, "count", summary)]


def chain_keys(state: Any, target: Snapshot) -> list[Difference]:
    """The mirror's keyed rows against the replay's own decoding (``ledger.audit.events``): one
    row per on-chain agency, project, service, voucher and request, the requests under the
    auditor's own rendering of their codes. The rebuild goes through the indexer, so a decoder
    that printed two on-chain values alike would merge them in both mirrors; not here."""
    out: list[Difference] = []
    counts = {
        "agencies": len(state.agencies),
        "projects": len(state.projects),
        "services": len(state.services),
        "disbursements": len(state.disbursements),
        "requests": len(state.requests),
    }
    for name, expected in counts.items():
        table = target.tables.get(name)
        if table is not None and (table.count != expected or len(table.rows) != expected):
            out.append(Difference(name, "count", f"{name}: the mirror has {table.count} rows, the chain {expected}"))
    requests = target.tables.get("requests")
    if requests is not None:
        from ledger.audit.events import tracking_text

        mirrored = {key[0] for key in requests.rows}
        for raw in sorted(state.requests):
            if tracking_text(raw) not in mirrored:
                detail = f"requests row tracking_code={tracking_text(raw)!r} (on chain 0x{raw.hex()}) is missing"
                out.append(Difference("requests", "missing", detail))
                break
    return out


def rebuild_mirror(bundle: Any, database_url: str, height: int | None = None) -> None:
    """Index the bundle's proven logs into ``database_url`` through the indexer's own sync, up to
    ``height`` (default: the bundle's head), with the reorg window the published indexer uses."""
    from indexer.sync import index_once, reorg_window
    from ledger.audit.node import BundleNode
    from ledger.deployment import Deployment

    manifest = bundle.manifest
    first = next(h for h in bundle.headers if int(h["number"], 16) == manifest.from_block)
    deployment = Deployment(
        chain_id=manifest.chain_id,
        address=manifest.address,
        deploy_block=manifest.from_block,
        deploy_block_hash=first["hash"],
        deploy_tx="",
        artifact_sha256="",
        compiler="",
    )
    with BundleNode(manifest, bundle.headers, bundle.log_rows, head=height) as url:
        index_once(url, database_url, deployment, reorg_window=reorg_window())


def describe(differences: Iterable[Difference]) -> str:
    return "; ".join(d.detail for d in differences)


def rebuild_and_read(directory: str, database_url: str, height: int | None = None) -> Snapshot:
    """In the helper process: index the bundle's logs up to ``height``, then read the result back."""
    from ledger.audit.bundle import HEADERS, LOGS, read_lines, read_manifest

    directory_path = Path(directory)
    bundle = _Logs(
        read_manifest(directory_path),
        list(read_lines(directory_path / HEADERS)),
        list(read_lines(directory_path / LOGS)),
    )
    rebuild_mirror(bundle, database_url, height)
    return read_snapshot(database_url)


@dataclass
class _Logs:
    manifest: Any
    headers: list[dict[str, Any]]
    log_rows: list[dict[str, Any]]


class MirrorRebuild:
    """The rebuild runs in its own process from the start of verification, beside the header,
    receipt and replay checks (two cores, half the wall time). Its result is used only when the
    receipts check has proven that logs.jsonl is exactly the chain's logs."""

    def __init__(self, directory: Path, workdir: Path | None = None, height: int | None = None) -> None:
        import subprocess
        import sys

        self.height = height
        self.scratch = Path(tempfile.mkdtemp(prefix="govledger-audit-", dir=workdir))
        self.url = f"sqlite:///{self.scratch / 'rebuilt.db'}"
        self._out = self.scratch / "snapshot.pickle"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ledger.audit.rebuild", str(directory), self.url, str(self._out)]
            + ([str(height)] if height is not None else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def snapshot(self) -> Snapshot:
        import pickle

        _, err = self._process.communicate()
        if self._process.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise MirrorError(f"the mirror could not be rebuilt from the bundle: {reason[0]}")
        # Our own child wrote this file a moment ago in our private scratch directory.
        return pickle.loads(self._out.read_bytes())  # noqa: S301

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def expected_public(bundle: Any) -> Any:
    """What the public API must show, from the auditor's replay of the proven entries."""
    from ledger.audit.public import public_ledger

    times = {int(h["number"], 16): int(h["timestamp"], 16) for h in bundle.headers}
    hashes = {int(h["number"], 16): h["hash"] for h in bundle.headers}
    tx_hashes = {(row["block"], row["log_index"]): row["tx_hash"] for row in bundle.log_rows}
    return public_ledger(bundle.entries, times, hashes, tx_hashes, times[bundle.manifest.head_number])


def _ledger(bundle: Any) -> tuple[int, str]:
    seq, head = bundle.replay.head_at(bundle.manifest.head_number)
    return seq, "0x" + head.hex()


class PinnedMirror:
    """One read transaction on the mirror, opened before anything is exported or rebuilt: a mirror
    that an indexer keeps following is read at the one height its checkpoint showed then, and the
    rebuild is made to that height."""

    def __init__(self, url: str) -> None:
        from indexer.db import dialect_of, sqlite_path

        self.url = url
        self._close: Callable[[], None]
        try:
            if dialect_of(url) == "sqlite":
                db = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True, isolation_level=None)
                # A WAL reader sees the database as of its transaction's first read, until it ends.
                db.execute("BEGIN")
                self._execute: Callable[[str], Any] = db.execute
                self._close = db.close
                tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
            else:
                from sqlalchemy import create_engine, text

                from indexer.db import sqlalchemy_url

                engine = create_engine(sqlalchemy_url(url), isolation_level="REPEATABLE READ")
                conn = engine.connect()
                conn.begin()

                def close() -> None:
                    conn.close()
                    engine.dispose()

                self._execute = lambda sql: conn.execute(text(sql))
                self._close = close
                tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            self._present = {r[0] for r in self._execute(tables)}
            row = self._execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
        except Exception as exc:  # any driver error: the mirror is not readable
            raise MirrorError(f"mirror {url} cannot be read: {exc}") from None
        if row is None:
            self.close()
            raise MirrorError(f"mirror {url} has no checkpoint: it has indexed nothing yet")
        self.block, self.hash = int(row[0]), str(row[1])

    def snapshot(self) -> Snapshot:
        try:
            return _read(self._execute, self._present)
        except Exception as exc:  # any driver error: the mirror is not readable
            raise MirrorError(f"mirror {self.url} cannot be read: {exc}") from None

    def beyond(self, block: int) -> tuple[str, list[tuple[int, int]]]:
        """The digest of the mirror's events up to ``block``, and (seq, block) of those after it."""
        from indexer.digest import DIGEST_QUERY, digest_rows

        digest = digest_rows(self._execute(f"{DIGEST_QUERY} WHERE block_number <= {int(block)} ORDER BY seq"))
        after = self._execute(f"SELECT seq, block_number FROM events WHERE block_number > {int(block)} ORDER BY seq")
        return digest, [(int(seq), int(number)) for seq, number in after]

    def close(self) -> None:
        self._close()


def _ahead(pinned: PinnedMirror, reference: Snapshot, head: int) -> MirrorError:
    """The mirror is past the bundle's head: name what the bundle lacks, and compare what it can."""
    digest, after = pinned.beyond(head)
    if after:
        blocks = sorted({number for _, number in after})
        shown = ", ".join(str(b) for b in blocks[:SHOWN_DIFFERENCES]) + (
            ", ..." if len(blocks) > SHOWN_DIFFERENCES else ""
        )
        lacks = f"entries seq {after[0][0]}..{after[-1][0]} in blocks {shown}; the others hold no entry"
    else:
        lacks = "none of them holds an entry"
    prefix = (
        f"its events up to block {head} equal the bundle's (digest {digest})"
        if digest == reference.digest
        else f"its events up to block {head} DIFFER from the bundle's: digest {digest}, rebuilt {reference.digest}"
    )
    return MirrorError(
        f"the mirror is at block {pinned.block}, past the bundle's head {head}: blocks {head + 1}..{pinned.block} "
        f"are not in the bundle ({lacks}), and the mirror's checkpoint, recent block headers, request deadlines "
        f"and totals are those of block {pinned.block}; {prefix}. Compare at one height: export with "
        f"--to-block {pinned.block} while the indexer is stopped, or run `audit verify --rpc NODE --db URL`, "
        "which exports up to the mirror's checkpoint"
    )


def check_mirror(
    bundle: Any,
    *,
    db_url: str | None = None,
    api_url: str | None = None,
    workdir: Path | None = None,
    rebuild: MirrorRebuild | None = None,
    pinned: PinnedMirror | None = None,
) -> tuple[str, dict[str, Any]]:
    """Rebuild from the bundle into a fresh SQLite file and compare with ``db_url`` or ``api_url``.

    A database mirror is compared at its checkpoint (``pinned``, opened here when not given): the
    rebuild stops there when the bundle reaches it, and when it does not the blocks it lacks are named.
    """
    own = rebuild is None
    own_pin = pinned is None and db_url is not None
    if own_pin:
        assert db_url is not None
        pinned = PinnedMirror(db_url)
    head = bundle.manifest.head_number
    if rebuild is None:
        rebuild = MirrorRebuild(bundle.directory, workdir, min(pinned.block, head) if pinned is not None else None)
    try:
        reference = rebuild.snapshot()
        if api_url is not None:
            from ledger.audit.api_mirror import compare_api

            if bundle.replay is None:
                raise MirrorError("the entries did not replay: there is nothing to compare the API with")
            return compare_api(reference.digest, expected_public(bundle), api_url, bundle.manifest, _ledger(bundle))
        assert pinned is not None
        if pinned.block > head:
            raise _ahead(pinned, reference, head)
        target = pinned.snapshot()
    finally:
        if own:
            rebuild.close()
        if own_pin and pinned is not None:
            pinned.close()
    differences = compare_snapshots(reference, target)
    if getattr(bundle, "replay", None) is not None and pinned.block == head:
        # The replay's state is the bundle head's: compared only when the mirror is at it too.
        differences += chain_keys(bundle.replay.state, target)
    if differences:
        raise MirrorError(
            f"the mirror differs from the chain at its checkpoint, block {pinned.block}: " + describe(differences)
        )
    rows = sum(t.count for t in reference.tables.values())
    reach = f" (the bundle reaches block {head})" if pinned.block < head else ""
    return (
        f"mirror digest {reference.digest} and all {len(reference.tables)} tables ({rows} rows) equal the rebuild "
        f"at the mirror's checkpoint, block {pinned.block}{reach}",
        {"digest": reference.digest, "tables": len(reference.tables), "rows": rows, "block": pinned.block},
    )

"""Ways to doctor a published mirror (a copied SQLite file), each returning what it touched:
(table, key values) so a test can check the comparison names that very row."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from typing import Any

Touched = tuple[str, list[tuple[Any, ...]]]  # table, keys of the rows changed

SKIP = {"alembic_version"}


def _tables(db: sqlite3.Connection) -> dict[str, tuple[list[str], list[str]]]:
    """table -> (columns, primary key columns)."""
    out = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        if name in SKIP:
            continue
        info = db.execute(f"PRAGMA table_info({name})").fetchall()
        columns = [r[1] for r in info]
        key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5] > 0]
        out[name] = (columns, key)
    return out


def drop_secondary_indexes(db: sqlite3.Connection) -> None:
    """A forger with write access can drop constraints; so do we, to write any row we like."""
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall():
        db.execute(f'DROP INDEX "{name}"')


def _rows(db: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    cursor = db.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _pick_table(db: sqlite3.Connection, rng: random.Random, want: Callable[[str, list[str]], bool]) -> str:
    tables = _tables(db)
    choices = [t for t, (cols, _) in tables.items() if want(t, cols) and db.execute(f"SELECT 1 FROM {t}").fetchone()]
    return rng.choice(sorted(choices))


def _key(row: dict[str, Any], key: list[str]) -> tuple[Any, ...]:
    return tuple(row[k] for k in key)


def _where(key: list[str]) -> str:
    return " AND ".join(f"{k} = ?" for k in key)


def _fresh_key(db: sqlite3.Connection, table: str, row: dict[str, Any], key: list[str], rng: random.Random) -> dict:
    new = dict(row)
    for k in key:
        value = row[k]
        if isinstance(value, int):
            top = db.execute(f"SELECT MAX({k}) FROM {table}").fetchone()[0]
            new[k] = top + 1 + rng.randrange(5)
        else:
            new[k] = f"{value}-X{rng.randrange(10**6)}"
    return new


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    cols = list(row)
    db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", list(row.values()))


AMOUNT_COLUMNS = {
    "disbursements": ["amount"],
    "reversals": ["amount"],
    "projects": ["allocation", "initial_allocation", "disbursed", "reversed", "net", "remaining"],
    "allocation_amendments": ["previous_allocation", "new_allocation"],
    "events": ["fields"],
}


def change_amount(db: sqlite3.Connection, rng: random.Random) -> Touched:
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, _: t in AMOUNT_COLUMNS)
    key = tables[table][1]
    rows = _rows(db, table)
    if table == "events":
        rows = [r for r in rows if '"amount"' in r["fields"] or "allocation" in r["fields"].lower()]
    row = rng.choice(rows)
    delta = rng.choice([-1, 1]) * rng.randint(1, 10_000)
    if table == "events":
        fields = json.loads(row["fields"])
        name = rng.choice([k for k in fields if "amount" in k.lower() or "allocation" in k.lower()])
        value = fields[name]
        fields[name] = type(value)(int(value) + delta) if not isinstance(value, str) else str(int(value) + delta)
        db.execute(
            "UPDATE events SET fields = ? WHERE seq = ?",
            (json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False), row["seq"]),
        )
    else:
        column = rng.choice(AMOUNT_COLUMNS[table])
        db.execute(f"UPDATE {table} SET {column} = {column} + ? WHERE {_where(key)}", (delta, *_key(row, key)))
    return table, [_key(row, key)]


def delete_row(db: sqlite3.Connection, rng: random.Random) -> Touched:
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, _: t != "checkpoint")
    key = tables[table][1]
    row = rng.choice(_rows(db, table))
    db.execute(f"DELETE FROM {table} WHERE {_where(key)}", _key(row, key))
    return table, [_key(row, key)]


def insert_fake_row(db: sqlite3.Connection, rng: random.Random) -> Touched:
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, _: t not in ("checkpoint", "ledger"))
    columns, key = tables[table]
    row = _fresh_key(db, table, rng.choice(_rows(db, table)), key, rng)
    # Make it look new as well: another value in a non-key integer column if there is one.
    for c in columns:
        if c not in key and isinstance(row[c], int) and not isinstance(row[c], bool):
            row[c] = row[c] + 1 + rng.randrange(100)
            break
    _insert(db, table, row)
    return table, [_key(row, key)]


def duplicate_row(db: sqlite3.Connection, rng: random.Random) -> Touched:
    """The same row recorded twice: identical content under the next free key."""
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, _: t not in ("checkpoint", "ledger"))
    key = tables[table][1]
    row = _fresh_key(db, table, rng.choice(_rows(db, table)), key, rng)
    _insert(db, table, row)
    return table, [_key(row, key)]


def swap_rows(db: sqlite3.Connection, rng: random.Random) -> Touched:
    """Two rows of a table exchange everything but their keys."""
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, _: len(_rows(db, t)) >= 2 and t not in ("checkpoint", "ledger"))
    columns, key = tables[table]
    rows = _rows(db, table)
    others = [c for c in columns if c not in key]
    while True:
        a, b = rng.sample(rows, 2)
        if any(a[c] != b[c] for c in others):
            break
    for src, dst in ((a, b), (b, a)):
        sets = ", ".join(f"{c} = ?" for c in others)
        db.execute(f"UPDATE {table} SET {sets} WHERE {_where(key)}", [src[c] for c in others] + list(_key(dst, key)))
    return table, [_key(a, key), _key(b, key)]


def change_block_hash(db: sqlite3.Connection, rng: random.Random) -> Touched:
    tables = _tables(db)
    table = _pick_table(db, rng, lambda t, cols: "block_hash" in cols or t == "blocks")
    column = "hash" if table == "blocks" else "block_hash"
    key = tables[table][1]
    row = rng.choice(_rows(db, table))
    db.execute(
        f"UPDATE {table} SET {column} = ? WHERE {_where(key)}", ("0x" + rng.randbytes(32).hex(), *_key(row, key))
    )
    return table, [_key(row, key)]


def move_reversal_before_target(db: sqlite3.Connection, rng: random.Random) -> Touched:
    """A reversal made to look as if it came before the disbursement it reverses."""
    reversal = rng.choice(_rows(db, "reversals"))
    target = db.execute(
        "SELECT block_number, log_index FROM disbursements WHERE seq = ?", (reversal["original_seq"],)
    ).fetchone()
    if rng.random() < 0.5:
        # In the ledger order: the two events trade sequence numbers.
        r, t = reversal["seq"], reversal["original_seq"]
        db.execute("UPDATE events SET seq = -1 WHERE seq = ?", (r,))
        db.execute("UPDATE events SET seq = ? WHERE seq = ?", (r, t))
        db.execute("UPDATE events SET seq = ? WHERE seq = -1", (t,))
        return "events", [(r,), (t,)]
    # In chain position: the reversal's block is moved before the target's.
    db.execute(
        "UPDATE reversals SET block_number = ?, log_index = ? WHERE seq = ?",
        (target[0] - 1 - rng.randrange(3), target[1], reversal["seq"]),
    )
    return "reversals", [(reversal["seq"],)]


MUTATIONS: dict[str, Callable[[sqlite3.Connection, random.Random], Touched]] = {
    "change an amount": change_amount,
    "delete a row": delete_row,
    "insert a fake row": insert_fake_row,
    "swap two rows": swap_rows,
    "change a block hash": change_block_hash,
    "duplicate a row": duplicate_row,
    "move a reversal before its target": move_reversal_before_target,
}

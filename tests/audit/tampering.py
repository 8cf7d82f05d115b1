"""Ways to doctor a bundle on disk, for the tamper tests. "Resealed" variants also rewrite
the manifest's SHA-256 list, as a forger would, so that only the cryptographic checks stand."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import orjson

from audit.bundle import HEADERS, LOGS, RECEIPTS, read_manifest, write_manifest
from audit.headers import header_hash


def copy_bundle(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def reseal(directory: Path) -> None:
    write_manifest(directory, read_manifest(directory))


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _write(path: Path, rows: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def flip_hex(value: str, rng: random.Random) -> str:
    """The same 0x-hex string with one bit of one digit flipped."""
    digits = value[2:]
    i = rng.randrange(len(digits))
    flipped = format(int(digits[i], 16) ^ (1 << rng.randrange(4)), "x")
    return "0x" + digits[:i] + flipped + digits[i + 1 :]


def flip_header_bit(directory: Path, rng: random.Random) -> str:
    path = directory / HEADERS
    rows = _lines(path)
    i = rng.randrange(len(rows))
    name = rng.choice(sorted(k for k, v in rows[i].items() if isinstance(v, str) and len(v) > 2))
    rows[i][name] = flip_hex(rows[i][name], rng)
    _write(path, rows)
    return f"header {i} field {name}"


def flip_receipt_bit(directory: Path, rng: random.Random) -> str:
    path = directory / RECEIPTS
    rows = _lines(path)
    i = rng.randrange(len(rows))
    j = rng.randrange(len(rows[i]["receipts"]))
    rows[i]["receipts"][j] = flip_hex(rows[i]["receipts"][j], rng)
    _write(path, rows)
    return f"block {rows[i]['block']} receipt {j}"


def flip_log_bit(directory: Path, rng: random.Random) -> str:
    path = directory / LOGS
    rows = _lines(path)
    i = rng.randrange(len(rows))
    name = rng.choice(["data", "topics", "tx_hash", "block_hash", "address"])
    if name == "topics":
        k = rng.randrange(len(rows[i]["topics"]))
        rows[i]["topics"][k] = flip_hex(rows[i]["topics"][k], rng)
    else:
        rows[i][name] = flip_hex(rows[i][name], rng)
    _write(path, rows)
    return f"log {i} field {name}"


def replace_parent(directory: Path, rng: random.Random) -> str:
    """Swap a header for a self-consistent forgery (its own hash recomputed): the chain must break."""
    path = directory / HEADERS
    rows = _lines(path)
    i = rng.randrange(len(rows))
    rows[i]["timestamp"] = hex(int(rows[i]["timestamp"], 16) + 1 + rng.randrange(1000))
    rows[i]["hash"] = "0x" + header_hash(rows[i]).hex()
    _write(path, rows)
    return f"header {i} replaced by a forgery"


def truncate_file(directory: Path, rng: random.Random) -> str:
    name = rng.choice([HEADERS, RECEIPTS, LOGS])
    path = directory / name
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data))])
    return f"{name} truncated"

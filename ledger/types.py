"""Domain values and their on-chain forms: codes as bytes32, baht as integer satang.

>>> encode_code("MOE-01")[:8]  # left-aligned ASCII, zero padded to 32 bytes
b'MOE-01\\x00\\x00'
>>> parse_baht("1,234.50 บาท")
123450
>>> format_baht(123450)
'1234.50'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ledger.errors import LedgerError

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543  # Buddhist Era year = Gregorian year + 543

# Domain bounds the contract enforces too (tests/contracts/test_bounds.py holds them equal).
CODE_MAX_LENGTH = 32  # a code fills at most the bytes32 it is stored in
MIN_FISCAL_YEAR = 2500  # B.E.; BudgetLedger._MIN_FISCAL_YEAR
MAX_FISCAL_YEAR = 2700  # B.E.; BudgetLedger._MAX_FISCAL_YEAR
# The mirror's money columns are signed 64-bit (SQLite INTEGER, PostgreSQL BIGINT).
MAX_SATANG = 2**63 - 1
# The contract's cap on an allocation (BudgetLedger._MAX_ALLOCATION): 100 trillion baht, about
# 30 times Thailand's whole annual budget, so that 922 projects at the cap still sum in MAX_SATANG.
MAX_ALLOCATION = 10**16

_CODE = re.compile(rf"[A-Za-z0-9._/-]{{1,{CODE_MAX_LENGTH}}}")
# Digits with optional thousands separators, then at most two decimals, then an optional unit.
_BAHT = re.compile(r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]*))?")
_UNITS = ("บาท", "baht", "THB", "฿")


class ValueFormatError(LedgerError, ValueError):
    """A code, amount or hash given by a user is malformed."""


def encode_code(code: str, what: str = "code") -> bytes:
    """A project, agency, service or voucher code as the bytes32 the contract stores."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueFormatError(f"{what} {code!r} must be 1-{CODE_MAX_LENGTH} characters of A-Z a-z 0-9 . _ / -")
    return code.encode("ascii").ljust(32, b"\0")


def canonical_voucher(text: str) -> str:
    """The one spelling of a voucher number: surrounding spaces removed, letters upper-cased.

    ``pv-a-0001``, `` PV-A-0001 `` and ``PV-A-0001`` are one paper voucher, so they must be one
    key on chain. The contract compares bytes (a case fold there would cost gas in every batch
    item), so the write side sends only this form.
    """
    stripped = text.strip() if isinstance(text, str) else text
    encode_code(stripped, "voucher")  # the charset first: "ß".upper() is "SS"
    return stripped.upper()


def decode_code(raw: bytes) -> str:
    """The text of a bytes32 code; codes not written by our tools come back as 0x-hex."""
    text = raw.rstrip(b"\0")
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + raw.hex()
    if not _CODE.fullmatch(decoded) or b"\0" in text:
        return "0x" + raw.hex()
    return decoded


# Thai clerks write Thai digits; every other script's digits are refused, since some look like
# other ASCII digits (Bengali ৪ is four, and looks like 8).
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def ascii_digits(text: str, what: str) -> str:
    """``text`` with Thai digits as ASCII; a digit of any other script is refused by name."""
    converted = text.translate(_THAI_DIGITS)
    for ch in converted:
        if ch.isdigit() and not "0" <= ch <= "9":
            name = unicodedata.name(ch, "a digit")
            raise ValueFormatError(
                f"{what} {text!r} has {ch!r} ({name}, U+{ord(ch):04X}); write digits as 0-9 or Thai ๐-๙"
            )
    return converted


# Explicit bidi embeddings, overrides and isolates reorder the text around them when shown.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters that render as nothing (Hangul fillers, the blank braille pattern).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def check_text(text: str, what: str, *, required: bool = True) -> str:
    """Free text published on chain (a reason, a name), refused if a reader could be fooled by it.

    Refused: control characters other than newline and tab, bidi embeddings/overrides/isolates,
    and text with nothing visible (only spaces, zero-width or other format characters); empty
    text only when ``required``. Returns the text unchanged.
    """
    for ch in text:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) == "Cc":
            raise ValueFormatError(f"{what} has the control character U+{ord(ch):04X}; remove it")
        if ch in _BIDI_CONTROLS:
            raise ValueFormatError(
                f"{what} has the bidi control U+{ord(ch):04X} ({unicodedata.name(ch)}), which reorders text; remove it"
            )
    if not text and not required:
        return text
    if not any(unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_LETTERS for ch in text):
        raise ValueFormatError(f"{what} must not be empty" + (" (it has only invisible characters)" if text else ""))
    return text


def parse_baht(text: str) -> int:
    """Parse a baht amount typed by a person into satang.

    Accepts ``1234.5``, ``1,234.50``, ``1234.50 บาท``, ``฿1,234``, and Thai digits (``๑,๒๓๔.๕๐``).
    Refuses signs, more than two decimals, misplaced separators, text without digits and
    digits of any other script (named in the message).
    """
    if not isinstance(text, str):
        raise ValueFormatError(f"amount {text!r} is not text")
    cleaned = ascii_digits(text, "amount").strip()
    for unit in _UNITS:
        if cleaned.endswith(unit):
            cleaned = cleaned[: -len(unit)].strip()
        if cleaned.startswith(unit):
            cleaned = cleaned[len(unit) :].strip()
    match = _BAHT.fullmatch(cleaned)
    if not match:
        raise ValueFormatError(f"amount {text!r} is not a baht amount like 1,234.50")
    frac = match.group("frac") or ""
    if len(frac) > 2:
        raise ValueFormatError(f"amount {text!r} has more than two decimals (satang is the smallest unit)")
    baht = int(match.group("int").replace(",", ""))
    return baht * 100 + int(frac.ljust(2, "0"))


def format_baht(satang: int) -> str:
    """Satang as a decimal string with two places: 123450 -> '1234.50' (JSON's money form)."""
    sign = "-" if satang < 0 else ""
    whole, part = divmod(abs(satang), 100)
    return f"{sign}{whole}.{part:02d}"


def fiscal_year_of(moment: date | datetime) -> int:
    """The Thai government fiscal year (B.E.) containing a date: 1 Oct - 30 Sep.

    A datetime is first converted to Bangkok time (naive datetimes are taken as UTC).
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(BANGKOK).date()
    year = moment.year + 1 if moment.month >= 10 else moment.year
    return year + BE_OFFSET


def parse_hash(text: str, what: str = "hash") -> bytes:
    """A 32-byte hash written as 64 hex digits, with or without 0x."""
    cleaned = text.strip().lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{64}", cleaned):
        raise ValueFormatError(f"{what} {text!r} must be 64 hexadecimal digits")
    return bytes.fromhex(cleaned)


# Tracking codes: 160 random bits (>= 128 required), shown as 32 Crockford base32 characters
# in groups of four. On chain the 20 bytes sit left-aligned in a bytes32.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_IN = {c: i for i, c in enumerate(_CROCKFORD)} | {"I": 1, "L": 1, "O": 0}
TRACKING_BYTES = 20


def new_tracking_code() -> str:
    """A fresh unguessable tracking code for an applicant."""
    import secrets

    return decode_tracking(secrets.token_bytes(TRACKING_BYTES).ljust(32, b"\0"))


def encode_tracking(text: str) -> bytes:
    """Parse a tracking code as typed (any case, dashes or spaces, I/L/O read as 1/1/0)."""
    cleaned = "".join(ch for ch in text.upper() if ch not in "- ")
    if len(cleaned) != 32 or any(ch not in _CROCKFORD_IN for ch in cleaned):
        raise ValueFormatError(f"tracking code {text!r} must be 32 letters and digits, like 7K3M-Q9XA-...")
    number = 0
    for ch in cleaned:
        number = number * 32 + _CROCKFORD_IN[ch]
    return number.to_bytes(TRACKING_BYTES, "big").ljust(32, b"\0")


def decode_tracking(raw: bytes) -> str:
    """The printed form of an on-chain tracking code.

    A bytes32 whose low 12 bytes are not zero is no tracking code (the contract refuses it
    now; older deployments did not): it comes back as the 0x-hex of all 32 bytes, so that no
    two on-chain values print alike.
    """
    if len(raw) != 32 or any(raw[TRACKING_BYTES:]):
        return "0x" + raw.hex()
    number = int.from_bytes(raw[:TRACKING_BYTES], "big")
    chars = "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(32)))
    return "-".join(chars[i : i + 4] for i in range(0, 32, 4))

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from ledger.types import (
    ValueFormatError,
    decode_code,
    encode_code,
    fiscal_year_of,
    format_baht,
    parse_baht,
    parse_hash,
)


@pytest.mark.parametrize(
    ("text", "satang"),
    [
        ("1234.5", 123450),
        ("1,234.50", 123450),
        ("1234.50 บาท", 123450),
        ("฿1,234", 123400),
        ("0.01", 1),
        ("800,000,000", 80_000_000_000),
        ("7", 700),
    ],
)
def test_parse_baht_accepts(text: str, satang: int) -> None:
    assert parse_baht(text) == satang


@pytest.mark.parametrize("text", ["", "บาท", "-5", "+5", "1.234", "1,23.00", "12,34", "abc", "1e5", "1 234", ".5"])
def test_parse_baht_refuses(text: str) -> None:
    with pytest.raises(ValueFormatError):
        parse_baht(text)


def test_format_baht_round_trips() -> None:
    for satang in (0, 1, 99, 100, 123450, 10**15 + 7):
        assert parse_baht(format_baht(satang)) == satang
    assert format_baht(5) == "0.05"


def test_codes_round_trip_and_refuse() -> None:
    raw = encode_code("MOE/2568-01.a_b")
    assert len(raw) == 32 and decode_code(raw) == "MOE/2568-01.a_b"
    for bad in ("", "x" * 33, "กระทรวง", "a b", "a\0"):
        with pytest.raises(ValueFormatError):
            encode_code(bad)
    assert decode_code(b"\xff" * 32) == "0x" + "ff" * 32


def test_fiscal_years_are_buddhist_era() -> None:
    assert fiscal_year_of(date(2024, 10, 1)) == 2568
    assert fiscal_year_of(date(2024, 9, 30)) == 2567
    # 30 Sep 2024 20:00 UTC is already 1 Oct in Bangkok.
    assert fiscal_year_of(datetime(2024, 9, 30, 20, 0, tzinfo=UTC)) == 2568


def test_parse_hash() -> None:
    assert parse_hash("0x" + "ab" * 32) == bytes.fromhex("ab" * 32)
    with pytest.raises(ValueFormatError):
        parse_hash("abc")


def test_tracking_codes_round_trip_and_tolerate_typing() -> None:
    from ledger.types import decode_tracking, encode_tracking, new_tracking_code

    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        raw = encode_tracking(code)
        assert len(raw) == 32 and raw[20:] == b"\0" * 12
        assert decode_tracking(raw) == code
        assert encode_tracking(code.lower().replace("-", " ")) == raw
    assert encode_tracking("O" * 32) == encode_tracking("0" * 32)
    with pytest.raises(ValueFormatError):
        encode_tracking("ABC")
    with pytest.raises(ValueFormatError):
        encode_tracking("U" * 32)  # U is not in Crockford's alphabet


def test_no_two_on_chain_tracking_values_print_alike() -> None:
    """Issue 12 item 1: only the first 20 bytes were printed, so these two printed alike."""
    from ledger.types import decode_tracking

    canonical = bytes(range(1, 21)) + b"\0" * 12
    lookalikes = [canonical[:20] + bytes([0] * i + [1] + [0] * (11 - i)) for i in range(12)]
    printed = [decode_tracking(raw) for raw in [canonical, *lookalikes]]
    assert len(set(printed)) == 13
    assert printed[1:] == ["0x" + raw.hex() for raw in lookalikes]


@pytest.mark.parametrize(
    ("text", "satang"),
    [("๑,๒๓๔.๕๐", 123450), ("๔๐๐ บาท", 40000), ("฿๗", 700), ("1,๐๐๐.๐1", 100001)],
)
def test_thai_digits_are_amounts(text: str, satang: int) -> None:
    assert parse_baht(text) == satang


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("৪00", "BENGALI DIGIT FOUR"),  # looks like 8, was recorded as 400 baht
        ("４００", "FULLWIDTH DIGIT FOUR"),
        ("٤٠٠", "ARABIC-INDIC DIGIT FOUR"),
        ("1,2०0.00", "DEVANAGARI DIGIT ZERO"),
        ("5²", "SUPERSCRIPT TWO"),
    ],
)
def test_other_scripts_digits_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ValueFormatError, match=named) as refused:
        parse_baht(text)
    assert "\n" not in str(refused.value) and "0-9 or Thai" in str(refused.value)


def test_voucher_identity_is_case_and_space_blind() -> None:
    from ledger.types import canonical_voucher

    assert canonical_voucher(" pv-a-0001 ") == canonical_voucher("PV-A-0001") == "PV-A-0001"
    assert canonical_voucher("pv/2568.x_1") == "PV/2568.X_1"
    # Letters whose upper case is ASCII are still outside the charset, not folded into it.
    for bad in ("straße", "ﬁle-1", "pv-a-0001\u200b", "", "PV A"):
        with pytest.raises(ValueFormatError):
            canonical_voucher(bad)


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u00a0\u3000\t\n", "\u3164", "\u0e31", "", "\u00ad"],
)
def test_invisible_text_is_refused(text: str) -> None:
    from ledger.types import check_text

    with pytest.raises(ValueFormatError, match="must not be empty"):
        check_text(text, "the reason")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("paid\x00twice", "U+0000"),
        ("paid\rtwice", "U+000D"),
        ("paid\x1b[31m", "U+001B"),
        ("paid \u202eowt", "RIGHT-TO-LEFT OVERRIDE"),
        ("\u2067abc\u2069", "RIGHT-TO-LEFT ISOLATE"),
    ],
)
def test_control_and_bidi_characters_are_refused(text: str, named: str) -> None:
    from ledger.types import check_text

    with pytest.raises(ValueFormatError, match=re.escape(named)):
        check_text(text, "the reason")


def test_ordinary_text_passes_unchanged() -> None:
    from ledger.types import check_text

    for text in ("จ่ายซ้ำ - duplicate payment", "line one\nline two\tend", "👩\u200d💻 typo", "ก"):
        assert check_text(text, "the reason") == text
    assert check_text("", "an optional note", required=False) == ""
    with pytest.raises(ValueFormatError):
        check_text("\u200b", "an optional note", required=False)

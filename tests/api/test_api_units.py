"""Pure parts of the API: cursors, the token bucket, ETag matching, the working-day calendar."""

from __future__ import annotations

import hashlib
import stat
from datetime import date
from pathlib import Path

import pytest

from api.cursor import decode_cursor, encode_cursor
from api.database import open_mirror, to_pyformat
from api.errors import InvalidParameterError, SettingsError
from api.guard import TokenBuckets
from api.responses import matches
from api.routes.services import quantile
from indexer.workdays import add_working_days, is_working_day, working_days_between

SECRET = b"k" * 32


def test_cursor_round_trip_and_scope_binding() -> None:
    text = encode_cursor(SECRET, "projects\0MOE", ["P-1"])
    assert decode_cursor(SECRET, "projects\0MOE", text, (str,)) == ["P-1"]
    with pytest.raises(InvalidParameterError):
        decode_cursor(SECRET, "projects\0MOF", text, (str,))  # same list, other filters
    with pytest.raises(InvalidParameterError):
        decode_cursor(b"other", "projects\0MOE", text, (str,))


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "abc.def", "a.b.c", "%%%.%%%", "x" * 600, "eyJ4IjoxfQ.AAAA", "\u0e01.\u0e02", "W10.W10"],
)
def test_garbage_cursors_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidParameterError):
        decode_cursor(SECRET, "s", garbage, (int,))


def test_edited_cursor_is_refused() -> None:
    text = encode_cursor(SECRET, "s", [1000])
    body, mac = text.split(".")
    forged = encode_cursor(b"guess", "s", [5]).split(".")[0] + "." + mac
    assert decode_cursor(SECRET, "s", text, (int,)) == [1000]
    with pytest.raises(InvalidParameterError):
        decode_cursor(SECRET, "s", forged, (int,))
    with pytest.raises(InvalidParameterError):
        decode_cursor(SECRET, "s", text, (str,))  # right MAC, wrong shape for this list


def test_token_bucket_refuses_then_refills() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a")
    assert wait == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # another client is unaffected
    now[0] += 0.5
    assert buckets.take("a") == 0.0


def test_etag_matching_is_weak_comparison() -> None:
    assert matches('"abc"', '"abc"')
    assert matches('W/"abc"', '"abc"')
    assert matches('"x", "abc"', '"abc"')
    assert matches("*", '"abc"')
    assert not matches('"abd"', '"abc"')
    assert matches('W/"abc"', 'W/"abc"')
    assert matches('"abc"', 'W/"abc"')


def test_placeholders_translate_for_psycopg() -> None:
    assert to_pyformat("SELECT 1 WHERE a = :a AND b LIKE '%x' AND c::text = :c") == (
        "SELECT 1 WHERE a = %(a)s AND b LIKE '%%x' AND c::text = %(c)s"
    )


def test_mirror_urls() -> None:
    assert str(open_mirror("sqlite:////tmp/x.db").path) == "/tmp/x.db"  # type: ignore[attr-defined]
    assert str(open_mirror("sqlite:///var/x.db").path) == "var/x.db"  # type: ignore[attr-defined]
    with pytest.raises(SettingsError):
        open_mirror("sqlite:///:memory:")
    with pytest.raises(SettingsError):
        open_mirror("mysql://x/y")


def test_working_days_skip_weekends_and_thai_holidays() -> None:
    # Songkran 2025: Mon 14 and Tue 15 April, and Wed 16 in lieu of Sunday 13; 12/13 a weekend.
    assert not is_working_day(date(2025, 4, 12))
    assert not is_working_day(date(2025, 4, 14))
    assert not is_working_day(date(2025, 4, 16))
    assert is_working_day(date(2025, 4, 17))
    # Friday 11 April + 1 working day = Thursday 17 April.
    assert add_working_days(date(2025, 4, 11), 1) == date(2025, 4, 17)
    assert working_days_between(date(2025, 4, 11), date(2025, 4, 17)) == 1
    assert working_days_between(date(2025, 4, 17), date(2025, 4, 11)) == 0
    # Queen Suthida's birthday (Tue 3 June 2025) with a bridge holiday on Mon 2 June.
    assert working_days_between(date(2025, 6, 1), date(2025, 6, 6)) == 3
    assert working_days_between(date(2025, 6, 8), date(2025, 6, 13)) == 5


def test_quantiles_interpolate() -> None:
    assert quantile([], 0.5) is None
    assert quantile([3], 0.8) == 3
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([0, 10], 0.8) == 8


def test_counts_read_right_in_both_languages() -> None:
    from api.i18n import Words

    english, thai = Words("en"), Words("th")
    assert [english("n_projects", n=n) for n in (0, 1, 2)] == ["0 projects", "1 project", "2 projects"]
    assert english("n_agencies", n=1) == "1 agency" and english("n_agencies", n=5) == "5 agencies"
    assert thai("n_agencies", n=1) == "1 หน่วยงาน" and thai("n_projects", n=2) == "2 โครงการ"


def test_cursor_values_are_range_checked_even_when_signed() -> None:
    assert decode_cursor(SECRET, "s", encode_cursor(SECRET, "s", [2**63 - 1]), (int,)) == [2**63 - 1]
    for value in (2**63, -1):
        with pytest.raises(InvalidParameterError):
            decode_cursor(SECRET, "s", encode_cursor(SECRET, "s", [value]), (int,))
    for text in ("", "x" * 67, "MOE\0"):
        with pytest.raises(InvalidParameterError):
            decode_cursor(SECRET, "s", encode_cursor(SECRET, "s", [text]), (str,))


def _load_settings(monkeypatch: pytest.MonkeyPatch, database_url: str) -> bytes:
    from api.settings import load_api_settings
    from ledger.settings import get_settings

    monkeypatch.setenv("GOVLEDGER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        return load_api_settings().cursor_secret
    finally:
        get_settings.cache_clear()


def test_cursor_secret_is_random_persisted_private_or_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVLEDGER_API_CURSOR_SECRET", raising=False)
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(tmp_path / "var" / "deployment.json"))
    url = f"sqlite:///{tmp_path / 'var' / 'govledger.db'}"
    first = _load_settings(monkeypatch, url)
    # Not derivable from the database URL (which is often the public default).
    assert first != hashlib.sha256(b"govledger-cursor\0" + url.encode()).digest()
    assert len(first) >= 32
    stored = tmp_path / "var" / "api-cursor-secret"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # Every worker and every restart reads the same one, so cursors keep working.
    assert _load_settings(monkeypatch, url) == first
    # Another mirror elsewhere gets its own.
    assert _load_settings(monkeypatch, f"sqlite:///{tmp_path / 'other' / 'govledger.db'}") != first
    # PostgreSQL: kept beside the deployment file (var/).
    postgres = _load_settings(monkeypatch, "postgresql://nobody@127.0.0.1:1/none")
    assert postgres == first  # the same var/ folder as the SQLite mirror above
    monkeypatch.setenv("GOVLEDGER_API_CURSOR_SECRET", "one secret for every host")
    assert _load_settings(monkeypatch, url) == b"one secret for every host"

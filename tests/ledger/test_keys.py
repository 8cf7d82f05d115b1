"""Signing keys: keystore round trip, environment order, dev fallback, no key in any message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.errors import SigningKeyError
from ledger.keys import DEV_ADDRESS, DEV_PRIVATE_KEY, create_keystore, decrypt_keystore, keystore_address, load_account
from ledger.settings import Settings

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_keystore_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "officer.json"
    address = create_keystore(path, "correct horse", KEY)
    assert address == ADDRESS == keystore_address(path)
    assert KEY[2:] not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    assert decrypt_keystore(path, "correct horse").address == ADDRESS
    with pytest.raises(SigningKeyError, match="wrong password") as info:
        decrypt_keystore(path, "wrong")
    assert "correct horse" not in str(info.value)
    with pytest.raises(SigningKeyError, match="already exists"):
        create_keystore(path, "x")
    account = load_account(Settings(keystore=path, keystore_password="correct horse"), prompt=False)
    assert account.address == ADDRESS
    with pytest.raises(SigningKeyError, match="needs a password"):
        load_account(Settings(keystore=path), prompt=False)


def test_new_random_keystore(tmp_path: Path) -> None:
    address = create_keystore(tmp_path / "k.json", "pw")
    assert json.loads((tmp_path / "k.json").read_text())["address"].lower() == address[2:].lower()


def test_raw_key_warns_without_printing_it() -> None:
    warnings: list[str] = []
    account = load_account(Settings(private_key=KEY), warn=warnings.append)
    assert account.address == ADDRESS
    assert len(warnings) == 1 and "development only" in warnings[0] and KEY[2:] not in warnings[0]
    with pytest.raises(SigningKeyError) as info:
        load_account(Settings(private_key=KEY[:-4]), warn=warnings.append)
    assert KEY[2:-4] not in str(info.value)


def test_dev_key_only_on_dev_chain_when_allowed() -> None:
    warnings: list[str] = []
    assert load_account(Settings(), chain_id=31337, allow_dev_key=True, warn=warnings.append).address == DEV_ADDRESS
    assert warnings and DEV_PRIVATE_KEY[2:] not in warnings[0]
    for chain_id, allowed in ((1, True), (31337, False)):
        with pytest.raises(SigningKeyError, match="no signing key"):
            load_account(Settings(), chain_id=chain_id, allow_dev_key=allowed)

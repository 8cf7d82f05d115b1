"""Signing keys: an encrypted JSON keystore, or (development only) a raw private key.

Order of preference:

1. ``GOVLEDGER_KEYSTORE``: an eth-account (Web3 Secret Storage) JSON file; the password comes
   from ``GOVLEDGER_KEYSTORE_PASSWORD`` or, on a terminal, from a prompt.
2. ``GOVLEDGER_PRIVATE_KEY``: a raw hex key, for development only; a warning is printed.
3. On a local development chain (chain id 31337) commands that set a chain up (``deploy``,
   ``demo``) may fall back to anvil's first development account, whose key is public.

A key is never printed or logged: errors name the keystore path, never the key or password.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.errors import SigningKeyError
from ledger.settings import Settings

DEV_CHAIN_ID = 31337
# anvil's (and hardhat's) first development account: public knowledge, worthless outside a dev chain.
DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

Warn = Callable[[str], None]


def warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def account_from_private_key(private_key: str) -> LocalAccount:
    """A signer from a hex private key; the error never repeats the key."""
    try:
        return Account.from_key(private_key.strip())
    except (ValueError, TypeError):
        raise SigningKeyError("GOVLEDGER_PRIVATE_KEY is not a 32-byte hex private key") from None


def create_keystore(path: Path, password: str, private_key: str | bytes | None = None) -> str:
    """Write an encrypted keystore (a new random key unless one is given); returns its address.

    Refuses to overwrite an existing file: losing a keystore loses the key.
    """
    path = Path(path)
    if path.exists():
        raise SigningKeyError(f"{path} already exists; choose another path")
    if not password:
        raise SigningKeyError("a keystore needs a non-empty password")
    account = Account.create() if private_key is None else Account.from_key(private_key)
    encrypted = Account.encrypt(account.key, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from the start: the file is encrypted, but there is no reason to let others copy it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(encrypted, handle)
    return str(account.address)


def decrypt_keystore(path: Path, password: str) -> LocalAccount:
    """Open a keystore with its password."""
    path = Path(path)
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SigningKeyError(f"keystore {path} does not exist (GOVLEDGER_KEYSTORE)") from None
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"keystore {path} is not a readable JSON keystore: {exc.__class__.__name__}") from None
    try:
        key = Account.decrypt(encrypted, password)
    except ValueError:
        raise SigningKeyError(f"wrong password for keystore {path} (GOVLEDGER_KEYSTORE_PASSWORD)") from None
    except (KeyError, TypeError):
        raise SigningKeyError(f"keystore {path} is not an eth-account keystore") from None
    return Account.from_key(key)


def keystore_address(path: Path) -> str | None:
    """The address recorded in a keystore file, without decrypting it (None when absent)."""
    try:
        address = json.loads(Path(path).read_text(encoding="utf-8")).get("address")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(address, str) or not address:
        return None
    from eth_utils import to_checksum_address

    return str(to_checksum_address("0x" + address.removeprefix("0x")))


def load_account(
    settings: Settings,
    *,
    chain_id: int | None = None,
    allow_dev_key: bool = False,
    warn: Warn = warn_stderr,
    prompt: bool = True,
) -> LocalAccount:
    """The signing account the settings name.

    Args:
        chain_id: the chain the key will sign for; enables the dev-key fallback on 31337.
        allow_dev_key: let a local dev chain use anvil's first account when no key is set.
        prompt: ask for a keystore password on a terminal when the environment has none.
    """
    if settings.keystore is not None:
        password = settings.keystore_password
        if password is None:
            if not (prompt and sys.stdin.isatty()):
                raise SigningKeyError(
                    f"keystore {settings.keystore} needs a password: "
                    "set GOVLEDGER_KEYSTORE_PASSWORD or run on a terminal"
                )
            password = getpass.getpass(f"password for {settings.keystore}: ")
        return decrypt_keystore(settings.keystore, password)
    if settings.private_key:
        account = account_from_private_key(settings.private_key)
        warn(
            f"signing with GOVLEDGER_PRIVATE_KEY ({account.address}); raw keys are for development only, "
            "use GOVLEDGER_KEYSTORE"
        )
        return account
    if allow_dev_key and chain_id == DEV_CHAIN_ID:
        warn(f"no key configured; using anvil's public development account {DEV_ADDRESS} (local chain only)")
        return Account.from_key(DEV_PRIVATE_KEY)
    raise SigningKeyError("no signing key: set GOVLEDGER_KEYSTORE (and GOVLEDGER_KEYSTORE_PASSWORD)")

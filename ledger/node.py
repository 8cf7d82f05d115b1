"""Start the local development chain: anvil from the npm package @foundry-rs/anvil."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from ledger.errors import LedgerError
from ledger.paths import ANVIL_BIN


class NodeError(LedgerError):
    """The local chain could not be started or reached."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def anvil_binary() -> str:
    """anvil from node_modules (npm ships it for Linux x64), else one on PATH (Foundry's installer)."""
    if ANVIL_BIN.exists():
        return str(ANVIL_BIN)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise NodeError(
        f"anvil is not installed at {ANVIL_BIN}: run `npm ci` in the project root "
        "(on a platform other than Linux x64, install Foundry's anvil and put it on PATH)"
    )


def anvil_command(
    port: int, state: Path | None = None, *, chain_id: int = 31337, extra: list[str] | None = None
) -> list[str]:
    """The anvil command line. Loopback only; `--state` loads and saves the chain."""
    command = [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"]
    if state is not None:
        # --state loads at start and dumps on exit; the interval dump survives a crash.
        command += ["--state", str(state), "--state-interval", "5"]
    return command + list(extra or [])


def start_anvil(
    port: int | None = None, state: Path | None = None, *, extra: list[str] | None = None, wait: float = 30.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start anvil and wait until it answers; returns the process and its RPC URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = anvil_command(port, state, extra=extra)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
                raise NodeError(f"anvil exited with code {process.returncode}: {err[-500:]}")
            if rpc_ready(url):
                return process, url
            time.sleep(0.05)
        raise NodeError(f"anvil did not answer on {url} within {wait:.0f}s")
    except BaseException:
        # Also on Ctrl-C or SIGTERM while waiting: nobody else holds the process to stop it.
        stop(process)
        raise


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop anvil with SIGTERM (it dumps --state on the way out), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

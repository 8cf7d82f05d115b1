"""The README's guided tour, run as written against a fresh chain, mirror and API.

Each shell line of the tour runs in one bash session; lines marked `# exits 1` must fail,
every other line must succeed. The only rewrites are the ones a reader's machine makes
unnecessary: the demo's fixed ports and the `var/` folder become this test's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import node
from ledger.paths import PROJECT_ROOT

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

README = PROJECT_ROOT / "README.md"
BIN = Path(sys.executable).parent


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci


def tour_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    tour = text.split("## A guided tour", 1)[1].split("\n## ", 1)[0]
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", tour, re.S):
        lines += [line for line in block.splitlines() if line.strip()]
    return lines


def test_the_guided_tour_works_as_written(tmp_path: Path) -> None:
    lines = tour_lines()
    assert len(lines) >= 15
    var = tmp_path / "var"
    var.mkdir()
    api_port = node.free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GOVLEDGER_DATABASE_URL": f"sqlite:///{var}/govledger.db",
        "GOVLEDGER_DEPLOYMENT": str(var / "deployment.json"),
    }
    anvil, rpc_url = node.start_anvil()
    env["GOVLEDGER_RPC_URL"] = rpc_url
    server = None
    try:
        # What `govledger demo` would have done: deploy, index, serve.
        subprocess.run([BIN / "govledger", "deploy"], env={**env, "GOVLEDGER_PRIVATE_KEY": DEV_KEY}, check=True)
        subprocess.run([BIN / "govledger", "index"], env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            [BIN / "govledger", "serve", "--port", str(api_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not _answers(f"http://127.0.0.1:{api_port}/healthz"):
            assert time.monotonic() < deadline, "govledger serve did not start"
            time.sleep(0.2)

        script = ["set -u"]
        for number, line in enumerate(lines):
            command = re.sub(r"\s{2,}#\s.*$", "", line)  # the tour's trailing comments
            command = command.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{api_port}")
            command = command.replace("sqlite:///var/", f"sqlite:///{var}/").replace(" var/", f" {var}/")
            command = command.replace('open("var/', f'open("{var}/')
            if command.startswith(("curl", "govledger audit")):
                script.append("govledger index >/dev/null 2>&1")  # the demo's follower would have caught up
            if command.startswith(". .venv/bin/activate"):
                continue  # the test already runs inside the virtual environment
            script.append(f'{{ {command} ; }} > {tmp_path}/out.{number} 2>&1; echo "::rc {number} $?"')
        result = subprocess.run(
            ["bash", "-c", "\n".join(script)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        codes = dict(re.findall(r"::rc (\d+) (\d+)", result.stdout))
        assert len(codes) == sum(1 for line in lines if not line.startswith(". .venv")), result.stderr[-2000:]
        ran = 0
        for number, line in enumerate(lines):
            if line.startswith(". .venv/bin/activate"):
                continue
            output = (tmp_path / f"out.{number}").read_text(encoding="utf-8", errors="replace")
            expected_failure = "# exits 1" in line
            code = int(codes[str(number)])
            assert (code != 0) == expected_failure, f"line {number}: {line}\nexit {code}\n{output[-1500:]}"
            ran += 1
            if line.startswith("curl"):
                assert output.lstrip().startswith("{"), (line, output[:300])
        assert "verified: everything holds" in (tmp_path / f"out.{len(lines) - 1}").read_text(encoding="utf-8")
        print(f"README tour: {ran} commands ran as written")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        node.stop(anvil)


DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_no_national_id_on_a_command_line_in_the_docs() -> None:
    """The tour taught `--applicant-id 1101700230708`, which puts the ID in `ps` and shell history."""
    docs = [README, *(PROJECT_ROOT / "docs").glob("*.md")]
    given = re.compile(r"--applicant-id[ =]([^\s`'\")\]|]+)")
    found = [
        (path.name, value)
        for path in docs
        for value in given.findall(path.read_text(encoding="utf-8"))
        if value != "-"  # stdin
    ]
    assert found == []
    assert any("--applicant-id" in line for line in tour_lines()), "the tour opens a request"

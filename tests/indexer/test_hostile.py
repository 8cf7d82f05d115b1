"""Hostile-input fuzzer (issue 12): what the contract accepts must never stop, split or fool the mirror.

From the registrar's and two recorders' keys it sends raw transactions to a real anvil, calldata
encoded here with eth-abi (no CLI validation): strings with NUL, invalid UTF-8, 64 kB, bidi
overrides, control characters and zero-width characters; boundary amounts (1, the remaining
budget, the cap, cap + 1); colliding codes (tracking codes sharing 20 bytes, vouchers differing
only in case, vouchers with bytes no code has). Disburse-and-reverse rounds at the cap push a
project's gross disbursed past 2**63 - 1. After each batch it indexes into SQLite and PostgreSQL
through ``index_once`` (what ``govledger index`` calls) and checks: both finish with equal rows
and digests, the API answers for everything touched, ``audit verify --db`` passes, and the
mirror equals a fresh rebuild. The figures line shows how hard it pushed.

``GOVLEDGER_HOSTILE_SEED`` picks the seed (default 12).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from indexer.errors import IndexerError
from indexer.sync import index_once
from ledger.artifacts import load_artifact
from ledger.audit.events import abi_type
from ledger.audit.export import export_bundle
from ledger.audit.source import HttpSource
from ledger.audit.verify import verify_bundle
from ledger.types import MAX_ALLOCATION, decode_tracking, encode_code

from .chain import deploy
from .conftest import counts, snapshot

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.xdist_group("indexer-hostile")]

SEED = int(os.environ.get("GOVLEDGER_HOSTILE_SEED", "12"))
BATCHES = 2
ACTIONS = 90  # per batch, besides the disburse-and-reverse rounds
ROUNDS = 2**63 // MAX_ALLOCATION + 1  # rounds at the cap that take a gross total past 2**63 - 1
ZERO32 = b"\0" * 32


def hostile_string(rng: random.Random) -> tuple[str, bytes]:
    """(class, bytes) of a string the contract accepts as it is."""
    text = rng.choice(["ค่าอาหารกลางวัน", "Reason", "โครงการ", "x"])
    kind = rng.choice(["nul", "invalid-utf8", "64kB", "bidi", "control", "zero-width", "marker", "plain"])
    value = {
        "nul": (text + "\0" + text).encode(),
        "invalid-utf8": rng.choice([b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xe0\xb8", b"\x80"]) + text.encode(),
        "64kB": (text * 20_000).encode()[: 64 * 1024],
        "bidi": f"\u202e{text}\u202c \u2066{text}\u2069".encode(),
        "control": f"{text}\x07\x1b[31m\r\n\t\x7f".encode(),
        "zero-width": "\u200b\u200c\u200d\ufeff".encode(),
        "marker": ("\ufffd0x" + text.encode().hex()).encode(),
        "plain": text.encode(),
    }[kind]
    return kind, value


class Hostile:
    """Raw transactions and what the chain accepted, with a light model to aim at the edges."""

    def __init__(self, w3: Any, contract: Any, rng: random.Random) -> None:
        self.w3 = w3
        self.address = contract.address
        self.rng = rng
        self.admin = w3.eth.accounts[0]
        self.recorders = {"H-A": w3.eth.accounts[1], "H-B": w3.eth.accounts[2]}
        self.functions = {}
        for item in load_artifact()["abi"]:
            if item.get("type") == "function":
                types = [abi_type(p) for p in item["inputs"]]
                selector = keccak(f"{item['name']}({','.join(types)})".encode())[:4]
                # Strings as bytes: the ABI encoding is the same and any bytes go through.
                self.functions[item["name"]] = (selector, [t.replace("string", "bytes") for t in types])
        self.sent = self.accepted = 0
        self.classes: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.projects: dict[bytes, list[Any]] = {}  # code -> [agency, allocation, net]
        self.vouchers: dict[str, list[tuple[bytes, bytes, int]]] = {"H-A": [], "H-B": []}  # (project, voucher, amount)
        self.requests: dict[bytes, list[Any]] = {}  # tracking -> [agency, service, state]
        self.services: dict[bytes, int] = {}  # code -> number of states (a chain 0 -> 1 -> ...)
        self.touched: dict[str, set[str]] = {"agencies": set(), "projects": set(), "requests": set()}
        self.counter = 0
        self.last_tx = ""

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def send(self, sender: str, name: str, *args: Any, classes: tuple[str, ...] = (), wait: bool = True) -> bool:
        selector, types = self.functions[name]
        data = selector + abi_encode(types, list(args))
        # Straight to the node: web3's send_transaction asks for fees and a nonce on every call.
        call = {"from": sender, "to": self.address, "data": "0x" + data.hex(), "gas": hex(29_000_000)}
        answer = self.w3.provider.make_request("eth_sendTransaction", [call])
        assert "error" not in answer, answer["error"]
        tx = self.last_tx = answer["result"]
        self.sent += 1
        self.classes.update(classes)
        if not wait:
            return True
        ok = self.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)["status"] == 1
        self.accepted += ok
        if not ok:
            self.refusals[name] += 1
        return ok

    # -- setup ----------------------------------------------------------------------------

    def setup(self) -> None:
        for agency, recorder in self.recorders.items():
            kind, name = hostile_string(self.rng)
            self.send(self.admin, "registerAgency", encode_code(agency), name, b"Agency \0", classes=(kind,))
            self.send(self.admin, "addRecorder", encode_code(agency), recorder)
            self.touched["agencies"].add(agency)
        self.define_service()

    # -- actions --------------------------------------------------------------------------

    def define_service(self) -> None:
        code = encode_code(self.fresh("svc"))
        count = self.rng.randint(2, 4)
        strings = [hostile_string(self.rng) for _ in range(count + 1)]
        states = [s for _, s in strings[:count]]
        transitions = [(i, i + 1, 0) for i in range(count - 1)]
        classes = tuple(k for k, _ in strings)
        if self.send(
            self.admin, "defineService", code, states, [1] * count, [strings[-1][1]], transitions, classes=classes
        ):
            self.services[code] = count

    def register_project(self) -> None:
        agency = self.rng.choice(sorted(self.recorders))
        code = encode_code(self.fresh("P"))
        amount_class, allocation = self.rng.choice(
            [("one", 1), ("cap", MAX_ALLOCATION), ("cap+1", MAX_ALLOCATION + 1), ("uint128", 2**128 - 1)]
            + [("plain", 10**9)] * 3
        )
        kind, name = hostile_string(self.rng)
        item = (code, encode_code(agency), 2568, allocation, name)
        if self.send(self.admin, "registerProjects", [item], classes=(kind, f"allocation:{amount_class}")):
            self.projects[code] = [agency, allocation, 0]
            self.touched["projects"].add(code.rstrip(b"\0").decode())

    def amend(self) -> None:
        if not self.projects:
            return
        code = self.rng.choice(sorted(self.projects))
        agency, _, net = self.projects[code]
        amount_class, value = self.rng.choice(
            [("cap", MAX_ALLOCATION), ("cap+1", MAX_ALLOCATION + 1), ("net", net), ("net-1", max(net - 1, 0))]
        )
        kind, reason = hostile_string(self.rng)
        if self.send(self.admin, "amendAllocation", code, value, reason, classes=(kind, f"amend:{amount_class}")):
            self.projects[code][1] = value

    def voucher(self, agency: str) -> tuple[str, bytes]:
        base = self.fresh("pv-a")
        used = self.vouchers[agency]
        kind = self.rng.choice(["plain", "case", "nul-inside", "non-ascii", "trailing-space", "reuse"])
        if kind == "case" and used:
            # Differs from a voucher already on chain only in letter case.
            text = used[-1][1].rstrip(b"\0").decode(errors="replace")
            flipped = text.swapcase().encode()
            return (
                ("voucher:case", flipped.ljust(32, b"\0"))
                if flipped.isascii()
                else ("voucher:plain", encode_code(base))
            )
        if kind == "reuse" and used:
            return "voucher:reuse", used[-1][1]
        # Equal to a voucher on chain once spaces or what follows a NUL are dropped.
        last = used[-1][1].rstrip(b"\0")[:28] if used else base.encode()
        raw = {
            "nul-inside": last + b"\0X",
            "non-ascii": "ใบสำคัญ".encode()[:30],
            "trailing-space": b" " + last + b" ",
        }.get(kind, base.encode())
        return f"voucher:{kind}", raw.ljust(32, b"\0")[:32]

    def disburse(self) -> None:
        agency = self.rng.choice(sorted(self.recorders))
        mine = [c for c, p in self.projects.items() if p[0] == agency]
        if not mine:
            return
        items, classes = [], []
        for _ in range(self.rng.choice([1, 1, 3])):
            project = self.rng.choice(mine)
            _, allocation, net = self.projects[project]
            remaining = allocation - net
            amount_class, amount = self.rng.choice(
                [("one", 1), ("remaining", remaining), ("remaining+1", remaining + 1), ("cap", MAX_ALLOCATION)]
            )
            voucher_class, voucher = self.voucher(agency)
            payee = self.rng.choice([encode_code("PAYEE-1"), b"\xff" * 32, b"PAY\0EE".ljust(32, b"\0")])
            linked = [t for t, r in self.requests.items() if r[0] == agency]
            tracking = self.rng.choice(linked) if linked and self.rng.random() < 0.3 else ZERO32
            items.append((project, voucher, amount, payee, self.rng.randbytes(32), tracking))
            classes += [f"amount:{amount_class}", voucher_class]
        if self.send(self.recorders[agency], "disburseBatch", items, classes=tuple(classes)):
            for project, voucher, amount, *_ in items:
                self.projects[project][2] += amount
                self.vouchers[agency].append((project, voucher, amount))

    def reverse(self) -> None:
        agency = self.rng.choice(sorted(self.recorders))
        if not self.vouchers[agency]:
            return
        project, voucher, amount = self.rng.choice(self.vouchers[agency])
        kind, reason = hostile_string(self.rng)
        if self.send(self.recorders[agency], "reverse", voucher, reason, classes=(kind,)):
            self.projects[project][2] -= amount
            self.vouchers[agency].remove((project, voucher, amount))

    def open_request(self) -> None:
        if not self.services:
            return
        agency = self.rng.choice(sorted(self.recorders))
        service = self.rng.choice(sorted(self.services))
        kind = self.rng.choice(["canonical", "canonical", "lookalike", "all-32-bytes"])
        if kind == "lookalike" and not self.requests:
            kind = "canonical"
        tracking = self.rng.randbytes(20) + bytes(12)
        if kind == "lookalike" and self.requests:
            # The first 20 bytes of another agency's request: it would print alike.
            tracking = self.rng.choice(sorted(self.requests))[:20] + bytes(11) + b"\x01"
        elif kind == "all-32-bytes":
            tracking = self.rng.randbytes(32)
        commitment = self.rng.randbytes(32)
        if self.send(
            self.recorders[agency], "openRequest", service, tracking, commitment, classes=(f"tracking:{kind}",)
        ):
            assert kind == "canonical" or not any(tracking[20:]), "the contract accepted a non-canonical code"
            self.requests[tracking] = [agency, service, 0]
            self.touched["requests"].add(decode_tracking(tracking))

    def advance(self) -> None:
        movable = [t for t, r in self.requests.items() if r[2] + 1 < self.services[r[1]]]
        if not movable:
            return
        tracking = self.rng.choice(movable)
        agency, _, state = self.requests[tracking]
        kind, reason = hostile_string(self.rng)
        if self.send(self.recorders[agency], "advanceRequest", tracking, state + 1, reason, classes=(kind,)):
            self.requests[tracking][2] += 1

    def rounds_at_the_cap(self, rounds: int) -> None:
        """Disburse the whole cap and reverse it, ``rounds`` times: the gross grows, the net does not."""
        agency = "H-A"
        code = encode_code(self.fresh("P-CAP"))
        self.send(self.admin, "registerProjects", [(code, encode_code(agency), 2568, MAX_ALLOCATION, b"cap")])
        self.touched["projects"].add(code.rstrip(b"\0").decode())
        recorder = self.recorders[agency]
        for i in range(rounds):
            voucher = encode_code(f"CAP-{self.counter}-{i}")
            item = (code, voucher, MAX_ALLOCATION, encode_code("PAYEE-1"), ZERO32, ZERO32)
            self.send(recorder, "disburse", item, classes=("amount:cap-round",), wait=False)
            self.send(recorder, "reverse", voucher, b"round", wait=False)
        # anvil mines them in nonce order, and each disbursement of the whole cap needs the previous
        # reversal: the last reversal's receipt settles every round.
        receipt = self.w3.eth.wait_for_transaction_receipt(self.last_tx, timeout=120, poll_latency=0.05)
        assert receipt["status"] == 1, "the rounds at the cap were refused"
        self.accepted += 2 * rounds

    def batch(self) -> None:
        actions = [
            self.register_project,
            self.amend,
            self.disburse,
            self.disburse,
            self.disburse,
            self.reverse,
            self.open_request,
            self.open_request,
            self.advance,
            self.define_service,
        ]
        for _ in range(ACTIONS):
            self.rng.choice(actions)()


def _api_answers(url: str, touched: dict[str, set[str]]) -> list[str]:
    """Paths that did not answer 200 over the mirror at ``url``."""
    settings = ApiSettings(database_url=url, cursor_secret=b"hostile-secret", rate_limit=0.0)
    paths = ["/v1/checkpoint", "/v1/summary", "/v1/agencies", "/v1/projects", "/v1/disbursements?limit=100"]
    paths += [f"/v1/agencies/{code}" for code in sorted(touched["agencies"])]
    paths += [f"/v1/projects/{code}" for code in sorted(touched["projects"])]
    paths += [f"/v1/disbursements?project={code}" for code in sorted(touched["projects"])]
    paths += [f"/v1/requests/{code}" for code in sorted(touched["requests"])]
    # The dashboard renders the same hostile names and reasons as HTML.
    paths += ["/", "/verify", "/performance"] + [f"/agencies/{code}" for code in sorted(touched["agencies"])]
    paths += [f"/projects/{code}" for code in sorted(touched["projects"])]
    paths += [f"/track?code={code}" for code in sorted(touched["requests"])]
    failed = []
    with TestClient(create_app(settings)) as client:
        for path in paths:
            if client.get(path).status_code != 200:
                failed.append(path)
    return failed


def test_hostile_raw_transactions_never_stop_split_or_fool_the_mirror(
    anvil: tuple[str, Any], pg_url: str, tmp_path: Path
) -> None:
    url, w3 = anvil
    started = time.monotonic()
    contract, deployment = deploy(w3)
    hostile = Hostile(w3, contract, random.Random(SEED))
    hostile.setup()
    mirrors = {"sqlite": f"sqlite:///{tmp_path / 'mirror.db'}", "postgresql": pg_url}
    stops = disagreements = api_failures = 0
    spent: Counter[str] = Counter()  # seconds per phase

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        begun = time.monotonic()
        yield
        spent[name] += time.monotonic() - begun

    for number in range(BATCHES):
        with phase("send"):
            hostile.batch()
            if number == 0:  # so that the next batch indexes on top of totals beyond the bound
                hostile.rounds_at_the_cap(ROUNDS)
        with phase("index"):
            for name, mirror in mirrors.items():
                try:
                    index_once(url, mirror, deployment)
                except IndexerError as exc:
                    stops += 1
                    pytest.fail(f"batch {number}: the {name} indexer stopped: {exc}")
        with phase("compare"):
            sqlite, postgres = snapshot(mirrors["sqlite"]), snapshot(mirrors["postgresql"])
            differing = [t for t in sqlite if sqlite[t] != postgres[t]]
            disagreements += len(differing)
            assert not differing, (
                f"batch {number}: SQLite and PostgreSQL differ in {differing}: "
                f"{counts(sqlite)} {counts(postgres)} {sqlite['checkpoint']} {postgres['checkpoint']}"
            )

        with phase("rebuild"):
            rebuilt = f"sqlite:///{tmp_path / f'rebuilt-{number}.db'}"
            index_once(url, rebuilt, deployment)
            fresh = snapshot(rebuilt)
            assert (fresh["digest"], counts(fresh)) == (sqlite["digest"], counts(sqlite)), "mirror != fresh rebuild"
            assert fresh == sqlite, f"batch {number}: the mirror differs from a fresh rebuild"

        with phase("api"):
            for mirror in mirrors.values():
                failed = _api_answers(mirror, hostile.touched)
                api_failures += len(failed)
                assert not failed, f"batch {number}: the API did not answer {failed[:5]}"

        with phase("audit"):
            bundle = tmp_path / f"bundle-{number}"
            export_bundle(HttpSource(url), deployment.address, deployment.deploy_block, bundle, samples=5)
            report = verify_bundle(bundle, db_url=mirrors["sqlite"], recompile=False)
            assert report.ok, "\n".join(report.lines())

    events = snapshot(mirrors["sqlite"])["events"]
    unheld = TestClient(create_app(ApiSettings(database_url=mirrors["sqlite"], cursor_secret=b"s", rate_limit=0.0)))
    with unheld as client:
        flagged = client.get("/v1/checkpoint").json()["unheld"]
    assert any(cell["column"] == "disbursed" for cell in flagged), "the gross past 2**63 - 1 is not flagged"
    refused = ", ".join(f"{name} {n}" for name, n in hostile.refusals.most_common())
    print(
        f"\nhostile fuzzer figures (seed {SEED}): {hostile.sent} transactions, {hostile.accepted} accepted,"
        f" {len(events)} events, {len(hostile.classes)} hostile classes ({sum(hostile.classes.values())} uses),"
        f" {BATCHES} batches x 2 backends, backend disagreements {disagreements}, indexer stops {stops},"
        f" API failures {api_failures}, unheld cells flagged {len(flagged)}, {time.monotonic() - started:.1f} s"
        f" ({', '.join(f'{name} {seconds:.1f}' for name, seconds in spent.items())})"
        f"\nhostile classes: {dict(sorted(hostile.classes.items()))}\nrefused: {refused}"
    )
    assert hostile.classes.keys() >= {"nul", "invalid-utf8", "64kB", "bidi", "control", "zero-width"}
    assert {"tracking:lookalike", "voucher:case", "amount:remaining", "allocation:cap+1"} <= hostile.classes.keys()

"""The recording commands end to end on a real anvil: successes, refusals, exit codes, JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import scripts.govledger as govledger
from ledger.settings import get_settings

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("recording-cli")]

REGISTRAR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OFFICER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OFFICER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
STRANGER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "budget"


class Cli:
    """`govledger` in-process, exactly as `main` runs it (sub-commands registered once)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        if not getattr(govledger, "_recording_tests_loaded", False):
            govledger._load()
            govledger._recording_tests_loaded = True  # type: ignore[attr-defined]
        # main() registers the sub-commands on every call; in one process once is enough.
        monkeypatch.setattr(govledger, "_load", lambda: None)

    def as_key(self, key: str | None) -> Cli:
        if key is None:
            self.monkeypatch.delenv("GOVLEDGER_PRIVATE_KEY", raising=False)
        else:
            self.monkeypatch.setenv("GOVLEDGER_PRIVATE_KEY", key)
        return self

    def __call__(self, *args: str) -> tuple[int, str, str]:
        get_settings.cache_clear()
        try:
            govledger.main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out

    def fails(self, *args: str) -> str:
        """Run a command that must fail; returns its one-line reason."""
        code, out, err = self(*args)
        assert code != 0, (args, out, err)
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, err
        return lines[0]


@pytest.fixture
def cli(
    chain_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    """A fresh deployment (registrar = anvil key 0) with agencies MOE (officer) and SCH (other)."""
    monkeypatch.setenv("GOVLEDGER_RPC_URL", chain_url)
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(tmp_path / "deployment.json"))
    for name in ("GOVLEDGER_KEYSTORE", "GOVLEDGER_KEYSTORE_PASSWORD", "GOVLEDGER_AGENCY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    runner = Cli(capsys, monkeypatch).as_key(REGISTRAR_KEY)
    runner.ok("deploy", "--force")
    runner.ok("agency", "add", "MOE", "--name", "กระทรวงศึกษาธิการ", "--recorder", OFFICER)
    runner.ok("agency", "add", "SCH", "--name", "โรงเรียน", "--name-en", "School", "--recorder", OTHER)
    runner.ok(
        "project", "add", "MOE-2568-001", "--agency", "MOE", "--fiscal-year", "2568", "--budget", "1,500,000.00",
        "--name", "ห้องเรียน",
    )  # fmt: skip
    yield runner
    get_settings.cache_clear()


def test_deploy_refuses_to_overwrite_a_live_deployment(cli: Cli, tmp_path: Path) -> None:
    before = json.loads((tmp_path / "deployment.json").read_text())
    assert "live deployment" in cli.fails("deploy") and "--force" in cli.fails("deploy")
    assert json.loads((tmp_path / "deployment.json").read_text()) == before
    assert set(before) >= {"chain_id", "address", "deploy_block", "deploy_block_hash", "artifact_sha256", "compiler"}
    data = json.loads(cli.ok("deploy", "--force", "--json"))
    assert data["address"] != before["address"] and data["chain_id"] == 31337


def test_disburse_add_reverse_and_refusals(cli: Cli, tmp_path: Path) -> None:
    cli.as_key(OFFICER_KEY)
    document = tmp_path / "invoice.pdf"
    document.write_bytes(b"%PDF invoice")
    out = cli.ok(
        "disburse", "add", "MOE-2568-001", "1,000.50 บาท", "--payee", "0105551234567", "--voucher", "PV-1",
        "--document", str(document), "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert (
        data["amount"] == "1000.50"
        and data["document_hash"] == __import__("hashlib").sha256(b"%PDF invoice").hexdigest()
    )
    disbursement_id = data["id"]
    assert "over budget: project MOE-2568-001 has 1498999.50 baht remaining, 2000000.00 requested" in cli.fails(
        "disburse", "add", "MOE-2568-001", "2000000", "--payee", "X", "--voucher", "PV-2"
    )
    assert "voucher PV-1 is already recorded for agency MOE" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "PV-1"
    )
    assert "more than two decimals" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1.001", "--payee", "X", "--voucher", "V"
    )
    assert "must be more than zero" in cli.fails(
        "disburse", "add", "MOE-2568-001", "0", "--payee", "X", "--voucher", "V"
    )
    assert "project NOPE is not registered" in cli.fails(
        "disburse", "add", "NOPE", "1", "--payee", "X", "--voucher", "V"
    )
    assert "64 hexadecimal digits" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "V", "--document-hash", "abc"
    )
    out = cli.ok("reverse", str(disbursement_id), "--reason", "typed twice")
    assert f"reversed disbursement {disbursement_id}" in out and "voucher PV-1" in out
    assert "already reversed" in cli.fails("reverse", str(disbursement_id), "--reason", "again")
    assert f"no disbursement has id {disbursement_id + 100}" in cli.fails(
        "reverse", str(disbursement_id + 100), "--reason", "x"
    )
    cli.as_key(OTHER_KEY)
    assert "belongs to agency MOE, not to SCH" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "V9"
    )
    cli.as_key(REGISTRAR_KEY)
    assert "is not a recorder of any agency" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "V9"
    )


def test_registrar_commands_and_their_refusals(cli: Cli) -> None:
    assert "agency MOE is already registered" in cli.fails(
        "agency", "add", "MOE", "--name", "x", "--recorder", STRANGER
    )
    assert "must be 1-32 characters" in cli.fails("agency", "add", "กระทรวง", "--name", "x", "--recorder", STRANGER)
    assert "not an 0x address" in cli.fails("agency", "add", "NEW", "--name", "x", "--recorder", "0x123")
    assert "already records for agency MOE" in cli.fails("agency", "recorder", "add", "SCH", OFFICER)
    data = json.loads(cli.ok("agency", "recorder", "add", "SCH", STRANGER, "--json"))
    assert data["recorder"] == STRANGER and data["seq"] > 0
    assert "no longer records" in cli.ok("agency", "recorder", "remove", "SCH", STRANGER)
    assert "does not record for agency SCH" in cli.fails("agency", "recorder", "remove", "SCH", STRANGER)
    assert "project MOE-2568-001 is already registered" in cli.fails(
        "project", "add", "MOE-2568-001", "--agency", "MOE", "--fiscal-year", "2568", "--budget", "1", "--name", "x"
    )
    assert "not a Buddhist Era fiscal year" in cli.fails(
        "project", "add", "P2", "--agency", "MOE", "--fiscal-year", "2025", "--budget", "1", "--name", "x"
    )
    assert "the ledger's cap" in cli.fails(
        "project",
        "add",
        "P2",
        "--agency",
        "MOE",
        "--fiscal-year",
        "2568",
        "--budget",
        "100000000000000.01",
        "--name",
        "x",
    )
    assert "agency NOPE is not registered" in cli.fails(
        "project", "add", "P2", "--agency", "NOPE", "--fiscal-year", "2568", "--budget", "1", "--name", "x"
    )
    out = json.loads(
        cli.ok(
            "project",
            "add",
            "P2",
            "--agency",
            "SCH",
            "--fiscal-year",
            "2568",
            "--budget",
            "10.5",
            "--name",
            "x",
            "--json",
        )
    )
    assert out["allocation"] == "10.50"
    cli.as_key(OFFICER_KEY)
    assert "lacks the registrar role" in cli.fails("agency", "add", "NEW", "--name", "x", "--recorder", STRANGER)
    cli.as_key(REGISTRAR_KEY)
    assert "granted registrar" in cli.ok("role", "grant", "registrar", OFFICER)
    cli.as_key(OFFICER_KEY)
    cli.ok("agency", "add", "NEW", "--name", "ใหม่", "--recorder", STRANGER)
    cli.as_key(REGISTRAR_KEY)
    assert "revoked registrar" in cli.ok("role", "revoke", "registrar", OFFICER)
    assert "is not one of" in cli.fails("role", "grant", "king", OFFICER)
    assert "started the admin hand-over" in cli.ok("role", "grant", "admin", OFFICER)
    cli.as_key(OTHER_KEY)
    assert "lacks the admin role" in cli.fails("role", "grant", "admin", OTHER)
    # The hand-over is accepted strictly after its scheduled second.
    from ledger.client import HttpTransport

    HttpTransport(get_settings().rpc_url).request("evm_increaseTime", [2])
    cli.as_key(OFFICER_KEY)
    assert "accepted the admin role" in cli.ok("role", "grant", "admin", OFFICER)


def test_request_open_and_advance(cli: Cli, tmp_path: Path) -> None:
    cli.ok("agency", "add", "FUND", "--name", "กองทุน", "--recorder", STRANGER)
    cli.as_key(OFFICER_KEY)
    id_file = tmp_path / "applicant-id.txt"
    id_file.write_text("1101700230708\n")
    code, out, err = cli(
        "request", "open", "--service", "student-loan", "--agency", "MOE", "--applicant-id-file", str(id_file)
    )
    assert code == 0, err
    assert "development secret" in err
    tracking = re.search(r"tracking code: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"([0-9A-Z]{4}-){7}[0-9A-Z]{4}", tracking)
    assert re.search(r"salt: 0x[0-9a-f]{64}", out) and re.search(r"commitment: 0x[0-9a-f]{64}", out)
    assert "1101700230708" not in out + err
    id_file.write_text("1101700230709\n")
    assert "not a valid Thai national ID" in cli.fails(
        "request", "open", "--service", "student-loan", "--agency", "MOE", "--applicant-id-file", str(id_file)
    )
    id_file.write_text("1101700230708\n")
    assert "your key records for agency MOE, not SCH" in cli.fails(
        "request", "open", "--service", "student-loan", "--agency", "SCH", "--applicant-id-file", str(id_file)
    )
    assert "unknown service" in cli.fails(
        "request", "open", "--service", "passport", "--agency", "MOE", "--applicant-id-file", str(id_file)
    )
    reason = cli.fails("request", "advance", tracking, "--to", "closed")
    assert "cannot go to 'closed'; allowed next states: school-verified, returned-for-correction, rejected" in reason
    # The owner may not take the school's step: the contract refuses, decoded.
    assert "does not hold role 1" in cli.fails("request", "advance", tracking, "--to", "school-verified")
    cli.as_key(REGISTRAR_KEY)
    cli("agency", "add", "X", "--name", "x", "--recorder", STRANGER)  # may fail: STRANGER already FUND's
    cli.as_key(OTHER_KEY)
    assert "does not hold role 1" in cli.fails("request", "advance", tracking, "--to", "school-verified")
    from ledger.client import LedgerClient

    admin = LedgerClient.from_settings(get_settings(), signer=False)
    admin.account = __import__("eth_account").Account.from_key(REGISTRAR_KEY)
    admin.set_service_role("student-loan", 1, "SCH")
    data = json.loads(cli.ok("request", "advance", tracking, "--to", "school-verified", "--json"))
    assert (data["from"], data["to"]) == ("submitted", "school-verified")
    assert "no request with tracking code" in cli.fails("request", "advance", "0" * 31 + "1", "--to", "x")


def test_budget_import_two_real_volumes(cli: Cli) -> None:
    first = json.loads(cli.ok("budget", "import", str(FIXTURES / "2022-3-7.csv"), "--json"))
    assert {r["item_id"] for r in first["refused"]} == {"2022.3.7.257", "2022.3.7.500", "2022.3.7.735"}
    assert first["rows"] == 1114 and first["projects"]["existing"] == 0
    second = json.loads(cli.ok("budget", "import", str(FIXTURES / "2022-3-10.csv"), "--fiscal-year", "2565", "--json"))
    assert [r["item_id"] for r in second["refused"]] == ["2022.3.10.1453"]
    again = cli.ok("budget", "import", str(FIXTURES / "2022-3-7.csv"))
    assert "refused 2022.3.7.500: malformed amount '25,000,0'" in again
    assert f"projects 0 added, {first['projects']['added']} existing" in again
    for result in (first, second):
        print(
            f"budget import: rows {result['rows']}, imported {result['imported_rows']}, "
            f"other years {result['other_fiscal_year_rows']}, refused {result['refused_by_reason']}, "
            f"agencies {result['agencies']}, projects {result['projects']}, allocated {result['allocated']}"
        )
    # New agencies get recorder keys afterwards.
    agency = sorted(first["agency_codes"])[0]
    assert "now records for agency" in cli.ok("agency", "recorder", "add", agency, STRANGER)
    assert "does not exist" in cli.fails("budget", "import", "missing.csv")


def test_disburse_import_reports_and_exit_codes(cli: Cli, tmp_path: Path) -> None:
    cli.as_key(OFFICER_KEY)
    good = tmp_path / "good.csv"
    header = "project_code,amount,payee,voucher,document_hash,request,paid_on\n"
    good.write_text(header + "".join(f"MOE-2568-001,{i}.50,PAY,G{i},,,2025-03-0{i % 9 + 1}\n" for i in range(1, 40)))
    data = json.loads(cli.ok("disburse", "import", str(good), "--batch-size", "10", "--json"))
    assert (data["recorded"], data["already_on_ledger"], data["refused"], data["batches"]) == (39, 0, [], 4)
    out = cli.ok("disburse", "import", str(good))
    assert "0 recorded, 39 already on the ledger, 0 refused" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + "MOE-2568-001,1,PAY,B1,,,2025-01-01\nMOE-2568-001,1,PAY,B1,,,2025-01-01\nZZ,1,P,B2,,,2025-01-01\n"
    )
    code, out, err = cli("disburse", "import", str(bad))
    assert code == 1 and "line 3: voucher B1 repeats line 2" in out and "line 4: unknown project ZZ" in out
    assert "1 recorded" in out and "error: 2 rows refused" in err
    assert "header must be" in cli.fails("disburse", "import", str(FIXTURES / "2022-3-7.csv"))


def test_officer_with_a_keystore(cli: Cli, tmp_path: Path) -> None:
    """`key new` → registrar adds the address → the officer records with GOVLEDGER_KEYSTORE."""
    keystore = tmp_path / "officer.json"
    cli.monkeypatch.setenv("GOVLEDGER_KEYSTORE_PASSWORD", "s3cret pass")
    created = json.loads(cli.ok("key", "new", str(keystore), "--json"))
    address = created["address"]
    assert "already exists" in cli.fails("key", "new", str(keystore))
    cli.ok("agency", "add", "KEYS", "--name", "หน่วยกุญแจ", "--recorder", address)
    cli.ok("project", "add", "KEYS-1", "--agency", "KEYS", "--fiscal-year", "2568", "--budget", "100", "--name", "x")
    from ledger.client import HttpTransport

    HttpTransport(get_settings().rpc_url).request("anvil_setBalance", [address, hex(10**20)])
    cli.as_key(None)
    cli.monkeypatch.setenv("GOVLEDGER_KEYSTORE", str(keystore))
    code, out, err = cli("disburse", "add", "KEYS-1", "10", "--payee", "P", "--voucher", "K1")
    assert code == 0 and "recorded disbursement" in out and "warning" not in err
    cli.monkeypatch.setenv("GOVLEDGER_KEYSTORE_PASSWORD", "wrong")
    assert "wrong password for keystore" in cli.fails(
        "disburse", "add", "KEYS-1", "10", "--payee", "P", "--voucher", "K2"
    )
    assert "s3cret" not in keystore.read_text()


def test_the_national_id_is_never_taken_from_argv(cli: Cli, tmp_path: Path) -> None:
    """Issue 12: `--applicant-id N` put the ID in `ps` and the shell history."""
    import io
    import sys

    from ledger.client import LedgerClient

    cli.as_key(OFFICER_KEY)
    reader = LedgerClient.from_settings(get_settings(), signer=False)
    head = reader.ledger_head()
    open_ = ("request", "open", "--service", "complaint", "--agency", "MOE")
    reason = cli.fails(*open_, "--applicant-id", "1101700230708")
    assert "never put the national ID on the command line" in reason and "--applicant-id -" in reason
    assert "--applicant-id-file" in reason and "1101700230708" not in reason
    assert reader.ledger_head() == head  # nothing was sent
    # From stdin with `-`.
    cli.monkeypatch.setattr(sys, "stdin", io.StringIO("1101700230708\n"))
    data = json.loads(cli.ok(*open_, "--applicant-id", "-", "--json"))
    assert data["service"] == "complaint" and reader.ledger_head()[0] == head[0] + 1
    cli.monkeypatch.setattr(sys, "stdin", io.StringIO("1101700230709\n"))
    assert "not a valid Thai national ID" in cli.fails(*open_, "--applicant-id", "-")
    # Neither flag, stdin not a terminal: refused, nothing read or sent.
    cli.monkeypatch.setattr(sys, "stdin", io.StringIO("1101700230708\n"))
    assert "stdin is not a terminal" in cli.fails(*open_)
    # Neither flag at a terminal: a prompt that does not echo.
    asked: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    cli.monkeypatch.setattr(sys, "stdin", Terminal())
    cli.monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "1101700230708")
    assert "tracking code:" in cli.ok(*open_)
    assert asked == ["applicant's national ID (not shown): "]
    assert reader.ledger_head()[0] == head[0] + 2
    assert "not both" in cli.fails(*open_, "--applicant-id", "-", "--applicant-id-file", str(tmp_path / "x"))
    assert "cannot read the national ID" in cli.fails(*open_, "--applicant-id-file", str(tmp_path / "missing"))
    assert "--applicant-id -" in cli.ok("request", "open", "--help")


@pytest.mark.parametrize(
    "reason",
    ["\u200b", "\u200b\u2060\ufeff", " \u3000 ", "paid\x00twice", "paid\x1b[2Jtwice", "see \u202ePV-1"],
)
def test_invisible_control_or_bidi_reasons_and_names_are_refused(cli: Cli, reason: str) -> None:
    from ledger.client import LedgerClient

    reader = LedgerClient.from_settings(get_settings(), signer=False)
    head = reader.ledger_head()
    for command in (
        ("agency", "add", "NEW", "--name", reason, "--recorder", STRANGER),
        ("agency", "add", "NEW", "--name", "ใหม่", "--name-en", reason, "--recorder", STRANGER),
        ("project", "add", "P9", "--agency", "MOE", "--fiscal-year", "2568", "--budget", "1", "--name", reason),
    ):
        assert re.search("must not be empty|control character|bidi control", cli.fails(*command)), command
    cli.as_key(OFFICER_KEY)
    out = json.loads(cli.ok("disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "R-1", "--json"))
    head = reader.ledger_head()
    assert re.search(
        "must not be empty|control character|bidi control", cli.fails("reverse", str(out["id"]), "--reason", reason)
    )
    tracking = "0000-0000-0000-0000-0000-0000-0000-0001"
    assert re.search(
        "must not be empty|control character|bidi control",
        cli.fails("request", "advance", tracking, "--to", "x", "--reason", reason),
    )
    assert reader.ledger_head() == head
    assert "reversed disbursement" in cli.ok("reverse", str(out["id"]), "--reason", "จ่ายซ้ำ\nduplicate")


def test_voucher_case_and_spaces_do_not_count_in_disburse_add(cli: Cli) -> None:
    cli.as_key(OFFICER_KEY)
    data = json.loads(
        cli.ok("disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", " pv-a-0001 ", "--json")
    )
    assert data["voucher"] == "PV-A-0001"
    assert "voucher PV-A-0001 is already recorded for agency MOE" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "PV-A-0001"
    )
    assert "letter case and surrounding spaces do not count" in " ".join(cli.ok("disburse", "add", "--help").split())
    # A voucher recorded as typed before vouchers were canonical still counts.
    from ledger.client import Disbursement, LedgerClient

    officer = LedgerClient.from_settings(get_settings())
    officer.disburse(Disbursement("MOE-2568-001", 1_00, "X", "legacy-1"))
    assert "voucher legacy-1 is already recorded for agency MOE" in cli.fails(
        "disburse", "add", "MOE-2568-001", "1", "--payee", "X", "--voucher", "legacy-1"
    )


def test_digits_of_other_scripts_are_refused_in_every_number(cli: Cli) -> None:
    """Issue 12 item 5: ৪ (Bengali four, which looks like 8) was recorded as 4."""
    cli.as_key(OFFICER_KEY)
    reason = cli.fails("disburse", "add", "MOE-2568-001", "৪00", "--payee", "X", "--voucher", "B-1")
    assert "BENGALI DIGIT FOUR" in reason and "0-9 or Thai" in reason
    data = json.loads(cli.ok("disburse", "add", "MOE-2568-001", "๔๐๐", "--payee", "X", "--voucher", "T-1", "--json"))
    assert data["amount"] == "400.00"
    # The CLI's integers (typer parses them with pydantic) take ASCII digits only.
    for args in (
        ("reverse", "১", "--reason", "x"),
        ("disburse", "import", "x.csv", "--batch-size", "１０"),
        ("project", "add", "P8", "--agency", "MOE", "--fiscal-year", "২৫৬৮", "--budget", "1", "--name", "x"),
        ("budget", "import", str(FIXTURES / "2022-3-7.csv"), "--fiscal-year", "٢٥٦٥"),
    ):
        code, _out, err = cli(*args)
        assert code == 2 and "valid integer" in err, (args, err)


def test_disburse_import_refuses_a_conflicting_row_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    """Issue 12 item 4: a row whose voucher is on the ledger with another payee exited 0, lost."""
    cli.as_key(OFFICER_KEY)
    header = "project_code,amount,payee,voucher,document_hash,request,paid_on\n"
    first = tmp_path / "first.csv"
    first.write_text(header + "MOE-2568-001,10.00,PAY-A,C-1,,,2025-01-01\n")
    cli.ok("disburse", "import", str(first))
    second = tmp_path / "second.csv"
    second.write_text(header + "MOE-2568-001,10.00,PAY-B,c-1,,,2025-01-01\nMOE-2568-001,2.00,PAY-A,C-2,,,2025-01-01\n")
    code, out, err = cli("disburse", "import", str(second))
    assert code == 1 and "error: 1 rows refused" in err
    assert "line 2: voucher C-1 is already used on the ledger" in out and "payee PAY-A on the ledger, PAY-B" in out
    assert "1 recorded, 0 already on the ledger, 1 refused" in out

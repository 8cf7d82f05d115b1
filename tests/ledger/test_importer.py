"""Disbursement CSV import: every refusal reason, earlier rows counted, re-runs record nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ImportFileError
from ledger.importer import HEADER, import_disbursements, plan_import
from ledger.values import Disbursement, ProjectSpec

GOOD_HASH = "ab" * 32


def _csv(path: Path, rows: list[str], bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + ",".join(HEADER) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def setup(anvil_fresh: dict[str, Any]) -> dict[str, Any]:
    admin = anvil_fresh["admin"]
    if not admin.agency_exists("OTHER"):
        admin.register_agency("OTHER", "อื่น")
    admin.register_projects(
        [
            ProjectSpec("P1", "MOE", 2568, 1_000_00, "หนึ่ง"),
            ProjectSpec("P2", "MOE", 2568, 100_000_00, "สอง"),
            ProjectSpec("OTH-1", "OTHER", 2568, 1_000_00, "อื่น"),
        ]
    )
    return anvil_fresh


def test_every_refusal_reason_with_line_numbers(setup: dict[str, Any], tmp_path: Path) -> None:
    moe = setup["client"](1)
    moe.disburse(Disbursement("P2", 5_00, "PAY", "ONCHAIN"))
    moe.disburse(Disbursement("P2", 7_00, "PAY", "ONCHAIN-OTHER"))
    rows = [
        f"P1,600.00,PAY,V1,{GOOD_HASH},,2025-01-31",  # 2 ok
        "P1,400.01,PAY,V2,,,2025-01-31",  # 3 over budget after line 2 (400.00 left)
        "P1,400.00,PAY,V3,,,2025-01-31",  # 4 ok: exactly the rest
        "NOPE,1,PAY,V4,,,2025-01-31",  # 5 unknown project
        "OTH-1,1,PAY,V5,,,2025-01-31",  # 6 another agency's project
        "P2,1.234,PAY,V6,,,2025-01-31",  # 7 three decimals
        "P2,0,PAY,V7,,,2025-01-31",  # 8 zero
        "P2,-5,PAY,V8,,,2025-01-31",  # 9 sign
        "P2,abc,PAY,V9,,,2025-01-31",  # 10 not an amount
        "P2,1,PAY,V1,,,2025-01-31",  # 11 voucher repeats line 2
        "P2,1,PAY,V10,xyz,,2025-01-31",  # 12 bad hash
        "P2,1,PAY,V11,,,2025-13-01",  # 13 bad date
        "P2,5.00,PAY,ONCHAIN,,,2025-01-31",  # 14 already on the ledger (same project and amount)
        "P2,9.00,PAY,ONCHAIN-OTHER,,,2025-01-31",  # 15 voucher used on chain by another disbursement
        "P2,1,ชื่อคน,V12,,,2025-01-31",  # 16 payee not a code
        "P2,1,PAY,V13,,ZZZZ,2025-01-31",  # 17 malformed tracking code
        "P2,1,PAY,V14,,," + "0" * 32 + ",2025-01-31",  # 18 too many columns
        "P2,1,PAY,V15,,0000-0000-0000-0000-0000-0000-0000-0001,2025-01-31",  # 19 unknown request
        'P2,"1,000.50",PAY,V16,,,2025-01-31',  # 20 ok with separators
    ]
    path = _csv(tmp_path / "pay.csv", rows, bom=True)
    plan = plan_import(moe, path)
    reasons = {r.line: r.reason for r in plan.refused}
    expected = {
        3: "over budget: project P1 has 400.00 baht remaining",
        5: "unknown project NOPE",
        6: "project OTH-1 belongs to agency OTHER, not to MOE",
        7: "more than two decimals",
        8: "must be positive",
        9: "is not a baht amount",
        10: "is not a baht amount",
        11: "voucher V1 repeats line 2",
        12: "document_hash 'xyz' must be 64 hexadecimal digits",
        13: "not an ISO date",
        15: "voucher ONCHAIN-OTHER is already used on the ledger by disbursement",
        16: "payee",
        17: "tracking code",
        18: "has 8 columns",
        19: "linked request",
    }
    assert set(reasons) == set(expected), reasons
    for line, text in expected.items():
        assert text in reasons[line], (line, reasons[line])
    assert [line for line, _ in plan.to_record] == [2, 4, 20]
    assert plan.already == [14]
    summary = import_disbursements(moe, path)
    assert (summary.recorded, summary.already, len(summary.refused), summary.stopped) == (3, 1, 15, None)
    assert moe.project("P1").remaining == 0
    assert moe.disbursement("MOE", "V16").amount == 1_000_50
    assert moe.disbursement("MOE", "V1").project == "P1"
    again = import_disbursements(moe, path)
    assert (again.recorded, again.already) == (0, 4)


def test_large_file_in_batches_and_resume(setup: dict[str, Any], tmp_path: Path) -> None:
    moe = setup["client"](1)
    rows = [f"P2,{i % 50 + 1}.25,PAY-{i % 7},R{i:05d},,,2025-02-01" for i in range(1200)]
    path = _csv(tmp_path / "many.csv", rows)
    # Pretend an earlier run was interrupted after some batches: record a slice directly.
    moe.disburse_batch(
        [Disbursement("P2", (i % 50 + 1) * 100 + 25, f"PAY-{i % 7}", f"R{i:05d}") for i in range(300, 450)]
    )
    progress: list[int] = []
    summary = import_disbursements(moe, path, batch_size=100, on_progress=progress.append)
    assert (summary.recorded, summary.already, summary.refused) == (1050, 150, [])
    assert sum(progress) == 1050 and summary.batches == 11
    head = moe.ledger_head()
    assert import_disbursements(moe, path).recorded == 0 and moe.ledger_head() == head
    state = moe.disbursements("MOE", [f"R{i:05d}" for i in range(1200)])
    assert all(s is not None and not s.reversed for s in state.values())
    assert len({s.seq for s in state.values()}) == 1200


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("project,amount\nP1,1\n", "header must be"),
        ("", "is empty"),
    ],
)
def test_unreadable_files(setup: dict[str, Any], tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        plan_import(setup["client"](1), path)
    with pytest.raises(ImportFileError, match="does not exist"):
        plan_import(setup["client"](1), tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\nP1,1,\xe9,V,,,2025-01-01\n")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        plan_import(setup["client"](1), latin)


def test_rows_grouped_by_project_keep_their_own_order(setup: dict[str, Any], tmp_path: Path) -> None:
    moe = setup["client"](1)
    rows = [f"{'P1' if i % 2 else 'P2'},{100 if i % 2 else 1}.00,PAY,I{i},,,2025-01-01" for i in range(20)]
    summary = import_disbursements(moe, _csv(tmp_path / "mixed.csv", rows), batch_size=8)
    assert (summary.recorded, summary.refused) == (20, [])
    assert moe.project("P1").remaining == 0  # ten rows of 100.00 exactly use the allocation
    seqs = {f"I{i}": moe.disbursement("MOE", f"I{i}").seq for i in range(20)}
    p1 = [seqs[f"I{i}"] for i in range(1, 20, 2)]
    p2 = [seqs[f"I{i}"] for i in range(0, 20, 2)]
    assert p1 == sorted(p1) and p2 == sorted(p2)  # each project's rows in file order
    assert max(p1) < min(p2)  # P1's rows went out together, before P2's


def test_a_voucher_on_the_ledger_with_other_values_is_refused_naming_each_field(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 12 item 4: such rows were counted "already on the ledger" and silently lost."""
    moe = setup["client"](1)
    tracking = "0000-0000-0000-0000-0000-0000-0000-0007"
    moe.open_request("student-loan", tracking, b"\x01" * 32)
    moe.disburse(Disbursement("P2", 5_00, "PAY", "SAME", bytes.fromhex(GOOD_HASH), tracking))
    for voucher in ("PAYEE", "DOC", "REQ", "ALL"):
        moe.disburse(Disbursement("P2", 5_00, "PAY", voucher, bytes.fromhex(GOOD_HASH), tracking))
    other_hash = "cd" * 32
    rows = [
        f"P2,5.00,PAY,SAME,{GOOD_HASH},{tracking.lower()},2025-01-31",  # 2 identical: already
        f"P2,5.00,OTHER-PAYEE,PAYEE,{GOOD_HASH},{tracking},2025-01-31",  # 3 payee differs
        f"P2,5.00,PAY,DOC,{other_hash},{tracking},2025-01-31",  # 4 document differs
        f"P2,5.00,PAY,REQ,{GOOD_HASH},,2025-01-31",  # 5 linked request dropped
        "P1,6.00,X,ALL,,,2025-01-31",  # 6 everything differs
        "P2,1.00,PAY,NEW,,,2025-01-31",  # 7 new: recorded
    ]
    path = _csv(tmp_path / "conflicts.csv", rows)
    plan = plan_import(moe, path)
    reasons = {r.line: r.reason for r in plan.refused}
    assert plan.already == [2] and [line for line, _ in plan.to_record] == [7]
    assert set(reasons) == {3, 4, 5, 6}, reasons
    assert reasons[3].startswith("voucher PAYEE is already used on the ledger by disbursement")
    assert "payee PAY on the ledger, OTHER-PAYEE in this row" in reasons[3]
    assert f"document_hash {GOOD_HASH} on the ledger, {other_hash} in this row" in reasons[4]
    assert f"request {tracking} on the ledger, none in this row" in reasons[5]
    for field in ("project P2 on the ledger, P1", "amount 5.00 on the ledger, 6.00", "payee PAY", "document_hash"):
        assert field in reasons[6], reasons[6]
    assert all("\n" not in reason for reason in reasons.values())
    summary = import_disbursements(moe, path)
    assert (summary.recorded, summary.already, len(summary.refused)) == (1, 1, 4)
    assert moe.recorded_disbursements([moe.disbursement("MOE", "PAYEE").seq]).popitem()[1].payee == "PAY"


def test_voucher_case_and_spaces_do_not_make_a_new_voucher(setup: dict[str, Any], tmp_path: Path) -> None:
    """One paper voucher was paid twice as pv-a-0001 and PV-A-0001."""
    moe = setup["client"](1)
    moe.disburse(Disbursement("P2", 5_00, "PAY", "PV-A-0001"))
    moe.disburse(Disbursement("P2", 5_00, "PAY", "PV-A-0002"))
    rows = [
        "P2,5.00,PAY, pv-a-0001 ,,,2025-01-31",  # 2 the same voucher, identical: already
        "P2,7.00,PAY,Pv-A-0002,,,2025-01-31",  # 3 the same voucher, another amount: refused
        "P2,1.00,PAY,pv-b-0001,,,2025-01-31",  # 4 new, recorded as PV-B-0001
        "P2,1.00,PAY,PV-B-0001,,,2025-01-31",  # 5 repeats line 4
        "P2,5.00,PAY,PV-A-0001,,,2025-01-31",  # 6 repeats line 2
    ]
    plan = plan_import(moe, _csv(tmp_path / "case.csv", rows))
    reasons = {r.line: r.reason for r in plan.refused}
    assert plan.already == [2] and [(line, d.voucher) for line, d in plan.to_record] == [(4, "PV-B-0001")]
    assert "voucher PV-A-0002 is already used" in reasons[3] and "amount 5.00 on the ledger, 7.00" in reasons[3]
    assert "voucher PV-B-0001 repeats line 4" in reasons[5] and "voucher PV-A-0001 repeats line 2" in reasons[6]
    import_disbursements(moe, tmp_path / "case.csv")
    assert moe.disbursement("MOE", "PV-B-0001") is not None and moe.disbursement("MOE", "pv-b-0001") is None


def test_a_voucher_recorded_before_canonical_form_is_found_as_typed(setup: dict[str, Any], tmp_path: Path) -> None:
    moe = setup["client"](1)
    moe.disburse(Disbursement("P2", 5_00, "PAY", "old-voucher"))  # recorded before canonicalisation
    rows = ["P2,5.00,PAY,old-voucher,,,2025-01-31", "P2,6.00,PAY,old-voucher2,,,2025-01-31"]
    plan = plan_import(moe, _csv(tmp_path / "legacy.csv", rows))
    assert plan.already == [2] and [line for line, _ in plan.to_record] == [3]


def test_digits_of_other_scripts_are_refused_with_line_and_character(setup: dict[str, Any], tmp_path: Path) -> None:
    moe = setup["client"](1)
    rows = [
        "P2,৪00,PAY,D1,,,2025-01-31",  # 2 Bengali four, looks like 8
        "P2,４,PAY,D2,,,2025-01-31",  # 3 full-width
        "P2,٤,PAY,D3,,,2025-01-31",  # 4 Arabic-Indic
        "P2,๔๐๐.๕๐,PAY,D4,,,๒๕๖๘-01-31",  # 5 Thai digits: 400.50 baht
        "P2,1,PAY,D5,,,২০২৫-01-31",  # 6 Bengali date
    ]
    plan = plan_import(moe, _csv(tmp_path / "digits.csv", rows))
    reasons = {r.line: r.reason for r in plan.refused}
    assert set(reasons) == {2, 3, 4, 6}, reasons
    assert "BENGALI DIGIT FOUR" in reasons[2] and "FULLWIDTH DIGIT FOUR" in reasons[3]
    assert "ARABIC-INDIC DIGIT FOUR" in reasons[4] and "paid_on" in reasons[6] and "BENGALI DIGIT TWO" in reasons[6]
    assert [(line, d.amount) for line, d in plan.to_record] == [(5, 400_50)]


def test_refusals_name_the_file_line_a_row_starts_on(setup: dict[str, Any], tmp_path: Path) -> None:
    """Issue 12 item 12: a quoted field holding newlines shifted every later line number."""
    moe = setup["client"](1)
    path = tmp_path / "multiline.csv"
    path.write_text(
        ",".join(HEADER) + "\n"  # line 1
        'P2,1.00,PAY,M1,,,"2025-01-31\n\nnot a date"\n'  # lines 2-4: refused at line 2
        "P2,abc,PAY,M2,,,2025-01-31\n"  # line 5
        "\n"  # line 6, blank
        "NOPE,1,PAY,M3,,,2025-01-31\n"  # line 7
        "P2,1,PAY,M4,,,2025-01-31\n",  # line 8: recorded
        encoding="utf-8",
    )
    plan = plan_import(moe, path)
    assert [r.line for r in plan.refused] == [2, 5, 7], plan.refused
    assert [line for line, _ in plan.to_record] == [8]

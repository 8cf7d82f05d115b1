"""The typed client against eth-tester: encoding, decoded custom errors, batches, reversal by id."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode

from ledger import errors
from ledger.artifacts import load_artifact
from ledger.client import ContractAbi, Disbursement, LedgerClient, ProjectSpec
from ledger.types import MAX_ALLOCATION, ValueFormatError, encode_code


def _projects(admin: LedgerClient) -> None:
    admin.register_projects(
        [
            ProjectSpec("MOE-2568-001", "MOE", 2568, 1_000_00, "ห้องเรียน"),
            ProjectSpec("SCH-2568-001", "SCH", 2568, 500_00, "อาหารกลางวัน"),
        ]
    )


def test_fast_batch_encoding_equals_eth_abi(chain: dict[str, Any]) -> None:
    client = chain["client"](1)
    ds = [
        Disbursement("P-1", 1, "PAYEE", "V1"),
        Disbursement("P-2", MAX_ALLOCATION, "X", "V/2", document_hash=bytes(range(32)), request="0" * 32),
    ]
    item = client.abi.functions["disburseBatch"]
    expected = item.selector + abi_encode(list(item.inputs), [[d.to_abi() for d in ds]])
    assert client.encode_disburse_batch([d.to_words() for d in ds]) == expected


def test_amounts_above_the_cap_are_refused_before_sending(chain: dict[str, Any]) -> None:
    """Issue 12 item 3: the CLI sent allocations up to 2**128 - 1, which stopped every indexer."""
    over = MAX_ALLOCATION + 1
    with pytest.raises(ValueFormatError, match="ledger's cap"):
        ProjectSpec("P-1", "MOE", 2568, over, "x").to_abi()
    for encode in (Disbursement.to_abi, Disbursement.to_words):
        with pytest.raises(ValueFormatError, match="ledger's cap"):
            encode(Disbursement("P-1", over, "X", "V1"))
    admin = chain["client"](0)
    with pytest.raises(ValueFormatError, match="ledger's cap"):
        admin.amend_allocation("MOE-2568-001", over, "more")
    assert ProjectSpec("P-1", "MOE", 2568, MAX_ALLOCATION, "x").to_abi()[3] == MAX_ALLOCATION


def test_every_abi_error_decodes(chain: dict[str, Any]) -> None:
    abi = ContractAbi(load_artifact()["abi"])
    errors_in_abi = [e for e in load_artifact()["abi"] if e["type"] == "error"]
    assert len(abi.errors) == len(errors_in_abi) >= 30
    for item in abi.errors.values():
        assert abi.decode_error(item.selector + b"\0" * 32 * len(item.inputs))[0] == item.name
    assert abi.decode_error(b"\xde\xad\xbe\xef") is None


def test_disburse_and_over_budget_error_carries_values(fresh: dict[str, Any]) -> None:
    _projects(fresh["admin"])
    moe = fresh["client"](1)
    result = moe.disburse(Disbursement("MOE-2568-001", 400_00, "SUP-1", "PV-1"))
    assert len(result.seqs) == 1 and result.seqs[0] == moe.ledger_head()[0]
    with pytest.raises(errors.OverBudgetError) as info:
        moe.disburse(Disbursement("MOE-2568-001", 600_01, "SUP-1", "PV-2"))
    assert (info.value.project, info.value.remaining, info.value.requested) == ("MOE-2568-001", 600_00, 600_01)
    assert "600.00 baht remaining, 600.01 requested" in str(info.value)
    assert info.value.tx_hash is None  # refused by the preflight, nothing was sent
    assert moe.project("MOE-2568-001").net_disbursed == 400_00


@pytest.mark.parametrize(
    ("signer", "disbursement", "error", "text"),
    [
        (1, Disbursement("MOE-2568-001", 1, "P", "PV-1"), errors.VoucherUsedError, "voucher PV-1 is already recorded"),
        (1, Disbursement("NOPE", 1, "P", "PV-9"), errors.ProjectUnknownError, "project NOPE is not registered"),
        (
            2,
            Disbursement("MOE-2568-001", 1, "P", "PV-9"),
            errors.ProjectNotOwnedError,
            "belongs to agency MOE, not to SCH",
        ),
        (3, Disbursement("MOE-2568-001", 1, "P", "PV-9"), errors.AccessDeniedError, "is not a recorder of any agency"),
    ],
)
def test_refusals_are_typed(
    fresh: dict[str, Any], signer: int, disbursement: Disbursement, error: type, text: str
) -> None:
    _projects(fresh["admin"])
    fresh["client"](1).disburse(Disbursement("MOE-2568-001", 1, "P", "PV-1"))
    with pytest.raises(error, match=text):
        fresh["client"](signer).disburse(disbursement)


def test_registrar_errors(fresh: dict[str, Any]) -> None:
    admin = fresh["admin"]
    with pytest.raises(errors.AgencyExistsError, match="agency MOE is already registered"):
        admin.register_agency("MOE", "x")
    with pytest.raises(errors.AccessDeniedError, match="lacks the registrar role"):
        fresh["client"](1).register_agency("NEW", "x")
    with pytest.raises(errors.RecorderAssignedError, match="already records for agency MOE"):
        admin.add_recorder("SCH", fresh["accounts"][1].address)


def test_batch_is_recorded_in_order_and_reversal_by_id(fresh: dict[str, Any]) -> None:
    _projects(fresh["admin"])
    moe = fresh["client"](1)
    ds = [Disbursement("MOE-2568-001", i + 1, "P", f"B-{i}") for i in range(25)]
    seen: list[int] = []
    results = moe.disburse_batch(ds, batch_size=10, on_batch=lambda start, batch, r: seen.append(start))
    assert seen == [0, 10, 20] and len(results) == 3
    seqs = [s for r in results for s in r.seqs]
    assert len(seqs) == 25 and seqs == sorted(seqs)
    state = moe.disbursements("MOE", ["B-0", "B-24", "missing"])
    assert state["B-0"].amount == 1 and state["B-24"].amount == 25 and state["missing"] is None
    found, reversal = moe.reverse_by_id(seqs[3], "typo")
    assert found.voucher == "B-3" and found.amount == 4
    assert moe.disbursement("MOE", "B-3").reversed
    with pytest.raises(errors.AlreadyReversedError):
        moe.reverse_by_id(seqs[3], "again")
    with pytest.raises(errors.DisbursementUnknownError, match="no disbursement has id 999999"):
        moe.reverse_by_id(999_999, "x")
    with pytest.raises(errors.ProjectNotOwnedError, match="belongs to agency MOE"):
        fresh["client"](2).reverse_by_id(seqs[4], "not mine")


def test_batch_refused_atomically(fresh: dict[str, Any]) -> None:
    _projects(fresh["admin"])
    moe = fresh["client"](1)
    head = moe.ledger_head()
    ds = [Disbursement("MOE-2568-001", 10, "P", "A"), Disbursement("MOE-2568-001", 10, "P", "A")]
    with pytest.raises(errors.VoucherUsedError):
        moe.disburse_batch(ds)
    assert moe.ledger_head() == head


def test_reverted_transaction_reports_hash(fresh: dict[str, Any]) -> None:
    """A transaction that passes the preflight but reverts when mined is decoded by replay."""
    _projects(fresh["admin"])
    moe = fresh["client"](1)
    d = Disbursement("MOE-2568-001", 10, "P", "RACE")
    data = moe.abi.encode("disburse", d.to_abi())
    gas = moe.estimate(data, "disburse") * 2
    moe.disburse(d)  # someone else records the voucher first
    with pytest.raises(errors.VoucherUsedError) as info:
        moe.send_data(data, "disburse", gas=gas)
    assert info.value.tx_hash and info.value.tx_hash.startswith("0x") and info.value.tx_hash in str(info.value)


def test_codes_are_validated_before_sending(chain: dict[str, Any]) -> None:
    with pytest.raises(errors.LedgerError, match="must be 1-32 characters"):
        chain["client"](1).disburse(Disbursement("โครงการ", 1, "P", "V"))
    assert encode_code("A") == b"A" + b"\0" * 31

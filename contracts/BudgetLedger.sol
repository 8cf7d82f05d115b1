// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IBudgetLedger} from "./interfaces/IBudgetLedger.sol";
import {AgencyRegistry} from "./AgencyRegistry.sol";

abstract contract BudgetLedger is IBudgetLedger, AgencyRegistry {
    struct Project {
        bytes32 code;
        bytes32 agencyCode;
        uint128 allocation;
        uint128 netDisbursed;
        uint16 fiscalYear;
    }

    /// @dev One storage slot per disbursement: it makes the voucher unique and holds
    ///      what a reversal needs. A fresh slot (~22,100 gas) is the bulk of a record's cost.
    struct DisbursementSlot {
        uint64 seq;
        uint32 projectIndex;
        uint128 amount;
        bool reversed;
    }

    // Projects are numbered from 1 so that a disbursement can point at one in 32 bits.
    mapping(uint32 projectIndex => Project) private _projects;
    mapping(bytes32 projectCode => uint32 projectIndex) private _projectIndex;
    uint32 private _projectCount;
    mapping(bytes32 agencyCode => mapping(bytes32 voucher => DisbursementSlot)) private _disbursements;

    // B.E. years; anything else is almost certainly a Gregorian year typed by mistake.
    uint16 private constant _MIN_FISCAL_YEAR = 2500;
    uint16 private constant _MAX_FISCAL_YEAR = 2700;

    function registerProjects(ProjectInput[] calldata projects) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        if (projects.length == 0) revert BatchEmpty();
        for (uint256 i; i < projects.length; ++i) {
            _registerProject(projects[i]);
        }
    }

    function amendAllocation(bytes32 projectCode, uint256 newAllocation, string calldata reason)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        if (bytes(reason).length == 0) revert ReasonMissing();
        if (newAllocation > type(uint128).max) revert AllocationTooLarge(newAllocation);
        Project storage p = _projectByCode(projectCode);
        if (newAllocation < p.netDisbursed) revert AllocationBelowDisbursed(projectCode, p.netDisbursed, newAllocation);
        uint256 previous = p.allocation;
        p.allocation = uint128(newAllocation);
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, AllocationAmended.selector, projectCode, previous, newAllocation, reason));
        _commitEntry(seq, head);
        emit AllocationAmended(seq, projectCode, previous, newAllocation, reason, head);
    }

    function disburse(DisbursementInput calldata d) external whenNotPaused returns (uint64 seq) {
        bytes32 head;
        (seq, head) = _recordDisbursement(d, _callerAgency(), _seq, _head);
        _commitEntry(seq, head);
    }

    function disburseBatch(DisbursementInput[] calldata ds) external whenNotPaused returns (uint64 seq) {
        if (ds.length == 0) revert BatchEmpty();
        bytes32 agencyCode = _callerAgency();
        // Seq and head stay on the stack for the whole batch and are stored once.
        seq = _seq;
        bytes32 head = _head;
        for (uint256 i; i < ds.length; ++i) {
            (seq, head) = _recordDisbursement(ds[i], agencyCode, seq, head);
        }
        _commitEntry(seq, head);
    }

    function reverse(bytes32 voucher, string calldata reason) external whenNotPaused returns (uint64 seq) {
        if (bytes(reason).length == 0) revert ReasonMissing();
        bytes32 agencyCode = _callerAgency();
        DisbursementSlot storage s = _disbursements[agencyCode][voucher];
        if (s.seq == 0) revert DisbursementUnknown(agencyCode, voucher);
        if (s.reversed) revert DisbursementAlreadyReversed(agencyCode, voucher);
        s.reversed = true;
        Project storage p = _projects[s.projectIndex];
        p.netDisbursed -= s.amount;
        bytes32 head;
        (seq, head) = _nextEntry();
        head = keccak256(
            abi.encode(
                head, seq, DisbursementReversed.selector, p.code, agencyCode, s.seq, voucher, uint256(s.amount), reason
            )
        );
        _commitEntry(seq, head);
        emit DisbursementReversed(seq, p.code, agencyCode, s.seq, voucher, s.amount, reason, head);
    }

    function project(bytes32 projectCode)
        external
        view
        returns (bytes32 agencyCode, uint16 fiscalYear, uint256 allocation, uint256 netDisbursed)
    {
        Project storage p = _projectByCode(projectCode);
        return (p.agencyCode, p.fiscalYear, p.allocation, p.netDisbursed);
    }

    function disbursement(bytes32 agencyCode, bytes32 voucher)
        external
        view
        returns (uint64 seq, bytes32 projectCode, uint256 amount, bool reversed)
    {
        DisbursementSlot storage s = _disbursements[agencyCode][voucher];
        if (s.seq == 0) return (0, 0, 0, false);
        return (s.seq, _projects[s.projectIndex].code, s.amount, s.reversed);
    }

    /// @dev Whether a service request exists; the disbursement may link to one.
    function _requestExists(bytes32 trackingCode) internal view virtual returns (bool);

    function _registerProject(ProjectInput calldata input) private {
        _checkCode(input.projectCode);
        _requireAgency(input.agencyCode);
        if (_projectIndex[input.projectCode] != 0) revert ProjectAlreadyRegistered(input.projectCode);
        if (input.fiscalYear < _MIN_FISCAL_YEAR || input.fiscalYear > _MAX_FISCAL_YEAR) {
            revert FiscalYearInvalid(input.fiscalYear);
        }
        if (input.allocation > type(uint128).max) revert AllocationTooLarge(input.allocation);
        uint32 index = ++_projectCount;
        _projectIndex[input.projectCode] = index;
        _projects[index] = Project({
            code: input.projectCode,
            agencyCode: input.agencyCode,
            allocation: uint128(input.allocation),
            netDisbursed: 0,
            fiscalYear: input.fiscalYear
        });
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(
            abi.encode(
                head,
                seq,
                ProjectRegistered.selector,
                input.projectCode,
                input.agencyCode,
                input.fiscalYear,
                input.allocation,
                input.name
            )
        );
        _commitEntry(seq, head);
        emit ProjectRegistered(
            seq, input.projectCode, input.agencyCode, input.fiscalYear, input.allocation, input.name, head
        );
    }

    function _recordDisbursement(DisbursementInput calldata d, bytes32 agencyCode, uint64 prevSeq, bytes32 prevHead)
        private
        returns (uint64 seq, bytes32 head)
    {
        uint32 index = _projectIndex[d.projectCode];
        if (index == 0) revert ProjectUnknown(d.projectCode);
        Project storage p = _projects[index];
        if (p.agencyCode != agencyCode) revert ProjectNotOwned(d.projectCode, p.agencyCode, agencyCode);
        if (d.voucher == 0) revert VoucherMissing();
        if (d.amount == 0) revert DisbursementAmountZero(d.projectCode, d.voucher);
        uint256 remaining = p.allocation - p.netDisbursed;
        if (d.amount > remaining) revert DisbursementOverBudget(d.projectCode, remaining, d.amount);
        DisbursementSlot storage s = _disbursements[agencyCode][d.voucher];
        if (s.seq != 0) revert VoucherAlreadyUsed(agencyCode, d.voucher);
        if (d.requestTracking != 0 && !_requestExists(d.requestTracking)) revert LinkedRequestUnknown(d.requestTracking);

        p.netDisbursed += uint128(d.amount);
        seq = prevSeq + 1;
        _disbursements[agencyCode][d.voucher] =
            DisbursementSlot({seq: seq, projectIndex: index, amount: uint128(d.amount), reversed: false});

        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        head = keccak256(
            abi.encode(
                prevHead,
                seq,
                DisbursementRecorded.selector,
                d.projectCode,
                agencyCode,
                d.voucher,
                d.amount,
                d.payee,
                d.documentHash,
                d.requestTracking
            )
        );
        emit DisbursementRecorded(
            seq, d.projectCode, agencyCode, d.voucher, d.amount, d.payee, d.documentHash, d.requestTracking, head
        );
        // The encoding above is garbage once hashed; reusing its memory keeps a batch of
        // 500 from paying quadratic memory-expansion gas.
        assembly ("memory-safe") {
            mstore(0x40, freeMemory)
        }
    }

    function _projectByCode(bytes32 projectCode) private view returns (Project storage) {
        uint32 index = _projectIndex[projectCode];
        if (index == 0) revert ProjectUnknown(projectCode);
        return _projects[index];
    }
}

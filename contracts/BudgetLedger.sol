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
    // 100 trillion baht: far above any real budget, and 922 projects at the cap still sum
    // inside the mirror's signed 64-bit satang (ledger.types.MAX_ALLOCATION).
    uint256 private constant _MAX_ALLOCATION = 1e16;

    /// @inheritdoc IBudgetLedger
    function registerProjects(ProjectInput[] calldata projects) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        if (projects.length == 0) revert BatchEmpty();
        for (uint256 i; i < projects.length; ++i) {
            _registerProject(projects[i]);
        }
    }

    /// @inheritdoc IBudgetLedger
    function amendAllocation(bytes32 projectCode, uint256 newAllocation, string calldata reason)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        if (bytes(reason).length == 0) revert ReasonMissing();
        if (newAllocation > _MAX_ALLOCATION) revert AllocationTooLarge(newAllocation);
        Project storage p = _projectByCode(projectCode);
        if (newAllocation < p.netDisbursed) revert AllocationBelowDisbursed(projectCode, p.netDisbursed, newAllocation);
        uint256 previous = p.allocation;
        p.allocation = uint128(newAllocation);
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, AllocationAmended.selector, projectCode, previous, newAllocation, reason));
        _commitEntry(seq, head);
        emit AllocationAmended(seq, projectCode, previous, newAllocation, reason, head);
    }

    /// @inheritdoc IBudgetLedger
    function disburse(DisbursementInput calldata d) external whenNotPaused returns (uint64 seq) {
        bytes32 agencyCode = _callerAgency();
        (uint32 index, uint256 allocation, uint256 net) = _openProject(d.projectCode, agencyCode);
        bytes32 head;
        (seq, head, net) = _recordDisbursement(d, agencyCode, index, allocation, net, _seq, _head);
        _projects[index].netDisbursed = uint128(net);
        _commitEntry(seq, head);
    }

    /// @inheritdoc IBudgetLedger
    function disburseBatch(DisbursementInput[] calldata ds) external whenNotPaused returns (uint64 seq) {
        if (ds.length == 0) revert BatchEmpty();
        bytes32 agencyCode = _callerAgency();
        // Seq and head stay on the stack for the whole batch and are stored once. So does the
        // project being drawn on while consecutive items share it: its net disbursed is written
        // back once per run of items instead of once per item.
        seq = _seq;
        bytes32 head = _head;
        bytes32 projectCode = 0;
        uint32 index = 0; // 0 = no project open yet (project indices start at 1)
        uint256 allocation = 0;
        uint256 net = 0;
        for (uint256 i; i < ds.length; ++i) {
            DisbursementInput calldata d = ds[i];
            if (index == 0 || d.projectCode != projectCode) {
                if (index != 0) _projects[index].netDisbursed = uint128(net);
                projectCode = d.projectCode;
                (index, allocation, net) = _openProject(projectCode, agencyCode);
            }
            (seq, head, net) = _recordDisbursement(d, agencyCode, index, allocation, net, seq, head);
        }
        _projects[index].netDisbursed = uint128(net);
        _commitEntry(seq, head);
    }

    /// @inheritdoc IBudgetLedger
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

    /// @inheritdoc IBudgetLedger
    function project(bytes32 projectCode)
        external
        view
        returns (bytes32 agencyCode, uint16 fiscalYear, uint256 allocation, uint256 netDisbursed)
    {
        Project storage p = _projectByCode(projectCode);
        return (p.agencyCode, p.fiscalYear, p.allocation, p.netDisbursed);
    }

    /// @inheritdoc IBudgetLedger
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
        if (input.allocation > _MAX_ALLOCATION) revert AllocationTooLarge(input.allocation);
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

    /// @dev The project a recorder of `agencyCode` draws on, with its allocation and net disbursed.
    function _openProject(bytes32 projectCode, bytes32 agencyCode)
        private
        view
        returns (uint32 index, uint256 allocation, uint256 net)
    {
        index = _projectIndex[projectCode];
        if (index == 0) revert ProjectUnknown(projectCode);
        Project storage p = _projects[index];
        bytes32 ownerAgency = p.agencyCode;
        if (ownerAgency != agencyCode) revert ProjectNotOwned(projectCode, ownerAgency, agencyCode);
        return (index, p.allocation, p.netDisbursed);
    }

    /// @dev Checks and records one disbursement against a project opened by `_openProject`;
    ///      returns the new seq and head and the project's new net disbursed (not yet stored).
    function _recordDisbursement(
        DisbursementInput calldata d,
        bytes32 agencyCode,
        uint32 index,
        uint256 allocation,
        uint256 net,
        uint64 prevSeq,
        bytes32 prevHead
    ) private returns (uint64 seq, bytes32 head, uint256 newNet) {
        bytes32 voucher = d.voucher;
        uint256 amount = d.amount;
        if (voucher == 0) revert VoucherMissing();
        if (amount == 0) revert DisbursementAmountZero(d.projectCode, voucher);
        uint256 remaining = allocation - net;
        if (amount > remaining) revert DisbursementOverBudget(d.projectCode, remaining, amount);
        DisbursementSlot storage s = _disbursements[agencyCode][voucher];
        if (s.seq != 0) revert VoucherAlreadyUsed(agencyCode, voucher);
        bytes32 tracking = d.requestTracking;
        if (tracking != 0 && !_requestExists(tracking)) revert LinkedRequestUnknown(tracking);

        seq = prevSeq + 1;
        // amount <= allocation - net and allocation <= _MAX_ALLOCATION, so neither overflows.
        unchecked {
            newNet = net + amount;
        }
        _disbursements[agencyCode][voucher] =
            DisbursementSlot({seq: seq, projectIndex: index, amount: uint128(amount), reversed: false});

        // The head's preimage ends with the event's first five data words (voucher, amount,
        // payee, documentHash, requestTracking), so one buffer serves the hash and the log:
        // [prevHead, seq, topic0, projectCode, agencyCode, voucher ... requestTracking, head].
        // The buffer is scratch past the free memory pointer, so a batch of 500 reuses it.
        bytes32 topic0 = DisbursementRecorded.selector;
        bytes32 projectCode = d.projectCode;
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            let seqWord := and(seq, 0xffffffffffffffff)
            mstore(buffer, prevHead)
            mstore(add(buffer, 0x20), seqWord)
            mstore(add(buffer, 0x40), topic0)
            mstore(add(buffer, 0x60), projectCode)
            mstore(add(buffer, 0x80), agencyCode)
            calldatacopy(add(buffer, 0xa0), add(d, 0x20), 0xa0)
            head := keccak256(buffer, 0x140)
            mstore(add(buffer, 0x140), head)
            log4(add(buffer, 0xa0), 0xc0, topic0, seqWord, projectCode, agencyCode)
        }
    }

    function _projectByCode(bytes32 projectCode) private view returns (Project storage) {
        uint32 index = _projectIndex[projectCode];
        if (index == 0) revert ProjectUnknown(projectCode);
        return _projects[index];
    }
}

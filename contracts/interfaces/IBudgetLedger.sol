// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Budget allocations and disbursements keyed by project code.
/// @notice Amounts are Thai baht in satang (1 baht = 100 satang). Fiscal years are
///         Buddhist Era government years (FY 2568 = 1 Oct 2024 - 30 Sep 2025).
///         Net disbursed (disbursed minus reversed) never exceeds a project's allocation.
///         Nothing is ever edited or deleted: a mistake is corrected by a reversal.
interface IBudgetLedger {
    struct ProjectInput {
        bytes32 projectCode;
        bytes32 agencyCode;
        uint16 fiscalYear;
        uint256 allocation;
        string name;
    }

    struct DisbursementInput {
        bytes32 projectCode;
        /// Voucher number, unique per agency; recording it twice is refused.
        bytes32 voucher;
        /// Satang; never zero.
        uint256 amount;
        /// Payee reference (a registry number or code), never a person's name or ID.
        bytes32 payee;
        /// SHA-256 of the supporting document, which stays off chain; zero when none.
        bytes32 documentHash;
        /// Tracking code of a linked service request; zero when none.
        bytes32 requestTracking;
    }

    /// @notice Emitted once per project with its initial allocation (satang).
    event ProjectRegistered(
        uint64 indexed seq,
        bytes32 indexed projectCode,
        bytes32 indexed agencyCode,
        uint16 fiscalYear,
        uint256 allocation,
        string name,
        bytes32 head
    );
    /// @notice Emitted when the registrar changes an allocation; `reason` is public.
    event AllocationAmended(
        uint64 indexed seq,
        bytes32 indexed projectCode,
        uint256 previousAllocation,
        uint256 newAllocation,
        string reason,
        bytes32 head
    );
    /// @notice Emitted once per disbursement; the mirror rebuilds every total from these.
    /// @dev The disbursement's public id is its `seq`.
    event DisbursementRecorded(
        uint64 indexed seq,
        bytes32 indexed projectCode,
        bytes32 indexed agencyCode,
        bytes32 voucher,
        uint256 amount,
        bytes32 payee,
        bytes32 documentHash,
        bytes32 requestTracking,
        bytes32 head
    );
    /// @notice Emitted when a disbursement is reversed; `amount` is the original amount.
    event DisbursementReversed(
        uint64 indexed seq,
        bytes32 indexed projectCode,
        bytes32 indexed agencyCode,
        uint64 originalSeq,
        bytes32 voucher,
        uint256 amount,
        string reason,
        bytes32 head
    );

    error FiscalYearInvalid(uint16 fiscalYear);
    /// @notice Above 10^16 satang (100 trillion baht, about 30 times Thailand's whole annual
    ///         budget). The cap keeps every amount, and the sum of many, inside the public
    ///         mirror's 64-bit columns (2^63 - 1 satang), so no accepted entry can stop it.
    error AllocationTooLarge(uint256 allocation);
    error ProjectAlreadyRegistered(bytes32 projectCode);
    error ProjectUnknown(bytes32 projectCode);
    /// @notice The caller's agency does not own the project.
    error ProjectNotOwned(bytes32 projectCode, bytes32 ownerAgency, bytes32 callerAgency);
    error AllocationBelowDisbursed(bytes32 projectCode, uint256 disbursed, uint256 requested);
    error ReasonMissing();
    error BatchEmpty();
    error VoucherMissing();
    error DisbursementAmountZero(bytes32 projectCode, bytes32 voucher);
    error DisbursementOverBudget(bytes32 projectCode, uint256 remaining, uint256 requested);
    error VoucherAlreadyUsed(bytes32 agencyCode, bytes32 voucher);
    error DisbursementUnknown(bytes32 agencyCode, bytes32 voucher);
    error DisbursementAlreadyReversed(bytes32 agencyCode, bytes32 voucher);
    /// @notice The disbursement links to a service request that does not exist.
    error LinkedRequestUnknown(bytes32 trackingCode);

    /// @notice Register projects with their allocations. Registrar only.
    function registerProjects(ProjectInput[] calldata projects) external;
    /// @notice Change a project's allocation, never below its net disbursed. Registrar only.
    function amendAllocation(bytes32 projectCode, uint256 newAllocation, string calldata reason) external;
    /// @notice Record one disbursement against a project of the caller's agency.
    function disburse(DisbursementInput calldata disbursement) external returns (uint64 seq);
    /// @notice Record several disbursements atomically: all are recorded or none.
    function disburseBatch(DisbursementInput[] calldata disbursements) external returns (uint64 lastSeq);
    /// @notice Reverse one of the caller's agency's disbursements, at most once.
    function reverse(bytes32 voucher, string calldata reason) external returns (uint64 seq);

    /// @notice A project's agency, fiscal year, allocation and net disbursed (satang).
    function project(bytes32 projectCode)
        external
        view
        returns (bytes32 agencyCode, uint16 fiscalYear, uint256 allocation, uint256 netDisbursed);
    /// @notice The disbursement recorded under an agency's voucher: seq 0 when none.
    function disbursement(bytes32 agencyCode, bytes32 voucher)
        external
        view
        returns (uint64 seq, bytes32 projectCode, uint256 amount, bool reversed);
}

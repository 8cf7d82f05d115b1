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

    /// @notice A project's fiscal year is outside 2500..2700 B.E. (a Gregorian year typed by mistake).
    /// @param fiscalYear The year given.
    error FiscalYearInvalid(uint16 fiscalYear);
    /// @notice An allocation (registered or amended) is above 10^16 satang (100 trillion baht,
    ///         about 30 times Thailand's whole annual budget). The cap keeps every amount, and the
    ///         sum of many, inside the public mirror's 64-bit columns (2^63 - 1 satang), so no
    ///         accepted entry can stop it.
    /// @param allocation The allocation given, in satang.
    error AllocationTooLarge(uint256 allocation);
    /// @notice A project with this code is already registered; codes are never reused.
    /// @param projectCode The code given.
    error ProjectAlreadyRegistered(bytes32 projectCode);
    /// @notice No project is registered under this code (amending, disbursing or reading it).
    /// @param projectCode The code given.
    error ProjectUnknown(bytes32 projectCode);
    /// @notice The caller's agency does not own the project it tries to disburse from.
    /// @param projectCode The project drawn on.
    /// @param ownerAgency The agency that owns it.
    /// @param callerAgency The agency the caller's key records for.
    error ProjectNotOwned(bytes32 projectCode, bytes32 ownerAgency, bytes32 callerAgency);
    /// @notice An amendment would put the allocation below what the project has already disbursed (net).
    /// @param projectCode The project amended.
    /// @param disbursed Its net disbursed, in satang.
    /// @param requested The allocation asked for, in satang.
    error AllocationBelowDisbursed(bytes32 projectCode, uint256 disbursed, uint256 requested);
    /// @notice An amendment or a reversal has an empty reason; the reason is public and required.
    error ReasonMissing();
    /// @notice `registerProjects` or `disburseBatch` was called with no items.
    error BatchEmpty();
    /// @notice A disbursement has a zero voucher; every disbursement names its paper voucher.
    error VoucherMissing();
    /// @notice A disbursement's amount is zero.
    /// @param projectCode The project drawn on.
    /// @param voucher The disbursement's voucher.
    error DisbursementAmountZero(bytes32 projectCode, bytes32 voucher);
    /// @notice A disbursement is larger than what remains of the project's allocation.
    /// @param projectCode The project drawn on.
    /// @param remaining Allocation minus net disbursed, in satang, before this disbursement.
    /// @param requested The disbursement's amount, in satang.
    error DisbursementOverBudget(bytes32 projectCode, uint256 remaining, uint256 requested);
    /// @notice The caller's agency has already recorded a disbursement under this voucher
    ///         (reversed or not); a voucher is recorded once.
    /// @param agencyCode The caller's agency.
    /// @param voucher The voucher given.
    error VoucherAlreadyUsed(bytes32 agencyCode, bytes32 voucher);
    /// @notice A reversal names a voucher the caller's agency never recorded.
    /// @param agencyCode The caller's agency.
    /// @param voucher The voucher given.
    error DisbursementUnknown(bytes32 agencyCode, bytes32 voucher);
    /// @notice A reversal names a disbursement that is already reversed; it is reversed at most once.
    /// @param agencyCode The caller's agency.
    /// @param voucher The voucher of the disbursement.
    error DisbursementAlreadyReversed(bytes32 agencyCode, bytes32 voucher);
    /// @notice A disbursement links to a service request that does not exist.
    /// @param trackingCode The linked request's tracking code (non-zero).
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

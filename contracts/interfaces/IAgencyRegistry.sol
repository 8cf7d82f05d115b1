// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Government agencies and the keys that record for them.
/// @notice Codes are 1-32 ASCII characters of `[A-Za-z0-9._/-]`, left-aligned in a
///         bytes32 and padded with zero bytes. A recorder key belongs to exactly one
///         agency and can only write that agency's records.
interface IAgencyRegistry {
    /// @notice Emitted once per agency. Names are public facts, never personal data.
    event AgencyRegistered(uint64 indexed seq, bytes32 indexed agencyCode, string name, string nameEn, bytes32 head);
    /// @notice Emitted when a key starts recording for an agency.
    event RecorderAdded(uint64 indexed seq, bytes32 indexed agencyCode, address indexed recorder, bytes32 head);
    /// @notice Emitted when a key stops recording for an agency; its earlier entries stay valid.
    event RecorderRemoved(uint64 indexed seq, bytes32 indexed agencyCode, address indexed recorder, bytes32 head);

    /// @notice A code (agency, project or service) is not 1-32 characters of `[A-Za-z0-9._/-]`,
    ///         left-aligned and zero padded with nothing after the first zero byte.
    /// @param code The bytes32 given.
    error CodeMalformed(bytes32 code);
    /// @notice An agency with this code is already registered.
    /// @param agencyCode The code given.
    error AgencyAlreadyRegistered(bytes32 agencyCode);
    /// @notice No agency is registered under this code (adding a recorder, a project or a service role).
    /// @param agencyCode The code given.
    error AgencyUnknown(bytes32 agencyCode);
    /// @notice `addRecorder` was given the zero address.
    error RecorderAddressZero();
    /// @notice The key already records for an agency (the same or another): one agency per key.
    /// @param recorder The key given.
    /// @param agencyCode The agency it already records for.
    error RecorderAlreadyAssigned(address recorder, bytes32 agencyCode);
    /// @notice `removeRecorder` names a key that does not record for that agency.
    /// @param recorder The key given.
    /// @param agencyCode The agency given.
    error RecorderNotAssigned(address recorder, bytes32 agencyCode);
    /// @notice The caller is not a recorder key of any agency (disbursing, reversing, opening or
    ///         advancing a request).
    /// @param caller The calling address.
    error RecorderUnknown(address caller);

    /// @notice Register an agency. Registrar only.
    function registerAgency(bytes32 agencyCode, string calldata name, string calldata nameEn) external;
    /// @notice Let `recorder` write records for `agencyCode`. Registrar only.
    function addRecorder(bytes32 agencyCode, address recorder) external;
    /// @notice Revoke `recorder`'s right to write for `agencyCode`. Registrar only.
    function removeRecorder(bytes32 agencyCode, address recorder) external;

    /// @notice True when the agency is registered.
    function agencyExists(bytes32 agencyCode) external view returns (bool);
    /// @notice The agency `recorder` writes for, or zero.
    function agencyOf(address recorder) external view returns (bytes32);
}

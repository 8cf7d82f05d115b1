// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAgencyRegistry} from "./interfaces/IAgencyRegistry.sol";
import {LedgerHead} from "./LedgerHead.sol";
import {Roles} from "./Roles.sol";

abstract contract AgencyRegistry is IAgencyRegistry, Roles, LedgerHead {
    mapping(bytes32 agencyCode => bool) private _agencies;
    mapping(address recorder => bytes32 agencyCode) private _recorderAgency;

    /// @inheritdoc IAgencyRegistry
    function registerAgency(bytes32 agencyCode, string calldata name, string calldata nameEn)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        _checkCode(agencyCode);
        if (_agencies[agencyCode]) revert AgencyAlreadyRegistered(agencyCode);
        _agencies[agencyCode] = true;
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, AgencyRegistered.selector, agencyCode, name, nameEn));
        _commitEntry(seq, head);
        emit AgencyRegistered(seq, agencyCode, name, nameEn, head);
    }

    /// @inheritdoc IAgencyRegistry
    function addRecorder(bytes32 agencyCode, address recorder) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        _requireAgency(agencyCode);
        if (recorder == address(0)) revert RecorderAddressZero();
        bytes32 current = _recorderAgency[recorder];
        if (current != 0) revert RecorderAlreadyAssigned(recorder, current);
        _recorderAgency[recorder] = agencyCode;
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, RecorderAdded.selector, agencyCode, recorder));
        _commitEntry(seq, head);
        emit RecorderAdded(seq, agencyCode, recorder, head);
    }

    /// @inheritdoc IAgencyRegistry
    function removeRecorder(bytes32 agencyCode, address recorder) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        if (_recorderAgency[recorder] != agencyCode || agencyCode == 0) {
            revert RecorderNotAssigned(recorder, agencyCode);
        }
        delete _recorderAgency[recorder];
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, RecorderRemoved.selector, agencyCode, recorder));
        _commitEntry(seq, head);
        emit RecorderRemoved(seq, agencyCode, recorder, head);
    }

    /// @inheritdoc IAgencyRegistry
    function agencyExists(bytes32 agencyCode) external view returns (bool) {
        return _agencies[agencyCode];
    }

    /// @inheritdoc IAgencyRegistry
    function agencyOf(address recorder) external view returns (bytes32) {
        return _recorderAgency[recorder];
    }

    function _requireAgency(bytes32 agencyCode) internal view {
        if (!_agencies[agencyCode]) revert AgencyUnknown(agencyCode);
    }

    /// @dev The agency the caller records for; reverts for any other key.
    function _callerAgency() internal view returns (bytes32 agencyCode) {
        agencyCode = _recorderAgency[msg.sender];
        if (agencyCode == 0) revert RecorderUnknown(msg.sender);
    }

    /// @dev 1-32 characters of [A-Za-z0-9._/-], left-aligned, zero padded. Codes are
    ///      checked on chain because the mirror and the API show them as text.
    function _checkCode(bytes32 code) internal pure {
        uint256 length;
        while (length < 32 && code[length] != 0) {
            bytes1 c = code[length];
            bool ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "."
                || c == "_" || c == "/" || c == "-";
            if (!ok) revert CodeMalformed(code);
            ++length;
        }
        if (length == 0) revert CodeMalformed(code);
        // Anything after the first zero byte would be invisible in the text form.
        if (length < 32 && uint256(code) << (length * 8) != 0) revert CodeMalformed(code);
    }
}

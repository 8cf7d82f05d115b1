// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ILedgerHead} from "./interfaces/ILedgerHead.sol";

/// @dev Holds the sequence number and running hash; see ILedgerHead for the formula.
///      Each writer computes `keccak256(abi.encode(prev, seq, Event.selector, fields...))`
///      inline, so the formula can be read next to the event it covers.
abstract contract LedgerHead is ILedgerHead {
    uint64 internal _seq;
    bytes32 internal _head;

    /// @inheritdoc ILedgerHead
    function ledgerHead() external view returns (uint64 seq, bytes32 head) {
        return (_seq, _head);
    }

    /// @dev The next entry's sequence number and the head it builds on.
    function _nextEntry() internal view returns (uint64 seq, bytes32 previousHead) {
        return (_seq + 1, _head);
    }

    function _commitEntry(uint64 seq, bytes32 head) internal {
        _seq = seq;
        _head = head;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Running hash over every entry recorded by govledger.
/// @notice Every state-changing entry gets the next sequence number and advances
///         `head = keccak256(abi.encode(previousHead, seq, eventSelector, eventFields...))`,
///         where `eventFields` are the entry's event parameters in declaration order,
///         leaving out `seq` and `head` themselves. The head starts at zero with seq 0;
///         the first entry has seq 1. An auditor who replays the events and reaches the
///         same head at block N has checked everything recorded up to block N.
interface ILedgerHead {
    /// @notice The sequence number of the latest entry and the head after it.
    function ledgerHead() external view returns (uint64 seq, bytes32 head);
}

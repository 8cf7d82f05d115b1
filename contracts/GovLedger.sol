// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BudgetLedger} from "./BudgetLedger.sol";
import {ServiceRequests} from "./ServiceRequests.sol";
import {Roles} from "./Roles.sol";

/// @title govledger: public record of budget disbursements and service requests.
/// @notice One contract, one ledger head: every entry of every kind is numbered in one
///         sequence so an auditor checks all of it with one equality.
contract GovLedger is BudgetLedger, ServiceRequests {
    /// @param adminDelay Seconds a started admin hand-over must wait before it can be accepted.
    /// @param admin Starts as admin, registrar and pauser.
    constructor(uint48 adminDelay, address admin) Roles(adminDelay, admin) {}

    function _requestExists(bytes32 trackingCode)
        internal
        view
        override(BudgetLedger, ServiceRequests)
        returns (bool)
    {
        return ServiceRequests._requestExists(trackingCode);
    }
}

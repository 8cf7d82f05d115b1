// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IServiceRequests} from "./interfaces/IServiceRequests.sol";
import {AgencyRegistry} from "./AgencyRegistry.sol";

abstract contract ServiceRequests is IServiceRequests, AgencyRegistry {
    struct Service {
        bool defined;
        uint8 stateCount;
        uint8 roleCount;
    }

    struct Request {
        bytes32 service;
        bytes32 agencyCode;
        uint8 state;
    }

    mapping(bytes32 service => Service) private _services;
    // Transition (from, to) is stored under key from * 256 + to as role + 1, so 0 means "not allowed".
    mapping(bytes32 service => mapping(uint16 fromTo => uint8 rolePlusOne)) private _transitions;
    mapping(bytes32 service => mapping(uint8 role => mapping(bytes32 agencyCode => bool))) private _serviceRoles;
    mapping(bytes32 trackingCode => Request) private _requests;

    /// @inheritdoc IServiceRequests
    function defineService(
        bytes32 service,
        string[] calldata states,
        uint16[] calldata timeLimitDays,
        string[] calldata roles,
        Transition[] calldata transitions
    ) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        _checkCode(service);
        if (_services[service].defined) revert ServiceAlreadyDefined(service);
        // Index 0 flags the shape of the lists; index 1 + i flags transition i.
        if (states.length < 2 || states.length > 255 || timeLimitDays.length != states.length) {
            revert ServiceDefinitionInvalid(service, 0);
        }
        if (roles.length == 0 || roles.length > 255) revert ServiceDefinitionInvalid(service, 0);
        for (uint256 i; i < transitions.length; ++i) {
            Transition calldata t = transitions[i];
            uint16 key = uint16(t.from) * 256 + t.to;
            if (
                t.from >= states.length || t.to >= states.length || t.from == t.to || t.role >= roles.length
                    || _transitions[service][key] != 0
            ) revert ServiceDefinitionInvalid(service, i + 1);
            _transitions[service][key] = t.role + 1;
        }
        _services[service] = Service({defined: true, stateCount: uint8(states.length), roleCount: uint8(roles.length)});
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(
            abi.encode(head, seq, ServiceDefined.selector, service, states, timeLimitDays, roles, transitions)
        );
        _commitEntry(seq, head);
        emit ServiceDefined(seq, service, states, timeLimitDays, roles, transitions, head);
    }

    /// @inheritdoc IServiceRequests
    function setServiceRole(bytes32 service, uint8 role, bytes32 agencyCode, bool granted)
        external
        onlyRole(REGISTRAR_ROLE)
        whenNotPaused
    {
        Service storage s = _services[service];
        if (!s.defined) revert ServiceUnknown(service);
        // Role 0 is the owning agency by definition and is never granted.
        if (role == 0 || role >= s.roleCount) revert ServiceRoleUnknown(service, role);
        _requireAgency(agencyCode);
        _serviceRoles[service][role][agencyCode] = granted;
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(abi.encode(head, seq, ServiceRoleSet.selector, service, agencyCode, role, granted));
        _commitEntry(seq, head);
        emit ServiceRoleSet(seq, service, agencyCode, role, granted, head);
    }

    /// @inheritdoc IServiceRequests
    function openRequest(bytes32 service, bytes32 trackingCode, bytes32 applicantCommitment) external whenNotPaused {
        bytes32 agencyCode = _callerAgency();
        if (!_services[service].defined) revert ServiceUnknown(service);
        if (trackingCode == 0) revert TrackingCodeMissing();
        // Readers print only the first 20 bytes: anything below them would let two requests print alike.
        if (uint96(uint256(trackingCode)) != 0) revert TrackingCodeMalformed(trackingCode);
        if (applicantCommitment == 0) revert CommitmentMissing();
        Request storage r = _requests[trackingCode];
        if (r.agencyCode != 0) revert RequestAlreadyOpened(trackingCode);
        r.service = service;
        r.agencyCode = agencyCode;
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(
            abi.encode(head, seq, RequestOpened.selector, trackingCode, agencyCode, service, applicantCommitment)
        );
        _commitEntry(seq, head);
        emit RequestOpened(seq, trackingCode, agencyCode, service, applicantCommitment, head);
    }

    /// @inheritdoc IServiceRequests
    function advanceRequest(bytes32 trackingCode, uint8 toState, string calldata reason) external whenNotPaused {
        bytes32 callerAgency = _callerAgency();
        Request storage r = _requests[trackingCode];
        if (r.agencyCode == 0) revert RequestUnknown(trackingCode);
        uint8 fromState = r.state;
        uint8 rolePlusOne = _transitions[r.service][uint16(fromState) * 256 + toState];
        if (rolePlusOne == 0) revert TransitionNotAllowed(trackingCode, fromState, toState);
        uint8 role = rolePlusOne - 1;
        bool permitted = role == 0 ? callerAgency == r.agencyCode : _serviceRoles[r.service][role][callerAgency];
        if (!permitted) revert TransitionRoleMissing(trackingCode, role, callerAgency);
        r.state = toState;
        (uint64 seq, bytes32 head) = _nextEntry();
        head = keccak256(
            abi.encode(head, seq, RequestAdvanced.selector, trackingCode, callerAgency, fromState, toState, reason)
        );
        _commitEntry(seq, head);
        emit RequestAdvanced(seq, trackingCode, callerAgency, fromState, toState, reason, head);
    }

    /// @inheritdoc IServiceRequests
    function request(bytes32 trackingCode) external view returns (bytes32 service, bytes32 agencyCode, uint8 state) {
        Request storage r = _requests[trackingCode];
        if (r.agencyCode == 0) revert RequestUnknown(trackingCode);
        return (r.service, r.agencyCode, r.state);
    }

    /// @inheritdoc IServiceRequests
    function transitionRole(bytes32 service, uint8 from, uint8 to) external view returns (bool allowed, uint8 role) {
        uint8 rolePlusOne = _transitions[service][uint16(from) * 256 + to];
        if (rolePlusOne == 0) return (false, 0);
        return (true, rolePlusOne - 1);
    }

    function _requestExists(bytes32 trackingCode) internal view virtual returns (bool) {
        return _requests[trackingCode].agencyCode != 0;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Government service requests and their allowed state changes.
/// @notice A service definition names its states (state 0 is where every request
///         starts), its roles, the legal time limit of each state in working days
///         (0 = no limit) and the allowed transitions with the role that may take each.
///         A state without outgoing transitions is terminal. Role 0 is always "owner":
///         a recorder of the agency that opened the request; other roles are held by
///         agencies the registrar names. No personal data is ever written: the
///         applicant is bound only by `keccak256(salt || HMAC-SHA256(agencySecret, id))`.
interface IServiceRequests {
    struct Transition {
        uint8 from;
        uint8 to;
        uint8 role;
    }

    /// @notice Emitted once per service definition, with the whole table.
    event ServiceDefined(
        uint64 indexed seq,
        bytes32 indexed service,
        string[] states,
        uint16[] timeLimitDays,
        string[] roles,
        Transition[] transitions,
        bytes32 head
    );
    /// @notice Emitted when an agency is given or denied a role of a service.
    event ServiceRoleSet(
        uint64 indexed seq, bytes32 indexed service, bytes32 indexed agencyCode, uint8 role, bool granted, bytes32 head
    );
    /// @notice Emitted when a request is opened; it starts in state 0.
    event RequestOpened(
        uint64 indexed seq,
        bytes32 indexed trackingCode,
        bytes32 indexed agencyCode,
        bytes32 service,
        bytes32 applicantCommitment,
        bytes32 head
    );
    /// @notice Emitted once per state change, by the agency `agencyCode` that took it.
    event RequestAdvanced(
        uint64 indexed seq,
        bytes32 indexed trackingCode,
        bytes32 indexed agencyCode,
        uint8 fromState,
        uint8 toState,
        string reason,
        bytes32 head
    );

    /// @notice A service with this id is already defined; a definition never changes.
    /// @param service The service id given.
    error ServiceAlreadyDefined(bytes32 service);
    /// @notice No service is defined under this id (setting a role or opening a request).
    /// @param service The service id given.
    error ServiceUnknown(bytes32 service);
    /// @notice A service definition is inconsistent: fewer than 2 or more than 255 states, a
    ///         time-limit list of another length, no roles or more than 255, or a transition
    ///         out of range, to its own state, with an unknown role or given twice.
    /// @param service The service id given.
    /// @param index 0 for the shape of the lists; 1 + i for transition i.
    error ServiceDefinitionInvalid(bytes32 service, uint256 index);
    /// @notice A role given to an agency is 0 (the owner, never granted) or not a role of the service.
    /// @param service The service id.
    /// @param role The role given.
    error ServiceRoleUnknown(bytes32 service, uint8 role);
    /// @notice A request with this tracking code is already open; tracking codes are never reused.
    /// @param trackingCode The tracking code given.
    error RequestAlreadyOpened(bytes32 trackingCode);
    /// @notice No request was opened under this tracking code (advancing or reading it).
    /// @param trackingCode The tracking code given.
    error RequestUnknown(bytes32 trackingCode);
    /// @notice A request is opened with a zero applicant commitment.
    error CommitmentMissing();
    /// @notice A request is opened with a zero tracking code.
    error TrackingCodeMissing();
    /// @notice A tracking code is 20 bytes left-aligned in the bytes32: its low 12 bytes must
    ///         be zero. Otherwise two codes would share the 20 bytes every reader prints.
    /// @param trackingCode The tracking code given.
    error TrackingCodeMalformed(bytes32 trackingCode);
    /// @notice The service has no transition from the request's current state to the state asked for.
    /// @param trackingCode The request.
    /// @param fromState Its current state.
    /// @param toState The state asked for.
    error TransitionNotAllowed(bytes32 trackingCode, uint8 fromState, uint8 toState);
    /// @notice The caller's agency does not hold the role the transition needs (role 0: it is
    ///         not the agency that opened the request).
    /// @param trackingCode The request.
    /// @param role The role the transition needs.
    /// @param callerAgency The agency the caller's key records for.
    error TransitionRoleMissing(bytes32 trackingCode, uint8 role, bytes32 callerAgency);

    /// @notice Define a service. Registrar only; a definition never changes (publish a new service id).
    function defineService(
        bytes32 service,
        string[] calldata states,
        uint16[] calldata timeLimitDays,
        string[] calldata roles,
        Transition[] calldata transitions
    ) external;
    /// @notice Give (or take back) a service role from an agency. Registrar only.
    function setServiceRole(bytes32 service, uint8 role, bytes32 agencyCode, bool granted) external;
    /// @notice Open a request owned by the caller's agency under an unguessable tracking code:
    ///         160 random bits left-aligned, the low 12 bytes zero (else `TrackingCodeMalformed`).
    function openRequest(bytes32 service, bytes32 trackingCode, bytes32 applicantCommitment) external;
    /// @notice Move a request along an allowed transition; the caller's agency must hold its role.
    function advanceRequest(bytes32 trackingCode, uint8 toState, string calldata reason) external;

    /// @notice A request's service, owning agency and current state.
    function request(bytes32 trackingCode) external view returns (bytes32 service, bytes32 agencyCode, uint8 state);
    /// @notice The role that may take `from -> to`, and whether that transition exists.
    function transitionRole(bytes32 service, uint8 from, uint8 to) external view returns (bool allowed, uint8 role);
}

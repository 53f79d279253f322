"""Tables of the OPC UA binary protocol, as data.

References: OPC 10000-6 (Part 6, Mappings) 7.1.2 (UA Connection Protocol message types),
6.7.2 (secure conversation chunks), 5.2.2 (built-in types); OPC 10000-4 (Part 4, Services)
7.38 (StatusCode), 5 (the services); OPC 10000-3 5.9 (attribute ids); OPC 10000-7 (security
policy URIs). Numeric ids are those of the NodeIds.csv / StatusCode.csv files the OPC
Foundation publishes with the specification.
"""

from __future__ import annotations

__all__ = [
    "ANOMALY_CODES",
    "APPLICATION_TYPES",
    "ATTRIBUTES",
    "BROWSE_DIRECTIONS",
    "BUILD_INFO_FIELDS",
    "BUILTIN_TYPES",
    "CHUNK_TYPES",
    "IDENTITY_TOKENS",
    "MESSAGE_TYPES",
    "MONITORING_MODES",
    "NODE_CLASSES",
    "POLICY_SIGNATURE_SIZE",
    "REQUEST_TYPES",
    "SECURITY_MODES",
    "SECURITY_POLICIES",
    "SERVICES",
    "SERVICE_CLASSES",
    "STATUS_CODES",
    "TIMESTAMPS_TO_RETURN",
    "USER_TOKEN_TYPES",
    "status_name",
]

MESSAGE_TYPES: dict[bytes, str] = {
    b"HEL": "hello",
    b"ACK": "acknowledge",
    b"ERR": "error",
    b"RHE": "reverse_hello",
    b"OPN": "open_secure_channel",
    b"CLO": "close_secure_channel",
    b"MSG": "message",
}
"""Part 6, 7.1.2.2 (HEL, ACK, ERR, RHE) and 6.7.2.2 (OPN, CLO, MSG)."""

CHUNK_TYPES: dict[int, str] = {0x46: "F", 0x43: "C", 0x41: "A"}
"""Part 6, 6.7.2.2: final, intermediate, abort (connection messages use F only)."""

SECURITY_POLICIES: dict[str, str] = {
    "http://opcfoundation.org/UA/SecurityPolicy#None": "None",
    "http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15": "Basic128Rsa15",
    "http://opcfoundation.org/UA/SecurityPolicy#Basic256": "Basic256",
    "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256": "Basic256Sha256",
    "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep": "Aes128_Sha256_RsaOaep",
    "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss": "Aes256_Sha256_RsaPss",
}
"""Part 7 security policy URIs -> short names."""

POLICY_SIGNATURE_SIZE: dict[str, int] = {
    "Basic128Rsa15": 20, "Basic256": 20,  # HMAC-SHA1
    "Basic256Sha256": 32, "Aes128_Sha256_RsaOaep": 32, "Aes256_Sha256_RsaPss": 32,  # SHA256
}
"""Symmetric signature size per policy: the tail of every signed (not encrypted) chunk."""

SECURITY_MODES: dict[int, str] = {0: "Invalid", 1: "None", 2: "Sign", 3: "SignAndEncrypt"}
"""MessageSecurityMode (Part 4, 7.20)."""

REQUEST_TYPES: dict[int, str] = {0: "Issue", 1: "Renew"}
"""SecurityTokenRequestType (Part 4, 5.5.2.2)."""

APPLICATION_TYPES: dict[int, str] = {0: "Server", 1: "Client", 2: "ClientAndServer",
                                     3: "DiscoveryServer"}
"""ApplicationType (Part 4, 7.1)."""

USER_TOKEN_TYPES: dict[int, str] = {0: "Anonymous", 1: "UserName", 2: "Certificate",
                                    3: "IssuedToken"}
"""UserTokenType (Part 4, 7.41)."""

IDENTITY_TOKENS: dict[int, str] = {321: "Anonymous", 324: "UserName", 327: "Certificate",
                                   940: "IssuedToken"}
"""Binary encoding ids of the user identity token ExtensionObjects (Part 4, 7.36)."""

TIMESTAMPS_TO_RETURN: dict[int, str] = {0: "Source", 1: "Server", 2: "Both", 3: "Neither",
                                        4: "Invalid"}
"""TimestampsToReturn (Part 4, 7.40)."""

BROWSE_DIRECTIONS: dict[int, str] = {0: "Forward", 1: "Inverse", 2: "Both", 3: "Invalid"}

MONITORING_MODES: dict[int, str] = {0: "Disabled", 1: "Sampling", 2: "Reporting"}

NODE_CLASSES: dict[int, str] = {0: "Unspecified", 1: "Object", 2: "Variable", 4: "Method",
                                8: "ObjectType", 16: "VariableType", 32: "ReferenceType",
                                64: "DataType", 128: "View"}

ATTRIBUTES: dict[int, str] = {
    1: "NodeId", 2: "NodeClass", 3: "BrowseName", 4: "DisplayName", 5: "Description",
    6: "WriteMask", 7: "UserWriteMask", 8: "IsAbstract", 9: "Symmetric", 10: "InverseName",
    11: "ContainsNoLoops", 12: "EventNotifier", 13: "Value", 14: "DataType", 15: "ValueRank",
    16: "ArrayDimensions", 17: "AccessLevel", 18: "UserAccessLevel",
    19: "MinimumSamplingInterval", 20: "Historizing", 21: "Executable", 22: "UserExecutable",
    23: "DataTypeDefinition", 24: "RolePermissions", 25: "UserRolePermissions",
    26: "AccessRestrictions", 27: "AccessLevelEx",
}
"""AttributeId (Part 6, A.1 / Part 3, 5.9)."""

BUILTIN_TYPES: dict[int, str] = {
    0: "Null", 1: "Boolean", 2: "SByte", 3: "Byte", 4: "Int16", 5: "UInt16", 6: "Int32",
    7: "UInt32", 8: "Int64", 9: "UInt64", 10: "Float", 11: "Double", 12: "String",
    13: "DateTime", 14: "Guid", 15: "ByteString", 16: "XmlElement", 17: "NodeId",
    18: "ExpandedNodeId", 19: "StatusCode", 20: "QualifiedName", 21: "LocalizedText",
    22: "ExtensionObject", 23: "DataValue", 24: "Variant", 25: "DiagnosticInfo",
}
"""Built-in type ids (Part 6, 5.1.2, Table 1)."""

BUILD_INFO_FIELDS: dict[int, str] = {
    2261: "product_name", 2262: "product_uri", 2263: "manufacturer", 2264: "software_version",
    2265: "build_number", 2266: "build_date",
}
"""ns=0 variables Server_ServerStatus_BuildInfo_* (2260 is the BuildInfo structure itself,
2256 the whole ServerStatus)."""

# Binary encoding id -> (service name, True for a request). Part 4 service set; ids from
# NodeIds.csv (<Service>Request_Encoding_DefaultBinary / <Service>Response_...).
_SERVICE_IDS: tuple[tuple[str, int, int], ...] = (
    ("FindServers", 422, 425),
    ("FindServersOnNetwork", 12208, 12209),
    ("GetEndpoints", 428, 431),
    ("RegisterServer", 437, 440),
    ("RegisterServer2", 12211, 12212),
    ("OpenSecureChannel", 446, 449),
    ("CloseSecureChannel", 452, 455),
    ("CreateSession", 461, 464),
    ("ActivateSession", 467, 470),
    ("CloseSession", 473, 476),
    ("Cancel", 479, 482),
    ("AddNodes", 488, 491),
    ("AddReferences", 494, 497),
    ("DeleteNodes", 500, 503),
    ("DeleteReferences", 506, 509),
    ("Browse", 527, 530),
    ("BrowseNext", 533, 536),
    ("TranslateBrowsePathsToNodeIds", 554, 557),
    ("RegisterNodes", 560, 563),
    ("UnregisterNodes", 566, 569),
    ("QueryFirst", 615, 618),
    ("QueryNext", 621, 624),
    ("Read", 631, 634),
    ("HistoryRead", 664, 667),
    ("Write", 673, 676),
    ("HistoryUpdate", 700, 703),
    ("Call", 712, 715),
    ("CreateMonitoredItems", 751, 754),
    ("ModifyMonitoredItems", 763, 766),
    ("SetMonitoringMode", 769, 772),
    ("SetTriggering", 775, 778),
    ("DeleteMonitoredItems", 781, 784),
    ("CreateSubscription", 787, 790),
    ("ModifySubscription", 793, 796),
    ("SetPublishingMode", 799, 802),
    ("Publish", 826, 829),
    ("Republish", 832, 835),
    ("TransferSubscriptions", 841, 844),
    ("DeleteSubscriptions", 847, 850),
    ("TestStack", 410, 413),
    ("TestStackEx", 416, 419),
)

SERVICES: dict[int, tuple[str, bool]] = {
    **{req: (name, True) for name, req, _ in _SERVICE_IDS},
    **{resp: (name, False) for name, _, resp in _SERVICE_IDS},
    397: ("ServiceFault", False),
}
"""Encodeable object binary encoding id (ns=0) -> (service, is request)."""

SERVICE_CLASSES: dict[str, str] = {
    "FindServers": "identify", "FindServersOnNetwork": "identify", "GetEndpoints": "identify",
    "RegisterServer": "config", "RegisterServer2": "config",
    "OpenSecureChannel": "security", "CloseSecureChannel": "security",
    "CreateSession": "security", "ActivateSession": "security", "CloseSession": "security",
    "Cancel": "other",
    "AddNodes": "config", "AddReferences": "config", "DeleteNodes": "config",
    "DeleteReferences": "config",
    "Browse": "read", "BrowseNext": "read", "TranslateBrowsePathsToNodeIds": "read",
    "RegisterNodes": "read", "UnregisterNodes": "read", "QueryFirst": "read",
    "QueryNext": "read", "Read": "read", "HistoryRead": "read",
    "Write": "write", "HistoryUpdate": "write",
    "Call": "control",
    # Subscriptions and monitored items only deliver data to the client.
    "CreateMonitoredItems": "read", "ModifyMonitoredItems": "read", "SetMonitoringMode": "read",
    "SetTriggering": "read", "DeleteMonitoredItems": "read", "CreateSubscription": "read",
    "ModifySubscription": "read", "SetPublishingMode": "read", "Publish": "read",
    "Republish": "read", "TransferSubscriptions": "read", "DeleteSubscriptions": "read",
    "TestStack": "diagnostics", "TestStackEx": "diagnostics",
}
"""Service -> function class (read, write, control, config, identify, security...)."""

STATUS_CODES: dict[int, str] = {
    0x00000000: "Good", 0x40000000: "Uncertain", 0x80000000: "Bad",
    0x80010000: "BadUnexpectedError", 0x80020000: "BadInternalError",
    0x80030000: "BadOutOfMemory", 0x80040000: "BadResourceUnavailable",
    0x80050000: "BadCommunicationError", 0x80060000: "BadEncodingError",
    0x80070000: "BadDecodingError", 0x80080000: "BadEncodingLimitsExceeded",
    0x80B80000: "BadRequestTooLarge", 0x80B90000: "BadResponseTooLarge",
    0x80090000: "BadUnknownResponse", 0x800A0000: "BadTimeout",
    0x800B0000: "BadServiceUnsupported", 0x800C0000: "BadShutdown",
    0x800D0000: "BadServerNotConnected", 0x800E0000: "BadServerHalted",
    0x800F0000: "BadNothingToDo", 0x80100000: "BadTooManyOperations",
    0x80DB0000: "BadTooManyMonitoredItems", 0x80110000: "BadDataTypeIdUnknown",
    0x80120000: "BadCertificateInvalid", 0x80130000: "BadSecurityChecksFailed",
    0x80140000: "BadCertificateTimeInvalid", 0x80150000: "BadCertificateIssuerTimeInvalid",
    0x80160000: "BadCertificateHostNameInvalid", 0x80170000: "BadCertificateUriInvalid",
    0x80180000: "BadCertificateUseNotAllowed", 0x80190000: "BadCertificateIssuerUseNotAllowed",
    0x801A0000: "BadCertificateUntrusted", 0x801B0000: "BadCertificateRevocationUnknown",
    0x801C0000: "BadCertificateIssuerRevocationUnknown", 0x801D0000: "BadCertificateRevoked",
    0x801E0000: "BadCertificateIssuerRevoked", 0x801F0000: "BadUserAccessDenied",
    0x80200000: "BadIdentityTokenInvalid", 0x80210000: "BadIdentityTokenRejected",
    0x80220000: "BadSecureChannelIdInvalid", 0x80230000: "BadInvalidTimestamp",
    0x80240000: "BadNonceInvalid", 0x80250000: "BadSessionIdInvalid",
    0x80260000: "BadSessionClosed", 0x80270000: "BadSessionNotActivated",
    0x80280000: "BadSubscriptionIdInvalid", 0x802A0000: "BadRequestHeaderInvalid",
    0x802B0000: "BadTimestampsToReturnInvalid", 0x802C0000: "BadRequestCancelledByClient",
    0x002D0000: "GoodSubscriptionTransferred", 0x002E0000: "GoodCompletesAsynchronously",
    0x002F0000: "GoodOverload", 0x00300000: "GoodClamped", 0x80310000: "BadNoCommunication",
    0x80320000: "BadWaitingForInitialData", 0x80330000: "BadNodeIdInvalid",
    0x80340000: "BadNodeIdUnknown", 0x80350000: "BadAttributeIdInvalid",
    0x80360000: "BadIndexRangeInvalid", 0x80370000: "BadIndexRangeNoData",
    0x80380000: "BadDataEncodingInvalid", 0x80390000: "BadDataEncodingUnsupported",
    0x803A0000: "BadNotReadable", 0x803B0000: "BadNotWritable", 0x803C0000: "BadOutOfRange",
    0x803D0000: "BadNotSupported", 0x803E0000: "BadNotFound", 0x803F0000: "BadObjectDeleted",
    0x80400000: "BadNotImplemented", 0x80410000: "BadMonitoringModeInvalid",
    0x80420000: "BadMonitoredItemIdInvalid", 0x80430000: "BadMonitoredItemFilterInvalid",
    0x80440000: "BadMonitoredItemFilterUnsupported", 0x80450000: "BadFilterNotAllowed",
    0x80460000: "BadStructureMissing", 0x80470000: "BadEventFilterInvalid",
    0x80480000: "BadContentFilterInvalid", 0x80C10000: "BadFilterOperatorInvalid",
    0x80C20000: "BadFilterOperatorUnsupported", 0x80C30000: "BadFilterOperandCountMismatch",
    0x80490000: "BadFilterOperandInvalid", 0x80C40000: "BadFilterElementInvalid",
    0x80C50000: "BadFilterLiteralInvalid", 0x804A0000: "BadContinuationPointInvalid",
    0x804B0000: "BadNoContinuationPoints", 0x804C0000: "BadReferenceTypeIdInvalid",
    0x804D0000: "BadBrowseDirectionInvalid", 0x804E0000: "BadNodeNotInView",
    0x804F0000: "BadServerUriInvalid", 0x80500000: "BadServerNameMissing",
    0x80510000: "BadDiscoveryUrlMissing", 0x80520000: "BadSempahoreFileMissing",
    0x80530000: "BadRequestTypeInvalid", 0x80540000: "BadSecurityModeRejected",
    0x80550000: "BadSecurityPolicyRejected", 0x80560000: "BadTooManySessions",
    0x80570000: "BadUserSignatureInvalid", 0x80580000: "BadApplicationSignatureInvalid",
    0x80590000: "BadNoValidCertificates", 0x80C60000: "BadIdentityChangeNotSupported",
    0x805A0000: "BadRequestCancelledByRequest", 0x805B0000: "BadParentNodeIdInvalid",
    0x805C0000: "BadReferenceNotAllowed", 0x805D0000: "BadNodeIdRejected",
    0x805E0000: "BadNodeIdExists", 0x805F0000: "BadNodeClassInvalid",
    0x80600000: "BadBrowseNameInvalid", 0x80610000: "BadBrowseNameDuplicated",
    0x80620000: "BadNodeAttributesInvalid", 0x80630000: "BadTypeDefinitionInvalid",
    0x80640000: "BadSourceNodeIdInvalid", 0x80650000: "BadTargetNodeIdInvalid",
    0x80660000: "BadDuplicateReferenceNotAllowed", 0x80670000: "BadInvalidSelfReference",
    0x80680000: "BadReferenceLocalOnly", 0x80690000: "BadNoDeleteRights",
    0x40BC0000: "UncertainReferenceNotDeleted", 0x806A0000: "BadServerIndexInvalid",
    0x806B0000: "BadViewIdUnknown", 0x80C90000: "BadViewTimestampInvalid",
    0x80CA0000: "BadViewParameterMismatch", 0x80CB0000: "BadViewVersionInvalid",
    0x40C00000: "UncertainNotAllNodesAvailable", 0x00BA0000: "GoodResultsMayBeIncomplete",
    0x80C80000: "BadNotTypeDefinition", 0x406C0000: "UncertainReferenceOutOfServer",
    0x806D0000: "BadTooManyMatches", 0x806E0000: "BadQueryTooComplex", 0x806F0000: "BadNoMatch",
    0x80700000: "BadMaxAgeInvalid", 0x80E60000: "BadSecurityModeInsufficient",
    0x80710000: "BadHistoryOperationInvalid", 0x80720000: "BadHistoryOperationUnsupported",
    0x80BD0000: "BadInvalidTimestampArgument", 0x80730000: "BadWriteNotSupported",
    0x80740000: "BadTypeMismatch", 0x80750000: "BadMethodInvalid",
    0x80760000: "BadArgumentsMissing", 0x81110000: "BadNotExecutable",
    0x80770000: "BadTooManySubscriptions", 0x80780000: "BadTooManyPublishRequests",
    0x80790000: "BadNoSubscription", 0x807A0000: "BadSequenceNumberUnknown",
    0x807B0000: "BadMessageNotAvailable", 0x807C0000: "BadInsufficientClientProfile",
    0x80BF0000: "BadStateNotActive", 0x81150000: "BadAlreadyExists",
    0x807D0000: "BadTcpServerTooBusy", 0x807E0000: "BadTcpMessageTypeInvalid",
    0x807F0000: "BadTcpSecureChannelUnknown", 0x80800000: "BadTcpMessageTooLarge",
    0x80810000: "BadTcpNotEnoughResources", 0x80820000: "BadTcpInternalError",
    0x80830000: "BadTcpEndpointUrlInvalid", 0x80840000: "BadRequestInterrupted",
    0x80850000: "BadRequestTimeout", 0x80860000: "BadSecureChannelClosed",
    0x80870000: "BadSecureChannelTokenUnknown", 0x80880000: "BadSequenceNumberInvalid",
    0x80BE0000: "BadProtocolVersionUnsupported", 0x80890000: "BadConfigurationError",
    0x808A0000: "BadNotConnected", 0x808B0000: "BadDeviceFailure", 0x808C0000: "BadSensorFailure",
    0x808D0000: "BadOutOfService", 0x808E0000: "BadDeadbandFilterInvalid",
    0x408F0000: "UncertainNoCommunicationLastUsableValue", 0x40900000: "UncertainLastUsableValue",
    0x40910000: "UncertainSubstituteValue", 0x40920000: "UncertainInitialValue",
    0x40930000: "UncertainSensorNotAccurate", 0x40940000: "UncertainEngineeringUnitsExceeded",
    0x40950000: "UncertainSubNormal", 0x00960000: "GoodLocalOverride",
    0x80970000: "BadRefreshInProgress", 0x80980000: "BadConditionAlreadyDisabled",
    0x80CC0000: "BadConditionAlreadyEnabled", 0x80990000: "BadConditionDisabled",
    0x809A0000: "BadEventIdUnknown", 0x80BB0000: "BadEventNotAcknowledgeable",
    0x80CD0000: "BadDialogNotActive", 0x80CE0000: "BadDialogResponseInvalid",
    0x80CF0000: "BadConditionBranchAlreadyAcked",
    0x80D00000: "BadConditionBranchAlreadyConfirmed", 0x80D10000: "BadConditionAlreadyShelved",
    0x80D20000: "BadConditionNotShelved", 0x80D30000: "BadShelvingTimeOutOfRange",
    0x809B0000: "BadNoData", 0x80D70000: "BadBoundNotFound", 0x80D80000: "BadBoundNotSupported",
    0x809D0000: "BadDataLost", 0x809E0000: "BadDataUnavailable", 0x809F0000: "BadEntryExists",
    0x80A00000: "BadNoEntryExists", 0x80A10000: "BadTimestampNotSupported",
    0x00A20000: "GoodEntryInserted", 0x00A30000: "GoodEntryReplaced",
    0x40A40000: "UncertainDataSubNormal", 0x00A50000: "GoodNoData", 0x00A60000: "GoodMoreData",
    0x80D40000: "BadAggregateListMismatch", 0x80D50000: "BadAggregateNotSupported",
    0x80D60000: "BadAggregateInvalidInputs", 0x80DA0000: "BadAggregateConfigurationRejected",
    0x00D90000: "GoodDataIgnored", 0x80E40000: "BadRequestNotAllowed",
    0x81130000: "BadRequestNotComplete", 0x00DC0000: "GoodEdited",
    0x00DD0000: "GoodPostActionFailed", 0x40DE0000: "UncertainDominantValueChanged",
    0x00E00000: "GoodDependentValueChanged", 0x80E10000: "BadDominantValueChanged",
    0x40E20000: "UncertainDependentValueChanged", 0x80E30000: "BadDependentValueChanged",
    0x00A70000: "GoodCommunicationEvent", 0x00A80000: "GoodShutdownEvent",
    0x00A90000: "GoodCallAgain", 0x00AA0000: "GoodNonCriticalTimeout",
    0x80AB0000: "BadInvalidArgument", 0x80AC0000: "BadConnectionRejected",
    0x80AD0000: "BadDisconnect", 0x80AE0000: "BadConnectionClosed", 0x80AF0000: "BadInvalidState",
    0x80B00000: "BadEndOfStream", 0x80B10000: "BadNoDataAvailable",
    0x80B20000: "BadWaitingForResponse", 0x80B30000: "BadOperationAbandoned",
    0x80B40000: "BadExpectedStreamToBlock", 0x80B50000: "BadWouldBlock",
    0x80B60000: "BadSyntaxError", 0x80B70000: "BadMaxConnectionsReached",
}
"""StatusCode (Part 4, 7.38 and Part 6, A.2): the top 16 bits -> symbolic name."""

_SEVERITY = ("Good", "Uncertain", "Bad", "Bad")


def status_name(code: int) -> str:
    """Symbolic name of a status code; the low 16 bits (info type, limits, overflow) are
    flags, not part of the name. Unknown codes are named by severity and hex value."""
    name = STATUS_CODES.get(code & 0xFFFF0000)
    if name is not None:
        return name
    return f"{_SEVERITY[code >> 30]}_0x{code:08X}"


ANOMALY_CODES: dict[str, str] = {
    "opcua.bad_header": "stream bytes that cannot start an OPC UA message (unknown message or "
                        "chunk type, or a size too small for the message type): the decoder "
                        "resynchronises at the next segment",
    "opcua.bad_chunk": "a chunk that breaks the chunking rules: a connection message (HEL, "
                       "ACK, ERR, RHE) not final, an intermediate or abort OPN/CLO chunk, or a "
                       "chunk whose security header or sequence header is truncated",
    "opcua.bad_encoding": "a message body that violates the OPC UA binary encoding "
                          "(truncated, impossible lengths, bad node id or variant encoding)",
    "opcua.bad_security_header": "asymmetric security header (OPN) with an impossible policy "
                                 "URI or certificate length",
    "opcua.unknown_service": "a message body whose encodeable object node id is not a "
                             "standard service request, response or ServiceFault",
    "opcua.unknown_policy": "a security policy URI that is not one of the standard policies",
    "opcua.too_many_chunks": "a message split into more chunks than the negotiated "
                             "MaxChunkCount (or the decoder's cap), or larger than "
                             "Settings.max_stream_buffer: its chunks were dropped",
    "opcua.message_aborted": "an abort chunk (A): the sender gave up a message mid-way",
    "opcua.bad_sequence": "a sequence number that does not follow the previous one of the "
                          "same channel and direction (replayed, injected or lost chunks)",
    "opcua.response_mismatch": "a response of another service than its request, or whose "
                               "request handle differs from the request's",
    "opcua.unmatched_response": "a response whose request was not seen",
    "opcua.too_many_pending": "more requests awaiting responses (or partial messages) than "
                              "Settings.max_pending_requests; the oldest are reported "
                              "unanswered (once per flow)",
    "opcua.unanswered_request": "a request left without a response when it timed out "
                                "(Settings.request_timeout) or the flow ended (Publish "
                                "requests, which servers hold on purpose, excepted)",
    "opcua.invalid_frame_size": "a message size larger than Settings.max_frame_bytes",
    "opcua.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer were "
                             "dropped",
}

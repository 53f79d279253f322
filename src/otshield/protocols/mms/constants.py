"""Code tables of the OSI upper layers and of MMS, as data.

References:
- ISO 8327-1 (X.225) section 8.3: SPDU identifiers (SI) and parameter identifiers (PI/PGI).
- ISO 8823-1 (X.226) section 8.2: presentation context results.
- ISO 8650-1 (X.227) section 7: ACSE result, diagnostic, release and abort values.
- ISO 9506-2 (MMS protocol) section 7 (MMSpdu, ConfirmedServiceRequest tags, ServiceError,
  RejectPDU), 8 (Initiate: ParameterSupportOptions, ServiceSupportOptions), 10-14 (services).
- IEC 61850-8-1 section 20 / 22 (control model on MMS write: ``$CO$...$Oper``, ``$SBOw``).
"""

from __future__ import annotations

__all__ = [
    "ACSE_ABORT_SOURCE",
    "ACSE_AS_ID",
    "ACSE_RESULT",
    "ACSE_USER_DIAG",
    "BASIC_OBJECT_CLASS",
    "CONFIRMED_SERVICES",
    "CONTROL_SERVICES",
    "DATA_ACCESS_ERROR",
    "ERROR_CLASSES",
    "ERROR_CODES",
    "FUNCTION_CLASS",
    "MMS_AS_ID",
    "PARAMETER_CBB",
    "PCTX_RESULT",
    "PDU_NAMES",
    "REJECT_REASONS",
    "RELEASE_REASON",
    "SERVICES_SUPPORTED",
    "SPDU_NAMES",
    "UNCONFIRMED_SERVICES",
    "VMD_LOGICAL_STATUS",
    "VMD_PHYSICAL_STATUS",
]

# -- ISO 8327 session ------------------------------------------------------------------------------
SPDU_NAMES: dict[int, str] = {
    # SI code -> abbreviation (8.3.x). GT and DT share code 1 (category 0 vs 2).
    1: "DT", 2: "PT", 5: "EX", 7: "PR", 8: "NF", 9: "FN", 10: "DN", 12: "RF", 13: "CN",
    14: "AC", 15: "CDO", 16: "OA", 21: "ER", 22: "MIA", 25: "AB", 26: "AA", 29: "AR",
    33: "TD", 34: "RA", 41: "MAP", 42: "MAA", 45: "AS", 48: "ED", 49: "MIP", 50: "MIA",
    53: "RS", 57: "AD", 58: "ADA", 61: "CD", 62: "CDA",
}
SI_DT, SI_FN, SI_DN, SI_RF, SI_CN, SI_AC, SI_AB, SI_AA, SI_NF = 1, 9, 10, 12, 13, 14, 25, 26, 8
PI_USER_DATA, PI_EXTENDED_USER_DATA = 193, 194

# -- presentation and ACSE -------------------------------------------------------------------------
MMS_AS_ID = "1.0.9506.2.1"
"""Abstract syntax of MMS (ISO 9506-2 annex, ``mms-abstract-syntax-version1``)."""
ACSE_AS_ID = "2.2.1.0.1"
"""Abstract syntax of ACSE (ISO 8650 ``acse-as-id``)."""

PCTX_RESULT: dict[int, str] = {0: "acceptance", 1: "user-rejection", 2: "provider-rejection"}
ACSE_RESULT: dict[int, str] = {0: "accepted", 1: "rejected-permanent", 2: "rejected-transient"}
ACSE_USER_DIAG: dict[int, str] = {
    0: "null", 1: "no-reason-given", 2: "application-context-name-not-supported",
    3: "calling-AP-title-not-recognized", 4: "calling-AP-invocation-identifier-not-recognized",
    5: "calling-AE-qualifier-not-recognized", 6: "calling-AE-invocation-identifier-not-recognized",
    7: "called-AP-title-not-recognized", 8: "called-AP-invocation-identifier-not-recognized",
    9: "called-AE-qualifier-not-recognized", 10: "called-AE-invocation-identifier-not-recognized",
    11: "authentication-mechanism-name-not-recognized",
    12: "authentication-mechanism-name-required", 13: "authentication-failure",
    14: "authentication-required",
}
RELEASE_REASON: dict[int, str] = {0: "normal", 1: "urgent", 30: "user-defined"}
ACSE_ABORT_SOURCE: dict[int, str] = {0: "acse-service-user", 1: "acse-service-provider"}

# -- MMS PDU choice (ISO 9506-2 7.1) ---------------------------------------------------------------
PDU_NAMES: dict[int, str] = {
    0: "confirmed-request", 1: "confirmed-response", 2: "confirmed-error", 3: "unconfirmed",
    4: "reject", 5: "cancel-request", 6: "cancel-response", 7: "cancel-error",
    8: "initiate-request", 9: "initiate-response", 10: "initiate-error",
    11: "conclude-request", 12: "conclude-response", 13: "conclude-error",
}

CONFIRMED_SERVICES: tuple[str, ...] = (
    # ConfirmedServiceRequest / -Response context tag -> service name (7.1, tags 0..77)
    "status", "getNameList", "identify", "rename", "read", "write",
    "getVariableAccessAttributes", "defineNamedVariable", "defineScatteredAccess",
    "getScatteredAccessAttributes", "deleteVariableAccess", "defineNamedVariableList",
    "getNamedVariableListAttributes", "deleteNamedVariableList", "defineNamedType",
    "getNamedTypeAttributes", "deleteNamedType", "input", "output", "takeControl",
    "relinquishControl", "defineSemaphore", "deleteSemaphore", "reportSemaphoreStatus",
    "reportPoolSemaphoreStatus", "reportSemaphoreEntryStatus", "initiateDownloadSequence",
    "downloadSegment", "terminateDownloadSequence", "initiateUploadSequence", "uploadSegment",
    "terminateUploadSequence", "requestDomainDownload", "requestDomainUpload",
    "loadDomainContent", "storeDomainContent", "deleteDomain", "getDomainAttributes",
    "createProgramInvocation", "deleteProgramInvocation", "start", "stop", "resume", "reset",
    "kill", "getProgramInvocationAttributes", "obtainFile", "defineEventCondition",
    "deleteEventCondition", "getEventConditionAttributes", "reportEventConditionStatus",
    "alterEventConditionMonitoring", "triggerEvent", "defineEventAction", "deleteEventAction",
    "getEventActionAttributes", "reportEventActionStatus", "defineEventEnrollment",
    "deleteEventEnrollment", "alterEventEnrollment", "reportEventEnrollmentStatus",
    "getEventEnrollmentAttributes", "acknowledgeEventNotification", "getAlarmSummary",
    "getAlarmEnrollmentSummary", "readJournal", "writeJournal", "initializeJournal",
    "reportJournalStatus", "createJournal", "deleteJournal", "getCapabilityList", "fileOpen",
    "fileRead", "fileClose", "fileRename", "fileDelete", "fileDirectory",
)

UNCONFIRMED_SERVICES: dict[int, str] = {0: "informationReport", 1: "unsolicitedStatus",
                                         2: "eventNotification"}

SERVICES_SUPPORTED: tuple[str, ...] = (
    *CONFIRMED_SERVICES,
    # ServiceSupportOptions bits 78.. (8.2.1.1): unconfirmed services and conclude/cancel,
    # then the 2003 edition's data exchange and access control services.
    "unsolicitedStatus", "informationReport", "eventNotification", "attachToEventCondition",
    "attachToSemaphore", "conclude", "cancel", "getDataExchangeAttributes", "exchangeData",
    "defineAccessControlList", "getAccessControlListAttributes", "reportAccessControlledObjects",
    "deleteAccessControlList", "changeAccessControl",
)
"""Bit number of ServiceSupportOptions -> service name."""

PARAMETER_CBB: tuple[str, ...] = (
    # ParameterSupportOptions bits (8.2.1.2); bit 9 is unused in the 1990 edition
    "str1", "str2", "vnam", "valt", "vadr", "vsca", "tpy", "vlis", "real", "spare9", "cei",
    "aco", "sem", "csr", "csnc", "csplc", "cspi", "char",
)

FUNCTION_CLASS: dict[str, str] = {
    "status": "identify", "identify": "identify", "getCapabilityList": "identify",
    "getNameList": "read", "read": "read", "getVariableAccessAttributes": "read",
    "getScatteredAccessAttributes": "read", "getNamedVariableListAttributes": "read",
    "getNamedTypeAttributes": "read", "getDomainAttributes": "read",
    "getProgramInvocationAttributes": "read", "getEventConditionAttributes": "read",
    "getEventActionAttributes": "read", "getEventEnrollmentAttributes": "read",
    "reportEventConditionStatus": "read", "reportEventActionStatus": "read",
    "reportEventEnrollmentStatus": "read", "reportSemaphoreStatus": "read",
    "reportPoolSemaphoreStatus": "read", "reportSemaphoreEntryStatus": "read",
    "getAlarmSummary": "read", "getAlarmEnrollmentSummary": "read", "readJournal": "read",
    "reportJournalStatus": "read", "fileOpen": "read", "fileRead": "read",
    "fileClose": "read", "fileDirectory": "read", "input": "read",
    "write": "write", "output": "write", "writeJournal": "write",
    "start": "control", "stop": "control", "resume": "control", "reset": "control",
    "kill": "control", "triggerEvent": "control", "takeControl": "control",
    "relinquishControl": "control", "acknowledgeEventNotification": "control",
    "createProgramInvocation": "program", "deleteProgramInvocation": "program",
    "initiateDownloadSequence": "program", "downloadSegment": "program",
    "terminateDownloadSequence": "program", "initiateUploadSequence": "program",
    "uploadSegment": "program", "terminateUploadSequence": "program",
    "requestDomainDownload": "program", "requestDomainUpload": "program",
    "loadDomainContent": "program", "storeDomainContent": "program", "deleteDomain": "program",
    "obtainFile": "program", "fileRename": "program", "fileDelete": "program",
    "rename": "config", "defineNamedVariable": "config", "defineScatteredAccess": "config",
    "deleteVariableAccess": "config", "defineNamedVariableList": "config",
    "deleteNamedVariableList": "config", "defineNamedType": "config",
    "deleteNamedType": "config", "defineSemaphore": "config", "deleteSemaphore": "config",
    "defineEventCondition": "config", "deleteEventCondition": "config",
    "alterEventConditionMonitoring": "config", "defineEventAction": "config",
    "deleteEventAction": "config", "defineEventEnrollment": "config",
    "deleteEventEnrollment": "config", "alterEventEnrollment": "config",
    "initializeJournal": "config", "createJournal": "config", "deleteJournal": "config",
}
"""Confirmed service -> function class (reads, writes, control, program transfer, config)."""

CONTROL_SERVICES = frozenset({"start", "stop", "resume", "reset", "kill"})

BASIC_OBJECT_CLASS: dict[int, str] = {
    0: "namedVariable", 1: "scatteredAccess", 2: "namedVariableList", 3: "namedType",
    4: "semaphore", 5: "eventCondition", 6: "eventAction", 7: "eventEnrollment", 8: "journal",
    9: "domain", 10: "programInvocation", 11: "operatorStation", 12: "dataExchange",
    13: "accessControlList",
}

VMD_LOGICAL_STATUS: dict[int, str] = {0: "state-changes-allowed", 1: "no-state-changes-allowed",
                                      2: "limited-services-permitted",
                                      3: "support-services-allowed"}
VMD_PHYSICAL_STATUS: dict[int, str] = {0: "operational", 1: "partially-operational",
                                       2: "inoperable", 3: "needs-commissioning"}

DATA_ACCESS_ERROR: dict[int, str] = {
    0: "object-invalidated", 1: "hardware-fault", 2: "temporarily-unavailable",
    3: "object-access-denied", 4: "object-undefined", 5: "invalid-address",
    6: "type-unsupported", 7: "type-inconsistent", 8: "object-attribute-inconsistent",
    9: "object-access-unsupported", 10: "object-non-existent", 11: "object-value-invalid",
}

ERROR_CLASSES: tuple[str, ...] = (
    "vmd-state", "application-reference", "definition", "resource", "service",
    "service-preempt", "time-resolution", "access", "initiate", "conclude", "cancel", "file",
    "others",
)
ERROR_CODES: dict[int, tuple[str, ...]] = {
    # ServiceError.errorClass alternatives (7.4.1); "others" is a bare INTEGER
    0: ("other", "vmd-state-conflict", "vmd-operational-problem", "domain-transfer-problem",
        "state-machine-id-invalid"),
    1: ("other", "application-unreachable", "connection-lost", "application-reference-invalid",
        "context-unsupported"),
    2: ("other", "object-undefined", "invalid-address", "type-unsupported", "type-inconsistent",
        "object-exists", "object-attribute-inconsistent"),
    3: ("other", "memory-unavailable", "processor-resource-unavailable",
        "mass-storage-unavailable", "capability-unavailable", "capability-unknown"),
    4: ("other", "primitives-out-of-sequence", "object-state-conflict", "pdu-size",
        "continuation-invalid", "object-constraint-conflict"),
    5: ("other", "timeout", "deadlock", "cancel"),
    6: ("other", "unsupportable-time-resolution"),
    7: ("other", "object-access-unsupported", "object-non-existent", "object-access-denied",
        "object-invalidated"),
    8: ("other", "version-incompatible", "max-segment-insufficient",
        "max-services-outstanding-calling-insufficient",
        "max-services-outstanding-called-insufficient", "service-CBB-insufficient",
        "parameter-CBB-insufficient", "nesting-level-insufficient"),
    9: ("other", "further-communication-required"),
    10: ("other", "invoke-id-unknown", "cancel-not-possible"),
    11: ("other", "filename-ambiguous", "file-busy", "filename-syntax-error",
         "content-type-invalid", "position-invalid", "file-access-denied", "file-non-existent",
         "duplicate-filename", "insufficient-space-in-filestore"),
}

REJECT_REASONS: dict[int, tuple[str, dict[int, str]]] = {
    # RejectPDU.rejectReason alternative tag -> (PDU kind, problem code -> name) (7.3)
    1: ("confirmed-request", {0: "other", 1: "unrecognized-service", 2: "unrecognized-modifier",
                              3: "invalid-invokeID", 4: "invalid-argument",
                              5: "invalid-modifier", 6: "max-serv-outstanding-exceeded",
                              8: "max-recursion-exceeded", 9: "value-out-of-range"}),
    2: ("confirmed-response", {0: "other", 1: "unrecognized-service", 2: "invalid-invokeID",
                               3: "invalid-result", 5: "max-recursion-exceeded",
                               6: "value-out-of-range"}),
    3: ("confirmed-error", {0: "other", 1: "unrecognized-service", 2: "invalid-invokeID",
                            3: "invalid-serviceError", 4: "value-out-of-range"}),
    4: ("unconfirmed", {0: "other", 1: "unrecognized-service", 2: "invalid-argument",
                        3: "max-recursion-exceeded", 4: "value-out-of-range"}),
    5: ("pdu-error", {0: "unknown-pdu-type", 1: "invalid-pdu", 2: "illegal-acse-mapping"}),
    6: ("cancel-request", {0: "other", 1: "invalid-invokeID"}),
    7: ("cancel-response", {0: "other", 1: "invalid-invokeID"}),
    8: ("cancel-error", {0: "other", 1: "invalid-invokeID", 2: "invalid-serviceError",
                         3: "value-out-of-range"}),
    9: ("conclude-request", {0: "other", 1: "invalid-argument"}),
    10: ("conclude-response", {0: "other", 1: "invalid-result"}),
    11: ("conclude-error", {0: "other", 1: "invalid-serviceError", 2: "value-out-of-range"}),
}

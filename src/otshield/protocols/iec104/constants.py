"""IEC 60870-5-104 tables: APCI constants, type identifications, causes of transmission,
qualifier names, anomaly codes.

References: IEC 60870-5-104:2006 section 5 (APCI: start 0x68, length, control field formats),
section 8 (selection of standard ASDUs from IEC 60870-5-101) and 9 (ASDU: two-octet cause of
transmission and common address, three-octet information object address);
IEC 60870-5-101:2003 section 7.2.1 (type identification), 7.2.2 (variable structure
qualifier), 7.2.3 (cause of transmission), 7.2.6 (information elements: SIQ 7.2.6.1, DIQ
7.2.6.2, BCR 7.2.6.9, SCO/DCO/RCO 7.2.6.15-17, CP56Time2a 7.2.6.18, CP24Time2a 7.2.6.19,
QOI 7.2.6.22, QCC 7.2.6.23, QPM 7.2.6.24, QPA 7.2.6.25, QOC 7.2.6.26, QRP 7.2.6.27,
file transfer 7.2.6.33-7.2.6.39, QOS 7.2.6.39).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AFQ_ACK",
    "ANOMALY_CODES",
    "CAUSES",
    "CAUSE_ACT",
    "CAUSE_ACTCON",
    "CAUSE_ACTTERM",
    "CAUSE_DEACT",
    "CAUSE_DEACTCON",
    "CAUSE_FIRST_UNKNOWN",
    "CAUSE_LAST_UNKNOWN",
    "COI_CAUSES",
    "CONFIG",
    "CONTROL",
    "DCS_NAMES",
    "DIAG",
    "DPI_NAMES",
    "FILE_ERRORS",
    "FILE_SINK_TYPES",
    "FILE_SOURCE_TYPES",
    "FRZ_NAMES",
    "IEC104_PORT",
    "KPA_NAMES",
    "LSQ_NAMES",
    "MAX_APDU_LENGTH",
    "MIN_APDU_LENGTH",
    "NOT_IN_104",
    "OTHER",
    "PROGRAM",
    "QPA_NAMES",
    "QRP_NAMES",
    "QU_NAMES",
    "RCS_NAMES",
    "READ",
    "SCQ_SELECT",
    "START",
    "TYPES",
    "U_FUNCTIONS",
    "WRITE",
    "TypeInfo",
    "qoi_name",
    "rqt_name",
]

IEC104_PORT: Final = 2404
START: Final = 0x68
MIN_APDU_LENGTH: Final = 4
"""Length octet: the control field alone (S- and U-format, 104 section 5)."""
MAX_APDU_LENGTH: Final = 253
"""Length octet maximum (104 section 5: APDU at most 255 octets with start and length)."""

U_FUNCTIONS: Final[dict[int, str]] = {
    # first control octet of a U-format APDU (bits 0-1 = 11, one function bit set)
    0x07: "STARTDT_ACT",
    0x0B: "STARTDT_CON",
    0x13: "STOPDT_ACT",
    0x23: "STOPDT_CON",
    0x43: "TESTFR_ACT",
    0x83: "TESTFR_CON",
}

# Function classes (see the project's event conventions).
READ, WRITE, CONTROL, PROGRAM, CONFIG, DIAG, OTHER = (
    "read", "write", "control", "program", "config", "diagnostics", "other")

TypeInfo = tuple[str, str, str, str, str]
"""(name, description, value layout, time tag layout, function class). The layouts are keys of
the parser's element tables: the value part of an information element, then an optional time
tag ("" none, "cp24" CP24Time2a, "cp56" CP56Time2a)."""

TYPES: Final[dict[int, TypeInfo]] = {
    # -- process information in monitor direction (101 7.3.1) --
    1: ("M_SP_NA_1", "single-point information", "siq", "", READ),
    2: ("M_SP_TA_1", "single-point information with time tag", "siq", "cp24", READ),
    3: ("M_DP_NA_1", "double-point information", "diq", "", READ),
    4: ("M_DP_TA_1", "double-point information with time tag", "diq", "cp24", READ),
    5: ("M_ST_NA_1", "step position information", "vti", "", READ),
    6: ("M_ST_TA_1", "step position information with time tag", "vti", "cp24", READ),
    7: ("M_BO_NA_1", "bitstring of 32 bit", "bsi_qds", "", READ),
    8: ("M_BO_TA_1", "bitstring of 32 bit with time tag", "bsi_qds", "cp24", READ),
    9: ("M_ME_NA_1", "measured value, normalized value", "nva_qds", "", READ),
    10: ("M_ME_TA_1", "measured value, normalized value with time tag", "nva_qds", "cp24", READ),
    11: ("M_ME_NB_1", "measured value, scaled value", "sva_qds", "", READ),
    12: ("M_ME_TB_1", "measured value, scaled value with time tag", "sva_qds", "cp24", READ),
    13: ("M_ME_NC_1", "measured value, short floating point value", "float_qds", "", READ),
    14: ("M_ME_TC_1", "measured value, short floating point value with time tag", "float_qds",
         "cp24", READ),
    15: ("M_IT_NA_1", "integrated totals", "bcr", "", READ),
    16: ("M_IT_TA_1", "integrated totals with time tag", "bcr", "cp24", READ),
    17: ("M_EP_TA_1", "event of protection equipment with time tag", "sep", "cp24", READ),
    18: ("M_EP_TB_1", "packed start events of protection equipment with time tag", "spe",
         "cp24", READ),
    19: ("M_EP_TC_1", "packed output circuit information of protection equipment with time tag",
         "oci", "cp24", READ),
    20: ("M_PS_NA_1", "packed single-point information with status change detection", "scd",
         "", READ),
    21: ("M_ME_ND_1", "measured value, normalized value without quality descriptor", "nva",
         "", READ),
    30: ("M_SP_TB_1", "single-point information with time tag CP56Time2a", "siq", "cp56", READ),
    31: ("M_DP_TB_1", "double-point information with time tag CP56Time2a", "diq", "cp56", READ),
    32: ("M_ST_TB_1", "step position information with time tag CP56Time2a", "vti", "cp56", READ),
    33: ("M_BO_TB_1", "bitstring of 32 bit with time tag CP56Time2a", "bsi_qds", "cp56", READ),
    34: ("M_ME_TD_1", "measured value, normalized value with time tag CP56Time2a", "nva_qds",
         "cp56", READ),
    35: ("M_ME_TE_1", "measured value, scaled value with time tag CP56Time2a", "sva_qds",
         "cp56", READ),
    36: ("M_ME_TF_1", "measured value, short floating point value with time tag CP56Time2a",
         "float_qds", "cp56", READ),
    37: ("M_IT_TB_1", "integrated totals with time tag CP56Time2a", "bcr", "cp56", READ),
    38: ("M_EP_TD_1", "event of protection equipment with time tag CP56Time2a", "sep", "cp56",
         READ),
    39: ("M_EP_TE_1", "packed start events of protection equipment with time tag CP56Time2a",
         "spe", "cp56", READ),
    40: ("M_EP_TF_1", "packed output circuit information of protection equipment with time tag "
         "CP56Time2a", "oci", "cp56", READ),
    # -- process information in control direction (101 7.3.2, 104 section 8) --
    45: ("C_SC_NA_1", "single command", "sco", "", CONTROL),
    46: ("C_DC_NA_1", "double command", "dco", "", CONTROL),
    47: ("C_RC_NA_1", "regulating step command", "rco", "", CONTROL),
    48: ("C_SE_NA_1", "set-point command, normalized value", "nva_qos", "", WRITE),
    49: ("C_SE_NB_1", "set-point command, scaled value", "sva_qos", "", WRITE),
    50: ("C_SE_NC_1", "set-point command, short floating point value", "float_qos", "", WRITE),
    51: ("C_BO_NA_1", "bitstring of 32 bit", "bsi", "", WRITE),
    58: ("C_SC_TA_1", "single command with time tag CP56Time2a", "sco", "cp56", CONTROL),
    59: ("C_DC_TA_1", "double command with time tag CP56Time2a", "dco", "cp56", CONTROL),
    60: ("C_RC_TA_1", "regulating step command with time tag CP56Time2a", "rco", "cp56",
         CONTROL),
    61: ("C_SE_TA_1", "set-point command with time tag CP56Time2a, normalized value", "nva_qos",
         "cp56", WRITE),
    62: ("C_SE_TB_1", "set-point command with time tag CP56Time2a, scaled value", "sva_qos",
         "cp56", WRITE),
    63: ("C_SE_TC_1", "set-point command with time tag CP56Time2a, short floating point value",
         "float_qos", "cp56", WRITE),
    64: ("C_BO_TA_1", "bitstring of 32 bit with time tag CP56Time2a", "bsi", "cp56", WRITE),
    # -- system information in monitor direction (101 7.3.3) --
    70: ("M_EI_NA_1", "end of initialization", "coi", "", OTHER),
    # -- system information in control direction (101 7.3.4, 104 section 8) --
    100: ("C_IC_NA_1", "interrogation command", "qoi", "", READ),
    101: ("C_CI_NA_1", "counter interrogation command", "qcc", "", READ),
    102: ("C_RD_NA_1", "read command", "none", "", READ),
    103: ("C_CS_NA_1", "clock synchronization command", "none", "cp56", CONFIG),
    104: ("C_TS_NA_1", "test command", "fbp", "", DIAG),
    105: ("C_RP_NA_1", "reset process command", "qrp", "", CONTROL),
    106: ("C_CD_NA_1", "delay acquisition command", "cp16", "", CONFIG),
    107: ("C_TS_TA_1", "test command with time tag CP56Time2a", "tsc", "cp56", DIAG),
    # -- parameters in control direction (101 7.3.5) --
    110: ("P_ME_NA_1", "parameter of measured value, normalized value", "nva_qpm", "", CONFIG),
    111: ("P_ME_NB_1", "parameter of measured value, scaled value", "sva_qpm", "", CONFIG),
    112: ("P_ME_NC_1", "parameter of measured value, short floating point value", "float_qpm",
          "", CONFIG),
    113: ("P_AC_NA_1", "parameter activation", "qpa", "", CONFIG),
    # -- file transfer (101 7.3.6); the class depends on the direction, see session --
    120: ("F_FR_NA_1", "file ready", "frq", "", READ),
    121: ("F_SR_NA_1", "section ready", "srq", "", READ),
    122: ("F_SC_NA_1", "call directory, select file, call file, call section", "scq", "", READ),
    123: ("F_LS_NA_1", "last section, last segment", "lsq", "", READ),
    124: ("F_AF_NA_1", "ack file, ack section", "afq", "", READ),
    125: ("F_SG_NA_1", "segment", "segment", "", READ),
    126: ("F_DR_TA_1", "directory", "sof", "cp56", READ),
    127: ("F_SC_NB_1", "query log, request archive file", "query_log", "cp56", READ),
}

NOT_IN_104: Final = frozenset({2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19, 104, 106})
"""Types of IEC 60870-5-101 that 104 section 8 leaves out (CP24Time2a time tags, the test
command without time tag, delay acquisition): decoded, and reported."""

FILE_SOURCE_TYPES: Final = frozenset({120, 121, 123, 125})
"""File transfer ASDUs sent by the side the file comes from (ready, last section, segment)."""
FILE_SINK_TYPES: Final = frozenset({122, 124})
"""File transfer ASDUs sent by the side receiving the file (call/select, acknowledge)."""

CAUSES: Final[dict[int, str]] = {
    1: "periodic",
    2: "background",
    3: "spontaneous",
    4: "initialized",
    5: "request",
    6: "activation",
    7: "activation_con",
    8: "deactivation",
    9: "deactivation_con",
    10: "activation_term",
    11: "return_remote",
    12: "return_local",
    13: "file_transfer",
    20: "interrogated_station",
    **{20 + g: f"interrogated_group_{g}" for g in range(1, 17)},
    37: "counter_interrogated_general",
    **{37 + g: f"counter_interrogated_group_{g}" for g in range(1, 5)},
    44: "unknown_type_id",
    45: "unknown_cause",
    46: "unknown_common_address",
    47: "unknown_ioa",
    **{c: "private" for c in range(48, 64)},
}
"""6-bit cause of transmission (101 7.2.3); 0 and 14-19, 42, 43 are not defined."""

CAUSE_ACT, CAUSE_ACTCON, CAUSE_DEACT, CAUSE_DEACTCON, CAUSE_ACTTERM = 6, 7, 8, 9, 10
CAUSE_FIRST_UNKNOWN, CAUSE_LAST_UNKNOWN = 44, 47

DPI_NAMES: Final = ("indeterminate_or_intermediate", "off", "on", "indeterminate")
"""Double-point information (101 7.2.6.2)."""
DCS_NAMES: Final = ("not_permitted", "off", "on", "not_permitted")
"""Double command state (101 7.2.6.16)."""
RCS_NAMES: Final = ("not_permitted", "lower", "higher", "not_permitted")
"""Regulating step command state (101 7.2.6.17)."""

QU_NAMES: Final[dict[int, str]] = {
    0: "no_additional_definition", 1: "short_pulse", 2: "long_pulse", 3: "persistent_output",
}
"""Qualifier of command QU (101 7.2.6.26); 4-15 reserved, 16-31 private."""

COI_CAUSES: Final[dict[int, str]] = {
    0: "local_power_on", 1: "local_manual_reset", 2: "remote_reset",
}
"""Cause of initialization, bits 1-7 of COI (101 7.2.6.21); 3-31 reserved, 32-127 private."""


def qoi_name(q: int) -> str:
    """Qualifier of interrogation (101 7.2.6.22)."""
    if q == 20:
        return "station"
    if 21 <= q <= 36:
        return f"group_{q - 20}"
    if q == 0:
        return "not_used"
    return "private" if q >= 64 else "reserved"


def rqt_name(r: int) -> str:
    """Request part of the qualifier of counter interrogation (101 7.2.6.23)."""
    if 1 <= r <= 4:
        return f"group_{r}"
    if r == 5:
        return "general"
    if r == 0:
        return "none"
    return "private" if r >= 32 else "reserved"


FRZ_NAMES: Final = ("read", "freeze", "freeze_and_reset", "reset")
"""Freeze part of QCC (bits 7-8)."""

QRP_NAMES: Final[dict[int, str]] = {
    0: "not_used", 1: "general_reset", 2: "reset_event_buffer",
}
"""Qualifier of reset process (101 7.2.6.27); 3-127 reserved, 128-255 private."""

KPA_NAMES: Final[dict[int, str]] = {
    0: "not_used", 1: "threshold", 2: "smoothing_factor", 3: "low_limit", 4: "high_limit",
}
"""Kind of parameter, bits 1-6 of QPM (101 7.2.6.24); 5-31 reserved, 32-63 private."""

QPA_NAMES: Final[dict[int, str]] = {
    0: "not_used", 1: "loaded_parameters", 2: "object_parameter", 3: "cyclic_transmission",
}
"""Qualifier of parameter activation (101 7.2.6.25); 4-127 reserved, 128-255 private."""

SCQ_SELECT: Final[dict[int, str]] = {
    0: "default", 1: "select_file", 2: "request_file", 3: "deactivate_file", 4: "delete_file",
    5: "select_section", 6: "request_section", 7: "deactivate_section",
}
"""Select and call qualifier, bits 1-4 (101 7.2.6.30); 8-10 reserved, 11-15 private."""

FILE_ERRORS: Final[dict[int, str]] = {
    0: "", 1: "no_memory", 2: "checksum_failed", 3: "unexpected_service",
    4: "unexpected_file_name", 5: "unexpected_section_name",
}
"""Error part, bits 5-8, of SCQ and AFQ (101 7.2.6.30, 7.2.6.32); 6-10 reserved."""

LSQ_NAMES: Final[dict[int, str]] = {
    0: "not_used", 1: "file_transfer_without_deactivation",
    2: "file_transfer_with_deactivation", 3: "section_transfer_without_deactivation",
    4: "section_transfer_with_deactivation",
}
"""Last section or segment qualifier (101 7.2.6.31)."""

AFQ_ACK: Final[dict[int, str]] = {
    0: "not_used", 1: "file_positive", 2: "file_negative", 3: "section_positive",
    4: "section_negative",
}
"""Acknowledge file or section qualifier, bits 1-4 (101 7.2.6.32)."""

ANOMALY_CODES: Final[dict[str, str]] = {
    "iec104.invalid_start": "bytes that do not begin with the start octet 0x68: skipped up to "
    "the next plausible APDU header and reported once per run",
    "iec104.invalid_length": "an APDU length octet outside 4..253, or an S-/U-format APDU whose "
    "length is not 4: the run is skipped up to the next plausible header",
    "iec104.invalid_control": "a control field that is neither a valid I-, S- nor U-format "
    "(U-format with no or several function bits, non-zero spare octets): the run is skipped",
    "iec104.short_asdu": "an I-format APDU too short for the 6-octet ASDU header",
    "iec104.unknown_type_id": "a type identification not defined by IEC 60870-5-101/104 "
    "(its information objects cannot be decoded)",
    "iec104.type_not_in_104": "a type defined by IEC 60870-5-101 that 104 section 8 excludes "
    "(CP24Time2a time tags, C_TS_NA_1, C_CD_NA_1); decoded anyway",
    "iec104.unknown_cause": "cause of transmission 0 or a reserved value (14-19, 42, 43)",
    "iec104.bad_asdu_length": "the information objects do not fill the ASDU as the type and the "
    "number of objects require (objects that fit are decoded, the event is marked truncated)",
    "iec104.invalid_time": "a CP56Time2a time tag with impossible fields (month 0, minute 61...)",
    "iec104.sequence_gap": "an I-format send sequence number N(S) ahead of the expected one: "
    "APDUs missing in that direction",
    "iec104.sequence_duplicate": "an I-format N(S) equal to or behind the expected one: a "
    "repeated or replayed APDU, or a counter reset without a new connection",
    "iec104.ack_beyond_sent": "a receive sequence number N(R) acknowledges I-format APDUs the "
    "other side has not sent",
    "iec104.data_before_startdt": "I-format APDUs while data transfer is not started (before "
    "STARTDT con, or after STOPDT con); reported once per stopped period",
    "iec104.unanswered_command": "an activation (cause 6) or deactivation (cause 8) without a "
    "confirmation within the request timeout or before the connection ended",
    "iec104.unmatched_confirmation": "an activation/deactivation confirmation or a negative "
    "unknown-type/cause/address reply without a pending command",
    "iec104.too_many_pending": "more unconfirmed commands than max_pending_requests: the oldest "
    "are reported unanswered to make room",
    "iec104.buffer_overflow": "undecoded stream bytes beyond max_stream_buffer were dropped "
    "(raised by the engine)",
    "iec104.invalid_frame_size": "a unit length outside the engine's bounds (raised by the "
    "engine; the framer never returns one)",
}

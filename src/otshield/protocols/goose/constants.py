"""Tables and limits of the IEC 61850 GOOSE / GSE management decoder.

References: IEC 61850-8-1 Ed.2 (2011) Annex A (GOOSE and GSE management ASN.1), ISO 9506-2
14.4.2 (MMS ``Data`` CHOICE tags).
"""

from __future__ import annotations

__all__ = [
    "ANOMALY_CODES",
    "DATA_TYPES",
    "DUPLICATE_WINDOW",
    "ETHERTYPE_GOOSE",
    "ETHERTYPE_GSE_MGMT",
    "GSE_MGMT_SERVICES",
    "MAX_DATA_DEPTH",
    "MAX_DATA_VALUES",
    "MAX_PUBLISHERS",
    "REPORT_INTERVAL",
]

ETHERTYPE_GOOSE = 0x88B8
ETHERTYPE_GSE_MGMT = 0x88B9

MAX_PUBLISHERS = 4096
"""GOOSE publishers (source MAC, APPID, gocbRef) followed at once; beyond it the one seen least
recently is reported (``goose_publisher`` with ``end_reason`` "evicted") and forgotten."""
DUPLICATE_WINDOW = 0.010
"""Seconds within which the same message (same stNum, sqNum, t and data) seen again is a
network duplicate (PRP/HSR redundant LANs, IEC 62439-3, or a capture fed by two mirror ports),
counted as ``duplicates`` instead of raising ``goose.replay``."""
MAX_DATA_VALUES = 256
"""Values of one allData decoded into an event (structures count as one value each)."""
MAX_DATA_DEPTH = 8
"""Nesting levels of structures/arrays decoded; deeper members are cut (``values_truncated``)."""
REPORT_INTERVAL = 300.0
"""Seconds of packet time between interim ``goose_publisher`` reports of a running publisher,
so a live monitor that never reaches the end of input still gets them."""

DATA_TYPES: dict[int, str] = {
    1: "array",
    2: "structure",
    3: "boolean",
    4: "bit-string",
    5: "integer",
    6: "unsigned",
    7: "floating-point",
    8: "real",
    9: "octet-string",
    10: "visible-string",
    11: "generalized-time",
    12: "binary-time",
    13: "bcd",
    14: "boolean-array",
    15: "obj-id",
    16: "mms-string",
    17: "utc-time",
}
"""MMS ``Data`` CHOICE context tag -> type name (ISO 9506-2 14.4.2)."""

GSE_MGMT_SERVICES: dict[int, str] = {
    0: "gseMngtNotSupported",
    1: "getGoReference",
    2: "getGOOSEElementNumber",
    3: "getGsReference",
    4: "getGSSEDataOffset",
}
"""GSEMngtRequests / GSEMngtResponses CHOICE tags (IEC 61850-8-1 Annex A); 0 is responses
only."""

ANOMALY_CODES: dict[str, str] = {
    "goose.bad_length": "the header's Length is below 8 or beyond the frame (truncated capture "
                        "or a lying header)",
    "goose.unknown_pdu": "the APDU is neither a goosePdu [APPLICATION 1] nor a gseMngtPdu "
                         "[APPLICATION 0]",
    "goose.missing_field": "a mandatory goosePdu field (gocbRef, timeAllowedtoLive, datSet, t, "
                           "stNum, sqNum, confRev, numDatSetEntries, allData) is absent",
    "goose.bad_field": "a goosePdu or GSE management field has the wrong size or form "
                       "(t not 8 octets, boolean not 1 octet, counter above 32 bits)",
    "goose.bad_data": "an allData value is not a valid MMS Data (unknown tag, wrong size)",
    "goose.ber_truncated": "a BER length runs past its container",
    "goose.ber_bad_length": "an impossible BER length (more than 4 length octets, indefinite "
                            "on a primitive)",
    "goose.ber_bad_tag": "a BER tag number longer than 4 octets",
    "goose.ber_too_deep": "BER indefinite lengths nested too deeply",
    "goose.ber_bad_integer": "an INTEGER of zero or more than 16 octets",
    "goose.ber_bad_bitstring": "a BIT STRING with an impossible unused-bits octet",
    "goose.numdatsetentries_mismatch": "numDatSetEntries differs from the number of allData "
                                       "entries",
    "goose.simulation_mismatch": "the header's Simulate bit and the PDU's simulation flag "
                                 "disagree (IEC 61850-8-1 Ed.2 C.2.3.2 requires both)",
    "goose.stnum_jump": "stNum advanced by more than one: state changes were missed",
    "goose.stnum_decrease": "stNum went back: a device restart, or old messages replayed",
    "goose.replay": "same stNum with a sqNum not above the last one: an identical or older "
                    "message repeated (identical copies within DUPLICATE_WINDOW are network "
                    "duplicates and only counted)",
    "goose.sqnum_gap": "sqNum skipped values (retransmissions lost), or a new state did not "
                       "start at sqNum 0",
    "goose.data_changed_without_stnum": "allData changed while stNum stayed the same: the "
                                        "publisher must raise stNum on every change, so this "
                                        "is the classic sign of an injected message",
    "goose.confrev_changed": "confRev differs from the publisher's previous message: its "
                             "dataset configuration was changed",
    "goose.ttl_expired": "the next message came later than the previous message's "
                         "timeAllowedtoLive (packet time): subscribers declared the stream "
                         "lost",
    "goose.time_regression": "the event time t went back compared with the previous message",
    "goose.test_flag": "the simulation/test flag turned on for a publisher that sent without "
                       "it",
    "goose.rgoose_bad_header": "an R-GOOSE datagram whose CLTP or IEC 61850-90-5 session "
                               "header lengths disagree with the data",
    "goose.rgoose_unsupported": "an R-GOOSE datagram carries a payload other than GOOSE (R-SV, "
                                "tunnelled frame, management): identified, not decoded (once "
                                "per type and flow)",
    "goose.too_many_publishers": f"more than {MAX_PUBLISHERS} publishers at once; the least "
                                 "recently seen ones are reported and forgotten (once per run)",
}

"""Tables and limits of the IEC 61850-9-2 Sampled Values decoder.

References: IEC 61850-9-2 Ed.2 (2011) 8.5 (ASDU fields, smpSynch values), IEC 61850-7-2 Ed.2
6.2.3 / 9-2 table 14 (the 32-bit quality of each sample: bits 0-1 validity, 2 overflow,
3 out of range, 4 bad reference, 5 oscillatory, 6 failure, 7 old data, 8 inconsistent,
9 inaccurate, 10 source substituted, 11 test, 12 operator blocked, 13 derived), UCA
International Users Group "Implementation guideline for digital interface to instrument
transformers using IEC 61850-9-2" (9-2LE) 6.2 (dataset of 4 currents then 4 voltages,
INT32 scaled 1 mA and 10 mV).
"""

from __future__ import annotations

__all__ = [
    "ANOMALY_CODES",
    "DUPLICATE_WINDOW",
    "ETHERTYPE_SV",
    "LE_CHANNELS",
    "LE_CURRENT_SCALE",
    "LE_VOLTAGE_SCALE",
    "MAX_CHANNELS",
    "MAX_STREAMS",
    "REPORT_INTERVAL",
    "SMP_MOD_NAMES",
    "VALIDITY_NAMES",
    "smp_synch_name",
]

ETHERTYPE_SV = 0x88BA

MAX_STREAMS = 4096
"""Streams (source MAC, APPID, svID) followed at once; beyond it the least recently seen is
reported (``sv_stream_summary`` with ``end_reason`` "evicted") and forgotten."""
MAX_CHANNELS = 32
"""Channels of a sample whose minimum and maximum are kept."""
REPORT_INTERVAL = 300.0
"""Seconds of packet time between interim summaries of a running stream."""

DUPLICATE_WINDOW = 0.010
"""Seconds within which an ASDU identical to the previous one (smpCnt and sample) is a network
duplicate (PRP/HSR redundant LANs, IEC 62439-3, or two mirror ports): counted as ``duplicates``
instead of raising ``sv.smpcnt_repeat``."""

LE_CHANNELS = 8
"""9-2LE dataset: IA, IB, IC, IN, UA, UB, UC, UN, each an INT32 value and a 32-bit quality."""
LE_CURRENT_SCALE = 0.001
"""9-2LE current unit: 1 mA per count."""
LE_VOLTAGE_SCALE = 0.01
"""9-2LE voltage unit: 10 mV per count."""

VALIDITY_NAMES: dict[int, str] = {0: "good", 1: "invalid", 2: "reserved", 3: "questionable"}
SMP_MOD_NAMES: dict[int, str] = {
    0: "samples_per_period",
    1: "samples_per_second",
    2: "seconds_per_sample",
}


def smp_synch_name(value: int) -> str:
    """9-2 Ed.2 8.5.2: 0 not synchronised, 1 local area clock, 2 global area clock,
    5-254 a local area clock identified by the value, 3, 4 and 255 reserved."""
    if value == 0:
        return "none"
    if value == 1:
        return "local"
    if value == 2:
        return "global"
    if 5 <= value <= 254:
        return "local_id"
    return "reserved"


ANOMALY_CODES: dict[str, str] = {
    "sv.bad_length": "the header's Length is below 8 or beyond the frame",
    "sv.unknown_pdu": "the APDU is not a savPdu [APPLICATION 0]",
    "sv.missing_field": "noASDU, the ASDU sequence, or a mandatory ASDU field (svID, smpCnt, "
                        "confRev, smpSynch, sample) is absent",
    "sv.bad_field": "an ASDU field has the wrong size (smpCnt not 2 octets, confRev not 4...)",
    "sv.ber_truncated": "a BER length runs past its container",
    "sv.ber_bad_length": "an impossible BER length",
    "sv.ber_bad_tag": "a BER tag number longer than 4 octets",
    "sv.ber_too_deep": "BER indefinite lengths nested too deeply",
    "sv.ber_bad_integer": "noASDU of zero or more than 16 octets",
    "sv.noasdu_mismatch": "noASDU differs from the number of ASDUs (once per stream)",
    "sv.bad_sample_length": "the sample is not a whole number of 8-octet value+quality pairs "
                            "(once per stream)",
    "sv.smpcnt_gap": "smpCnt skipped values: samples lost (capture or network loss, or an "
                     "injected stream)",
    "sv.smpcnt_repeat": "smpCnt repeated with other values or later than DUPLICATE_WINDOW: a "
                        "replayed or forged sample",
    "sv.confrev_changed": "confRev changed within a stream: its dataset configuration changed",
    "sv.quality_invalid": "a channel's quality turned invalid (reported when a stream goes "
                          "from all-valid to some-invalid)",
    "sv.sync_lost": "smpSynch fell to 0: the merging unit lost its time synchronisation",
    "sv.too_many_streams": f"more than {MAX_STREAMS} streams at once; the least recently seen "
                           "are reported and forgotten (once per run)",
}

"""IEC 61850 report header decoding (IEC 61850-8-1 17.2.3.2) from informationReport values."""

from __future__ import annotations

from otshield.protocols.mms.events import MmsData
from otshield.protocols.mms.report import decode_report


def v(kind: str, value: bool | int | float | str | None = None) -> MmsData:
    return MmsData(type=kind, value=value)


def test_all_optional_fields() -> None:
    values = [
        v("visible-string", "LD0/LLN0$BR$brcb01"),   # RptID
        v("bit-string", "0111111111"),               # OptFlds: every option
        v("unsigned", 9),                             # SeqNum
        v("binary-time", "2024-01-01T00:00:00.000Z"),  # TimeOfEntry
        v("visible-string", "LD0/LLN0$DS1"),          # DatSet
        v("boolean", True),                           # BufOvfl
        v("octet-string", "0000000000000001"),        # EntryID
        v("unsigned", 3),                             # ConfRev
        v("unsigned", 0),                             # SubSeqNum
        v("boolean", False),                          # MoreSegmentsFollow
        v("bit-string", "011"),                       # Inclusion: members 1 and 2
        v("visible-string", "LD0/XCBR1$ST$Pos"),      # data references
        v("visible-string", "LD0/XCBR1$ST$BlkOpn"),
        v("integer", 1), v("boolean", False),         # values
        v("bit-string", "0010000"), v("bit-string", "0000010"),  # reasons
    ]
    assert decode_report(values) == {
        "report_id": "LD0/LLN0$BR$brcb01",
        "report_options": ["sequence-number", "report-time-stamp", "reason-for-inclusion",
                           "data-set-name", "data-reference", "buffer-overflow", "entryID",
                           "conf-revision", "segmentation"],
        "sequence_number": 9, "time_of_entry": "2024-01-01T00:00:00.000Z",
        "data_set": "LD0/LLN0$DS1", "buffer_overflow": True, "entry_id": "0000000000000001",
        "conf_rev": 3, "sub_sequence_number": 0, "more_segments_follow": False,
        "inclusion": "011", "member_count": 2,
        "data_references": ["LD0/XCBR1$ST$Pos", "LD0/XCBR1$ST$BlkOpn"],
        "reasons": ["quality-change", "general-interrogation"],
    }


def test_stops_at_unexpected_types() -> None:
    assert decode_report([v("integer", 1)]) == {}
    partial = decode_report([v("visible-string", "r"), v("bit-string", "01"),
                             v("boolean", True)])  # SeqNum is not a boolean
    assert partial == {"report_id": "r", "report_options": ["sequence-number"]}
    assert decode_report([v("visible-string", "r"), v("bit-string", "0")]) == {
        "report_id": "r", "report_options": []}

"""IEC 61850 reports carried in MMS informationReport PDUs (IEC 61850-8-1 section 17.2.3.2,
Table 35: the report format; OptFlds bits, Table 33 of IEC 61850-7-2 reason codes).

A report is an informationReport whose variable list name is ``RPT``; its access results are,
in order: RptID, OptFlds, then what OptFlds says is present (SeqNum, TimeOfEntry, DatSet,
BufOvfl, EntryID, ConfRev, SubSeqNum + MoreSegmentsFollow), the Inclusion bit string, the data
references of the included members (when OptFlds has data-reference), their values, and their
reason codes (when OptFlds has reason-for-inclusion).
"""

from __future__ import annotations

from typing import TypedDict

from otshield.protocols.mms.events import MmsData

__all__ = ["ReportFields", "decode_report"]

# OptFlds bit numbers (IEC 61850-8-1 17.2.3.2)
_SEQ_NUM, _TIME, _REASON, _DATA_SET, _DATA_REF, _OVERFLOW, _ENTRY_ID, _CONF_REV, _SEGMENT = (
    range(1, 10))
_REASONS = ("reserved", "data-change", "quality-change", "data-update", "integrity",
            "general-interrogation", "application-trigger")


class ReportFields(TypedDict, total=False):
    """The report header and member details an :class:`MmsReportEvent` carries."""

    report_id: str
    report_options: list[str]
    sequence_number: int
    time_of_entry: str
    data_set: str
    buffer_overflow: bool
    entry_id: str
    conf_rev: int
    sub_sequence_number: int
    more_segments_follow: bool
    inclusion: str
    data_references: list[str]
    reasons: list[str]
    member_count: int


_OPT_NAMES = ("reserved", "sequence-number", "report-time-stamp", "reason-for-inclusion",
              "data-set-name", "data-reference", "buffer-overflow", "entryID", "conf-revision",
              "segmentation")


def _value(v: MmsData | None, kind: type) -> object:
    if v is None or not isinstance(v.value, kind) or isinstance(v.value, bool) != (kind is bool):
        return None
    return v.value


def decode_report(values: list[MmsData]) -> ReportFields:
    """Best effort over the values that were kept: stops at the first one of the wrong type
    (a report of another format, or values cut by the per-event limit)."""
    out: ReportFields = {}
    pos = 0

    def take() -> MmsData | None:
        nonlocal pos
        if pos >= len(values):
            return None
        pos += 1
        return values[pos - 1]

    rpt_id = _value(take(), str)
    opt = take()
    if not isinstance(rpt_id, str) or opt is None or opt.type != "bit-string" or not isinstance(
            opt.value, str):
        return out
    out["report_id"] = rpt_id
    bits = opt.value
    options = [_OPT_NAMES[i] for i, b in enumerate(bits[:len(_OPT_NAMES)]) if b == "1"]
    out["report_options"] = options

    def has(bit: int) -> bool:
        return len(bits) > bit and bits[bit] == "1"

    if has(_SEQ_NUM):
        seq = _value(take(), int)
        if not isinstance(seq, int):
            return out
        out["sequence_number"] = seq
    if has(_TIME):
        when = take()
        if when is None or when.type != "binary-time" or not isinstance(when.value, str):
            return out
        out["time_of_entry"] = when.value
    if has(_DATA_SET):
        name = _value(take(), str)
        if not isinstance(name, str):
            return out
        out["data_set"] = name
    if has(_OVERFLOW):
        flag = _value(take(), bool)
        if not isinstance(flag, bool):
            return out
        out["buffer_overflow"] = flag
    if has(_ENTRY_ID):
        entry = take()
        if entry is None or entry.type != "octet-string" or not isinstance(entry.value, str):
            return out
        out["entry_id"] = entry.value
    if has(_CONF_REV):
        rev = _value(take(), int)
        if not isinstance(rev, int):
            return out
        out["conf_rev"] = rev
    if has(_SEGMENT):
        sub, more = _value(take(), int), _value(take(), bool)
        if not isinstance(sub, int) or not isinstance(more, bool):
            return out
        out["sub_sequence_number"] = sub
        out["more_segments_follow"] = more
    inclusion = take()
    if inclusion is None or inclusion.type != "bit-string" or not isinstance(inclusion.value,
                                                                              str):
        return out
    out["inclusion"] = inclusion.value
    count = inclusion.value.count("1")
    out["member_count"] = count
    if has(_DATA_REF):
        refs = values[pos:pos + count]
        out["data_references"] = [str(r.value) for r in refs]
        pos += count
    pos += count  # the member values themselves stay in ``values``
    if has(_REASON):
        reasons = values[pos:pos + count]
        out["reasons"] = [",".join(_REASONS[i] for i, b in enumerate(str(r.value)[:7])
                                   if b == "1") for r in reasons if r.type == "bit-string"]
    return out

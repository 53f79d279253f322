"""Differential test: the Sampled Values parser against tshark on every corpus capture with SV,
frame by frame (the session reports per stream, so the per-frame parser it uses is compared).
Fields both decode: APPID, Reserved 1, noASDU and, per ASDU in order, svID, smpCnt, confRev,
smpSynch, smpRate and every sample value and quality (tshark's ``sv.decode_data_as_phsmeas``
preference reads the sample as value/quality pairs, as otshield does)."""

from __future__ import annotations

import struct

import pytest

from otshield.protocols.sv.parser import SvPdu, SvReader, parse_frame
from protocols.iec61850_build import link_payloads
from support import CorpusFile, corpus_files, corpus_params, tshark_fields

CAPTURES = [c for c in corpus_files(protocol="IEC 61850")
            if "sv" in c.main_protocols.replace("(", " ").split()]
FIELDS = ["sv.appid", "sv.reserve1", "sv.noASDU", "sv.svID", "sv.smpCnt", "sv.confRev",
          "sv.smpSynch", "sv.smpRate", "sv.meas_value", "sv.meas_quality"]


def ours(pdu: SvPdu) -> dict[str, str]:
    values: list[str] = []
    qualities: list[str] = []
    for a in pdu.asdus:
        n = len(a.sample) // 8
        raw = struct.unpack(">" + "iI" * n, a.sample[:8 * n])
        values += [str(v) for v in raw[0::2]]
        qualities += [f"0x{q:08x}" for q in raw[1::2]]
    return {
        "sv.appid": f"0x{pdu.appid:04x}", "sv.reserve1": f"0x{pdu.reserved1:04x}",
        "sv.noASDU": str(pdu.no_asdu),
        "sv.svID": ",".join(a.sv_id for a in pdu.asdus),
        "sv.smpCnt": ",".join(str(a.smp_cnt) for a in pdu.asdus),
        "sv.confRev": ",".join(str(a.conf_rev) for a in pdu.asdus),
        "sv.smpSynch": ",".join(str(a.smp_synch) for a in pdu.asdus),
        "sv.smpRate": ",".join(str(a.smp_rate) for a in pdu.asdus if a.smp_rate is not None),
        "sv.meas_value": ",".join(values), "sv.meas_quality": ",".join(qualities),
    }


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_sv_fields_agree_with_tshark(capture: CorpusFile) -> None:
    rows = tshark_fields(capture.path, FIELDS, display_filter="sv",
                         extra=["-o", "sv.decode_data_as_phsmeas:TRUE"])
    payloads = link_payloads(capture.path, {0x88BA})
    assert sorted(payloads) == [int(r[0]) for r in rows], "frames with SV differ"
    agree = dict.fromkeys(FIELDS, 0)
    reader = SvReader()  # what the session uses: must read every frame as parse_frame does
    for row in rows:
        pdu = parse_frame(payloads[int(row[0])])
        assert reader.parse(payloads[int(row[0])]) == pdu
        mine = ours(pdu)
        for name, theirs in zip(FIELDS, row[1:], strict=True):
            if theirs.lower() == mine[name].lower():
                agree[name] += 1
            else:
                print(f"  frame {row[0]} {name}: tshark {theirs!r} otshield {mine[name]!r}")
    n = len(rows)
    worst = min(agree.values()) if n else 0
    print(f"{capture.path.name}: {n} SV frames, {len(FIELDS)} fields, agreement "
          f"{100.0 * worst / n if n else 100.0:.1f}% (lowest field)")
    assert n > 0 and all(v == n for v in agree.values()), agree

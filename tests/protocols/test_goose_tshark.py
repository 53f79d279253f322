"""Differential test: the GOOSE parser against tshark on every corpus capture with GOOSE,
frame by frame (the session reports only state changes, so the per-frame parser that it uses is
compared). Fields both decode: header (APPID, Reserved 1), every goosePdu field, and the allData
values (the Data CHOICE of every value, nested ones included, booleans, bit strings and
utc-times in order). R-GOOSE (IEC 61850-90-5 over UDP; tshark's ``r-goose``) is compared in
``test_goose_rgoose``.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable

import pytest

from otshield.errors import Malformed
from otshield.protocols.goose.constants import DATA_TYPES
from otshield.protocols.goose.data import decode_data, utc_time
from otshield.protocols.goose.parser import GoosePdu, GooseReader, parse_frame
from protocols.iec61850_build import link_payloads
from support import CorpusFile, corpus_files, corpus_params, tshark_fields

CAPTURES = [c for c in corpus_files(protocol="IEC 61850") if "goose" in c.main_protocols]
TYPE_NUMBERS = {name: num for num, name in DATA_TYPES.items()}
FIELDS = ["goose.appid", "goose.reserve1", "goose.gocbRef", "goose.datSet", "goose.goID",
          "goose.t", "goose.stNum", "goose.sqNum", "goose.timeAllowedtoLive",
          "goose.simulation", "goose.confRev", "goose.ndsCom", "goose.numDatSetEntries",
          "goose.Data", "goose.boolean", "goose.bit_string", "goose.utc_time"]


def tshark_time(iso: str) -> str:
    """Our ISO 8601 UtcTime as tshark prints it: ``Oct  7, 2023 10:07:42.466759979 UTC``."""
    secs = calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))
    g = time.gmtime(secs)
    return f"{time.strftime('%b', g)} {g.tm_mday:2d}, {time.strftime('%Y %H:%M:%S', g)}." \
           f"{iso[20:29]} UTC"


def bits_hex(bits: str) -> str:
    """'10' -> '80': the bit string's octets, as tshark shows goose.bit_string."""
    padded = bits.ljust((len(bits) + 7) // 8 * 8, "0")
    return int(padded, 2).to_bytes(len(padded) // 8, "big").hex() if bits else ""


def ours(pdu: GoosePdu) -> dict[str, str]:
    values, _ = decode_data(pdu.data, 0, len(pdu.data))
    return {
        "goose.appid": f"0x{pdu.appid:04x}", "goose.reserve1": f"0x{pdu.reserved1:04x}",
        "goose.gocbRef": pdu.gocb_ref, "goose.datSet": pdu.dat_set, "goose.goID": pdu.go_id,
        "goose.t": tshark_time(utc_time(pdu.t)[0]), "goose.stNum": str(pdu.st_num),
        "goose.sqNum": str(pdu.sq_num), "goose.timeAllowedtoLive": str(pdu.ttl),
        "goose.simulation": str(int(pdu.simulation)), "goose.confRev": str(pdu.conf_rev),
        "goose.ndsCom": str(int(pdu.nds_com)),
        "goose.numDatSetEntries": str(pdu.num_entries),
        "goose.Data": ",".join(str(TYPE_NUMBERS[v.type]) for v in values),
        "goose.boolean": ",".join(str(int(bool(v.value))) for v in values
                                  if v.type == "boolean"),
        "goose.bit_string": ",".join(bits_hex(str(v.value)) for v in values
                                     if v.type == "bit-string"),
        "goose.utc_time": ",".join(tshark_time(str(v.value)) for v in values
                                   if v.type == "utc-time"),
    }


NORMALISE: dict[str, Callable[[str], str]] = {
    # tshark prints APPID and the reserved words in hex with 4 digits
    "goose.appid": lambda s: s.lower(), "goose.reserve1": lambda s: s.lower(),
}


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_goose_fields_agree_with_tshark(capture: CorpusFile) -> None:
    rows = tshark_fields(capture.path, FIELDS, display_filter="goose")
    rgoose = tshark_fields(capture.path, [], display_filter="r-goose")
    payloads = link_payloads(capture.path, {0x88B8})
    assert sorted(payloads) == [int(r[0]) for r in rows], "frames with GOOSE differ"
    agree = dict.fromkeys(FIELDS, 0)
    reader = GooseReader()  # what the session uses: must read every frame as parse_frame does
    for row in rows:
        pdu = parse_frame(payloads[int(row[0])])
        assert isinstance(pdu, GoosePdu)
        assert reader.parse(payloads[int(row[0])]) == pdu
        mine = ours(pdu)
        for name, theirs in zip(FIELDS, row[1:], strict=True):
            norm = NORMALISE.get(name, str)
            if norm(theirs) == mine[name]:
                agree[name] += 1
            else:
                print(f"  frame {row[0]} {name}: tshark {theirs!r} otshield {mine[name]!r}")
    n = len(rows)
    worst = min(agree.values()) if n else 0
    print(f"{capture.path.name}: {n} GOOSE frames, {len(FIELDS)} fields, agreement "
          f"{100.0 * worst / n if n else 100.0:.1f}% (lowest field); R-GOOSE frames (compared "
          f"in test_goose_rgoose): {len(rgoose)}")
    assert all(v == n for v in agree.values()), agree


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_every_goose_frame_parses(capture: CorpusFile) -> None:
    for payload in link_payloads(capture.path, {0x88B8, 0x88B9}).values():
        try:
            parse_frame(payload)
        except Malformed as m:  # pragma: no cover - the corpus has no broken GOOSE
            pytest.fail(f"{m.code}: {m.detail}")

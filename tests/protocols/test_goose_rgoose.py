"""Routable GOOSE (IEC 61850-90-5 over UDP 102): datagram parser, probe, session, a golden
capture and tshark agreement on the corpus capture."""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowkit import RecordingFlow
from otshield.errors import Malformed
from otshield.events import AnomalyEvent
from otshield.pcapwriter import PcapWriter, ethernet, ipv4, udp_datagram
from otshield.protocols.goose.events import GooseEvent, GoosePublisherEvent
from otshield.protocols.goose.parser import GoosePdu, parse_frame
from otshield.protocols.goose.rgoose import RGooseSession, parse_datagram, probe
from protocols.iec61850_build import T0, decode61850, goose, rgoose, udp_payloads
from protocols.test_goose_tshark import FIELDS, ours
from support import CorpusFile, corpus_files, corpus_params, tshark_fields

APDU = goose()[8:]  # the goosePdu without the Ethernet header

DATAGRAM = bytes.fromhex(
    "01" "40"          # CLTP: LI 1, UD
    "a1" "17"          # session identifier GOOSE, session header length 23
    "80" "15"          # common header, length 21
    "00000000"         # SPDU length (not checked)
    "00000007"         # SPDU number 7
    "0002"             # version 2
    "00000000" "0000"  # time of current key, time of next key
    "00000000"         # key id 0: no key
    "00"               # initialisation vector length 0
) + (6 + len(APDU)).to_bytes(4, "big") + bytes.fromhex(
    "81" "01" "0101"   # payload element GOOSE, simulation 1, APPID 0x0101
) + len(APDU).to_bytes(2, "big") + APDU


def test_annotated_datagram() -> None:
    assert probe(DATAGRAM, True)
    number, elements = parse_datagram(DATAGRAM)
    assert number == 7
    assert [(t, s, a) for t, s, a, _ in elements] == [(0x81, True, 0x0101)]
    assert elements[0][3] == APDU
    assert rgoose([(0x81, True, 0x0101, APDU)], spdu_number=7) == DATAGRAM


@pytest.mark.parametrize("data", [b"", b"\x01\x41\xa1", b"\x01\x40\xb0\x00",
                                  DATAGRAM[:20], DATAGRAM[:-1],
                                  rgoose([(0x81, False, 1, APDU)], iv=b"\x01\x02")[:-3]])
def test_bad_datagrams(data: bytes) -> None:
    with pytest.raises(Malformed) as exc:
        parse_datagram(data)
    assert exc.value.code == "goose.rgoose_bad_header"


def test_probe_rejects_other_udp_102() -> None:
    assert not probe(b"\x03\x00\x00\x16", True)  # TPKT, as on TCP 102
    assert not probe(b"", True)


def test_session_tracks_publishers_per_flow() -> None:
    flow = RecordingFlow(("10.0.0.5", 50000), ("239.0.0.1", 102), transport="udp")
    session = RGooseSession(flow)
    for sq in range(3):
        flow.ts += 0.001
        flow.frame += 1
        session.on_frame(rgoose([(0x81, False, 5, goose(sq_num=sq)[8:])]), True)
    flow.frame += 1
    session.on_frame(rgoose([(0x82, False, 0x4000, b"\x60\x00"), (0x82, False, 1, b"")]), True)
    session.on_frame(b"\x01\x40", True)
    session.close()
    kinds = [type(e).__name__ for e in flow.events]
    assert kinds == ["GooseEvent", "AnomalyEvent", "AnomalyEvent", "GoosePublisherEvent"]
    ev = flow.events[0]
    assert isinstance(ev, GooseEvent) and (ev.src_ip, ev.dst_port, ev.appid) == (
        "10.0.0.5", 102, 5)
    codes = [e.code for e in flow.events if isinstance(e, AnomalyEvent)]
    assert codes == ["goose.rgoose_unsupported", "goose.rgoose_bad_header"]  # R-SV once
    summary = flow.events[-1]
    assert isinstance(summary, GoosePublisherEvent)
    assert (summary.src_ip, summary.messages, summary.retransmissions) == ("10.0.0.5", 3, 2)


def test_golden_rgoose_capture(tmp_path: Path) -> None:
    path = tmp_path / "rgoose.pcap"
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, (st_num, sq) in enumerate([(1, 0), (1, 1), (2, 0)]):
            udp = udp_datagram("10.1.1.1", "232.0.0.1", 40000, 102,
                               rgoose([(0x81, False, 9, goose(st_num=st_num, sq_num=sq)[8:])]))
            w.write(T0 + i, ethernet("00:30:a7:00:00:09", "01:00:5e:00:00:01", 0x0800,
                                     ipv4("10.1.1.1", "232.0.0.1", 17, udp)))
    events = [msgspec.to_builtins(e) for e in decode61850(path)
              if str(e.__struct_config__.tag).startswith("goose")]
    assert [(e["event.dataset"], e.get("st_num"), e.get("reason"), e["source.ip"],
             e["destination.ip"]) for e in events] == [
        ("goose", 1, "first", "10.1.1.1", "232.0.0.1"),
        ("goose", 2, "state_change", "10.1.1.1", "232.0.0.1"),
        ("goose_publisher", None, None, "10.1.1.1", "232.0.0.1")]


@settings(max_examples=300)
@given(st.binary(max_size=200), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)),
                                         max_size=4))
def test_fuzz(data: bytes, edits: list[tuple[int, int]]) -> None:
    buf = bytearray(DATAGRAM)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    flow = RecordingFlow(("10.0.0.5", 50000), ("239.0.0.1", 102), transport="udp")
    session = RGooseSession(flow)
    for candidate in (data, bytes(buf)):
        probe(candidate, True)
        with contextlib.suppress(Malformed):
            parse_datagram(candidate)
        session.on_frame(candidate, True)
    session.close()


RCAPTURES = [c for c in corpus_files(protocol="IEC 61850") if "r-goose" in c.main_protocols]


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(RCAPTURES))
def test_rgoose_fields_agree_with_tshark(capture: CorpusFile) -> None:
    # tshark shows the R-GOOSE APPID in the session layer, not goose.appid; Reserved 1 does not
    # exist there (otshield puts the simulation flag in its place), so both are left out
    fields = [f for f in FIELDS if f not in ("goose.appid", "goose.reserve1")]
    rows = tshark_fields(capture.path, fields, display_filter="r-goose")
    payloads = udp_payloads(capture.path, 102)
    assert rows and sorted(payloads) == [int(r[0]) for r in rows]
    agree = dict.fromkeys(fields, 0)
    for row in rows:
        (_tag, _sim, appid, apdu), = parse_datagram(payloads[int(row[0])])[1]
        pdu = parse_frame(appid.to_bytes(2, "big") + (8 + len(apdu)).to_bytes(2, "big")
                          + b"\0\0\0\0" + apdu)
        assert isinstance(pdu, GoosePdu)
        mine = ours(pdu)
        for name, theirs in zip(fields, row[1:], strict=True):
            if theirs == mine[name]:
                agree[name] += 1
            else:
                print(f"  frame {row[0]} {name}: tshark {theirs!r} otshield {mine[name]!r}")
    n = len(rows)
    print(f"{capture.path.name}: {n} R-GOOSE frames, {len(fields)} fields, agreement "
          f"{100.0 * min(agree.values()) / n:.1f}% (lowest field)")
    assert all(v == n for v in agree.values()), agree

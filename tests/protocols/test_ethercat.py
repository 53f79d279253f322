"""EtherCAT: frame/datagram parser vectors (ETG.1000.4 clause 5), per-command summaries, AL
Control state requests paired with the returned frame, anomalies, golden capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.config import Settings
from otshield.engine import decode_file
from otshield.errors import Malformed
from otshield.protocols.ethercat import session as ecat_session
from otshield.protocols.ethercat.parser import parse
from otshield.protocols.ethercat.session import EthercatSession
from protocols.profinet_build import RecordingLink, ecat_datagram, ecat_frame, write_link
from support import of_type

MASTER, RETURN, BCAST = "00:14:4f:23:98:cf", "02:14:4f:23:98:cf", "ff:ff:ff:ff:ff:ff"


def test_frame_vector() -> None:
    frame = bytes.fromhex(
        "1c10"          # header: length 0x01c (28), type 1 (commands)
        "07"            # cmd BRD
        "02"            # index 2
        "0000" "3001"   # ADP 0, ADO 0x0130 (AL Status)
        "0280"          # length 2, more datagrams follow
        "0000"          # IRQ
        "0000"          # data
        "0500"          # working counter 5
        "05"            # cmd FPWR
        "03"            # index 3
        "e903" "2001"   # ADP 0x03e9 (station address 1001), ADO 0x0120 (AL Control)
        "0200"          # length 2, last datagram
        "0000"          # IRQ
        "0800"          # data: request OP
        "0100"          # working counter 1
    )
    ftype, dgs = parse(frame)
    assert ftype == 1
    assert dgs == [(7, 2, 0, 0x130, 2, 5, 12), (5, 3, 1001, 0x120, 2, 1, 26)]
    assert frame[26:28] == b"\x08\x00"


@pytest.mark.parametrize("data,code", [
    (b"\x1a", "ethercat.truncated"),
    (bytes.fromhex("ff17") + bytes(10), "ethercat.bad_length"),
    (bytes.fromhex("0810") + bytes(8), "ethercat.truncated"),
    # header length 14 but the datagram declares 4 data bytes: its working counter is missing
    (bytes.fromhex("0e10" "01" "00" "0000" "0000" "0400" "0000" "00000000"), "ethercat.truncated"),
])
def test_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse(data)
    assert exc.value.code == code


def test_other_frame_types_have_no_datagrams() -> None:
    assert parse(ecat_frame(b"\x01\x02\x03", ftype=4)) == (4, [])


def test_last_datagram_claims_more() -> None:
    dg = ecat_datagram(0, 0, 0, 0, b"", 0, more=True)  # "more follows" but the frame ends
    with pytest.raises(Malformed) as exc:
        parse(ecat_frame(dg, dg))
    assert exc.value.code == "ethercat.truncated"


def _run(frames: list[tuple[str, bytes]], settings: Settings | None = None
         ) -> tuple[RecordingLink, EthercatSession]:
    link = RecordingLink(settings, protocol="ethercat")
    s = EthercatSession(link)
    for src, f in frames:
        link.at(src, BCAST)
        s.on_frame(f)
    return link, s


def test_al_control_write_paired_with_return() -> None:
    out = ecat_frame(ecat_datagram(5, 9, 0x1001, 0x120, b"\x04\x00", 0))   # FPWR SAFEOP
    back = ecat_frame(ecat_datagram(5, 9, 0x1001, 0x120, b"\x04\x00", 1))
    link, _ = _run([(MASTER, out), (RETURN, back)])
    (ev,) = link.of("ethercat")
    assert (ev.kind, ev.command, ev.requested_state, ev.address_mode, ev.adp, ev.working_counter,
            ev.result, ev.function_class, ev.frame) == (
        "al_control", "FPWR", "SAFEOP", "station", 0x1001, 1, "acknowledged", "control", 2)


def test_al_control_not_acknowledged_and_unconfirmed() -> None:
    out = ecat_frame(ecat_datagram(8, 1, 0, 0x120, b"\x11\x00", 0))  # BWR INIT + error ack
    link, s = _run([(MASTER, out), (RETURN, out),
                    (MASTER, ecat_frame(ecat_datagram(2, 4, 0xFFFF, 0x110,
                                                       bytes(16) + b"\x01\x00", 0)))])
    assert link.codes() == ["ethercat.al_control_not_acknowledged"]
    s.close()
    al = [e for e in link.of("ethercat") if e.kind == "al_control"]
    assert [(e.requested_state, e.error_ack, e.result) for e in al] == [
        ("INIT", True, "not_acknowledged"), ("INIT", False, "unconfirmed")]
    assert al[1].command == "APWR" and al[1].address_mode == "position"


def test_summary_counts_per_mac_and_command() -> None:
    f = ecat_frame(ecat_datagram(12, 1, 0, 0x1000, bytes(8), 0, more=True),
                   ecat_datagram(7, 2, 0, 0x130, bytes(2), 0))
    link, s = _run([(MASTER, f), (MASTER, f), (RETURN, ecat_frame(b"\x00\x00", ftype=5))])
    s.close()
    got = {(e.src_mac, e.command): (e.datagrams, e.bytes, e.zero_wkc, e.function_class)
           for e in link.of("ethercat")}
    assert got == {(MASTER, "LRW"): (2, 16, 2, "write"), (MASTER, "BRD"): (2, 4, 2, "read"),
                   (RETURN, "frame_type_5"): (1, 4, 0, "other")}


def test_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecat_session, "MAX_COUNTERS", 1)
    frames = [(MASTER, ecat_frame(ecat_datagram(c, c, 0, 0x120, b"\x02", 0))) for c in (2, 5, 8)]
    link, _ = _run(frames, Settings(max_pending_requests=1))
    assert link.codes() == ["ethercat.too_many_counters", "ethercat.too_many_pending"]
    # the writes are still reported although their commands could not be counted
    assert [e.command for e in link.of("ethercat")] == ["APWR", "FPWR"]
    link2, _ = _run([(MASTER, b"\x05")])
    assert link2.codes() == ["ethercat.truncated"]


def test_golden_capture(tmp_path: Path) -> None:
    path = tmp_path / "ecat.pcap"
    req = ecat_frame(ecat_datagram(7, 1, 0, 0x130, bytes(2), 0, more=True),
                     ecat_datagram(5, 2, 0x1000, 0x120, b"\x08\x00", 0))
    ret = ecat_frame(ecat_datagram(7, 1, 3, 0x130, b"\x08\x00", 3, more=True),
                     ecat_datagram(5, 2, 0x1000, 0x120, b"\x08\x00", 1))
    write_link(path, [(MASTER, BCAST, 0x88A4, req), (RETURN, BCAST, 0x88A4, ret)])
    ev = of_type(decode_file(path), "ethercat")
    assert [(e.kind, e.command, e.src_mac, e.frame) for e in ev] == [
        ("al_control", "FPWR", MASTER, 2),
        ("summary", "BRD", MASTER, 1), ("summary", "FPWR", MASTER, 1),
        ("summary", "BRD", RETURN, 2), ("summary", "FPWR", RETURN, 2)]
    assert ev[0].requested_state == "OP" and ev[0].working_counter == 1

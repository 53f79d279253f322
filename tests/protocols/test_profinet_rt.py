"""PROFINET IO RT: FrameID classes, APDU status, cycle-counter gaps, DataStatus changes,
alarms (RTA PDUs), per-stream summaries and bounds; golden capture through the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.engine import decode_file
from otshield.errors import Malformed
from otshield.protocols.profinet_rt import session as rt_session
from otshield.protocols.profinet_rt.parser import (
    classify,
    data_status_names,
    parse_alarm,
    trailer,
)
from otshield.protocols.profinet_rt.session import ProfinetRtSession
from protocols.profinet_build import (
    CONTROLLER,
    DEVICE,
    RecordingLink,
    alarm_notification,
    rt_cyclic,
    rta,
    write_link,
)
from support import of_type


@pytest.mark.parametrize("fid,cls", [
    (0x0000, ("ptcp", False)), (0x0100, ("rt_class_3", True)), (0x8000, ("rt_class_2", True)),
    (0xC000, ("rt_class_1", True)), (0xFBFF, ("rt_class_1", True)), (0xFC01, ("alarm_high", False)),
    (0xFE01, ("alarm_low", False)), (0xFEFE, ("dcp", False)), (0xFF40, ("ptcp", False)),
    (0xFF80, ("fragment", False)), (0xFFFF, ("reserved", False)),
])
def test_classify(fid: int, cls: tuple[str, bool]) -> None:
    assert classify(fid) == cls


def test_trailer_and_data_status() -> None:
    frame = bytes.fromhex("c000" + "00" * 36 + "c6e0" "35" "00")  # FrameID, data, CC, DS, TS
    assert trailer(frame) == (0xC6E0, 0x35, 0)
    assert data_status_names(0x35) == ("primary", "valid", "run", "ok")
    assert data_status_names(0x04) == ("backup", "valid", "stop", "station_problem")
    with pytest.raises(Malformed):
        trailer(b"\xc0\x00\x01")


def test_alarm_notification_and_err() -> None:
    var = alarm_notification(0x0001, 0x0004, api=0, slot=1, subslot=0x8001)  # high, Plug
    a = parse_alarm(rta(0xFC01, 1, var))
    assert (a.pdu_type, a.block, a.alarm_type, a.slot, a.subslot) == (
        "data", "alarm_notification_high", "plug", 1, 0x8001)
    err = parse_alarm(bytes.fromhex(
        "fe01"      # FrameID alarm low
        "8001"      # AlarmDstEndpoint
        "8001"      # AlarmSrcEndpoint
        "14"        # PDUType: version 1, type 4 ERR
        "00"        # AddFlags
        "0000"      # SendSeqNum
        "ffff"      # AckSeqNum
        "0004"      # VarPartLen
        "cf81fd0f"  # PNIOStatus: RTA error, PNIO, ErrorCode1 0xfd, ErrorCode2 0x0f
    ))
    assert (err.pdu_type, err.pnio_status) == ("err", "0xcf81fd0f rta_error")
    ack = bytes.fromhex(
        "8002"      # BlockType AlarmAckLow
        "0012"      # BlockLength 18
        "0100"      # BlockVersion 1.0
        "0001"      # AlarmType diagnosis
        "00000000"  # API 0
        "0002"      # slot 2
        "0001"      # subslot 1
        "0801"      # AlarmSpecifier
        "00000000"  # PNIOStatus ok
    )
    parsed = parse_alarm(rta(0xFE01, 1, ack))
    assert (parsed.block, parsed.alarm_type, parsed.pnio_status) == (
        "alarm_ack_low", "diagnosis", "0x00000000 ok")


def test_alarm_malformed() -> None:
    with pytest.raises(Malformed) as exc:
        parse_alarm(rta(0xFC01, 1, b"\x00\x01\x00\x20\x01\x00")[:-2])
    assert exc.value.code == "profinet_rt.truncated"


def _feed(link: RecordingLink, s: ProfinetRtSession, frames: list[bytes],
          src: str = DEVICE, dst: str = CONTROLLER) -> None:
    for f in frames:
        link.at(src, dst)
        s.on_frame(f)


def test_cyclic_stream_counted_not_emitted_then_summarised() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [rt_cyclic(0xC000, 32 * i) for i in range(10)])
    assert link.events == []
    s.close()
    (summary,) = link.of("profinet_rt")
    assert (summary.kind, summary.frames, summary.bytes, summary.cycle_step, summary.cycle_gaps,
            summary.data_status_text) == ("summary", 10, 420, 32, 0,
                                          ("primary", "valid", "run", "ok"))


def test_cycle_counter_gap_repeat_and_wrap() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    cycles = [0xFFA0, 0xFFC0, 0xFFE0, 0x0000, 0x0080, 0x0080, 0x00A0]  # wrap, 3 lost, 1 repeat
    _feed(link, s, [rt_cyclic(0xC001, c) for c in cycles])
    assert link.codes() == ["profinet_rt.cycle_counter_gap"]
    s.close()
    (summary,) = link.of("profinet_rt")
    assert (summary.cycle_gaps, summary.lost_frames, summary.repeated_frames) == (1, 3, 1)


def test_gap_reports_are_capped() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [rt_cyclic(0xC002, 64 * i) for i in range(0, 60, 2)] + [])
    _feed(link, s, [rt_cyclic(0xC003, c) for c in [0, 32] + [32 + 96 * i for i in range(1, 20)]])
    assert link.codes().count("profinet_rt.cycle_counter_gap") == rt_session.MAX_GAP_REPORTS


def test_data_status_change_to_stop_is_event_and_anomaly() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [rt_cyclic(0x8001, 0, 0x35), rt_cyclic(0x8001, 32, 0x35),
                    rt_cyclic(0x8001, 64, 0x25), rt_cyclic(0x8001, 96, 0x25),
                    rt_cyclic(0x8001, 128, 0x35, ts_=1)])
    changes = [e for e in link.of("profinet_rt") if e.kind == "data_status_change"]
    assert [(c.previous_data_status, c.data_status, c.frame) for c in changes] == [
        (0x35, 0x25, 3), (0x25, 0x35, 5)]
    assert changes[0].data_status_text == ("primary", "valid", "stop", "ok")
    assert link.codes() == ["profinet_rt.data_status_problem", "profinet_rt.transfer_status_error"]


def test_alarm_events_and_ack_counted_only() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [rta(0xFC01, 1, alarm_notification(1, 1, 0, 3, 1)), rta(0xFC01, 3, b""),
                    b"\xff\x80\x10\x80" + bytes(20)])
    (alarm,) = link.of("profinet_rt")
    assert (alarm.kind, alarm.alarm_type, alarm.slot, alarm.frame_class) == (
        "alarm", "diagnosis", 3, "alarm_high")
    s.close()
    summaries = {e.frame_id: e.frames for e in link.of("profinet_rt") if e.kind == "summary"}
    assert summaries == {0xFC01: 2, 0xFF80: 1}


def test_stream_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt_session, "MAX_STREAMS", 3)
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [rt_cyclic(0xC000 + i, 0) for i in range(5)])
    assert link.codes() == ["profinet_rt.too_many_streams"]
    s.close()
    assert len(link.of("profinet_rt")) == 3


def test_short_frames() -> None:
    link = RecordingLink()
    s = ProfinetRtSession(link)
    _feed(link, s, [b"\xc0", b"\xc0\x00\x00", b"\xfc\x01\x00"])
    assert link.codes() == ["profinet_rt.truncated"] * 3


def test_golden_capture(tmp_path: Path) -> None:
    """A device's input stream that goes to STOP, an alarm, and the summaries."""
    path = tmp_path / "rt.pcap"
    frames = [(DEVICE, CONTROLLER, 0x8892, rt_cyclic(0xC000, 32 * i, 0x35 if i < 3 else 0x25))
              for i in range(5)]
    frames.insert(2, (DEVICE, CONTROLLER, 0x8892,
                      rta(0xFE01, 1, alarm_notification(2, 2, 0, 1, 1))))
    write_link(path, frames)
    events = decode_file(path)
    rt = of_type(events, "profinet_rt")
    assert [(e.kind, e.frame) for e in rt] == [("alarm", 3), ("data_status_change", 5),
                                               ("summary", 6), ("summary", 3)]
    assert rt[0].alarm_type == "process" and rt[0].alarm_block == "alarm_notification_low"
    assert rt[2].frames == 5 and rt[2].data_status == 0x25 and rt[2].src_mac == DEVICE
    assert [a.code for a in of_type(events, "anomaly")] == ["profinet_rt.data_status_problem"]

"""The GOOSE publisher rules (IEC 61850-8-1 18.1.2.5 / 7-2 15.2.3.3), fed frame by frame."""

from __future__ import annotations

from typing import Any

import pytest

from otshield.events import AnomalyEvent
from otshield.protocols.goose import session as goose_session
from otshield.protocols.goose.events import GooseEvent, GooseMgmtEvent, GoosePublisherEvent
from otshield.protocols.goose.session import GooseSession
from protocols.iec61850_build import FakeLink, d_bits, d_bool, goose, header, tlv, utc

ON = [d_bool(True), d_bits("0000000000000")]
OFF = [d_bool(False), d_bits("0000000000000")]


class Run:
    def __init__(self) -> None:
        self.link = FakeLink()
        self.session = GooseSession(self.link)

    def send(self, dt: float = 0.001, **kw: Any) -> None:
        self.link.step(dt)
        self.session.on_frame(goose(**kw))

    def goose(self) -> list[GooseEvent]:
        return [e for e in self.link.events if isinstance(e, GooseEvent)]

    def codes(self) -> list[str]:
        return self.link.codes()


def test_retransmissions_are_counted_not_reported() -> None:
    r = Run()
    r.send(st_num=1, sq_num=0, data=OFF)
    for sq in range(1, 6):
        r.send(st_num=1, sq_num=sq, data=OFF)
    r.send(st_num=2, sq_num=0, data=ON)
    r.send(st_num=2, sq_num=1, data=ON)
    r.session.close()
    events = r.goose()
    assert [(e.reason, e.st_num, e.sq_num, e.data_changed) for e in events] == [
        ("first", 1, 0, None), ("state_change", 2, 0, True)]
    assert events[1].previous_st_num == 1 and events[1].previous_sq_num == 5
    assert events[1].values[0].value is True and events[1].function_class == "write"
    assert r.codes() == []
    summary = [e for e in r.link.events if isinstance(e, GoosePublisherEvent)]
    assert len(summary) == 1
    s = summary[0]
    assert (s.messages, s.retransmissions, s.state_changes, s.first_st_num, s.last_st_num,
            s.last_sq_num, s.end_reason, s.anomaly_count) == (8, 6, 1, 1, 2, 1, "end", 0)


def test_state_change_without_data_change_is_reported_as_such() -> None:
    r = Run()
    r.send(st_num=1, data=OFF)
    r.send(st_num=2, data=OFF)
    assert r.goose()[1].data_changed is False and r.codes() == []


@pytest.mark.parametrize(("second", "codes"), [
    ({"st_num": 5, "sq_num": 0}, ["goose.stnum_jump"]),
    ({"st_num": 1, "sq_num": 0}, ["goose.stnum_decrease"]),
    ({"st_num": 3, "sq_num": 3}, ["goose.replay"]),             # same sqNum again
    ({"st_num": 3, "sq_num": 1}, ["goose.replay"]),             # older sqNum
    ({"st_num": 3, "sq_num": 6}, ["goose.sqnum_gap"]),          # 4 and 5 lost
    ({"st_num": 4, "sq_num": 2}, ["goose.sqnum_gap"]),          # new state not at sqNum 0
    ({"st_num": 3, "sq_num": 4, "data": ON}, ["goose.data_changed_without_stnum"]),
    ({"st_num": 3, "sq_num": 4, "conf_rev": 2}, ["goose.confrev_changed"]),
    ({"st_num": 3, "sq_num": 4, "t": utc(1_600_000_000)}, ["goose.time_regression"]),
    ({"st_num": 3, "sq_num": 4, "simulation": True}, ["goose.test_flag"]),
    ({"st_num": 4, "sq_num": 0, "data": ON, "num_entries": 5},
     ["goose.numdatsetentries_mismatch"]),
])
def test_rule_breaks(second: dict[str, Any], codes: list[str]) -> None:
    r = Run()
    r.send(st_num=3, sq_num=3, data=OFF)
    r.send(dt=0.05, **{"data": OFF, **second})  # later than a network duplicate
    assert r.codes() == codes
    last = r.goose()[-1]
    assert last.frame == 2 and last.anomalies == codes
    assert last.reason == "anomaly"


def test_ttl_expired_in_packet_time() -> None:
    r = Run()
    r.send(st_num=1, sq_num=0, ttl=100, data=OFF)
    r.send(dt=0.099, st_num=1, sq_num=1, ttl=2000, data=OFF)   # within 100 ms: fine
    r.send(dt=1.9, st_num=1, sq_num=2, ttl=2000, data=OFF)     # within 2000 ms: fine
    assert r.codes() == []
    r.send(dt=2.5, st_num=1, sq_num=3, ttl=2000, data=OFF)
    assert r.codes() == ["goose.ttl_expired"]
    assert "2500 ms" in next(e for e in r.link.events if isinstance(e, AnomalyEvent)).detail


def test_counters_roll_over() -> None:
    r = Run()
    r.send(st_num=0xFFFFFFFF, sq_num=0xFFFFFFFF, data=OFF)
    r.send(st_num=0xFFFFFFFF, sq_num=1, data=OFF)    # sqNum rolls over to 1
    r.send(st_num=1, sq_num=0, data=ON)              # stNum rolls over to 1
    assert r.codes() == []


def test_simulation_bit_without_flag_once() -> None:
    r = Run()
    r.send(st_num=1, sq_num=0, reserved1=0x8000, data=OFF)
    r.send(st_num=1, sq_num=1, reserved1=0x8000, data=OFF)
    assert r.codes().count("goose.simulation_mismatch") == 1
    r.send(st_num=1, sq_num=2, reserved1=0x8000, simulation=True, data=OFF)
    # the Simulate bit already marked the stream as simulated: no test_flag, no new mismatch
    assert r.codes() == ["goose.simulation_mismatch"]


def test_publishers_are_separate() -> None:
    r = Run()
    r.send(st_num=7, gocb_ref="A", data=OFF)
    r.send(st_num=1, gocb_ref="B", data=OFF)
    r.link.src_mac = "00:30:a7:00:00:02"
    r.send(st_num=1, gocb_ref="A", data=OFF)
    assert [e.reason for e in r.goose()] == ["first", "first", "first"] and r.codes() == []


def test_publisher_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(goose_session, "MAX_PUBLISHERS", 2)
    r = Run()
    for ref, sq in (("A", 0), ("B", 0), ("A", 1), ("C", 0), ("D", 0)):
        r.send(gocb_ref=ref, sq_num=sq, data=OFF)
    assert r.codes() == ["goose.too_many_publishers"]
    evicted = [e for e in r.link.events if isinstance(e, GoosePublisherEvent)]
    # A was seen again after B, so B is the least recently seen when C arrives, then A
    assert [(e.gocb_ref, e.end_reason) for e in evicted] == [("B", "evicted"), ("A", "evicted")]


def test_interim_report() -> None:
    r = Run()
    r.send(st_num=1, sq_num=0, ttl=400_000, data=OFF)
    r.send(dt=301.0, st_num=1, sq_num=1, ttl=400_000, data=OFF)
    interim = [e for e in r.link.events if isinstance(e, GoosePublisherEvent)]
    assert [(e.end_reason, e.messages) for e in interim] == [("interim", 2)]
    assert interim[0].max_interval == 301.0


def test_malformed_frames_and_bad_data() -> None:
    r = Run()
    r.link.step()
    r.session.on_frame(b"\x00\x01")
    r.send(data=[tlv(0x83, b"\x01\x01")])  # boolean of two octets: reported, event kept
    assert r.codes() == ["goose.bad_length", "goose.bad_data"]
    ev = r.goose()[0]
    assert ev.values == [] and ev.values_truncated and ev.anomalies == ["goose.bad_data"]


def test_gse_management_event() -> None:
    r = Run()
    r.link.step()
    r.session.on_frame(header(5, tlv(0x60, tlv(0x80, b"\x02") + tlv(0xA1, tlv(
        0xA1, tlv(0x80, b"DS"))))))
    ev = r.link.events[0]
    assert isinstance(ev, GooseMgmtEvent)
    assert (ev.appid, ev.state_id, ev.pdu, ev.service, ev.ident, ev.function_class) == (
        5, 2, "request", "getGoReference", "DS", "read")


def test_network_duplicates_are_counted_not_replays() -> None:
    r = Run()
    r.send(st_num=1, sq_num=0, data=OFF)
    r.send(dt=0.0004, st_num=1, sq_num=0, data=OFF)   # PRP twin from the other LAN
    r.send(st_num=1, sq_num=1, data=OFF)
    r.send(dt=0.5, st_num=1, sq_num=1, data=OFF)      # the same message half a second later
    r.session.close()
    assert r.codes() == ["goose.replay"]
    (s,) = [e for e in r.link.events if isinstance(e, GoosePublisherEvent)]
    assert (s.messages, s.duplicates, s.retransmissions) == (4, 1, 2)

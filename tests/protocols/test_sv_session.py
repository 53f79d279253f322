"""Sampled Values stream tracking, fed frame by frame: smpCnt continuity and wrap, confRev,
quality, synchronisation, 9-2LE scaling, bounds."""

from __future__ import annotations

from typing import Any

import pytest

from otshield.protocols.sv import session as sv_session
from otshield.protocols.sv.events import SvStreamEvent, SvSummaryEvent
from otshield.protocols.sv.session import SvSession
from protocols.iec61850_build import LE_VALUES, FakeLink, sample, sv, sv_asdu


class Run:
    def __init__(self) -> None:
        self.link = FakeLink()
        self.session = SvSession(self.link)

    def send(self, *cnts: int, dt: float = 0.00025, no_asdu: int | None = None,
             **kw: Any) -> None:
        self.link.step(dt)
        self.session.on_frame(sv([sv_asdu(c, **kw) for c in cnts], no_asdu=no_asdu))

    def summary(self) -> SvSummaryEvent:
        self.session.close()
        (s,) = [e for e in self.link.events if isinstance(e, SvSummaryEvent)]
        return s


def test_stream_start_and_summary() -> None:
    r = Run()
    for c in range(3998, 4000):
        r.send(c)
    for c in range(0, 4000):      # wraps at 4000 samples per second
        r.send(c)
    r.send(0)
    starts = [e for e in r.link.events if isinstance(e, SvStreamEvent)]
    assert len(starts) == 1
    st = starts[0]
    assert (st.sv_id, st.appid, st.smp_cnt, st.smp_rate, st.smp_synch_name, st.channels,
            st.no_asdu, st.function_class) == ("MU01", 0x4000, 3998, 80, "global", 8, 1,
                                               "other")
    s = r.summary()
    assert r.link.codes() == []
    assert (s.frames, s.asdus, s.smp_cnt_wraps, s.wrap_at, s.smp_cnt_gaps, s.last_smp_cnt) == (
        4003, 4003, 2, 4000, 0, 0)
    assert s.raw_min == LE_VALUES and s.raw_max == LE_VALUES
    assert s.current_min == [1.0, -0.5, -0.5, 0.0]
    assert s.voltage_max == [230.0, -115.0, -115.0, 0.0]


def test_gap_repeat_and_wrap_rules() -> None:
    r = Run()
    r.send(10, 11)
    r.send(14)                    # 12, 13 lost
    r.send(14, dt=0.02)           # repeated (later than a network duplicate)
    r.send(0)                     # first restart: taken as the wrap point (15)
    r.send(1, 2)
    r.send(0)                     # 3 is not the wrap point: a gap of 12 (mod 15)
    s = r.summary()
    assert r.link.codes() == ["sv.smpcnt_gap", "sv.smpcnt_repeat", "sv.smpcnt_gap"]
    assert (s.smp_cnt_gaps, s.samples_missing, s.smp_cnt_repeats, s.smp_cnt_wraps,
            s.wrap_at) == (2, 2 + 12, 1, 1, 15)


def test_confrev_sync_and_quality() -> None:
    r = Run()
    good = sample(LE_VALUES)
    invalid = sample(LE_VALUES, [0, 0, 1, 0, 0, 0, 0, 0])
    questionable = sample(LE_VALUES, [0, 0, 0, 0, 3, 0, 0, 0x800])
    r.send(1, values=good)
    r.send(2, values=invalid)
    r.send(3, values=invalid)             # still invalid: no new anomaly
    r.send(4, values=questionable)        # questionable: counted, no anomaly
    r.send(5, values=good)
    r.send(6, values=invalid)             # invalid again after a good one: reported again
    r.send(7, conf_rev=2)
    r.send(8, conf_rev=2, smp_synch=0)
    r.send(9, conf_rev=2, smp_synch=1)
    s = r.summary()
    assert r.link.codes() == ["sv.quality_invalid", "sv.quality_invalid",
                              "sv.confrev_changed", "sv.sync_lost"]
    assert (s.quality_problems, s.conf_rev, s.conf_rev_changes, s.smp_synch,
            s.smp_synch_changes, s.sync_lost) == (4, 2, 1, 1, 2, 1)


def test_once_per_stream_checks() -> None:
    r = Run()
    r.send(1, values=b"\0" * 12)
    r.send(2, values=b"\0" * 12)
    r.send(3, 4, no_asdu=3)
    r.send(5, 6, no_asdu=3)
    s = r.summary()
    assert r.link.codes() == ["sv.bad_sample_length", "sv.noasdu_mismatch"]
    assert s.channels == 8 and s.frames == 4 and s.asdus == 6


def test_generic_channel_count_has_no_scaling() -> None:
    r = Run()
    r.send(1, values=sample([5, -7, 9]))
    r.send(2, values=sample([1, 2, 3]))
    s = r.summary()
    assert (s.channels, s.raw_min, s.raw_max, s.current_min) == (3, [1, -7, 3], [5, 2, 9], [])


def test_streams_are_keyed_by_svid_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sv_session, "MAX_STREAMS", 2)
    r = Run()
    r.send(1, sv_id="A")
    r.send(1, sv_id="B")
    r.send(2, sv_id="A")
    r.send(1, sv_id="C")
    assert r.link.codes() == ["sv.too_many_streams"]
    evicted = [e for e in r.link.events if isinstance(e, SvSummaryEvent)]
    assert [(e.sv_id, e.end_reason) for e in evicted] == [("B", "evicted")]


def test_interim_summary_and_malformed() -> None:
    r = Run()
    r.send(1)
    r.send(2, dt=300.0)
    r.link.step()
    r.session.on_frame(b"\x40\x00")
    assert [e.end_reason for e in r.link.events if isinstance(e, SvSummaryEvent)] == [
        "interim"]
    assert r.link.codes() == ["sv.bad_length"]


def test_network_duplicates_are_counted_not_repeats() -> None:
    r = Run()
    r.send(1)
    r.send(1, dt=0.0001)                          # PRP twin
    r.send(2)
    r.send(2, values=sample([0] * 8))             # same smpCnt, other values: forged
    r.send(3)
    r.send(3, dt=0.5)                             # same ASDU much later: replayed
    s = r.summary()
    assert r.link.codes() == ["sv.smpcnt_repeat", "sv.smpcnt_repeat"]
    assert (s.frames, s.asdus, s.duplicates, s.smp_cnt_repeats) == (6, 5, 1, 2)

"""Live detection's additions: the pipeline's wall-clock flush and the capture's idle callback.

The end-to-end check (``otshield live --detect`` on a live range's bridge raising an alert for a
real attack) is in tests/sim/test_range.py.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from otshield.detect.pipeline import DetectionPipeline
from otshield.events import Event, FlowEvent


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[float] = []

    def observe(self, event: Event) -> None:
        self.seen.append(event.ts)

    def finish(self) -> None:
        pass


def flow(ts: float) -> FlowEvent:
    return FlowEvent(ts=ts, frame=1, start=ts, src_ip="10.1.0.2", dst_ip="10.3.0.5",
                     src_port=40000, dst_port=502, transport="tcp", protocol="modbus")


def test_tick_flushes_a_batch_after_max_delay_of_wall_clock() -> None:
    rec = Recorder()
    pipe = DetectionPipeline([rec], max_delay=0.5)
    pipe.tick(now=10.0)  # nothing pending: nothing happens
    pipe(flow(100.0))
    pipe(flow(100.2))  # 0.2 s of packet time: the batch stays open
    assert rec.seen == []
    pipe.tick(now=20.0)  # the first tick that sees the batch starts its clock
    pipe.tick(now=20.4)
    assert rec.seen == []
    pipe.tick(now=20.5)  # waited 0.5 s: run it
    assert rec.seen == [100.0, 100.2]
    pipe.tick(now=30.0)  # empty again
    pipe(flow(100.3))
    pipe.tick(now=31.0)
    assert rec.seen == [100.0, 100.2]  # a new batch, a new clock
    pipe.tick(now=31.6)
    assert rec.seen == [100.0, 100.2, 100.3]


def test_tick_with_zero_delay_flushes_at_once_and_without_delay_never() -> None:
    rec = Recorder()
    pipe = DetectionPipeline([rec], max_delay=0.0)
    pipe(flow(1.0))
    pipe.tick(now=5.0)
    assert rec.seen == [1.0]
    offline = Recorder()
    pipe = DetectionPipeline([offline])  # analyze: batches end by size and packet time only
    pipe(flow(1.0))
    pipe.tick(now=5.0)
    pipe.tick(now=500.0)
    assert offline.seen == []
    pipe(flow(2.5))  # 1.5 s of packet time after the first event ends the batch
    assert offline.seen == []  # offline, complete batches wait for more (pipeline.__call__)
    pipe.run_complete()
    assert offline.seen == [1.0, 2.5]


def test_tick_uses_the_monotonic_clock_by_default() -> None:
    rec = Recorder()
    pipe = DetectionPipeline([rec], max_delay=0.05)
    pipe(flow(1.0))
    pipe.tick()
    time.sleep(0.06)
    pipe.tick()
    assert rec.seen == [1.0]


@pytest.mark.live
def test_idle_capture_calls_on_idle() -> None:
    """A capture on the loopback of a fresh, silent namespace calls ``on_idle`` every timeout."""
    from otshield.live import LiveCapture
    from otshield.sim.range.netns import RangeError, netns, require_namespaces

    try:
        require_namespaces()
    except RangeError as exc:
        pytest.skip(str(exc))
    import subprocess

    name = f"otsidle{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        calls: list[float] = []
        with netns(name):
            cap = LiveCapture("lo", timeout=0.05, on_idle=lambda: calls.append(time.monotonic()))
        t = threading.Thread(target=lambda: list(cap))
        t.start()
        time.sleep(0.5)
        cap.stop()
        t.join(5)
        cap.close()
        assert not t.is_alive()
        assert len(calls) >= 3  # about ten in 0.5 s; a loaded machine may give fewer
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)

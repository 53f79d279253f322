"""The range's masters: HMI screens and historian collection polling the PLCs for real.

Each :class:`Poller` is a thread in the client host's namespace that keeps one connection to
its PLC open, as SCADA masters do, and reads every ``period`` seconds with a uniform jitter of
``+- jitter`` (a fixed period would look machine-made, and real masters drift). HMIs read
holding registers (function 3), historians input registers (function 4); S7 polls read data
block 1 with a snap7 client (S7comm read var); an IEC 104 "poll" is the controlling station's
link held open by a c104 client (STARTDT, general interrogation, then periodic and spontaneous
reports from the RTU). A lost connection
is re-opened on the next poll, after a pause, and counted.

The counters (:class:`PollStats`) let the range report that polling reaches the PLCs and let
tests assert it: reads done, failed, and the last values read.
"""

from __future__ import annotations

import contextlib
import logging
import random
import struct
import threading
import time
from dataclasses import dataclass, field

from otshield.sim.range.plan import PointSpec, PollSpec, RangeHost
from otshield.sim.range.services import IEC104_PORT, MODBUS_PORT, S7_PORT, NsThread

__all__ = ["PollStats", "Poller"]

GI_PERIOD = 900.0
"""Seconds between general interrogations on an IEC 104 link (15 minutes, as the simulator)."""


@dataclass(slots=True)
class PollStats:
    ok: int = 0
    failed: int = 0
    reconnects: int = 0
    last: list[float] = field(default_factory=list)
    """Registers (Modbus) or REALs (S7) of the last read."""
    last_error: str = ""


class Poller:
    """One client host polling one PLC."""

    def __init__(self, spec: PollSpec, client: RangeHost, server: RangeHost, ns: str,
                 seed: int = 0, points: tuple[PointSpec, ...] = ()) -> None:
        self.spec, self.client, self.server = spec, client, server
        self.points = points
        """The server's points (an IEC 104 client declares the monitoring points it takes)."""
        self.stats = PollStats()
        self._rnd = random.Random(f"{seed}:{spec.client}:{spec.server}")
        self.thread = NsThread(ns, f"poll-{spec.client}-{spec.server}", self._run)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def _delay(self) -> float:
        j = self.spec.jitter
        return max(0.01, self.spec.period + (self._rnd.uniform(-j, j) if j else 0.0))

    def _run(self, stop: threading.Event) -> None:
        if self.spec.protocol == "s7":
            self._run_s7(stop)
        elif self.spec.protocol == "iec104":
            self._run_iec104(stop)
        else:
            self._run_modbus(stop)

    def _failed(self, exc: BaseException | str) -> None:
        self.stats.failed += 1
        self.stats.last_error = str(exc)[:200]

    def _run_modbus(self, stop: threading.Event) -> None:
        from pymodbus.client import ModbusTcpClient

        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        q = self.spec
        client = ModbusTcpClient(self.server.ip, port=MODBUS_PORT, timeout=2, retries=0)
        try:
            while not stop.is_set():
                try:
                    if not client.connected:
                        if not client.connect():  # type: ignore[no-untyped-call]
                            raise ConnectionError(f"cannot connect to {self.server.ip}:502")
                        self.stats.reconnects += 1
                    read = (client.read_input_registers if q.function == 4
                            else client.read_holding_registers)
                    rr = read(q.start, count=q.count, device_id=q.unit_id)
                    if rr.isError():
                        self._failed(f"exception response {rr}")
                    else:
                        self.stats.ok += 1
                        self.stats.last = [float(r) for r in rr.registers]
                except Exception as exc:  # the PLC may be down or flooded: keep polling
                    self._failed(exc)
                    client.close()  # type: ignore[no-untyped-call]
                stop.wait(self._delay())
        finally:
            client.close()  # type: ignore[no-untyped-call]

    def _run_iec104(self, stop: threading.Event) -> None:
        """The controlling station's link: STARTDT, a general interrogation at connect and
        every ``GI_PERIOD`` seconds; the RTU reports the rest periodically and spontaneously.
        Every ``period`` the link's state is checked (ok when it is open and unmuted)."""
        import c104

        q = self.spec
        client = c104.Client(tick_rate_ms=100, command_timeout_ms=2000)
        conn = client.add_connection(ip=self.server.ip, port=IEC104_PORT, init=c104.Init.NONE)
        if conn is None:
            self._failed("c104 refused the connection parameters")
            return
        station = conn.add_station(common_address=q.unit_id)
        if station is not None:
            for p in self.points:
                if p.space in ("float", "single"):
                    station.add_point(io_address=p.address, type=c104.Type.M_ME_NC_1
                                      if p.space == "float" else c104.Type.M_SP_NA_1)
        client.start()
        last_gi = time.monotonic()  # also: when the link was last found down
        try:
            was_up = False
            while not stop.wait(0.05 if not was_up else self._delay()):
                if conn.is_connected and conn.is_muted:
                    conn.unmute()  # STARTDT act: c104 connects muted whatever its init
                up = conn.is_connected and not conn.is_muted
                if not up:
                    if was_up or time.monotonic() - last_gi > q.period:
                        self._failed(f"IEC 104 link to {self.server.ip} is {conn.state}")
                        last_gi = time.monotonic()
                    was_up = False
                    continue
                if not was_up:  # a (re)started link: general interrogation first
                    self.stats.reconnects += 1
                    conn.interrogation(common_address=q.unit_id, wait_for_response=False)
                    last_gi = time.monotonic()
                    was_up = True
                    continue
                if time.monotonic() - last_gi >= GI_PERIOD:
                    conn.interrogation(common_address=q.unit_id, wait_for_response=False)
                    last_gi = time.monotonic()
                self.stats.ok += 1
                if station is not None:
                    self.stats.last = [float(v) for p in station.points
                                       if p.type == c104.Type.M_ME_NC_1
                                       and isinstance(v := p.value, (int, float))]
        finally:
            client.stop()

    def _run_s7(self, stop: threading.Event) -> None:
        import snap7

        logging.getLogger("snap7").setLevel(logging.CRITICAL)
        q = self.spec
        client = snap7.client.Client()
        try:
            while not stop.is_set():
                try:
                    if not client.get_connected():
                        client.connect(self.server.ip, 0, 1, S7_PORT)
                        self.stats.reconnects += 1
                    data = client.db_read(1, q.start, q.count)
                    self.stats.ok += 1
                    self.stats.last = [struct.unpack_from(">f", data, i)[0]
                                       for i in range(0, len(data) - 3, 4)]
                except Exception as exc:
                    self._failed(exc)
                    with contextlib.suppress(Exception):
                        client.disconnect()
                stop.wait(self._delay())
        finally:
            with contextlib.suppress(Exception):
                client.disconnect()

"""The range's PLCs: real protocol servers in the hosts' namespaces, fed by the plant's process.

* Modbus/TCP: a pymodbus server (``ModbusTcpServer`` with a ``SimDevice`` per unit id) on
  ``<ip>:502``. Its ``action`` hook fills the registers a request reads from the process (the
  reported values: spoofing overrides apply) and turns writes into process writes, as the PLC's
  program would: writing a pump's ``command`` register with ``auto`` 0 starts it, writing a
  setpoint moves the hysteresis, and the next poll shows the new level trend. Writes to points
  that are not writable are refused with exception 2 (illegal data address). Unit ids not
  configured get an exception (pymodbus answers 4, device failure): what scanners see.
* S7comm: a python-snap7 server (pure Python since 3.0) on ``<ip>:102`` with data block 1
  holding the points as big-endian REALs (4 bytes at each point's byte offset). A refresher
  thread writes the process values into the block, applies values a client changed to the
  process, and follows the CPU state: a client's
  PLC STOP (function 0x29) puts the controller into STOP in the process (its pumps stop), a
  start puts it back into RUN.
* IEC 60870-5-104: a c104 server (controlled station) on ``<ip>:2404`` with the RTU's
  monitoring points (periodic short floats, spontaneous single points) and single-command
  points that confirm and record what they receive.

:class:`PlantProcess` wraps :class:`otshield.sim.process.Process` with a lock and the wall
clock: every read first advances the process to ``time.time()``, so values evolve in real time.

Each server runs on a thread that has entered the host's namespace (:func:`.netns.enter_netns`);
threads they start themselves are born there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otshield.sim.process import Process
from otshield.sim.range.netns import enter_netns, netns
from otshield.sim.range.plan import PlcSpec, PointSpec, RangeHost

if TYPE_CHECKING:
    import c104
    from snap7.server import Server as Snap7Server

__all__ = ["Iec104Rtu", "ModbusPlc", "NsThread", "PlantProcess", "S7Plc", "from_register",
           "to_register"]

MODBUS_PORT = 502
S7_PORT = 102
IEC104_PORT = 2404
_BLOCK = 100
"""Registers (and DB words) each PLC exposes: points first, zeros after, exceptions past it."""
_READS = frozenset({1, 2, 3, 4, 23})


def to_register(value: float, scale: float) -> int:
    """``value`` scaled and rounded into an unsigned 16-bit register (negatives as INT16)."""
    n = round(value * scale)
    n = max(-32768, min(65535, n))
    return n & 0xFFFF


def from_register(raw: int, scale: float) -> float:
    """The process value of a register written by a client (values above 32767 are the INT16
    negatives only for scaled points: a switch or count stays unsigned)."""
    if scale != 1.0 and raw > 0x7FFF:
        raw -= 0x10000
    return raw / scale if scale else float(raw)


class PlantProcess:
    """The process shared by every PLC of the range, advanced on the wall clock."""

    def __init__(self, process: Process) -> None:
        self._process = process
        self._lock = threading.Lock()
        self.writes: list[tuple[float, str, str, float]] = []
        """(time, who, tag, value) of every write applied: what an attacker changed."""

    def _now(self) -> None:
        self._process.advance(time.time())

    def reported(self, tag: str) -> float:
        with self._lock:
            self._now()
            return self._process.reported(tag)

    def read(self, tag: str) -> float:
        with self._lock:
            self._now()
            return self._process.read(tag)

    def write(self, tag: str, value: float, who: str = "") -> None:
        with self._lock:
            self._now()
            self._process.write(tag, value)
            self.writes.append((time.time(), who, tag, value))

    def set_controller(self, name: str, running: bool) -> None:
        with self._lock:
            self._now()
            with contextlib.suppress(KeyError):
                if running:
                    self._process.start_controller(name)
                else:
                    self._process.stop_controller(name)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            self._now()
            return self._process.snapshot()


class NsThread(threading.Thread):
    """A daemon thread that runs ``target(stop)`` inside network namespace ``ns``."""

    def __init__(self, ns: str, name: str, target: Callable[[threading.Event], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.ns = ns
        self.stop_event = threading.Event()
        self._run_target = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            enter_netns(self.ns)
            self._run_target(self.stop_event)
        except BaseException as exc:  # reported by the range (status, tests), never lost
            self.error = exc

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout)


@dataclass(slots=True)
class ServiceStats:
    reads: int = 0
    writes: int = 0
    refused: int = 0


class ModbusPlc:
    """A Modbus/TCP PLC: pymodbus server in the host's namespace, points from the process."""

    def __init__(self, spec: PlcSpec, host: RangeHost, ns: str, plant: PlantProcess) -> None:
        self.spec, self.host, self.plant = spec, host, plant
        self.holding: dict[int, PointSpec] = {p.address: p for p in spec.points
                                              if p.space == "holding"}
        self.input: dict[int, PointSpec] = {p.address: p for p in spec.points
                                            if p.space == "input"} or self.holding
        self.stats = ServiceStats()
        self.ready = threading.Event()
        self.thread = NsThread(ns, f"modbus-{host.name}", self._serve)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    async def _action(self, function_code: int, start: int, address: int, count: int,
                      registers: list[int], values: list[int] | list[bool] | None) -> int | None:
        from pymodbus.constants import ExcCodes

        if values is None:
            if function_code in _READS:
                self.stats.reads += 1
                points = self.input if function_code == 4 else self.holding
                if function_code in (1, 2):  # coils/inputs are bits of the block: left as is
                    return None
                for index in range(address, address + count):
                    if 0 <= index - start < len(registers):
                        point = points.get(index)
                        registers[index - start] = 0 if point is None else to_register(
                            self.plant.reported(point.tag), point.scale)
            return None
        if function_code in (5, 15):  # coils: no process meaning in the range
            self.stats.writes += 1
            return None
        for offset in range(len(values)):
            point = self.holding.get(address + offset)
            if point is None or not point.writable:
                self.stats.refused += 1
                return ExcCodes.ILLEGAL_ADDRESS
        for offset, raw in enumerate(values):
            point = self.holding[address + offset]
            with contextlib.suppress(KeyError):
                self.plant.write(point.tag, from_register(int(raw), point.scale),
                                 who=f"modbus:{self.host.name}")
        self.stats.writes += 1
        return None

    def _serve(self, stop: threading.Event) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # scans log every exception

        async def main() -> None:
            devices = [SimDevice(unit, simdata=[SimData(0, count=_BLOCK, values=0,
                                                        datatype=DataType.REGISTERS)],
                                 action=self._action)  # type: ignore[arg-type]
                       for unit in self.spec.unit_ids]
            server = ModbusTcpServer(devices, address=(self.host.ip, MODBUS_PORT))
            await server.serve_forever(background=True)  # returns once listening
            self.ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            await server.shutdown()  # type: ignore[no-untyped-call]

        asyncio.run(main())


class S7Plc:
    """An S7 PLC: python-snap7 server with DB1 = the points, CPU state tied to the process."""

    def __init__(self, spec: PlcSpec, host: RangeHost, ns: str, plant: PlantProcess,
                 refresh: float = 0.2) -> None:
        self.spec, self.host, self.ns, self.plant = spec, host, ns, plant
        self.refresh = refresh
        size = max((p.address + 4 for p in spec.points if p.space == "db"), default=0)
        self.db = bytearray(max(64, size))
        self.points = [p for p in spec.points if p.space == "db"]
        self.stats = ServiceStats()
        self.ready = threading.Event()
        self.cpu = "Run"
        self.thread = NsThread(ns, f"s7-{host.name}", self._serve)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def _serve(self, stop: threading.Event) -> None:
        import snap7
        from snap7.type import SrvArea

        logging.getLogger("snap7").setLevel(logging.CRITICAL)
        server = snap7.server.Server(log=False)
        server.register_area(SrvArea.DB, 1, self.db)

        def count_read(_event: object) -> None:
            self.stats.reads += 1

        server.set_read_events_callback(count_read)
        key = next(iter(server.memory_areas))
        lock = server.area_locks[key]
        server.start_to(self.host.ip, S7_PORT)
        self.ready.set()
        last: dict[int, bytes] = {}
        try:
            while not stop.is_set():
                self._refresh(server, lock, last)
                stop.wait(self.refresh)
        finally:
            server.stop()

    def _refresh(self, server: Snap7Server, lock: threading.Lock, last: dict[int, bytes]) -> None:
        status = server.get_status()  # (server, cpu, clients)
        cpu = str(status[1])
        if cpu != self.cpu and self.spec.controller:
            self.plant.set_controller(self.spec.controller, cpu == "Run")
            self.cpu = cpu
        with lock:
            for point in self.points:
                off = point.address
                raw = bytes(self.db[off:off + 4])
                if off in last and raw != last[off] and point.writable:
                    value = struct.unpack(">f", raw)[0] / (point.scale or 1.0)
                    with contextlib.suppress(KeyError):
                        self.plant.write(point.tag, value, who=f"s7:{self.host.name}")
                    self.stats.writes += 1
                fresh = struct.pack(">f", self.plant.reported(point.tag) * point.scale)
                self.db[off:off + 4] = fresh
                last[off] = fresh


class Iec104Rtu:
    """An IEC 60870-5-104 RTU: a c104 server (controlled station) on ``<ip>:2404``.

    Monitoring points carry the process values (short floats reported periodically every
    ``report`` seconds, single points sent spontaneously when they change); command points
    accept single commands (C_SC_NA_1), answer with a positive confirmation and record them
    (:attr:`commands`): the plant has no breakers for them to move."""

    def __init__(self, spec: PlcSpec, host: RangeHost, ns: str, plant: PlantProcess,
                 report: float = 2.0) -> None:
        self.spec, self.host, self.plant = spec, host, plant
        self.report = report
        self.stats = ServiceStats()
        self.commands: list[tuple[float, int, bool]] = []
        """(time, IOA, value) of every command received."""
        self.ready = threading.Event()
        self.thread = NsThread(ns, f"iec104-{host.name}", self._serve)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def _serve(self, stop: threading.Event) -> None:
        import c104

        server = c104.Server(ip=self.host.ip, port=IEC104_PORT, tick_rate_ms=100)
        station = server.add_station(common_address=self.spec.unit_ids[0])
        if station is None:
            raise RuntimeError(f"c104 refused common address {self.spec.unit_ids[0]}")
        monitored: list[tuple[PointSpec, c104.Point]] = []

        def on_command(point: c104.Point, previous_info: c104.Information,
                       message: c104.IncomingMessage) -> c104.ResponseState:
            self.commands.append((time.time(), point.io_address, bool(point.value)))
            self.stats.writes += 1
            return c104.ResponseState.SUCCESS

        c104_callback(on_command)

        for p in self.spec.points:
            if p.space == "command":
                cmd = station.add_point(io_address=p.address, type=c104.Type.C_SC_NA_1)
                if cmd is not None:
                    cmd.on_receive(callable=on_command)
                continue
            kind = c104.Type.M_ME_NC_1 if p.space == "float" else c104.Type.M_SP_NA_1
            report_ms = round(self.report * 1000) if p.space == "float" else 0
            point = station.add_point(io_address=p.address, type=kind, report_ms=report_ms)
            if point is not None:
                monitored.append((p, point))
        self._update(monitored, transmit=False)
        server.start()
        self.ready.set()
        try:
            while not stop.wait(0.25):
                self._update(monitored, transmit=True)
        finally:
            server.stop()

    def _update(self, monitored: list[tuple[PointSpec, c104.Point]], transmit: bool) -> None:
        import c104

        for spec, point in monitored:
            value = self.plant.reported(spec.tag) * spec.scale
            if spec.space == "float":
                point.value = value
                continue
            state = bool(value)
            if state != bool(point.value):
                point.value = state
                if transmit:
                    point.transmit(cause=c104.Cot.SPONTANEOUS)


def c104_callback(fn: Callable[..., object]) -> None:
    """Make ``fn`` acceptable to c104's ``on_receive``: c104 compares the callback's annotations
    with its own classes, and in modules with ``from __future__ import annotations`` they are
    strings."""
    import c104

    fn.__annotations__ = {"point": c104.Point, "previous_info": c104.Information,
                          "message": c104.IncomingMessage, "return": c104.ResponseState}


def start_plc(spec: PlcSpec, host: RangeHost, ns: str, plant: PlantProcess
              ) -> ModbusPlc | S7Plc | Iec104Rtu:
    plc: ModbusPlc | S7Plc | Iec104Rtu
    if spec.protocol == "modbus":
        plc = ModbusPlc(spec, host, ns, plant)
    elif spec.protocol == "s7":
        plc = S7Plc(spec, host, ns, plant)
    else:
        plc = Iec104Rtu(spec, host, ns, plant)
    plc.start()
    return plc


def wait_listening(ns: str, ip: str, port: int, timeout: float = 10.0) -> bool:
    """True once ``ip:port`` accepts a TCP connection from inside namespace ``ns``."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with netns(ns):
            sock = socket.socket()
        sock.settimeout(0.5)
        try:
            sock.connect((ip, port))
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            sock.close()
    return False

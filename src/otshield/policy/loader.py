"""Loading and linting the zones-and-conduits policy, every finding with file and line.

    policy = load_policy(Path("plant.yaml"))         # ConfigError listing every error
    findings = lint_policy(Path("plant.yaml"))       # errors and warnings, for `policy check`

Errors (the policy cannot be used): YAML syntax, unknown keys, wrong types, duplicate zone or
conduit names, Purdue levels outside 0-5, security-level targets outside 1-4, impossible
subnets or VLANs, the same subnet or VLAN in two zones, conduits naming unknown zones,
unknown protocols or function classes, ports outside 1-65535, jump hosts that are not
addresses, unknown ``defaults`` values.

Warnings (usable, but look again):

* nested subnets in different zones. Allowed on purpose: a cell inside a larger plant network
  (``10.10.30.0/26`` inside ``10.10.0.0/16``) is a common design; the most specific subnet
  wins, as everywhere else in otshield. The warning says which zone gets the addresses.
* a conduit that skips Purdue levels (level 4 straight to level 1): the reference model and
  IEC 62443-3-2 want traffic to step through each level (or a DMZ);
* a conduit from a zone with a lower security-level target into a zone with a higher one:
  the conduit must then provide the countermeasures of the higher level (IEC 62443-3-2 ZCR 5);
* jump hosts outside every zone, zones with neither subnets nor VLANs, layer-2 protocols on a
  conduit (address-based checks and firewalls cannot see them), a conduit from a zone to
  itself while ``intra_zone`` is ``allow``, a policy without conduits.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import netaddr

from otshield.errors import ConfigError
from otshield.flows import TRANSPORTS
from otshield.inventory.site import parse_site
from otshield.policy.model import FUNCTION_CLASSES, Conduit, Finding, Policy
from otshield.yamlsource import LocatedDict, LocatedList, line_of, load_yaml, read_text

__all__ = ["known_protocols", "layer2_protocols", "lint_policy", "lint_text", "load_policy",
           "parse_policy"]

_TOP = ("site", "zones", "assets", "conduits", "remote_access", "defaults")
_ZONE = ("name", "level", "security_level_target", "subnets", "vlans", "description")
_CONDUIT = ("name", "from", "to", "protocols", "functions", "ports", "description")
_REMOTE = ("jump_hosts",)
_DEFAULTS = {"intra_zone": ("allow", "check"), "unknown_zone": ("alert", "ignore")}
_PORTED = ("tcp", "udp", "sctp")
"""Transports whose entries name a port (``tcp/502``)."""
_BARE = frozenset(t for t in TRANSPORTS.values() if t not in _PORTED) | {"icmp", "any"}
"""Protocol entries that are a whole IP protocol (``gre``, ``icmp`` for ICMP and ICMPv6)."""


@cache
def _registry() -> tuple[frozenset[str], frozenset[str]]:
    from otshield.protocols.registry import load_registry

    specs = load_registry().specs
    names = frozenset(s.name for s in specs)
    layer2 = frozenset(s.name for s in specs if not s.tcp_ports and not s.udp_ports)
    return names, layer2


def known_protocols() -> frozenset[str]:
    """Decoder names a conduit may list."""
    return _registry()[0]


def layer2_protocols() -> frozenset[str]:
    """Decoders of protocols carried in Ethernet frames without IP (GOOSE, PROFINET RT...)."""
    return _registry()[1]


def protocol_entry_ok(entry: str) -> bool:
    """Is ``entry`` a valid protocol entry of a conduit?"""
    if entry in _BARE or entry in known_protocols():
        return True
    transport, _, port = entry.partition("/")
    return transport in _PORTED and port.isdigit() and 1 <= int(port) <= 65535


class _Checker:
    """Walks the parsed document, collecting findings with lines."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.findings: list[Finding] = []

    def error(self, line: int, message: str) -> None:
        self.findings.append(Finding(severity="error", origin=self.origin, line=line,
                                     message=message))

    def warn(self, line: int, message: str) -> None:
        self.findings.append(Finding(severity="warning", origin=self.origin, line=line,
                                     message=message))

    def keys(self, node: LocatedDict, allowed: tuple[str, ...], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.error(line_of(node, key), f"{where}: unknown key {key!r} (expected one of "
                                               f"{', '.join(allowed)})")

    def mapping(self, parent: Any, key: Any, where: str) -> LocatedDict | None:
        value = parent.get(key) if isinstance(parent, dict) else None
        if value is None:
            return None
        if not isinstance(value, LocatedDict):
            self.error(line_of(parent, key), f"{where}: expected a mapping")
            return None
        return value

    def sequence(self, parent: Any, key: Any, where: str) -> LocatedList | None:
        value = parent.get(key) if isinstance(parent, dict) else None
        if value is None:
            return None
        if not isinstance(value, LocatedList):
            self.error(line_of(parent, key), f"{where}: expected a list")
            return None
        return value

    def text(self, node: LocatedDict, key: str, where: str, required: bool = False) -> str:
        value = node.get(key)
        if value is None:
            if required:
                self.error(node.line, f"{where}: {key!r} is required")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(line_of(node, key), f"{where}.{key}: expected a non-empty string")
            return ""
        return value

    def integer(self, node: LocatedDict, key: str, where: str, low: int, high: int,
                what: str) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.error(line_of(node, key), f"{where}.{key}: {what} are {low}-{high}, "
                                           f"got {value!r}")
            return None
        return value


class _Zone:
    __slots__ = ("level", "line", "name", "nets", "sl")

    def __init__(self, name: str, line: int, level: int | None, sl: int | None) -> None:
        self.name = name
        self.line = line
        self.level = level
        self.sl = sl
        self.nets: list[tuple[netaddr.IPNetwork, int]] = []


def _check(doc: Any, origin: str) -> tuple[list[Finding], list[Conduit], list[str], dict[str, str]]:
    """Every finding of the document, plus what the policy needs beyond the site loader."""
    c = _Checker(origin)
    if doc is None:
        doc = LocatedDict()
        doc.line, doc.lines = 1, {}
    if not isinstance(doc, LocatedDict):
        c.error(line_of(doc) or 1, "a policy file is a mapping (site, zones, assets, conduits, "
                                   "remote_access, defaults)")
        return c.findings, [], [], {}
    c.keys(doc, _TOP, "policy")
    if "site" in doc and not isinstance(doc["site"], str):
        c.error(line_of(doc, "site"), "site: expected the site's name as a string")
    zones = _zones(c, doc)
    _assets(c, doc, zones)
    defaults = _defaults(c, doc)
    conduits = _conduits(c, doc, zones, defaults.get("intra_zone", "allow"))
    jump_hosts = _jump_hosts(c, doc, zones)
    if zones and not conduits and "conduits" not in doc:
        c.warn(doc.line, "no conduits: every flow between zones would be a violation, so "
                         "`otshield analyze` does not check the policy until one is written")
    return c.findings, conduits, jump_hosts, defaults


def _zones(c: _Checker, doc: LocatedDict) -> dict[str, _Zone]:
    out: dict[str, _Zone] = {}
    items = c.sequence(doc, "zones", "zones")
    if items is None:
        return out
    vlans: dict[int, str] = {}
    for i, node in enumerate(items):
        where = f"zones[{i}]"
        line = line_of(items, i)
        if not isinstance(node, LocatedDict):
            c.error(line, f"{where}: expected a mapping with name, level, subnets...")
            continue
        c.keys(node, _ZONE, where)
        name = c.text(node, "name", where, required=True)
        c.text(node, "description", where)
        level = c.integer(node, "level", where, 0, 5, "Purdue levels")
        sl = c.integer(node, "security_level_target", where, 1, 4,
                       "IEC 62443 security levels")
        if name and name in out:
            c.error(line_of(node, "name"), f"{where}: zone {name!r} is already defined at line "
                                           f"{out[name].line}")
            continue
        zone = _Zone(name, line_of(node, "name") or line, level, sl)
        subnets = c.sequence(node, "subnets", f"{where}.subnets")
        for j, raw in enumerate(subnets or []):
            sline = line_of(subnets, j)
            try:
                if not isinstance(raw, str):
                    raise TypeError
                net = netaddr.IPNetwork(raw)
            except (netaddr.AddrFormatError, ValueError, TypeError):
                c.error(sline, f"{where}.subnets[{j}]: {raw!r} is not a subnet")
                continue
            if net.ip != net.network:
                c.warn(sline, f"{where}.subnets[{j}]: {raw} has host bits set; it means "
                              f"{net.cidr}")
            zone.nets.append((net, sline))
        vlan_list = c.sequence(node, "vlans", f"{where}.vlans")
        for j, vlan in enumerate(vlan_list or []):
            vline = line_of(vlan_list, j)
            if not isinstance(vlan, int) or isinstance(vlan, bool) or not 0 <= vlan <= 4095:
                c.error(vline, f"{where}.vlans[{j}]: VLAN ids are 0-4095, got {vlan!r}")
            elif vlan in vlans and vlans[vlan] != name:
                c.error(vline, f"{where}.vlans[{j}]: VLAN {vlan} is already in zone "
                               f"{vlans[vlan]!r}")
            else:
                vlans[vlan] = name
        if not zone.nets and not vlan_list:
            c.warn(zone.line, f"zone {name!r} has neither subnets nor VLANs: no address can "
                              "be placed in it (asset overrides with `zone:` still can)")
        if name:
            out[name] = zone
    _overlaps(c, list(out.values()))
    return out


def _overlaps(c: _Checker, zones: list[_Zone]) -> None:
    """Same subnet in two zones: an error (which zone would it be?). Nested subnets in two
    zones: a warning naming the zone that gets the inner addresses (most specific wins)."""
    nets = sorted(((net.first, -net.last, net, line, z) for z in zones for net, line in z.nets),
                  key=lambda t: (t[2].version, t[0], t[1]))
    for i, (_, _, net, line, zone) in enumerate(nets):
        for _, _, other, oline, ozone in nets[i + 1:]:
            if other.version != net.version or other.first > net.last:
                break
            if ozone is zone:
                continue
            if other.cidr == net.cidr:
                c.error(oline, f"subnet {other.cidr} of zone {ozone.name!r} is also in zone "
                               f"{zone.name!r} (line {line}): an address must belong to one "
                               "zone")
            else:
                c.warn(oline, f"subnet {other.cidr} of zone {ozone.name!r} lies inside "
                              f"{net.cidr} of zone {zone.name!r} (line {line}): its addresses "
                              f"belong to {ozone.name!r} (the most specific subnet wins)")


def _assets(c: _Checker, doc: LocatedDict, zones: dict[str, _Zone]) -> None:
    assets = c.mapping(doc, "assets", "assets")
    for key, fields in (assets or {}).items():
        line = line_of(assets, key)
        if not isinstance(key, str):
            c.error(line, f"assets: key {key!r}: expected an address or asset id")
        if not isinstance(fields, LocatedDict):
            c.error(line, f"assets.{key}: expected a mapping of fields (role, name, zone...)")
            continue
        for name, value in fields.items():
            if not isinstance(name, str) or not isinstance(value, (str, int, bool)):
                c.error(line_of(fields, name),
                        f"assets.{key}.{name}: expected a plain value (text, number, true/false)")
            elif name == "zone" and value not in zones:
                c.error(line_of(fields, name), f"assets.{key}.zone: unknown zone {value!r}")


def _defaults(c: _Checker, doc: LocatedDict) -> dict[str, str]:
    out: dict[str, str] = {}
    node = c.mapping(doc, "defaults", "defaults")
    if node is None:
        return out
    c.keys(node, tuple(_DEFAULTS), "defaults")
    for key, allowed in _DEFAULTS.items():
        if key not in node:
            continue
        value = node[key]
        if value not in allowed:
            c.error(line_of(node, key), f"defaults.{key}: expected {' or '.join(allowed)}, "
                                        f"got {value!r}")
        else:
            out[key] = value
    return out


def _names(c: _Checker, node: LocatedDict, key: str, where: str) -> list[tuple[Any, int]]:
    """A list of plain values (a single value is taken as a list of one)."""
    if key not in node:
        return []
    value = node[key]
    if isinstance(value, LocatedList):
        return [(v, line_of(value, i)) for i, v in enumerate(value)]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [(value, line_of(node, key))]
    c.error(line_of(node, key), f"{where}.{key}: expected a list")
    return []


def _conduits(c: _Checker, doc: LocatedDict, zones: dict[str, _Zone],
              intra_zone: str) -> list[Conduit]:
    out: list[Conduit] = []
    items = c.sequence(doc, "conduits", "conduits")
    seen: dict[str, int] = {}
    warned: set[tuple[str, str]] = set()
    layer2 = layer2_protocols()
    for i, node in enumerate(items or []):
        where = f"conduits[{i}]"
        line = line_of(items, i)
        if not isinstance(node, LocatedDict):
            c.error(line, f"{where}: expected a mapping with name, from, to, protocols...")
            continue
        c.keys(node, _CONDUIT, where)
        bad = len([f for f in c.findings if f.severity == "error"])
        name = c.text(node, "name", where, required=True)
        if name in seen:
            c.error(line_of(node, "name"), f"{where}: conduit {name!r} is already defined at "
                                           f"line {seen[name]}")
        elif name:
            seen[name] = line_of(node, "name")
        where = f"conduit {name!r}" if name else where
        ends: list[_Zone | None] = []
        for key in ("from", "to"):
            zname = c.text(node, key, where, required=True)
            zone = zones.get(zname)
            if zname and zone is None:
                known = ", ".join(sorted(zones)) or "none defined"
                c.error(line_of(node, key), f"{where}.{key}: unknown zone {zname!r} (zones: "
                                            f"{known})")
            ends.append(zone)
        protocols: set[str] = set()
        entries = _names(c, node, "protocols", where)
        if not entries and "protocols" not in node:
            c.error(line_of(node, "name") or line, f"{where}: 'protocols' is required (a "
                                                   "decoder name, tcp/PORT, udp/PORT, icmp or "
                                                   "any)")
        elif not entries:
            c.error(line_of(node, "protocols"), f"{where}.protocols: the list is empty")
        for value, pline in entries:
            entry = str(value).strip().lower() if isinstance(value, str) else ""
            if not protocol_entry_ok(entry):
                c.error(pline, f"{where}.protocols: unknown protocol {value!r} (a decoder name "
                               "from `otshield protocols`, tcp/PORT, udp/PORT, icmp, an IP "
                               "protocol name or any)")
                continue
            if entry in layer2:
                c.warn(pline, f"{where}.protocols: {entry} is carried in Ethernet frames "
                              "without IP addresses; the zone policy and the firewall rules "
                              "cannot see it (segment it by VLAN)")
            protocols.add(entry)
        functions: set[str] = set()
        fentries = _names(c, node, "functions", where)
        for value, fline in fentries:
            if value == "all":
                functions.update(FUNCTION_CLASSES)
            elif value in FUNCTION_CLASSES:
                functions.add(value)
            else:
                c.error(fline, f"{where}.functions: unknown function class {value!r} "
                               f"(expected {', '.join(FUNCTION_CLASSES)} or all)")
        if "functions" not in node:
            functions = {"read"}
        ports: set[int] = set()
        for value, portline in _names(c, node, "ports", where):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                c.error(portline, f"{where}.ports: ports are 1-65535, got {value!r}")
            else:
                ports.add(value)
        description = c.text(node, "description", where)
        src, dst = ends
        if src is not None and dst is not None and (src.name, dst.name) not in warned:
            warned.add((src.name, dst.name))  # one warning per zone pair is enough
            _conduit_warnings(c, node, where, src, dst, intra_zone)
        if len([f for f in c.findings if f.severity == "error"]) == bad:
            out.append(Conduit(name=name, from_zone=src.name if src else "",
                               to_zone=dst.name if dst else "",
                               protocols=frozenset(protocols), functions=frozenset(functions),
                               ports=frozenset(ports), description=description,
                               line=line_of(node, "name") or line))
    return out


def _conduit_warnings(c: _Checker, node: LocatedDict, where: str, src: _Zone, dst: _Zone,
                      intra_zone: str) -> None:
    line = line_of(node, "to")
    if src is dst:
        if intra_zone == "allow":
            c.warn(line, f"{where}: a conduit from {src.name!r} to itself has no effect while "
                         "defaults.intra_zone is allow")
        return
    if src.level is not None and dst.level is not None and abs(src.level - dst.level) > 1:
        skipped = range(min(src.level, dst.level) + 1, max(src.level, dst.level))
        c.warn(line, f"{where}: level {src.level} ({src.name}) to level {dst.level} "
                     f"({dst.name}) skips level{'s' if len(skipped) > 1 else ''} "
                     f"{', '.join(map(str, skipped))}; the Purdue model wants traffic to pass "
                     "through each level or a DMZ")
    if src.sl is not None and dst.sl is not None and src.sl < dst.sl:
        c.warn(line, f"{where}: {src.name!r} (SL-T {src.sl}) reaches into {dst.name!r} (SL-T "
                     f"{dst.sl}); the conduit must provide the countermeasures of SL "
                     f"{dst.sl} (IEC 62443-3-2 ZCR 5)")


def _jump_hosts(c: _Checker, doc: LocatedDict, zones: dict[str, _Zone]) -> list[str]:
    out: list[str] = []
    node = c.mapping(doc, "remote_access", "remote_access")
    if node is None:
        return out
    c.keys(node, _REMOTE, "remote_access")
    items = c.sequence(node, "jump_hosts", "remote_access.jump_hosts")
    for i, raw in enumerate(items or []):
        line = line_of(items, i)
        try:
            if not isinstance(raw, str):
                raise TypeError
            addr = netaddr.IPAddress(raw)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            c.error(line, f"remote_access.jump_hosts[{i}]: {raw!r} is not an IP address")
            continue
        if not any(addr in net for z in zones.values() for net, _ in z.nets
                   if net.version == addr.version):
            c.warn(line, f"jump host {raw} is outside every zone: remote access through it "
                         "cannot be matched to a conduit")
        out.append(raw)
    return out


def lint_text(text: str, origin: str) -> list[Finding]:
    """Every error and warning of a policy given as text."""
    try:
        doc = load_yaml(text, origin)
    except ConfigError as exc:
        message = str(exc)
        prefix = f"{origin}:"
        line = 0
        if message.startswith(prefix):
            rest = message[len(prefix):]
            head = rest.split(":", 1)[0]
            line = int(head) if head.isdigit() else 0
            message = rest.split(": ", 1)[1] if ": " in rest else rest
        return [Finding(severity="error", origin=origin, line=line, message=message)]
    findings = _check(doc, origin)[0]
    findings.sort(key=lambda f: (f.line, f.severity != "error"))
    return findings


def lint_policy(path: Path) -> list[Finding]:
    """Every error and warning of the policy file at ``path`` (unreadable: ConfigError)."""
    return lint_text(read_text(path, "policy"), str(path))


def parse_policy(text: str, origin: str = "<policy>") -> Policy:
    """A checked policy; any error raises :class:`ConfigError` listing every error, each as
    ``file:line: message``."""
    doc = load_yaml(text, origin)
    findings, conduits, jump_hosts, defaults = _check(doc, origin)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        errors.sort(key=lambda f: f.line)
        raise ConfigError("\n".join(f"{f.origin}:{f.line}: {f.message}" for f in errors))
    site = parse_site(text, origin)
    return Policy(origin=origin, site=site, conduits=tuple(conduits),
                  jump_hosts=tuple(jump_hosts), intra_zone=defaults.get("intra_zone", "allow"),
                  unknown_zone=defaults.get("unknown_zone", "alert"))


def load_policy(path: Path) -> Policy:
    """Read and check the policy (site) file at ``path``."""
    return parse_policy(read_text(path, "policy"), str(path))

"""``otshield policy firewall``: a policy as an nftables ruleset, for review.

    table inet otshield
      set z1_v4 { ...zone subnets... }              one set per zone and address family
      chain forward (hook forward, policy drop)
        ct state established,related accept          answers of allowed connections
        ct state invalid drop
        ip saddr @zA ip daddr @zA accept            inside a zone (defaults.intra_zone: allow)
        ip saddr @zA ip daddr @zB tcp dport {..} accept    one group of rules per conduit
        counter log prefix "otshield-policy-drop: " drop   the default: counted, logged

Ports come from the decoder registry (each protocol's well-known server ports, TCP and UDP)
or the conduit's own ``ports``. A port filter cannot enforce function classes (read-only
Modbus looks the same as a Modbus write at layer 4): each conduit's rule says so, and an
industrial DPI firewall that parses the protocol is the tool for that. Protocols carried in
Ethernet frames without IP (GOOSE, PROFINET RT) and zones defined only by VLAN cannot be
expressed by addresses; the ruleset says so where they occur.

The output is for an engineer to read, adapt (interfaces, NAT, management access) and test
before loading (``nft -c -f rules.nft`` checks the syntax); it is not applied by otshield.
"""

from __future__ import annotations

import netaddr

from otshield.policy.loader import layer2_protocols
from otshield.policy.model import IMPLICIT_FUNCTIONS, Conduit, Policy

__all__ = ["FIREWALL_FORMATS", "nftables_ruleset", "render_firewall"]

FIREWALL_FORMATS = ("nftables",)
_TABLE = "otshield"
_LOG_PREFIX = "otshield-policy-drop: "
_OT_FUNCTION_NOTE = ("a port filter cannot enforce function classes; use an industrial "
                     "DPI firewall that parses the protocol to allow only these")
_PORTED = ("tcp", "udp", "sctp")


def _text(value: str, limit: int = 100) -> str:
    """Text safe inside an nftables comment string or a ``#`` comment line."""
    cleaned = "".join(ch if ch.isprintable() and ch not in '"\\' else " " for ch in value)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 3] + "..."


def _ports(ports: set[int]) -> str:
    """``{ 502, 7400-7500 }``: consecutive ports as ranges."""
    parts: list[str] = []
    ordered = sorted(ports)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return "{ " + ", ".join(parts) + " }"


class _Sets:
    """Set names per zone and family (``z1_v4``), with their declarations."""

    def __init__(self, policy: Policy) -> None:
        self.names: dict[tuple[str, int], str] = {}
        self.declarations: list[str] = []
        self.vlan_only: list[str] = []
        for i, zone in enumerate(policy.zones, start=1):
            by_family: dict[int, list[netaddr.IPNetwork]] = {}
            for subnet in zone.subnets:
                net = netaddr.IPNetwork(subnet).cidr
                by_family.setdefault(net.version, []).append(net)
            if not by_family:
                self.vlan_only.append(zone.name)
            for version, nets in sorted(by_family.items()):
                name = f"z{i}_v{version}"
                self.names[(zone.name, version)] = name
                about = [f"level {zone.level}" if zone.level is not None else "",
                         f"SL-T {zone.security_level_target}"
                         if zone.security_level_target is not None else ""]
                detail = ", ".join(a for a in about if a)
                comment = _text(f"zone {zone.name}" + (f" ({detail})" if detail else ""))
                elements = ", ".join(str(n) for n in netaddr.cidr_merge(nets))
                self.declarations.append(
                    f"\tset {name} {{\n"
                    f"\t\ttype {'ipv4_addr' if version == 4 else 'ipv6_addr'}\n"
                    "\t\tflags interval\n"
                    f"\t\tcomment \"{comment}\"\n"
                    f"\t\telements = {{ {elements} }}\n"
                    "\t}\n")

    def pairs(self, src: str, dst: str) -> list[tuple[str, str, str]]:
        """(address keyword, source set, destination set) per family both zones have."""
        out = []
        for version, keyword in ((4, "ip"), (6, "ip6")):
            a, b = self.names.get((src, version)), self.names.get((dst, version))
            if a and b:
                out.append((keyword, a, b))
        return out


def _conduit_rules(conduit: Conduit, sets: _Sets, ports_of: dict[str, dict[str, set[int]]],
                   layer2: frozenset[str]) -> list[str]:
    """The comment block and accept rules of one conduit."""
    lines = [f"# conduit {_text(conduit.name)}: {_text(conduit.from_zone)} -> "
             f"{_text(conduit.to_zone)}"]
    if conduit.description:
        lines.append(f"#   {_text(conduit.description, 200)}")
    by_transport: dict[str, set[int]] = {}
    l4protos: set[str] = set()
    accept_all = False
    notes: list[str] = []
    for proto in sorted(conduit.protocols):
        transport, _, port = proto.partition("/")
        if proto == "any":
            accept_all = True
        elif proto in layer2:
            notes.append(f"{proto} is not IP traffic: segment it by VLAN, it cannot be "
                         "filtered here")
        elif transport in _PORTED and port.isdigit():
            wanted = {int(port)}
            if conduit.ports:
                wanted &= conduit.ports
            if wanted:
                by_transport.setdefault(transport, set()).update(wanted)
            else:
                notes.append(f"{proto} is outside the conduit's ports: not allowed")
        elif proto in ports_of:
            for transport, default in sorted(ports_of[proto].items()):
                chosen = set(conduit.ports) if conduit.ports else default
                by_transport.setdefault(transport, set()).update(chosen)
            if not ports_of[proto]:
                notes.append(f"{proto} has no well-known port: add `ports` to the conduit")
        elif conduit.ports:
            notes.append(f"{proto} has no ports, but the conduit limits ports: not allowed")
        else:
            l4protos.add(proto)
    functions = sorted(conduit.functions - IMPLICIT_FUNCTIONS)
    ot = [p for p in conduit.protocols if p in ports_of and p not in _IT]
    if ot:
        lines.append(f"#   function classes allowed: {', '.join(functions) or 'none'}; "
                     f"{_OT_FUNCTION_NOTE}")
    lines.extend(f"#   {_text(n, 200)}" for n in notes)
    pairs = sets.pairs(conduit.from_zone, conduit.to_zone)
    if not pairs:
        lines.append("#   no rule: a zone of this conduit has no subnets of a common address "
                     "family (VLAN-only zones need interface rules)")
        return lines
    tag = f'comment "{_text("conduit " + conduit.name)}"'
    for keyword, src, dst in pairs:
        head = f"{keyword} saddr @{src} {keyword} daddr @{dst}"
        if accept_all:
            lines.append(f"{head} accept {tag}")
            continue
        for transport, ports in sorted(by_transport.items()):
            lines.append(f"{head} {transport} dport {_ports(ports)} accept {tag}")
        for proto in sorted(l4protos):
            names = {"icmp": "icmp" if keyword == "ip" else "ipv6-icmp"}
            l4 = names.get(proto, proto)
            if proto == "ipv6-icmp" and keyword == "ip":
                continue
            lines.append(f"{head} meta l4proto {l4} accept {tag}")
    return lines


_IT = frozenset({"dns", "http", "tls", "ssh", "smb", "rdp", "dhcp", "ntp", "snmp", "telnet",
                 "ftp", "netbios"})


def nftables_ruleset(policy: Policy) -> str:
    """The policy as an ``nft -f`` script (see the module docstring)."""
    from otshield.protocols.registry import load_registry

    ports_of: dict[str, dict[str, set[int]]] = {}
    for spec in load_registry().specs:
        entry: dict[str, set[int]] = {}
        if spec.tcp_ports:
            entry["tcp"] = set(spec.tcp_ports)
        if spec.udp_ports:
            entry["udp"] = set(spec.udp_ports)
        ports_of[spec.name] = entry
    sets = _Sets(policy)
    layer2 = layer2_protocols()
    rules: list[str] = [
        "# answers of allowed connections",
        "ct state established,related accept",
        "ct state invalid drop",
    ]
    if policy.intra_zone == "allow":
        rules.append("# inside each zone (defaults.intra_zone: allow); usually switched, "
                     "not routed, but kept for zones spanning several subnets")
        for zone in policy.zones:
            for keyword, src, dst in sets.pairs(zone.name, zone.name):
                rules.append(f"{keyword} saddr @{src} {keyword} daddr @{dst} accept "
                             f'comment "{_text("inside zone " + zone.name)}"')
    for conduit in policy.conduits:
        rules.extend(_conduit_rules(conduit, sets, ports_of, layer2))
    rules.append("# everything else: counted, logged and dropped")
    rules.append(f'counter log prefix "{_LOG_PREFIX}" drop')
    header = [
        "#!/usr/sbin/nft -f",
        f"# nftables rules generated by `otshield policy firewall` from {_text(policy.origin)}",
        "# FOR REVIEW: adapt interfaces, NAT and management access, check with",
        "# `nft -c -f FILE`, test on a non-production firewall first.",
        "# Zones become address sets; each conduit allows its protocols' server ports from",
        "# the client zone to the server zone; everything else between zones is dropped.",
        "# Function classes (read/write/program...) cannot be enforced by a port filter.",
    ]
    if sets.vlan_only:
        header.append("# Zones without subnets (VLAN-only), not in these rules: "
                      + _text(", ".join(sets.vlan_only), 300))
    body = "".join(sets.declarations)
    body += ("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n"
             + "".join(f"\t\t{line}\n" for line in rules) + "\t}\n")
    # flush first, so loading the file twice replaces the table instead of adding to it
    return ("\n".join(header) + f"\n\ntable inet {_TABLE}\ndelete table inet {_TABLE}\n\n"
            f"table inet {_TABLE} {{\n{body}}}\n")


def render_firewall(policy: Policy, fmt: str = "nftables") -> str:
    if fmt != "nftables":
        raise ValueError(f"unknown firewall format {fmt!r}")
    return nftables_ruleset(policy)

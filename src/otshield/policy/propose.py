"""``otshield policy propose``: a zones-and-conduits policy written from observed traffic.

The captures are decoded once, building the inventory (for Purdue levels) and recording every
flow the way the policy detector sees it (:mod:`otshield.policy.watch`): client, server,
protocol, and the function classes the client used. Then:

* zones: those of the site file when one is given; every address it does not place gets a
  proposed zone, one per subnet (/24, IPv6 /64) and Purdue level as the inventory proposes
  them (a subnet mixing levels is split by level, its addresses listed one by one, since a
  zone is a set of addresses); public addresses go to one ``internet`` zone, listed;
* conduits: one per zone pair and set of function classes seen, listing the protocols
  (decoder names, ``tcp/PORT`` for traffic no decoder recognised), each with a comment
  saying how many flows and requests support it.

The result is what the network *did*, not what it *should* do: review it, remove what is not
needed, then use it. It always loads and checks without errors, and checking the same
captures against it reports no violations (tested).
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import netaddr

from otshield.config import Settings
from otshield.detect.context import AssetContext
from otshield.events import Event
from otshield.inventory.site import LoadedSite, parse_site
from otshield.policy.loader import load_policy, parse_policy
from otshield.policy.watch import FlowState, FlowWatcher, endpoint_zones, scope
from otshield.yamlsource import LocatedDict, read_yaml

__all__ = ["Proposal", "propose_policy"]

_MAX_OBSERVATIONS = 500_000
"""Distinct (client, server, protocol, port) combinations kept; a scan over every port of a
/16 must not exhaust memory. Past it, new combinations are counted as dropped."""
_MAX_HOST_ENTRIES = 512
"""Addresses listed one by one in a zone before they are summarised into wider blocks."""


class _Observation:
    __slots__ = ("classes", "flows")

    def __init__(self) -> None:
        self.flows = 0
        self.classes: Counter[str] = Counter()


_Key = tuple[str, str, str, int | None]
"""(client, server, protocol label, VLAN)."""


class _Recorder(FlowWatcher):
    """Records every flow and the function classes its client used."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[_Key, _Observation] = {}
        self.dropped = 0

    def decide(self, event: Event, client: str, server: str, port: int, transport: str,
               protos: frozenset[str], label: str) -> FlowState:
        key = (client, server, label, getattr(event, "vlan", None))
        obs = self.seen.get(key)
        if obs is None:
            if len(self.seen) >= _MAX_OBSERVATIONS:
                self.dropped += 1
                return FlowState(client, None)
            obs = self.seen[key] = _Observation()
        obs.flows += 1
        return FlowState(client, frozenset(), record=obs)

    def on_function(self, event: Any, state: FlowState, function_class: str) -> None:
        state.record.classes[function_class] += 1


class Proposal(msgspec.Struct, kw_only=True):
    """A proposed policy and how it was made."""

    text: str
    zones: int = 0
    proposed_zones: int = 0
    conduits: int = 0
    flows: int = 0
    packets: int = 0
    problems: list[str] = msgspec.field(default_factory=list)


class _Zone(msgspec.Struct, kw_only=True):
    name: str
    level: int | None = None
    subnets: list[str] = msgspec.field(default_factory=list)
    comment: str = ""


def _q(value: object) -> str:
    """A YAML scalar (JSON strings are valid YAML double-quoted scalars)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _flow_list(values: Sequence[object]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _comment(text: str) -> str:
    """Text safe on one comment line."""
    return " ".join(text.split())


def propose_policy(paths: Sequence[Path], site_path: Path | None = None,
                   settings: Settings | None = None) -> Proposal:
    """Decode ``paths`` and write a policy for what they show (see the module docstring)."""
    from otshield.engine import Engine, feed_captures
    from otshield.inventory import InventoryBuilder

    site: LoadedSite | None = None
    raw: LocatedDict | None = None
    if site_path is not None:
        site = load_policy(site_path).site  # checked first: errors name file and line
        doc = read_yaml(site_path, "site file")
        raw = doc if isinstance(doc, LocatedDict) else None
    builder = InventoryBuilder()
    recorder = _Recorder()
    observe = recorder.observe

    def sink(event: Event) -> None:
        builder(event)
        observe(event)

    engine = Engine(sink, settings or Settings())
    problems = feed_captures(engine, paths)
    engine.finish()
    recorder.finish()
    if recorder.dropped:
        problems.append(f"{recorder.dropped} flows beyond {_MAX_OBSERVATIONS:,} distinct "
                        "client/server/protocol combinations were left out")
    snapshot = builder.snapshot(site)
    levels = {ip: a.purdue_level for a in snapshot.assets for ip in a.ips}
    text, counts = _write(recorder, site, raw, levels, [str(p) for p in paths])
    policy = parse_policy(text, "<proposed policy>")  # a failure here is a bug, not bad input
    return Proposal(text=text, zones=len(policy.zones), proposed_zones=counts[0],
                    conduits=len(policy.conduits), flows=recorder.flows_checked,
                    packets=engine.stats.packets, problems=problems)


def _write(recorder: _Recorder, site: LoadedSite | None, raw: LocatedDict | None,
           levels: dict[str, int | None], captures: list[str]) -> tuple[str, tuple[int]]:
    site_ctx = AssetContext(site)
    clients = {k[0] for k in recorder.seen}
    unzoned: set[str] = set()
    for client, server, _, vlan in recorder.seen:
        if scope(client) != "unicast":
            continue  # a local source: the detector does not place the flow either
        if site_ctx.zone(client, vlan) is None:
            unzoned.add(client)
        # a .255 address that never spoke is a directed broadcast, not a host
        if scope(server) == "unicast" and site_ctx.zone(server, vlan) is None and not (
                server.endswith(".255") and server not in clients):
            unzoned.add(server)
    taken = [net for net, _ in site[1]] if site else []
    existing = {z.name for z in site[0].zones} if site else set()
    proposed = _propose_zones(unzoned, levels, taken, existing)
    site_zones = site[0].zones if site else []
    zone_lines = [_zone_text(z.name, z.level, z.security_level_target, z.subnets, z.vlans,
                             z.description, "") for z in site_zones]
    zone_lines += [_zone_text(z.name, z.level, None, z.subnets, [], "", z.comment)
                   for z in proposed]
    head = _header(captures, site is not None)
    sections = _site_sections(raw)
    zones_text = "zones:\n" + "".join(zone_lines) if zone_lines else "zones: []\n"
    placed = parse_site(sections + zones_text, "<proposed zones>")
    intra_check = bool(raw and isinstance(raw.get("defaults"), dict)
                       and raw["defaults"].get("intra_zone") == "check")
    conduits = _conduits(recorder, AssetContext(placed), intra_check)
    body = head + sections + zones_text + (
        "conduits:\n" + "".join(conduits) if conduits else "conduits: []\n")
    return body, (len(proposed),)


def _header(captures: list[str], with_site: bool) -> str:
    shown = ", ".join(Path(c).name for c in captures[:5]) + (
        f" and {len(captures) - 5} more" if len(captures) > 5 else "")
    lines = [
        "# Zones-and-conduits policy proposed by `otshield policy propose`",
        f"# from {_comment(shown)}.",
        "# It describes what the network DID during the capture, not what it SHOULD do:",
        "# review every conduit, remove what is not needed, tighten function classes,",
        "# then check it with `otshield policy check` and use it with `otshield analyze --site`.",
    ]
    if with_site:
        lines.append("# Zones, assets and remote access come from the site file; zones marked")
        lines.append("# 'proposed' hold addresses the site file did not place. Conduits already in")
        lines.append("# the site file are replaced by the observed ones.")
    return "\n".join(lines) + "\n\n"


def _site_sections(raw: LocatedDict | None) -> str:
    """The site file's name, asset overrides, remote access and defaults, as written."""
    if raw is None:
        return ""
    import yaml

    out = ""
    for key in ("site", "assets", "remote_access", "defaults"):
        if key in raw and raw[key] not in (None, {}, []):
            plain = json.loads(json.dumps({key: raw[key]}, default=str))
            out += yaml.safe_dump(plain, sort_keys=False, allow_unicode=True,
                                  default_flow_style=False, width=100)
    return out


def _zone_text(name: str, level: int | None, sl: int | None, subnets: list[str],
               vlans: list[int], description: str, comment: str) -> str:
    out = f"  - name: {_q(name)}\n"
    if comment:
        out += "".join(f"    # {_comment(line)}\n" for line in comment.split("\n"))
    if level is not None:
        out += f"    level: {level}\n"
    if sl is not None:
        out += f"    security_level_target: {sl}\n"
    if subnets:
        out += f"    subnets: {_flow_list(subnets)}\n"
    if vlans:
        out += f"    vlans: {_flow_list(vlans)}\n"
    if description:
        out += f"    description: {_q(description)}\n"
    return out


def _block(ip: str) -> netaddr.IPNetwork:
    addr = netaddr.IPAddress(ip)
    return netaddr.IPNetwork(f"{ip}/{24 if addr.version == 4 else 64}").cidr


def _summarised(ips: list[str]) -> list[str]:
    """Addresses as merged CIDR blocks, widened until there are at most
    :data:`_MAX_HOST_ENTRIES` of them."""
    nets = netaddr.cidr_merge([netaddr.IPNetwork(ip) for ip in ips])
    for v4, v6 in ((24, 64), (16, 48), (8, 32)):
        if len(nets) <= _MAX_HOST_ENTRIES:
            break
        nets = netaddr.cidr_merge([
            netaddr.IPNetwork(f"{n.ip}/{v4 if n.version == 4 else v6}").cidr for n in nets])
    return [str(n) for n in nets]


def _overlaps(net: netaddr.IPNetwork, taken: list[netaddr.IPNetwork]) -> bool:
    return any(t.version == net.version and t.first <= net.last and net.first <= t.last
               for t in taken)


def _propose_zones(ips: set[str], levels: dict[str, int | None],
                   taken: list[netaddr.IPNetwork], existing: set[str]) -> list[_Zone]:
    """Zones for the addresses no site zone holds (inventory naming: ``subnet · level``)."""
    public = sorted((ip for ip in ips if ipaddress.ip_address(ip).is_global),
                    key=lambda ip: netaddr.IPAddress(ip).sort_key())
    groups: dict[netaddr.IPNetwork, dict[int | None, list[str]]] = {}
    for ip in ips:
        if ip in public:
            continue
        groups.setdefault(_block(ip), {}).setdefault(levels.get(ip), []).append(ip)
    zones: list[_Zone] = []
    for block in sorted(groups, key=lambda n: n.sort_key()):
        by_level = groups[block]
        mixed = len(by_level) > 1
        inside = _overlaps(block, taken)
        for level, members in sorted(by_level.items(), key=lambda kv: (
                kv[0] if kv[0] is not None else 9)):
            label = f"level {level}" if level is not None else "level unknown"
            why = ""
            if mixed:
                why = (f"proposed: {block} mixes Purdue levels, so its level-"
                       f"{level if level is not None else 'unknown'} addresses are listed")
            elif inside:
                why = f"proposed: {block} overlaps a site zone, so its addresses are listed"
            else:
                why = f"proposed: {len(members)} address{'es' if len(members) > 1 else ''} seen"
            members.sort(key=lambda ip: netaddr.IPAddress(ip).sort_key())
            subnets = _summarised(members) if mixed or inside else [str(block)]
            zones.append(_Zone(name=_unique(f"{block} \u00b7 {label}", existing), level=level,
                               subnets=subnets, comment=why))
    if public:
        zones.append(_Zone(name=_unique("internet", existing), subnets=_summarised(public),
                           comment=f"proposed: {len(public)} public address"
                                   f"{'es' if len(public) > 1 else ''} seen"))
    zones.sort(key=lambda z: (z.level if z.level is not None else 9, z.name))
    return zones


def _unique(name: str, existing: set[str]) -> str:
    out, n = name, 2
    while out in existing:
        out, n = f"{name} ({n})", n + 1
    existing.add(out)
    return out


def _conduits(recorder: _Recorder, zones: AssetContext, intra_check: bool) -> list[str]:
    """Conduit entries: per zone pair, one per set of function classes seen."""
    pairs: dict[tuple[str, str], dict[str, _Observation]] = {}
    for (client, server, label, vlan), obs in recorder.seen.items():
        ends = endpoint_zones(zones, client, server, vlan)
        if ends is None:
            continue
        czone, szone = ends
        if czone is None or szone is None:
            continue  # cannot happen: every address seen was given a zone
        if czone is szone and not intra_check:
            continue
        per_label = pairs.setdefault((czone.name, szone.name), {})
        acc = per_label.get(label)
        if acc is None:
            acc = per_label[label] = _Observation()
        acc.flows += obs.flows
        acc.classes.update(obs.classes)
    out: list[str] = []
    for (src, dst), per_label in sorted(pairs.items()):
        groups: dict[frozenset[str], list[str]] = {}
        for label, acc in per_label.items():
            functions = frozenset(k for k in acc.classes if k != "other")
            groups.setdefault(functions, []).append(label)
        ordered = sorted(groups.items(), key=lambda kv: sorted(kv[1]))
        for functions, labels in ordered:
            labels.sort()
            name = f"{src} -> {dst}"
            if len(ordered) > 1:
                shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
                name += f" ({shown})"
            text = f"  - name: {_q(name)}\n    from: {_q(src)}\n    to: {_q(dst)}\n"
            for label in labels:
                acc = per_label[label]
                requests = sum(acc.classes.values())
                line = f"{label}: {acc.flows} flow{'s' if acc.flows != 1 else ''}"
                if requests:
                    detail = ", ".join(f"{k} {v}" for k, v in sorted(
                        acc.classes.items(), key=lambda kv: (-kv[1], kv[0])))
                    line += f", {requests} request{'s' if requests != 1 else ''} ({detail})"
                text += f"    # {_comment(line)}\n"
            text += f"    protocols: {_flow_list(labels)}\n"
            if functions:
                text += f"    functions: {_flow_list(sorted(functions))}\n"
            else:
                text += "    # no requests with a function class seen: functions stay at the "\
                        "default (read)\n"
            out.append(text)
    return out


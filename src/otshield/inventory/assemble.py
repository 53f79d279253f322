"""From the builder's per-address state to inventory records: routers split from the hosts
they forward for, multi-homed hosts merged, roles completed, the best identity chosen from the
facts, Purdue levels and zones assigned, user overrides applied last.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import TYPE_CHECKING

import msgspec
import netaddr

from otshield.inventory.advisories import Advisory, match_assets
from otshield.inventory.model import (
    AssetRecord,
    ConduitRecord,
    FactRecord,
    InventorySnapshot,
    RoleRecord,
    ZoneRecord,
)
from otshield.inventory.oui import mac_vendor
from otshield.inventory.roles import (
    CONTROL_SERVICES,
    GATEWAY_MIN_IPS,
    IT_SERVICES,
    OT_SERVER_SERVICES,
    ROLE_LEVELS,
)
from otshield.inventory.site import LoadedSite, SiteZone

if TYPE_CHECKING:
    from otshield.inventory.builder import Host, InventoryBuilder

__all__ = ["assemble", "asset_id"]


# Which facts give the display identity, best first.
_NAME_FACTS = ("name", "hostname", "plc_name", "station_name", "ied_name", "netbios_name",
               "fqdn", "device_name")
_PRODUCT_FACTS = ("product", "model", "order_number", "product_code", "device_type")
_VERSION_FACTS = ("version", "firmware", "software_version")
_FIELDBUS_SETUP = ("over pnio_cm", "over profinet_dcp", "over ethercat", "over powerlink")
"""Protocols in which a controller configures its own devices as part of normal start-up."""
_NETWORK_WORDS = re.compile(r"\b(router|switch|firewall|cisco ios|hirschmann|moxa eds|scalance|"
                            r"stratix|junos|fortigate|mikrotik)\b", re.IGNORECASE)


def assemble(b: InventoryBuilder, site: LoadedSite | None,
             advisories: list[Advisory]) -> InventorySnapshot:
    gateways = {mac for mac, ips in b.mac_ips.items() if len(ips) >= GATEWAY_MIN_IPS}
    groups = _merge_groups(b, gateways)
    overrides = dict(b.overrides)
    if site is not None:
        for key, fields in site[0].assets.items():
            overrides.setdefault(asset_id(key), {}).update(
                {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()})
    key_to_id: dict[str, str] = {}
    assets: list[AssetRecord] = []
    for members in groups:
        rec = _asset(members, gateways, b)
        for h in members:
            key_to_id[h.key] = rec.id
            for ip in h.ips:
                key_to_id[f"ip:{ip}"] = rec.id
        assets.append(rec)
    for mac in sorted(gateways):
        key = f"mac:{mac}"
        if key in b.hosts:
            continue  # already an asset of its own (layer-2 traffic); role added below
        vendor = mac_vendor(mac)
        assets.append(AssetRecord(
            id=key, ips=[], macs=[mac], name=mac,
            roles=[_inferred("network_device", [
                f"{len(b.mac_ips[mac])} IP addresses seen behind this MAC (routed traffic)"])],
            facts=[FactRecord(name="vendor", value=vendor, source="oui", first_seen=0.0,
                              last_seen=0.0)] if vendor else []))
    assets = [_finish(a, overrides.get(a.id, {}), site, gateways) for a in assets]
    conduits = _conduits(b, key_to_id)
    zones = _zones(assets, site)
    zone_of = {aid: z.name for z in zones for aid in z.assets}
    exposure = match_assets(assets, advisories) if advisories else {}
    assets = [msgspec.structs.replace(a, zone=a.zone or zone_of.get(a.id, ""),
                                      advisories=exposure.get(a.id, [])) for a in assets]
    assets.sort(key=_sort_key)
    return InventorySnapshot(assets=assets, conduits=conduits, zones=zones,
                             overrides=b.overrides, captures=list(b.captures))


def asset_id(key: str) -> str:
    """The asset id an IP, a MAC or an id names (``10.0.0.5`` -> ``ip:10.0.0.5``)."""
    if key.startswith(("ip:", "mac:")):
        return key
    return f"mac:{key.lower()}" if re.fullmatch(r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", key) \
        else f"ip:{key}"


def _merge_groups(b: InventoryBuilder, gateways: set[str]) -> list[list[Host]]:
    """Hosts grouped into devices: IPs sharing a non-gateway MAC are one device."""
    seen: dict[int, Host] = {}
    for h in b.hosts.values():
        seen.setdefault(id(h), h)  # restored aliases point at one Host
    hosts = sorted(seen.values(), key=lambda h: h.key)
    parent: dict[str, str] = {h.key: h.key for h in hosts}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[str, str] = {}
    for h in hosts:
        if not h.key.startswith("ip:"):
            continue
        for mac in h.macs:
            if mac in gateways and not _arp_confirmed(b, h, mac):
                continue
            if mac in owner:
                a, c = find(owner[mac]), find(h.key)
                if a != c:
                    parent[max(a, c)] = min(a, c)
            else:
                owner[mac] = h.key
    for h in hosts:  # a device first seen at layer 2 whose MAC later showed up with an IP
        mac = h.key[4:] if h.key.startswith("mac:") else ""
        if mac in owner:
            a, c = find(owner[mac]), find(h.key)
            if a != c:
                # the IP host's key wins: the device is addressed by IP from now on
                parent[c] = a
    groups: dict[str, list[Host]] = {}
    for h in hosts:
        groups.setdefault(find(h.key), []).append(h)
    return list(groups.values())


def _arp_confirmed(b: InventoryBuilder, h: Host, mac: str) -> bool:
    return any((ip, mac) in b.arp_pairs for ip in h.ips)


def _asset(members: list[Host], gateways: set[str], b: InventoryBuilder) -> AssetRecord:
    first = members[0]
    ips = sorted({ip for h in members for ip in h.ips}, key=_ip_sort)
    macs = sorted({m for h in members for m in h.macs
                   if m not in gateways or _arp_confirmed(b, h, m)})
    facts: dict[tuple[str, str, str], list[float]] = {}
    roles: dict[str, RoleRecord] = {}
    served: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for h in members:
        for k, row in h.facts.items():
            old = facts.get(k)
            facts[k] = row if old is None else [min(old[0], row[0]), max(old[1], row[1]),
                                                 old[2], old[3] + row[3]]
        for role, rec in h.roles.items():
            roles.setdefault(role, rec)
        served.update(h.served)
        used.update(h.used)
    fact_records = [FactRecord(name=n, value=v, source=s, first_seen=r[0], last_seen=r[1],
                               frame=int(r[2]), count=int(r[3]))
                    for (n, v, s), r in sorted(facts.items(), key=lambda kv: (kv[0][0], kv[1][0]))]
    return AssetRecord(
        id=first.key, ips=ips, macs=macs, vlans=sorted({v for h in members for v in h.vlans}),
        facts=fact_records, roles=list(roles.values()),
        protocols_served=dict(served.most_common()), protocols_used=dict(used.most_common()),
        first_seen=min(h.first_seen for h in members),
        last_seen=max(h.last_seen for h in members),
        packets=sum(h.packets for h in members), bytes=sum(h.bytes for h in members))


def _inferred(role: str, evidence: list[str]) -> RoleRecord:
    return RoleRecord(role=role, source="inferred", evidence=evidence)


def _best(facts: list[FactRecord], names: tuple[str, ...]) -> str:
    """The value of the first fact name present, preferring protocol facts over the OUI and
    then the most often seen, latest value."""
    for name in names:
        cands = [f for f in facts if f.name == name]
        if cands:
            return max(cands, key=lambda f: (f.source == "override", f.source != "oui",
                                             f.last_seen, f.count)).value
    return ""


def _finish(a: AssetRecord, override: dict[str, str], site: LoadedSite | None,
            gateways: set[str]) -> AssetRecord:
    facts = list(a.facts)
    for name, value in override.items():
        if name not in ("role", "roles", "purdue_level", "zone"):
            facts.append(FactRecord(name=name, value=value, source="override", first_seen=0.0,
                                    last_seen=0.0))
    roles = {r.role: r for r in a.roles}
    _behaviour_roles(a, roles, facts, gateways)
    if "role" in override or "roles" in override:
        wanted = [r.strip() for r in (override.get("roles") or override["role"]).split(",")]
        roles = {r: RoleRecord(role=r, evidence=["set by a user"], source="override")
                 for r in wanted if r}
    vendor = _best(facts, ("vendor",))
    product = _best(facts, _PRODUCT_FACTS)
    version = _best(facts, _VERSION_FACTS)
    name = _best(facts, _NAME_FACTS) or (a.ips[0] if a.ips else a.macs[0] if a.macs else a.id)
    level, reason = _level(a, roles, override, site)
    return AssetRecord(
        id=a.id, ips=a.ips, macs=a.macs, vlans=a.vlans, name=name, vendor=vendor, product=product,
        version=version, cpe=_cpe(vendor, product, version), roles=list(roles.values()),
        purdue_level=level, level_reason=reason, zone=override.get("zone", ""), facts=facts,
        protocols_served=a.protocols_served, protocols_used=a.protocols_used,
        first_seen=a.first_seen, last_seen=a.last_seen, packets=a.packets, bytes=a.bytes)


def _behaviour_roles(a: AssetRecord, roles: dict[str, RoleRecord], facts: list[FactRecord],
                     gateways: set[str]) -> None:
    """Roles that need the whole picture: IT host, external, network device; and an
    engineering workstation that reads one controller often is not an HMI for that."""
    hmi = roles.get("hmi")
    if hmi is not None and "engineering_workstation" in roles and all(
            "reads of" in line for line in hmi.evidence):
        del roles["hmi"]
    ews = roles.get("engineering_workstation")
    if ews is not None and "controller" in roles and all(
            line.endswith(_FIELDBUS_SETUP) for line in ews.evidence):
        # an IO controller parameterising its devices (DCP Set, record writes) at start-up
        del roles["engineering_workstation"]
    if a.ips and all(not _private_ip(ip) for ip in a.ips):
        roles.setdefault("external", _inferred("external", [
            f"{a.ips[0]} is a public address"]))
    for mac in a.macs:
        if mac in gateways:
            roles.setdefault("network_device", _inferred("network_device", [
                f"routes traffic of several IP addresses through {mac}"]))
    for f in facts:
        if f.name == "description" and _NETWORK_WORDS.search(f.value):
            roles.setdefault("network_device", _inferred("network_device", [
                f"describes itself as {f.value[:60]!r} ({f.source})"]))
    ot = set(CONTROL_SERVICES) | set(OT_SERVER_SERVICES)
    speaks_ot = any(p in ot for p in (*a.protocols_served, *a.protocols_used))
    it_used = [p for p in a.protocols_used if p in IT_SERVICES]
    private = not a.ips or any(_private_ip(ip) for ip in a.ips)
    if not speaks_ot and it_used and private and not roles.keys() - {"it_server", "external"}:
        roles.setdefault("it_host", _inferred("it_host", [
            f"uses {', '.join(sorted(it_used)[:4])} and no industrial protocol"]))


def _level(a: AssetRecord, roles: dict[str, RoleRecord], override: dict[str, str],
           site: LoadedSite | None) -> tuple[int | None, str]:
    if "purdue_level" in override:
        try:
            level = int(override["purdue_level"])
        except ValueError:
            level = -1
        if 0 <= level <= 5:
            return level, "set by a user"
    if "external" in roles:
        return 5, "public address"  # whatever it serves, it is outside the plant
    implied = [(ROLE_LEVELS[r], r) for r in roles if r in ROLE_LEVELS]
    if implied:
        level, role = min(implied)
        return level, f"role {role}"
    zone = _site_zone(a, site)
    if zone is not None and zone.level is not None:
        return zone.level, f"site zone {zone.name}"
    return None, "no behaviour that implies a level"


def _site_zone(a: AssetRecord, site: LoadedSite | None) -> SiteZone | None:
    """The site zone of an asset: the most specific subnet holding one of its IPs, else a zone
    listing one of its VLANs (devices seen only at layer 2 have no IP)."""
    if site is None:
        return None
    for ip in a.ips:
        for net, zone in site[1]:
            if _in(ip, net):
                return zone
    for zone in site[0].zones:
        if set(zone.vlans) & set(a.vlans):
            return zone
    return None


def _in(ip: str, net: netaddr.IPNetwork) -> bool:
    try:
        return netaddr.IPAddress(ip) in net
    except (netaddr.AddrFormatError, ValueError):
        return False


def _zones(assets: list[AssetRecord], site: LoadedSite | None) -> list[ZoneRecord]:
    """Zones of the site file with their assets, or zones proposed from the traffic: one per
    subnet and Purdue level (a subnet mixing levels is a flat network; each level is proposed
    as its own zone, which is the segmentation the standard asks for)."""
    members: dict[str, list[str]] = {}
    if site is not None:
        for a in assets:
            zone = _site_zone(a, site)
            if zone is not None:
                members.setdefault(zone.name, []).append(a.id)
        out = [ZoneRecord(name=z.name, purdue_level=z.level,
                          security_level_target=z.security_level_target, subnets=z.subnets,
                          vlans=z.vlans, source="site", assets=members.get(z.name, []))
               for z in site[0].zones]
        unzoned = [a for a in assets if _site_zone(a, site) is None]
        return out + _propose(unzoned, suffix=" (not in the site file)")
    return _propose(assets)


def _propose(assets: list[AssetRecord], suffix: str = "") -> list[ZoneRecord]:
    groups: dict[tuple[str, int | None], list[str]] = {}
    for a in assets:
        groups.setdefault((_subnet(a), a.purdue_level), []).append(a.id)
    zones = []
    for (subnet, level), ids in sorted(groups.items(), key=lambda kv: (
            kv[0][1] if kv[0][1] is not None else 9, kv[0][0])):
        label = f"level {level}" if level is not None else "level unknown"
        zones.append(ZoneRecord(name=f"{subnet} \u00b7 {label}{suffix}", purdue_level=level,
                                subnets=[subnet] if "/" in subnet else [], source="proposed",
                                assets=ids))
    return zones


def _subnet(a: AssetRecord) -> str:
    for ip in a.ips:
        addr = ipaddress.ip_address(ip)
        plen = 24 if addr.version == 4 else 64
        if not _private_ip(ip):
            return "internet"
        return str(ipaddress.ip_network(f"{ip}/{plen}", strict=False))
    return "layer 2"


def _conduits(b: InventoryBuilder, key_to_id: dict[str, str]) -> list[ConduitRecord]:
    merged: dict[tuple[str, str, str], ConduitRecord] = {}
    for (ck, sk, proto), c in b.conduits.items():
        client, server = key_to_id.get(ck, ck), key_to_id.get(sk, sk)
        if client == server:
            continue
        key = (client, server, proto)
        old = merged.get(key)
        classes = Counter(c.classes)
        if old is not None:
            classes.update(old.function_classes)
        merged[key] = ConduitRecord(
            client=client, server=server, protocol=proto, transport=c.transport, port=c.port,
            flows=c.flows + (old.flows if old else 0),
            packets=c.packets + (old.packets if old else 0),
            bytes=c.bytes + (old.bytes if old else 0),
            function_classes=dict(classes.most_common()),
            first_seen=min(c.first_seen, old.first_seen) if old else c.first_seen,
            last_seen=max(c.last_seen, old.last_seen) if old else c.last_seen)
    return sorted(merged.values(), key=lambda c: (-c.packets, c.client, c.server, c.protocol))


_CPE_UNSAFE = re.compile(r"[^a-z0-9._\-~]+")


def _cpe(vendor: str, product: str, version: str) -> str:
    if not vendor or not product:
        return ""

    def part(s: str) -> str:
        return _CPE_UNSAFE.sub("_", s.strip().lower()).strip("_") or "*"

    return f"cpe:2.3:h:{part(vendor)}:{part(product)}:{part(version) if version else '*'}"


def _private_ip(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return True
    return not addr.is_global


def _ip_sort(ip: str) -> tuple[int, int]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (addr.version, int(addr))


def _sort_key(a: AssetRecord) -> tuple[int, tuple[int, int], str]:
    level = a.purdue_level if a.purdue_level is not None else 9
    return (level, _ip_sort(a.ips[0]) if a.ips else (9, 0), a.id)

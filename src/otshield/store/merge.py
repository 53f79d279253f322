"""Merging one capture's inventory into the stored one, for the console's uploads: captures
analysed one at a time add up to one inventory, as ``otshield inventory --state`` does for the
command line.

Rules, record by record (the identities are the inventory's own: asset id, conduit client +
server + protocol, zone name):

- an asset, conduit or zone seen only on one side is kept as it is;
- counters add up (packets, bytes, flows, fact counts, protocol flows, function classes) and
  time ranges widen (first seen: the earlier; last seen: the later);
- lists are unions in first-seen order (addresses, VLANs, roles with their evidence, facts by
  name + value + source, advisories by advisory + CVE);
- single values (name, vendor, product, version, level, zone) take the newer capture's value
  when it has one, else keep the stored one: the newer analysis saw the site file in force;
- overrides: the newer site file's values win; captures: appended in order.

Limitation, stated plainly: roles are inferred per capture and unioned here, so a role whose
evidence is split across two captures (a few polls in each, under the threshold in both) is
not inferred, where one analysis of both captures together would infer it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

import msgspec

from otshield.inventory.model import (
    AssetRecord,
    ConduitRecord,
    FactRecord,
    InventorySnapshot,
    RoleRecord,
    ZoneRecord,
)

__all__ = ["merge_inventory"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def _first(a: float, b: float) -> float:
    """The earlier of two times, where 0 means unknown."""
    return min(a, b) if a and b else a or b


def _union(old: Iterable[T], new: Iterable[T]) -> list[T]:
    out = list(old)
    out.extend(x for x in new if x not in out)
    return out


def _sum(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def _by_key(old: Iterable[T], new: Iterable[T], key: Callable[[T], K],
            merge: Callable[[T, T], T]) -> list[T]:
    """Records of both sides by ``key``, merged where both have one; old order first."""
    out: dict[K, T] = {key(x): x for x in old}
    for item in new:
        k = key(item)
        out[k] = merge(out[k], item) if k in out else item
    return list(out.values())


def _fact(o: FactRecord, n: FactRecord) -> FactRecord:
    earlier = o if _first(o.first_seen, n.first_seen) == o.first_seen else n
    return msgspec.structs.replace(
        o, first_seen=_first(o.first_seen, n.first_seen),
        last_seen=max(o.last_seen, n.last_seen), count=o.count + n.count, frame=earlier.frame)


def _role(o: RoleRecord, n: RoleRecord) -> RoleRecord:
    source = "override" if "override" in (o.source, n.source) else n.source
    return msgspec.structs.replace(o, evidence=_union(o.evidence, n.evidence), source=source,
                                   since=_first(o.since, n.since))


def _asset(o: AssetRecord, n: AssetRecord) -> AssetRecord:
    return msgspec.structs.replace(
        o, ips=_union(o.ips, n.ips), macs=_union(o.macs, n.macs),
        vlans=sorted(set(o.vlans) | set(n.vlans)), name=n.name or o.name,
        vendor=n.vendor or o.vendor, product=n.product or o.product,
        version=n.version or o.version, cpe=n.cpe or o.cpe,
        roles=_by_key(o.roles, n.roles, lambda r: r.role, _role),
        purdue_level=n.purdue_level if n.purdue_level is not None else o.purdue_level,
        level_reason=n.level_reason if n.purdue_level is not None else o.level_reason,
        zone=n.zone or o.zone,
        facts=_by_key(o.facts, n.facts, lambda f: (f.name, f.value, f.source), _fact),
        advisories=_by_key(o.advisories, n.advisories, lambda a: (a.advisory, a.cve),
                           lambda _o, new: new),
        protocols_served=_sum(o.protocols_served, n.protocols_served),
        protocols_used=_sum(o.protocols_used, n.protocols_used),
        first_seen=_first(o.first_seen, n.first_seen), last_seen=max(o.last_seen, n.last_seen),
        packets=o.packets + n.packets, bytes=o.bytes + n.bytes)


def _conduit(o: ConduitRecord, n: ConduitRecord) -> ConduitRecord:
    return msgspec.structs.replace(
        n, flows=o.flows + n.flows, packets=o.packets + n.packets, bytes=o.bytes + n.bytes,
        function_classes=_sum(o.function_classes, n.function_classes),
        first_seen=_first(o.first_seen, n.first_seen), last_seen=max(o.last_seen, n.last_seen))


def _zone(o: ZoneRecord, n: ZoneRecord) -> ZoneRecord:
    return msgspec.structs.replace(n, assets=_union(o.assets, n.assets))


def merge_inventory(old: InventorySnapshot | None, new: InventorySnapshot) -> InventorySnapshot:
    """``new`` (one capture's inventory) added to ``old`` (the stored one)."""
    if old is None:
        return new
    overrides = {asset: dict(fields) for asset, fields in old.overrides.items()}
    for asset, fields in new.overrides.items():
        overrides.setdefault(asset, {}).update(fields)
    assets = _by_key(old.assets, new.assets, lambda a: a.id, _asset)
    return InventorySnapshot(
        version=new.version, assets=sorted(assets, key=lambda a: a.id),
        conduits=_by_key(old.conduits, new.conduits,
                         lambda c: (c.client, c.server, c.protocol), _conduit),
        zones=_by_key(old.zones, new.zones, lambda z: z.name, _zone),
        overrides=overrides, captures=[*old.captures, *new.captures])

"""What detection knows about an address: its zone and Purdue level (site file), its roles (the
live inventory) and whether it is tagged safety-critical.

Rules ask "is the source in an IT zone?", "is the destination a controller?"; this module
answers from the site file's zones (subnets, VLANs, Purdue level), the per-asset overrides in
the same file (``role``, ``purdue_level``, ``zone``, ``safety``, ``name``) and the roles the
:class:`~otshield.inventory.InventoryBuilder` has inferred so far. Zone look-ups are cached
(subnets do not move); roles are read live, because they are learnt while the capture is read.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import netaddr

from otshield.detect.alert import AssetRef
from otshield.inventory.site import LoadedSite, SiteZone

if TYPE_CHECKING:
    from otshield.inventory.builder import InventoryBuilder

__all__ = ["IT_LEVELS", "OT_LEVELS", "AssetContext"]

OT_LEVELS = frozenset({0, 1, 2, 3})
"""Purdue levels of the OT side (3 = site operations; 3.5 DMZs are modelled as level 3 zones
with their own name)."""
IT_LEVELS = frozenset({4, 5})

_TRUE = frozenset({"true", "yes", "1", "on"})
_ROLE_CACHE = 1 << 16
_NO_ROLES: frozenset[str] = frozenset()


class AssetContext:
    """Answers zone/level/role questions about addresses for rules and other detectors."""

    def __init__(self, site: LoadedSite | None = None,
                 inventory: InventoryBuilder | None = None) -> None:
        self.site = site
        self.inventory = inventory
        self._nets: list[tuple[netaddr.IPNetwork, SiteZone]] = list(site[1]) if site else []
        self._zones_by_name: dict[str, SiteZone] = (
            {z.name: z for z in site[0].zones} if site else {})
        self._vlan_zone: dict[int, SiteZone] = {}
        if site:
            for zone in site[0].zones:
                for vlan in zone.vlans:
                    self._vlan_zone.setdefault(vlan, zone)
        self._overrides: dict[str, dict[str, str]] = {}
        if site:
            for key, fields in site[0].assets.items():
                addr = key.split(":", 1)[1] if key.startswith(("ip:", "mac:")) else key
                self._overrides[addr.lower()] = {k: str(v) for k, v in fields.items()}
        self.declared: dict[str, frozenset[str]] = {}
        """Read only. Address (IP or MAC, lower case as overrides are keyed) -> the roles
        its override declares, for the overrides that declare some (rules ask this of most OT
        events)."""
        for addr, texts in self._overrides.items():
            if "role" in texts or "roles" in texts:
                raw = texts.get("roles") or texts["role"]
                self.declared[addr] = frozenset(r.strip() for r in raw.split(",") if r.strip())
        self._zone_cached = lru_cache(maxsize=1 << 16)(self._zone_uncached)
        self._roles: dict[tuple[str, str], frozenset[str]] = {}
        """(ip, mac) -> roles, valid while the inventory's generation is ``_roles_gen``."""
        self._roles_gen = -1

    @property
    def has_overrides(self) -> bool:
        """Does the site file describe any asset (name, role, zone, level, safety)?"""
        return bool(self._overrides)

    @property
    def places_addresses(self) -> bool:
        """Can :meth:`zone` place any address (subnets or VLANs; overrides aside)?"""
        return bool(self._nets or self._vlan_zone)

    # -- zones -----------------------------------------------------------------------------------
    def _zone_uncached(self, ip: str) -> SiteZone | None:
        override = self._overrides.get(ip)
        if override and override.get("zone") in self._zones_by_name:
            return self._zones_by_name[override["zone"]]
        if not self._nets or not ip:
            return None
        try:
            addr = netaddr.IPAddress(ip)
        except (netaddr.AddrFormatError, ValueError):
            return None
        for net, zone in self._nets:  # most specific first
            if net.version == addr.version and addr in net:
                return zone
        return None

    def zone(self, ip: str, vlan: int | None = None) -> SiteZone | None:
        """The site zone of ``ip`` (or, for layer-2 frames, of ``vlan``); None when the site
        file does not place it."""
        zone = self._zone_cached(ip) if ip else None
        if zone is None and vlan is not None:
            zone = self._vlan_zone.get(vlan)
        return zone

    def zone_name(self, ip: str, vlan: int | None = None) -> str:
        zone = self.zone(ip, vlan)
        return zone.name if zone is not None else ""

    def level(self, ip: str, vlan: int | None = None) -> int | None:
        """Purdue level: an asset override, else its zone's level, else None (unknown)."""
        override = self._overrides.get(ip)
        if override and "purdue_level" in override:
            try:
                return int(override["purdue_level"])
            except ValueError:
                pass
        zone = self.zone(ip, vlan)
        return zone.level if zone is not None else None

    def is_ot(self, ip: str, vlan: int | None = None) -> bool:
        return self.level(ip, vlan) in OT_LEVELS

    def is_it(self, ip: str, vlan: int | None = None) -> bool:
        return self.level(ip, vlan) in IT_LEVELS

    # -- asset facts -----------------------------------------------------------------------------
    def roles(self, ip: str, mac: str = "") -> frozenset[str]:
        """Roles set in the site file (they win) or inferred by the inventory so far.

        Rules ask this for most events; the answer is cached per address until the inventory
        adds a host, a role or a MAC owner (its ``generation`` moves), which is rare once the
        plant's assets have been seen."""
        inv = self.inventory
        gen: int | None = getattr(inv, "generation", None) if inv is not None else 0
        if gen is None:  # an inventory stand-in that does not say when it changes
            return self._roles_uncached(ip, mac)
        cache = self._roles
        if gen != self._roles_gen or len(cache) >= _ROLE_CACHE:
            cache.clear()
            self._roles_gen = gen
        key = (ip, mac)
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._roles_uncached(ip, mac)
        return found

    def declared_roles(self, ip: str, mac: str = "") -> frozenset[str]:
        """Roles the site file gives the address (empty when it gives none): what the plant
        says, as opposed to what the traffic suggests. A rogue host that polls long enough is
        inferred to be an HMI; it is never declared one."""
        override = self._overrides.get(ip) or (self._overrides.get(mac) if mac else None)
        if override is None:
            return _NO_ROLES
        return self.declared.get(ip if self._overrides.get(ip) else mac, _NO_ROLES)

    def _roles_uncached(self, ip: str, mac: str) -> frozenset[str]:
        override = self._overrides.get(ip) or (self._overrides.get(mac) if mac else None)
        if override and ("role" in override or "roles" in override):
            raw = override.get("roles") or override["role"]
            return frozenset(r.strip() for r in raw.split(",") if r.strip())
        inv = self.inventory
        if inv is None:
            return frozenset()
        host = inv.hosts.get(f"ip:{ip}") if ip else None
        if host is None and mac:
            host = inv.hosts.get(inv.mac_owner.get(mac, f"mac:{mac}"))
        return frozenset(host.roles) if host is not None else frozenset()

    def safety(self, ip: str, mac: str = "") -> bool:
        override = self._overrides.get(ip) or (self._overrides.get(mac) if mac else None)
        return bool(override) and str(override.get("safety", "")).lower() in _TRUE  # type: ignore[union-attr]

    def name(self, ip: str, mac: str = "") -> str:
        override = self._overrides.get(ip) or (self._overrides.get(mac) if mac else None)
        return override.get("name", "") if override else ""

    def ref(self, ip: str, mac: str = "", vlan: int | None = None) -> AssetRef:
        """The endpoint as an alert shows it."""
        asset = f"ip:{ip}" if ip else (f"mac:{mac}" if mac else "")
        return AssetRef(ip=ip, mac=mac, asset=asset, name=self.name(ip, mac),
                        zone=self.zone_name(ip, vlan), level=self.level(ip, vlan),
                        roles=tuple(sorted(self.roles(ip, mac))), safety=self.safety(ip, mac))

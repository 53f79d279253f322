"""The site file: zones (subnets and VLANs, each with a Purdue level and an IEC 62443 target
security level) and per-asset overrides, written by the people who know the plant.

    site: Water treatment plant
    zones:
      - name: Enterprise
        level: 4
        security_level_target: 1
        subnets: [10.10.10.0/24]
      - name: Control
        level: 1
        security_level_target: 3
        subnets: [10.10.30.0/24]
        vlans: [30]
    assets:
      10.10.20.30: {role: engineering_workstation, name: EWS-01}
      10.10.30.21: {purdue_level: 1, vendor: Siemens, safety: "true"}
    remote_access:
      jump_hosts: [10.10.10.5]

The same file is the zones-and-conduits policy (:mod:`otshield.policy`): ``conduits``,
``remote_access`` and ``defaults`` are accepted here and checked there (with line numbers).
The designated jump hosts get the role ``jump_host`` (added to their asset override), so
rules can ask whether remote access into OT came through one.

Errors name the file and line (YAML syntax) or the field path (wrong types, unknown keys,
impossible subnets), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import netaddr

from otshield.errors import ConfigError
from otshield.yamlsource import load_yaml, read_text

__all__ = ["JUMP_HOST_ROLE", "LoadedSite", "Site", "SiteZone", "load_site", "parse_site"]


class SiteZone(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    level: int | None = None
    security_level_target: int | None = None
    subnets: list[str] = msgspec.field(default_factory=list)
    vlans: list[int] = msgspec.field(default_factory=list)
    description: str = ""


class Site(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    site: str = ""
    zones: list[SiteZone] = msgspec.field(default_factory=list)
    assets: dict[str, dict[str, str | int | bool]] = msgspec.field(default_factory=dict)
    """Asset (IP, MAC or asset id) -> field -> value: overrides of inferred facts."""
    conduits: list[Any] = msgspec.field(default_factory=list)
    """The policy's allowed zone pairs: read and checked by :mod:`otshield.policy`."""
    remote_access: dict[str, Any] = msgspec.field(default_factory=dict)
    """``jump_hosts``: the designated jump hosts (role ``jump_host``)."""
    defaults: dict[str, Any] = msgspec.field(default_factory=dict)
    """Policy defaults (``intra_zone``, ``unknown_zone``): see :mod:`otshield.policy`."""


LoadedSite = tuple[Site, list[tuple[netaddr.IPNetwork, SiteZone]]]
"""A checked site file with its subnets parsed, most specific first."""


def parse_site(text: str, origin: str = "<site>") -> LoadedSite:
    """Parse and check a site file; returns it with its subnets parsed, most specific first."""
    raw = load_yaml(text, origin)  # a key written twice is an error, not a lost zone
    if raw is None:
        raw = {}
    try:
        site = msgspec.convert(raw, Site, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    nets: list[tuple[netaddr.IPNetwork, SiteZone]] = []
    names: set[str] = set()
    for i, zone in enumerate(site.zones):
        if zone.name in names:
            raise ConfigError(f"{origin}: zones[{i}]: zone {zone.name!r} defined twice")
        names.add(zone.name)
        if zone.level is not None and not 0 <= zone.level <= 5:
            raise ConfigError(f"{origin}: zones[{i}].level: Purdue levels are 0-5, "
                              f"got {zone.level}")
        if zone.security_level_target is not None and not 1 <= zone.security_level_target <= 4:
            raise ConfigError(f"{origin}: zones[{i}].security_level_target: IEC 62443 security "
                              f"levels are 1-4, got {zone.security_level_target}")
        for j, subnet in enumerate(zone.subnets):
            try:
                nets.append((netaddr.IPNetwork(subnet), zone))
            except (netaddr.AddrFormatError, ValueError, TypeError):
                raise ConfigError(f"{origin}: zones[{i}].subnets[{j}]: {subnet!r} is not a "
                                  "subnet") from None
        for j, vlan in enumerate(zone.vlans):
            if not 0 <= vlan <= 4095:
                raise ConfigError(f"{origin}: zones[{i}].vlans[{j}]: VLAN ids are 0-4095")
    nets.sort(key=lambda pair: -pair[0].prefixlen)
    return _with_jump_hosts(site, origin), nets


JUMP_HOST_ROLE = "jump_host"


def _with_jump_hosts(site: Site, origin: str) -> Site:
    """The site with role ``jump_host`` added to the override of each designated jump host
    (other roles written for it are kept)."""
    hosts = site.remote_access.get("jump_hosts", [])
    if not hosts:
        return site
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ConfigError(f"{origin}: remote_access.jump_hosts: expected a list of addresses")
    assets = {k: dict(v) for k, v in site.assets.items()}
    by_addr = {(k.split(":", 1)[1] if k.startswith(("ip:", "mac:")) else k).lower(): k
               for k in assets}
    for host in hosts:
        name = str(host)
        key = by_addr.get(name.lower(), name)
        fields = assets.setdefault(key, {})
        raw = str(fields.get("roles") or fields.get("role") or "")
        roles = [r.strip() for r in raw.split(",") if r.strip()]
        if JUMP_HOST_ROLE not in roles:
            roles.append(JUMP_HOST_ROLE)
        fields.pop("roles", None)
        fields["role"] = ",".join(roles)
    return msgspec.structs.replace(site, assets=assets)


def load_site(path: Path) -> LoadedSite:
    return parse_site(read_text(path, "site file"), str(path))

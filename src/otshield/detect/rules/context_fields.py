"""Context fields of rules: what the site file and the inventory know about the two ends of an
event (``src.zone``, ``dst.roles``, ``src.internal``...) and about the site (``site.zones``).

They are not fields of the event: a :class:`RuleContext` answers them from the
:class:`~otshield.detect.context.AssetContext` (zones and levels cached there; roles read live,
since the inventory learns them while the capture is read). ``internal`` and ``broadcast``
depend on the address alone and are cached here. For link-layer events (no IP address) the MAC
address and the VLAN are used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import Any

import netaddr

from otshield.detect.context import AssetContext

__all__ = ["CONTEXT_FIELDS", "INLINE_CONTEXT", "ContextField", "RuleContext", "context_field"]

_NO_ROLES: frozenset[str] = frozenset()

@lru_cache(maxsize=1 << 16)
def _ip_class(ip: str) -> tuple[bool, bool] | None:
    """(internal, broadcast) of an IP address; None when it is not one."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    internal = (addr.is_private or addr.is_loopback or addr.is_link_local
                or addr.is_multicast or addr.is_unspecified)
    broadcast = addr.is_multicast or (addr.version == 4 and ip == "255.255.255.255")
    return internal, broadcast


class _InternalByIp(dict[str, "bool | None"]):
    """IP address -> ``internal`` (None when it is not an address), filled on first use; the
    same answers as :func:`_ip_class`, read with one subscript from compiled predicates."""

    _LIMIT = 1 << 16

    def __missing__(self, ip: str) -> bool | None:
        if len(self) >= self._LIMIT:  # bounded: a scan of random addresses
            self.clear()
        cls = _ip_class(ip)
        value = self[ip] = cls[0] if cls is not None else None
        return value


def _mac_internal(attr: str) -> Callable[[Any], bool | None]:
    """``internal`` of an end without an IP address: a MAC-only frame stays on the segment."""
    def internal(event: Any) -> bool | None:
        return True if (getattr(event, attr, "") or "") else None
    return internal


INLINE_CONTEXT: dict[str, tuple[str, dict[str, bool | None], Callable[[Any], bool | None]]] = {
    f"{side}.internal": (side, _InternalByIp(), _mac_internal(f"{side}_mac"))
    for side in ("src", "dst")}
"""Context fields that compiled predicates read inline: (side, table by IP, reader for
events without an IP). Their answer depends on the address alone."""


def _mac_broadcast(mac: str) -> bool:
    """Group bit of the first octet: broadcast (ff:ff:...) and multicast MACs."""
    try:
        return bool(int(mac[:2], 16) & 1)
    except ValueError:
        return False


class RuleContext:
    """Context look-ups for one engine; built from the engine's :class:`AssetContext`."""

    def __init__(self, assets: AssetContext | None = None) -> None:
        self.assets = assets if assets is not None else AssetContext()
        site = self.assets.site
        self.site_zones = bool(site and site[0].zones)
        jump = False
        directed: set[str] = set()
        if site:
            for fields in site[0].assets.values():
                raw = str(fields.get("roles", fields.get("role", "")))
                if "jump_host" in {r.strip() for r in raw.split(",")}:
                    jump = True
            for net, _zone in site[1]:
                if net.version == 4 and net.prefixlen < 31:
                    directed.add(str(net.broadcast))
        self.site_jump_hosts = jump
        self._directed = frozenset(directed)

    def constant_fields(self) -> frozenset[str]:
        """The context fields that give the same answer for every event of this run: the
        ``site.*`` facts, and the per-address ones the site file cannot vary (``declared_roles``
        when it declares none, ``safety`` when it overrides no asset, zones and levels when it
        places no address). Rules reading only these and grouped event fields are decided once
        per combination of values (see the rule engine's dispatch)."""
        assets = self.assets
        names = {"site.zones", "site.jump_hosts"}
        sided: list[str] = []
        if not assets.declared:
            sided.append("declared_roles")
        if not assets.has_overrides:
            sided.append("safety")
            if not assets.places_addresses:
                sided += ["zone", "level", "it", "ot"]
        names.update(f"{side}.{name}" for side in ("src", "dst") for name in sided)
        return frozenset(names)

    # -- per side --------------------------------------------------------------------------------
    @staticmethod
    def _ends(event: Any, side: str) -> tuple[str, str]:
        if side == "src":
            return event.src_ip, getattr(event, "src_mac", "") or ""
        return event.dst_ip, getattr(event, "dst_mac", "") or ""

    def zone(self, event: Any, side: str) -> str:
        ip, _ = self._ends(event, side)
        return self.assets.zone_name(ip, getattr(event, "vlan", None))

    def level(self, event: Any, side: str) -> int | None:
        ip, _ = self._ends(event, side)
        return self.assets.level(ip, getattr(event, "vlan", None))

    def roles(self, event: Any, side: str) -> frozenset[str]:
        ip, mac = self._ends(event, side)
        return self.assets.roles(ip, mac)

    def declared_roles(self, event: Any, side: str) -> frozenset[str]:
        ip, mac = self._ends(event, side)
        return self.assets.declared_roles(ip, mac)

    def safety(self, event: Any, side: str) -> bool:
        ip, mac = self._ends(event, side)
        return self.assets.safety(ip, mac)

    def is_it(self, event: Any, side: str) -> bool:
        ip, _ = self._ends(event, side)
        return self.assets.is_it(ip, getattr(event, "vlan", None))

    def is_ot(self, event: Any, side: str) -> bool:
        ip, _ = self._ends(event, side)
        return self.assets.is_ot(ip, getattr(event, "vlan", None))

    def internal(self, event: Any, side: str) -> bool | None:
        ip, mac = self._ends(event, side)
        if ip:
            cls = _ip_class(ip)
            return cls[0] if cls is not None else None
        return True if mac else None  # a MAC-only frame stays on the local segment

    def broadcast(self, event: Any, side: str) -> bool | None:
        ip, mac = self._ends(event, side)
        if ip:
            cls = _ip_class(ip)
            if cls is None:
                return None
            return cls[1] or ip in self._directed
        return _mac_broadcast(mac) if mac else None

    def jump_host(self, event: Any, side: str) -> bool:
        return "jump_host" in self.roles(event, side)


class ContextField:
    """One context field: its kinds (as :mod:`.fields` names them) and how to read it."""

    __slots__ = ("kinds", "many", "name", "read", "reader")

    def __init__(self, name: str, kinds: frozenset[str],
                 read: Callable[[RuleContext, Any], Any], many: bool = False,
                 reader: Callable[[Any, RuleContext], Any] | None = None) -> None:
        self.name = name
        self.kinds = kinds
        self.read = read
        self.many = many
        self.reader: Callable[[Any, RuleContext], Any] = (
            reader if reader is not None else (lambda e, c: read(c, e)))
        """The same read in the (event, context) order of compiled predicates, with fewer
        calls between the predicate and the answer where it is worth it (hot fields)."""


def _side(method: Callable[[RuleContext, Any, str], Any], side: str
          ) -> Callable[[RuleContext, Any], Any]:
    def read(ctx: RuleContext, event: Any) -> Any:
        return method(ctx, event, side)
    return read


def _fast_readers(side: str) -> dict[str, Callable[[Any, RuleContext], Any]]:
    """Readers of the fields asked of most events (roles, internal), going straight to the
    address and the cached answer: the same results as the :class:`RuleContext` methods."""
    ip_of = attrgetter(f"{side}_ip")
    mac_attr = f"{side}_mac"

    def mac_of(event: Any) -> str:
        return getattr(event, mac_attr, "") or ""

    def roles(event: Any, ctx: RuleContext) -> frozenset[str]:
        return ctx.assets.roles(ip_of(event), getattr(event, mac_attr, "") or "")

    def internal(event: Any, _ctx: RuleContext) -> bool | None:
        ip = ip_of(event)
        if ip:
            cls = _ip_class(ip)
            return cls[0] if cls is not None else None
        return True if mac_of(event) else None

    def jump_host(event: Any, ctx: RuleContext) -> bool:
        return "jump_host" in ctx.assets.roles(ip_of(event), mac_of(event))

    def declared_roles(event: Any, ctx: RuleContext) -> frozenset[str]:
        assets = ctx.assets
        if not assets.declared:  # a site file naming no roles (or none): nothing declared
            return _NO_ROLES
        return assets.declared_roles(ip_of(event), mac_of(event))
    return {"roles": roles, "internal": internal, "jump_host": jump_host,
            "declared_roles": declared_roles}


def _build() -> dict[str, ContextField]:
    table: dict[str, tuple[Callable[[RuleContext, Any, str], Any], frozenset[str], bool]] = {
        "zone": (RuleContext.zone, frozenset({"str"}), False),
        "level": (RuleContext.level, frozenset({"int", "none"}), False),
        "roles": (RuleContext.roles, frozenset({"str", "list"}), True),
        "declared_roles": (RuleContext.declared_roles, frozenset({"str", "list"}), True),
        "safety": (RuleContext.safety, frozenset({"bool"}), False),
        "it": (RuleContext.is_it, frozenset({"bool"}), False),
        "ot": (RuleContext.is_ot, frozenset({"bool"}), False),
        "internal": (RuleContext.internal, frozenset({"bool", "none"}), False),
        "broadcast": (RuleContext.broadcast, frozenset({"bool", "none"}), False),
        "jump_host": (RuleContext.jump_host, frozenset({"bool"}), False),
    }
    out: dict[str, ContextField] = {}
    for side in ("src", "dst"):
        fast = _fast_readers(side)
        for name, (method, kinds, many) in table.items():
            out[f"{side}.{name}"] = ContextField(f"{side}.{name}", kinds, _side(method, side),
                                                 many, fast.get(name))
    out["site.zones"] = ContextField("site.zones", frozenset({"bool"}),
                                     lambda ctx, _e: ctx.site_zones)
    out["site.jump_hosts"] = ContextField("site.jump_hosts", frozenset({"bool"}),
                                          lambda ctx, _e: ctx.site_jump_hosts)
    return out


CONTEXT_FIELDS: dict[str, ContextField] = _build()
"""Every context field by name (``src.zone``...)."""

CONTEXT_PREFIXES = ("src.", "dst.", "site.")


def context_field(path: str) -> ContextField | None:
    return CONTEXT_FIELDS.get(path)


def parse_network(text: str) -> netaddr.IPNetwork:
    """A CIDR (or a single address) for ``cidr`` tests; raises ValueError when invalid."""
    try:
        return netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(str(exc) or "not a network") from None


"""The zones-and-conduits policy as loaded: what may talk to what, over which protocols, with
which function classes (IEC 62443-3-2: zones and conduits, ZCR 3; security-level targets,
ZCR 5).

The policy is the site file (:mod:`otshield.inventory.site`) with three more sections, so
one file describes the plant::

    site: Water treatment plant
    zones:                           # as in the site file
      - name: SCADA
        level: 2                     # Purdue level 0-5
        security_level_target: 2     # IEC 62443 SL-T 1-4
        subnets: [10.10.20.0/24]
        vlans: [20]
      - name: Control
        level: 1
        security_level_target: 3
        subnets: [10.10.30.0/24]
    assets:                          # per-asset overrides, as in the site file
      10.10.30.21: {name: PLC-1, safety: "true"}
    conduits:
      - name: scada-to-control
        from: SCADA                  # the client zone (who opens the connection)
        to: Control                  # the server zone
        protocols: [modbus, dnp3]    # decoder names; tcp/PORT, udp/PORT; icmp; gre...; any
        functions: [read, write]     # allowed function classes; default: [read]
        ports: [502, 20000]          # optional: the server port must be one of these
        description: HMI polling
    remote_access:
      jump_hosts: [10.10.20.5]       # get the role jump_host
    defaults:
      intra_zone: allow              # allow (default) | check: needs a conduit Z -> Z
      unknown_zone: alert            # alert (default) | ignore: addresses in no zone

Matching: a flow is allowed when a conduit from the client's zone to the server's zone lists
its protocol (the decoder that recognised it; for traffic no decoder recognised, the decoders
that claim the server port, or a ``tcp/PORT`` entry), and, when the conduit has ``ports``,
its server port. Each request then needs its function class in the union of the allowed
conduits' ``functions``; ``other`` (session housekeeping) is always allowed. Conduits are
directional: answers travel back on the same conduit, a connection the other way needs its
own. Nested subnets in different zones are allowed (the most specific subnet wins); the same
subnet or VLAN in two zones is an error.
"""

from __future__ import annotations

import msgspec

from otshield.inventory.site import LoadedSite, SiteZone

__all__ = [
    "FUNCTION_CLASSES",
    "IMPLICIT_FUNCTIONS",
    "Conduit",
    "Finding",
    "Policy",
]

FUNCTION_CLASSES: tuple[str, ...] = (
    "read", "write", "control", "program", "config", "identify", "diagnostics", "security",
    "other")
"""The function classes every OT decoder assigns to requests (see the event schema)."""

IMPLICIT_FUNCTIONS: frozenset[str] = frozenset({"other"})
"""Always allowed on a conduit: ``other`` is protocol housekeeping (session set-up, keep-alive,
acknowledgements, forwarding) that every conversation needs. Commands outside the known codes
are the decoders' anomalies and the rule pack's business, not the zone policy's."""


class Conduit(msgspec.Struct, frozen=True, kw_only=True):
    """Allowed communication from clients in ``from_zone`` to servers in ``to_zone``."""

    name: str
    from_zone: str
    to_zone: str
    protocols: frozenset[str]
    """Registry names (``modbus``), ``tcp/502``-style entries, ``icmp``, IP protocol names
    (``gre``) or ``any``."""
    functions: frozenset[str]
    """Function classes clients may use (``other`` is always allowed)."""
    ports: frozenset[int] = frozenset()
    """When set, the server port must be one of these."""
    description: str = ""
    line: int = 0

    def allows(self, protocols: frozenset[str], transport: str, port: int) -> bool:
        """Does this conduit carry a flow of one of ``protocols`` (the candidate names of the
        flow) on ``transport`` to server ``port``?"""
        if self.ports and port not in self.ports:
            return False
        mine = self.protocols
        if "any" in mine or not protocols.isdisjoint(mine):
            return True
        if transport in ("icmp", "ipv6-icmp"):
            return "icmp" in mine or transport in mine
        return f"{transport}/{port}" in mine or transport in mine


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One result of ``otshield policy check``."""

    severity: str
    """``error`` (the policy cannot be used) or ``warning`` (it can, but look again)."""
    origin: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.origin}:{self.line}: {self.severity}: {self.message}"


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """A checked policy."""

    origin: str
    site: LoadedSite
    """The zones and asset overrides as the site loader gives them (jump hosts with their
    role), for :class:`~otshield.detect.context.AssetContext`."""
    conduits: tuple[Conduit, ...] = ()
    jump_hosts: tuple[str, ...] = ()
    intra_zone: str = "allow"
    """``allow``: traffic inside a zone is not checked; ``check``: it needs a conduit from the
    zone to itself."""
    unknown_zone: str = "alert"
    """``alert``: traffic from or to an address in no zone is a violation; ``ignore``."""

    @property
    def zones(self) -> tuple[SiteZone, ...]:
        return tuple(self.site[0].zones)

    def zone(self, name: str) -> SiteZone | None:
        for zone in self.site[0].zones:
            if zone.name == name:
                return zone
        return None

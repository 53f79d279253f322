"""Checks observed traffic against the zones-and-conduits policy, continuously.

For every flow the detector decides once which zones it connects (client zone -> server zone)
and which conduits allow it. The decision is taken on the first decoded event of the flow
(protocol events arrive while the flow is open, so a violation is reported at its first
message), or on the flow record for flows nothing was decoded on (scans, undecoded
protocols; the record arrives when the flow ends). Then every request with a function class
is checked against the conduit's allowed classes: a ``write`` or ``program`` over a
read-only conduit is reported at that message.

Rules (alert category ``policy``):

===============================  ===========================================================
``policy.no_conduit``            traffic between two zones that no conduit connects
``policy.protocol_not_allowed``  the zones are connected, but not for this protocol or port
``policy.function_not_allowed``  a request whose function class the conduit does not allow
``policy.unknown_zone``          an address in no zone (``defaults.unknown_zone: alert``)
===============================  ===========================================================

Repeats are merged: the alert key is rule + zone pair + protocol + function class, so a
violation repeated 10,000 times is one alert with count 10,000 (flows for the flow-level
rules, messages for ``function_not_allowed``). The same facts are kept as
:class:`Violation` records (zone pair, conduits, protocol, function, first/last seen, count,
an example flow, the host pairs involved) for reports and the console.

What is not placed in zones (link-layer frames, local sources, broadcasts): see
:mod:`otshield.policy.watch`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import msgspec

from otshield.detect.alert import Alert, AlertSink, make_alert
from otshield.detect.attack import AttackTable
from otshield.detect.context import AssetContext
from otshield.events import Event, FlowEvent
from otshield.inventory.site import SiteZone
from otshield.policy.model import IMPLICIT_FUNCTIONS, Conduit, Policy
from otshield.policy.watch import UNCHECKED, FlowState, FlowWatcher, endpoint_zones

__all__ = ["RULES", "PolicyDetector", "Violation"]

RULES: dict[str, str] = {
    "policy.no_conduit": "Traffic between zones that no conduit connects",
    "policy.protocol_not_allowed": "Protocol not allowed on the conduit between these zones",
    "policy.function_not_allowed": "Function class not allowed on the conduit",
    "policy.unknown_zone": "Traffic with an address outside every zone",
}

_MAX_RECORDS = 10_000
"""Distinct violation keys kept as records; past it new keys fold into one per rule."""
_MAX_VERDICTS = 1 << 16
"""Allowed (client, server, service) verdicts remembered; cleared when full."""
_MAX_PAIRS = 20
"""Host pairs kept per violation record."""

_REMOTE = frozenset({"ssh", "rdp", "telnet", "smb", "tcp/5900", "tcp/5985", "tcp/5986",
                     "tcp/22", "tcp/23", "tcp/3389", "tcp/445"})
"""Remote-access and file-sharing services (ATT&CK T0886 Remote Services)."""
_FUNCTION_TECHNIQUES: dict[str, tuple[str, ...]] = {
    "write": ("T0855", "T0836"),          # Unauthorized Command Message, Modify Parameter
    "control": ("T0855",),
    "program": ("T0843",),                # Program Download (upload and firmware: below)
    "config": ("T0855",),
    "identify": ("T0888",),               # Remote System Information Discovery
    "diagnostics": ("T0888",),
    "read": ("T0801",),                   # Monitor Process State
}
_NO_ZONE = "(no zone)"
_SEVERE_FUNCTIONS = frozenset({"write", "control", "program", "config", "security"})
_NAME_FIELDS = ("function", "service_name", "service", "type_name", "command", "function_name")


class Violation(msgspec.Struct, kw_only=True):
    """One kind of violation, merged (what the alert says, as data)."""

    rule_id: str
    severity: str
    source_zone: str
    destination_zone: str
    protocol: str
    function: str = ""
    conduits: tuple[str, ...] = ()
    """The conduits between the zones (empty for ``no_conduit``)."""
    first_seen: float
    last_seen: float
    count: int = 1
    example: dict[str, Any] = msgspec.field(default_factory=dict)
    """The first occurrence: flow id, frame, addresses and ports."""
    hosts: list[tuple[str, str]] = msgspec.field(default_factory=list)
    """Distinct (client, server) address pairs, the first ones."""
    alert: Alert | None = None


class PolicyDetector(FlowWatcher):
    """Detector (``name = "policy"``) reporting policy violations to ``sink``.

    ``context`` describes the endpoints in alerts (names, roles); zones are looked up in the
    policy's own zones so the decision always matches the file that was checked."""

    name = "policy"

    def __init__(self, policy: Policy, context: AssetContext | None, sink: AlertSink,
                 *, attack: AttackTable | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.context = context if context is not None else AssetContext(policy.site)
        self.sink = sink
        self.zones = AssetContext(policy.site)
        self._attack = attack
        self._pairs: dict[tuple[str, str], list[Conduit]] = {}
        for conduit in policy.conduits:
            self._pairs.setdefault((conduit.from_zone, conduit.to_zone), []).append(conduit)
        self._check_intra = policy.intra_zone == "check"
        self._alert_unknown = policy.unknown_zone == "alert"
        self._records: dict[str, Violation] = {}
        self._verdicts: dict[tuple[object, ...], FlowState] = {}

    def violations(self) -> list[Violation]:
        """The merged violations, most frequent first."""
        return sorted(self._records.values(), key=lambda v: (-v.count, v.first_seen, v.rule_id))

    # -- the decision ----------------------------------------------------------------------------
    def decide(self, event: Event, client: str, server: str, port: int, transport: str,
               protos: frozenset[str], label: str) -> FlowState:
        """Zones, conduits and verdict of a new flow; reports a flow-level violation."""
        vlan = getattr(event, "vlan", None)
        cache_key = (client, server, port, transport, label, vlan)
        cached = self._verdicts.get(cache_key)
        if cached is not None:
            return cached  # the same endpoints and service as an earlier allowed flow
        ends = endpoint_zones(self.zones, client, server, vlan)
        if ends is None:
            return self._allowed(cache_key, UNCHECKED)
        czone, szone = ends
        if czone is None or szone is None:
            if self._alert_unknown:
                self._unknown(event, client, server, czone, szone, label)
                return UNCHECKED
            return self._allowed(cache_key, UNCHECKED)
        if czone is szone and not self._check_intra:
            return self._allowed(cache_key, UNCHECKED)
        pair = (czone.name, szone.name)
        conduits = self._pairs.get(pair)
        if not conduits:
            self._zone_violation("policy.no_conduit", event, client, server, czone, szone,
                                 label, (), protos)
            return UNCHECKED
        allowed = [c for c in conduits if c.allows(protos, transport, port)]
        if not allowed:
            self._zone_violation("policy.protocol_not_allowed", event, client, server, czone,
                                 szone, label, tuple(c.name for c in conduits), protos)
            return UNCHECKED
        functions = IMPLICIT_FUNCTIONS.union(*(c.functions for c in allowed))
        return self._allowed(cache_key, FlowState(client, functions, pair,
                                                  tuple(c.name for c in allowed), label))

    def _allowed(self, key: tuple[object, ...], state: FlowState) -> FlowState:
        """Remember a verdict without a violation (violations are counted per flow, so they
        are decided every time)."""
        if len(self._verdicts) >= _MAX_VERDICTS:
            self._verdicts.clear()
        self._verdicts[key] = state
        return state

    # -- reporting -------------------------------------------------------------------------------
    def _zone_violation(self, rule: str, event: Event, client: str, server: str,
                        czone: SiteZone, szone: SiteZone, label: str,
                        conduits: tuple[str, ...], protos: frozenset[str]) -> None:
        key = f"{rule}|{czone.name}|{szone.name}|{label}"
        if self._repeat(key, event, client, server):
            return
        into_ot = szone.level is not None and szone.level <= 2
        severity = "high" if into_ot else "medium"
        techniques = self._techniques(label, protos, event, czone, szone)
        if rule == "policy.no_conduit":
            title = f"No conduit from {czone.name} to {szone.name} ({label})"
            description = (f"{client} ({czone.name}) opened {label} to {server} "
                           f"({szone.name}), but no conduit connects these zones.")
            response = ("Find out who runs this connection and why. If it is needed, add a "
                        "conduit to the policy (and the firewall); otherwise block it and "
                        f"check {client} for compromise.")
        else:
            title = f"{label} not allowed from {czone.name} to {szone.name}"
            many = len(conduits) > 1
            description = (f"{client} ({czone.name}) used {label} to {server} ({szone.name}); "
                           f"the conduit{'s' if many else ''} {', '.join(conduits)} between "
                           f"these zones {'do' if many else 'does'} not allow it.")
            response = ("Check whether this protocol is needed between the zones; add it to "
                        "the conduit if so, otherwise block it at the zone boundary and find "
                        "out what sent it.")
        self._report(key, rule, event, client, server, czone.name, szone.name, label, "",
                     conduits, severity, title, description, response, techniques)

    def on_function(self, event: Any, state: FlowState, cls_name: str) -> None:
        czone, szone = state.zones
        key = f"policy.function_not_allowed|{czone}|{szone}|{state.protocol}|{cls_name}"
        if self._repeat(key, event, event.src_ip, event.dst_ip):
            return
        name = _function_name(event)
        severity = "high" if cls_name in _SEVERE_FUNCTIONS else "medium"
        if cls_name == "program" and self.context.safety(event.dst_ip):
            severity = "critical"
        techniques = _FUNCTION_TECHNIQUES.get(cls_name, ())
        lowered = name.lower()
        if cls_name == "program" and "upload" in lowered:
            techniques = ("T0845",)  # Program Upload: the program leaves the controller
        elif cls_name == "program" and "firmware" in lowered:
            techniques = ("T0857", "T0839")  # System Firmware, Module Firmware
        allowed = ", ".join(sorted(state.functions or ()))
        what = f"{name} ({cls_name})" if name and name != cls_name else cls_name
        title = f"{cls_name} over {state.protocol} not allowed by conduit {state.conduits[0]}"
        description = (f"{event.src_ip} ({czone}) sent {what} over {state.protocol} to "
                       f"{event.dst_ip} ({szone}); the conduit "
                       f"{', '.join(state.conduits)} allows only {allowed}.")
        response = ("Confirm with the plant whether this command was planned (maintenance, "
                    "engineering change). If not, treat it as an unauthorised command: check "
                    "the target's state and program and isolate the sender.")
        self._report(key, "policy.function_not_allowed", event, event.src_ip, event.dst_ip,
                     czone, szone, state.protocol, cls_name, state.conduits, severity, title,
                     description, response, techniques)

    def _unknown(self, event: Event, client: str, server: str, czone: SiteZone | None,
                 szone: SiteZone | None, label: str) -> None:
        cname = czone.name if czone else _NO_ZONE
        sname = szone.name if szone else _NO_ZONE
        key = f"policy.unknown_zone|{cname}|{sname}|{label}"
        if self._repeat(key, event, client, server):
            return
        outsiders = [ip for ip, zone in ((client, czone), (server, szone)) if zone is None]
        known = czone or szone
        severity = "medium" if known is not None and known.level is not None \
            and known.level <= 3 else "low"
        techniques: tuple[str, ...] = ()
        if czone is None and _public(client):
            techniques = ("T0883",) if label not in _REMOTE else ("T0883", "T0822")
        elif label in _REMOTE:
            techniques = ("T0886",)
        elif czone is None and szone is not None and self._is_ot(label) \
                and szone.level is not None and szone.level <= 2:
            techniques = ("T0848",)  # an unknown master talking to controllers
        title = f"Traffic with an address in no zone: {cname} -> {sname} ({label})"
        description = (f"{client} ({cname}) -> {server} ({sname}) over {label}: "
                       f"{' and '.join(outsiders)} {'is' if len(outsiders) == 1 else 'are'} "
                       "in no zone of the policy.")
        response = ("Identify the device. If it belongs to the plant, add its subnet to a "
                    "zone (and a conduit if the traffic is needed); if not, it may be a rogue "
                    "or transient device: locate its switch port.")
        self._report(key, "policy.unknown_zone", event, client, server, cname, sname, label,
                     "", (), severity, title, description, response, techniques)

    def _techniques(self, label: str, protos: frozenset[str], event: Event,
                    czone: SiteZone, szone: SiteZone) -> tuple[str, ...]:
        if label in _REMOTE or not protos.isdisjoint(_REMOTE):
            return ("T0886",)
        if szone.level is not None and szone.level <= 2 and self._is_ot(label):
            return ("T0848",)  # an unexpected master reaching controllers
        if isinstance(event, FlowEvent) and not event.packets_to_client:
            return ("T0846",)  # unanswered: probing for systems
        return ()

    def _is_ot(self, protocol: str) -> bool:
        """An industrial protocol decoder (not an IT one, not a port entry)."""
        return protocol in self.protocols.ports and protocol not in _IT_PROTOCOLS

    def _repeat(self, key: str, event: Event, client: str, server: str) -> bool:
        """Count a further occurrence of a known violation; False when ``key`` is new."""
        record = self._records.get(key)
        if record is None and len(self._records) >= _MAX_RECORDS:
            key = key.split("|", 1)[0] + "|*"
            record = self._records.get(key)
        if record is None:
            return False
        record.count += 1
        record.last_seen = max(record.last_seen, event.ts)
        if len(record.hosts) < _MAX_PAIRS and (client, server) not in record.hosts:
            record.hosts.append((client, server))
        if record.alert is not None:
            self.sink(msgspec.structs.replace(
                record.alert, ts=event.ts, frame=event.frame, first_seen=event.ts,
                last_seen=event.ts, count=1, frames=(event.frame,) if event.frame else (),
                evidence=()))
        return True

    def _report(self, key: str, rule: str, event: Event, client: str, server: str,
                czone: str, szone: str, protocol: str, function: str,
                conduits: tuple[str, ...], severity: str, title: str, description: str,
                response: str, techniques: tuple[str, ...]) -> None:
        if len(self._records) >= _MAX_RECORDS:
            key = f"{rule}|*"
        tactics = self._tactics(techniques)
        details = {"source_zone": czone, "destination_zone": szone, "protocol": protocol,
                   "counted": "messages" if function else "flows"}
        if function:
            details["function"] = function
        if conduits:
            details["conduits"] = ", ".join(conduits)
        ctx = self.context
        alert = make_alert(event, rule_id=rule, title=title, severity=severity,
                           confidence="high", category="policy", description=description,
                           response=response, techniques=techniques, tactics=tactics,
                           source=ctx.ref(client), destination=ctx.ref(server), key=key,
                           details=details)
        self._records[key] = Violation(
            rule_id=rule, severity=severity, source_zone=czone, destination_zone=szone,
            protocol=protocol, function=function, conduits=conduits, first_seen=event.ts,
            last_seen=event.ts, example={
                "flow_id": event.flow_id, "frame": event.frame, "src_ip": event.src_ip,
                "src_port": event.src_port, "dst_ip": event.dst_ip,
                "dst_port": event.dst_port, "transport": event.transport},
            hosts=[(client, server)], alert=alert)
        self.sink(alert)

    def _tactics(self, techniques: tuple[str, ...]) -> tuple[str, ...]:
        if not techniques:
            return ()
        if self._attack is None:
            from otshield.detect.attack import load_attack_table

            self._attack = load_attack_table()
        return tuple(self._attack.tactics_of(techniques))


_IT_PROTOCOLS = frozenset({"dns", "http", "tls", "ssh", "smb", "rdp", "dhcp", "ntp", "snmp",
                           "telnet", "ftp", "netbios"})


def _function_name(event: Any) -> str:
    for field in _NAME_FIELDS:
        value = getattr(event, field, None)
        if isinstance(value, str) and value:
            return value
    return ""



def _public(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False

"""Alerts: what detection tells a person, with the evidence to check it and what to do.

An :class:`Alert` is an event (``event.dataset: alert``), so it goes to ``alert.jsonl`` with the
other records and a SIEM reads it with ECS names (``rule.id``, ``event.severity``,
``threat.technique.id``). Every detector (rules, baselines, the zone policy, threat intel)
builds alerts the same way: :func:`make_alert` from the event that triggered it.

Repeated alerts aggregate: the same rule on the same key (by default the rule and the
source/destination pair) becomes one alert with ``count``, ``ts`` (first seen) and
``last_seen`` (:class:`AlertAggregator`), so a flood is one alert with count 10,000, not 10,000
alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from otshield.events import Event, ecs

__all__ = [
    "CONFIDENCES",
    "SEVERITIES",
    "Alert",
    "AlertAggregator",
    "AlertSink",
    "AssetRef",
    "event_evidence",
    "make_alert",
    "severity_at_least",
    "severity_rank",
]

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
"""From least to most severe; ``severity_rank`` gives the index."""
CONFIDENCES: tuple[str, ...] = ("low", "medium", "high")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}
_ECS_SEVERITY = {"info": 10, "low": 25, "medium": 50, "high": 75, "critical": 99}
"""ECS ``event.severity`` is numeric; these are the usual SIEM bands."""

_MAX_FRAMES = 20
"""Frames kept as evidence per alert (first ones): enough to open the capture at the spot."""
_MAX_SAMPLES = 3
"""Triggering events kept whole per alert."""


def severity_rank(severity: str) -> int:
    return _RANK.get(severity, 0)


def severity_at_least(severity: str, floor: str) -> bool:
    return _RANK.get(severity, 0) >= _RANK.get(floor, 0)


class AssetRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """An endpoint of the alert as the inventory and the zone model know it."""

    ip: str = ""
    mac: str = ""
    asset: str = ""
    """Inventory asset id (``ip:<addr>`` or ``mac:<addr>``)."""
    name: str = ""
    zone: str = ""
    level: int | None = None
    """Purdue level (0-5)."""
    roles: tuple[str, ...] = ()
    safety: bool = False
    """Tagged safety-critical (safety instrumented system) in the site file."""


class Alert(Event, frozen=True, tag="alert", rename=ecs(
        rule_id="rule.id", title="rule.name", category="rule.category",
        description="message", severity_score="event.severity",
        techniques="threat.technique.id", tactics="threat.tactic.name",
        first_seen="event.start", last_seen="event.end", count="event.count")):
    """One alert (possibly aggregated). ``ts``/``frame`` are the first occurrence."""

    rule_id: str
    title: str
    severity: str
    """One of :data:`SEVERITIES`."""
    confidence: str = "medium"
    """One of :data:`CONFIDENCES`: how sure the detector is that this is what it says."""
    severity_score: int = 50
    category: str = ""
    """Detector family: ``rule``, ``baseline``, ``policy``, ``intel``."""
    description: str = ""
    """What happened, with the values that matter (``S7 PLC STOP sent by 10.0.0.5``)."""
    response: str = ""
    """What to do about it."""
    techniques: tuple[str, ...] = ()
    """MITRE ATT&CK for ICS technique ids (``T0816``)."""
    tactics: tuple[str, ...] = ()
    """ATT&CK for ICS tactics of those techniques (``inhibit-response-function``)."""
    src_mac: str = ""
    dst_mac: str = ""
    vlan: int | None = None
    source: AssetRef | None = None
    destination: AssetRef | None = None
    protocol: str = ""
    """``event.dataset`` of the triggering event (``s7comm``, ``flow``, ``anomaly``)."""
    key: str = ""
    """What repeated alerts are merged on (rule id plus the rule's key fields)."""
    first_seen: float = 0.0
    last_seen: float = 0.0
    count: int = 1
    frames: tuple[int, ...] = ()
    """Frames of the occurrences (the first ones, bounded)."""
    evidence: tuple[dict[str, Any], ...] = ()
    """The triggering events (the first ones, as JSON objects with ECS names)."""
    details: dict[str, str] = msgspec.field(default_factory=dict)
    """Detector-specific facts (``baseline: new talker``, ``indicator: indicator--...``)."""


AlertSink = Callable[[Alert], None]

def event_evidence(events: Iterable[Event]) -> tuple[dict[str, Any], ...]:
    """Events as JSON objects with their output (ECS) names, for an alert's evidence."""
    return tuple(msgspec.json.decode(msgspec.json.encode(e)) for e in events)


def make_alert(event: Event, *, rule_id: str, title: str, severity: str,
               confidence: str = "medium", category: str = "rule", description: str = "",
               response: str = "", techniques: Sequence[str] = (),
               tactics: Sequence[str] = (), source: AssetRef | None = None,
               destination: AssetRef | None = None, key: str = "",
               details: dict[str, str] | None = None,
               evidence: Sequence[Event] | None = None) -> Alert:
    """An alert about ``event`` (and ``evidence``: the events that led to it, default the
    event alone). The key defaults to rule id + source + destination."""
    src_mac = str(getattr(event, "src_mac", "") or "")
    dst_mac = str(getattr(event, "dst_mac", "") or "")
    if not key:
        key = "|".join((rule_id, event.src_ip or src_mac, event.dst_ip or dst_mac))
    shown = list(evidence) if evidence is not None else [event]
    frames = tuple(sorted({e.frame for e in shown if e.frame}))[:_MAX_FRAMES]
    return Alert(
        ts=event.ts, frame=event.frame, flow_id=event.flow_id,
        community_id=event.community_id, src_ip=event.src_ip, src_port=event.src_port,
        dst_ip=event.dst_ip, dst_port=event.dst_port, transport=event.transport,
        src_mac=src_mac, dst_mac=dst_mac, vlan=getattr(event, "vlan", None),
        rule_id=rule_id, title=title, severity=severity, confidence=confidence,
        severity_score=_ECS_SEVERITY.get(severity, 50), category=category,
        description=description, response=response, techniques=tuple(techniques),
        tactics=tuple(tactics), source=source, destination=destination,
        protocol=str(type(event).__struct_config__.tag or ""), key=key,
        first_seen=event.ts, last_seen=event.ts, count=1, frames=frames,
        evidence=event_evidence(shown[:_MAX_SAMPLES]), details=dict(details or {}))


class _Running:
    __slots__ = ("alert", "count", "frames", "last_seen", "samples")

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        self.count = alert.count
        self.last_seen = alert.last_seen
        self.frames = list(alert.frames)
        self.samples = list(alert.evidence)


class AlertAggregator:
    """Merges repeated alerts by ``key``. ``on_new`` (optional) hears each key's first alert
    at once, for live output; :meth:`alerts` gives the merged ones, most severe first.

    Bounded: past ``max_keys`` distinct keys, new keys of rules already present fold into one
    ``<rule>|*`` alert per rule (a scan of a /16 must not grow memory without end)."""

    def __init__(self, on_new: AlertSink | None = None, max_keys: int = 100_000) -> None:
        self.on_new = on_new
        self.max_keys = max_keys
        self._running: dict[str, _Running] = {}

    def __call__(self, alert: Alert) -> None:
        running = self._running.get(alert.key)
        if running is None and len(self._running) >= self.max_keys:
            alert = msgspec.structs.replace(alert, key=f"{alert.rule_id}|*")
            running = self._running.get(alert.key)
        if running is None:
            self._running[alert.key] = _Running(alert)
            if self.on_new is not None:
                self.on_new(alert)
            return
        running.count += alert.count
        if alert.last_seen > running.last_seen:
            running.last_seen = alert.last_seen
        if len(running.frames) < _MAX_FRAMES:
            running.frames.extend(alert.frames[:_MAX_FRAMES - len(running.frames)])
        if len(running.samples) < _MAX_SAMPLES:
            running.samples.extend(alert.evidence[:_MAX_SAMPLES - len(running.samples)])

    def __len__(self) -> int:
        return len(self._running)

    def alerts(self) -> list[Alert]:
        """The merged alerts, most severe first, then by first occurrence."""
        out = [msgspec.structs.replace(r.alert, count=r.count, last_seen=r.last_seen,
                                       frames=tuple(r.frames), evidence=tuple(r.samples))
               for r in self._running.values()]
        out.sort(key=lambda a: (-severity_rank(a.severity), a.ts, a.rule_id))
        return out

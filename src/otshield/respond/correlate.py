"""Correlation: alerts grouped into incidents, each join explained.

An attack on a plant shows up as many alerts over minutes or days: a Telnet login from an
office PC, RDP from that PC into an HMI, a file copied to the HMI, then a PLC stop sent by the
HMI. An analyst wants one incident telling that story, not four tickets. An alert joins an open
incident (one whose last alert is within ``window`` seconds) when

* it shares an address with the incident (the same attacker again, the same target again);
* its source was a target earlier in the incident (the attacker pivoted: lateral movement);
* it crosses the same conduit (source zone -> destination zone) and continues the incident's
  ATT&CK for ICS tactic progression (its tactic is not earlier in the kill chain than the
  incident's latest one).

When an alert fits several incidents they merge. Each join appends a sentence to
``Incident.explanation``, so the console says *why* alerts are together ("joined because ...").
Broadcast, multicast and unspecified addresses never join anything (everyone shares them).
Alerts below ``min_severity`` (default medium) open no incident of their own: on a real plant
low alerts (a device identification, a new talker) are frequent and mostly benign; they join an
incident when they fit one.

Severity weighs the OT impact: the worst alert's severity is the base score; targets at Purdue
level 0-1 or tagged safety-critical, process-impact tactics and a longer tactic progression raise
it (:func:`score_incident`).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterable

from otshield.detect.alert import SEVERITIES, Alert, AssetRef, severity_rank
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.respond.incident import Incident, IncidentAsset

__all__ = ["Correlator", "alert_id", "correlate", "score_incident"]

_BASE_SCORE = {"info": 10.0, "low": 25.0, "medium": 50.0, "high": 72.0, "critical": 90.0}
_PROCESS_TACTICS = frozenset({"impair-process-control", "inhibit-response-function", "impact"})


def alert_id(alert: Alert) -> str:
    """A stable id for an (aggregated) alert: its merge key, else rule and endpoints."""
    if alert.key:
        return alert.key
    src = alert.source.ip if alert.source else ""
    dst = alert.destination.ip if alert.destination else ""
    return f"{alert.rule_id}|{src}|{dst}|{alert.first_seen or alert.ts}"


@functools.lru_cache(maxsize=65536)
def _joinable(ip: str) -> bool:
    # cached: every alert asks it about every incident in the window, and parsing the
    # address dominated correlation time
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or str(addr) == "255.255.255.255":
        return False
    return not (addr.version == 4 and str(addr).endswith(".255"))


def _name(ref: AssetRef | None, ip: str) -> str:
    return f"{ip} ({ref.name})" if ref is not None and ref.name else ip


def _sev_from_score(score: float) -> str:
    if score >= 90:
        return "critical"
    if score >= 70:
        return "high"
    if score >= 40:
        return "medium"
    return "low" if score >= 20 else "info"


def score_incident(incident: Incident, worst: str) -> float:
    """0-100 from the worst alert severity, raised by the OT impact of the incident."""
    score = _BASE_SCORE.get(worst, 50.0)
    targets = [a for a in incident.assets if not a.attacker]
    if any(a.safety for a in targets):
        score += 15
    elif any(a.level is not None and a.level <= 1 for a in targets):
        score += 10
    elif any(a.level == 2 for a in targets):
        score += 5
    if _PROCESS_TACTICS & set(incident.tactics):
        score += 5
    score += 4 * max(0, len(incident.tactics) - 2)
    return min(100.0, score)


class _Open:
    """An incident being built, with the indexes joins need."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.alert_ids: set[str] = set(incident.alert_ids)
        """The incident's alert ids as a set: membership per alert, not a list scan."""
        self.stale = True
        """The summary (assets, score, severity, title) needs computing: it is computed when
        the incidents are read, not on every alert (an incident of thousands of alerts and
        assets made correlation quadratic: 26 s for 10,000 alerts)."""
        self.sources: set[str] = set()
        self.targets: set[str] = set()
        self.conduits: set[tuple[str, str]] = set()
        self.refs: dict[str, AssetRef | None] = {}
        self.worst = "info"
        self.last_tactic_rank = -1


class Correlator:
    """Incremental: feed alerts in time order with :meth:`add`; read :meth:`incidents`."""

    def __init__(self, window: float = 6 * 3600.0, attack: AttackTable | None = None,
                 min_severity: str = "medium") -> None:
        self.window = window
        self.attack = attack or load_attack_table()
        self.min_severity = min_severity
        self._open: list[_Open] = []
        self._live: list[_Open] = []
        """The incidents an alert may still join: last alert within the window of the newest
        alert fed (alerts come in time order, so an incident past it stays past it)."""

    def incidents(self) -> list[Incident]:
        for o in self._open:
            if o.stale:
                self._refresh(o)
        return [o.incident for o in self._open]

    def _tactic_rank(self, alert: Alert) -> int:
        ranks = [self.attack.tactic_order(t) for t in alert.tactics]
        return max(ranks) if ranks else -1

    def _why(self, o: _Open, alert: Alert) -> str | None:
        src = alert.source.ip if alert.source else ""
        dst = alert.destination.ip if alert.destination else ""
        ts = alert.first_seen or alert.ts
        if ts - o.incident.last_seen > self.window:
            return None
        if src and _joinable(src) and src in o.targets:
            return (f"{_name(alert.source, src)} was a target earlier in this incident and now "
                    f"acts as a source (the attacker moved on from it)")
        if src and _joinable(src) and src in o.sources:
            return f"the same source {_name(alert.source, src)} acted earlier in this incident"
        if dst and _joinable(dst) and dst in o.targets:
            return f"{_name(alert.destination, dst)} was already a target in this incident"
        if dst and _joinable(dst) and dst in o.sources:
            return (f"{_name(alert.destination, dst)} acted as a source earlier in this "
                    f"incident and is now a target")
        zone_s = alert.source.zone if alert.source else ""
        zone_d = alert.destination.zone if alert.destination else ""
        if zone_s and zone_d and (zone_s, zone_d) in o.conduits and \
                self._tactic_rank(alert) >= o.last_tactic_rank >= 0:
            return (f"it crosses the same conduit {zone_s} -> {zone_d} and continues the "
                    f"tactic progression ({', '.join(alert.tactics)})")
        return None

    def add(self, alert: Alert) -> str | None:
        """Correlate one alert; the id of the incident it is now part of (None: below the
        floor and joining nothing). :meth:`incidents` gives the incidents summarised."""
        ts = alert.first_seen or alert.ts
        self._live = [o for o in self._live if ts - o.incident.last_seen <= self.window]
        fits = [(o, why) for o in self._live if (why := self._why(o, alert)) is not None]
        if not fits:
            if severity_rank(alert.severity) < severity_rank(self.min_severity):
                return None
            o = self._new(alert)
            self._open.append(o)
            self._live.append(o)
        else:
            o, why = fits[0]
            o.incident.explanation.append(f"{alert.title} [{alert.rule_id}] joined because "
                                          f"{why}")
            for other, other_why in fits[1:]:
                self._merge(o, other, other_why)
        self._absorb(o, alert)
        return o.incident.id

    def _new(self, alert: Alert) -> _Open:
        digest = hashlib.sha1(alert_id(alert).encode()).hexdigest()[:8]
        inc = Incident(id=f"INC-{int(alert.first_seen or alert.ts)}-{digest}",
                       title=alert.title, severity=alert.severity,
                       first_seen=alert.first_seen or alert.ts,
                       last_seen=alert.last_seen or alert.ts,
                       explanation=[f"opened by {alert.title} [{alert.rule_id}]"])
        return _Open(inc)

    def _merge(self, into: _Open, other: _Open, why: str) -> None:
        inc, old = into.incident, other.incident
        inc.explanation.append(f"merged with {old.id} because {why}")
        inc.explanation.extend(old.explanation)
        for aid in old.alert_ids:
            if aid not in into.alert_ids:
                into.alert_ids.add(aid)
                inc.alert_ids.append(aid)
        for r in old.rules:
            if r not in inc.rules:
                inc.rules.append(r)
        for t in old.techniques:
            if t not in inc.techniques:
                inc.techniques.append(t)
        for t in old.tactics:
            if t not in inc.tactics:
                inc.tactics.append(t)
        inc.first_seen = min(inc.first_seen, old.first_seen)
        inc.last_seen = max(inc.last_seen, old.last_seen)
        into.sources |= other.sources
        into.targets |= other.targets
        into.conduits |= other.conduits
        into.refs.update({k: v for k, v in other.refs.items() if k not in into.refs})
        if severity_rank(other.worst) > severity_rank(into.worst):
            into.worst = other.worst
        into.last_tactic_rank = max(into.last_tactic_rank, other.last_tactic_rank)
        self._open.remove(other)
        self._live.remove(other)
        into.stale = True

    def _absorb(self, o: _Open, alert: Alert) -> None:
        inc = o.incident
        aid = alert_id(alert)
        if aid not in o.alert_ids:
            o.alert_ids.add(aid)
            inc.alert_ids.append(aid)
        if alert.rule_id not in inc.rules:
            inc.rules.append(alert.rule_id)
        for t in alert.techniques:
            if t not in inc.techniques:
                inc.techniques.append(t)
        for t in sorted(alert.tactics, key=self.attack.tactic_order):
            if t not in inc.tactics:
                inc.tactics.append(t)
        inc.first_seen = min(inc.first_seen, alert.first_seen or alert.ts)
        inc.last_seen = max(inc.last_seen, alert.last_seen or alert.ts)
        src = alert.source.ip if alert.source else ""
        dst = alert.destination.ip if alert.destination else ""
        if src and _joinable(src):
            o.sources.add(src)
            o.refs.setdefault(src, alert.source)
        if dst and _joinable(dst):
            o.targets.add(dst)
            o.refs.setdefault(dst, alert.destination)
        zs = alert.source.zone if alert.source else ""
        zd = alert.destination.zone if alert.destination else ""
        if zs and zd:
            o.conduits.add((zs, zd))
        if severity_rank(alert.severity) > severity_rank(o.worst):
            o.worst = alert.severity
        o.last_tactic_rank = max(o.last_tactic_rank, self._tactic_rank(alert))
        o.stale = True

    def _refresh(self, o: _Open) -> None:
        o.stale = False
        inc = o.incident
        assets = []
        for ip in sorted(o.sources | o.targets):
            ref = o.refs.get(ip)
            assets.append(IncidentAsset(
                ip=ip, name=ref.name if ref else "", zone=ref.zone if ref else "",
                level=ref.level if ref else None, roles=ref.roles if ref else (),
                safety=ref.safety if ref else False,
                attacker=ip in o.sources and ip not in o.targets))
        inc.assets = assets
        inc.score = score_incident(inc, o.worst)
        inc.severity = max(o.worst, _sev_from_score(inc.score), key=SEVERITIES.index)
        attackers = [a.name or a.ip for a in inc.attackers]
        ot = [a.name or a.ip for a in inc.ot_assets]
        story = " -> ".join(t.replace("-", " ") for t in inc.tactics[:1] + inc.tactics[-1:]
                            if t) if len(inc.tactics) > 1 else (inc.tactics[0].replace("-", " ")
                                                                if inc.tactics else "")
        who = f"{attackers[0]}" if attackers else "unknown source"
        what = f" against {', '.join(ot[:3])}" if ot else ""
        n = len(inc.alert_ids)
        inc.title = (f"{story.capitalize() or 'Alerts'}: {who}{what} "
                     f"({n} alert{'s' if n != 1 else ''})")


def correlate(alerts: Iterable[Alert], window: float = 6 * 3600.0,
              min_severity: str = "medium") -> list[Incident]:
    """Incidents of ``alerts`` (any order; sorted by first seen here)."""
    c = Correlator(window=window, min_severity=min_severity)
    for a in sorted(alerts, key=lambda a: (a.first_seen or a.ts, a.rule_id)):
        c.add(a)
    return c.incidents()

"""The alerts of the baseline detector: what is new, compared with what was learnt, how bad it
is, which ATT&CK for ICS techniques fit and what to do.

Severity follows what the deviation can do to the process: a new write range or a new
control/program function on a controller is worse than a new read; safety-tagged destinations
raise it one step. Techniques: new asset or talker speaking an industrial protocol T0848 (Rogue
Master); unanswered attempts T0846 (Remote System Discovery); remote services T0886; new
functions by class (write T0855/T0836, control T0855, program T0843/T0845, config T0836,
read T0801/T0861, identify/diagnostics T0888); new write ranges T0836 (Modify Parameter) and
T0855 (Unauthorized Command Message); polling changes T0814 (Denial of Service) with T0806
(Brute Force I/O) when faster, T0856 (Spoof Reporting Message) when slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from otshield.detect.alert import AlertSink, make_alert
from otshield.detect.baseline.fields import QUIET_PROTOCOLS
from otshield.detect.baseline.model import AssetModel, Baseline, Limits, PairModel, PollModel
from otshield.detect.baseline.state import EventInfo, PairState, ZoneState, is_industrial, is_mac
from otshield.errors import ConfigError
from otshield.events import Event, FlowEvent

if TYPE_CHECKING:
    from otshield.detect.attack import AttackTable
    from otshield.detect.context import AssetContext

__all__ = ["BaselineAlerts"]

_SEVERITY_BY_CLASS = {"program": "high", "control": "high", "config": "high",
                      "security": "medium", "write": "medium"}
"""New function severity by function class (anything else: low). Security functions (log-on,
session and secure-channel set-up, DNP3 authentication) are routine parts of new sessions."""
_TECHNIQUES_BY_CLASS: dict[str, tuple[str, ...]] = {
    "program": ("T0843", "T0845"), "control": ("T0855",), "config": ("T0836",),
    "write": ("T0855", "T0836"), "read": ("T0801", "T0861"), "identify": ("T0888",),
    "diagnostics": ("T0888",), "security": ("T0855",), "other": ("T0855",)}
_REMOTE_SERVICES = frozenset({"ssh", "rdp", "smb", "telnet", "ftp", "tcp/5900", "tcp/5985",
                              "tcp/5986"})
_SAFETY_BUMP = {"low": "medium", "medium": "high", "high": "critical", "critical": "critical"}


@cache
def _attack() -> AttackTable | None:
    try:
        from otshield.detect.attack import load_attack_table

        return load_attack_table()
    except (ImportError, ConfigError, OSError):
        return None


class BaselineAlerts:
    """Alert builders of :class:`~otshield.detect.baseline.detector.BaselineDetector` (a mixin:
    the detector owns the state named below)."""

    baseline: Baseline
    context: AssetContext
    sink: AlertSink
    limits: Limits
    _assets: dict[str, AssetModel | None]
    _by_server: dict[str, list[tuple[str, PairModel]]]
    _zones: dict[str, ZoneState]
    _marks: set[str]
    _capacity: set[str]
    _info: dict[type[Event], EventInfo]

    def _emit(self, e: Event, rule: str, title: str, severity: str, confidence: str,
              description: str, response: str, techniques: Sequence[str], client: str,
              server: str, key: str, details: dict[str, str], safety_of: str = "") -> None:
        ctx = self.context
        if safety_of and ctx.safety(safety_of):
            severity = _SAFETY_BUMP.get(severity, severity)
            details["safety"] = f"{safety_of} is tagged safety-critical"
        immature = self._immature()
        if immature and severity != "info":
            severity, confidence = "low", "low"
            details["maturity"] = immature
        attack = _attack()
        known = [t for t in techniques if attack is None or attack.get(t) is not None]
        tactics = attack.tactics_of(known) if attack is not None else ()
        source = dest = None
        if client:
            source = ctx.ref("", client) if is_mac(client) else ctx.ref(client)
        if server:
            dest = ctx.ref("", server) if is_mac(server) else ctx.ref(server)
        self.sink(make_alert(
            e, rule_id=rule, title=title, severity=severity, confidence=confidence,
            category="baseline", description=description, response=response,
            techniques=known, tactics=tactics, source=source, destination=dest,
            key=f"{rule}|{key}", details={"baseline": title, **details}))

    def _immature(self) -> str:
        """Why the baseline is too young to be trusted at medium or above ("" when it is not):
        learnt over less than ``learning.mature_seconds`` of packet time or fewer than
        ``learning.mature_events`` events, site-wide."""
        learning = self.baseline.learning
        zones = [z for z in self.baseline.zones.values() if z.events]
        events = sum(z.events for z in zones)
        span = (max(z.last_ts for z in zones) - min(z.first_ts for z in zones)) if zones else 0.0
        if span < learning.mature_seconds or events < learning.mature_events:
            return (f"baseline immature: learnt {events:,} events over {span:,.0f} s (mature "
                    f"from {learning.mature_events:,} events and {learning.mature_seconds:,.0f} "
                    "s): severity capped at low")
        return ""

    def _capacity_alert(self, e: Event, zone: str, table: str, cap: int) -> None:
        mark = f"{zone}|{table}"
        if mark in self._capacity:
            return
        self._capacity.add(mark)
        where = f"zone {zone}" if zone else "the site"
        self._emit(e, "baseline.capacity", "Baseline table full", "low", "high",
                   f"The baseline table of {table} for {where} reached its cap of {cap}: "
                   "further new items are neither learnt nor alerted.",
                   "Review the baseline (otshield baseline show) for unexpected growth, e.g. "
                   "a scan during learning; raise the limit in the baseline file if the plant "
                   "is that large.", (), "", "", mark, {"table": table, "cap": str(cap)})

    def _alert_new_asset(self, e: Event, zone: str, addr: str, industrial_client: bool) -> None:
        where = f" in zone {zone}" if zone else ""
        zone_state = self._zones.get(zone)
        known = len(zone_state.model.assets) if zone_state is not None else 0
        proto = self._info[type(e)].protocol if type(e) in self._info else ""
        what = f" as a client of {proto}" if industrial_client else ""
        sent = e.src_ip == addr or getattr(e, "src_mac", "") == addr
        self._emit(
            e, "baseline.new_asset", "New asset", "medium" if industrial_client else "low",
            "high",
            f"{addr} appeared{where}{what}; it is not among the {known} assets learnt "
            f"{'there' if zone else 'on the site'}.",
            "Identify the device and its owner. If it belongs, add it to the baseline "
            f"(otshield baseline edit --allow asset:{addr}); if not, find its switch port and "
            "isolate it.",
            ("T0848",) if industrial_client else (), addr if sent else "",
            "" if sent else addr, addr, {"asset": addr, "zone": zone})

    def _alert_new_talker(self, e: Event, pair: PairState, info: EventInfo | None) -> None:
        client, server, protocol = pair.client, pair.server, pair.protocol
        # a first use of the protocol by either side says more than a new pair
        server_asset = self._assets.get(server)
        client_asset = self._assets.get(client)
        answered = not isinstance(e, FlowEvent) or e.bytes_to_client > 0
        side = ""
        if answered and server_asset is not None and protocol not in server_asset.serves and \
                self._asset_known(server):
            side = "server"
        elif answered and client_asset is not None and protocol not in client_asset.uses and \
                self._asset_known(client):
            side = "client"
        industrial = is_industrial(protocol)
        peers = [c for c, _ in self._by_server.get(f"{server} {protocol}", ())][:5]
        learnt = f"learnt {protocol} clients of {server}: {', '.join(peers)}" if peers else \
            f"no {protocol} client of {server} was learnt"
        if side:
            mark = f"{side} {client if side == 'client' else server} {protocol}"
            if mark not in self._marks and len(self._marks) < self.limits.new_items:
                self._marks.add(mark)
                asset = server_asset if side == "server" else client_asset
                assert asset is not None
                before = sorted(asset.serves if side == "server" else asset.uses)
                who = server if side == "server" else client
                verb = "serves" if side == "server" else "uses"
                severity = "low" if protocol in QUIET_PROTOCOLS else "medium"
                techniques: tuple[str, ...] = ("T0886",) if protocol in _REMOTE_SERVICES else \
                    ("T0848",) if industrial and side == "client" else ("T0869",)
                self._emit(
                    e, "baseline.new_protocol", "New protocol for an asset", severity, "high",
                    f"{who} now {verb} {protocol} ({client} -> {server}); learnt: "
                    f"{', '.join(before) if before else 'none'}.",
                    "Find out why the asset started using this protocol (new software, "
                    "maintenance, or an intruder's tool). If expected, allow it: otshield "
                    f"baseline edit --allow talker:{client},{server},{protocol}.",
                    techniques, client, server, mark,
                    {"protocol": protocol, "side": side, "learnt": ", ".join(before)},
                    safety_of=server if side == "server" else "")
                return
        if not answered:
            # unanswered attempts (a scan): one merged alert per client and protocol
            self._emit(
                e, "baseline.new_talker", "New talker pair (unanswered)", "low", "medium",
                f"{client} tried {protocol} to {server} (no answer) for the first time; "
                f"{learnt}. Further unanswered attempts of {client} over {protocol} are "
                "counted in this alert.",
                "Find out what the client is looking for: attempts to many addresses or ports "
                "that were never used are a scan.",
                ("T0846",), client, "", f"{client}|*|{protocol}", {"protocol": protocol})
            return
        severity = "medium" if industrial else "low"
        techniques = ("T0886",) if protocol in _REMOTE_SERVICES else \
            ("T0848",) if industrial else ()
        self._emit(
            e, "baseline.new_talker", "New talker pair", severity, "high",
            f"{client} talked {protocol} to {server} for the first time; {learnt}.",
            "Check that this client is meant to talk to this server (a new HMI or engineering "
            "laptop, or a rogue master?). If expected, allow it: otshield baseline edit "
            f"--allow talker:{client},{server},{protocol}.",
            techniques, client, server, pair.key, {"protocol": protocol}, safety_of=server)

    def _asset_known(self, addr: str) -> bool:
        return any(addr in z.model.assets for z in self._zones.values())

    def _alert_new_function(self, e: Event, pair: PairState, code: str, name: str,
                            fclass: str) -> None:
        severity = _SEVERITY_BY_CLASS.get(fclass, "low")
        learnt_fns = pair.model.functions if pair.known else {
            c: f for _, p in self._by_server.get(f"{pair.server} {pair.protocol}", ())
            for c, f in p.functions.items()}
        shown = ", ".join(f"{f.name or c} ({c})" for c, f in sorted(learnt_fns.items())[:8]
                          if c != code or pair.known)
        whose = "this pair" if pair.known else f"any client of {pair.server}"
        unit = getattr(e, "unit_id", None)
        on = f" unit {unit}" if isinstance(unit, int) else ""
        self._emit(
            e, "baseline.new_function", "New function code", severity,
            "high" if fclass in _SEVERITY_BY_CLASS else "medium",
            f"{pair.client} used {pair.protocol} {name or code} (code {code}, {fclass}) on "
            f"{pair.server}{on}; learnt for {whose}: {shown or 'none'}.",
            "Confirm with the control engineers that this operation was intended (who, which "
            "tool, which change ticket). Unexpected write, control or program functions on a "
            "controller call for isolating the client and checking the controller's logic and "
            "set-points. If expected, allow it: otshield baseline edit --allow "
            f"function:{pair.client},{pair.server},{pair.protocol},{code}.",
            _TECHNIQUES_BY_CLASS.get(fclass, ("T0855",)), pair.client, pair.server,
            # a pair first seen while protecting (already a new-talker alert): its new functions
            # merge per class, so a new master's whole repertoire is a few alerts, not dozens
            f"{pair.key}|{code}" if pair.known else f"{pair.key}|class:{fclass}",
            {"function": code, "function_name": name, "function_class": fclass},
            safety_of=pair.server if severity != "low" else "")

    def _alert_new_write(self, e: Event, pair: PairState, area: str, first: int | None,
                         last: int | None, learnt: list[tuple[int, int]] | None) -> None:
        written = "" if first is None or last is None else (
            f" {first}" if first == last else f" {first}-{last}")
        if learnt is None:
            before = f"{area} was never written" + ("" if pair.known else
                                                    f" by any client of {pair.server}")
            severity = "high"
        else:
            before = "learnt writes: " + (", ".join(
                f"{a}" if a == b else f"{a}-{b}" for a, b in learnt[:8]) or "(named items)")
            severity = "medium"
        self._emit(
            e, "baseline.new_write_range", "New write range", severity, "high",
            f"{pair.client} wrote {area}{written} on {pair.server} ({pair.protocol}); "
            f"{before}.",
            "Check with operations whether this value change was intended and what it controls "
            "(set-point, output, configuration). If not, restore the values and block the "
            "client; if it was, allow it: otshield baseline edit --allow "
            f"write:{pair.client},{pair.server},{pair.protocol},{area},"
            f"{first if first is not None else ''}-{last if last is not None else ''}.",
            ("T0836", "T0855"), pair.client, pair.server, f"{pair.key}|{area}|{first}",
            {"area": area, "range": written.strip(),
             "learnt": before}, safety_of=pair.server)

    def _alert_polling(self, e: Event, pair: PairState, pkey: str, model: PollModel,
                       recent: float) -> None:
        faster = recent < model.median
        ratio = (model.median / recent if recent else float("inf")) if faster else (
            recent / model.median if model.median else float("inf"))
        severity = "medium" if faster and ratio >= 4 else "low"
        techniques = ("T0814", "T0806") if faster else ("T0814", "T0856")
        what = model.name or pkey
        self._emit(
            e, "baseline.polling_change", "Unusual polling period", severity, "medium",
            f"{pair.client} now polls {pair.server} ({pair.protocol} {what}, key {pkey}) every "
            f"{recent:.3f} s; learnt {model.median:.3f} s (MAD {model.mad:.3f} s, 90% between "
            f"{model.low:.3f} and {model.high:.3f} s, {model.count} intervals).",
            "A faster loop can be a second master, a flood or an attack tool; a slower one a "
            "failing link or a master that was replaced. Compare with the master's "
            "configuration.", techniques, pair.client, pair.server, f"{pair.key}|{pkey}",
            {"poll": pkey, "period": f"{recent:.6f}", "learnt_median": f"{model.median:.6f}",
             "learnt_mad": f"{model.mad:.6f}"})

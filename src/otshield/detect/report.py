"""The ``otshield analyze`` report: for a person at a terminal, for a ticket, for a machine.

Three renderings of one :class:`~otshield.detect.analyze.Analysis`, with the same content:

- :func:`print_analysis`: terminal text (rich): a header (captures, packets, time span,
  detectors, rules, ATT&CK release), the alert counts, the alerts grouped by severity (most
  severe first), the zones-and-conduits policy violations in their own section, an asset
  summary and the input problems. Each alert gives what an analyst needs to check it: the rule,
  how often and when (UTC), who talked to whom (with the asset's name, zone, Purdue level and
  roles), the ATT&CK for ICS techniques with their names and tactics, how sure the detector is,
  why it matters, what to do, and the frames to open in Wireshark (``frame.number == 1234``).
  Long lists end with "... and N more"; ``verbose`` shows everything, plus the evidence events.
  Written for 100 columns; rich leaves colour out when the output is not a terminal.
- :func:`analysis_markdown`: the same as Markdown, for tickets and wikis.
- :func:`analysis_json`: a stable JSON document (below), for SIEMs and scripts.
- :func:`exit_code`: what ``otshield analyze`` returns.

The JSON document (``schema: otshield.analysis``, ``schema_version: 1``; its JSON Schema is
:func:`report_schema`):

``generator``
    ``otshield <version>``.
``summary``
    ``captures`` (as given), ``packets``, ``first_seen``/``last_seen`` (packet time, UTC ISO
    8601) with ``first_ts``/``last_ts`` (epoch seconds) and ``span_seconds`` (packet time
    covered), ``detectors``, ``rules`` (loaded), ``attack_version``, ``alerts`` (merged alerts),
    ``occurrences`` (sum of their counts), ``by_severity`` (every severity, most severe first,
    zeros included), ``by_category`` (``rule``, ``policy``, ``baseline``, ``intel``),
    ``highest_severity`` (null without alerts) and ``seconds`` (wall-clock run time: the only
    field that differs between two runs over the same input).
``options``
    The analysis options as given (rule files, site file, intel, baseline mode...).
``alerts``
    The merged alerts, most severe first, each exactly as ``alert.jsonl`` writes it (Elastic
    Common Schema names: ``rule.id``, ``event.severity``, ``threat.technique.id``...), plus
    ``threat.technique.name`` (names from the ATT&CK table, same order as the ids).
``inventory``
    ``assets`` (count), ``by_role`` and ``by_level`` (``"unknown"`` for no level) counts,
    ``zones`` (name, level, source, asset count), ``conduits`` (count) and ``controllers``
    (id, name, addresses, vendor, product, version, zone, level).
``problems``
    Input problems (captures cut short, detector errors), as sentences.

Fields are only ever added within a schema version; a rename or removal bumps it.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from otshield import __version__
from otshield.detect.alert import SEVERITIES, Alert, AssetRef, severity_at_least
from otshield.errors import ConfigError, OtshieldError

if TYPE_CHECKING:
    from otshield.detect.analyze import Analysis
    from otshield.detect.attack import AttackTable
    from otshield.inventory.model import AssetRecord, InventorySnapshot

__all__ = [
    "EXIT_ALERTS",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "analysis_json",
    "analysis_markdown",
    "analysis_report",
    "exit_code",
    "print_analysis",
    "report_schema",
]

SCHEMA = "otshield.analysis"
SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_PROBLEMS = 1
"""No alert at or above the threshold, but some input could not be read whole."""
EXIT_ALERTS = 3
"""At least one alert at or above the threshold (``--fail-on``, default high)."""

_MOST_SEVERE_FIRST: tuple[str, ...] = tuple(reversed(SEVERITIES))
_CATEGORY_LABEL = {"baseline": "baseline", "intel": "threat intel", "policy": "policy"}
"""Categories labelled in the alert's heading (plain rules are not labelled)."""

# Bounds of the non-verbose report: enough to act on, short enough to read.
_MAX_ALERTS = {"critical": 50, "high": 50, "medium": 25, "low": 10, "info": 10}
"""Alerts shown per severity: the severe ones nearly always, the rest in short."""
_MAX_FRAMES = 8
_MAX_CONTROLLERS = 15
_MAX_PROBLEMS = 10
_MAX_EVIDENCE_CHARS = 400


# -- the JSON document --------------------------------------------------------------------------
class ReportSummary(msgspec.Struct, kw_only=True):
    captures: list[str]
    packets: int
    first_seen: str
    last_seen: str
    first_ts: float
    last_ts: float
    span_seconds: float
    detectors: list[str]
    rules: int
    attack_version: str
    alerts: int
    occurrences: int
    by_severity: dict[str, int]
    by_category: dict[str, int]
    highest_severity: str | None
    seconds: float


class ZoneSummary(msgspec.Struct, kw_only=True):
    name: str
    level: int | None
    source: str
    assets: int


class ControllerSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    ips: list[str]
    macs: list[str]
    vendor: str
    product: str
    version: str
    zone: str
    level: int | None


class InventorySummary(msgspec.Struct, kw_only=True):
    assets: int
    by_role: dict[str, int]
    by_level: dict[str, int]
    zones: list[ZoneSummary]
    conduits: int
    controllers: list[ControllerSummary]


class AnalysisReport(msgspec.Struct, kw_only=True):
    """The JSON document of :func:`analysis_json`. ``alerts`` hold the Alert records' ECS JSON
    objects (see :class:`~otshield.detect.alert.Alert`)."""

    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION
    generator: str = f"otshield {__version__}"
    summary: ReportSummary
    options: dict[str, Any]
    alerts: list[dict[str, Any]]
    inventory: InventorySummary
    problems: list[str]


def utc_iso(ts: float) -> str:
    """Packet time as UTC ISO 8601 with milliseconds (``2026-01-01T00:00:00.000Z``)."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _load_table(analysis: Analysis, attack: AttackTable | None) -> AttackTable | None:
    """The table technique names come from: the caller's, else the one the run used."""
    if attack is not None:
        return attack
    from otshield.detect.attack import load_attack_table

    bundle = analysis.options.attack_bundle
    try:
        return load_attack_table(Path(bundle) if bundle else None)
    except OtshieldError:
        return None  # ids alone are still right; names are a convenience


def _counts(analysis: Analysis) -> dict[str, int]:
    found = analysis.counts()
    return {s: found.get(s, 0) for s in _MOST_SEVERE_FIRST}


def _summary(analysis: Analysis) -> ReportSummary:
    by_category = Counter(a.category or "rule" for a in analysis.alerts)
    highest = max((a.severity for a in analysis.alerts), key=SEVERITIES.index, default=None) \
        if analysis.alerts else None
    return ReportSummary(
        captures=list(analysis.captures), packets=analysis.packets,
        first_seen=utc_iso(analysis.first_ts), last_seen=utc_iso(analysis.last_ts),
        first_ts=analysis.first_ts, last_ts=analysis.last_ts,
        span_seconds=round(max(0.0, analysis.last_ts - analysis.first_ts), 6),
        detectors=list(analysis.detectors), rules=analysis.rules,
        attack_version=analysis.attack_version, alerts=len(analysis.alerts),
        occurrences=sum(a.count for a in analysis.alerts), by_severity=_counts(analysis),
        by_category=dict(sorted(by_category.items())), highest_severity=highest,
        seconds=round(analysis.seconds, 3))


def _roles(asset: AssetRecord) -> list[str]:
    return [r.role for r in asset.roles]


def _address_key(ip: str) -> tuple[int, int]:
    """Addresses in numeric order (10.0.0.2 before 10.0.0.10); non-IP last."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (addr.version, int(addr))


def _inventory_summary(snap: InventorySnapshot) -> InventorySummary:
    by_role: Counter[str] = Counter()
    by_level: Counter[str] = Counter()
    controllers: list[ControllerSummary] = []
    for asset in snap.assets:
        roles = _roles(asset)
        by_role.update(roles)
        by_level["unknown" if asset.purdue_level is None else str(asset.purdue_level)] += 1
        if "controller" in roles:
            controllers.append(ControllerSummary(
                id=asset.id, name=asset.name, ips=list(asset.ips), macs=list(asset.macs),
                vendor=asset.vendor, product=asset.product, version=asset.version,
                zone=asset.zone, level=asset.purdue_level))
    controllers.sort(key=lambda c: (c.level if c.level is not None else 9, c.zone,
                                    _address_key(c.ips[0] if c.ips else ""), c.id))
    return InventorySummary(
        assets=len(snap.assets), by_role=dict(sorted(by_role.items())),
        by_level=dict(sorted(by_level.items())),
        zones=[ZoneSummary(name=z.name, level=z.purdue_level, source=z.source,
                           assets=len(z.assets)) for z in snap.zones],
        conduits=len(snap.conduits), controllers=controllers)


def _alert_json(alert: Alert, table: AttackTable | None) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(alert)
    if alert.techniques:
        out["threat.technique.name"] = [_technique_name(t, table) for t in alert.techniques]
    return out


def analysis_report(analysis: Analysis, *, attack: AttackTable | None = None) -> AnalysisReport:
    """The JSON document as a record (for callers that add to it before writing)."""
    table = _load_table(analysis, attack)
    options: dict[str, Any] = msgspec.to_builtins(analysis.options)
    return AnalysisReport(
        summary=_summary(analysis), options=options,
        alerts=[_alert_json(a, table) for a in analysis.alerts],
        inventory=_inventory_summary(analysis.inventory), problems=list(analysis.problems))


def analysis_json(analysis: Analysis, *, attack: AttackTable | None = None) -> bytes:
    """The report as a JSON document (UTF-8, indented, keys in a fixed order, newline at end)."""
    raw = msgspec.json.encode(analysis_report(analysis, attack=attack))
    return msgspec.json.format(raw, indent=2) + b"\n"


def report_schema() -> dict[str, Any]:
    """JSON Schema of the document :func:`analysis_json` writes (alerts as free objects)."""
    schema: dict[str, Any] = msgspec.json.schema(AnalysisReport)
    return schema


# -- exit status --------------------------------------------------------------------------------
def exit_code(analysis: Analysis, fail_on: str = "high") -> int:
    """3 when an alert at or above ``fail_on`` was found, else 1 when some input could not be
    read whole (``analysis.problems``), else 0."""
    if fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    if any(severity_at_least(a.severity, fail_on) for a in analysis.alerts):
        return EXIT_ALERTS
    return EXIT_PROBLEMS if analysis.problems else EXIT_OK


# -- shared wording -----------------------------------------------------------------------------
def _technique_name(tid: str, table: AttackTable | None) -> str:
    tech = table.get(tid) if table is not None else None
    return tech.name if tech is not None else ""


def _techniques(alert: Alert, table: AttackTable | None) -> str:
    return ", ".join(f"{t} {name}" if (name := _technique_name(t, table)) else t
                     for t in alert.techniques)


def _tactics(alert: Alert, table: AttackTable | None) -> str:
    names = {t.shortname: t.name for t in table.tactics} if table is not None else {}
    return ", ".join(names.get(t, t) for t in alert.tactics)


def _endpoint(ref: AssetRef | None, ip: str, mac: str, port: int) -> str:
    """``10.0.0.5:502 PLC-1 (Control, level 1, controller)``."""
    address = (ref.ip or ref.mac) if ref is not None else ""
    address = address or ip or mac or "?"
    if port and (ref is None or ref.ip or ip):
        address = f"[{address}]:{port}" if ":" in address and "." not in address \
            else f"{address}:{port}"
    if ref is None:
        return address
    facts = []
    if ref.zone:
        facts.append(ref.zone)
    if ref.level is not None:
        facts.append(f"level {ref.level}")
    if ref.roles:
        facts.append(", ".join(ref.roles))
    if ref.safety:
        facts.append("SAFETY")
    name = f" {ref.name}" if ref.name else ""
    return f"{address}{name}" + (f" ({'; '.join(facts)})" if facts else "")


def _label(alert: Alert) -> str:
    return _CATEGORY_LABEL.get(alert.category, "")


def _frames(frames: Sequence[int], verbose: bool) -> str:
    shown = frames if verbose else frames[:_MAX_FRAMES]
    text = ", ".join(str(f) for f in shown)
    if len(frames) > len(shown):
        text += f" ... and {len(frames) - len(shown)} more"
    return text


def _seen(alert: Alert) -> str:
    first = utc_iso(alert.first_seen or alert.ts)
    if alert.count > 1 and alert.last_seen > (alert.first_seen or alert.ts):
        return f"{first} .. {utc_iso(alert.last_seen)}"
    return first


def _details(alert: Alert) -> str:
    return "; ".join(f"{k}: {v}" for k, v in sorted(alert.details.items()))


def _evidence_line(event: dict[str, Any]) -> str:
    skip = {"@timestamp", "flow_id", "network.community_id"}
    text = " ".join(f"{k}={v}" for k, v in event.items() if k not in skip and v not in ("", None))
    return text if len(text) <= _MAX_EVIDENCE_CHARS else text[:_MAX_EVIDENCE_CHARS] + " ..."


def _split(alerts: Iterable[Alert]) -> tuple[list[Alert], list[Alert]]:
    """(detections, policy violations)."""
    detections: list[Alert] = []
    policy: list[Alert] = []
    for alert in alerts:
        (policy if alert.category == "policy" else detections).append(alert)
    return detections, policy


def _by_severity(alerts: Iterable[Alert]) -> list[tuple[str, list[Alert]]]:
    groups: dict[str, list[Alert]] = {s: [] for s in _MOST_SEVERE_FIRST}
    for alert in alerts:
        groups.setdefault(alert.severity, []).append(alert)
    return [(s, g) for s, g in groups.items() if g]


def _span(analysis: Analysis) -> str:
    if not analysis.first_ts:
        return "no packets"
    seconds = max(0.0, analysis.last_ts - analysis.first_ts)
    if seconds < 120:
        length = f"{seconds:.1f} s"
    elif seconds < 7200:
        length = f"{seconds / 60:.1f} min"
    else:
        length = f"{seconds / 3600:.1f} h"
    return f"{utc_iso(analysis.first_ts)} .. {utc_iso(analysis.last_ts)} ({length})"


def _counts_line(analysis: Analysis) -> str:
    counts = _counts(analysis)
    occurrences = sum(a.count for a in analysis.alerts)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items())
    return (f"{_plural(len(analysis.alerts), 'alert')} "
            f"({_plural(occurrences, 'occurrence')}): {parts}")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _level_name(level: str) -> str:
    return "unknown" if level == "unknown" else f"level {level}"


# -- terminal -----------------------------------------------------------------------------------
_SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                   "low": "cyan", "info": "dim"}


def _alert_block(n: int, alert: Alert, table: AttackTable | None,
                 verbose: bool) -> RenderableType:
    head = Text()
    head.append(f"#{n} ", style="dim")
    head.append(alert.title, style="bold")
    if alert.count > 1:
        head.append(f"  x{alert.count:,}")
    if label := _label(alert):
        head.append(f"  [{label}]", style="magenta")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")

    def row(label: str, value: str) -> None:
        if value:
            grid.add_row(label, Text(value))

    row("rule", f"{alert.rule_id} (confidence {alert.confidence})")
    row("seen", _seen(alert))
    row("from", _endpoint(alert.source, alert.src_ip, alert.src_mac, alert.src_port
                          if alert.src_port and not alert.dst_port else 0))
    row("to", _endpoint(alert.destination, alert.dst_ip, alert.dst_mac, alert.dst_port))
    row("protocol", alert.protocol)
    row("ATT&CK", _techniques(alert, table))
    row("tactics", _tactics(alert, table))
    row("what", alert.description)
    row("details", _details(alert))
    row("response", alert.response)
    row("frames", _frames(alert.frames, verbose))
    if verbose:
        for i, event in enumerate(alert.evidence):
            row("evidence" if i == 0 else "", _evidence_line(event))
    return Group(head, Padding(grid, (0, 0, 0, 3)))


def _print_alerts(out: Console, alerts: list[Alert], table: AttackTable | None, verbose: bool,
                  start: int) -> int:
    n = start
    for severity, group in _by_severity(alerts):
        out.print(Text(f"{severity.upper()} ({len(group)})",
                       style=_SEVERITY_STYLE.get(severity, "")))
        shown = group if verbose else group[:_MAX_ALERTS.get(severity, 10)]
        for alert in shown:
            n += 1
            out.print(_alert_block(n, alert, table, verbose))
            out.print()
        if len(group) > len(shown):
            n += len(group) - len(shown)
            out.print(Text(f"... and {len(group) - len(shown)} more {severity} alerts "
                           "(--verbose shows all)", style="dim"))
            out.print()
    return n


def _print_assets(out: Console, snap: InventorySnapshot, verbose: bool) -> None:
    inv = _inventory_summary(snap)
    out.print(Rule(f"Assets ({inv.assets})", align="left"))
    if not inv.assets:
        out.print("no assets seen")
        return
    levels = ", ".join(f"{_level_name(k)}: {v}" for k, v in inv.by_level.items())
    roles = ", ".join(f"{k}: {v}" for k, v in
                      sorted(inv.by_role.items(), key=lambda kv: (-kv[1], kv[0])))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Purdue", Text(levels))
    grid.add_row("roles", Text(roles or "none inferred"))
    if inv.zones:
        grid.add_row("zones", Text(", ".join(
            f"{z.name} ({_level_name(str(z.level)) if z.level is not None else 'no level'}, "
            f"{_plural(z.assets, 'asset')})" for z in inv.zones)))
    grid.add_row("conduits", Text(f"{inv.conduits} (client, server, protocol)"))
    out.print(grid)
    if inv.controllers:
        shown = inv.controllers if verbose else inv.controllers[:_MAX_CONTROLLERS]
        t = Table(title=f"Controllers ({len(inv.controllers)})", title_justify="left",
                  expand=False, box=box.SIMPLE_HEAD)
        for col in ("level", "name", "address", "vendor", "product", "version", "zone"):
            t.add_column(col, overflow="fold")
        for c in shown:
            t.add_row("?" if c.level is None else str(c.level), c.name,
                      " ".join((c.ips or c.macs)[:2]), c.vendor, c.product, c.version, c.zone)
        out.print(t)
        if len(inv.controllers) > len(shown):
            out.print(Text(f"... and {len(inv.controllers) - len(shown)} more controllers "
                           "(--verbose shows all)", style="dim"))


def print_analysis(analysis: Analysis, console: Console, *, attack: AttackTable | None = None,
                   verbose: bool = False) -> None:
    """The readable report of ``analysis`` on ``console`` (see the module docstring).

    ``attack`` is the technique table names come from; by default the one the analysis used
    (the shipped table, or ``options.attack_bundle`` read again: pass the table when you
    already have it)."""
    out = console
    table = _load_table(analysis, attack)
    captures = len(analysis.captures)
    out.print(Text("otshield analysis", style="bold"))
    head = Table.grid(padding=(0, 1))
    head.add_column(style="dim", no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row("captures", Text(f"{captures}: " + ", ".join(analysis.captures)
                                  if captures else "none"))
    head.add_row("packets", Text(f"{analysis.packets:,}"))
    head.add_row("time", Text(_span(analysis)))
    head.add_row("detectors", Text(", ".join(analysis.detectors) or "none"))
    head.add_row("rules", Text(f"{analysis.rules:,} loaded"))
    head.add_row("ATT&CK", Text(f"ATT&CK for ICS v{analysis.attack_version}"
                                if analysis.attack_version else "no technique table"))
    if analysis.options.min_severity != "info":
        head.add_row("shown", Text(f"alerts at {analysis.options.min_severity} or above"))
    head.add_row("alerts", Text(_counts_line(analysis)))
    out.print(head)
    out.print()
    detections, policy = _split(analysis.alerts)
    out.print(Rule(f"Alerts ({len(detections)})", align="left"))
    if not detections:
        out.print("no alerts")
        out.print()
    n = _print_alerts(out, detections, table, verbose, 0)
    if policy:
        out.print(Rule(f"Policy violations ({len(policy)})", align="left"))
        _print_alerts(out, policy, table, verbose, n)
    _print_assets(out, analysis.inventory, verbose)
    if analysis.problems:
        out.print()
        out.print(Rule(f"Problems ({len(analysis.problems)})", align="left"))
        shown = analysis.problems if verbose else analysis.problems[:_MAX_PROBLEMS]
        for problem in shown:
            out.print(Text(f"- {problem}"))
        if len(analysis.problems) > len(shown):
            out.print(Text(f"... and {len(analysis.problems) - len(shown)} more problems "
                           "(--verbose shows all)", style="dim"))


# -- Markdown -----------------------------------------------------------------------------------
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def _md(text: str) -> str:
    """Free text made safe for Markdown (no accidental emphasis, links, tables or HTML)."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`" if text else ""


def _md_alerts(lines: list[str], alerts: list[Alert], table: AttackTable | None,
               verbose: bool) -> None:
    for severity, group in _by_severity(alerts):
        lines += [f"### {severity.capitalize()} ({len(group)})", ""]
        shown = group if verbose else group[:_MAX_ALERTS.get(severity, 10)]
        for alert in shown:
            label = f" \\[{_label(alert)}\\]" if _label(alert) else ""
            times = f" (x{alert.count:,})" if alert.count > 1 else ""
            lines += [f"#### {_md(alert.title)}{label}{times}", ""]
            facts = [("Rule", _code(alert.rule_id)), ("Seen (UTC)", _md(_seen(alert))),
                     ("From", _md(_endpoint(alert.source, alert.src_ip, alert.src_mac, 0))),
                     ("To", _md(_endpoint(alert.destination, alert.dst_ip, alert.dst_mac,
                                          alert.dst_port))),
                     ("Protocol", _code(alert.protocol)),
                     ("ATT&CK for ICS", _md(_techniques(alert, table))),
                     ("Tactics", _md(_tactics(alert, table))),
                     ("Confidence", alert.confidence), ("What", _md(alert.description)),
                     ("Details", _md(_details(alert))), ("Response", _md(alert.response)),
                     ("Frames", _md(_frames(alert.frames, verbose)))]
            lines += [f"- **{k}:** {v}" for k, v in facts if v]
            if verbose:
                lines += [f"- **Evidence:** {_code(_evidence_line(e))}" for e in alert.evidence]
            lines.append("")
        if len(group) > len(shown):
            lines += [f"... and {len(group) - len(shown)} more {severity} alerts", ""]


def analysis_markdown(analysis: Analysis, *, attack: AttackTable | None = None,
                      verbose: bool = False) -> str:
    """The report as Markdown: the content of :func:`print_analysis`."""
    table = _load_table(analysis, attack)
    lines = ["# otshield analysis", "", "## Summary", "",
             f"- **Captures:** {', '.join(_code(c) for c in analysis.captures) or 'none'}",
             f"- **Packets:** {analysis.packets:,}",
             f"- **Time (UTC):** {_md(_span(analysis))}",
             f"- **Detectors:** {', '.join(analysis.detectors) or 'none'}",
             f"- **Rules loaded:** {analysis.rules:,}",
             f"- **ATT&CK for ICS:** {'v' + analysis.attack_version if analysis.attack_version else 'none'}",  # noqa: E501
             f"- **Alerts:** {_md(_counts_line(analysis))}", ""]
    detections, policy = _split(analysis.alerts)
    lines += [f"## Alerts ({len(detections)})", ""]
    if not detections:
        lines += ["No alerts.", ""]
    _md_alerts(lines, detections, table, verbose)
    if policy:
        lines += [f"## Policy violations ({len(policy)})", ""]
        _md_alerts(lines, policy, table, verbose)
    inv = _inventory_summary(analysis.inventory)
    lines += [f"## Assets ({inv.assets})", ""]
    if inv.assets:
        lines += ["- **Purdue levels:** " + ", ".join(
                      f"{_level_name(k)}: {v}" for k, v in inv.by_level.items()),
                  "- **Roles:** " + (", ".join(f"{_md(k)}: {v}" for k, v in sorted(
                      inv.by_role.items(), key=lambda kv: (-kv[1], kv[0]))) or "none inferred"),
                  f"- **Conduits:** {inv.conduits}", ""]
    if inv.controllers:
        shown = inv.controllers if verbose else inv.controllers[:_MAX_CONTROLLERS]
        lines += [f"### Controllers ({len(inv.controllers)})", "",
                  "| level | name | address | vendor | product | version | zone |",
                  "|---|---|---|---|---|---|---|"]
        for c in shown:
            cells = ["?" if c.level is None else str(c.level), c.name,
                     " ".join((c.ips or c.macs)[:2]), c.vendor, c.product, c.version, c.zone]
            lines.append("| " + " | ".join(_md(x) for x in cells) + " |")
        if len(inv.controllers) > len(shown):
            lines += ["", f"... and {len(inv.controllers) - len(shown)} more controllers"]
        lines.append("")
    if analysis.problems:
        lines += [f"## Problems ({len(analysis.problems)})", ""]
        shown_p = analysis.problems if verbose else analysis.problems[:_MAX_PROBLEMS]
        lines += [f"- {_md(p)}" for p in shown_p]
        if len(analysis.problems) > len(shown_p):
            lines.append(f"- ... and {len(analysis.problems) - len(shown_p)} more")
        lines.append("")
    return "\n".join(lines)


"""``otshield baseline``: learn a baseline from captures, review it, edit it, check captures.

    otshield baseline learn normal-week.pcap -o plant.baseline.json --site site.yaml
    otshield baseline show plant.baseline.json
    otshield baseline edit plant.baseline.json --allow talker:10.0.0.9,10.0.0.2,modbus
    otshield baseline check today.pcap --baseline plant.baseline.json

``check`` exits 1 when it alerted, 0 when traffic matched the baseline (2 on errors, as every
otshield command).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otshield.detect.alert import SEVERITIES, Alert, severity_at_least
from otshield.detect.baseline.detector import BaselineDetector
from otshield.detect.baseline.edit import allow, forget, parse_entry
from otshield.detect.baseline.maintenance import load_maintenance, to_epoch
from otshield.detect.baseline.model import Baseline, load_baseline, save_baseline
from otshield.errors import ConfigError, OtshieldError

if TYPE_CHECKING:
    from otshield.detect.baseline.model import MaintenanceWindow

__all__ = ["register", "run_baseline"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``baseline`` and its verbs to the ``otshield`` command line."""
    p = sub.add_parser("baseline", help="learn, review, edit and check traffic baselines",
                       description="Learned baselines: what normal traffic looks like per zone "
                                   "(assets, talker pairs, functions, written ranges, polling "
                                   "periods), and alerts when traffic departs from it.")
    verbs = p.add_subparsers(dest="baseline_verb", required=True, metavar="VERB")

    lp = verbs.add_parser("learn", help="learn a baseline from captures of normal traffic")
    lp.add_argument("captures", nargs="+", type=Path, metavar="CAPTURE")
    lp.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                    help="baseline file to write (JSON)")
    lp.add_argument("--site", type=Path, help="site file: zones the baseline is kept per")
    lp.add_argument("--maintenance", type=Path, metavar="YAML",
                    help="maintenance windows to store in the baseline")
    lp.add_argument("--scope", choices=("site", "zone"),
                    help="learning period per site or per zone (for later auto mode)")
    lp.add_argument("--mature-seconds", type=float, metavar="S",
                    help="packet time learnt before deviations may alert above low severity "
                    "(default 600; 0: no maturity check)")
    lp.add_argument("--mature-events", type=int, metavar="N",
                    help="events learnt before deviations may alert above low (default 500)")
    group = lp.add_mutually_exclusive_group()
    group.add_argument("--update", action="store_true",
                       help="extend the existing file instead of refusing to replace it")
    group.add_argument("--force", action="store_true", help="replace an existing file")
    lp.set_defaults(func=_cmd_learn)

    sp = verbs.add_parser("show", help="review a baseline")
    sp.add_argument("file", type=Path, metavar="FILE")
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp.add_argument("--zone", help="only this zone")
    sp.set_defaults(func=_cmd_show)

    ep = verbs.add_parser("edit", help="allow or forget entries of a baseline",
                          description="Entries are KIND:FIELDS: asset:ADDR, "
                                      "talker:CLIENT,SERVER,PROTO, "
                                      "function:CLIENT,SERVER,PROTO,CODE[,NAME], "
                                      "write:CLIENT,SERVER,PROTO,AREA[,FIRST-LAST], "
                                      "poll:CLIENT,SERVER,PROTO,KEY (forget only).")
    ep.add_argument("file", type=Path, metavar="FILE")
    ep.add_argument("--allow", action="append", default=[], metavar="ENTRY",
                    help="add an entry so it stops alerting (repeatable)")
    ep.add_argument("--forget", action="append", default=[], metavar="ENTRY",
                    help="remove an entry so it alerts again (repeatable)")
    ep.add_argument("--zone", help="zone of the entries (default: the zone holding them)")
    ep.add_argument("--maintenance", type=Path, metavar="YAML",
                    help="add the maintenance windows of this file")
    ep.add_argument("--clear-maintenance", action="store_true",
                    help="remove every maintenance window first")
    ep.set_defaults(func=_cmd_edit)

    cp = verbs.add_parser("check", help="compare captures with a baseline and print alerts")
    cp.add_argument("captures", nargs="+", type=Path, metavar="CAPTURE")
    cp.add_argument("--baseline", required=True, type=Path, metavar="FILE")
    cp.add_argument("--site", type=Path, help="site file (zones, asset names, safety tags)")
    cp.add_argument("--maintenance", type=Path, metavar="YAML",
                    help="maintenance windows for this run (besides the file's)")
    cp.add_argument("--format", choices=("table", "json"), default="table")
    cp.add_argument("--min-severity", choices=SEVERITIES, default="info",
                    help="leave out alerts below this severity")
    cp.set_defaults(func=_cmd_check)


# -- running captures ------------------------------------------------------------------------------
def run_baseline(paths: list[Path], baseline: Baseline, mode: str, *, site: Path | None = None,
                 windows: list[MaintenanceWindow] | None = None,
                 err: Console | None = None) -> tuple[BaselineDetector, list[Alert]]:
    """Decode ``paths`` through the inventory and a baseline detector in ``mode``; returns the
    detector (its baseline updated when learning) and the merged alerts."""
    from otshield.config import Settings
    from otshield.detect.context import AssetContext
    from otshield.detect.pipeline import DetectionPipeline
    from otshield.engine import Engine, feed_captures
    from otshield.inventory import InventoryBuilder, load_site

    loaded = load_site(site) if site else None
    inventory = InventoryBuilder()
    context = AssetContext(loaded, inventory)
    pipeline = DetectionPipeline([], inventory=inventory)
    detector = BaselineDetector(baseline, context, pipeline.alert_sink, mode=mode,
                                windows=windows or ())
    pipeline.add(detector)
    engine = Engine(pipeline, Settings())
    for problem in feed_captures(engine, paths):
        if err is not None:
            err.print(f"[yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)
    engine.finish()
    pipeline.finish()
    if pipeline.errors:
        raise OtshieldError(f"the baseline detector failed on {pipeline.errors} event(s); "
                            "this is a bug, please report it")
    return detector, pipeline.alerts()


# -- verbs ---------------------------------------------------------------------------------------
def _cmd_learn(args: argparse.Namespace, out: Console, err: Console) -> int:
    path: Path = args.output
    if path.exists() and not (args.update or args.force):
        raise ConfigError(f"{path} exists: use --update to extend it or --force to replace it")
    baseline = load_baseline(path) if args.update and path.exists() else Baseline()
    if args.scope:
        baseline.learning.scope = args.scope
    if args.mature_seconds is not None:
        if args.mature_seconds < 0:
            raise ConfigError("--mature-seconds must not be negative")
        baseline.learning.mature_seconds = args.mature_seconds
    if args.mature_events is not None:
        if args.mature_events < 0:
            raise ConfigError("--mature-events must not be negative")
        baseline.learning.mature_events = args.mature_events
    if args.maintenance:
        baseline.maintenance.extend(load_maintenance(args.maintenance))
    detector, _ = run_baseline(list(args.captures), baseline, "learn", site=args.site, err=err)
    detector.save(path)
    zones = baseline.zones
    out.print(f"learnt {sum(z.events for z in zones.values()):,} events: "
              f"{sum(len(z.assets) for z in zones.values())} assets, "
              f"{sum(len(z.pairs) for z in zones.values())} talker pairs in {len(zones)} "
              f"zone(s) -> {path}", highlight=False)
    return 0


def _cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    baseline = load_baseline(args.file)
    if args.zone is not None and args.zone not in baseline.zones:
        raise ConfigError(f"{args.file}: no zone {args.zone!r} (zones: "
                          f"{', '.join(repr(z) for z in baseline.zones) or 'none'})")
    if args.format == "json":
        shown = baseline if args.zone is None else msgspec.structs.replace(
            baseline, zones={args.zone: baseline.zones[args.zone]})
        out.print_json(msgspec.json.encode(shown).decode())
        return 0
    render_baseline(baseline, out, args.zone)
    return 0


def _cells(*values: str) -> tuple[str, ...]:
    """Table cells as plain text (tag names like ``Tag[3]`` are not rich markup)."""
    return tuple(escape(v) for v in values)


def _span(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return "(named)"
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def render_baseline(baseline: Baseline, out: Console, only_zone: str | None = None) -> None:
    """The readable review: per zone, assets, talkers, functions, writes, polling periods."""
    learning = baseline.learning
    out.print(f"[bold]Baseline[/] {escape(baseline.site) or '(no site name)'} - version "
              f"{baseline.version}, updated {baseline.updated or 'never'}; learning "
              f"{learning.seconds:g} s / {learning.events or 'any number of'} events per "
              f"{learning.scope}", highlight=False)
    for w in baseline.maintenance:
        scope = ", ".join([*w.zones, *w.assets]) or "everything"
        out.print(f"maintenance {w.action}: {w.start.isoformat()} - {w.end.isoformat()} "
                  f"({scope}) {w.note}", markup=False, highlight=False)
    for name, zone in sorted(baseline.zones.items()):
        if only_zone is not None and name != only_zone:
            continue
        out.print(f"\n[bold]Zone {escape(name) or '(no zone)'}[/]: {zone.events:,} events learnt, "
                  f"{len(zone.assets)} assets, {len(zone.pairs)} talker pairs", highlight=False)
        assets = Table(title="Assets", title_justify="left")
        for col in ("asset", "serves", "uses"):
            assets.add_column(col)
        for addr, asset in sorted(zone.assets.items()):
            assets.add_row(*_cells(addr, ", ".join(sorted(asset.serves)),
                                   ", ".join(sorted(asset.uses))))
        out.print(assets)
        talkers = Table(title="Talker pairs and functions", title_justify="left")
        for col in ("client", "server", "protocol", "ports", "functions"):
            talkers.add_column(col)
        writes = Table(title="Written ranges", title_justify="left")
        for col in ("client", "server", "protocol", "area", "ranges"):
            writes.add_column(col)
        polls = Table(title="Polling periods (s)", title_justify="left")
        for col in ("client", "server", "protocol", "key", "name", "median", "MAD", "5%-95%",
                    "intervals"):
            polls.add_column(col)
        for key, pair in sorted(zone.pairs.items()):
            client, server, protocol = key.split(" ", 2)
            functions = ", ".join(f"{f.name or code} ({code}, {f.function_class})"
                                  for code, f in sorted(pair.functions.items()))
            talkers.add_row(*_cells(client, server, protocol,
                                    ", ".join(str(p) for p in sorted(pair.ports)), functions))
            for area, ranges in sorted(pair.writes.items()):
                writes.add_row(*_cells(client, server, protocol, area, _span(ranges)))
            for pkey, poll in sorted(pair.polls.items()):
                if poll.count:
                    polls.add_row(*_cells(client, server, protocol, pkey, poll.name,
                                          f"{poll.median:.3f}", f"{poll.mad:.3f}",
                                          f"{poll.low:.3f}-{poll.high:.3f}", str(poll.count)))
        out.print(talkers)
        if writes.row_count:
            out.print(writes)
        if polls.row_count:
            out.print(polls)


def _cmd_edit(args: argparse.Namespace, out: Console, err: Console) -> int:
    if not (args.allow or args.forget or args.maintenance or args.clear_maintenance):
        raise ConfigError("nothing to do: give --allow, --forget or --maintenance")
    baseline = load_baseline(args.file)
    # parse everything first: a typo in the third entry must not leave the first two applied
    allows = [parse_entry(text) for text in args.allow]
    forgets = [parse_entry(text) for text in args.forget]
    windows = load_maintenance(args.maintenance) if args.maintenance else []
    done: list[str] = []
    if args.clear_maintenance:
        done.append(f"removed {len(baseline.maintenance)} maintenance window(s)")
        baseline.maintenance.clear()
    for entry in allows:
        done.append(allow(baseline, entry, args.zone))
    for entry in forgets:
        done.append(forget(baseline, entry, args.zone))
    if windows:
        baseline.maintenance.extend(windows)
        baseline.maintenance.sort(key=lambda w: to_epoch(w.start))
        done.append(f"added {len(windows)} maintenance window(s)")
    save_baseline(baseline, args.file)
    for line in done:
        out.print(line, markup=False, highlight=False)
    return 0


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    baseline = load_baseline(args.baseline)
    windows = load_maintenance(args.maintenance) if args.maintenance else []
    _, alerts = run_baseline(list(args.captures), baseline, "protect", site=args.site,
                             windows=windows, err=err)
    alerts = [a for a in alerts if severity_at_least(a.severity, args.min_severity)]
    if args.format == "json":
        for alert in alerts:
            out.print(msgspec.json.encode(alert).decode(), markup=False, highlight=False,
                      soft_wrap=True)
        return 1 if alerts else 0
    if not alerts:
        out.print("no deviation from the baseline", highlight=False)
        return 0
    table = Table(title=f"Deviations from {args.baseline} ({len(alerts)})", title_justify="left")
    for col in ("severity", "alert", "count", "frame", "what"):
        table.add_column(col, overflow="fold")
    for alert in alerts:
        table.add_row(*_cells(alert.severity, alert.rule_id.removeprefix("baseline."),
                              str(alert.count), str(alert.frame), alert.description))
    out.print(table)
    return 1

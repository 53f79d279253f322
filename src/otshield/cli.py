"""``otshield <verb>``: the command line.

Verbs: ``decode`` (captures to JSON lines and/or a summary), ``live`` (the same from an
interface), ``protocols`` (what is decoded, from the registry), ``schema`` (the event JSON
schema), ``inventory`` and ``map`` (assets and the network map), ``analyze`` (decode +
inventory + detection with a report), ``rules``, ``policy``, ``baseline``, ``intel`` (the
detection inputs), ``demo`` (build the project's demo capture and run the main job on it).
Exit codes: 0 done, 1 input problems reported (e.g. truncated capture), 2 usage or fatal errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from otshield import __version__
from otshield.config import Settings
from otshield.engine import Engine
from otshield.errors import ConfigError, OtshieldError
from otshield.events import AnomalyEvent, Event, event_schema
from otshield.inventory.model import InventorySnapshot

if TYPE_CHECKING:
    from otshield.inventory import InventoryBuilder
from otshield.output import JsonlWriter
from otshield.summary import SummarySink, print_summary

__all__ = ["main"]


def _fanout(sinks: list[Callable[[Event], None]]) -> Callable[[Event], None]:
    if len(sinks) == 1:
        return sinks[0]

    def emit(event: Event) -> None:
        for s in sinks:
            s(event)

    return emit


def _cmd_decode(args: argparse.Namespace, out: Console, err: Console,
                inventory: InventoryBuilder | None = None) -> int:
    """``inventory``: also build the asset inventory in the same pass (its change events go to
    the output with the others)."""
    paths = [Path(p) for p in args.captures]
    summary = SummarySink()
    sinks: list[Callable[[Event], None]] = [summary]
    writer = JsonlWriter(Path(args.output)) if args.output else None
    if writer is not None:
        sinks.insert(0, writer)
    if inventory is not None:
        inventory.emit = _fanout(list(sinks))
        sinks.append(inventory)
    engine = Engine(_fanout(sinks), Settings())
    started = time.perf_counter()
    try:
        problems = _read_captures(paths, engine, err, not args.no_progress)
        engine.finish()
        if inventory is not None:
            inventory.flush()  # its last change events, while the writer is open
    finally:
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - started
    if args.summary or writer is None:
        print_summary(engine.stats, summary, out, elapsed)
    if writer is not None:
        n = sum(summary.events.values())
        err.print(f"wrote {n:,} events to {args.output}/ "
                  f"({', '.join(p.name for p in writer.paths())})")
    return 1 if problems else 0


def _read_captures(paths: list[Path], engine: Engine, err: Console, progress: bool) -> int:
    """Feed every capture through ``engine`` (not finished); returns how many were cut short
    (each reported as a ``capture.truncated``/``capture.corrupt`` anomaly and a warning)."""
    from otshield.capture import open_capture

    problems = 0
    show_progress = progress and err.is_terminal
    for path in paths:
        reader = open_capture(path)
        try:
            size = path.stat().st_size
            feed = engine.feed
            if show_progress:
                with Progress(TextColumn("{task.description}"), BarColumn(),
                              TextColumn("{task.fields[pkts]:,} packets"),
                              TimeRemainingColumn(), console=err, transient=True) as bar:
                    task = bar.add_task(path.name, total=size, pkts=0)
                    for i, (ts, lt, data) in enumerate(reader, 1):
                        feed(ts, lt, data)
                        if not i & 0x3FFF:
                            bar.update(task, completed=reader.position, pkts=i)
            else:
                for ts, lt, data in reader:
                    feed(ts, lt, data)
        finally:
            reader.close()
        if reader.error:
            problems += 1
            code = "capture.truncated" if reader.truncated else "capture.corrupt"
            engine.emit(AnomalyEvent(ts=engine.stats.last_ts, frame=engine.stats.packets,
                                      code=code, detail=f"{path}: {reader.error}"))
            err.print(f"[yellow]warning:[/] {path}: {reader.error}; "
                      f"the {reader.packets:,} packets before that were analysed",
                      soft_wrap=True)
    return problems


def _build_inventory(args: argparse.Namespace, err: Console) -> tuple[InventorySnapshot, int]:
    """Run the captures through the engine into an inventory (``--state`` loaded first and
    saved after, ``--site`` applied, ``--set`` overrides recorded)."""
    from otshield.inventory import InventoryBuilder, load_site, load_snapshot, save_snapshot
    from otshield.inventory.advisories import load_advisories

    state: str | None = args.state
    base = load_snapshot(state) if state is not None else None
    site = load_site(Path(args.site)) if args.site else None
    writer = JsonlWriter(Path(args.output)) if getattr(args, "output", None) else None
    builder = InventoryBuilder(emit=writer, base=base)
    for item in args.set or ():
        target, field, value = _parse_override(item)
        builder.overrides.setdefault(target, {})[field] = value
    sinks: list[Callable[[Event], None]] = [builder]
    if writer is not None:
        sinks.append(writer)
    engine = Engine(_fanout(sinks), Settings())
    problems = 0
    try:
        problems = _read_captures([Path(p) for p in args.captures], engine, err,
                                  not args.no_progress)
        engine.finish()
        builder.flush()  # its last change events, while the writer is open
    finally:
        if writer is not None:
            writer.close()
    builder.captures.extend(str(p) for p in args.captures)
    advisories = load_advisories([Path(p) for p in args.advisories or ()])
    snapshot = builder.snapshot(site, advisories)
    if state is not None:
        save_snapshot(snapshot, state)
    return snapshot, problems


def _cmd_inventory(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.inventory.report import print_inventory, write_csv

    snapshot, problems = _build_inventory(args, err)
    if args.format == "json":
        import msgspec

        out.print_json(msgspec.json.encode(snapshot).decode())
    elif args.format == "csv":
        write_csv(snapshot, sys.stdout)
    else:
        print_inventory(snapshot, out)
    return 1 if problems else 0


def _cmd_map(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.inventory.netmap import write_map

    snapshot, problems = _build_inventory(args, err)
    target = Path(args.output_map)
    fmt = write_map(snapshot, target, title=args.title)
    err.print(f"wrote the map ({len(snapshot.assets)} assets, {len(snapshot.conduits)} "
              f"conduits) to {target} as {fmt}")
    return 1 if problems else 0


def _parse_override(item: str) -> tuple[str, str, str]:
    """``ASSET:FIELD=VALUE`` (ASSET an IP, a MAC or an asset id) from ``--set``."""
    target, eq, value = item.partition("=")
    asset, colon, field = target.rpartition(".")
    if not eq or not colon or not asset or not field:
        raise ConfigError(f"--set {item!r}: expected ASSET.FIELD=VALUE, e.g. "
                          "10.0.0.5.role=hmi or 10.0.0.5.purdue_level=2")
    from otshield.inventory.assemble import asset_id

    return asset_id(asset), field, value


def _cmd_protocols(args: argparse.Namespace, out: Console, err: Console) -> int:
    from rich.table import Table

    from otshield.protocols.registry import load_registry

    reg = load_registry()
    if args.format == "json":
        rows = [{"name": s.name, "title": s.title, "depth": s.depth,
                 "tcp_ports": sorted(s.tcp_ports), "udp_ports": sorted(s.udp_ports),
                 "ethertypes": [f"0x{e:04x}" for e in sorted(s.ethertypes)],
                 "llc_saps": [f"0x{e:02x}" for e in sorted(s.llc_saps)],
                 "probe": s.probe is not None,
                 "events": [str(e.__struct_config__.tag) for e in s.event_types],
                 "anomalies": sorted(s.anomaly_codes)} for s in reg.specs]
        out.print_json(json.dumps(rows))
        return 0
    t = Table(title=f"Protocol decoders ({len(reg.specs)})", title_justify="left")
    for col in ("name", "protocol", "depth", "TCP ports", "UDP ports", "link layer", "probe",
                "anomaly codes"):
        t.add_column(col)
    for s in reg.specs:
        link = [f"ethertype 0x{e:04x}" for e in sorted(s.ethertypes)]
        link += [f"LLC 0x{e:02x}" for e in sorted(s.llc_saps)]
        t.add_row(s.name, s.title, s.depth, " ".join(map(str, sorted(s.tcp_ports))),
                  " ".join(map(str, sorted(s.udp_ports))), " ".join(link),
                  "yes" if s.probe is not None else "", str(len(s.anomaly_codes)))
    out.print(t)
    return 0


def _cmd_schema(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.protocols.registry import load_registry

    load_registry()  # imports every decoder so its event types are known
    sys.stdout.write(json.dumps(event_schema(), indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="otshield", description=(
        "Passive IT/OT network monitoring: decode industrial and IT protocols from captures "
        "and live interfaces."))
    p.add_argument("--version", action="version", version=f"otshield {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    d = sub.add_parser("decode", help="decode captures into JSON-lines events and a summary",
                       description="Decode pcap/pcapng files (gzip allowed). Several files are "
                       "read in order as one stream.")
    d.add_argument("captures", nargs="+", metavar="CAPTURE")
    d.add_argument("-o", "--output", metavar="DIR",
                   help="write one <event type>.jsonl file per event type into DIR")
    d.add_argument("--summary", action="store_true",
                   help="print the protocol/flow summary (the default without -o)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    d.set_defaults(func=_cmd_decode)

    from otshield.livewatch import register as register_live

    register_live(sub)

    pr = sub.add_parser("protocols", help="list protocol decoders, their depth and ports")
    pr.add_argument("--format", choices=("table", "json"), default="table")
    pr.set_defaults(func=_cmd_protocols)

    sc = sub.add_parser("schema", help="print the JSON schema of every event type")
    sc.set_defaults(func=_cmd_schema)

    inv = sub.add_parser("inventory", help="list the assets seen in captures: identity, roles, "
                         "Purdue level, zone", description="Build the asset inventory from "
                         "captures. With --state the inventory is kept in a database and grows "
                         "with every run.")
    inv.add_argument("captures", nargs="*", metavar="CAPTURE")
    inv.add_argument("--site", metavar="FILE", help="site file (YAML): zones and overrides")
    inv.add_argument("--state", metavar="DB",
                     help="where the inventory is kept between runs: a database (.db file or "
                     "SQLAlchemy URL) or a .json file; loaded first, saved after")
    inv.add_argument("--set", action="append", metavar="ASSET.FIELD=VALUE",
                     help="override an inferred fact (role, purdue_level, zone, vendor...); "
                     "kept in --state")
    inv.add_argument("--format", choices=("table", "json", "csv"), default="table")
    inv.add_argument("-o", "--output", metavar="DIR",
                     help="also write the events (asset changes included) as JSON lines")
    inv.add_argument("--advisories", action="append", metavar="PATH",
                     help="CSAF 2.0 advisory file, or a directory of them, to match assets "
                     "against (repeatable)")
    inv.add_argument("--no-progress", action="store_true", help="no progress bar")
    inv.set_defaults(func=_cmd_inventory)

    mp = sub.add_parser("map", help="draw the network map (assets by Purdue level and zone, "
                        "conduits between them)", description="Build the inventory from "
                        "captures (and --state) and write the map; the format follows the "
                        "file suffix: .svg .png .graphml .json .csv")
    mp.add_argument("captures", nargs="*", metavar="CAPTURE")
    mp.add_argument("-o", "--output", dest="output_map", required=True, metavar="FILE")
    mp.add_argument("--site", metavar="FILE", help="site file (YAML): zones and overrides")
    mp.add_argument("--state", metavar="DB", help="inventory database (.db or URL) or .json file "
                    "to load first and save after")
    mp.add_argument("--set", action="append", metavar="ASSET.FIELD=VALUE",
                    help="override an inferred fact")
    mp.add_argument("--title", default="otshield network map")
    mp.add_argument("--advisories", action="append", metavar="PATH",
                     help="CSAF 2.0 advisory file, or a directory of them, to match assets "
                     "against (repeatable)")
    mp.add_argument("--no-progress", action="store_true", help="no progress bar")
    mp.set_defaults(func=_cmd_map)

    # detection verbs live with their packages (each adds its own sub-parsers)
    from otshield.console.auth.cli import register as register_users
    from otshield.console.cli import register as register_serve
    from otshield.detect.baseline.cli import register as register_baseline
    from otshield.detect.cli import register as register_analyze
    from otshield.detect.intel.cli import register as register_intel
    from otshield.detect.rules.cli import register as register_rules
    from otshield.policy.cli import register as register_policy
    from otshield.respond.cli import register as register_respond
    from otshield.sim.cli import register as register_sim
    from otshield.sim.drill.cli import register as register_drill
    from otshield.sim.range.cli import register as register_range

    for register in (register_analyze, register_rules, register_policy, register_baseline,
                     register_intel, register_respond, register_sim, register_drill,
                     register_range, register_serve, register_users):
        register(sub)

    dm = sub.add_parser("demo", help="build the demo plant capture and run the main job on "
                        "it: decode, inventory, detection, map")
    dm.add_argument("--directory", default="otshield-demo",
                    help="where the capture and events go (default ./otshield-demo)")
    from otshield.demo import cmd_demo

    dm.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Console()
    err = Console(stderr=True)
    try:
        rc: int = args.func(args, out, err)
        return rc
    except OtshieldError as exc:
        err.print(f"[red]otshield: error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())

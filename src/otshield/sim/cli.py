"""``otshield sim write|check|show``: the plant simulator on the command line.

    otshield sim write -o plant.pcap                         ten minutes of normal traffic
    otshield sim write --scenario ransomware_it_to_ot -o r.pcap --truth r.json --site site.yaml
    otshield sim write --packets 1000000 --format pcapng -o bench.pcapng
    otshield sim check my-plant.yaml                         lint a plant file (file:line)
    otshield sim show [--plant my-plant.yaml]                zones, assets, process, traffic

Exit status 0 on success, 2 on usage or configuration errors (the CLI's handling of
``OtshieldError``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otshield.errors import ConfigError
from otshield.sim.model import PlantModel, load_plant

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sim", help="plant simulator: write captures of a simulated plant, check plant files",
        description="The plant simulator: a plant model (zones, assets, a physical process, "
        "communication patterns) whose traffic is written as a protocol-correct capture, "
        "optionally with an attack scenario and its ground truth.")
    verbs = p.add_subparsers(dest="sim_verb", metavar="VERB", required=True)

    w = verbs.add_parser("write", help="write a capture of the simulated plant",
                         description="Write the plant's traffic (and a scenario's attack) to a "
                         "pcap or pcapng file. Same seed, same bytes.")
    w.add_argument("-o", "--output", required=True, metavar="FILE", help="capture to write")
    w.add_argument("--plant", metavar="FILE", help="plant file (default: the bundled plant)")
    w.add_argument("--scenario", metavar="ID", help="attack scenario to play (see `otshield "
                   "drill list`)")
    w.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    size = w.add_mutually_exclusive_group()
    size.add_argument("--packets", type=int, metavar="N", help="stop after N packets")
    size.add_argument("--duration", type=float, metavar="SECONDS",
                      help="plant seconds to write (default 600; with a scenario: until it "
                      "ends plus a minute)")
    w.add_argument("--scenario-start", type=float, default=None, metavar="SECONDS",
                   help="seconds of normal traffic before the scenario (default 120)")
    w.add_argument("--format", choices=("pcap", "pcapng"), default=None,
                   help="capture format (default: from the file name, else pcap)")
    w.add_argument("--truth", metavar="FILE", help="write the ground truth (JSON) here")
    w.add_argument("--site", metavar="FILE", help="write the plant's site file (zones, "
                   "assets, conduits) here")
    w.set_defaults(func=_cmd_write)

    c = verbs.add_parser("check", help="check a plant file (errors name file and line)")
    c.add_argument("file", metavar="PLANT", help="plant YAML file")
    c.set_defaults(func=_cmd_check)

    s = verbs.add_parser("show", help="show a plant: zones, assets, process, traffic")
    s.add_argument("--plant", metavar="FILE", help="plant file (default: the bundled plant)")
    s.set_defaults(func=_cmd_show)


def _write_text(path: Path, data: bytes) -> None:
    """Replace ``path`` whole or not at all."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cmd_write(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.run import SCENARIO_START, simulate

    model = load_plant(args.plant)
    scenario = None
    if args.scenario:
        from otshield.sim.scenarios import get_scenario

        scenario = get_scenario(args.scenario)
    output = Path(args.output)
    if not output.parent.is_dir():
        raise ConfigError(f"{output}: the directory {output.parent} does not exist")
    fmt: Literal["pcap", "pcapng"] = (
        "pcapng" if (args.format or output.suffix.lower().lstrip(".")) == "pcapng" else "pcap")
    try:
        result = simulate(model, output, scenario=scenario, seed=args.seed,
                          duration=args.duration, packets=args.packets, fmt=fmt,
                          scenario_start=(SCENARIO_START if args.scenario_start is None
                                          else args.scenario_start))
    except OSError as exc:
        raise ConfigError(f"{output}: cannot write: {exc.strerror or exc}") from None
    except KeyError as exc:  # the scenario names an asset, tag or stage the plant lacks
        if scenario is None:
            raise
        raise ConfigError(f"scenario {scenario.id} does not fit plant {model.name!r} "
                          f"({model.origin}): {exc.args[0] if exc.args else exc}") from None
    if args.truth:
        _write_text(Path(args.truth), msgspec.json.format(msgspec.json.encode(result),
                                                          indent=2) + b"\n")
    if args.site:
        _write_text(Path(args.site), model.site_yaml().encode())
    span = result.end - result.start
    err.print(f"wrote {escape(str(output))}: {result.packets} packets, {span:.0f} s of plant "
              f"time ({fmt}, seed {result.seed})", highlight=False)
    if scenario is not None:
        err.print(f"scenario {scenario.id}: {len(result.truth)} of {len(scenario.stages)} "
                  f"stages written" + ("" if result.complete else
                                       " (cut short: raise --packets or --duration)"),
                  highlight=False)
        for g in result.truth:
            out.print(f"  frames {g.first_frame}-{g.last_frame}  {escape(g.stage)}  "
                      f"{g.src} -> {g.dst}  {', '.join(g.techniques)}", highlight=False)
    return 0


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    model = load_plant(Path(args.file))
    out.print(f"{escape(args.file)}: plant {escape(model.name)!r}: {len(model.zones)} zones, "
              f"{len(model.assets)} assets, {len(model.traffic)} traffic patterns: OK",
              highlight=False)
    return 0


def _cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    model = load_plant(args.plant)
    show_plant(model, out)
    return 0


def show_plant(model: PlantModel, out: Console) -> None:
    """Print the plant as tables: zones, assets, the process and the traffic patterns."""
    out.print(f"[bold]{escape(model.name)}[/]  ({escape(model.origin)})")
    zones = Table(title="Zones", title_justify="left")
    for col in ("zone", "level", "SL-T", "subnet", "description"):
        zones.add_column(col)
    for z in model.zones.values():
        zones.add_row(z.name, str(z.level), str(z.security_level_target), z.subnet,
                      escape(z.description))
    out.print(zones)
    assets = Table(title="Assets", title_justify="left")
    for col in ("name", "kind", "zone", "address", "MAC", "vendor", "model", "protocols",
                "safety"):
        assets.add_column(col)
    for a in model.assets.values():
        assets.add_row(a.name, a.kind, a.zone, a.ip, a.mac, escape(a.vendor), escape(a.model),
                       ", ".join(a.protocols), "yes" if a.safety else "")
    out.print(assets)
    proc = model.new_process()
    process = Table(title="Process (values at the start)", title_justify="left")
    for col in ("tag", "value"):
        process.add_column(col)
    for tag, value in proc.snapshot().items():
        process.add_row(tag, f"{value:g}")
    out.print(process)
    traffic = Table(title="Traffic patterns", title_justify="left")
    for col in ("kind", "client", "server", "period s", "jitter s"):
        traffic.add_column(col)
    for t in model.traffic:
        server = f"{t.via} -> {t.server}" if t.via else t.server
        traffic.add_row(t.kind, t.client, server, f"{t.period:g}", f"{t.jitter:g}")
    out.print(traffic)

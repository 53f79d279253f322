"""``otshield analyze CAPTURE...``: decode + inventory + detection, then a readable report.

Exit status: 0 nothing at or above ``--fail-on`` (default high), 3 alerts at or above it,
1 input problems (a truncated capture) without such alerts, 2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from otshield.detect.alert import SEVERITIES
from otshield.detect.analyze import BASELINE_MODES, AnalyzeOptions, run_analysis

__all__ = ["register"]


def register(sub: Any) -> None:
    a = sub.add_parser(
        "analyze", help="decode captures, build the inventory and detect: alerts with "
        "ATT&CK for ICS techniques, policy violations, evidence",
        description="Decode captures, build the asset inventory and run detection (the "
        "built-in rule pack and your rules, the zones-and-conduits policy of the site file, "
        "threat-intelligence indicators, the baseline) in one pass, then print a report. "
        "Exit status: 0 clean, 3 alerts at or above --fail-on, 1 input problems, "
        "2 usage or configuration errors.")
    a.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap/pcapng (.gz) files")
    a.add_argument("--site", metavar="FILE",
                   help="site file: zones, asset overrides and conduits (the policy)")
    a.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="rule file or directory, added to the built-in pack (repeatable)")
    a.add_argument("--no-builtin-rules", action="store_true",
                   help="only the rules given with --rules")
    a.add_argument("--intel", action="append", default=[], metavar="FILE",
                   help="STIX 2.1 bundle or CSV indicator list (repeatable)")
    a.add_argument("--baseline", metavar="FILE",
                   help="baseline file: read when present, written after learning")
    a.add_argument("--baseline-mode", choices=BASELINE_MODES, default=None,
                   help="off, learn, protect, or auto (learn then protect); default: protect "
                   "when --baseline names an existing file, auto when it does not, else off")
    a.add_argument("--learn-packets", type=int, default=0, metavar="N",
                   help="with auto: learn on the first N packets, then protect")
    a.add_argument("--attack-bundle", metavar="FILE",
                   help="a newer MITRE ATT&CK for ICS STIX bundle instead of the shipped table")
    a.add_argument("--min-severity", choices=SEVERITIES, default="low",
                   help="leave out alerts below this severity (default low)")
    a.add_argument("--fail-on", choices=SEVERITIES, default="high",
                   help="exit 3 when an alert at or above this severity is found")
    a.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    a.add_argument("-o", "--output", metavar="DIR",
                   help="also write every event and alert as JSON lines into DIR")
    a.add_argument("-v", "--verbose", action="store_true", help="show every alert and frame")
    a.set_defaults(func=_cmd_analyze)


def _cmd_analyze(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.detect.report import (
        analysis_json,
        analysis_markdown,
        exit_code,
        print_analysis,
    )
    from otshield.output import JsonlWriter

    mode = args.baseline_mode
    if mode is None:
        mode = "off" if not args.baseline else (
            "protect" if Path(args.baseline).exists() else "auto")
    options = AnalyzeOptions(
        rules=tuple(args.rules), builtin_rules=not args.no_builtin_rules, site=args.site,
        intel=tuple(args.intel), baseline=args.baseline, baseline_mode=mode,
        learn_packets=args.learn_packets, attack_bundle=args.attack_bundle,
        min_severity=args.min_severity)
    writer = JsonlWriter(Path(args.output)) if args.output else None
    try:
        analysis = run_analysis([Path(p) for p in args.captures], options, on_event=writer)
    finally:
        if writer is not None:
            writer.close()
    for problem in analysis.problems:
        err.print(f"[yellow]warning:[/] {problem}", soft_wrap=True)
    if args.format == "json":
        sys.stdout.buffer.write(analysis_json(analysis))
    elif args.format == "markdown":
        sys.stdout.write(analysis_markdown(analysis))
    else:
        print_analysis(analysis, out, verbose=args.verbose)
    if writer is not None:
        err.print(f"events and alerts written to {args.output}")
    return exit_code(analysis, args.fail_on)

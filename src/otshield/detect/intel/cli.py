"""``otshield intel check|match``: load indicator files, and match captures against them.

    otshield intel check FILE...                       # counts, skipped indicators, errors
    otshield intel match CAPTURE... --intel FILE...    # the matches, one line each

``check`` exits 0 when every entry loaded, 2 when some could not be read (each printed as
``file:line: ...``). ``match`` loads strictly (a bad entry is a configuration error, exit 2),
exits 0 without matches and 3 with matches; ``--format json`` prints the alerts as JSON lines.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from otshield.detect.alert import Alert
from otshield.detect.context import AssetContext
from otshield.detect.intel.detector import IntelDetector
from otshield.detect.intel.loader import load_indicators
from otshield.detect.intel.model import KINDS, IndicatorSet
from otshield.detect.pipeline import DetectionPipeline
from otshield.errors import OtshieldError

__all__ = ["match_captures", "register"]

_SHOWN_SKIPPED = 50


def register(sub: Any) -> None:
    """Add ``intel`` and its verbs to the ``otshield`` sub-parsers."""
    intel = sub.add_parser(
        "intel", help="threat intelligence: check indicator files, match captures",
        description="Threat-intelligence indicators from STIX 2.1 bundles (JSON) and CSV "
        "lists (type,value[,name,severity,description]; types: " + ", ".join(KINDS) + "). "
        "'check' loads files and reports what can be matched; 'match' decodes captures and "
        "prints every match.")
    verbs = intel.add_subparsers(dest="intel_verb", metavar="VERB", required=True)
    check = verbs.add_parser("check", help="load indicator files: counts, skipped, errors "
                             "(exit 2 when an entry cannot be read)")
    check.add_argument("files", nargs="+", metavar="FILE", help="STIX bundle or CSV list")
    check.set_defaults(func=_cmd_check)
    match = verbs.add_parser("match", help="decode captures and print indicator matches "
                             "(exit 3 when there are matches)")
    match.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap/pcapng (.gz)")
    match.add_argument("--intel", action="append", required=True, metavar="FILE",
                       help="STIX bundle or CSV list (repeatable)")
    match.add_argument("--ignore-validity", action="store_true",
                       help="match regardless of the indicators' valid_from/valid_until "
                       "(retro-hunting old captures with a current feed)")
    match.add_argument("--format", choices=("table", "json"), default="table")
    match.set_defaults(func=_cmd_match)


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _summary(indicators: IndicatorSet, out: Console) -> None:
    counts = indicators.counts()
    _say(out, f"{len(indicators)} indicators from {len(indicators.files)} file(s); values: "
         + ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]))
    if indicators.skipped:
        _say(out, f"{len(indicators.skipped)} indicator(s) not (fully) evaluated:")
        for skipped in indicators.skipped[:_SHOWN_SKIPPED]:
            _say(out, f"  {skipped.ref} ({skipped.origin}): {skipped.reason}")
        if len(indicators.skipped) > _SHOWN_SKIPPED:
            _say(out, f"  ... and {len(indicators.skipped) - _SHOWN_SKIPPED} more")
        reasons = Counter(s.reason for s in indicators.skipped)
        if len(indicators.skipped) > _SHOWN_SKIPPED:
            for reason, n in reasons.most_common(10):
                _say(out, f"  {n} x {reason}")


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        indicators = load_indicators([Path(f) for f in args.files], strict=False)
    except OtshieldError as exc:
        _say(err, f"error: {exc}")
        return 2
    _summary(indicators, out)
    for problem in indicators.errors:
        _say(err, problem)
    if indicators.errors:
        _say(err, f"{len(indicators.errors)} entries could not be read")
        return 2
    return 0


def match_captures(paths: Sequence[Path], indicators: IndicatorSet, *,
                   ignore_validity: bool = False) -> tuple[list[Alert], list[str]]:
    """Decode ``paths`` and match them: (merged alerts, problems reading the captures)."""
    from otshield.config import Settings
    from otshield.engine import Engine, feed_captures

    pipeline = DetectionPipeline([])
    detector = IntelDetector(indicators, AssetContext(), pipeline.alert_sink,
                             ignore_validity=ignore_validity)
    pipeline.add(detector)
    engine = Engine(pipeline, Settings())
    problems = feed_captures(engine, paths)
    engine.finish()
    pipeline.finish()
    if pipeline.errors:
        problems.append(f"{pipeline.errors} detector error(s)")
    return pipeline.alerts(), problems


def _cmd_match(args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        indicators = load_indicators([Path(f) for f in args.intel])
        alerts, problems = match_captures([Path(c) for c in args.captures], indicators,
                                          ignore_validity=args.ignore_validity)
    except OtshieldError as exc:
        _say(err, f"error: {exc}")
        return 2
    for problem in problems:
        _say(err, f"warning: {problem}")
    if args.format == "json":
        for alert in alerts:
            _say(out, msgspec.json.encode(alert).decode())
    else:
        table = Table(show_header=True, header_style="bold")
        for column in ("severity", "rule", "matched", "where", "indicator", "count",
                       "first frame"):
            table.add_column(column)
        for alert in alerts:
            d = alert.details
            name = d.get("indicator_name", "")
            table.add_row(alert.severity, alert.rule_id, d.get("matched_value", ""),
                          f"{d.get('matched_field', '')} {alert.src_ip} -> {alert.dst_ip}",
                          f"{name} ({d['indicator']})" if name else d.get("indicator", ""),
                          str(alert.count), str(alert.frame))
        out.print(table)
        _say(err, f"{len(alerts)} match(es), {len(indicators)} indicators")
    return 3 if alerts else 0

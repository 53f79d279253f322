"""Detection evaluation over the labelled corpus in ../shared/data/pcaps (issue #5, "How it is
checked"). A script, not a test: it prints one table and, with ``--json``, writes every figure.

    .venv/bin/python benchmarks/evaluate_detection.py [--shared DIR] [--only GLOB] [--json F]

What it measures (the scoring itself is in ``groundtruth.py``, unit-tested):

* ``attack`` and ``suspicious`` captures (MANIFEST label): did an alert fire whose ATT&CK for ICS
  technique fits the capture's described behaviour? The fitting techniques come from the
  capture's MANIFEST notes through ``groundtruth.BEHAVIOUR_TECHNIQUES`` (a keyword table about
  behaviour, never about which rules exist). Any severity counts: a program download is
  "suspicious", not necessarily "high".
* ``normal`` captures: medium-or-higher alerts, merged (distinct alert keys, what an analyst
  sees) and raw (occurrences before merging).
* Lemay Modbus (``lemay-modbus/*_labeled.csv``): per-packet precision and recall. A packet is
  flagged "by flow" when it belongs to a flow an alert occurrence was raised on (same 5-tuple
  and inside that flow's first..last packet time, from the engine's flow records) or is a frame
  an alert lists; "by frame" counts only the frames alerts list (strict).
* QUT DNP3 (``qut-dnp3/*_Attack_script_log.log``, local time UTC+10): per attack window,
  detected when an alert occurrence falls in [start, end + grace] naming one of the window's
  hosts (any alert when the log lists none, e.g. nmap); time to detect = first such alert minus
  the window start; per attack type, detected when any of its windows is. Alerts in no window
  are counted too (false alarms, or effects that outlast an attack). ``--grace`` defaults to
  60 s: rate and flow-end alerts come after a burst, and the capture clock runs about 2 s
  behind the log. The Control run has no attack: its alerts are counted.

Every capture is analysed alone with the built-in rules, the inventory and the baseline in
``auto`` mode: it learns on the first ``--learn`` fraction of the capture's packets (default
30%), or less when the baseline's own learning period (1 h of packet time by default) ends
first, and then protects, so baseline alerts ("new talker", "new function code") can fire on
the rest. Attacks inside the learning part are invisible to the baseline (rules still see them);
QUT windows there are marked. ``--learn 0`` runs without the baseline. The QUT captures are
analysed with the site file the dataset documents (its master and outstation: ``QUT_SITE``),
as a deployment would have; no other capture gets one. Two worker processes,
each loading the rule pack once (``load_rules`` keeps what it built; ``--reload-rules`` loads
it per capture, to check that this changes nothing).

Exit status: 0 when every target is met, 1 when one is missed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import groundtruth as gt

if TYPE_CHECKING:
    from otshield.detect.alert import Alert
    from otshield.events import Event

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared"
SCORED_LABELS = ("attack", "suspicious", "normal")
MEDIUM = "medium"
TARGET_DETECTED = 0.95
"""Share of attack + suspicious captures that must get a fitting alert."""
TARGET_NORMAL = 1.0
"""Medium-or-higher (merged) alerts per normal capture, on average, at most."""
QUT_UTC_OFFSET = 10.0


# -- one capture, in a worker -----------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    path: str
    rel: str
    label: str
    packets: int
    learn: float
    per_packet: bool
    """Lemay: also return the flagged frames (needs flow records and packet 5-tuples)."""
    learn_ts: bool
    """QUT: also return the time the learning phase ended."""
    reload_rules: bool = False
    """Load the rule pack afresh for this capture instead of reusing the process's."""


@dataclass(frozen=True)
class Merged:
    rule_id: str
    severity: str
    key: str
    count: int
    techniques: tuple[str, ...]
    category: str = ""
    """Detector family: rule, baseline, policy, intel."""


@dataclass
class CaptureRun:
    rel: str
    label: str
    packets: int = 0
    seconds: float = 0.0
    occurrences: list[gt.Occurrence] = field(default_factory=list)
    merged: list[Merged] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""
    learn_packets: int = 0
    learn_end_ts: float | None = None
    flagged_by_flow: set[int] | None = None
    flagged_by_frame: set[int] | None = None


_EVIDENCE_IPS = ("source.ip", "destination.ip", "sender_ip", "target_ip")


def occurrence(alert: Alert) -> gt.Occurrence:
    """What scoring keeps of one alert occurrence."""
    hosts = {alert.src_ip, alert.dst_ip}
    for ref in (alert.source, alert.destination):
        if ref is not None:
            hosts.add(ref.ip)
    for ev in alert.evidence:
        for name in _EVIDENCE_IPS:
            value = ev.get(name)
            if isinstance(value, str):
                hosts.add(value)
    hosts.discard("")
    return gt.Occurrence(ts=alert.ts, frame=alert.frame, rule_id=alert.rule_id,
                         severity=alert.severity, techniques=alert.techniques,
                         flow_id=alert.flow_id, frames=alert.frames, hosts=frozenset(hosts),
                         key=alert.key)


def packet_keys(path: Path) -> list[gt.PacketKey]:
    """Frame, time and direction-free 5-tuple of every packet (None for non-IP frames)."""
    from otshield.capture import open_capture
    from otshield.netstack import Packet, decode, format_ip

    out: list[gt.PacketKey] = []
    p = Packet()
    with open_capture(path) as reader:
        for frame, (ts, linktype, data) in enumerate(reader, 1):
            key = None
            if decode(linktype, data, p) is None and p.src:
                key = gt.canonical_key(format_ip(p.src), p.sport, format_ip(p.dst), p.dport,
                                       p.proto)
            out.append(gt.PacketKey(frame=frame, ts=ts, key=key))
    return out


def nth_packet_ts(path: Path, n: int) -> float | None:
    from otshield.capture import open_capture

    with open_capture(path) as reader:
        for i, (ts, _lt, _data) in enumerate(reader, 1):
            if i >= n:
                return ts
    return None


def learning_end(path: Path, learn_packets: int, first_ts: float) -> float | None:
    """When ``auto`` stopped learning: after ``learn_packets`` packets, or earlier at the end
    of the baseline's own learning period (packet time from the first event)."""
    from otshield.detect.baseline.model import LearningSettings

    end = nth_packet_ts(path, learn_packets)
    period = LearningSettings().seconds
    if period > 0 and end is not None:
        end = min(end, first_ts + period)
    return end


QUT_SITE = """\
# The QUT DNP3 testbed as the dataset describes it (MANIFEST.md): one master, one outstation.
# A deployment names its SCADA masters in its site file; the attacker host is not named.
site: QUT DNP3 testbed
zones:
  - {name: Testbed, level: 1, subnets: [192.168.10.0/24]}
assets:
  192.168.10.221: {name: DNP3 master, role: hmi}
  192.168.10.222: {name: DNP3 outstation, role: controller}
"""


def site_for(rel: str) -> str | None:
    """The site file a deployment would have for this capture's network, when the dataset
    documents it (only the QUT testbed does); None otherwise (no zones, no roles given)."""
    if not rel.startswith("qut-dnp3/"):
        return None
    import tempfile

    path = Path(tempfile.gettempdir()) / "otshield-eval-qut-site.yaml"
    if not path.exists() or path.read_text() != QUT_SITE:
        path.write_text(QUT_SITE)
    return str(path)


def run_one(task: Task) -> CaptureRun:
    """Analyse one capture; never raises (a failure is the run's ``error``)."""
    from otshield.detect.analyze import AnalyzeOptions, run_analysis
    from otshield.events import FlowEvent
    from otshield.flows import TRANSPORTS

    if task.reload_rules:
        from otshield.detect.rules import forget_loaded_rules

        forget_loaded_rules()
    run = CaptureRun(rel=task.rel, label=task.label)
    path = Path(task.path)
    learn = max(1, int(task.packets * task.learn)) if task.learn > 0 else 0
    options = AnalyzeOptions(baseline_mode="auto" if learn else "off", learn_packets=learn,
                             site=site_for(task.rel))
    proto_number = {name: num for num, name in TRANSPORTS.items()}
    flows: list[gt.FlowSpan] = []

    def on_event(event: Event) -> None:
        if isinstance(event, FlowEvent):
            flows.append(gt.FlowSpan(
                flow_id=event.flow_id, start=event.start, end=event.ts,
                key=gt.canonical_key(event.src_ip, event.src_port, event.dst_ip,
                                     event.dst_port, proto_number.get(event.transport, -1))))

    def on_each(alert: Alert) -> None:
        run.occurrences.append(occurrence(alert))

    started = time.perf_counter()
    try:
        analysis = run_analysis([path], options, on_each_alert=on_each,
                                on_event=on_event if task.per_packet else None)
        run.packets = analysis.packets
        run.problems = list(analysis.problems)
        run.merged = [Merged(rule_id=a.rule_id, severity=a.severity, key=a.key, count=a.count,
                             techniques=a.techniques, category=a.category)
                      for a in analysis.alerts]
        run.learn_packets = learn
        if task.per_packet:
            run.flagged_by_flow, run.flagged_by_frame = gt.flagged_frames(
                packet_keys(path), flows, run.occurrences)
        if task.learn_ts and learn:
            run.learn_end_ts = learning_end(path, learn, analysis.first_ts)
    except Exception as exc:  # the evaluation goes on; the table shows the error
        run.error = f"{type(exc).__name__}: {exc}"[:300]
    run.seconds = time.perf_counter() - started
    return run


# -- scoring the runs ---------------------------------------------------------------------------
@dataclass
class CaptureScore:
    rel: str
    label: str
    expected: list[str]
    behaviours: list[str]
    fired: dict[str, list[str]]
    """Rule id -> techniques it raised (all rules that fired, any severity)."""
    fitting: dict[str, list[str]]
    hit: bool
    medium_merged: int = 0
    medium_by_rule: dict[str, int] = field(default_factory=dict)
    """Medium-or-higher merged alerts per rule."""
    medium_by_category: dict[str, int] = field(default_factory=dict)
    """Medium-or-higher merged alerts per detector family (rule, baseline, policy, intel)."""
    medium_raw: int = 0
    alerts_merged: int = 0
    error: str = ""
    seconds: float = 0.0


def score_capture(entry: gt.ManifestEntry, run: CaptureRun) -> CaptureScore:
    expected, behaviours = gt.expected_techniques(entry)
    fired: dict[str, set[str]] = {}
    for occ in run.occurrences:
        fired.setdefault(occ.rule_id, set()).update(occ.techniques)
    fit = gt.fitting(run.occurrences, expected)
    medium = [m for m in run.merged if _at_least(m.severity, MEDIUM)]
    return CaptureScore(
        rel=entry.path, label=entry.label, expected=sorted(expected),
        behaviours=list(behaviours), fired={r: sorted(t) for r, t in sorted(fired.items())},
        fitting={r: sorted(t) for r, t in sorted(fit.items())}, hit=bool(fit) and not run.error,
        medium_merged=len(medium), medium_by_rule=dict(Counter(m.rule_id for m in medium)),
        medium_by_category=dict(Counter(m.category or "?" for m in medium)),
        medium_raw=sum(1 for o in run.occurrences if _at_least(o.severity, MEDIUM)),
        alerts_merged=len(run.merged), error=run.error, seconds=run.seconds)


def _at_least(severity: str, floor: str) -> bool:
    from otshield.detect.alert import severity_at_least

    return severity_at_least(severity, floor)


def score_lemay(shared: Path, run: CaptureRun) -> dict[str, Any] | None:
    labels_path = shared / "data" / "pcaps" / run.rel.replace(".pcap", "_labeled.csv")
    if not labels_path.is_file() or run.flagged_by_flow is None or run.flagged_by_frame is None:
        return None
    labels = gt.parse_lemay_labels(labels_path.read_text(encoding="utf-8"), str(labels_path))
    out: dict[str, Any] = {"capture": run.rel, "labelled": len(labels),
                           "malicious": sum(labels.values())}
    for name, flagged in (("by_flow", run.flagged_by_flow), ("by_frame", run.flagged_by_frame)):
        s = gt.score_packets(labels, flagged)
        out[name] = {"tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": s.tn,
                     "precision": s.precision, "recall": s.recall}
    return out


def score_qut(shared: Path, run: CaptureRun, grace: float) -> dict[str, Any] | None:
    log = shared / "data" / "pcaps" / run.rel.replace("_attacker.pcap",
                                                       "_Attack_script_log.log")
    if not log.is_file():
        return None
    windows = gt.parse_qut_log(log.read_text(encoding="utf-8"), QUT_UTC_OFFSET, str(log))
    results = gt.score_windows(windows, run.occurrences, grace=grace)
    learn_end = run.learn_end_ts
    outside = gt.outside_windows(windows, run.occurrences, grace)
    return {
        "outside_raw": len(outside),
        "outside_medium_raw": sum(1 for o in outside if _at_least(o.severity, MEDIUM)),
        "outside_rules": dict(Counter(o.rule_id for o in outside).most_common()),
        "capture": run.rel,
        "alerts_raw": len(run.occurrences),
        "alerts_merged": len(run.merged),
        "medium_merged": sum(1 for m in run.merged if _at_least(m.severity, MEDIUM)),
        "learning_ends": learn_end,
        "windows": [{"name": r.window.name, "start": r.window.start, "end": r.window.end,
                     "hosts": list(r.window.hosts), "detected": r.detected,
                     "in_learning": learn_end is not None and r.window.start < learn_end,
                     "ttd": r.ttd, "rules": list(r.rules), "techniques": list(r.techniques),
                     "occurrences": r.occurrences} for r in results],
    }


def qut_types(qut: list[dict[str, Any]]) -> list[gt.TypeResult]:
    results = []
    for run in qut:
        for w in run["windows"]:
            window = gt.AttackWindow(name=w["name"], start=w["start"], end=w["end"],
                                     hosts=tuple(w["hosts"]))
            results.append(gt.WindowResult(window=window, detected=w["detected"],
                                           techniques=tuple(w["techniques"]), ttd=w["ttd"]))
    return gt.score_types(results)


# -- output -------------------------------------------------------------------------------------
def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.1f}%)" if b else "0/0"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _secs(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "MET" if ok else "MISSED"


def _top(counts: dict[str, int], limit: int = 8) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    more = f" ... +{len(items) - limit} rules" if len(items) > limit else ""
    return ", ".join(f"{r} {c}" for r, c in items[:limit]) + more or "-"


def _fired(fired: dict[str, list[str]], limit: int = 6) -> str:
    items = [f"{r} ({','.join(t)})" if t else r for r, t in fired.items()]
    more = f" ... +{len(items) - limit}" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def build_report(scores: list[CaptureScore], lemay: list[dict[str, Any]],
                 qut: list[dict[str, Any]], control: dict[str, Any] | None) -> dict[str, Any]:
    detect = [s for s in scores if s.label in ("attack", "suspicious")]
    normal = [s for s in scores if s.label == "normal"]
    types = qut_types(qut)
    hits = sum(s.hit for s in detect)
    normal_merged = sum(s.medium_merged for s in normal)
    # None: not measured in this run (--only left the group out)
    targets = {
        "detected_share": hits / len(detect) if detect else None,
        "detected_ok": hits / len(detect) >= TARGET_DETECTED if detect else None,
        "normal_medium_per_capture": normal_merged / len(normal) if normal else None,
        "normal_ok": normal_merged / len(normal) <= TARGET_NORMAL if normal else None,
        "qut_types_ok": all(t.detected for t in types) if types else None,
    }
    return {
        "groups": {
            label: {"captures": len(g), "detected": sum(s.hit for s in g)}
            for label in ("attack", "suspicious")
            for g in [[s for s in detect if s.label == label]]
        },
        "normal": {"captures": len(normal), "medium_merged": normal_merged,
                   "medium_raw": sum(s.medium_raw for s in normal),
                   "captures_with_medium": sum(1 for s in normal if s.medium_merged),
                   "medium_by_category": dict(sum((Counter(s.medium_by_category)
                                                   for s in normal), Counter()).most_common()),
                   "medium_by_rule": dict(sum((Counter(s.medium_by_rule) for s in normal),
                                              Counter()).most_common())},
        "captures": [vars(s) for s in scores],
        "lemay": lemay,
        "qut": qut,
        "qut_control": control,
        "qut_types": [vars(t) for t in types],
        "targets": targets,
    }


def print_report(report: dict[str, Any], scores: list[CaptureScore], settings: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 190)
    table = Table(title=f"otshield detection evaluation ({settings})", show_lines=False,
                  title_justify="left")
    table.add_column("group / capture", overflow="fold", max_width=58)
    table.add_column("label")
    table.add_column("expected techniques", overflow="fold", max_width=30)
    table.add_column("figures / rules fired (techniques)", overflow="fold", min_width=60)
    table.add_column("result", max_width=24)

    for label, g in report["groups"].items():
        table.add_row(f"[b]{label}[/b]", label, "", "fitting alert fired",
                      _pct(g["detected"], g["captures"]))
    both_hit = sum(g["detected"] for g in report["groups"].values())
    both_n = sum(g["captures"] for g in report["groups"].values())
    t = report["targets"]
    table.add_row("[b]attack + suspicious[/b]", "", "", "target >= 95% with a fitting technique",
                  f"{_pct(both_hit, both_n)} {_verdict(t['detected_ok'])}")
    n = report["normal"]
    per = t["normal_medium_per_capture"]
    table.add_row(
        "[b]normal[/b]", "normal", "",
        f"medium+ alerts: {n['medium_merged']} merged ({n['medium_raw']} raw occurrences) "
        f"in {n['captures_with_medium']} of {n['captures']} captures; target <= 1.0/capture; "
        f"by detector: {_top(n['medium_by_category'])}; by rule: {_top(n['medium_by_rule'])}",
        f"{'-' if per is None else f'{per:.2f}'}/capture "
        f"{_verdict(t['normal_ok'])}")
    table.add_section()
    for lm in report["lemay"]:
        f, s = lm["by_flow"], lm["by_frame"]
        table.add_row(
            f"[b]Lemay[/b] {lm['capture'].rsplit('/', 1)[-1]}", "attack",
            f"{lm['malicious']} malicious / {lm['labelled']} frames",
            f"by flow: TP {f['tp']} FP {f['fp']} FN {f['fn']} P {_ratio(f['precision'])} "
            f"R {_ratio(f['recall'])}  |  by frame: TP {s['tp']} FP {s['fp']} FN {s['fn']} "
            f"P {_ratio(s['precision'])} R {_ratio(s['recall'])}",
            f"P {_ratio(f['precision'])} R {_ratio(f['recall'])}")
    table.add_section()
    for q in report["qut"]:
        ws = q["windows"]
        det = [w for w in ws if w["detected"]]
        ttds = sorted(w["ttd"] for w in det if w["ttd"] is not None)
        table.add_row(f"[b]QUT[/b] {q['capture'].rsplit('/', 1)[-1]}", "attack",
                      f"{len(ws)} windows ({sum(w['in_learning'] for w in ws)} in learning)",
                      f"alerts: {q['medium_merged']} medium+ merged, {q['alerts_raw']} raw, "
                      f"of which {q['outside_raw']} ({q['outside_medium_raw']} medium+) outside "
                      f"every window; median time to detect "
                      f"{_secs(ttds[len(ttds) // 2] if ttds else None)}",
                      _pct(len(det), len(ws)))
    for ty in report["qut_types"]:
        table.add_row(f"  QUT type {ty['name']}", "attack", ",".join(ty["techniques"]) or "-",
                      f"windows detected {ty['detected']}/{ty['windows']}, median time to "
                      f"detect {_secs(ty['median_ttd'])}",
                      "detected" if ty["detected"] else "[red]MISSED[/red]")
    c = report["qut_control"]
    if c is not None:
        table.add_row("[b]QUT Control run[/b] (no attack)", "normal", "",
                      f"alerts: {c['alerts_merged']} merged ({c['medium_merged']} medium+), "
                      f"{c['alerts_raw']} raw; rules {_fired(c['fired'])}", "quiet"
                      if not c["medium_merged"] else "[yellow]alerts[/yellow]")
    if report["qut_types"]:
        table.add_row("[b]QUT attack types[/b]", "", "", "target: each type detected",
                      _verdict(t["qut_types_ok"]))
    table.add_section()
    for s in scores:
        if s.label == "normal":
            continue
        result = "[green]hit[/green]" if s.hit else "[red]MISS[/red]"
        figures = _fired(s.fitting if s.hit else s.fired) or "(no alert)"
        if s.error:
            figures, result = f"error: {s.error}", "[red]ERROR[/red]"
        table.add_row(s.rel, s.label, ",".join(s.expected) or "(none: table gap)", figures,
                      result)
    table.add_section()
    for s in scores:
        if s.label == "normal" and (s.medium_merged or s.error):
            figures = f"{s.medium_merged} medium+ merged ({s.medium_raw} raw): " \
                f"{_top(s.medium_by_rule, 5)}"
            if s.error:
                figures = f"error: {s.error}"
            table.add_row(s.rel, "normal", "", figures, "[yellow]noisy[/yellow]"
                          if not s.error else "[red]ERROR[/red]")
    console.print(table)
    console.print(f"normal captures without medium+ alerts are not listed "
                  f"({n['captures'] - n['captures_with_medium']} of {n['captures']}).")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a failed run never leaves half a file over the previous figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=sorted)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _baseline_available() -> bool:
    """The baseline is being written alongside this script: run without it until it exists."""
    import importlib

    try:
        return hasattr(importlib.import_module("otshield.detect.baseline"),
                       "open_baseline_detector")
    except ImportError:
        return False


def _rules_problem() -> str:
    """Why the built-in rule pack does not load ('' when it does): checked once here rather
    than failing in every worker."""
    from otshield.detect.attack import load_attack_table
    from otshield.detect.rules import load_rules
    from otshield.errors import OtshieldError

    try:
        load_rules([], builtin=True, attack=load_attack_table())
    except OtshieldError as exc:
        return str(exc)
    return ""


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="the shared directory holding data/pcaps (default ../shared)")
    ap.add_argument("--only", action="append", default=[], metavar="GLOB",
                    help="only captures whose corpus path matches (repeatable)")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--learn", type=float, default=0.3,
                    help="baseline learning share of each capture's packets (0: no baseline)")
    ap.add_argument("--grace", type=float, default=60.0,
                    help="QUT: seconds after a window's END during which an alert still counts")
    ap.add_argument("--reload-rules", action="store_true",
                    help="load the rules for every capture (slower; to check the per-worker "
                         "cache changes nothing)")
    args = ap.parse_args(argv)
    manifest = args.shared / "data" / "pcaps" / "MANIFEST.md"
    if not manifest.is_file():
        print(f"error: {manifest} not found (use --shared)", file=sys.stderr)
        return 2
    if not 0.0 <= args.learn < 1.0 or args.workers < 1 or args.grace < 0:
        print("error: --learn must be in [0, 1), --workers >= 1, --grace >= 0", file=sys.stderr)
        return 2
    learn = args.learn
    settings = f"built-in rules, baseline auto on the first {learn:.0%} of each capture"
    if learn and not _baseline_available():
        learn = 0.0
        settings = "built-in rules; baseline not available (otshield.detect.baseline missing)"
    if not learn:
        settings = settings if "missing" in settings else "built-in rules, no baseline"

    problem = _rules_problem()
    if problem:
        print(f"error: the built-in rules do not load:\n{problem}", file=sys.stderr)
        return 2
    entries = [e for e in gt.parse_manifest(manifest.read_text(encoding="utf-8"))
               if e.label in SCORED_LABELS
               and (not args.only or any(fnmatch.fnmatch(e.path, g) for g in args.only))]
    pcaps = args.shared / "data" / "pcaps"
    entries = [e for e in entries if (pcaps / e.path).is_file()]
    if not entries:
        print("error: no capture selected", file=sys.stderr)
        return 2
    by_rel = {e.path: e for e in entries}
    tasks = sorted((Task(path=str(pcaps / e.path), rel=e.path, label=e.label,
                         packets=e.packets, learn=learn,
                         per_packet=e.path.startswith("lemay-modbus/"),
                         learn_ts=e.path.startswith("qut-dnp3/"),
                         reload_rules=args.reload_rules)
                    for e in entries), key=lambda t: -t.packets)
    started = time.perf_counter()
    runs: dict[str, CaptureRun] = {}
    progress = sys.stderr.isatty()
    # each worker loads the rule pack once (load_rules keeps it); --reload-rules checks that
    # this changes nothing
    with multiprocessing.Pool(min(args.workers, len(tasks))) as pool:
        for i, run in enumerate(pool.imap_unordered(run_one, tasks), 1):
            runs[run.rel] = run
            if progress:
                print(f"\r[{i}/{len(tasks)}] {run.rel[:70]:70}", end="", file=sys.stderr,
                      flush=True)
    if progress:
        print(file=sys.stderr)
    elapsed = time.perf_counter() - started

    scores = [score_capture(by_rel[rel], runs[rel]) for rel in sorted(runs)]
    lemay = [x for r in sorted(runs) for x in [score_lemay(args.shared, runs[r])] if x]
    qut = [x for r in sorted(runs) if r.startswith("qut-dnp3/") and runs[r].label == "attack"
           for x in [score_qut(args.shared, runs[r], args.grace)] if x]
    control_run = next((runs[r] for r in runs if r.startswith("qut-dnp3/Control")), None)
    control = None
    if control_run is not None:
        fired: dict[str, set[str]] = {}
        for occ in control_run.occurrences:
            fired.setdefault(occ.rule_id, set()).update(occ.techniques)
        control = {"capture": control_run.rel, "alerts_raw": len(control_run.occurrences),
                   "alerts_merged": len(control_run.merged),
                   "medium_merged": sum(1 for m in control_run.merged
                                        if _at_least(m.severity, MEDIUM)),
                   "fired": {r: sorted(t) for r, t in sorted(fired.items())}}
    report = build_report(scores, lemay, qut, control)
    report["settings"] = {"description": settings, "learn": learn, "grace": args.grace,
                          "workers": args.workers, "seconds": round(elapsed, 1),
                          "packets": sum(r.packets for r in runs.values()),
                          "problems": {r.rel: r.problems for r in runs.values() if r.problems}}
    print_report(report, scores, settings)
    print(f"{len(runs)} captures, {report['settings']['packets']:,} packets in {elapsed:.0f} s "
          f"({args.workers} workers)")
    if args.json:
        write_json(args.json, report)
        print(f"figures written to {args.json}")
    t = report["targets"]
    missed = [k for k in ("detected_ok", "normal_ok", "qut_types_ok") if t[k] is False]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

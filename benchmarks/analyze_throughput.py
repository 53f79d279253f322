"""What detection costs: packets/s of decoding alone against `otshield analyze` (issue #5 target:
analyze with the full rule pack keeps >= 70% of decode-only throughput).

Three configurations over the same capture, in one process, alternating, best of ``--repeat``:

* ``decode``: the engine with a null sink (decoders, flows, reassembly; events built and
  dropped);
* ``rules``: :func:`run_analysis` with the built-in rule pack and the inventory;
* ``full``: the same plus the zones-and-conduits policy (a site file for the demo plant, written
  here, since the project ships none) and the baseline in ``protect`` mode (learnt beforehand on
  the same capture, so the run sees the steady state of a monitored plant).

The rule pack is loaded once (``load_rules`` keeps it; its load time is printed apart), so the
figures are the cost per packet; the fixed start-up left (ATT&CK table, site, baseline file,
inventory) is measured on an empty capture and shown in seconds.

Captures: the project's demo plant (``otshield.demo.write_demo_capture``, ``--packets``) and the
largest corpus captures (QUT DNP3 Masquerading, Lemay channel_4d_12s, ct-samples Plant1_S7comm)
when ../shared is present. Times are CPU time of this process (``time.process_time``), so
other load on the machine does not count (it still slows a process sharing the caches: the
``paired`` column gives the median of each repetition's own full/decode ratio, whose two runs
follow each other and so share the load). Then a cProfile of the ``full`` run on the demo
capture and of the corpus capture with the lowest ratio shows where the detection time goes
(the detectors' own functions).

With ``--instructions`` the same three configurations also run under valgrind's cachegrind,
each in a process of its own (the capture analysed once to warm up, then once more: the
difference of two processes, one stopping after the warm-up, is one analysis). Instruction
counts do not depend on what else the machine runs, so this ratio repeats within two tenths of a
percent where CPU times on a shared machine move by a third; the estimated cycles add the
simulated cache misses (KCachegrind's estimate: 10 cycles a first-level miss, 100 a last-level
one). It takes some minutes (valgrind runs Python about 50 times slower).

    .venv/bin/python benchmarks/analyze_throughput.py [--packets 100000] [--repeat 5]
        [--no-corpus] [--no-profile] [--instructions]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from otshield.capture import open_capture
from otshield.demo import write_demo_capture
from otshield.detect.analyze import AnalyzeOptions, run_analysis
from otshield.engine import Engine
from otshield.errors import OtshieldError
from otshield.events import Event

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "pcaps"
CORPUS_FILES = [
    "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
    "lemay-modbus/channel_4d_12s.pcap",
    "ct-samples/s7/Plant1_S7comm.pcap",
]
TARGET = 0.70

DEMO_SITE = """\
# The demo plant (otshield.demo) as zones and conduits, for the benchmark's policy detector.
site: otshield demo plant
zones:
  - {name: Enterprise, level: 4, security_level_target: 1, subnets: [10.10.10.0/24]}
  - {name: Supervisory, level: 2, security_level_target: 2, subnets: [10.10.20.0/24]}
  - {name: DMZ-IIoT, level: 3, security_level_target: 2, subnets: [10.10.25.0/24]}
  - {name: Control, level: 1, security_level_target: 3, subnets: [10.10.30.0/24]}
  - {name: Substation, level: 1, security_level_target: 3, subnets: [10.10.40.0/24]}
  - {name: Building, level: 1, security_level_target: 2, subnets: [10.10.50.0/24]}
conduits:
  - name: scada-to-control
    from: Supervisory
    to: Control
    protocols: [modbus, dnp3, s7comm, enip]
    functions: [read, write]
  - name: scada-to-substation
    from: Supervisory
    to: Substation
    protocols: [iec104]
    functions: [read, control]
  - name: control-to-broker
    from: Control
    to: DMZ-IIoT
    protocols: [mqtt]
    functions: [read, write]
  - name: ot-to-enterprise-services
    from: Supervisory
    to: Enterprise
    protocols: [dns, http, tls]
"""
"""Zones follow the demo's addressing (otshield.demo / demo_grid). Some demo traffic (the
engineering workstation's S7 stop, the BACnet broadcasts) is deliberately outside these
conduits, so the policy detector also takes its alerting path."""


def available(module: str, name: str) -> bool:
    """Is ``module.name`` importable (parts of detection are optional while being built)?"""
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def null_sink(_event: Event) -> None:
    return None


def decode_only(path: Path) -> tuple[int, float]:
    engine = Engine(null_sink)
    t0 = time.process_time()
    with open_capture(path) as reader:
        feed = engine.feed
        for ts, linktype, data in reader:
            feed(ts, linktype, data)
    engine.finish()
    return engine.stats.packets, time.process_time() - t0


def analyze(path: Path, options: AnalyzeOptions) -> tuple[int, float, int]:
    t0 = time.process_time()
    result = run_analysis([path], options)
    return result.packets, time.process_time() - t0, len(result.alerts)


def full_options(path: Path, tmp: Path, site: Path | None) -> tuple[AnalyzeOptions, str]:
    """Options for the ``full`` run and what they hold: the baseline is learnt here first."""
    notes = []
    baseline: str | None = None
    if not available("otshield.detect.baseline", "open_baseline_detector"):
        notes.append("no baseline (module missing)")
    else:
        try:
            baseline = str(tmp / f"{path.stem}.baseline")
            run_analysis([path], AnalyzeOptions(baseline=baseline, baseline_mode="learn"))
            notes.append("baseline protect")
        except OtshieldError as exc:
            notes.append(f"no baseline ({exc})")
            baseline = None
    site_arg = None
    if site is not None:
        try:
            from otshield.policy import load_policy

            if load_policy(site).conduits:
                site_arg = str(site)
                notes.append("policy")
        except ImportError:
            notes.append("no policy (module missing)")
        except OtshieldError as exc:
            notes.append(f"no policy ({exc})")
    return AnalyzeOptions(site=site_arg, baseline=baseline,
                          baseline_mode="protect" if baseline else "off"), ", ".join(notes)


def empty_capture(path: Path) -> Path:
    from otshield.pcapwriter import PcapWriter

    with path.open("wb") as fh, PcapWriter(fh):
        pass
    return path


def measure(name: str, path: Path, repeat: int, tmp: Path, opts_full: AnalyzeOptions,
            notes: str) -> dict[str, float | int | str]:
    """Best CPU seconds per configuration, and the fixed start-up of each analysis (loading
    rules, ATT&CK table, site, baseline: measured on an empty capture)."""
    empty = empty_capture(tmp / "empty.pcap")
    runs: dict[str, Callable[[], tuple[int, float]]] = {
        "decode": lambda: decode_only(path),
        "rules": lambda: analyze(path, AnalyzeOptions())[:2],
        "full": lambda: analyze(path, opts_full)[:2],
        "rules_startup": lambda: analyze(empty, AnalyzeOptions())[:2],
        "full_startup": lambda: analyze(empty, opts_full)[:2],
    }
    for fn in runs.values():  # warm-up: imports and first-use caches are not throughput
        fn()
    best = {k: float("inf") for k in runs}
    worst = {k: 0.0 for k in runs}
    paired: list[float] = []
    packets = 0
    for _ in range(repeat):
        this: dict[str, float] = {}
        for key, fn in runs.items():
            gc.collect()
            n, seconds = fn()
            packets = n if key == "decode" else packets
            best[key] = min(best[key], seconds)
            worst[key] = max(worst[key], seconds)
            this[key] = seconds
        paired.append(this["decode"] / this["full"])
    alerts = analyze(path, opts_full)[2]
    return {"capture": name, "packets": packets, "notes": notes, "alerts": alerts,
            "decode_s": best["decode"], "rules_s": best["rules"], "full_s": best["full"],
            "rules_startup_s": best["rules_startup"], "full_startup_s": best["full_startup"],
            "spread": max(worst[k] / best[k] for k in ("decode", "rules", "full")),
            "paired": statistics.median(paired)}


CONFIGS = ("decode", "rules", "full")


def run_once(mode: str, path: Path, options: AnalyzeOptions, count: int) -> None:
    """The child of ``--instructions``: one warm-up analysis, then ``count`` more."""
    for _ in range(1 + count):
        if mode == "decode":
            decode_only(path)
        else:
            run_analysis([path], options)


def _cachegrind(mode: str, path: Path, options: AnalyzeOptions, count: int, out: Path
                ) -> dict[str, int]:
    """Counts of one child process under cachegrind (its ``summary:`` line, by event name)."""
    child = json.dumps({"mode": mode, "capture": str(path), "count": count,
                        "options": msgspec.to_builtins(options)})
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes",
           f"--cachegrind-out-file={out}", sys.executable, __file__, "--child", child]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cachegrind run failed ({mode}, {path.name}):\n"
                           f"{done.stderr[-2000:]}")
    events: list[str] = []
    for line in out.read_text(encoding="utf-8").splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            return dict(zip(events, map(int, line.split()[1:]), strict=True))
    raise RuntimeError(f"no summary in {out}")


def instructions(path: Path, options: dict[str, AnalyzeOptions], tmp: Path
                 ) -> dict[str, tuple[int, float]]:
    """Per configuration: instructions and estimated cycles of one analysis of ``path``."""
    jobs = [(mode, count) for mode in CONFIGS for count in (0, 1)]

    def one(job: tuple[str, int]) -> dict[str, int]:
        mode, count = job
        return _cachegrind(mode, path, options[mode], count,
                           tmp / f"cachegrind.{path.stem}.{mode}.{count}")

    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        found = dict(zip(jobs, pool.map(one, jobs), strict=True))
    out = {}
    for mode in CONFIGS:
        one_run = {k: found[(mode, 1)][k] - found[(mode, 0)][k] for k in found[(mode, 1)]}
        l1 = one_run["I1mr"] + one_run["D1mr"] + one_run["D1mw"]
        ll = one_run["ILmr"] + one_run["DLmr"] + one_run["DLmw"]
        out[mode] = (one_run["Ir"], one_run["Ir"] + 10.0 * l1 + 100.0 * ll)
    return out


def print_instructions(rows: list[tuple[str, int, dict[str, tuple[int, float]]]]) -> None:
    print("\ninstructions per analysis under cachegrind (repeatable; ratio = decode / config, "
          f"target {TARGET:.0%})")
    head = (f"{'capture':34} {'packets':>7} {'decode Ir/pkt':>13} {'rules':>6} {'est.cyc':>7} "
            f"{'full':>6} {'est.cyc':>7}")
    print(head)
    print("-" * len(head))
    for name, packets, counts in rows:
        dec_ir, dec_cyc = counts["decode"]
        cells = []
        for mode in ("rules", "full"):
            ir, cyc = counts[mode]
            cells.append(f"{dec_ir / ir:>6.1%} {dec_cyc / cyc:>7.1%}")
        print(f"{name[-34:]:34} {packets:>7,} {dec_ir / max(packets, 1):>13,.0f} "
              + " ".join(cells))
    for mode in ("rules", "full"):
        low = min(counts["decode"][0] / counts[mode][0] for _n, _p, counts in rows)
        print(f"lowest {mode}/decode instruction ratio: {low:.1%} (target {TARGET:.0%})")


def profile(path: Path, tmp: Path, site: Path | None, top: int) -> None:
    """cProfile of the full analysis: the detection functions by own time, and each
    detector's share (cumulative time of its observe)."""
    options, notes = full_options(path, tmp, site)
    prof = cProfile.Profile()
    prof.enable()
    run_analysis([path], options)
    prof.disable()
    stats = pstats.Stats(prof)
    raw = stats.stats  # type: ignore[attr-defined]
    total = max((v[3] for v in raw.values()), default=0.0)
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        where = filename.replace("\\", "/")
        if "/otshield/" not in where:
            continue
        module = where.split("/otshield/", 1)[1]
        if module.startswith(("detect/", "policy/", "inventory/")):
            rows.append((tottime, cumtime, ncalls, f"{module}:{line}({func})"))
    print(f"\ncProfile of `analyze` ({notes}) on {path.name}: {total:.2f} s total "
          "(profiler overhead inflates small functions)")
    print("  per detector and consumer (cumulative time of the entry point):")
    for _tt, cum, n, name in sorted(rows, key=lambda r: -r[1]):
        if name.endswith(("(observe)", "(__call__)", "(_detect)", "(flush)", "(finish)")) \
                and cum >= 0.01 * total:
            print(f"    {cum:7.2f} s {100 * cum / total:5.1f}%  {n:>9} calls  {name}")
    print(f"  top {top} detection/inventory functions by own time:")
    for tt, cum, n, name in sorted(rows, key=lambda r: -r[0])[:top]:
        print(f"    {tt:7.2f} s own {cum:7.2f} s cum {n:>9} calls  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000,
                    help="size of the demo plant capture")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--top", type=int, default=20, help="profile entries shown")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions under valgrind's cachegrind (slow, repeatable)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        job = json.loads(args.child)
        run_once(job["mode"], Path(job["capture"]),
                 msgspec.convert(job["options"], AnalyzeOptions), int(job["count"]))
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        ap.error("--instructions needs valgrind (apt-get install valgrind)")
    if args.repeat < 1 or args.packets < 1:
        ap.error("--repeat and --packets must be positive")
    try:
        from otshield.detect.attack import load_attack_table
        from otshield.detect.rules import load_rules

        t0 = time.process_time()
        pack = load_rules([], builtin=True, attack=load_attack_table())
        load_seconds = time.process_time() - t0
    except OtshieldError as exc:
        print(f"error: the built-in rules do not load:\n{exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        demo = tmp / "demo-plant.pcap"
        write_demo_capture(demo, packets=args.packets)
        site = tmp / "demo-site.yaml"
        site.write_text(DEMO_SITE, encoding="utf-8")
        targets: list[tuple[str, Path, Path | None]] = [("demo plant", demo, site)]
        if not args.no_corpus:
            targets += [(rel, CORPUS / rel, None) for rel in CORPUS_FILES
                        if (CORPUS / rel).is_file()]
        results = []
        counted: list[tuple[str, int, dict[str, tuple[int, float]]]] = []
        for name, path, site_file in targets:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            full, notes = full_options(path, tmp, site_file)
            results.append(measure(name, path, args.repeat, tmp, full, notes))
            if args.instructions:
                print(f"counting instructions of {name} (minutes) ...", file=sys.stderr,
                      flush=True)
                try:
                    counts = instructions(path, {"decode": AnalyzeOptions(),
                                                 "rules": AnalyzeOptions(), "full": full}, tmp)
                except RuntimeError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                counted.append((name, int(results[-1]["packets"]), counts))
        print(f"\nanalyze throughput, CPU time, best of {args.repeat} "
              f"(target: full >= {TARGET:.0%} of decode)")
        print(f"{len(pack)} built-in rules, loaded once in {load_seconds:.2f} s CPU "
              "(not in the figures below)")
        print("p/s = packets per CPU second of the whole run; 'steady' leaves out the fixed "
              "start-up of an analysis\n(ATT&CK table, site, baseline file: measured on an "
              "empty capture, shown in seconds)")
        head = (f"{'capture':34} {'packets':>7} {'decode p/s':>10} {'rules p/s':>9} "
                f"{'ratio':>5} {'full p/s':>8} {'ratio':>5} {'steady':>6} {'start-up':>8} "
                f"{'alerts':>6} {'spread':>6} {'paired':>6}  full run has")
        print(head)
        print("-" * len(head))
        worst = worst_steady = 1.0
        for r in results:
            n = int(r["packets"])
            dec = n / float(r["decode_s"])
            rules, full = n / float(r["rules_s"]), n / float(r["full_s"])
            startup = float(r["full_startup_s"])
            steady = float(r["decode_s"]) / max(float(r["full_s"]) - startup, 1e-9)
            worst, worst_steady = min(worst, full / dec), min(worst_steady, steady)
            r.update(decode_pps=dec, rules_pps=rules, full_pps=full, full_ratio=full / dec,
                     steady_ratio=steady)
            print(f"{str(r['capture'])[-34:]:34} {n:>7,} {dec:>10,.0f} {rules:>9,.0f} "
                  f"{rules / dec:>5.0%} {full:>8,.0f} {full / dec:>5.0%} {steady:>6.0%} "
                  f"{startup:>7.2f}s {r['alerts']:>6} {float(r['spread']):>6.2f} "
                  f"{float(r['paired']):>6.0%}  {r['notes']}")
        print(f"lowest full/decode ratio: {worst:.0%} whole run, {worst_steady:.0%} steady "
              f"(target {TARGET:.0%})")
        print("spread: slowest / fastest repetition of the same run; well above 1 means the "
              "machine was busy\n(other processes share the cores and caches) and the ratios "
              "are uncertain by about that much")
        print("paired: full/decode ratio of each repetition (its decode and full runs back to "
              "back, so under the\nsame load), median over the repetitions: steadier than "
              "the ratio of two best times on a busy machine")
        if counted:
            print_instructions(counted)
        if not args.no_profile:
            profile(demo, tmp, site, args.top)
            worst_corpus = min((r for r in results[1:]), default=None,
                               key=lambda r: float(r["full_ratio"]))
            if worst_corpus is not None:  # where the ratio is lowest, the cause may differ
                profile(CORPUS / str(worst_corpus["capture"]), tmp, None, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The drill table of issue #6: every scenario run offline, every stage scored.

For each scenario of the library (and the project's test plant) the simulator writes the
plant's capture with the scenario in it, ``otshield analyze`` reads it with the plant's site
file and a baseline learnt on the traffic before the first stage, and the drill score says per
stage: detected, technique right, time to detect (packet time: first packet of the stage to the
first fitting alert), and the rule that named the right technique. Totals per scenario and over
all of them close the table. Target (issue #6): every stage detected, with the right technique.

    .venv/bin/python benchmarks/drill_table.py [--seed 1] [--scenario ID ...] [--keep DIR]
        [--markdown]

``--keep DIR`` leaves each drill's directory (capture, site, alerts, record, reports) there;
``--markdown`` prints the table as Markdown (for a closing note) instead of a terminal table.
Exit status 0 when every stage of every scenario was detected with the right technique, else 3.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from otshield.sim.drill.record import DrillRecord
from otshield.sim.drill.run import run_drill, scenario_catalogue
from otshield.sim.drill.view import seconds


def _rows(records: list[tuple[DrillRecord, float]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for record, _elapsed in records:
        assert record.score is not None
        for s in record.score.stages:
            rows.append((record.scenario, s.stage, "yes" if s.detected else "NO",
                         "yes" if s.technique_right else "NO", seconds(s.time_to_detect),
                         (s.right_rules or s.rules or ("-",))[0]))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", action="append", default=[], metavar="ID",
                    help="only these scenarios (repeatable; default all)")
    ap.add_argument("--keep", metavar="DIR", help="keep the drill directories here")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)
    out = Console(width=160)
    ids = [sid for sid, *_ in scenario_catalogue()]
    unknown = sorted(set(args.scenario) - set(ids))
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {ids}", file=sys.stderr)
        return 2
    chosen = args.scenario or ids
    records: list[tuple[DrillRecord, float]] = []
    with tempfile.TemporaryDirectory(prefix="otshield-drill-table-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for sid in chosen:
            started = time.perf_counter()
            record = run_drill(sid, seed=args.seed, out_dir=base / sid, reports=bool(args.keep))
            records.append((record, time.perf_counter() - started))
            for problem in record.problems:
                print(f"{sid}: problem: {problem}", file=sys.stderr)
    header = ("scenario", "stage", "detected", "technique right", "time to detect",
              "rule (right technique)")
    rows = _rows(records)
    totals: list[tuple[str, ...]] = []
    all_stages = all_detected = all_right = 0
    delays: list[float] = []
    for record, elapsed in records:
        sc = record.score
        assert sc is not None
        all_stages += sc.stages_total
        all_detected += sc.stages_detected
        all_right += sc.techniques_right
        delays.extend(s.time_to_detect for s in sc.stages if s.time_to_detect is not None)
        totals.append((record.scenario, str(sc.stages_total), str(sc.stages_detected),
                       str(sc.techniques_right), seconds(sc.mean_time_to_detect),
                       seconds(sc.max_time_to_detect), str(sc.unmatched_medium),
                       str(record.packets), f"{elapsed:.1f} s"))
    totals_header = ("scenario", "stages", "detected", "technique right", "mean TTD",
                     "max TTD", "medium+ outside", "packets", "run time")
    if args.markdown:
        for head, body in ((header, rows), (totals_header, totals)):
            print("| " + " | ".join(head) + " |")
            print("|" + "|".join("---" for _ in head) + "|")
            for row in body:
                print("| " + " | ".join(row) + " |")
            print()
    else:
        for title, head, body in ((f"Drill table (offline, seed {args.seed})", header, rows),
                                  ("Totals per scenario", totals_header, totals)):
            table = Table(title=title)
            for col in head:
                table.add_column(col)
            for row in body:
                table.add_row(*row)
            out.print(table)
    mean = sum(delays) / len(delays) if delays else None
    print(f"ALL: {all_detected}/{all_stages} stages detected, {all_right}/{all_stages} with the "
          f"right technique; time to detect mean {seconds(mean)}, max "
          f"{seconds(max(delays) if delays else None)}")
    return 0 if all_right == all_stages else 3


if __name__ == "__main__":
    raise SystemExit(main())

"""``otshield drill``: run, score and report attack drills; play tabletop exercises.

    otshield drill list
    otshield drill run SCENARIO [--live] [--seed N] -o DIR
    otshield drill score RECORD [--console DB] [--slack S]
    otshield drill act RECORD --participant NAME (--ack ALERT | --step STEP)
    otshield drill report RECORD --format html|md -o FILE
    otshield drill tabletop EXERCISE [--answers FILE] [--participant NAME --role ROLE]
                                     [--record RECORD]

Exit status: 0 done (``run``/``score``: every stage detected with the right technique), 3 a
drill stage was missed or named the wrong technique, 2 usage or configuration errors (raised as
:class:`~otshield.errors.OtshieldError`, printed by the main program).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from otshield.errors import ConfigError
from otshield.sim.drill.record import (
    ACTION_KINDS,
    Action,
    DrillRecord,
    Participant,
    load_record,
    rescore,
    save_record,
)
from otshield.sim.drill.run import MAX_SLACK
from otshield.sim.drill.score import DEFAULT_SLACK, DrillScore
from otshield.sim.drill.tabletop_model import ROLES
from otshield.sim.drill.view import seconds

__all__ = ["print_participants", "print_score", "register"]

EXIT_MISSED = 3


def register(sub: Any) -> None:
    """Add ``otshield drill`` and its verbs to the main parser's sub-parsers."""
    d = sub.add_parser(
        "drill", help="attack drills on the simulated plant or the live range: scored "
        "detection, after-action reports, tabletop exercises",
        description="Run an attack scenario against otshield and score which stages it "
        "caught, with the right ATT&CK for ICS technique and how fast; record the team's "
        "actions; write the after-action report; play tabletop exercises per role.")
    verbs = d.add_subparsers(dest="drill_verb", metavar="VERB", required=True)

    ls = verbs.add_parser("list", help="scenarios and tabletop exercises")
    ls.set_defaults(func=_cmd_list)

    r = verbs.add_parser("run", help="run a scenario and score it",
                         description="Offline: simulate the plant with the scenario, analyse "
                         "the capture, score. --live: on the live range (root, namespaces). "
                         "Writes capture.pcap, site.yaml, alerts.jsonl, record.json, "
                         "report.md and report.html to -o DIR.")
    r.add_argument("scenario", metavar="SCENARIO", help="scenario id (see `drill list`)")
    r.add_argument("-o", "--output", required=True, metavar="DIR", help="drill directory")
    r.add_argument("--live", action="store_true", help="run on the live range")
    r.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    r.add_argument("--site", metavar="FILE", help="site file (default: the plant's own)")
    r.add_argument("--plant", metavar="FILE", help="plant model (default: the bundled plant)")
    r.add_argument("--duration", type=float, metavar="S", help="seconds of plant time")
    r.add_argument("--packets", type=int, metavar="N", help="packets to write")
    r.add_argument("--slack", type=float, default=DEFAULT_SLACK, metavar="S",
                   help=f"seconds after a stage in which an alert still counts "
                   f"(default {DEFAULT_SLACK:g})")
    r.add_argument("--no-baseline", action="store_true",
                   help="no baseline learnt on the traffic before the first stage")
    r.add_argument("--participant", action="append", default=[], metavar="NAME[:ROLE]",
                   help="a participant of the drill (repeatable)")
    r.add_argument("--console", metavar="DB",
                   help="also record the drill's alerts in this console database")
    r.set_defaults(func=_cmd_run)

    s = verbs.add_parser("score", help="score a drill record again (and import the "
                         "console's acknowledgements)")
    s.add_argument("record", metavar="RECORD", help="record.json of a drill")
    s.add_argument("--slack", type=float, metavar="S",
                   help="score again with this slack (0 to 300 s)")
    s.add_argument("--console", metavar="DB",
                   help="console database: import who acknowledged the drill's alerts, when, "
                        "and the playbook runs worked on the drill's incidents")
    s.set_defaults(func=_cmd_score)

    a = verbs.add_parser("act", help="record a participant's action in a drill record")
    a.add_argument("record", metavar="RECORD")
    a.add_argument("--participant", required=True, metavar="NAME")
    a.add_argument("--role", default="", metavar="ROLE", help="it, ot, management or a team")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--ack", metavar="ALERT", help="acknowledged this alert (its id)")
    what.add_argument("--step", metavar="STEP", help="completed this response step (its id)")
    what.add_argument("--note", metavar="TEXT", help="a note")
    a.add_argument("--at", metavar="TIME",
                   help="when (ISO 8601 or epoch seconds; default now)")
    a.set_defaults(func=_cmd_act)

    p = verbs.add_parser("report", help="write the after-action report")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--format", choices=("html", "md"), default="html")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(func=_cmd_report)

    t = verbs.add_parser("tabletop", help="play a tabletop exercise (interactive or from an "
                         "answers file) and score it per role")
    t.add_argument("exercise", metavar="EXERCISE", help="exercise id or .yaml file")
    t.add_argument("--answers", metavar="FILE", help="answers file instead of prompts")
    t.add_argument("--participant", default="", metavar="NAME")
    t.add_argument("--role", choices=ROLES, help="play only this role's injects")
    t.add_argument("--record", metavar="RECORD",
                   help="add the result to this drill record (and its reports)")
    t.set_defaults(func=_cmd_tabletop)


# -- printing -----------------------------------------------------------------------------------
def print_score(score: DrillScore, out: Console, title: str = "") -> None:
    table = Table(title=title or None)
    for col in ("stage", "technique", "detected", "technique right", "time to detect",
                "rule"):
        table.add_column(col, justify="right" if col == "time to detect" else "left")
    for s in score.stages:
        table.add_row(s.stage, ", ".join(s.techniques),
                      "[green]yes[/]" if s.detected else "[red]no[/]",
                      "[green]yes[/]" if s.technique_right else "[red]no[/]",
                      seconds(s.time_to_detect),
                      ", ".join((s.right_rules or s.rules)[:2]) or "-")
    out.print(table)
    out.print(f"stages detected {score.stages_detected}/{score.stages_total}, technique right "
              f"{score.techniques_right}/{score.stages_total}, time to detect mean "
              f"{seconds(score.mean_time_to_detect)} max {seconds(score.max_time_to_detect)}; "
              f"{score.unmatched_medium} medium+ alert(s) outside the attack", highlight=False)


def print_participants(record: DrillRecord, out: Console) -> None:
    from otshield.sim.drill.participants import participant_scores

    people = participant_scores(record)
    if not people:
        return
    table = Table(title="Participants")
    for col in ("participant", "role", "stages acknowledged", "time to ack (mean)",
                "time to ack (max)", "response steps", "first playbook action", "tabletop"):
        table.add_column(col)
    for p in people:
        table.add_row(p.name, p.role or "-", f"{p.acknowledged}/{p.stages}",
                      seconds(p.mean_time_to_ack), seconds(p.max_time_to_ack),
                      f"{len(p.steps_done)}/{p.steps_total}",
                      seconds(p.first_playbook_action),
                      f"{p.tabletop_points}/{p.tabletop_max}" if p.tabletop_max else "-")
    out.print(table)


def _rc(score: DrillScore | None) -> int:
    return 0 if score is not None and score.all_right else EXIT_MISSED


def _participants(items: list[str]) -> list[Participant]:
    out = []
    for item in items:
        name, _, role = item.partition(":")
        if not name.strip():
            raise ConfigError(f"--participant {item!r}: give NAME or NAME:ROLE")
        out.append(Participant(name=name.strip(), role=role.strip().lower()))
    return out


def _save_and_report(record: DrillRecord, path: Path) -> None:
    """Save the record and refresh the reports beside it when it is a drill directory's."""
    from otshield.sim.drill.run import drill_files, write_reports

    save_record(record, path)
    if path.name == "record.json":
        files = drill_files(path.parent)
        if files.report_md.exists() or files.report_html.exists():
            write_reports(record, files)


# -- verbs --------------------------------------------------------------------------------------
def _cmd_list(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.drill.run import scenario_catalogue
    from otshield.sim.drill.tabletop import bundled_exercises

    table = Table(title="Drill scenarios")
    for col in ("id", "stages", "title"):
        table.add_column(col)
    for sid, title, stages, _summary in scenario_catalogue():
        table.add_row(sid, str(stages), title)
    out.print(table)
    ex = Table(title="Tabletop exercises")
    for col in ("id", "scenario", "roles", "injects", "title"):
        ex.add_column(col)
    for e in bundled_exercises().values():
        ex.add_row(e.id, e.scenario, ", ".join(e.roles), str(len(e.injects)), e.title)
    out.print(ex)
    return 0


def _cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.drill.run import drill_files, run_drill

    out_dir = Path(args.output)
    record = run_drill(args.scenario, mode="live" if args.live else "offline", seed=args.seed,
                       out_dir=out_dir, site=Path(args.site) if args.site else None,
                       plant=Path(args.plant) if args.plant else None, slack=args.slack,
                       duration=args.duration, packets=args.packets,
                       baseline=not args.no_baseline,
                       participants=_participants(args.participant))
    assert record.score is not None
    print_score(record.score, out, f"Drill {record.scenario} ({record.mode}, seed "
                                   f"{record.seed})")
    for problem in record.problems:
        err.print(f"[yellow]problem:[/] {problem}", highlight=False)
    files = drill_files(out_dir)
    if args.console:
        import msgspec

        from otshield.detect.alert import Alert
        from otshield.sim.drill.console import push_alerts

        alerts = [msgspec.json.decode(line, type=Alert)
                  for line in files.alerts.read_bytes().splitlines() if line.strip()]
        new = push_alerts(args.console, alerts)
        out.print(f"{len(alerts)} alert(s) recorded in {args.console} ({new} new)",
                  highlight=False)
    out.print(f"record {files.record}; reports {files.report_html}, {files.report_md}",
              highlight=False)
    return _rc(record.score)


def _cmd_score(args: argparse.Namespace, out: Console, err: Console) -> int:
    path = Path(args.record)
    record = load_record(path)
    if args.slack is not None and not 0 <= args.slack <= MAX_SLACK:
        raise ConfigError(f"--slack must be 0 to {MAX_SLACK:g} seconds (the record keeps the "
                          "alert occurrences for that)")
    score = rescore(record, args.slack)
    if args.console:
        from otshield.sim.drill.console import import_acknowledgements, import_playbook_runs

        n = import_acknowledgements(args.console, record)
        out.print(f"{n} acknowledgement(s) of the drill's alerts imported from "
                  f"{args.console}", highlight=False)
        runs = import_playbook_runs(args.console, record)
        if runs:
            out.print(f"{runs} playbook run(s) of the drill's incidents imported: the response "
                      f"steps are their {len(record.checklist)} action step(s)",
                      highlight=False)
        else:
            out.print("no playbook run on the drill's incidents: the built-in response "
                      "checklist stays", highlight=False)
    print_score(score, out, f"Drill {record.scenario} ({record.mode}, seed {record.seed})")
    print_participants(record, out)
    _save_and_report(record, path)
    return _rc(score)


def _when(text: str | None) -> float:
    if not text:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--at {text!r}: give ISO 8601 (2026-05-01T10:15:00Z) or epoch "
                          "seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _cmd_act(args: argparse.Namespace, out: Console, err: Console) -> int:
    path = Path(args.record)
    record = load_record(path)
    name = args.participant.strip()
    if not name:
        raise ConfigError("--participant must name someone")
    if args.ack is not None:
        if args.ack not in {h.id for h in record.alerts}:
            raise ConfigError(f"{path}: the drill has no alert {args.ack!r} (ids are the "
                              "alerts' keys: see alerts.jsonl or the record's alerts)")
        action = Action(at=_when(args.at), participant=name, kind="ack", alert_id=args.ack,
                        source="cli")
    elif args.step is not None:
        steps = {s.id for s in record.checklist}
        if args.step not in steps:
            raise ConfigError(f"{path}: no response step {args.step!r} (steps: "
                              f"{', '.join(sorted(steps))})")
        action = Action(at=_when(args.at), participant=name, kind="step", step=args.step,
                        source="cli")
    else:
        action = Action(at=_when(args.at), participant=name, kind="note", detail=args.note,
                        source="cli")
    assert action.kind in ACTION_KINDS
    record.actions.append(action)
    if name not in {p.name for p in record.participants}:
        record.participants.append(Participant(name=name, role=args.role.strip().lower()))
    _save_and_report(record, path)
    out.print(f"{action.kind} by {name} recorded in {path}", highlight=False)
    return 0


def _cmd_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.drill.report_html import render_html
    from otshield.sim.drill.report_md import render_markdown
    from otshield.sim.drill.run import write_text_atomic

    record = load_record(Path(args.record))
    if record.score is None:
        rescore(record)
    text = render_html(record) if args.format == "html" else render_markdown(record)
    target = Path(args.output)
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the report: {exc.strerror or exc}") from None
    out.print(f"after-action report written to {target}", highlight=False)
    return 0


def _cmd_tabletop(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.drill.tabletop import (
        find_exercise,
        load_answers,
        play_answers,
        play_interactive,
        print_result,
    )

    exercise = find_exercise(args.exercise)
    record_path = Path(args.record) if args.record else None
    record = load_record(record_path) if record_path is not None else None
    if args.answers:
        participant, role, answers = load_answers(Path(args.answers), exercise)
        participant = args.participant or participant
        role = args.role or role
        result = play_answers(exercise, answers, participant=participant, role=role)
    else:
        result = play_interactive(exercise, out, participant=args.participant,
                                  role=args.role or "")
    print_result(result, out)
    if record is not None and record_path is not None:
        record.tabletop.append(result)
        if result.participant and result.participant not in {
                p.name for p in record.participants}:
            record.participants.append(Participant(name=result.participant,
                                                   role=result.role))
        _save_and_report(record, record_path)
        out.print(f"result added to {record_path}", highlight=False)
    return 0

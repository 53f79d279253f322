"""``otshield incidents`` and ``otshield playbook list|show|validate|export|run``.

    otshield incidents out/alert.jsonl            incidents, why alerts joined, playbooks to run
    otshield incidents day1.pcap --site site.yaml (analyses the capture first)
    otshield playbook list                         the library (built-in and --dir)
    otshield playbook validate my-playbook.json    CACAO 2.0 + otshield checks, step by step
    otshield playbook export ransomware-it-threatens-ot -o pb.json
    otshield playbook run unauthorised-plc-program-change --alerts out/alert.jsonl \\
        --state run.json --as alice:analyst                         start (or show) a run
    otshield playbook run ... --state run.json --as otto:ot_engineer --approve 3
    otshield playbook run ... --state run.json --tick 1:0 --complete 1

A run lives in its state file (JSON, written atomically after every change); each invocation
applies the requested actions in order and prints the run. Automated steps queue their
notifications in the outbox (``--outbox``, a SQLite file) and ``--deliver`` sends what is due
with ``--notify notify.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otshield.console.permissions import Role
from otshield.detect.alert import Alert
from otshield.errors import ConfigError
from otshield.respond.cacao.model import Playbook, load_playbook_file
from otshield.respond.cacao.otext import check_extension
from otshield.respond.cacao.validate import validate_playbook
from otshield.respond.correlate import correlate
from otshield.respond.incident import Incident
from otshield.respond.library import find, load_library, propose
from otshield.respond.runner import Actor, Runner, run_from_json, run_to_json

__all__ = ["print_incidents", "read_alerts", "register"]


def register(sub: Any) -> None:
    inc = sub.add_parser(
        "incidents", help="group alerts into incidents and propose playbooks",
        description="Correlate alerts (an alert.jsonl written by `analyze -o`, or captures "
        "analysed on the spot) into incidents by shared assets, conduits and ATT&CK for ICS "
        "tactic progression; print each incident with why its alerts were joined and the "
        "playbooks that fit it.")
    inc.add_argument("inputs", nargs="+", metavar="ALERTS|CAPTURE",
                     help="alert.jsonl files or pcap/pcapng captures")
    inc.add_argument("--site", metavar="FILE", help="site file (when analysing captures)")
    inc.add_argument("--window", type=float, default=6 * 3600.0, metavar="SECONDS",
                     help="how long an incident stays open to new alerts (default 6 h)")
    inc.add_argument("--playbooks", action="append", default=[], metavar="DIR",
                     help="folder of site playbooks beside the built-in ones")
    inc.add_argument("--format", choices=("text", "json"), default="text")
    inc.set_defaults(func=_cmd_incidents)

    p = sub.add_parser("playbook", help="incident-response playbooks (OASIS CACAO 2.0)",
                       description="List, show, validate, export and run CACAO 2.0 "
                       "playbooks with OT safety gates.")
    verbs = p.add_subparsers(dest="playbook_verb", metavar="VERB", required=True)
    ls = verbs.add_parser("list", help="the playbook library")
    ls.add_argument("--dir", action="append", default=[], metavar="DIR",
                    help="folder of site playbooks (CACAO JSON or authored YAML)")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=_cmd_list)
    sh = verbs.add_parser("show", help="a playbook's steps, roles, gates and triggers")
    sh.add_argument("playbook", metavar="PLAYBOOK", help="name, id, slug or file")
    sh.add_argument("--dir", action="append", default=[], metavar="DIR")
    sh.set_defaults(func=_cmd_show)
    va = verbs.add_parser("validate", help="check CACAO 2.0 playbook files",
                          description="Validate each file against CACAO 2.0 (structure, "
                          "unknown properties, references, reachability, loops) and the "
                          "otshield extension (roles, gates, recovery steps). Exit 1 when "
                          "any file is invalid.")
    va.add_argument("files", nargs="+", metavar="FILE")
    va.set_defaults(func=_cmd_validate)
    ex = verbs.add_parser("export", help="write a playbook as CACAO 2.0 JSON")
    ex.add_argument("playbook", nargs="?", metavar="PLAYBOOK", help="name, id or slug")
    ex.add_argument("--all", action="store_true", help="every playbook, one file each, into -o")
    ex.add_argument("--dir", action="append", default=[], metavar="DIR")
    ex.add_argument("-o", "--output", default="-", metavar="FILE|DIR")
    ex.set_defaults(func=_cmd_export)
    rn = verbs.add_parser("run", help="start or advance a playbook run (state in a file)")
    rn.add_argument("playbook", metavar="PLAYBOOK", help="name, id, slug or file")
    rn.add_argument("--state", required=True, metavar="FILE", help="the run's state file")
    rn.add_argument("--alerts", action="append", default=[], metavar="FILE",
                    help="alert.jsonl to build the incident from (when starting)")
    rn.add_argument("--incident", metavar="ID", help="which incident (default: the one the "
                    "playbook fits best)")
    rn.add_argument("--as", dest="actor", default=f"{os.environ.get('USER', 'cli')}:analyst",
                    metavar="NAME:ROLE", help="who acts (roles: viewer, analyst, ot_engineer, "
                    "admin)")
    rn.add_argument("--dir", action="append", default=[], metavar="DIR")
    rn.add_argument("--ack", action="append", default=[], metavar="STEP")
    rn.add_argument("--tick", action="append", default=[], metavar="STEP:ITEM",
                    help="tick checklist item ITEM (0-based) of STEP")
    rn.add_argument("--complete", action="append", default=[], metavar="STEP")
    rn.add_argument("--fail", action="append", default=[], metavar="STEP")
    rn.add_argument("--decide", action="append", default=[], metavar="STEP=OPTION")
    rn.add_argument("--approve", action="append", default=[], metavar="STEP")
    rn.add_argument("--note", metavar="TEXT")
    rn.add_argument("--abort", metavar="REASON")
    rn.add_argument("--outbox", default="otshield-outbox.db", metavar="FILE",
                    help="notification outbox (SQLite; default otshield-outbox.db)")
    rn.add_argument("--notify", metavar="FILE", help="notify.yaml: deliver queued messages")
    rn.add_argument("--proposals", metavar="DIR", help="where firewall proposals go "
                    "(default: beside the state file)")
    rn.set_defaults(func=_cmd_run)


# -- helpers ------------------------------------------------------------------------------------
def read_alerts(path: Path) -> list[Alert]:
    """Alerts from an ``alert.jsonl`` (one JSON object per line); bad lines are errors."""
    out = []
    dec = msgspec.json.Decoder(Alert)
    try:
        with path.open("rb") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        out.append(dec.decode(line))
                    except msgspec.DecodeError as exc:
                        raise ConfigError(f"{path}:{n}: not an otshield alert ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return out


def _alerts_from(inputs: list[str], site: str | None) -> list[Alert]:
    alerts: list[Alert] = []
    captures = []
    for item in inputs:
        path = Path(item)
        if path.suffix == ".jsonl" or path.name.endswith(".jsonl.gz"):
            alerts.extend(read_alerts(path))
        else:
            captures.append(path)
    if captures:
        from otshield.detect.analyze import AnalyzeOptions, run_analysis
        an = run_analysis(captures, AnalyzeOptions(site=site))
        alerts.extend(an.alerts)
    return alerts


def _library(dirs: list[str]) -> list[Playbook]:
    return load_library([Path(d) for d in dirs])


def _playbook(ref: str, dirs: list[str]) -> Playbook:
    path = Path(ref)
    if path.suffix.lower() in (".json", ".yaml", ".yml") and path.exists():
        return load_playbook_file(path)
    return find(_library(dirs), ref)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                               dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _actor(spec: str) -> Actor:
    name, _, role = spec.partition(":")
    try:
        return Actor(name=name or "cli", role=Role(role or "analyst"))
    except ValueError:
        raise ConfigError(f"--as {spec!r}: role is one of "
                          f"{', '.join(r.value for r in Role)}") from None


# -- verbs --------------------------------------------------------------------------------------
def _cmd_incidents(args: argparse.Namespace, out: Console, err: Console) -> int:
    alerts = _alerts_from(args.inputs, args.site)
    incidents = correlate(alerts, window=args.window)
    library = _library(args.playbooks)
    if args.format == "json":
        payload = [{**msgspec.to_builtins(i),
                    "playbooks": [msgspec.to_builtins(p) for p in propose(i, library)]}
                   for i in incidents]
        out.print_json(json.dumps(payload))
        return 0
    print_incidents(incidents, library, out, alerts=len(alerts))
    return 0


def print_incidents(incidents: list[Incident], library: list[Playbook], out: Console,
                    alerts: int | None = None) -> None:
    """Each incident: severity, story, assets, why its alerts were joined, fitting playbooks."""
    if not incidents:
        out.print(f"{alerts if alerts is not None else 'No'} alerts, no incident.")
        return
    out.print(f"[bold]{len(incidents)} incident{'s' if len(incidents) != 1 else ''}[/]"
              + (f" from {alerts} alerts" if alerts is not None else ""))
    for i in incidents:
        out.print(f"\n[bold]{escape(i.id)}[/]  [{_sev_style(i.severity)}]{i.severity}[/] "
                  f"(score {i.score:.0f})  {escape(i.title)}", soft_wrap=True)
        out.print(f"  tactics: {' -> '.join(i.tactics) or '-'}", soft_wrap=True)
        out.print(f"  techniques: {', '.join(i.techniques) or '-'}", soft_wrap=True)
        ot = ", ".join(f"{a.name or a.ip} (level {a.level})" for a in i.ot_assets) or "none"
        out.print(f"  attackers: {', '.join(a.name or a.ip for a in i.attackers) or '-'};"
                  f" OT assets: {escape(ot)}", soft_wrap=True)
        for line in i.explanation:
            out.print(f"   - {escape(line)}", soft_wrap=True)
        for prop in propose(i, library):
            out.print(f"  playbook: [bold]{escape(prop.name)}[/] "
                      f"({', '.join(prop.reasons)}){' [auto-start]' if prop.auto_start else ''}",
                      soft_wrap=True)


def _sev_style(sev: str) -> str:
    return {"critical": "bold red", "high": "red", "medium": "yellow"}.get(sev, "cyan")


def _cmd_list(args: argparse.Namespace, out: Console, err: Console) -> int:
    books = _library(args.dir)
    if args.format == "json":
        out.print_json(json.dumps([{"id": b.id, "name": b.name, "steps": len(b.steps),
                                    "triggers": msgspec.to_builtins(b.triggers),
                                    "auto_start": b.auto_start} for b in books]))
        return 0
    t = Table(title=f"{len(books)} playbooks")
    for col in ("name", "triggered by", "steps", "OT gates", "recovery", "id"):
        t.add_column(col)
    for b in books:
        gates = sum(1 for s in b.steps.values() if s.ot_gate)
        t.add_row(b.name, ", ".join(b.triggers.techniques), str(len(b.steps)), str(gates),
                  str(len(b.recovery_steps)), b.id)
    out.print(t)
    return 0


def _cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    b = _playbook(args.playbook, args.dir)
    out.print(f"[bold]{escape(b.name)}[/]  {b.id}\n{escape(b.description)}")
    out.print("roles: " + "; ".join(f"{k} = {v}" for k, v in b.roles.items()))
    out.print(f"triggers: techniques {', '.join(b.triggers.techniques) or '-'}; rules "
              f"{', '.join(b.triggers.rules) or '-'}; from severity {b.triggers.min_severity}")
    for s in b.steps.values():
        if s.type in ("start", "end"):
            continue
        flags = [f for f, on in (("OT gate", s.ot_gate), ("recovery", s.recovery),
                                 ("isolation", s.isolation)) if on]
        kind = s.action.kind if s.action else ("decision" if s.decision else s.type)
        out.print(f"- [bold]{escape(s.name)}[/] ({kind}; {s.role or 'otshield'})"
                  + (f" [{', '.join(flags)}]" if flags else ""))
        for c in s.checklist:
            out.print(f"    [ ] {escape(c)}")
    return 0


def _cmd_validate(args: argparse.Namespace, out: Console, err: Console) -> int:
    bad = 0
    for name in args.files:
        path = Path(name)
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                load_playbook_file(path)
                problems: list[str] = []
            else:
                doc = json.loads(path.read_text(encoding="utf-8"))
                found = validate_playbook(doc) or check_extension(doc)
                problems = [str(p) for p in found]
        except json.JSONDecodeError as exc:
            problems = [f"line {exc.lineno}: invalid JSON: {exc.msg}"]
        except (OSError, UnicodeDecodeError) as exc:
            problems = [f"cannot read: {exc}"]
        except ConfigError as exc:
            problems = [str(exc)]
        if problems:
            bad += 1
            out.print(f"[red]invalid[/] {escape(name)}: {len(problems)} problem(s)",
                      soft_wrap=True)
            for p in problems:
                out.print(f"  {escape(p)}", soft_wrap=True)
        else:
            out.print(f"[green]valid[/] {escape(name)}")
    return 1 if bad else 0


def _cmd_export(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.all:
        if args.output == "-":
            raise ConfigError("--all needs -o DIR")
        folder = Path(args.output)
        folder.mkdir(parents=True, exist_ok=True)
        for b in _library(args.dir):
            slug = "".join(c if c.isalnum() else "-" for c in b.name.lower()).strip("-")
            _write(folder / f"{slug}.json", json.dumps(b.doc, indent=2).encode() + b"\n")
        out.print(f"wrote {len(_library(args.dir))} playbooks to {folder}")
        return 0
    if not args.playbook:
        raise ConfigError("name a playbook (or --all)")
    b = _playbook(args.playbook, args.dir)
    text = json.dumps(b.doc, indent=2) + "\n"
    if args.output == "-":
        print(text, end="")
    else:
        _write(Path(args.output), text.encode())
    return 0


def _pick_incident(alerts: list[Alert], pb: Playbook, wanted: str | None) -> Incident:
    incidents = correlate(alerts)
    if wanted:
        for i in incidents:
            if i.id == wanted:
                return i
        raise ConfigError(f"no incident {wanted!r} (found: "
                          f"{', '.join(i.id for i in incidents) or 'none'})")
    fits = [(p.score, i) for i in incidents for p in propose(i, [pb])]
    if fits:
        return max(fits, key=lambda f: (f[0], f[1].score))[1]
    if incidents:
        return max(incidents, key=lambda i: i.score)
    raise ConfigError("the alerts make no incident to respond to")


def _cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.respond.actions import ResponseExecutor
    from otshield.respond.notify import Outbox, deliver_due, load_notify_config, senders
    from otshield.store.db import connect

    state = Path(args.state)
    outbox = Outbox(connect(args.outbox))
    executor = ResponseExecutor(outbox, Path(args.proposals) if args.proposals
                                else state.parent if str(state.parent) else Path("."))
    actor = _actor(args.actor)
    pb = _playbook(args.playbook, args.dir)
    if state.exists():
        run = run_from_json(state.read_bytes(), str(state))
        runner = Runner(pb, run, executor, pager=executor.page)
    else:
        if not args.alerts:
            raise ConfigError("starting a run needs --alerts (alert.jsonl from `analyze -o`)")
        alerts = [a for f in args.alerts for a in read_alerts(Path(f))]
        runner = Runner.start(pb, _pick_incident(alerts, pb, args.incident), actor, executor,
                              pager=executor.page)
    try:
        for ref in args.ack:
            runner.acknowledge(ref, actor)
        for spec in args.tick:
            ref, _, item = spec.rpartition(":")
            if not item.isdigit():
                raise ConfigError(f"--tick {spec!r}: write STEP:ITEM (item from 0)")
            runner.tick(ref, int(item), actor)
        for ref in args.approve:
            runner.approve(ref, actor)
        for spec in args.decide:
            ref, _, option = spec.partition("=")
            runner.decide(ref, option, actor)
        for ref in args.complete:
            runner.complete(ref, actor)
        for ref in args.fail:
            runner.complete(ref, actor, outcome="failure")
        if args.note:
            runner.note(actor, args.note)
        if args.abort:
            runner.abort(actor, args.abort)
        runner.escalate_due()
    finally:
        _write(state, run_to_json(runner.run))
    if args.notify:
        report = deliver_due(outbox, senders(load_notify_config(Path(args.notify))), time.time())
        out.print(f"notifications: {len(report.sent)} sent, {len(report.failed)} to retry")
    _print_run(runner, out)
    return 0


def _print_run(runner: Runner, out: Console) -> None:
    run, pb = runner.run, runner.pb
    inc = run.incident
    out.print(f"[bold]{escape(run.playbook_name)}[/] run {run.id}: [bold]{run.status}[/]")
    out.print(f"incident {escape(inc.id)} ({inc.severity}): {escape(inc.title)}")
    for n, sid in enumerate(run.active(), 1):
        step, st = pb.steps[sid], run.steps[sid]
        who = pb.roles.get(step.role, step.role) or "otshield"
        line = f"  {n}. [bold]{escape(step.name)}[/] for {escape(who)}"
        if st.needs_approval and st.approved_at is None:
            line += " [red](waits for OT approval)[/]"
        if step.decision:
            line += f" options: {', '.join(step.decision.options)}"
        if st.by_hand:
            line += " (carry it out by hand)"
        out.print(line)
        for i, c in enumerate(step.checklist):
            out.print(f"       [{'x' if i in st.ticked else ' '}] {i}: {escape(c)}")
    for e in run.timeline[-8:]:
        stamp = time.strftime("%H:%M:%S", time.gmtime(e.ts))
        out.print(f"  {stamp} {escape(e.actor)} {e.kind} {escape(e.step_name)} "
                  f"{escape(e.detail)}".rstrip())

"""``drill score --console``: playbook progress per participant from a real SQLite console store.

The store is built with the console's own code: the drill's alerts go in as ``drill run
--console`` records them, ``respond.service.after_ingest`` correlates them into an incident,
and the built-in "Ransomware in IT threatening OT" playbook is started on that incident and
worked by two users (carol, an analyst; dave, an OT engineer) through
:class:`otshield.respond.runner.Runner` on a clock the test sets, saved with
``respond.store.save_run`` exactly as the console saves a run. Every figure below follows from
that script:

=======================  =====  ====================================================
after the first alert    who    what
=======================  =====  ====================================================
30 s                     carol  starts the run
60 s, 61-64 s, 120 s     carol  acknowledges, ticks 4, completes "Confirm ..."
150 s                    dave   approves "Close the IT-to-OT conduits ..."
180-182 s, 200 s         carol  ticks 3, completes "Contain the infected IT hosts"
240-242 s, 260 s         dave   ticks 3, completes the conduits step
300 s                    dave   decides "yes" (the process is under control)
350 s, 360-361 s, 400 s  dave   approves, ticks 2, completes "Check the HMIs ..."
=======================  =====  ====================================================

The run's action steps that people work: Confirm, Contain IT, Close conduits, the decision,
manual control, Check HMIs, Restore, Return to normal (8; the automated paging, SIEM and
firewall-proposal steps are otshield's). carol completed 2 of 8 (25%), dave 3 of 8 (38%, the
decision included); their first playbook actions came 30 s and 150 s after the first alert.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("otshield.store.alerts") is None
    or importlib.util.find_spec("otshield.respond.service") is None,
    reason="the console store and the response service are not installed")

SCENARIO = "ransomware_it_to_ot"
PLAYBOOK = "Ransomware in IT threatening OT"
CONFIRM = "action--9a6c5597-0906-5ecc-8379-a1951e6ebcd2"
CONTAIN_IT = "action--0a2a47bb-4243-55f0-9a8e-d14bde31a485"
CONDUITS = "action--2a85c3a3-e152-5f38-85ad-c380a1adeb9b"
DECISION = "action--4992fdd6-3daf-51f6-8232-e1ba09aa9bdf"
MANUAL = "action--c2c9dd97-d1b8-5248-a7b5-229597208621"
HMIS = "action--38cad730-de94-5389-83cf-04fa6fa040b9"
RESTORE = "action--7c8cfa4b-fb0f-50a1-866e-4a07873e8a81"
NORMAL = "action--87f4185e-f983-5b10-b073-f40693afb0bd"
STEPS = [CONFIRM, CONTAIN_IT, CONDUITS, DECISION, MANUAL, HMIS, RESTORE, NORMAL]


@dataclass
class Drill:
    folder: Path
    record: Path
    db: Path
    """The console with the run worked."""
    bare_db: Path
    """The same console before anybody started a playbook."""
    incident_id: int
    run_id: str
    t0: float
    """When the drill's first alert became visible (offline: the record's release time)."""


class _Executor:
    """Stands in for the console's notification/firewall executor: every automated step
    succeeds, so the run moves on by itself like in the console."""

    def execute(self, run: object, step: object) -> str:
        return "done"


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Drill:
    from sqlalchemy import select

    from otshield.console.permissions import Role
    from otshield.console.settings import ConsoleSettings
    from otshield.detect.alert import Alert
    from otshield.respond import service
    from otshield.respond import store as repo
    from otshield.respond.library import builtin_playbooks
    from otshield.respond.runner import Actor, Runner
    from otshield.sim.drill.console import push_alerts
    from otshield.sim.drill.record import Participant
    from otshield.sim.drill.run import drill_files, run_drill
    from otshield.store import Store
    from otshield.store.models import IncidentAlertRow

    base = tmp_path_factory.mktemp("drill-playbook")
    folder = base / "drill"
    record = run_drill(SCENARIO, seed=3, out_dir=folder, reports=False,
                       participants=[Participant(name="erin", role="management")])
    files = drill_files(folder)
    alerts = [msgspec.json.decode(line, type=Alert)
              for line in files.alerts.read_bytes().splitlines() if line.strip()]
    db = base / "console.db"
    assert push_alerts(str(db), alerts) == len(alerts)
    store = Store(str(db))
    try:
        service.after_ingest(store, ConsoleSettings(database=str(db), data_dir=base / "data"),
                             1)
        bare = base / "bare.db"
        shutil.copyfile(db, bare)
        with store.session(write=False) as session:
            incidents = sorted(set(session.scalars(select(IncidentAlertRow.incident_id))))
        assert len(incidents) == 1, incidents
        incident_id = incidents[0]
        playbook = next(p for p in builtin_playbooks() if p.name == PLAYBOOK)
        t0 = record.released_at
        now = [t0 + 30]
        carol = Actor(name="carol", role=Role.ANALYST)
        dave = Actor(name="dave", role=Role.OT_ENGINEER)
        with store.session() as session:
            incident = repo.incident_record(repo.incident_row(session, incident_id))
            runner = Runner.start(playbook, incident, carol, _Executor(), clock=lambda: now[0])

            def at(offset: float) -> None:
                now[0] = t0 + offset

            at(60)
            runner.acknowledge(CONFIRM, carol)
            for i in range(4):
                at(61 + i)
                runner.tick(CONFIRM, i, carol)
            at(120)
            runner.complete(CONFIRM, carol)
            at(150)
            runner.approve(CONDUITS, dave, "the historian can wait")
            for i in range(3):
                at(180 + i)
                runner.tick(CONTAIN_IT, i, carol)
            at(200)
            runner.complete(CONTAIN_IT, carol)
            for i in range(3):
                at(240 + i)
                runner.tick(CONDUITS, i, dave)
            at(260)
            runner.complete(CONDUITS, dave)
            at(300)
            runner.decide(DECISION, "yes", dave)
            at(350)
            runner.approve(HMIS, dave)
            for i in range(2):
                at(360 + i)
                runner.tick(HMIS, i, dave)
            at(400)
            runner.complete(HMIS, dave)
            assert runner.run.active() == [RESTORE]
            repo.save_run(session, runner.run, incident_id=incident_id, playbook=playbook.doc)
            run_id = runner.run.id
    finally:
        store.dispose()
    return Drill(folder=folder, record=files.record, db=db, bare_db=bare,
                 incident_id=incident_id, run_id=run_id, t0=t0)


def _score(*argv: str) -> tuple[int, str]:
    """``otshield drill score ...`` through the drill's own ``register``."""
    import argparse
    import io

    from rich.console import Console

    from otshield.sim.drill.cli import register

    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["drill", "score", *argv])
    out, err = io.StringIO(), io.StringIO()
    rc = args.func(args, Console(file=out, width=300), Console(file=err, width=300))
    return rc, out.getvalue() + err.getvalue()


def _load(d: Drill, tmp: Path) -> Path:
    path = tmp / "record.json"
    shutil.copyfile(d.record, path)
    return path


def test_runs_become_the_checklist_and_progress_per_participant(drill: Drill,
                                                                tmp_path: Path) -> None:
    from otshield.sim.drill.console import import_playbook_runs
    from otshield.sim.drill.participants import participant_scores
    from otshield.sim.drill.record import load_record

    record = load_record(_load(drill, tmp_path))
    assert import_playbook_runs(str(drill.db), record) == 1
    (run,) = record.runs
    assert (run.id, run.playbook_name, run.incident_id, run.status, run.started_by) == (
        drill.run_id, PLAYBOOK, drill.incident_id, "running", "carol (analyst)")
    assert run.started_at == pytest.approx(drill.t0 + 30)
    assert [s.id for s in record.checklist] == STEPS
    assert [(s.title, s.role) for s in record.checklist[:4]] == [
        ("Confirm the infection and scope it", "soc"),
        ("Contain the infected IT hosts", "it"),
        ("Close the IT-to-OT conduits that the attack used", "ot"),
        ("Is the process still under control?", "ot")]
    scores = {p.name: p for p in participant_scores(record)}
    assert list(scores) == ["erin", "carol", "dave"]
    carol, dave, erin = scores["carol"], scores["dave"], scores["erin"]
    assert (carol.role, dave.role, erin.role) == ("analyst", "ot_engineer", "management")
    assert carol.steps_done == (CONFIRM, CONTAIN_IT) and carol.steps_total == 8
    assert carol.progress == 0.25
    assert dave.steps_done == (CONDUITS, DECISION, HMIS) and dave.progress == 0.375
    assert erin.steps_done == () and erin.first_playbook_action is None
    assert carol.first_playbook_action == pytest.approx(30)
    assert dave.first_playbook_action == pytest.approx(150)
    assert carol.approved == () and carol.decided == ()
    assert dave.approved == ("Close the IT-to-OT conduits that the attack used",
                             "Check the HMIs and the engineering workstation for the ransomware")
    assert dave.decided == ("Is the process still under control?: yes",)
    work = [(a.participant, a.kind, a.detail.partition(":")[0], a.step,
             round(a.at - drill.t0)) for a in record.actions if a.source == "playbook"
            and a.detail.partition(":")[0] in ("completed", "decided", "approved")]
    assert work == [("carol", "step", "completed", CONFIRM, 120),
                    ("dave", "playbook", "approved", CONDUITS, 150),
                    ("carol", "step", "completed", CONTAIN_IT, 200),
                    ("dave", "step", "completed", CONDUITS, 260),
                    ("dave", "step", "decided", DECISION, 300),
                    ("dave", "playbook", "approved", HMIS, 350),
                    ("dave", "step", "completed", HMIS, 400)]
    # started 1 + acknowledged 1 + ticked 4 + 3 + 3 + 2 + completed 4 + decided 1 + approved 2
    assert len([a for a in record.actions if a.source == "playbook"]) == 21


def test_importing_twice_adds_nothing(drill: Drill, tmp_path: Path) -> None:
    from otshield.sim.drill.console import import_acknowledgements, import_playbook_runs
    from otshield.sim.drill.record import load_record, save_record

    path = _load(drill, tmp_path)
    record = load_record(path)
    import_acknowledgements(str(drill.db), record)
    import_playbook_runs(str(drill.db), record)
    save_record(record, path)
    first = path.read_bytes()
    again = load_record(path)
    import_acknowledgements(str(drill.db), again)
    assert import_playbook_runs(str(drill.db), again) == 1
    save_record(again, path)
    assert path.read_bytes() == first
    assert [p.name for p in again.participants] == ["erin", "carol", "dave"]


def test_without_a_run_the_builtin_checklist_stays(drill: Drill, tmp_path: Path) -> None:
    from otshield.sim.drill.console import import_playbook_runs
    from otshield.sim.drill.record import DEFAULT_CHECKLIST, load_record

    record = load_record(_load(drill, tmp_path))
    assert import_playbook_runs(str(drill.bare_db), record) == 0
    assert record.runs == [] and record.checklist == list(DEFAULT_CHECKLIST)
    # a run imported earlier and gone from the console since: back to the built-in checklist
    import_playbook_runs(str(drill.db), record)
    assert len(record.checklist) == 8
    assert import_playbook_runs(str(drill.bare_db), record) == 0
    assert record.checklist == list(DEFAULT_CHECKLIST)
    assert [a for a in record.actions if a.source == "playbook"] == []
    assert [p.name for p in record.participants] == ["erin", "carol", "dave"]


def test_score_cli_and_reports_show_it(drill: Drill, tmp_path: Path) -> None:
    from otshield.sim.drill.record import load_record
    from otshield.sim.drill.report_html import render_html
    from otshield.sim.drill.report_md import render_markdown

    path = _load(drill, tmp_path)
    rc, out = _score(str(path), "--console", str(drill.db))
    assert rc in (0, 3), out
    assert "1 playbook run(s) of the drill's incidents imported: the response steps are " \
           "their 8 action step(s)" in out
    assert "first playbook action" in out
    record = load_record(path)
    assert len(record.runs) == 1
    md = render_markdown(record)
    assert "## Playbook" in md
    assert f"| {PLAYBOOK} | {drill.incident_id} | running |" in md
    assert ("| carol | analyst | 2 / 8 (25%) | - | - | 30 s after the first alert |" in md)
    assert ("| dave | ot_engineer | 3 / 8 (38%) | Is the process still under control?: yes | "
            "Close the IT-to-OT conduits that the attack used; Check the HMIs and the "
            "engineering workstation for the ransomware | 2 min 30 s after the first alert |"
            in md)
    assert "| 2 min 0 s | carol | completed | Confirm the infection and scope it |" in md
    assert "| 5 min 0 s | dave | decided | Is the process still under control? |" in md
    assert "erin | management | 0 / 8" not in md.split("## Playbook")[1].split("## ")[0]
    html = render_html(record)
    assert '<section id="playbook">' in html
    assert "<td>2 / 8 (25%)</td>" in html and "<td>3 / 8 (38%)</td>" in html
    assert "<td>2 min 30 s after the first alert</td>" in html
    # without runs the reports have no playbook section
    plain = load_record(drill.record)
    assert "## Playbook" not in render_markdown(plain)
    assert 'id="playbook"' not in render_html(plain)


def test_a_damaged_run_or_a_missing_console_is_a_clear_error(drill: Drill,
                                                              tmp_path: Path) -> None:
    from sqlalchemy import update

    from otshield.errors import ConfigError
    from otshield.sim.drill.console import import_playbook_runs
    from otshield.sim.drill.record import DEFAULT_CHECKLIST, load_record
    from otshield.store import Store
    from otshield.store.models import PlaybookRunRow

    record = load_record(_load(drill, tmp_path))
    with pytest.raises(ConfigError, match="no such console database"):
        import_playbook_runs(str(tmp_path / "none.db"), record)
    damaged = tmp_path / "damaged.db"
    shutil.copyfile(drill.db, damaged)
    store = Store(str(damaged))
    try:
        with store.session() as session:
            session.execute(update(PlaybookRunRow).values(record="{not json"))
    finally:
        store.dispose()
    with pytest.raises(ConfigError, match=f"cannot read playbook runs from .*{drill.run_id}"):
        import_playbook_runs(str(damaged), record)
    # nothing of the record changed
    assert record.runs == [] and record.checklist == list(DEFAULT_CHECKLIST)
    assert [a for a in record.actions if a.source == "playbook"] == []

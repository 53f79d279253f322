"""``otshield drill`` end to end on the project's test plant capture: run (files, table, exit
status), act, score (with the console's acknowledgements from a real SQLite store), report,
tabletop into the record, list; errors come out as clear messages with exit status 2."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from otshield.errors import OtshieldError
from otshield.sim.drill.cli import register
from otshield.sim.drill.record import load_record
from otshield.sim.drill.report_md import render_markdown


class Run:
    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err


def drill(*argv: str) -> Run:
    """Parse and run like ``otshield.cli.main`` does (OtshieldError -> status 2)."""
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["drill", *argv])
    out, err = io.StringIO(), io.StringIO()
    try:
        rc = args.func(args, Console(file=out, width=200), Console(file=err, width=200))
    except OtshieldError as exc:
        err.write(f"otshield: error: {exc}\n")
        rc = 2
    return Run(rc, out.getvalue(), err.getvalue())


HAVE_STORE = importlib.util.find_spec("otshield.store.alerts") is not None


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """One drill for the module (with its alerts in a console database when the store is
    installed): ``folder/drill`` and ``folder/console.db``."""
    base = tmp_path_factory.mktemp("drill-cli")
    console = ["--console", str(base / "console.db")] if HAVE_STORE else []
    folder = base / "drill"
    return folder, drill("run", "testplant", "-o", str(folder), "--participant", "alice:it",
                         *console)


def test_run_writes_everything_and_prints_the_table(ran: tuple[Path, Run]) -> None:
    folder, run = ran
    assert run.rc == 0, run.err
    assert sorted(p.name for p in folder.iterdir()) == [
        "alerts.jsonl", "capture.pcap", "record.json", "report.html", "report.md", "site.yaml"]
    for stage in ("telnet_cleartext_login", "s7_plc_stop", "plc_to_internet"):
        assert stage in run.out
    assert "stages detected 11/11, technique right 11/11" in run.out
    record = load_record(folder / "record.json")
    assert (record.scenario, record.mode, record.seed, record.packets) == (
        "testplant", "offline", 1, 5290)
    assert [p.name for p in record.participants] == ["alice"]
    assert record.score is not None and record.score.all_right
    assert record.truth[0].end_ts >= record.truth[0].ts > 0
    lines = (folder / "alerts.jsonl").read_bytes().splitlines()
    assert len(lines) == len(record.alerts)
    assert {json.loads(x)["rule.id"] for x in lines} == {h.rule_id for h in record.alerts}
    if HAVE_STORE:
        assert f"{len(lines)} alert(s) recorded in" in run.out
        assert f"({len(lines)} new)" in run.out


def _stop_alert(folder: Path) -> str:
    record = load_record(folder / "record.json")
    assert record.score is not None
    stop = next(s for s in record.score.stages if s.stage == "s7_plc_stop")
    return next(i for i in stop.alert_ids if i.startswith("ot.s7.cpu_stop"))


def test_act_score_and_report(ran: tuple[Path, Run], tmp_path: Path) -> None:
    folder, _ = ran
    record_path = tmp_path / "record.json"
    record_path.write_bytes((folder / "record.json").read_bytes())
    released = load_record(record_path).released_at
    alert = _stop_alert(folder)
    assert drill("act", str(record_path), "--participant", "alice", "--ack", alert,
                 "--at", str(released + 45)).rc == 0
    assert drill("act", str(record_path), "--participant", "bob", "--role", "ot",
                 "--step", "contain", "--at", "2030-01-01T00:00:00Z").rc == 0
    bad = drill("act", str(record_path), "--participant", "bob", "--ack", "no-such-alert")
    assert bad.rc == 2 and "has no alert 'no-such-alert'" in bad.err
    bad = drill("act", str(record_path), "--participant", "bob", "--step", "triage", "--at",
                "soon")
    assert bad.rc == 2 and "--at 'soon'" in bad.err
    scored = drill("score", str(record_path))
    assert scored.rc == 0
    assert "alice" in scored.out and "45 s" in scored.out and "1/11" in scored.out
    record = load_record(record_path)
    assert [(a.participant, a.kind) for a in record.actions] == [("alice", "ack"),
                                                                ("bob", "step")]
    assert record.actions[1].at == 1893456000.0
    for fmt, name in (("md", "r.md"), ("html", "r.html")):
        rep = drill("report", str(record_path), "--format", fmt, "-o", str(tmp_path / name))
        assert rep.rc == 0, rep.err
    md = (tmp_path / "r.md").read_text()
    assert "| 7 | s7_plc_stop | T0881, T0858 | yes | yes |" in md
    assert "| alice | IT | 1 / 11 | 45 s | 45 s |" in md
    assert "| bob | OT | 0 / 11 | - | - | 1 / 7 (14%) |" in md
    parser = HTMLParser()
    parser.feed((tmp_path / "r.html").read_text())
    parser.close()


def test_tabletop_into_the_record(ran: tuple[Path, Run], tmp_path: Path) -> None:
    folder, _ = ran
    record_path = tmp_path / "record.json"
    record_path.write_bytes((folder / "record.json").read_bytes())
    answers = tmp_path / "answers.yaml"
    answers.write_text("participant: carol\nrole: management\nanswers:\n"
                       "  crisis: {choice: a, seconds: 60}\n  notify: c\n")
    run = drill("tabletop", "ransomware-reaches-ot", "--answers", str(answers), "--record",
                str(record_path))
    assert run.rc == 0, run.err
    assert "2/4 (50%)" in run.out
    record = load_record(record_path)
    (result,) = record.tabletop
    assert (result.participant, result.role, result.points, result.max_points) == (
        "carol", "management", 2, 4)
    assert ("carol", "management") in {(p.name, p.role) for p in record.participants}
    bad = drill("tabletop", "no-such-exercise")
    assert bad.rc == 2 and "unknown tabletop exercise" in bad.err


@pytest.mark.skipif(not HAVE_STORE, reason="the console store is not installed")
def test_console_acknowledgements(ran: tuple[Path, Run], tmp_path: Path) -> None:
    from sqlalchemy import select

    from otshield.store import Store
    from otshield.store.alerts import acknowledge, key_hash
    from otshield.store.models import AlertRow

    folder, _ = ran
    db = tmp_path / "console.db"
    db.write_bytes((folder.parent / "console.db").read_bytes())
    record_path = tmp_path / "record.json"
    record_path.write_bytes((folder / "record.json").read_bytes())
    missing = drill("score", str(record_path), "--console", str(tmp_path / "none.db"))
    assert missing.rc == 2 and "no such console database" in missing.err
    alert = _stop_alert(folder)
    store = Store(db)
    try:
        with store.session() as s:
            row = s.scalars(select(AlertRow).where(AlertRow.key_hash == key_hash(alert))).one()
            acknowledge(s, row.id, "dana")
            acked_at = row.acknowledged_at
    finally:
        store.dispose()
    assert acked_at is not None
    for _ in range(2):  # importing twice does not duplicate
        run = drill("score", str(record_path), "--console", str(db))
        assert run.rc == 0, run.err
        assert "1 acknowledgement(s)" in run.out
        record = load_record(record_path)
        acks = [a for a in record.actions if a.source == "console"]
        assert [(a.participant, a.alert_id, a.at) for a in acks] == [("dana", alert, acked_at)]
    assert "dana" in {p.name for p in record.participants}
    assert "| dana | - | 1 / 11 |" in render_markdown(record)


def test_list_shows_scenarios_and_exercises() -> None:
    run = drill("list")
    assert run.rc == 0
    assert "testplant" in run.out
    assert "ransomware-reaches-ot" in run.out and "industroyer-iec104" in run.out


def test_errors_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "record.json"
    broken.write_text("{not json")
    for argv in (("score", str(broken)), ("report", str(broken), "-o", str(tmp_path / "x"))):
        run = drill(*argv)
        assert run.rc == 2 and "record.json:1:2: not a drill record" in run.err
    run = drill("run", "no-such-scenario", "-o", str(tmp_path / "d"))
    assert run.rc == 2 and "no-such-scenario" in run.err
    run = drill("run", "testplant", "-o", str(tmp_path / "d"), "--slack", "-1")
    assert run.rc == 2 and "slack must be 0 to 300" in run.err


def test_score_again_with_another_slack(ran: tuple[Path, Run], tmp_path: Path) -> None:
    folder, _ = ran
    record_path = tmp_path / "record.json"
    record_path.write_bytes((folder / "record.json").read_bytes())
    assert drill("score", str(record_path), "--slack", "301").rc == 2
    run = drill("score", str(record_path), "--slack", "0")
    assert run.rc == 0 and "technique right 11/11" in run.out
    record = load_record(record_path)
    assert record.slack == 0.0 and record.score is not None and record.score.slack == 0.0

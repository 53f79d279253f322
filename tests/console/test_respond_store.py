"""Incident response in the store (issue #8), alert by alert: correlation passes update the
stored incidents in place, an alert that joins two incidents merges them (the younger one is
marked ``merged``, its links move), suppressed alerts leave correlation, a playbook marked
``auto_start`` starts once per incident, and the background loop delivers the queued
notifications to a real syslog receiver on 127.0.0.1 (TCP) once it is up."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from otshield.console.api.respond_schemas import run_out
from otshield.console.permissions import Role
from otshield.console.settings import ConsoleSettings
from otshield.detect.alert import Alert, AssetRef
from otshield.errors import ConfigError
from otshield.respond import store as repo
from otshield.respond.cacao.otext import EXTENSION_ID
from otshield.respond.library import builtin_playbooks
from otshield.respond.runner import Actor, Runner
from otshield.respond.service import (
    ResponseLoop,
    Who,
    correlate_store,
    library,
    run_operation,
    start_run,
)
from otshield.store import Store
from otshield.store.alerts import record_alerts
from otshield.store.errors import Conflict
from otshield.store.models import AlertRow, IncidentAlertRow, IncidentRow

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def _alert(rule: str, src: str, dst: str, at: float, severity: str = "high",
           technique: str = "T0886", tactic: str = "lateral-movement") -> Alert:
    return Alert(ts=at, frame=1, src_ip=src, dst_ip=dst, rule_id=rule, title=f"{rule} alert",
                 severity=severity, techniques=(technique,), tactics=(tactic,),
                 source=AssetRef(ip=src, level=4), destination=AssetRef(ip=dst, level=2),
                 key=f"{rule}|{src}|{dst}", first_seen=at, last_seen=at, category="rule")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "respond.db")
    s.migrate()
    yield s
    s.dispose()


def _settings(tmp_path: Path, **kw: object) -> ConsoleSettings:
    return ConsoleSettings(database=str(tmp_path / "respond.db"), data_dir=tmp_path / "data",
                           **kw)  # type: ignore[arg-type]


def _record(store: Store, *alerts: Alert) -> None:
    with store.session() as db:
        record_alerts(db, list(alerts))


def _incidents(store: Store) -> dict[int, tuple[str, set[int]]]:
    with store.session(write=False) as db:
        rows = db.scalars(select(IncidentRow)).all()
        links = db.execute(select(IncidentAlertRow.incident_id, IncidentAlertRow.alert_id)).all()
    out = {r.id: (r.status, set[int]()) for r in rows}
    for inc, alert in links:
        out[inc][1].add(alert)
    return out


def _alert_ids(store: Store) -> dict[str, int]:
    with store.session(write=False) as db:
        return {r.rule_id: r.id for r in db.scalars(select(AlertRow)).all()}


def test_joining_alert_merges_two_stored_incidents(store: Store, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _record(store, _alert("a.one", "10.0.0.1", "10.0.0.2", T0),
            _alert("b.two", "10.0.0.3", "10.0.0.4", T0 + 10))
    first = correlate_store(store, settings)
    assert len(first.created) == 2 and first.updated == [] and first.merged == []
    ids = _alert_ids(store)
    stored = _incidents(store)
    assert sorted(links for _s, links in stored.values()) == \
        sorted([{ids["a.one"]}, {ids["b.two"]}])
    again = correlate_store(store, settings)  # nothing new: nothing changes
    assert (again.created, again.updated, again.merged, again.unchanged) == ([], [], [], 2)

    # 10.0.0.2 (a target of the first) now attacks 10.0.0.4 (a target of the second)
    _record(store, _alert("c.three", "10.0.0.2", "10.0.0.4", T0 + 20))
    result = correlate_store(store, settings)
    assert result.created == [] and len(result.merged) == 1
    ids = _alert_ids(store)
    stored = _incidents(store)
    survivor = next(i for i, (status, _l) in stored.items() if status == "open")
    merged = result.merged[0]
    assert stored[survivor][1] == {ids["a.one"], ids["b.two"], ids["c.three"]}
    assert stored[merged] == ("merged", set())
    with store.session(write=False) as db:
        detail = repo.get_incident(db, survivor)
        row = repo.incident_row(db, merged)
    assert row.summary == f"merged into incident {survivor}" and row.key is None
    assert any("merged with" in line for line in detail.explanation)
    assert detail.alert_ids == [ids["a.one"], ids["b.two"], ids["c.three"]]
    # a merged incident takes no run
    pb = builtin_playbooks()[0]
    who = Who(username="ana", role=Role.ANALYST)
    with pytest.raises(Conflict, match="was merged"):
        start_run(store, settings, merged, pb.id, who)


def test_suppressed_alerts_leave_correlation(store: Store, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _record(store, _alert("a.one", "10.0.0.1", "10.0.0.2", T0),
            _alert("a.two", "10.0.0.1", "10.0.0.9", T0 + 5))
    correlate_store(store, settings)
    (iid, (_status, links)), = _incidents(store).items()
    assert len(links) == 2
    with store.session() as db:
        row = db.scalar(select(AlertRow).where(AlertRow.rule_id == "a.two"))
        assert row is not None
        row.status = "suppressed"
    result = correlate_store(store, settings)
    assert result.updated == [iid]
    assert _incidents(store)[iid][1] == {_alert_ids(store)["a.one"]}


def test_auto_start_playbooks_start_once(store: Store, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pb = next(p for p in builtin_playbooks() if p.name == "Remote access abuse")
    doc = copy.deepcopy(pb.doc)
    doc["playbook_extensions"][EXTENSION_ID]["auto_start"] = True
    with store.session() as db:
        repo.save_playbook(db, doc, pb.name, "otto")
    _record(store, _alert("r.one", "10.0.0.1", "10.0.0.2", T0, technique="T0822",
                          tactic="initial-access"))
    correlate_store(store, settings)
    with store.session(write=False) as db:
        runs, total = repo.list_runs(db)
    assert total == 1 and runs[0].playbook_id == pb.id and runs[0].started_by == "otshield"
    _record(store, _alert("r.two", "10.0.0.1", "10.0.0.3", T0 + 60, technique="T0822",
                          tactic="initial-access"))
    correlate_store(store, settings)  # the incident grew: still one run
    with store.session(write=False) as db:
        assert repo.list_runs(db)[1] == 1


class _SyslogCollector:
    """A TCP syslog receiver (RFC 6587 octet counting) on 127.0.0.1; starts later on demand."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.data = b""
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(8)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(65536):
                    self.data += chunk

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()

    def received(self, needle: bytes, timeout: float = 10.0) -> bool:
        """Whether ``needle`` arrives within ``timeout`` (the sender's write returns before
        this thread has read it)."""
        deadline = time.monotonic() + timeout
        while needle not in self.data and time.monotonic() < deadline:
            time.sleep(0.01)
        return needle in self.data


def test_the_loop_delivers_to_a_receiver_that_comes_up_later(store: Store,
                                                              tmp_path: Path) -> None:
    collector = _SyslogCollector()
    notify = tmp_path / "notify.yaml"
    notify.write_text(f"syslog:\n  host: 127.0.0.1\n  port: {collector.port}\n"
                      "  protocol: tcp\n")
    settings = _settings(tmp_path, notify_file=notify)
    _record(store, _alert("x.one", "10.0.0.1", "10.0.0.2", T0, severity="critical",
                          technique="T0867", tactic="lateral-movement"))
    correlate_store(store, settings)
    with store.session(write=False) as db:
        iid = repo.list_incidents(db)[0][0].id
    ransomware = next(p for p in builtin_playbooks() if p.name.startswith("Ransomware"))
    run = start_run(store, settings, iid, ransomware.id, Who(username="ana",
                                                              role=Role.ANALYST))
    triage = next(s for s in run_out(run).steps if s.status == "active")

    def finish(runner: Runner, actor: Actor) -> dict[str, str]:
        for i in range(len(triage.checklist)):
            runner.tick(triage.id, i, actor)
        runner.complete(triage.id, actor)
        return {}

    run_operation(store, run.run.id, Who(username="ana", role=Role.ANALYST), "complete",
                  finish)
    moment = [time.time()]
    loop = ResponseLoop(store, settings, clock=lambda: moment[0])
    _escalated, sent = loop.once()  # the collector is down: nothing sent, nothing lost
    assert sent == []
    assert loop.outbox.status()["pending"] == 2
    collector.start()
    moment[0] += 30  # past the retry delay, before any escalation
    try:
        _escalated, sent = loop.once()
        assert len(sent) == 1  # the syslog message; e-mail has no receiver configured
        _escalated, again = loop.once()
        assert again == []  # delivered once, never twice
    finally:
        collector.stop()
    assert collector.received(sent[0].encode()) and b"CEF:0|" in collector.data
    assert loop.outbox.status() == {"pending": 1, "sent": 1, "dead": 0}


def test_a_broken_notify_file_stops_the_start_with_its_line(tmp_path: Path,
                                                           store: Store) -> None:
    notify = tmp_path / "notify.yaml"
    notify.write_text("syslog:\n  host: 127.0.0.1\n  port: 514\n  colour: red\n")
    with pytest.raises(ConfigError, match=r"notify\.yaml:\d+: .*colour"):
        ResponseLoop(store, _settings(tmp_path, notify_file=notify))


def test_a_broken_site_playbook_stops_the_start(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    doc = copy.deepcopy(builtin_playbooks()[0].doc)
    step_id = next(k for k, v in doc["workflow"].items() if v["type"] == "action")
    doc["workflow"][step_id]["on_completion"] = "action--gone"
    (folder / "site.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"site\.json: not a valid CACAO 2\.0 playbook"):
        ResponseLoop(store, _settings(tmp_path, playbooks_dir=folder))
    (folder / "site.json").unlink()
    doc = copy.deepcopy(builtin_playbooks()[0].doc)
    doc["name"] = "Site edition"
    (folder / "site.json").write_text(json.dumps(doc))
    settings = _settings(tmp_path, playbooks_dir=folder)
    ResponseLoop(store, settings)
    with store.session(write=False) as db:
        entry = next(e for e in library(db, settings) if e.playbook.id == doc["id"])
    assert (entry.source, entry.playbook.name) == ("site", "Site edition")

"""Incident response in the console: correlation after each analysed capture, cases and
playbook runs worked by the console's users, and the background loop that delivers
notifications and escalates steps nobody acknowledged.

The engine (:mod:`otshield.respond.correlate`, :mod:`~otshield.respond.runner`,
:mod:`~otshield.respond.cases`) holds no state of its own; this module loads the records from
the store, applies one operation, and writes the record back **with its audit entry and the
notifications it queued in the same transaction**: a run never advances without its audit
row, and a notification is never queued for a step change that rolled back (the executor's
outbox writes into the request's session, not through a connection of its own).

Correlation is recomputed from the stored alerts on every pass (deterministic, so the same
alerts always give the same incidents) and reconciled with the stored incidents by
:func:`otshield.respond.store.sync_incidents`: analysing a capture twice changes nothing, and
nothing is kept only in memory, so a restarted console carries on where it stopped.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from otshield.console.auth.service import Actor as AuditActor
from otshield.console.auth.service import write_audit
from otshield.console.permissions import Role
from otshield.console.settings import ConsoleSettings
from otshield.detect.alert import Alert
from otshield.errors import ConfigError, OtshieldError
from otshield.respond import store as repo
from otshield.respond.actions import ResponseExecutor
from otshield.respond.cacao.model import Playbook, parse_playbook
from otshield.respond.cases import Case, CaseError, Evidence, open_case
from otshield.respond.correlate import alert_id, correlate
from otshield.respond.evidence import extract_flows
from otshield.respond.library import builtin_playbooks, load_library, propose
from otshield.respond.notify.message import Notification
from otshield.respond.notify.outbox import Outbox, deliver_due
from otshield.respond.notify.senders import load_notify_config, senders
from otshield.respond.report import case_html, case_markdown, case_pdf
from otshield.respond.runner import SYSTEM, Actor, Run, RunError, Runner
from otshield.store import Store
from otshield.store.common import Change
from otshield.store.errors import Conflict, NotFound
from otshield.store.models import (
    AlertRecordRow,
    AlertRow,
    AlertSourceRow,
    CaptureJobRow,
    NotifyOutboxRow,
)

__all__ = [
    "PlaybookEntry",
    "ResponseLoop",
    "Who",
    "after_ingest",
    "alerts_of",
    "case_report",
    "correlate_store",
    "extract_evidence",
    "find_playbook",
    "library",
    "open_case_for",
    "run_operation",
    "start_run",
    "update_case",
]

log = logging.getLogger("otshield.console")

_CORRELATE = threading.Lock()
"""One correlation pass at a time in this process (the job worker and a manual request)."""

_alert_dec = msgspec.json.Decoder(Alert)


class Who(msgspec.Struct, frozen=True, kw_only=True):
    """The user acting, as the runner and the audit log need them."""

    username: str
    role: Role
    user_id: int | None = None
    via: str = "session"
    ip: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(name=self.username, role=self.role)

    @property
    def audit(self) -> AuditActor:
        return AuditActor(name=self.username, user_id=self.user_id, role=self.role.value,
                          via=self.via, ip=self.ip)


_SYSTEM_AUDIT = AuditActor(name="otshield", user_id=None, role="", via="system", ip="local")


def _audit(db: Session, who: AuditActor, change: Change) -> None:
    write_audit(db, who, change.action, change.target, dict(change.detail))


# -- the playbook library -----------------------------------------------------------------------


class PlaybookEntry(msgspec.Struct, frozen=True, kw_only=True):
    playbook: Playbook
    source: str
    """``built-in``, ``site`` (the settings' playbooks folder) or ``imported``."""


@functools.lru_cache(maxsize=1)
def _builtins() -> tuple[Playbook, ...]:
    return tuple(builtin_playbooks())


def library(db: Session, settings: ConsoleSettings) -> list[PlaybookEntry]:
    """Built-ins, then the site folder's, then imported ones (a later one with the same id
    replaces an earlier one), sorted by name."""
    out: dict[str, PlaybookEntry] = {p.id: PlaybookEntry(playbook=p, source="built-in")
                                     for p in _builtins()}
    if settings.playbooks_dir is not None:
        for pb in load_library([settings.playbooks_dir], builtin=False):
            out[pb.id] = PlaybookEntry(playbook=pb, source="site")
    for row in repo.imported_playbooks(db):
        try:
            pb = parse_playbook(json.loads(row.doc), f"imported playbook {row.name}")
        except (ValueError, ConfigError) as exc:
            log.error("imported playbook %s is no longer valid: %s", row.id, exc)
            continue
        out[pb.id] = PlaybookEntry(playbook=pb, source="imported")
    return sorted(out.values(), key=lambda e: e.playbook.name)


def find_playbook(db: Session, settings: ConsoleSettings, playbook_id: str) -> PlaybookEntry:
    for entry in library(db, settings):
        if entry.playbook.id == playbook_id:
            return entry
    raise NotFound(f"no playbook {playbook_id}")


# -- correlation ------------------------------------------------------------------------------


def _stored_alerts(db: Session) -> tuple[list[Alert], dict[str, int]]:
    """Every alert that is not suppressed, and the correlator's id -> alert row id."""
    alerts: list[Alert] = []
    rows: dict[str, int] = {}
    for row_id, record in db.execute(
            select(AlertRow.id, AlertRecordRow.record)
            .join(AlertRecordRow, AlertRecordRow.alert_id == AlertRow.id)
            .where(AlertRow.status != "suppressed").order_by(AlertRow.first_seen, AlertRow.id)):
        try:
            alert = _alert_dec.decode(record)
        except msgspec.DecodeError:
            log.warning("alert %d: damaged record left out of correlation", row_id)
            continue
        alerts.append(alert)
        rows.setdefault(alert_id(alert), row_id)
    return alerts, rows


def correlate_store(store: Store, settings: ConsoleSettings, *, reason: str = "",
                    who: Who | None = None) -> repo.SyncResult:
    """Correlate the stored alerts into incidents, store them with their proposed playbooks,
    start the proposals marked ``auto_start`` (once per incident and playbook)."""
    with _CORRELATE:
        with store.session(write=False) as db:
            alerts, rows = _stored_alerts(db)
            books = library(db, settings)
        incidents = correlate(alerts)
        lib = [e.playbook for e in books]
        proposals = {inc.id: propose(inc, lib) for inc in incidents}
        with store.session() as db:
            result = repo.sync_incidents(db, incidents, rows, proposals)
            auditor = who.audit if who is not None else _SYSTEM_AUDIT
            if result.created or result.updated or result.merged:
                _audit(db, auditor, Change(
                    action="incident.correlate", target="incidents",
                    detail={"created": result.created, "updated": result.updated,
                            "merged": result.merged, "alerts": len(alerts),
                            "reason": reason}))
            for incident_id in result.changed:
                _auto_start(db, settings, incident_id, {e.playbook.id: e for e in books})
        return result


def _auto_start(db: Session, settings: ConsoleSettings, incident_id: int,
                books: Mapping[str, PlaybookEntry]) -> None:
    detail = repo.get_incident(db, incident_id)
    if detail.summary.status != "open":
        return
    started = {r.playbook_id for r in repo.list_runs(db, repo.RunFilter(
        incident_id=incident_id), limit=1000)[0]}
    for proposal in detail.proposals:
        entry = books.get(proposal.playbook_id)
        if not proposal.auto_start or entry is None or proposal.playbook_id in started:
            continue
        _start(db, settings, entry.playbook, incident_id, None, SYSTEM, _SYSTEM_AUDIT,
               auto=True)


def after_ingest(store: Store, settings: ConsoleSettings, job_id: int) -> str | None:
    """The capture worker's hook after a job's alerts are committed. Never raises: the
    capture's analysis succeeded whatever happens here. A failure is logged with its
    traceback and returned as one line for the job's warnings (the next job or a manual
    correlation catches up); None when the incidents were updated."""
    try:
        correlate_store(store, settings, reason=f"capture job {job_id}")
    except Exception as exc:  # the job's results stand whatever went wrong here
        log.exception("correlating alerts after capture job %d failed", job_id)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return ("the alerts are stored, but grouping them into incidents failed "
                f"({type(exc).__name__}{': ' + detail if detail else ''}); the next capture "
                "or `otshield incidents` groups them again; details in the server log")
    return None


# -- runs -------------------------------------------------------------------------------------


class _SessionOutbox(Outbox):
    """The outbox written through the request's session: a queued notification commits
    with the run change that queued it, or not at all."""

    def __init__(self, db: Session) -> None:  # no engine of its own
        self.db = db
        self.queued: list[str] = []

    def enqueue(self, n: Notification, now: float | None = None) -> bool:
        at = time.time() if now is None else now
        if self.db.get(NotifyOutboxRow, n.id) is not None:
            return False
        self.db.add(NotifyOutboxRow(
            id=n.id, channel=n.channel, payload=msgspec.json.encode(n).decode(),
            status="pending", attempts=0, next_attempt_at=at, last_error="",
            created_at=n.created or at))
        self.queued.append(n.id)
        return True


def _runner(db: Session, playbook: Playbook, run: Run) -> Runner:
    executor = ResponseExecutor(_SessionOutbox(db))
    return Runner(playbook, run, executor, pager=executor.page)


def _start(db: Session, settings: ConsoleSettings, playbook: Playbook, incident_id: int,
           case_id: str | None, actor: Actor, auditor: AuditActor, *, auto: bool = False
           ) -> repo.StoredRun:
    del settings
    row = repo.incident_row(db, incident_id)
    if row.status == "merged":
        raise Conflict(f"incident {incident_id} was merged ({row.summary}); work that one")
    incident = repo.incident_record(row)
    executor = ResponseExecutor(_SessionOutbox(db))
    runner = Runner.start(playbook, incident, actor, executor, pager=executor.page)
    run = runner.run
    if case_id is None:
        case_id = next(iter(c.id for c in repo.list_cases(
            db, repo.CaseFilter(incident_id=incident_id), limit=1)[0]), None)
    repo.save_run(db, run, incident_id=incident_id, playbook=playbook.doc, case_id=case_id)
    if case_id is not None:
        case_row, case = repo.get_case(db, case_id, lock=True)
        case.link_run(actor.label, run.id, playbook.name)
        repo.save_case(db, case_row, case)
    _audit(db, auditor, Change(action="playbook.start", target=f"run:{run.id}", detail={
        "playbook": playbook.id, "name": playbook.name, "incident": incident_id,
        "case": case_id, "automatic": auto}))
    return repo.get_run(db, run.id)


def start_run(store: Store, settings: ConsoleSettings, incident_id: int, playbook_id: str,
              who: Who) -> repo.StoredRun:
    with store.session() as db:
        entry = find_playbook(db, settings, playbook_id)
        return _start(db, settings, entry.playbook, incident_id, None, who.actor, who.audit)


Operation = Callable[[Runner, Actor], Mapping[str, Any]]
"""Applies one change to a run; returns the audit detail."""


def run_operation(store: Store, run_id: str, who: Who, action: str,
                  operation: Operation) -> repo.StoredRun:
    """Load the run (locked), apply ``operation``, save it with its audit row. A
    :class:`RunError` rolls everything back and reaches the caller."""
    with store.session() as db:
        stored = repo.get_run(db, run_id, lock=True)
        playbook = parse_playbook(stored.playbook, f"playbook of run {run_id}")
        runner = _runner(db, playbook, stored.run)
        detail = dict(operation(runner, who.actor))
        repo.save_run(db, runner.run, incident_id=stored.summary.incident_id)
        _audit(db, who.audit, Change(action=f"playbook.{action}", target=f"run:{run_id}",
                                     detail=detail))
        return repo.get_run(db, run_id)


# -- cases ------------------------------------------------------------------------------------


def open_case_for(store: Store, incident_id: int, who: Who) -> Case:
    with store.session() as db:
        row = repo.incident_row(db, incident_id, lock=True)
        if row.status == "merged":
            raise Conflict(f"incident {incident_id} was merged ({row.summary})")
        existing = repo.list_cases(db, repo.CaseFilter(incident_id=incident_id), limit=1)[0]
        if existing:
            raise Conflict(f"incident {incident_id} already has case {existing[0].id}")
        case = open_case(repo.incident_record(row), who.actor.label)
        _audit(db, who.audit, repo.create_case(db, incident_id, case))
        runs = repo.list_runs(db, repo.RunFilter(incident_id=incident_id), limit=1000)[0]
        for summary in sorted(runs, key=lambda r: r.started_at):
            case.link_run(who.actor.label, summary.id, summary.playbook_name)
            stored_row = repo.get_run(db, summary.id)
            repo.save_run(db, stored_row.run, incident_id=incident_id, case_id=case.id)
        case_row, _ = repo.get_case(db, case.id)
        repo.save_case(db, case_row, case)
        return case


def update_case(store: Store, case_id: str, who: Who, action: str,
                change: Callable[[Case, str], Mapping[str, Any]]) -> Case:
    """Apply ``change(case, actor_label)`` (raises CaseError to refuse) and save it with its
    audit row."""
    with store.session() as db:
        row, case = repo.get_case(db, case_id, lock=True)
        detail = dict(change(case, who.actor.label))
        repo.save_case(db, row, case)
        _audit(db, who.audit, Change(action=f"case.{action}", target=f"case:{case_id}",
                                     detail=detail))
        return case


def alerts_of(db: Session, incident_id: int) -> list[Alert]:
    detail = repo.get_incident(db, incident_id)
    out = []
    for row_id in detail.alert_ids:
        record = db.scalar(select(AlertRecordRow.record)
                           .where(AlertRecordRow.alert_id == row_id))
        if record is not None:
            out.append(_alert_dec.decode(record))
    return out


def _capture_paths(db: Session, incident_id: int) -> list[Path]:
    """The stored captures the incident's alerts came from."""
    detail = repo.get_incident(db, incident_id)
    if not detail.alert_ids:
        return []
    paths = db.scalars(select(CaptureJobRow.path).join(
        AlertSourceRow, AlertSourceRow.job_id == CaptureJobRow.id).where(
        AlertSourceRow.alert_id.in_(detail.alert_ids)).distinct()).all()
    return [Path(p) for p in sorted(paths) if Path(p).is_file()]


def extract_evidence(store: Store, settings: ConsoleSettings, case_id: str, who: Who
                     ) -> tuple[Case, Evidence]:
    """Cut the incident's flows out of its stored captures into a pcap in the data folder
    and add it to the case's evidence."""
    with store.session(write=False) as db:
        row, case = repo.get_case(db, case_id)
        paths = _capture_paths(db, row.incident_id)
    if not paths:
        raise CaseError("no stored capture holds this incident's traffic (alerts recorded "
                        "by live monitoring keep no packets)")
    folder = settings.data_dir / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    number = sum(1 for e in case.evidence if e.kind == "pcap") + 1
    out = folder / f"{case_id}-flows-{number}.pcap"
    try:
        extract = extract_flows(paths, case.incident, out)
    except OSError as exc:
        raise CaseError(f"cannot write the evidence file: {exc.strerror or exc}") from None
    item = Evidence(kind="pcap", ref=out.name,
                    description=f"{extract.packets} packets between "
                                f"{len(extract.pairs)} address pairs from "
                                f"{len(paths)} capture(s)", sha256=extract.sha256)

    def add(c: Case, label: str) -> dict[str, Any]:
        c.add_evidence(label, item)
        return {"file": out.name, "packets": extract.packets, "sha256": extract.sha256}

    case = update_case(store, case_id, who, "evidence", add)
    return case, case.evidence[-1]


def case_report(store: Store, case_id: str, fmt: str) -> str | bytes:
    """The after-action report: ``markdown``, ``html`` or ``pdf`` (bytes)."""
    with store.session(write=False) as db:
        row, case = repo.get_case(db, case_id)
        runs = []
        for rid in case.runs:
            try:
                runs.append(repo.get_run(db, rid).run)
            except NotFound:
                continue
        alerts = alerts_of(db, row.incident_id)
    if fmt == "pdf":
        return case_pdf(case, runs, alerts)
    return case_markdown(case, runs, alerts) if fmt == "markdown" else \
        case_html(case, runs, alerts)


# -- the background loop ------------------------------------------------------------------------


class ResponseLoop:
    """A thread delivering due notifications and escalating unacknowledged steps every
    ``interval`` seconds. ``notify.yaml`` and the site's playbook folder are read at
    construction, so a broken file stops the console at start with a message naming it."""

    def __init__(self, store: Store, settings: ConsoleSettings, interval: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock
        self.senders = senders(load_notify_config(settings.notify_file)) \
            if settings.notify_file is not None else {}
        if settings.playbooks_dir is not None:  # a broken site playbook: refuse to start
            load_library([settings.playbooks_dir], builtin=False)
        self._outbox: Outbox | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox(self.store.engine)
        return self._outbox

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="otshield-respond",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.once()
            except Exception:  # a bad pass must not end the loop
                log.exception("incident response background pass failed")

    def once(self) -> tuple[list[str], list[str]]:
        """One pass: (escalated run ids, delivered notification ids)."""
        escalated = self.escalate()
        sent: list[str] = []
        if self.senders:
            sent = deliver_due(self.outbox, self.senders, now=self.clock()).sent
        return escalated, sent

    def escalate(self) -> list[str]:
        with self.store.session(write=False) as db:
            ids = repo.running_run_ids(db)
        out = []
        for rid in ids:
            try:
                with self.store.session() as db:
                    stored = repo.get_run(db, rid, lock=True)
                    if stored.run.status != "running":
                        continue
                    playbook = parse_playbook(stored.playbook, f"playbook of run {rid}")
                    runner = _runner(db, playbook, stored.run)
                    steps = runner.escalate_due(self.clock())
                    if steps:
                        repo.save_run(db, runner.run, incident_id=stored.summary.incident_id)
                        _audit(db, _SYSTEM_AUDIT, Change(
                            action="playbook.escalate", target=f"run:{rid}",
                            detail={"steps": steps}))
                        out.append(rid)
            except (OtshieldError, RunError) as exc:
                log.error("escalating run %s: %s", rid, exc)
        return out

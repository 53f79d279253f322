"""Capture ingestion: run otshield's analysis over an uploaded capture and commit what it found
(the inventory, then the alerts in batches), recording the job's progress as it goes.

Crash safety. Every commit is one transaction holding a piece of the result together with
the job's counter for it:

1. the inventory merge (:func:`otshield.store.merge.merge_inventory`) and
   ``capture_jobs.inventory_done`` in one transaction;
2. each batch of alerts (:func:`otshield.store.alerts.record_alerts`, with the job's ledger
   rows) and ``capture_jobs.alerts_done`` in one transaction;
3. ``done`` with the counts.

A ``kill -9`` at any moment therefore leaves whole batches and nothing half-written, and the
job still ``running``. Running the job again (:func:`resume` at the next start) repeats the
analysis, which is deterministic (packet time only), skips the inventory if it was merged, and
records every alert again through the ledger, which replaces the job's earlier contribution
instead of adding to it: the result equals one uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from otshield.capture import open_capture
from otshield.detect.alert import Alert
from otshield.detect.analyze import Analysis, AnalyzeOptions, run_analysis
from otshield.errors import OtshieldError, describe_bug
from otshield.events import Event
from otshield.store.alerts import record_alerts
from otshield.store.db import Store
from otshield.store.errors import StoreError
from otshield.store.inventory import read_inventory, write_inventory
from otshield.store.jobs import fail_job, finish_job, job_options, start_job, update_progress
from otshield.store.merge import merge_inventory
from otshield.store.models import CaptureJobRow

__all__ = ["BATCH", "IngestResult", "Progress", "ingest_capture", "resume"]

BATCH = 200
"""Alerts per transaction: small enough that a crash loses little work, large enough that
10,000 alerts are 50 commits."""
_HEARTBEAT = 2.0
"""Seconds between progress writes while the analysis runs."""
_ANALYSIS_SHARE = 0.6
"""Share of the progress bar the analysis fills (the commits fill the rest)."""
_RETRIES = 3
"""Attempts per alert batch when a concurrent job inserted the same new key first."""
_INVENTORY_LOCK = 0x07_5348_4C45
"""PostgreSQL advisory lock: one inventory merge at a time (SQLite: the write lock)."""

Progress = Callable[[str, float], None]
"""Called with the stage (``analysing``, ``inventory``, ``alerts``, ``done``) and the fraction
done (0.0-1.0) after each commit."""


class IngestResult(msgspec.Struct, kw_only=True):
    job_id: int
    packets: int
    assets: int
    alerts: int
    """Alerts the capture produced (after aggregation within it)."""
    new_alerts: int
    """Of those, keys the store had not seen before (0 on a re-run)."""
    problems: list[str]
    seconds: float


def _options(site: str | Path | None, rules: Sequence[str | Path] | None,
             stored: dict[str, Any]) -> AnalyzeOptions:
    if site is None and rules is None and stored:
        try:
            return msgspec.convert(stored, AnalyzeOptions)
        except msgspec.ValidationError as exc:
            raise StoreError(f"the job's stored analysis options are damaged ({exc})") from None
    return AnalyzeOptions(site=str(site) if site is not None else None,
                          rules=tuple(str(r) for r in rules or ()))


def _analyse(store: Store, job_id: int, path: Path, options: AnalyzeOptions,
             progress: Progress | None) -> Analysis:
    """The analysis, writing a heartbeat with the frames read every few seconds."""
    last = [time.monotonic()]

    def on_event(event: Event) -> None:
        # the monotonic check is cheap; the write happens once per _HEARTBEAT
        if event.frame and time.monotonic() - last[0] >= _HEARTBEAT:
            last[0] = time.monotonic()
            with store.session() as session:
                update_progress(session, job_id, packets=event.frame)
            if progress is not None:
                progress("analysing", 0.0)

    return run_analysis([path], options, on_event=on_event)


def _merge_inventory(store: Store, job_id: int, analysis: Analysis) -> None:
    with store.session() as session:
        job = session.scalars(select(CaptureJobRow).where(CaptureJobRow.id == job_id)
                              .with_for_update()).one()
        if job.inventory_done:  # merged before a restart: merging again would double counts
            return
        if store.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _INVENTORY_LOCK})
        write_inventory(session, merge_inventory(read_inventory(session), analysis.inventory))
        job.inventory_done = True
        job.assets = len(analysis.inventory.assets)
        job.stage, job.progress = "inventory", _ANALYSIS_SHARE


def _record(store: Store, job_id: int, alerts: list[Alert], batch: int,
            progress: Progress | None) -> int:
    created = 0
    total = len(alerts)
    for start in range(0, total, batch):
        done = min(start + batch, total)
        fraction = _ANALYSIS_SHARE + (1 - _ANALYSIS_SHARE) * done / total
        for attempt in range(_RETRIES):
            try:
                with store.session() as session:
                    added = record_alerts(session, alerts[start:done], job_id=job_id)
                    update_progress(session, job_id, stage="alerts", progress=fraction,
                                    alerts_done=done)
                break
            except StoreError as exc:
                # another job inserted one of these keys first (PostgreSQL; SQLite serialises
                # writers): the batch rolled back whole, and its retry merges into that row
                if not isinstance(exc.__cause__, IntegrityError) or attempt == _RETRIES - 1:
                    raise
        created += added
        if progress is not None:
            progress("alerts", fraction)
    return created


def ingest_capture(store: Store, path: str | Path, job_id: int, *,
                   site: str | Path | None = None, rules: Sequence[str | Path] | None = None,
                   progress: Progress | None = None, batch: int = BATCH) -> IngestResult:
    """Analyse the capture at ``path`` for job ``job_id`` and commit the result.

    ``site``/``rules`` default to the options stored with the job. On an analysis error (not a
    capture, a bad site file, an otshield bug) the job is marked ``failed`` with the message and
    the error is raised (a :class:`~otshield.errors.OtshieldError`; a bug as
    :class:`StoreError` naming it). A database error leaves the job ``running`` so a restart
    resumes it."""
    started = time.perf_counter()
    capture = Path(path)
    with store.session() as session:
        _stored_path, stored = job_options(session, job_id)
        options = _options(site, rules, stored)
        start_job(session, job_id)
        job = session.get(CaptureJobRow, job_id)
        if job is not None:  # what a restart must run again
            job.options = msgspec.json.encode(options).decode()
    if progress is not None:
        progress("analysing", 0.0)
    try:
        with open_capture(capture):  # not a capture: say so now, before loading the rules
            pass
        analysis = _analyse(store, job_id, capture, options, progress)
    except StoreError:
        raise
    except OtshieldError as exc:
        with store.session() as session:
            fail_job(session, job_id, str(exc))
        raise
    except Exception as exc:  # a bug in the analysis: the job says so, the server lives on
        message = f"internal error in the analysis: {describe_bug(exc)}"
        with store.session() as session:
            fail_job(session, job_id, message)
        raise StoreError(f"{capture}: {message}") from exc
    with store.session() as session:
        update_progress(session, job_id, stage="inventory", progress=_ANALYSIS_SHARE,
                        packets=analysis.packets, alerts_total=len(analysis.alerts))
    _merge_inventory(store, job_id, analysis)
    if progress is not None:
        progress("inventory", _ANALYSIS_SHARE)
    created = _record(store, job_id, analysis.alerts, max(batch, 1), progress)
    counts: dict[str, Any] = {"severity": analysis.counts(), "problems": analysis.problems,
                              "detectors": analysis.detectors, "rules": analysis.rules,
                              "new_alerts": created, "first_ts": analysis.first_ts,
                              "last_ts": analysis.last_ts}
    with store.session() as session:
        finish_job(session, job_id, counts)
    store.analyze()  # the planner's statistics follow the store's growth
    if progress is not None:
        progress("done", 1.0)
    return IngestResult(job_id=job_id, packets=analysis.packets,
                        assets=len(analysis.inventory.assets), alerts=len(analysis.alerts),
                        new_alerts=created, problems=list(analysis.problems),
                        seconds=time.perf_counter() - started)


def resume(store: Store, job_id: int, *, progress: Progress | None = None) -> IngestResult:
    """Run an interrupted job again from its stored capture path and options."""
    with store.session(write=False) as session:
        path, _options_stored = job_options(session, job_id)
    return ingest_capture(store, path, job_id, progress=progress)

"""Capture jobs: an uploaded capture's analysis from ``queued`` through ``running`` (with stage
and progress) to ``done`` or ``failed``.

A job whose process died stays ``running`` in the database; :func:`interrupted_jobs` finds
them at the next start so the console runs them again (:func:`otshield.store.ingest.resume`),
which is safe because ingestion is idempotent.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from otshield.store.common import Change, check_page, count_of, now
from otshield.store.errors import Conflict, Invalid, NotFound
from otshield.store.models import JOB_STATUSES, CaptureJobRow

__all__ = ["Job", "add_warning", "create_job", "fail_job", "finish_job", "get_job",
           "interrupted_jobs", "job_options", "list_jobs", "start_job", "update_progress"]

_enc = msgspec.json.Encoder()


class Job(msgspec.Struct, kw_only=True):
    id: int
    filename: str
    size: int
    sha256: str
    status: str
    stage: str
    progress: float
    packets: int
    assets: int
    alerts_total: int
    alerts_done: int
    counts: dict[str, Any]
    error: str
    attempts: int
    created_by: str
    created_at: float
    started_at: float | None
    finished_at: float | None


def _view(r: CaptureJobRow) -> Job:
    try:
        counts = msgspec.json.decode(r.counts or "{}")
    except msgspec.DecodeError:
        counts = {}
    return Job(id=r.id, filename=r.filename, size=r.size, sha256=r.sha256, status=r.status,
               stage=r.stage, progress=r.progress, packets=r.packets, assets=r.assets,
               alerts_total=r.alerts_total, alerts_done=r.alerts_done,
               counts=counts if isinstance(counts, dict) else {}, error=r.error,
               attempts=r.attempts, created_by=r.created_by, created_at=r.created_at,
               started_at=r.started_at, finished_at=r.finished_at)


def _row(session: Session, job_id: int) -> CaptureJobRow:
    row = session.get(CaptureJobRow, job_id)
    if row is None:
        raise NotFound(f"no capture job {job_id}")
    return row


def create_job(session: Session, *, filename: str, path: str, created_by: str, size: int = 0,
               sha256: str = "", options: dict[str, Any] | None = None) -> tuple[Job, Change]:
    """A queued job for the capture stored at ``path``. ``options`` (``site``, ``rules``) are
    kept so a restart runs the same analysis."""
    row = CaptureJobRow(filename=filename[:512], path=path, size=size, sha256=sha256,
                        status="queued", stage="queued", progress=0.0, packets=0, assets=0,
                        alerts_total=0, alerts_done=0, inventory_done=False, counts="{}",
                        options=_enc.encode(options or {}).decode(), error="", attempts=0,
                        created_by=created_by, created_at=now())
    session.add(row)
    session.flush()
    return _view(row), Change(action="capture.upload", target=f"job:{row.id}",
                              detail={"filename": row.filename, "size": size,
                                      "sha256": sha256})


def job_options(session: Session, job_id: int) -> tuple[str, dict[str, Any]]:
    """The stored capture path and analysis options of a job."""
    row = _row(session, job_id)
    options = msgspec.json.decode(row.options or "{}")
    return row.path, options if isinstance(options, dict) else {}


def start_job(session: Session, job_id: int) -> Job:
    """Mark the job running (again, after a restart); counts the attempt."""
    row = _row(session, job_id)
    if row.status == "done":
        raise Conflict(f"capture job {job_id} is already done")
    at = now()
    row.status, row.stage, row.error, row.finished_at = "running", "analysing", "", None
    row.attempts += 1
    row.started_at = row.heartbeat_at = at
    return _view(row)


def update_progress(session: Session, job_id: int, *, stage: str | None = None,
                    progress: float | None = None, **counts: int) -> None:
    """Record how far the job is; ``counts``: ``packets``, ``assets``, ``alerts_total``,
    ``alerts_done``."""
    row = _row(session, job_id)
    if stage is not None:
        row.stage = stage
    if progress is not None:
        row.progress = min(max(progress, 0.0), 1.0)
    for name, value in counts.items():
        if name not in {"packets", "assets", "alerts_total", "alerts_done"}:
            raise Invalid(f"unknown job counter {name!r}")
        setattr(row, name, value)
    row.heartbeat_at = now()


def finish_job(session: Session, job_id: int, counts: dict[str, Any]) -> Job:
    row = _row(session, job_id)
    at = now()
    row.status, row.stage, row.progress = "done", "done", 1.0
    row.counts = _enc.encode(counts).decode()
    row.finished_at = row.heartbeat_at = at
    return _view(row)


def add_warning(session: Session, job_id: int, warning: str) -> Job:
    """Note ``warning`` on a finished job (``counts["warnings"]``): something after the
    analysis went wrong that the user should know of, though the capture's results stand."""
    row = _row(session, job_id)
    try:
        counts = msgspec.json.decode(row.counts or "{}")
    except msgspec.DecodeError:
        counts = {}
    if not isinstance(counts, dict):
        counts = {}
    warnings = counts.get("warnings")
    counts["warnings"] = [*(warnings if isinstance(warnings, list) else []), warning]
    row.counts = _enc.encode(counts).decode()
    return _view(row)


def fail_job(session: Session, job_id: int, error: str) -> Job:
    """The job stopped on ``error`` (a message for the user, never a traceback)."""
    row = _row(session, job_id)
    at = now()
    row.status, row.error = "failed", error[:4000]
    row.finished_at = row.heartbeat_at = at
    return _view(row)


def get_job(session: Session, job_id: int) -> Job:
    return _view(_row(session, job_id))


def list_jobs(session: Session, *, status: tuple[str, ...] = (), offset: int = 0,
              limit: int = 50) -> tuple[list[Job], int]:
    """Jobs newest first."""
    check_page(offset, limit)
    for value in status:
        if value not in JOB_STATUSES:
            raise Invalid(f"unknown job status {value!r}; choose from "
                          f"{', '.join(JOB_STATUSES)}")
    query = select(CaptureJobRow)
    if status:
        query = query.where(CaptureJobRow.status.in_(status))
    total = count_of(session, query)
    rows = session.scalars(query.order_by(CaptureJobRow.created_at.desc(),
                                          CaptureJobRow.id.desc()).offset(offset).limit(limit))
    return [_view(r) for r in rows], total


def interrupted_jobs(session: Session) -> list[Job]:
    """Jobs left ``queued`` or ``running`` (by a process that stopped): run them again at
    start, oldest first. Only one console process may own the jobs of a database."""
    rows = session.scalars(select(CaptureJobRow).where(
        CaptureJobRow.status.in_(("queued", "running"))).order_by(CaptureJobRow.id))
    return [_view(r) for r in rows]

"""What the capture worker does with one job: run the store's ingestion
(:func:`otshield.store.ingest.ingest_capture`) over the uploaded file with the analysis options
stored when the job was created, and the bookkeeping around it (jobs to resume at start, a
failure message when the ingestion could not record one itself)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from otshield.console.api.overrides import reapply_all
from otshield.errors import OtshieldError
from otshield.store import Store
from otshield.store import jobs as jobs_repo
from otshield.store.errors import StoreError
from otshield.store.ingest import ingest_capture

if TYPE_CHECKING:
    from otshield.console.settings import ConsoleSettings

__all__ = ["fail_job", "pending_jobs", "run_job"]

log = logging.getLogger("otshield.console")


def _store(store: object) -> Store:
    assert isinstance(store, Store)
    return store


def run_job(store: object, settings: ConsoleSettings, job_id: int) -> None:
    """Analyse the job's capture and commit the result (raises on failure; the job row says
    why)."""
    # the analysis options (site file, rules) were fixed when the job was created; the
    # settings serve the incident correlation that follows
    db = _store(store)
    with db.session(write=False) as session:
        job = jobs_repo.get_job(session, job_id)
        path, _options = jobs_repo.job_options(session, job_id)
    if job.status == "done":
        return
    try:
        result = ingest_capture(db, path, job_id)
    except OtshieldError as exc:
        # The message names the file as the server stored it; the user knows it by the name
        # they uploaded (and need not learn the server's directories).
        message = str(exc).replace(path, job.filename)
        with db.session() as session:
            jobs_repo.fail_job(session, job_id, message)
        raise
    if result.packets == 0:
        # A capture cut short before its first packet holds nothing to analyse: say why
        # instead of reporting an empty success.
        why = "; ".join(p.replace(path, job.filename) for p in result.problems)
        with db.session() as session:
            jobs_repo.fail_job(session, job_id, f"{job.filename}: no packet could be read"
                                                + (f" ({why})" if why else ""))
    # the merged capture brought its own names and roles: the users' corrections win again
    with db.session() as session:
        reapply_all(session)
    # issue #8: the new alerts join or open incidents (never fails the job: a failure is
    # logged and shown on the job as a warning)
    from otshield.respond.service import after_ingest

    warning = after_ingest(db, settings, job_id)
    if warning is not None:
        with db.session() as session:
            jobs_repo.add_warning(session, job_id, warning)


def pending_jobs(store: object) -> list[int]:
    """Jobs a previous process left queued or running, oldest first (run again at start:
    ingestion is idempotent)."""
    with _store(store).session(write=False) as session:
        return [j.id for j in jobs_repo.interrupted_jobs(session)]


def fail_job(store: object, job_id: int, message: str) -> None:
    """Mark the job failed with ``message`` unless the ingestion already did (its message is
    the more precise one)."""
    try:
        with _store(store).session() as session:
            if jobs_repo.get_job(session, job_id).status != "failed":
                jobs_repo.fail_job(session, job_id, message)
    except StoreError as exc:
        log.error("capture job %d: cannot record its failure: %s", job_id, exc)

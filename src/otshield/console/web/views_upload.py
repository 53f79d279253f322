"""The upload page: send a capture for analysis and follow the job, plus the list of jobs.

The file goes to the API's capture endpoint (``POST /api/v1/captures``, the same one scripts
use: size limit, type checks and the job are its business) from ``static/upload.js``, which
shows the transfer progress; then the job panel (``/upload/jobs/<id>``, a fragment) is polled
by HTMX until the analysis is done or failed, reading the store's job repository.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from otshield.console.api.captures import DEFAULT_MAX_UPLOAD
from otshield.console.api.params import RowId
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.console.web.render import render
from otshield.store import jobs as repo
from otshield.store.errors import NotFound

__all__ = ["UPLOAD_ENDPOINT", "JobView", "router"]

router = APIRouter(include_in_schema=False)

UPLOAD_ENDPOINT = "/api/v1/captures"
_FINISHED = ("done", "failed")
_JOBS_SHOWN = 25


class JobView:
    """A job as the page shows it."""

    __slots__ = ("alerts", "assets", "created_at", "created_by", "error", "filename",
                 "finished", "id", "packets", "progress", "stage", "status", "warnings")

    def __init__(self, job: repo.Job) -> None:
        self.id = job.id
        self.filename = job.filename
        self.status = job.status
        self.stage = job.stage
        self.progress = min(1.0, max(0.0, job.progress))
        self.packets = job.packets
        self.assets = job.assets
        self.alerts = job.alerts_total
        self.error = job.error
        self.created_by = job.created_by
        self.created_at = job.created_at
        self.finished = job.status in _FINISHED
        found = job.counts.get("warnings")
        self.warnings = [str(w) for w in found] if isinstance(found, list) else []
        if job.status == "done":
            self.progress = 1.0


def _max_size(request: Request) -> str:
    # The API's limit: the app's setting (``otshield serve --max-upload-mb``) or its default.
    size = float(getattr(request.app.state, "max_upload_bytes", DEFAULT_MAX_UPLOAD))
    return f"{size / (1 << 20):.0f} MiB" if size < (1 << 30) else f"{size / (1 << 30):.1f} GiB"


@router.get("/upload")
def upload_page(request: Request,
                principal: Annotated[Principal, require(Permission.CAPTURES_READ)]) -> Response:
    with request.app.state.store.session(write=False) as db:
        jobs, total = repo.list_jobs(db, limit=_JOBS_SHOWN)
    return render(request, "upload.html", principal, title="Upload a capture",
                  jobs=[JobView(j) for j in jobs], jobs_total=total,
                  endpoint=UPLOAD_ENDPOINT, max_size=_max_size(request))


@router.get("/upload/jobs/{job_id}")
def job_panel(request: Request, principal: Annotated[Principal, require(Permission.CAPTURES_READ)],
              job_id: RowId) -> Response:
    try:
        with request.app.state.store.session(write=False) as db:
            job = repo.get_job(db, job_id)
    except NotFound:
        return render(request, "fragment_error.html", principal, status_code=404,
                      message=f"There is no job {job_id}.")
    view = JobView(job)
    # A finished job tells the page (HTMX event) to refresh its list of jobs.
    headers = {"HX-Trigger": "job-finished"} if view.finished else None
    return render(request, "_job.html", principal, headers=headers, job=view)

"""``/api/v1/captures``: upload a capture (pcap, pcapng, either gzip-compressed) for analysis
and follow its job.

``POST /captures`` (multipart, field ``file``) answers ``202 Accepted`` with the job at once;
the app's worker thread (:mod:`otshield.console.api.jobrunner`) analyses it and commits the
inventory and alerts; ``GET /captures/{id}`` gives the progress. A file that is not a capture,
or a damaged one, ends as a ``failed`` job with the reason.

Size. The limit (``app.state.max_upload_bytes``, ``otshield serve --max-upload-mb``) is checked
twice: on the declared ``Content-Length`` before a byte of the body is read (so an oversize
upload costs nothing), and on the bytes actually written (a chunked upload has no declared
length). Authorisation is checked before the body is read too, which is why the form is parsed
here and not by a ``File()`` parameter.
The file is stored under the data directory with a server-chosen name; the client's name is
kept for display only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from otshield.console.api.cached import cacheable, cached_json
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params, page_response
from otshield.console.api.params import RowId
from otshield.console.api.policy import current_site_file
from otshield.console.api.schemas import from_struct
from otshield.console.auth.deps import Principal, audit_change, require
from otshield.console.permissions import Permission
from otshield.console.settings import ConsoleSettings
from otshield.store import Store
from otshield.store import jobs as jobs_repo

__all__ = ["DEFAULT_MAX_UPLOAD", "JobOut", "router", "store_upload"]

DEFAULT_MAX_UPLOAD = 2 << 30
"""2 GiB: a day of a busy plant's OT traffic; ``--max-upload-mb`` changes it."""
_FORM_OVERHEAD = 64 * 1024
"""Multipart boundaries and headers around the file: allowed beyond the limit."""
_CHUNK = 1 << 20

router = APIRouter(prefix="/captures", tags=["captures"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

JobStatus = Literal["queued", "running", "done", "failed"]


class JobOut(BaseModel):
    id: int
    filename: str
    size: int
    sha256: str
    status: str
    """``queued``, ``running``, ``done`` or ``failed``."""
    stage: str
    progress: float
    """0.0 to 1.0."""
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


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "A pcap or pcapng file, plain or .gz."}},
        }}},
    },
}


def _max_upload(request: Request) -> int:
    return int(getattr(request.app.state, "max_upload_bytes", DEFAULT_MAX_UPLOAD))


def _display_name(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] or "capture"


async def store_upload(upload: UploadFile, directory: FsPath, limit: int
                       ) -> tuple[FsPath, int, str]:
    """Copy the upload into ``directory`` under a new name; (path, size, sha256). Over
    ``limit`` bytes: 413 and nothing is kept."""
    directory.mkdir(parents=True, exist_ok=True)
    # a server-chosen name (the client's, reduced to safe characters, only as a hint)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", _display_name(upload.filename))[-80:].lstrip(".")
    target = directory / f"{secrets.token_hex(8)}-{safe or 'capture'}"
    digest = hashlib.sha256()
    size = 0
    tmp = target.with_name(f".{target.name}.part")
    try:
        with tmp.open("wb") as fh:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"the capture is larger than the limit of {limit} "
                                        "bytes (otshield serve --max-upload-mb)")
                digest.update(chunk)
                # disk writes off the event loop: other requests go on meanwhile
                await run_in_threadpool(fh.write, chunk)
            fh.flush()
            await run_in_threadpool(os.fsync, fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target, size, digest.hexdigest()


def _create_job(store: Store, settings: ConsoleSettings, principal: Principal, filename: str,
                path: FsPath, size: int, sha: str) -> jobs_repo.Job:
    """The queued job of a stored upload, with the analysis options in force now (the
    policy version, the site's rules), audited; the file is removed if this fails."""
    site = current_site_file(store, settings)
    options: dict[str, Any] = {"site": str(site) if site else None,
                               "rules": [str(settings.rules_dir)] if settings.rules_dir else []}
    try:
        with store.session() as db:
            job, change = jobs_repo.create_job(db, filename=filename, path=str(path),
                                               created_by=principal.username, size=size,
                                               sha256=sha, options=options)
            audit_change(db, principal, change)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return job


def _store(request: Request) -> tuple[Store, ConsoleSettings]:
    return request.app.state.store, request.app.state.settings


def _declared_size(request: Request) -> None:
    """Refuse an upload by its declared length before anything reads the body (this
    dependency runs before the access check, which may parse a form for its CSRF field)."""
    limit = _max_upload(request)
    declared = request.headers.get("content-length")
    if declared is None:
        return  # chunked: the copy below counts the bytes instead
    if not declared.isdigit() or int(declared) > limit + _FORM_OVERHEAD:
        raise ApiError(413, f"the capture is larger than the limit of {limit} bytes "
                            "(otshield serve --max-upload-mb)")


@router.post("", status_code=202, response_model=JobOut, openapi_extra=_UPLOAD_BODY,
             responses={413: {"model": ErrorResponse},
                        415: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
             summary="Upload a capture for analysis (answers at once with the job)")
async def upload_capture(request: Request,
                         _size: Annotated[None, Depends(_declared_size)],
                         principal: Annotated[Principal, require(Permission.CAPTURES_UPLOAD)],
                         ) -> JobOut:
    limit = _max_upload(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "upload the capture as multipart/form-data with a field 'file'")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except MultiPartException as exc:
        raise ApiError(422, f"the upload is not a valid multipart form: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "the form has no file in the field 'file'",
                           details=[{"loc": ["body", "file"], "msg": "field required",
                                     "type": "missing"}])
        store, settings = _store(request)
        path, size, sha = await store_upload(upload, settings.data_dir / "uploads", limit)
    finally:
        await form.close()
    job = await run_in_threadpool(_create_job, store, settings, principal,
                                  _display_name(upload.filename), path, size, sha)
    request.app.state.jobs.submit(job.id)
    return from_struct(JobOut, job)


@router.get("", response_model=Page[JobOut], summary="List capture jobs, newest first")
@cacheable
def list_jobs(request: Request,
              _p: Annotated[Principal, require(Permission.CAPTURES_READ)],
              params: Annotated[PageParams, page_params],
              status: Annotated[list[JobStatus] | None, Query()] = None) -> Response:
    store, _settings = _store(request)

    def answer() -> Response:
        with store.session(write=False) as db:
            rows, total = jobs_repo.list_jobs(db, status=tuple(status or ()),
                                              offset=params.offset, limit=params.limit)
        return page_response(rows, total, params)

    return cached_json(request, answer)


@router.get("/{job_id}", response_model=JobOut, responses={404: {"model": ErrorResponse}},
            summary="One capture job: status, progress, counts, error")
def get_job(request: Request, job_id: RowId,
            _p: Annotated[Principal, require(Permission.CAPTURES_READ)]) -> JobOut:
    store, _settings = _store(request)
    with store.session(write=False) as db:
        return from_struct(JobOut, jobs_repo.get_job(db, job_id))

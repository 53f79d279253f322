"""``/api/v1/baselines``: the learned baselines (what normal traffic looks like per zone:
assets, talker pairs, function codes, written ranges, polling periods), versioned in the store.

A baseline arrives as the file ``otshield baseline learn`` writes (``PUT``), is read whole or
summarised, and is edited the way ``otshield baseline edit`` does it: ``allow`` entries stop
what is expected from alerting, ``forget`` entries make something alert again (entry syntax:
:mod:`otshield.detect.baseline.edit`). Every save is a new version made on top of the version
the editor read (409 otherwise) and audited.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params
from otshield.console.auth.deps import Principal, audit_in, require
from otshield.console.permissions import Permission
from otshield.detect.baseline.edit import allow, forget, parse_entry
from otshield.detect.baseline.model import FORMAT, VERSION, Baseline
from otshield.errors import ConfigError
from otshield.store import Store, documents

__all__ = ["BaselineOut", "BaselineVersionOut", "decode_baseline", "router"]

router = APIRouter(prefix="/baselines", tags=["baselines"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

_NAME = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$",
             description="Baseline name (letters, digits, . _ -).")
_encoder = msgspec.json.Encoder(order="deterministic")
MAX_ENTRIES = 500


class BaselineVersionOut(BaseModel):
    name: str
    version: int
    sha256: str
    comment: str
    created_by: str
    created_at: float


class ZoneSummary(BaseModel):
    zone: str
    assets: int
    pairs: int
    functions: int
    write_areas: int


class BaselineOut(BaselineVersionOut):
    site: str
    zones: list[ZoneSummary]
    baseline: dict[str, Any]
    """The baseline file's content (format ``otshield.baseline``)."""


class BaselinePut(BaseModel):
    baseline: dict[str, Any] = Field(description="The JSON written by `otshield baseline "
                                                 "learn`.")
    base_version: int = Field(0, ge=0, le=2**31 - 1,
                              description="The version this replaces (0: a new baseline).")
    comment: str = Field("", max_length=2000)


class BaselineEdit(BaseModel):
    allow: list[str] = Field(default_factory=list, max_length=MAX_ENTRIES,
                             description="Entries to allow (`talker:CLIENT,SERVER,PROTOCOL`).")
    forget: list[str] = Field(default_factory=list, max_length=MAX_ENTRIES,
                              description="Entries to forget (`asset:ADDRESS`...).")
    zone: str | None = Field(None, max_length=256)
    base_version: int = Field(ge=1, le=2**31 - 1)
    comment: str = Field("", max_length=2000)


class BaselineEditOut(BaseModel):
    baseline: BaselineVersionOut
    done: list[str]
    """What each entry did, in order."""


def decode_baseline(content: str | bytes, where: str) -> Baseline:
    """A baseline from its JSON; ConfigError (-> 422) when it is not one."""
    try:
        header = msgspec.json.decode(content)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ConfigError(f"{where}: not a baseline (expected format {FORMAT!r})")
    if header.get("version") != VERSION:
        raise ConfigError(f"{where}: baseline version {header.get('version')!r} is not "
                          f"supported (this otshield reads version {VERSION})")
    try:
        return msgspec.json.decode(content, type=Baseline)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: not a valid baseline: {exc}") from None


def _version(v: documents.Version) -> BaselineVersionOut:
    return BaselineVersionOut(name=v.name, version=v.version, sha256=v.sha256,
                              comment=v.comment, created_by=v.created_by,
                              created_at=v.created_at)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _invalid(exc: ConfigError) -> ApiError:
    return ApiError(422, str(exc), code="baseline_invalid")


@router.get("", response_model=Page[BaselineVersionOut],
            summary="Baselines: every version, by name then newest first")
def list_baselines(request: Request,
                   _p: Annotated[Principal, require(Permission.BASELINES_READ)],
                   params: Annotated[PageParams, page_params],
                   name: Annotated[str | None, Query(max_length=128)] = None,
                   latest: Annotated[bool, Query(description="Only each name's newest.")
                                     ] = False) -> Page[BaselineVersionOut]:
    with _store(request).session(write=False) as db:
        rows = documents.list_baselines(db, name)
    if latest:  # rows come newest first within a name: keep each name's first
        newest: dict[str, documents.Version] = {}
        for r in rows:
            newest.setdefault(r.name, r)
        rows = list(newest.values())
    items = [_version(r) for r in rows]
    return Page.of(items[params.offset:params.offset + params.limit], len(items), params)


@router.get("/{name}", response_model=BaselineOut, responses={404: {"model": ErrorResponse}},
            summary="One baseline (newest version, or ?version=)")
def get_baseline(request: Request, name: Annotated[str, _NAME],
                 _p: Annotated[Principal, require(Permission.BASELINES_READ)],
                 version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                 ) -> BaselineOut:
    with _store(request).session(write=False) as db:
        stored = documents.load_baseline(db, name, version)
    try:
        baseline = decode_baseline(stored.content or "", f"baseline {name}@{stored.version}")
    except ConfigError as exc:
        raise ApiError(500, "the stored baseline is damaged", details=str(exc)) from None
    zones = [ZoneSummary(zone=zone, assets=len(model.assets), pairs=len(model.pairs),
                         functions=sum(len(p.functions) for p in model.pairs.values()),
                         write_areas=sum(len(p.writes) for p in model.pairs.values()))
             for zone, model in sorted(baseline.zones.items())]
    return BaselineOut(**_version(stored).model_dump(), site=baseline.site, zones=zones,
                       baseline=msgspec.to_builtins(baseline))


def _save(request: Request, principal: Principal, name: str, baseline: Baseline,
          expected: int, comment: str, extra: dict[str, Any]) -> BaselineVersionOut:
    content = msgspec.json.format(_encoder.encode(baseline), indent=1).decode()
    with _store(request).session() as db:
        version, change = documents.save_baseline(db, name, content, by=principal.username,
                                                  comment=comment, expected=expected)
        audit_in(db, principal, change.action, change.target,
                 {**change.detail, **extra})
    return _version(version)


@router.put("/{name}", response_model=BaselineVersionOut,
            responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
            summary="Store a baseline file as the next version of NAME (audited)")
def put_baseline(request: Request, name: Annotated[str, _NAME], body: BaselinePut,
                 principal: Annotated[Principal, require(Permission.BASELINES_WRITE)]
                 ) -> BaselineVersionOut:
    try:
        baseline = decode_baseline(msgspec.json.encode(body.baseline), "the baseline")
    except ConfigError as exc:
        raise _invalid(exc) from None
    return _save(request, principal, name, baseline, body.base_version, body.comment, {})


@router.post("/{name}/edit", response_model=BaselineEditOut,
             responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        422: {"model": ErrorResponse}},
             summary="Allow or forget entries (a new version; audited)")
def edit_baseline(request: Request, name: Annotated[str, _NAME], body: BaselineEdit,
                  principal: Annotated[Principal, require(Permission.BASELINES_WRITE)]
                  ) -> BaselineEditOut:
    if not body.allow and not body.forget:
        raise ApiError(422, "give at least one entry to allow or forget")
    with _store(request).session(write=False) as db:
        stored = documents.load_baseline(db, name, body.base_version)
    baseline = decode_baseline(stored.content or "", f"baseline {name}@{stored.version}")
    done: list[str] = []
    try:
        for text in body.allow:
            done.append(allow(baseline, parse_entry(text), body.zone))
        for text in body.forget:
            done.append(forget(baseline, parse_entry(text), body.zone))
    except ConfigError as exc:
        raise ApiError(422, str(exc), code="baseline_entry_invalid") from None
    saved = _save(request, principal, name, baseline, body.base_version, body.comment,
                  {"allow": body.allow, "forget": body.forget, "zone": body.zone})
    return BaselineEditOut(baseline=saved, done=done)

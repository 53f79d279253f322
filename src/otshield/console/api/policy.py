"""``/api/v1/policy``: the site file (zones and conduits, IEC 62443-3-2) the console checks
traffic against, its lint result, its versions and the violations (the policy detector's
alerts).

The policy is versioned in the store (:class:`~otshield.store.models.PolicyRow`). Until a
version is saved, the file named by ``--site`` is shown as version 0. A new version is
accepted only when :func:`otshield.policy.lint_text` finds no error (warnings are returned with
it), only on top of the version the editor started from (``base_version``; else 409, so two
engineers never overwrite each other silently), and is audited. Capture analysis uses the
newest version (:func:`current_site_file`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from otshield.console.api.alerts import AlertQuery, alert_query, alert_rows, attack_table
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params, page_response
from otshield.console.api.schemas import AlertSummaryOut
from otshield.console.auth.deps import Principal, audit_in, require
from otshield.console.permissions import Permission
from otshield.console.settings import ConsoleSettings
from otshield.policy import Finding, lint_text, parse_policy
from otshield.store import Store, documents
from otshield.store.models import AssetRow
from otshield.yamlsource import read_text

__all__ = ["MAX_POLICY_BYTES", "PolicyDocument", "current_policy", "current_site_file",
           "policy_document", "router"]

MAX_POLICY_BYTES = 1 << 20
"""A site file larger than 1 MiB is refused (a large plant's is a few tens of KiB)."""

router = APIRouter(prefix="/policy", tags=["policy"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})


class LintFinding(BaseModel):
    severity: str
    """``error`` or ``warning``."""
    line: int
    message: str


class ZoneOut(BaseModel):
    name: str
    level: int | None
    security_level_target: int | None
    subnets: list[str]
    vlans: list[int]
    description: str
    assets: int
    """Assets of the inventory in this zone."""


class ConduitOut(BaseModel):
    name: str
    from_zone: str
    to_zone: str
    protocols: list[str]
    functions: list[str]
    ports: list[int]
    description: str
    line: int


class PolicyDocument(BaseModel):
    version: int
    """0: the ``--site`` file, not yet saved in the store; -1: no policy at all."""
    filename: str
    text: str
    sha256: str
    comment: str
    created_by: str
    created_at: float | None
    site: str
    """The site's name from the file."""
    zones: list[ZoneOut]
    conduits: list[ConduitOut]
    defaults: dict[str, str]
    lint: list[LintFinding]
    usable: bool
    """No lint errors: the policy is checked against the traffic."""


class PolicyVersion(BaseModel):
    version: int
    filename: str
    sha256: str
    comment: str
    created_by: str
    created_at: float


class PolicyUpdate(BaseModel):
    text: str = Field(max_length=MAX_POLICY_BYTES, description="The whole site file (YAML).")
    base_version: int = Field(ge=-1, le=2**31 - 1,
                              description="The version this edit started from (409 when a "
                                          "newer one was saved meanwhile).")
    filename: str = Field("site.yaml", min_length=1, max_length=200,
                          pattern=r"^[A-Za-z0-9._-]+$")
    comment: str = Field("", max_length=2000)


class LintRequest(BaseModel):
    text: str = Field(max_length=MAX_POLICY_BYTES)


class LintResult(BaseModel):
    ok: bool
    findings: list[LintFinding]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_policy(store: Store, settings: ConsoleSettings
                   ) -> tuple[int, str, str, documents.Version | None]:
    """(version, filename, text, stored version) of the policy in force; version -1 and empty
    text when there is none."""
    with store.session(write=False) as db:
        row = documents.load_policy_version(db)
    if row is not None:
        return row.version, row.name, row.content or "", row
    if settings.site_file is not None:
        text = read_text(settings.site_file, "site file")
        return 0, settings.site_file.name, text, None
    return -1, "", "", None


def current_site_file(store: Store, settings: ConsoleSettings) -> Path | None:
    """A path holding the policy in force, for the analysis (which reads a file): the
    ``--site`` file itself, or the stored version written once into the data directory."""
    version, _name, text, _row = current_policy(store, settings)
    if version < 0:
        return None
    if version == 0:
        return settings.site_file
    target = settings.data_dir / "policies" / f"site-v{version}.yaml"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".site-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    return target


def _findings(findings: list[Finding]) -> list[LintFinding]:
    return [LintFinding(severity=f.severity, line=f.line, message=f.message) for f in findings]


def _zone_counts(store: Store) -> dict[str, int]:
    with store.session(write=False) as db:
        return {zone: n for zone, n in db.execute(
            select(AssetRow.zone, func.count()).group_by(AssetRow.zone))}


def policy_document(store: Store, settings: ConsoleSettings) -> PolicyDocument:
    """The policy in force with its zones (and their asset counts), conduits and lint."""
    version, filename, text, row = current_policy(store, settings)
    findings = lint_text(text, filename or "site.yaml") if version >= 0 else []
    zones: list[ZoneOut] = []
    conduits: list[ConduitOut] = []
    defaults: dict[str, str] = {}
    site = ""
    usable = version >= 0 and not any(f.severity == "error" for f in findings)
    if usable:
        policy = parse_policy(text, filename)
        counts = _zone_counts(store)
        site = policy.site[0].site
        zones = [ZoneOut(name=z.name, level=z.level,
                         security_level_target=z.security_level_target,
                         subnets=list(z.subnets), vlans=list(z.vlans),
                         description=z.description, assets=counts.get(z.name, 0))
                 for z in policy.zones]
        conduits = [ConduitOut(name=c.name, from_zone=c.from_zone, to_zone=c.to_zone,
                               protocols=sorted(c.protocols), functions=sorted(c.functions),
                               ports=sorted(c.ports), description=c.description, line=c.line)
                    for c in policy.conduits]
        defaults = {"intra_zone": policy.intra_zone, "unknown_zone": policy.unknown_zone}
    return PolicyDocument(
        version=version, filename=filename, text=text, sha256=_sha(text) if text else "",
        comment=row.comment if row else "", created_by=row.created_by if row else "",
        created_at=row.created_at if row else None, site=site, zones=zones,
        conduits=conduits, defaults=defaults, lint=_findings(findings), usable=usable)


def _state(request: Request) -> tuple[Store, ConsoleSettings]:
    return request.app.state.store, request.app.state.settings


@router.get("", response_model=PolicyDocument,
            summary="The policy in force: zones, conduits, lint result")
def get_policy(request: Request,
               _p: Annotated[Principal, require(Permission.POLICY_READ)]) -> PolicyDocument:
    return policy_document(*_state(request))


@router.get("/zones", response_model=list[ZoneOut], summary="Zones of the policy")
def get_zones(request: Request,
              _p: Annotated[Principal, require(Permission.POLICY_READ)]) -> list[ZoneOut]:
    return policy_document(*_state(request)).zones


@router.get("/conduits", response_model=list[ConduitOut],
            summary="Conduits (allowed zone-to-zone communication) of the policy")
def get_conduits(request: Request,
                 _p: Annotated[Principal, require(Permission.POLICY_READ)]
                 ) -> list[ConduitOut]:
    return policy_document(*_state(request)).conduits


@router.get("/lint", response_model=LintResult, summary="Lint result of the policy in force")
def get_lint(request: Request,
             _p: Annotated[Principal, require(Permission.POLICY_READ)]) -> LintResult:
    doc = policy_document(*_state(request))
    return LintResult(ok=doc.usable, findings=doc.lint)


@router.post("/lint", response_model=LintResult,
             summary="Lint a site file without saving it")
def post_lint(body: LintRequest,
              _p: Annotated[Principal, require(Permission.POLICY_READ)]) -> LintResult:
    findings = _findings(lint_text(body.text, "site.yaml"))
    return LintResult(ok=not any(f.severity == "error" for f in findings), findings=findings)


@router.get("/versions", response_model=list[PolicyVersion],
            summary="Saved versions of the policy, newest first")
def get_versions(request: Request,
                 _p: Annotated[Principal, require(Permission.POLICY_READ)]
                 ) -> list[PolicyVersion]:
    store, _settings = _state(request)
    with store.session(write=False) as db:
        rows = documents.list_policy_versions(db)
    return [PolicyVersion(version=r.version, filename=r.name, sha256=r.sha256,
                          comment=r.comment, created_by=r.created_by, created_at=r.created_at)
            for r in rows]


@router.put("", response_model=PolicyDocument,
            summary="Save a new version of the site file (linted first, audited)",
            responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
def put_policy(request: Request, body: PolicyUpdate,
               principal: Annotated[Principal, require(Permission.POLICY_WRITE)]
               ) -> PolicyDocument:
    store, settings = _state(request)
    findings = lint_text(body.text, body.filename)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise ApiError(422, f"the site file has {len(errors)} error(s); nothing was saved",
                       code="policy_invalid",
                       details=[f.model_dump() for f in _findings(findings)])
    current = current_policy(store, settings)[0]
    if body.base_version != current:
        raise ApiError(409, f"the policy is at version {current}, this edit started from "
                            f"{body.base_version}: reload it and edit again")
    with store.session() as db:
        _version, change = documents.save_policy(
            db, body.text, by=principal.username, filename=body.filename,
            comment=body.comment, expected=max(current, 0))
        detail = dict(change.detail)
        detail["warnings"] = sum(1 for f in findings if f.severity == "warning")
        audit_in(db, principal, change.action, change.target, detail)
    return policy_document(store, settings)


@router.get("/violations", response_model=Page[AlertSummaryOut],
            summary="Policy violations: the zone policy's alerts (same filters as /alerts)")
def get_violations(request: Request,
                   _p: Annotated[Principal, require(Permission.POLICY_READ)],
                   params: Annotated[PageParams, page_params],
                   query: Annotated[AlertQuery, Depends(alert_query)],
                   ) -> Response:
    query.category = ["policy"]
    rows, total = alert_rows(request.app.state.store, query, params, attack_table(request))
    return page_response(rows, total, params)

"""``/api/v1/rules``: the detection rule pack (built-in rules plus the site's rule directory)
with ATT&CK for ICS techniques, each rule's examples, and a checker for a rule file before it
is installed.

The pack is loaded once per app (the same loader ``otshield rules list`` uses) and shared;
the checker runs the loader and every example of the uploaded file in the request, bounded by
:data:`MAX_RULE_FILE` bytes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from otshield.console.api.cached import cacheable, cached_json
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params, page_response
from otshield.console.auth.deps import Principal, require
from otshield.console.permissions import Permission
from otshield.detect.alert import severity_at_least
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.detect.rules import Rule, RuleSet, load_rules, parse_rules

__all__ = ["MAX_RULE_FILE", "RuleDetail", "RulePack", "RuleSummary", "router", "technique_refs"]

MAX_RULE_FILE = 1 << 20
"""Largest rule file the checker takes (1 MiB: the whole built-in pack is under 400 KiB)."""

router = APIRouter(prefix="/rules", tags=["rules"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

Severity = Literal["info", "low", "medium", "high", "critical"]


class TechniqueRef(BaseModel):
    id: str
    name: str = ""
    tactics: list[str] = Field(default_factory=list)
    url: str = ""


class RuleSummary(BaseModel):
    id: str
    title: str
    severity: str
    confidence: str
    kind: str
    """``match``, ``threshold`` or ``sequence``."""
    techniques: list[TechniqueRef]
    tactics: list[str]
    datasets: list[str]
    tags: list[str]
    enabled: bool
    builtin: bool
    file: str
    line: int


class RuleDetail(RuleSummary):
    description: str
    response: str
    key: list[str]
    definition: dict[str, Any]
    """The rule as written (YAML mapping as JSON), examples included."""
    examples: dict[str, list[dict[str, Any]]]
    """``match`` / ``no_match`` example events as written."""


class RuleCheck(BaseModel):
    ok: bool
    rules: list[RuleSummary]
    errors: list[str]
    """Loading problems, each ``file:line: ...``."""
    example_failures: list[str]
    """Examples that do not behave as the rule file says."""


def _plain(value: Any) -> Any:
    """YAML-with-line-numbers containers as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def technique_refs(ids: tuple[str, ...] | list[str], table: AttackTable) -> list[TechniqueRef]:
    out = []
    for tid in ids:
        tech = table.get(tid)
        out.append(TechniqueRef(id=tid, name=tech.name, tactics=list(tech.tactics),
                                url=tech.url) if tech else TechniqueRef(id=tid))
    return out


def _shown(origin: str) -> str:
    from otshield.detect.rules.loader import BUILTIN_DIR

    try:
        return str(Path(origin).resolve().relative_to(BUILTIN_DIR.parent))
    except ValueError:
        return Path(origin).name


def _summary(rule: Rule, table: AttackTable) -> RuleSummary:
    return RuleSummary(
        id=rule.id, title=rule.title, severity=rule.severity, confidence=rule.confidence,
        kind=rule.kind, techniques=technique_refs(rule.techniques, table),
        tactics=list(rule.tactics), datasets=list(rule.datasets), tags=list(rule.tags),
        enabled=rule.enabled, builtin=rule.builtin, file=_shown(rule.origin), line=rule.line)


def _detail(rule: Rule, table: AttackTable) -> RuleDetail:
    raw = _plain(rule.raw)
    examples = raw.get("examples") if isinstance(raw, dict) else None
    shown: dict[str, list[dict[str, Any]]] = {"match": [], "no_match": []}
    if isinstance(examples, dict):
        for kind in shown:
            shown[kind] = [e for e in examples.get(kind) or [] if isinstance(e, dict)]
    return RuleDetail(**_summary(rule, table).model_dump(), description=rule.description,
                      response=rule.response, key=list(rule.key),
                      definition=raw if isinstance(raw, dict) else {}, examples=shown)


class RulePack:
    """The loaded pack, built at first use (loading 200+ rules takes a moment)."""

    def __init__(self, rules_dir: Path | None) -> None:
        self.rules_dir = rules_dir
        self._lock = threading.Lock()
        self._ruleset: RuleSet | None = None
        self._table: AttackTable | None = None
        self.summaries: dict[str, dict[str, Any]] = {}
        """Rule id -> its list entry as JSON values (made once: the pack does not change
        while the app runs)."""

    def get(self) -> tuple[RuleSet, AttackTable]:
        with self._lock:
            if self._ruleset is None or self._table is None:
                self._table = load_attack_table()
                paths = [self.rules_dir] if self.rules_dir is not None else []
                self._ruleset = load_rules(paths, attack=self._table, strict=False)
                self.summaries = {r.id: _summary(r, self._table).model_dump()
                                  for r in self._ruleset.rules}
            return self._ruleset, self._table


def _pack(request: Request) -> RulePack:
    pack = getattr(request.app.state, "rule_pack", None)
    if not isinstance(pack, RulePack):
        pack = RulePack(request.app.state.settings.rules_dir)
        request.app.state.rule_pack = pack
    return pack


def rule_pack(request: Request) -> tuple[RuleSet, AttackTable]:
    return _pack(request).get()


@router.get("", response_model=Page[RuleSummary], summary="List the rules")
@cacheable
def list_rules(
    request: Request,
    _p: Annotated[Principal, require(Permission.RULES_READ)],
    params: Annotated[PageParams, page_params],
    q: Annotated[str | None, Query(max_length=200,
                                   description="Substring of id, title or description.")
                 ] = None,
    severity: Annotated[Severity | None, Query(description="At least this severity.")] = None,
    technique: Annotated[str | None, Query(max_length=16, description="ATT&CK id (T0855).")
                         ] = None,
    tactic: Annotated[str | None, Query(max_length=64)] = None,
    dataset: Annotated[str | None, Query(max_length=64, description="Event type read.")
                       ] = None,
    builtin: bool | None = None,
    enabled: bool | None = None,
) -> Response:
    def answer() -> Response:
        pack = _pack(request)
        ruleset, _table = pack.get()
        needle = q.lower() if q else None
        picked = []
        for rule in ruleset.rules:
            if needle and needle not in rule.id.lower() and needle not in rule.title.lower() \
                    and needle not in rule.description.lower():
                continue
            if severity and not severity_at_least(rule.severity, severity):
                continue
            if technique and technique.upper() not in rule.techniques:
                continue
            if tactic and tactic not in rule.tactics:
                continue
            if dataset and dataset not in rule.datasets:
                continue
            if builtin is not None and rule.builtin != builtin:
                continue
            if enabled is not None and rule.enabled != enabled:
                continue
            picked.append(rule)
        picked.sort(key=lambda r: r.id)
        items = [pack.summaries[r.id] for r in picked[params.offset:params.offset + params.limit]]
        return page_response(items, len(picked), params)

    return cached_json(request, answer)


@router.get("/{rule_id}", response_model=RuleDetail, summary="One rule with its examples",
            responses={404: {"model": ErrorResponse}})
def get_rule(request: Request, rule_id: str,
             _p: Annotated[Principal, require(Permission.RULES_READ)]) -> RuleDetail:
    ruleset, table = rule_pack(request)
    for rule in ruleset.rules:
        if rule.id == rule_id:
            return _detail(rule, table)
    raise ApiError(404, f"no rule {rule_id!r}")


@router.post("/check", response_model=RuleCheck,
             summary="Check a rule file: load it and run its examples (nothing is installed)",
             responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
async def check_rules(request: Request,
                      _p: Annotated[Principal, require(Permission.RULES_READ)],
                      file: Annotated[UploadFile, File(description="A YAML rule file.")],
                      ) -> RuleCheck:
    from otshield.detect.rules.examples import run_examples

    data = await file.read(MAX_RULE_FILE + 1)
    if len(data) > MAX_RULE_FILE:
        raise ApiError(413, f"a rule file is at most {MAX_RULE_FILE} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "the rule file is not UTF-8 text") from None
    _ruleset, table = rule_pack(request)
    origin = Path(file.filename or "rules.yaml").name or "rules.yaml"

    def check() -> tuple[RuleSet, list[str]]:
        checked = parse_rules(text, origin, attack=table, strict=False)
        return checked, [str(f) for f in run_examples(checked)]

    # Loading and running examples is CPU work: off the event loop.
    checked, failures = await run_in_threadpool(check)
    return RuleCheck(ok=not checked.errors and not failures,
                     rules=[_summary(r, table) for r in checked.rules],
                     errors=list(checked.errors), example_failures=failures)


"""The incident-response API's bodies (incidents, cases, playbooks, runs, notifications) and
the functions that build them from the stored records; the web pages use the same builders, so
a page and the API never disagree about, say, which step waits for an OT approval."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from otshield.console.api.schemas import from_struct
from otshield.respond import store as repo
from otshield.respond.cacao.model import Playbook, Step, parse_playbook
from otshield.respond.cases import Case
from otshield.respond.runner import Runner

__all__ = [
    "CaseEventOut",
    "CaseOut",
    "EvidenceOut",
    "IncidentAssetOut",
    "IncidentSummaryOut",
    "NotificationOut",
    "NotificationsOut",
    "PlaybookDetailOut",
    "PlaybookOut",
    "PlaybookStepOut",
    "ProposalOut",
    "RunOut",
    "RunStepOut",
    "RunSummaryOut",
    "TimelineOut",
    "case_out",
    "playbook_detail",
    "playbook_out",
    "run_out",
]


class IncidentSummaryOut(BaseModel):
    id: int
    key: str
    title: str
    status: str
    severity: str
    score: float
    first_seen: float
    last_seen: float
    techniques: list[str]
    tactics: list[str]
    alerts: int
    assets: int
    ot_assets: int
    attackers: list[str]
    case_id: str | None
    runs: int
    created_at: float
    updated_at: float
    summary: str


class IncidentAssetOut(BaseModel):
    ip: str
    name: str
    zone: str
    level: int | None
    roles: list[str]
    safety: bool
    attacker: bool
    ot: bool
    """Purdue level 0-2 or safety-tagged: actions on it pass the OT safety gate."""


class ProposalOut(BaseModel):
    playbook_id: str
    name: str
    reasons: list[str]
    auto_start: bool
    score: int


class RunSummaryOut(BaseModel):
    id: str
    playbook_id: str
    playbook_name: str
    status: str
    waiting_approval: bool
    incident_id: int
    case_id: str | None
    started_by: str
    started_at: float
    updated_at: float
    active_steps: list[str]


class TimelineOut(BaseModel):
    ts: float
    actor: str
    kind: str
    step: str
    step_name: str
    detail: str


class ChecklistItemOut(BaseModel):
    index: int
    text: str
    ticked: bool


class RunStepOut(BaseModel):
    id: str
    name: str
    type: str
    description: str
    status: str
    role: str
    """The playbook role key; ``role_name`` says who that is."""
    role_name: str
    checklist: list[ChecklistItemOut]
    needs_approval: bool
    approved_by: str
    gate_reason: str
    """Why an OT engineer must approve (the playbook's reason, or the assets it acts on)."""
    acknowledged_by: str
    completed_by: str
    outcome: str
    decision_question: str
    decision_options: list[str]
    decision: str
    automated: str
    """The automated action's kind (``email``, ``nftables``...), empty for a manual step."""
    by_hand: bool
    output: str
    recovery: bool
    isolation: bool
    escalations: int
    commands: list[str]


class RunOut(BaseModel):
    summary: RunSummaryOut
    incident_key: str
    incident_title: str
    variables: dict[str, str]
    steps: list[RunStepOut]
    """Every step of the playbook that a person or an action works (not start/end/conditions),
    active ones first."""
    timeline: list[TimelineOut]


class CaseEventOut(BaseModel):
    ts: float
    actor: str
    kind: str
    text: str


class EvidenceOut(BaseModel):
    kind: str
    ref: str
    description: str
    sha256: str
    added_by: str
    added_at: float


class CaseOut(BaseModel):
    id: str
    incident_id: int
    incident_key: str
    title: str
    severity: str
    status: str
    owner: str
    it_assignee: str
    ot_assignee: str
    created_at: float
    updated_at: float
    closed_reason: str
    timeline: list[CaseEventOut]
    evidence: list[EvidenceOut]
    runs: list[str]


class CaseSummaryOut(BaseModel):
    id: str
    incident_id: int
    title: str
    severity: str
    status: str
    owner: str
    it_assignee: str
    ot_assignee: str
    created_at: float
    updated_at: float
    closed_at: float | None


class PlaybookOut(BaseModel):
    id: str
    name: str
    description: str
    source: str
    """``built-in``, ``site`` or ``imported``."""
    techniques: list[str]
    tactics: list[str]
    rules: list[str]
    min_severity: str
    auto_start: bool
    steps: int
    gated_steps: int
    recovery_steps: int


class PlaybookStepOut(BaseModel):
    id: str
    name: str
    type: str
    description: str
    role: str
    checklist: list[str]
    ot_gate: str | None
    assets: str
    automated: str
    decision_question: str
    decision_options: list[str]
    recovery: bool
    isolation: bool
    escalate_after: float | None
    next: list[str]


class PlaybookDetailOut(BaseModel):
    playbook: PlaybookOut
    roles: dict[str, str]
    steps: list[PlaybookStepOut]


class NotificationOut(BaseModel):
    id: str
    channel: str
    subject: str
    status: str
    attempts: int
    last_error: str
    incident_id: str
    run_id: str
    created_at: float
    sent_at: float | None
    next_attempt_at: float


class NotificationsOut(BaseModel):
    counts: dict[str, int]
    """pending, sent, dead."""
    channels: list[str]
    """The channels configured in notify.yaml (nothing: notifications stay queued)."""
    items: list[NotificationOut]
    total: int
    page: int
    per_page: int


# -- builders ---------------------------------------------------------------------------------

_WORK_TYPES = ("action", "playbook-action", "parallel")


def playbook_out(pb: Playbook, source: str) -> PlaybookOut:
    return PlaybookOut(
        id=pb.id, name=pb.name, description=pb.description, source=source,
        techniques=list(pb.triggers.techniques), tactics=list(pb.triggers.tactics),
        rules=list(pb.triggers.rules), min_severity=pb.triggers.min_severity,
        auto_start=pb.auto_start,
        steps=sum(1 for s in pb.steps.values() if s.type in ("action", "playbook-action")),
        gated_steps=sum(1 for s in pb.steps.values() if s.ot_gate is not None),
        recovery_steps=len(pb.recovery_steps))


def _next(step: Step) -> list[str]:
    out = [x for x in (step.on_completion, step.on_success, step.on_failure, step.on_true,
                       step.on_false) if x]
    return out + list(step.next_steps) + list(step.cases.values())


def _ordered(pb: Playbook) -> list[Step]:
    """The steps in workflow order (breadth first from the start)."""
    seen: list[str] = []
    queue = [pb.start]
    while queue:
        sid = queue.pop(0)
        if sid in seen or sid not in pb.steps:
            continue
        seen.append(sid)
        queue.extend(_next(pb.steps[sid]))
    seen += [s for s in pb.steps if s not in seen]
    return [pb.steps[s] for s in seen]


def playbook_detail(pb: Playbook, source: str) -> PlaybookDetailOut:
    steps = [PlaybookStepOut(
        id=s.id, name=s.name, type=s.type, description=s.description, role=s.role,
        checklist=list(s.checklist), ot_gate=s.ot_gate, assets=s.assets,
        automated=s.action.kind if s.action else "",
        decision_question=s.decision.question if s.decision else "",
        decision_options=list(s.decision.options) if s.decision else [],
        recovery=s.recovery, isolation=s.isolation, escalate_after=s.escalate_after,
        next=_next(s)) for s in _ordered(pb)]
    return PlaybookDetailOut(playbook=playbook_out(pb, source), roles=dict(pb.roles),
                             steps=steps)


def run_out(stored: repo.StoredRun) -> RunOut:
    pb = parse_playbook(stored.playbook, f"playbook of run {stored.run.id}")
    run = stored.run
    runner = Runner(pb, run)
    order = {s.id: i for i, s in enumerate(_ordered(pb))}
    steps: list[RunStepOut] = []
    for sid, st in run.steps.items():
        step = pb.steps[sid]
        if step.type not in _WORK_TYPES:
            continue
        gated = runner.gated_assets(step)
        reason = step.ot_gate or ""
        if st.needs_approval and not reason:
            reason = "acts on level 0-2 or safety-critical assets"
        if st.needs_approval and gated:
            reason += f" (acts on {', '.join(a.name or a.ip for a in gated)})"
        steps.append(RunStepOut(
            id=sid, name=step.name, type=step.type, description=step.description,
            status=st.status, role=step.role, role_name=pb.roles.get(step.role, step.role),
            checklist=[ChecklistItemOut(index=i, text=c, ticked=i in st.ticked)
                       for i, c in enumerate(step.checklist)],
            needs_approval=st.needs_approval, approved_by=st.approved_by,
            gate_reason=reason if st.needs_approval else "",
            acknowledged_by=st.acknowledged_by, completed_by=st.completed_by,
            outcome=st.outcome,
            decision_question=step.decision.question if step.decision else "",
            decision_options=list(step.decision.options) if step.decision else [],
            decision=st.decision, automated=step.action.kind if step.action else "",
            by_hand=st.by_hand, output=st.output, recovery=step.recovery,
            isolation=step.isolation, escalations=st.escalations,
            commands=list(step.commands)))
    rank = {"active": 0, "pending": 2, "done": 1, "failed": 1, "skipped": 3}
    steps.sort(key=lambda s: (rank.get(s.status, 4), order.get(s.id, 1 << 20)))
    return RunOut(summary=from_struct(RunSummaryOut, stored.summary),
                  incident_key=run.incident.id, incident_title=run.incident.title,
                  variables=dict(run.variables), steps=steps,
                  timeline=[from_struct(TimelineOut, t) for t in run.timeline])


def case_out(case: Case, incident_id: int) -> CaseOut:
    return CaseOut(
        id=case.id, incident_id=incident_id, incident_key=case.incident.id,
        title=case.incident.title, severity=case.incident.severity, status=case.status,
        owner=case.owner, it_assignee=case.it_assignee, ot_assignee=case.ot_assignee,
        created_at=case.created_at, updated_at=case.updated_at,
        closed_reason=case.closed_reason,
        timeline=[from_struct(CaseEventOut, e) for e in case.timeline],
        evidence=[from_struct(EvidenceOut, e) for e in case.evidence], runs=list(case.runs))


def asset_out(value: Any) -> IncidentAssetOut:
    return IncidentAssetOut(ip=value.ip, name=value.name, zone=value.zone, level=value.level,
                            roles=list(value.roles), safety=value.safety,
                            attacker=value.attacker, ot=value.is_ot)

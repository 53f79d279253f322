"""Running a playbook: a recorded state machine over the CACAO workflow, with OT safety gates.

People move a run forward (acknowledge a step, tick its checklist, complete it, answer a
decision, approve a gated step); the runner moves through start, switch/if/while conditions,
parallel branches and automated actions by itself, and ``tick(now)`` escalates steps nobody
acknowledged in time. Every transition lands in the run's timeline with who, when and why, so
the after-action report can replay it.

OT safety gates (availability first):

* a step that carries an ``ot_gate``, or that acts on assets of the incident at Purdue level
  0-2 or tagged safety-critical, waits for an approval by a user holding the
  ``playbooks:approve_ot`` permission (the OT engineer) before it can be completed or, if
  automated, executed;
* an isolation step touching a safety-tagged asset is never automated: the runner refuses to
  execute it and records why, whatever the playbook says.

The run is a plain record (:class:`Run`), saved by the caller after every change (JSON file for
the CLI, the store for the console); the runner holds no other state.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import msgspec

from otshield.console.permissions import Permission, Role, allowed
from otshield.errors import OtshieldError
from otshield.respond.cacao.model import Playbook, Step
from otshield.respond.incident import Incident, IncidentAsset

__all__ = [
    "SYSTEM",
    "ActionExecutor",
    "Actor",
    "Run",
    "RunError",
    "Runner",
    "StepState",
    "TimelineEntry",
    "describe_assets",
    "evaluate_condition",
    "run_from_json",
    "run_to_json",
]


class RunError(OtshieldError):
    """A request the run cannot take (wrong step, missing approval, unticked checklist)."""


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts: a console user (name and console role) or otshield itself."""

    name: str
    role: Role = Role.ANALYST
    system: bool = False

    @property
    def label(self) -> str:
        return self.name if self.system else f"{self.name} ({self.role.value})"


SYSTEM = Actor(name="otshield", role=Role.ADMIN, system=True)
"""otshield itself: conditions, automated actions, escalations."""


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    ts: float
    actor: str
    kind: str
    """started, activated, acknowledged, ticked, completed, failed, decided, approved,
    approval_requested, executed, refused, escalated, finished, aborted, note."""
    step: str = ""
    step_name: str = ""
    detail: str = ""


class StepState(msgspec.Struct, kw_only=True):
    status: str = "pending"
    """pending, active, done, failed, skipped."""
    activated_at: float | None = None
    acknowledged_by: str = ""
    acknowledged_at: float | None = None
    approved_by: str = ""
    approved_at: float | None = None
    needs_approval: bool = False
    ticked: list[int] = []
    completed_by: str = ""
    completed_at: float | None = None
    outcome: str = ""
    decision: str = ""
    escalations: int = 0
    last_escalated_at: float | None = None
    output: str = ""
    """What an automated action produced (a delivery id, the nftables rules for review)."""
    branch: list[str] = []
    """The parallel steps this step runs under (innermost last)."""
    by_hand: bool = False
    """An automated step that a person must carry out instead (refused or no executor)."""


class Run(msgspec.Struct, kw_only=True):
    id: str
    playbook_id: str
    playbook_name: str
    incident: Incident
    status: str = "running"
    """running, completed, aborted."""
    started_at: float = 0.0
    finished_at: float | None = None
    started_by: str = ""
    steps: dict[str, StepState] = {}
    variables: dict[str, str] = {}
    open_branches: dict[str, int] = {}
    """Parallel step id -> branches still running."""
    timeline: list[TimelineEntry] = []

    def active(self) -> list[str]:
        return [sid for sid, st in self.steps.items() if st.status == "active"]


class ActionExecutor(Protocol):
    """Carries out automated actions (notifications, firewall proposals)."""

    def execute(self, run: Run, step: Step) -> str:
        """Do the step's action; return what to record (raise OtshieldError on failure)."""
        ...


_CONDITION = re.compile(
    r"^\s*\[?\s*(__[A-Za-z_][A-Za-z0-9_-]*__)(?::value)?\s*(=|==|!=)\s*'([^']*)'\s*\]?\s*$")


def evaluate_condition(condition: str, variables: dict[str, str]) -> bool:
    """Conditions the runner understands: ``__var__:value = 'text'`` (or ``!=``), joined with
    AND / OR (AND binds tighter), optional STIX-style brackets. Anything else is an error, not
    a silent false."""
    ors = re.split(r"\s+OR\s+", condition.strip())
    for part in ors:
        ands = re.split(r"\s+AND\s+", part)
        ok = True
        for clause in ands:
            m = _CONDITION.match(clause)
            if m is None:
                raise RunError(f"cannot evaluate condition {condition!r}: write "
                               "__variable__:value = 'text', joined with AND/OR")
            var, op, lit = m.groups()
            equal = variables.get(var, "") == lit
            ok = ok and (equal if op != "!=" else not equal)
        if ok:
            return True
    return False


class Runner:
    """Moves one run of one playbook; every public method records what it did."""

    def __init__(self, playbook: Playbook, run: Run, executor: ActionExecutor | None = None,
                 clock: Callable[[], float] = time.time,
                 pager: Callable[[Run, Step, str], str] | None = None) -> None:
        if run.playbook_id != playbook.id:
            raise RunError(f"run {run.id} belongs to playbook {run.playbook_id}, "
                           f"not {playbook.id}")
        self.pb = playbook
        self.run = run
        self.executor = executor
        self.clock = clock
        self.pager = pager
        """Called with (run, step, role) when a step escalates; returns what it did."""

    # -- starting ---------------------------------------------------------------------------
    @classmethod
    def start(cls, playbook: Playbook, incident: Incident, actor: Actor,
              executor: ActionExecutor | None = None,
              clock: Callable[[], float] = time.time,
              pager: Callable[[Run, Step, str], str] | None = None) -> Runner:
        now = clock()
        run = Run(id=f"run-{uuid.uuid4()}", playbook_id=playbook.id,
                  playbook_name=playbook.name, incident=incident, started_at=now,
                  started_by=actor.label,
                  steps={sid: StepState() for sid in playbook.steps},
                  variables={k: str((v or {}).get("value") or "") for k, v in
                             (playbook.doc.get("playbook_variables") or {}).items()})
        runner = cls(playbook, run, executor, clock, pager)
        runner._log(actor, "started", detail=f"for incident {incident.id}: {incident.title}")
        runner._enter(playbook.start, [], actor)
        return runner

    # -- what people do ---------------------------------------------------------------------
    def acknowledge(self, step_id: str, actor: Actor) -> None:
        step, st = self._active(step_id, actor)
        if st.acknowledged_at is not None:
            raise RunError(f"{step.name!r} was already acknowledged by {st.acknowledged_by}")
        st.acknowledged_by, st.acknowledged_at = actor.label, self.clock()
        self._log(actor, "acknowledged", step)

    def tick(self, step_id: str, item: int, actor: Actor) -> None:
        step, st = self._active(step_id, actor)
        if not 0 <= item < len(step.checklist):
            raise RunError(f"{step.name!r} has {len(step.checklist)} checklist items; "
                           f"no item {item + 1}")
        if item not in st.ticked:
            st.ticked.append(item)
            self._auto_ack(st, actor)
            self._log(actor, "ticked", step, detail=step.checklist[item])

    def approve(self, step_id: str, actor: Actor, reason: str = "") -> None:
        step, st = self._active(step_id, actor)
        if not st.needs_approval:
            raise RunError(f"{step.name!r} needs no OT approval")
        if st.approved_at is not None:
            raise RunError(f"{step.name!r} was already approved by {st.approved_by}")
        if not allowed(actor.role, Permission.PLAYBOOKS_APPROVE_OT):
            raise RunError(f"{actor.label} may not approve OT actions: an OT engineer must "
                           f"approve {step.name!r}")
        st.approved_by, st.approved_at = actor.label, self.clock()
        self._log(actor, "approved", step, detail=reason or (step.ot_gate or ""))
        if step.action is not None:
            self._execute(step, st, actor)

    def complete(self, step_id: str, actor: Actor, outcome: str = "success",
                 note: str = "") -> None:
        step, st = self._active(step_id, actor)
        if step.decision is not None:
            raise RunError(f"{step.name!r} is a decision: answer it with one of "
                           f"{', '.join(step.decision.options)}")
        if step.action is not None and not st.by_hand:
            raise RunError(f"{step.name!r} is automated; it completes when it runs")
        self._check_gate(step, st)
        missing = [c for i, c in enumerate(step.checklist) if i not in st.ticked]
        if outcome == "success" and missing:
            raise RunError(f"{step.name!r}: checklist not done: " + "; ".join(missing))
        if outcome not in ("success", "failure"):
            raise RunError("outcome is success or failure")
        self._auto_ack(st, actor)
        self._finish(step, st, actor, outcome, note)

    def decide(self, step_id: str, option: str, actor: Actor, note: str = "") -> None:
        step, st = self._active(step_id, actor)
        if step.decision is None:
            raise RunError(f"{step.name!r} is not a decision")
        if option not in step.decision.options:
            raise RunError(f"{step.name!r}: {option!r} is not an option "
                           f"({', '.join(step.decision.options)})")
        self._check_gate(step, st)
        self.run.variables[step.decision.variable] = option
        st.decision = option
        self._auto_ack(st, actor)
        self._log(actor, "decided", step, detail=f"{step.decision.question} -> {option}"
                  + (f" ({note})" if note else ""))
        self._finish(step, st, actor, "success", "")

    def note(self, actor: Actor, text: str, step_id: str = "") -> None:
        self._may_work(actor)
        if not text.strip():
            raise RunError("an empty note says nothing")
        step = self.pb.steps.get(step_id) if step_id else None
        self._log(actor, "note", step, detail=text.strip())

    def abort(self, actor: Actor, reason: str) -> None:
        if self.run.status != "running":
            raise RunError(f"the run is {self.run.status}")
        self._may_work(actor)
        if not reason.strip():
            raise RunError("aborting a run needs a reason")
        reason = reason.strip()
        self.run.status = "aborted"
        self.run.finished_at = self.clock()
        self._log(actor, "aborted", detail=reason)

    # -- time ------------------------------------------------------------------------------
    def escalate_due(self, now: float | None = None) -> list[str]:
        """Escalate every active step not acknowledged within its ``escalate_after`` (again
        after each further period). Returns the escalated step ids."""
        now = self.clock() if now is None else now
        out = []
        for sid in self.run.active():
            step, st = self.pb.steps[sid], self.run.steps[sid]
            if step.escalate_after is None or st.acknowledged_at is not None:
                continue
            since = st.last_escalated_at or st.activated_at or now
            if now - since >= step.escalate_after:
                st.escalations += 1
                st.last_escalated_at = now
                out.append(sid)
                who = self.pb.roles.get(step.escalate_to, step.escalate_to)
                paged = self.pager(self.run, step, step.escalate_to) if self.pager else ""
                self._log(SYSTEM, "escalated", step,
                          detail=f"not acknowledged after {now - (st.activated_at or now):.0f} s; "
                                 f"paging {who} (escalation {st.escalations})"
                                 + (f"; {paged}" if paged else ""))
        return out

    # -- internals --------------------------------------------------------------------------
    def _log(self, actor: Actor, kind: str, step: Step | None = None, detail: str = "") -> None:
        self.run.timeline.append(TimelineEntry(
            ts=self.clock(), actor=actor.label, kind=kind, step=step.id if step else "",
            step_name=step.name if step else "", detail=detail))

    def _active(self, step_id: str, actor: Actor) -> tuple[Step, StepState]:
        if self.run.status != "running":
            raise RunError(f"the run is {self.run.status}")
        self._may_work(actor)
        step = self._resolve(step_id)
        st = self.run.steps[step.id]
        if st.status != "active":
            raise RunError(f"{step.name!r} is {st.status}, not active")
        return step, st

    def resolve(self, ref: str) -> Step:
        """The step ``ref`` names (id, name, or number among the active steps); RunError if
        none."""
        return self._resolve(ref)

    def _may_work(self, actor: Actor) -> None:
        if not allowed(actor.role, Permission.PLAYBOOKS_RUN):
            raise RunError(f"{actor.label} may not work playbooks")

    def _resolve(self, ref: str) -> Step:
        """A step by id, by name, or by the 1-based number of the active steps' list."""
        if ref in self.pb.steps:
            return self.pb.steps[ref]
        for step in self.pb.steps.values():
            if step.name.lower() == ref.lower():
                return step
        active = self.run.active()
        if ref.isdigit() and 1 <= int(ref) <= len(active):
            return self.pb.steps[active[int(ref) - 1]]
        raise RunError(f"no step {ref!r} in {self.pb.name!r}")

    def _auto_ack(self, st: StepState, actor: Actor) -> None:
        if st.acknowledged_at is None:
            st.acknowledged_by, st.acknowledged_at = actor.label, self.clock()

    def _check_gate(self, step: Step, st: StepState) -> None:
        if st.needs_approval and st.approved_at is None:
            raise RunError(f"{step.name!r} acts on OT assets and waits for an OT engineer's "
                           f"approval ({step.ot_gate or 'level 0-2 or safety-critical'})")

    def gated_assets(self, step: Step) -> list[IncidentAsset]:
        """The incident's OT assets (level 0-2 or safety) the step acts on."""
        inc = self.run.incident
        chosen = {"incident.ot_assets": inc.ot_assets, "incident.assets": inc.assets,
                  "incident.attackers": inc.attackers,
                  "site.safety": [a for a in inc.assets if a.safety]}.get(step.assets, [])
        return [a for a in chosen if a.is_ot]

    def _enter(self, sid: str, branch: list[str], actor: Actor) -> None:
        """Move into step ``sid`` (running the steps that need no person)."""
        step = self.pb.steps[sid]
        st = self.run.steps[sid]
        st.branch = list(branch)
        st.activated_at = self.clock()
        if step.type == "start":
            st.status = "done"
            self._go(step.on_completion, branch, actor)
        elif step.type == "end":
            st.status = "done"
            self._end_branch(branch, actor)
        elif step.type == "parallel":
            st.status = "active"
            self.run.open_branches[sid] = len(step.next_steps)
            self._log(actor, "activated", step,
                      detail=f"{len(step.next_steps)} branches in parallel")
            for nxt in step.next_steps:
                self._enter(nxt, [*branch, sid], actor)
        elif step.type in ("if-condition", "while-condition"):
            st.status = "done"
            truth = evaluate_condition(step.condition, self.run.variables)
            self._log(SYSTEM, "decided", step, detail=f"{step.condition} is {truth}")
            if truth:
                self._go(step.on_true, branch, actor)
            else:
                self._go(step.on_false or step.on_completion, branch, actor)
        elif step.type == "switch-condition":
            st.status = "done"
            value = self.run.variables.get(step.switch, "")
            target = step.cases.get(value) or step.cases.get("default")
            self._log(SYSTEM, "decided", step, detail=f"{step.switch} = {value!r}")
            if target is None:
                raise RunError(f"{step.name!r}: no case for {value!r}")
            self._go(target, branch, actor)
        elif step.type == "playbook-action":
            st.status = "active"
            self._log(actor, "activated", step, detail="runs another playbook: start it from "
                                                       "the console and complete this step")
        else:
            st.status = "active"
            gated = self.gated_assets(step)
            st.needs_approval = step.ot_gate is not None or bool(gated)
            who = self.pb.roles.get(step.role, step.role) if step.role else "otshield"
            detail = f"assigned to {who}"
            if st.needs_approval:
                names = ", ".join(a.name or a.ip for a in gated)
                detail += "; waits for OT approval" + (f" (acts on {names})" if names else "")
            self._log(actor, "activated", step, detail=detail)
            if st.needs_approval:
                self._log(SYSTEM, "approval_requested", step,
                          detail=step.ot_gate or "acts on level 0-2 or safety-critical assets")
            if step.action is not None and not st.needs_approval:
                self._execute(step, st, SYSTEM)

    def _execute(self, step: Step, st: StepState, actor: Actor) -> None:
        assert step.action is not None
        if step.isolation and any(a.safety for a in self.gated_assets(step)):
            st.by_hand = True
            self._log(SYSTEM, "refused", step, detail="isolating a safety system is never "
                                                      "automatic; a person decides and does it")
            return
        if self.executor is None:
            st.by_hand = True
            self._log(SYSTEM, "refused", step, detail="no action executor configured; "
                                                      "carry it out by hand and complete it")
            return
        try:
            st.output = self.executor.execute(self.run, step)
        except OtshieldError as exc:
            st.output = str(exc)
            self._log(SYSTEM, "failed", step, detail=str(exc))
            st.status, st.outcome = "failed", "failure"
            st.completed_at = self.clock()
            target = step.on_failure or step.on_completion
            self._go(target, st.branch, SYSTEM)
            return
        self._log(SYSTEM, "executed", step, detail=st.output)
        self._finish(step, st, SYSTEM, "success", "")

    def _finish(self, step: Step, st: StepState, actor: Actor, outcome: str, note: str) -> None:
        st.status = "done" if outcome == "success" else "failed"
        st.outcome = outcome
        st.completed_by, st.completed_at = actor.label, self.clock()
        if step.decision is None:
            self._log(actor, "completed" if outcome == "success" else "failed", step,
                      detail=note)
        nxt: str | None
        if outcome == "failure" and step.on_failure:
            nxt = step.on_failure
        elif outcome == "success" and step.on_success:
            nxt = step.on_success
        else:
            nxt = step.on_completion
        self._go(nxt, st.branch, actor)

    def _go(self, nxt: str | None, branch: list[str], actor: Actor) -> None:
        if nxt is None:
            self._end_branch(branch, actor)
        else:
            self._enter(nxt, branch, actor)

    def _end_branch(self, branch: list[str], actor: Actor) -> None:
        if not branch:
            if self.run.status == "running" and not self.run.active():
                self.run.status = "completed"
                self.run.finished_at = self.clock()
                self._log(actor, "finished", detail="all steps done")
            return
        parent = branch[-1]
        self.run.open_branches[parent] -= 1
        if self.run.open_branches[parent] == 0:
            del self.run.open_branches[parent]
            pstep, pst = self.pb.steps[parent], self.run.steps[parent]
            pst.status, pst.completed_at = "done", self.clock()
            self._log(SYSTEM, "completed", pstep, detail="every branch finished")
            self._go(pstep.on_completion, branch[:-1], actor)


def run_to_json(run: Run) -> bytes:
    return msgspec.json.format(msgspec.json.encode(run), indent=2)


def run_from_json(data: bytes, origin: str) -> Run:
    try:
        return msgspec.json.decode(data, type=Run)
    except msgspec.DecodeError as exc:
        raise OtshieldError(f"{origin}: not a playbook run record ({exc})") from None


def describe_assets(assets: list[IncidentAsset]) -> str:
    return ", ".join(a.name or a.ip for a in assets) or "none"

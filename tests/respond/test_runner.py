"""The playbook runner: decisions, parallel branches, OT safety gates, escalation, the record."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from otshield.console.permissions import Role
from otshield.errors import OtshieldError
from otshield.respond.author import compile_playbook
from otshield.respond.cacao.model import Playbook, Step, parse_playbook
from otshield.respond.incident import Incident, IncidentAsset
from otshield.respond.library import builtin_playbooks, find
from otshield.respond.runner import (
    Actor,
    Run,
    RunError,
    Runner,
    evaluate_condition,
    run_from_json,
    run_to_json,
)

ANA = Actor(name="ana", role=Role.ANALYST)
OTTO = Actor(name="otto", role=Role.OT_ENGINEER)
ADA = Actor(name="ada", role=Role.ADMIN)
VIC = Actor(name="vic", role=Role.VIEWER)

SOURCE: dict[str, Any] = {
    "id": "test-flow", "name": "Test flow", "created": "2026-11-27T00:00:00.000Z",
    "roles": {"soc": "SOC", "ot": "OT engineer", "boss": "Plant manager"},
    "triggers": {"techniques": ["T0881"], "min_severity": "high"},
    "steps": [
        {"key": "triage", "name": "Triage", "role": "soc", "checklist": ["a", "b"],
         "escalate_after": 600, "escalate_to": "boss", "next": "split"},
        {"key": "split", "kind": "parallel", "name": "Both", "branches": ["left", "right"],
         "next": "ask"},
        {"key": "left", "name": "Left", "role": "soc", "next": "end"},
        {"key": "right", "kind": "webhook", "name": "Tell the team", "message": "{incident_id}",
         "next": "end"},
        {"key": "ask", "kind": "decision", "name": "Safe?", "role": "ot",
         "question": "Is it safe?", "options": {"yes": "fix", "no": "isolate"}},
        {"key": "isolate", "name": "Isolate the PLC", "role": "ot", "isolation": True,
         "assets": "incident.ot_assets", "ot_gate": "stops the line", "next": "fix"},
        {"key": "fix", "name": "Restore", "role": "ot", "recovery": True,
         "assets": "incident.ot_assets", "next": "end"},
    ],
}

INCIDENT = Incident(
    id="INC-1", title="PLC stopped", severity="critical", techniques=["T0881"],
    assets=[IncidentAsset(ip="10.0.0.66", name="laptop", attacker=True),
            IncidentAsset(ip="10.10.30.21", name="S7-FILLER", level=1),
            IncidentAsset(ip="10.10.30.90", name="SIS-1", level=1, safety=True)])


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.done: list[str] = []
        self.fail = fail

    def execute(self, run: Run, step: Step) -> str:
        if self.fail:
            raise OtshieldError("receiver down")
        self.done.append(step.name)
        return f"sent for {run.incident.id}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def pb() -> Playbook:
    return parse_playbook(compile_playbook(copy.deepcopy(SOURCE), "test"), "test")


def names(runner: Runner) -> list[str]:
    return sorted(runner.pb.steps[s].name for s in runner.run.active())


def test_full_run_with_parallel_decision_and_gate(pb: Playbook) -> None:
    clock, ex = Clock(), Recorder()
    r = Runner.start(pb, INCIDENT, ANA, ex, clock)
    assert names(r) == ["Triage"]
    with pytest.raises(RunError, match="checklist not done: a; b"):
        r.complete("Triage", ANA)
    r.tick("Triage", 0, ANA)
    r.tick("Triage", 1, ANA)
    r.complete("Triage", ANA)
    # The webhook branch ran by itself; the other waits for a person; the join waits for both.
    assert ex.done == ["Tell the team"]
    assert names(r) == ["Both", "Left"]
    r.complete("Left", ANA)
    assert names(r) == ["Safe?"]
    with pytest.raises(RunError, match="'maybe' is not an option"):
        r.decide("Safe?", "maybe", OTTO)
    r.decide("Safe?", "no", OTTO)
    assert r.run.variables["__ask__"] == "no"
    assert names(r) == ["Isolate the PLC"]
    st = r.run.steps[pb.steps[r.run.active()[0]].id]
    assert st.needs_approval
    with pytest.raises(RunError, match="waits for an OT engineer's approval"):
        r.complete("Isolate the PLC", OTTO)
    for who in (ANA, ADA):  # the administrator is not the OT engineer
        with pytest.raises(RunError, match="may not approve OT actions"):
            r.approve("Isolate the PLC", who)
    r.approve("Isolate the PLC", OTTO, "line stopped first")
    r.complete("Isolate the PLC", OTTO)
    # Restore acts on OT assets (level 1 and a safety system): gated even without ot_gate.
    assert names(r) == ["Restore"]
    with pytest.raises(RunError, match="approval"):
        r.complete("Restore", OTTO)
    r.approve("Restore", OTTO)
    r.complete("Restore", OTTO)
    assert r.run.status == "completed"
    kinds = [(e.kind, e.step_name) for e in r.run.timeline]
    assert ("decided", "Safe?") in kinds and ("approved", "Isolate the PLC") in kinds
    assert ("executed", "Tell the team") in kinds and kinds[-1] == ("finished", "")
    approved = next(e for e in r.run.timeline if e.kind == "approved")
    assert approved.actor == "otto (ot_engineer)" and approved.detail == "line stopped first"


def test_viewers_cannot_work_a_run(pb: Playbook) -> None:
    r = Runner.start(pb, INCIDENT, ANA, Recorder(), Clock())
    with pytest.raises(RunError, match="may not work playbooks"):
        r.acknowledge("Triage", VIC)


def test_escalation_when_nobody_acknowledges(pb: Playbook) -> None:
    clock = Clock()
    paged: list[tuple[str, str]] = []

    def pager(run: Run, step: Step, role: str) -> str:
        paged.append((step.name, role))
        return "paged"

    r = Runner.start(pb, INCIDENT, ANA, Recorder(), clock, pager)
    clock.now += 599
    assert r.escalate_due() == []
    clock.now += 1
    assert r.escalate_due() == [r.run.active()[0]]
    clock.now += 300
    assert r.escalate_due() == []  # the next page is one period after the last
    clock.now += 300
    assert len(r.escalate_due()) == 1
    esc = [e for e in r.run.timeline if e.kind == "escalated"]
    assert len(esc) == 2 and "paging Plant manager" in esc[0].detail
    assert esc[0].detail.endswith("; paged") and paged == [("Triage", "boss")] * 2
    r.acknowledge("Triage", ANA)
    clock.now += 5000
    assert r.escalate_due() == []


def test_a_failed_action_is_recorded_and_the_flow_goes_on(pb: Playbook) -> None:
    r = Runner.start(pb, INCIDENT, ANA, Recorder(fail=True), Clock())
    r.tick("Triage", 0, ANA)
    r.tick("Triage", 1, ANA)
    r.complete("Triage", ANA)
    failed = [e for e in r.run.timeline if e.kind == "failed"]
    assert failed and failed[0].detail == "receiver down"
    assert names(r) == ["Both", "Left"]


def test_isolating_a_safety_system_is_never_automatic() -> None:
    src = copy.deepcopy(SOURCE)
    src["steps"] = [
        {"key": "cut", "kind": "nftables", "name": "Cut the SIS off", "isolation": True,
         "assets": "site.safety", "ot_gate": "safety system", "next": "fix"},
        {"key": "fix", "name": "Restore", "role": "ot", "recovery": True, "next": "end"}]
    pb = parse_playbook(compile_playbook(src, "t"), "t")
    ex = Recorder()
    r = Runner.start(pb, INCIDENT, ANA, ex, Clock())
    r.approve("Cut the SIS off", OTTO)  # even approved, it is not executed
    assert ex.done == []
    refused = [e for e in r.run.timeline if e.kind == "refused"]
    assert refused and "never automatic" in refused[0].detail
    assert r.run.steps[r.run.active()[0]].by_hand
    r.complete("Cut the SIS off", OTTO)  # a person did it (or decided not to)
    assert names(r) == ["Restore"]


def test_run_record_round_trip_and_resume(pb: Playbook) -> None:
    r = Runner.start(pb, INCIDENT, ANA, Recorder(), Clock())
    r.tick("Triage", 0, ANA)
    data = run_to_json(r.run)
    again = Runner(pb, run_from_json(data, "run.json"), Recorder(), Clock())
    assert again.run.steps[again.run.active()[0]].ticked == [0]
    with pytest.raises(OtshieldError, match="not a playbook run record"):
        run_from_json(b"{", "x.json")
    other = find(builtin_playbooks(), "dos-control-network")
    with pytest.raises(RunError, match="belongs to playbook"):
        Runner(other, again.run)


@pytest.mark.parametrize(("cond", "expected"), [
    ("__a__:value = 'x'", True), ("[__a__:value != 'x']", False),
    ("__a__ = 'y' OR __b__ = 'z'", True), ("__a__ = 'x' AND __b__ = 'q'", False),
    ("__missing__ = ''", True),
])
def test_conditions(cond: str, expected: bool) -> None:
    assert evaluate_condition(cond, {"__a__": "x", "__b__": "z"}) is expected


def test_unknown_condition_syntax_is_an_error() -> None:
    with pytest.raises(RunError, match="cannot evaluate"):
        evaluate_condition("[ipv4-addr:value = '1.2.3.4']", {})


def test_every_builtin_playbook_can_be_driven_to_completion() -> None:
    for pb in builtin_playbooks():
        r = Runner.start(pb, INCIDENT, ANA, Recorder(), Clock())
        for _ in range(100):
            if r.run.status != "running":
                break
            sid = next(s for s in r.run.active() if pb.steps[s].type != "parallel")
            step, st = pb.steps[sid], r.run.steps[sid]
            if st.needs_approval and st.approved_at is None:
                r.approve(sid, OTTO)
                continue
            if step.decision:
                r.decide(sid, step.decision.options[-1], OTTO)
                continue
            for i in range(len(step.checklist)):
                r.tick(sid, i, OTTO)
            r.complete(sid, OTTO)
        assert r.run.status == "completed", pb.name
        assert any(pb.steps[e.step].recovery for e in r.run.timeline
                   if e.kind == "completed" and e.step), pb.name


def test_notes_and_aborts_need_words_and_a_working_role(pb: Playbook) -> None:
    r = Runner.start(pb, INCIDENT, ANA, Recorder(), Clock())
    with pytest.raises(RunError, match="an empty note says nothing"):
        r.note(ANA, "   ")
    with pytest.raises(RunError, match="may not work playbooks"):
        r.note(VIC, "looks bad")
    with pytest.raises(RunError, match="needs a reason"):
        r.abort(ANA, " ")
    with pytest.raises(RunError, match="may not work playbooks"):
        r.abort(VIC, "false alarm")
    r.note(ANA, "  PLC checked locally  ")
    r.abort(ANA, " false alarm ")
    assert r.run.status == "aborted"
    assert [(e.kind, e.detail) for e in r.run.timeline[-2:]] == [
        ("note", "PLC checked locally"), ("aborted", "false alarm")]

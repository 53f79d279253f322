"""Cases: the work on an incident, from the first alert to the after-action report.

A case wraps one incident with who owns it (an owner, and the IT and OT assignees, because
both sides act), its status, a timeline of what was seen and done, notes, evidence (linked
alerts, extracted packets with their hashes) and the playbook runs working it. Status moves
forward through the incident-response phases (NIST SP 800-61: detection and analysis,
containment, eradication and recovery, post-incident activity) and may step back when new
findings reopen containment; every change is a timeline entry with who and when.
"""

from __future__ import annotations

import time
import uuid

import msgspec

from otshield.errors import OtshieldError
from otshield.respond.incident import Incident

__all__ = ["STATUSES", "Case", "CaseError", "CaseEvent", "Evidence", "open_case"]

STATUSES = ("new", "investigating", "contained", "recovering", "closed")
_ALLOWED: dict[str, frozenset[str]] = {
    "new": frozenset({"investigating", "closed"}),
    "investigating": frozenset({"contained", "closed"}),
    "contained": frozenset({"investigating", "recovering", "closed"}),
    "recovering": frozenset({"contained", "closed"}),
    "closed": frozenset({"investigating"}),
}
"""Status -> the statuses it may move to (closing needs a reason; reopening is allowed)."""


class CaseError(OtshieldError):
    pass


class CaseEvent(msgspec.Struct, frozen=True, kw_only=True):
    ts: float
    actor: str
    kind: str
    """opened, alert, status, assigned, note, evidence, playbook, closed, reopened."""
    text: str


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """alert, pcap, file."""
    ref: str
    """The alert id, or the file path."""
    description: str = ""
    sha256: str = ""
    added_by: str = ""
    added_at: float = 0.0


class Case(msgspec.Struct, kw_only=True):
    id: str
    incident: Incident
    status: str = "new"
    owner: str = ""
    it_assignee: str = ""
    ot_assignee: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    closed_reason: str = ""
    timeline: list[CaseEvent] = []
    evidence: list[Evidence] = []
    runs: list[str] = []
    """Ids of the playbook runs working this case."""

    def _log(self, actor: str, kind: str, text: str, now: float | None) -> None:
        ts = time.time() if now is None else now
        self.timeline.append(CaseEvent(ts=ts, actor=actor, kind=kind, text=text))
        self.updated_at = ts

    def assign(self, actor: str, *, owner: str | None = None, it: str | None = None,
               ot: str | None = None, now: float | None = None) -> None:
        changes = []
        for label, attr, value in (("owner", "owner", owner), ("IT", "it_assignee", it),
                                   ("OT", "ot_assignee", ot)):
            if value is not None and getattr(self, attr) != value:
                setattr(self, attr, value)
                changes.append(f"{label}: {value or 'nobody'}")
        if not changes:
            raise CaseError("nothing to change")
        self._log(actor, "assigned", "; ".join(changes), now)

    def set_status(self, actor: str, status: str, reason: str = "",
                   now: float | None = None) -> None:
        if status not in STATUSES:
            raise CaseError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
        if status not in _ALLOWED[self.status]:
            raise CaseError(f"a {self.status} case cannot become {status} (it can become "
                            f"{', '.join(sorted(_ALLOWED[self.status]))})")
        if status == "closed" and not reason.strip():
            raise CaseError("closing a case needs a reason")
        previous, self.status = self.status, status
        if status == "closed":
            self.closed_reason = reason
            self._log(actor, "closed", reason, now)
        elif previous == "closed":
            self.closed_reason = ""
            self._log(actor, "reopened", reason or "reopened", now)
        else:
            self._log(actor, "status", f"{previous} -> {status}"
                      + (f": {reason}" if reason else ""), now)

    def note(self, actor: str, text: str, now: float | None = None) -> None:
        if not text.strip():
            raise CaseError("an empty note says nothing")
        self._log(actor, "note", text, now)

    def add_evidence(self, actor: str, item: Evidence, now: float | None = None) -> None:
        if any(e.kind == item.kind and e.ref == item.ref for e in self.evidence):
            raise CaseError(f"{item.kind} {item.ref} is already evidence of this case")
        ts = time.time() if now is None else now
        self.evidence.append(msgspec.structs.replace(item, added_by=actor, added_at=ts))
        self._log(actor, "evidence", f"{item.kind} {item.ref}"
                  + (f" (sha256 {item.sha256[:16]}…)" if item.sha256 else ""), now)

    def link_run(self, actor: str, run_id: str, playbook: str,
                 now: float | None = None) -> None:
        if run_id not in self.runs:
            self.runs.append(run_id)
            self._log(actor, "playbook", f"{playbook} started (run {run_id})", now)


def open_case(incident: Incident, actor: str, now: float | None = None) -> Case:
    """A new case for ``incident``, its alerts linked as evidence."""
    ts = time.time() if now is None else now
    case = Case(id=f"CASE-{uuid.uuid4().hex[:10]}", incident=incident, created_at=ts,
                updated_at=ts)
    case._log(actor, "opened", f"for {incident.id}: {incident.title}", ts)
    for aid in incident.alert_ids:
        case.evidence.append(Evidence(kind="alert", ref=aid, added_by=actor, added_at=ts))
    return case

"""The drill record: everything a drill produced, in one JSON file the reports are built from.

A record holds the scenario and seed, how it ran (``offline`` on a simulated capture or
``live`` on the range), the capture and site file, the ground truth, the alerts (summaries:
the merged alerts to show, and the condensed occurrences scoring needs, see
:func:`otshield.sim.drill.score.condense`), the participants and what they did (alert
acknowledgements, response steps, tabletop results, each with its time), and the score.

Times: packet times for truth and alerts (for a live run packet time is wall-clock time);
``released_at`` is the wall-clock time the drill's alerts were handed to the participants (an
offline drill's analysis finished; a live drill's start), from which an offline drill counts
time to acknowledge.

Records are written atomically (a temporary file beside the target, then ``os.replace``): a
crash never leaves half a record. Loading checks the format and version and turns any damage
into :class:`~otshield.errors.ConfigError` naming the file, the line and the field.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Literal

import msgspec

from otshield.errors import ConfigError
from otshield.sim.drill.score import DEFAULT_SLACK, AlertHit, DrillScore, score
from otshield.sim.drill.tabletop_model import TabletopResult
from otshield.sim.scenario import GroundTruth

__all__ = [
    "ACTION_KINDS",
    "DEFAULT_CHECKLIST",
    "FORMAT",
    "VERSION",
    "Action",
    "DrillRecord",
    "Participant",
    "PlaybookRunRef",
    "ResponseStep",
    "load_record",
    "rescore",
    "save_record",
]

FORMAT = "otshield-drill"
VERSION = 1
"""Bumped when a field changes meaning; a newer file is refused rather than misread."""

ACTION_KINDS = ("ack", "step", "note", "playbook")
"""What a participant's action is: acknowledging an alert, completing a response step (for a
playbook step: completing it or answering its decision), a note, other work on a console
playbook run (``detail`` starts with the run timeline's kind: started, acknowledged, ticked,
approved, failed, note). Tabletop decisions are kept whole in :class:`TabletopResult`."""

Mode = Literal["offline", "live"]


class Participant(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: str
    role: str = ""
    """it, ot, management (the tabletop roles) or any team name."""


class Action(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing a participant did, with its wall-clock time."""

    at: float
    participant: str
    kind: str
    """One of :data:`ACTION_KINDS`."""
    alert_id: str = ""
    step: str = ""
    detail: str = ""
    source: str = ""
    """Where the action came from: ``console`` (imported acknowledgement), ``playbook``
    (imported from a console playbook run), ``cli``, ``tabletop``."""


class ResponseStep(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A step of the response the drill expects the team to work through."""

    id: str
    title: str
    role: str = ""


DEFAULT_CHECKLIST: tuple[ResponseStep, ...] = (
    ResponseStep(id="triage", title="Triage the alerts: what, where, since when", role="it"),
    ResponseStep(id="confirm-process", title="Confirm the process state with operations",
                 role="ot"),
    ResponseStep(id="contain", title="Contain: isolate the attacking host or conduit, "
                 "never a safety system", role="ot"),
    ResponseStep(id="preserve", title="Preserve evidence: capture, logs, PLC programs",
                 role="it"),
    ResponseStep(id="notify", title="Notify management and, if required, the authority",
                 role="management"),
    ResponseStep(id="recover", title="Recover: verify PLC programs against the known-good copy",
                 role="ot"),
    ResponseStep(id="lessons", title="Record lessons learnt", role="management"),
)
"""The response checklist a drill starts with; ``drill score --console`` replaces it with the
action steps of the console playbook run(s) worked on the drill's incident when there are any.
Progress per participant is the share of these steps they completed."""


class PlaybookRunRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A console playbook run imported into the drill (its steps became the checklist)."""

    id: str
    playbook_id: str
    playbook_name: str
    incident_id: int
    status: str
    """running, completed, aborted (when imported)."""
    started_at: float
    started_by: str = ""


class DrillRecord(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A drill, as saved to ``record.json``."""

    format: str = FORMAT
    version: int = VERSION
    scenario: str
    title: str = ""
    seed: int = 1
    mode: Mode = "offline"
    capture: str = ""
    site: str = ""
    created: float = 0.0
    """Wall-clock time the drill ran."""
    released_at: float = 0.0
    packets: int = 0
    truth: list[GroundTruth] = msgspec.field(default_factory=list)
    alerts: list[AlertHit] = msgspec.field(default_factory=list)
    """The merged alerts of the run (what the participants see)."""
    occurrences: list[AlertHit] = msgspec.field(default_factory=list)
    """The condensed alert occurrences the score is computed from."""
    participants: list[Participant] = msgspec.field(default_factory=list)
    actions: list[Action] = msgspec.field(default_factory=list)
    checklist: list[ResponseStep] = msgspec.field(
        default_factory=lambda: list(DEFAULT_CHECKLIST))
    runs: list[PlaybookRunRef] = msgspec.field(default_factory=list)
    """The console playbook runs the checklist came from (empty: the built-in checklist)."""
    tabletop: list[TabletopResult] = msgspec.field(default_factory=list)
    slack: float = DEFAULT_SLACK
    score: DrillScore | None = None
    problems: list[str] = msgspec.field(default_factory=list)
    """What went wrong or is missing (a capture cut short, the live range unavailable...)."""


def rescore(record: DrillRecord, slack: float | None = None) -> DrillScore:
    """Score ``record`` from its truth and alert occurrences (again), on its clock."""
    if slack is not None:
        record.slack = slack
    source = record.occurrences or record.alerts
    record.score = score(record.truth, source, slack=record.slack,
                         clock="wall" if record.mode == "live" else "packet")
    return record.score


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.tmp")


def save_record(record: DrillRecord, path: Path) -> Path:
    """Write ``record`` to ``path`` atomically (pretty JSON, so a diff reads well)."""
    data = msgspec.json.format(msgspec.json.encode(record), indent=1) + b"\n"
    tmp = _temp(path)
    try:
        with tmp.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


_BYTE = re.compile(r"\(byte (\d+)\)")


def _where(data: bytes, message: str) -> str:
    """``line N, column M`` for a msgspec message naming a byte offset (or nothing)."""
    m = _BYTE.search(message)
    if not m:
        return ""
    offset = min(int(m.group(1)), len(data))
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f":{line}:{column}"


def load_record(path: Path) -> DrillRecord:
    """Read a drill record; any problem is a :class:`ConfigError` saying which and where."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such drill record") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a drill record") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the drill record: "
                          f"{exc.strerror or exc}") from None
    try:
        head = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}{_where(data, str(exc))}: not a drill record: "
                          f"{exc}") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a drill record (no \"format\": \"{FORMAT}\")")
    version = head.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise ConfigError(f"{path}: drill record version {version!r} is not one this otshield "
                          f"reads (1 to {VERSION}); a newer otshield wrote it")
    try:
        record = msgspec.json.decode(data, type=DrillRecord)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: damaged drill record: {exc}") from None
    unknown = {a.kind for a in record.actions} - set(ACTION_KINDS)
    if unknown:
        raise ConfigError(f"{path}: damaged drill record: action kind(s) {sorted(unknown)} "
                          f"unknown (known: {', '.join(ACTION_KINDS)})")
    return record

"""Tabletop exercises: read them from YAML, play them interactively or from an answers file.

A tabletop exercise rehearses the people side of a scenario: the same story the simulator
plays on the wire, told as injects to the IT team, the OT team and management, each with a
decision to take in a time limit (NIST SP 800-84, "Guide to Test, Training, and Exercise
Programs", §4 tabletop exercises; CISA Tabletop Exercise Packages follow the same pattern of
timed injects with discussion questions). The bundled exercises live in
``otshield/sim/tabletop/*.yaml``; a site writes its own in the same format::

    id: ransomware-reaches-ot
    title: Ransomware in the office reaches the control network
    scenario: ransomware-it-to-ot
    summary: ...
    injects:
      - id: beacon
        at: 0                 # minutes into the exercise
        role: it              # it | ot | management
        time_limit: 5m        # seconds, or "90s" / "5m"
        title: A beacon from an office PC
        situation: ...
        question: What do you do first?
        choices:
          - {id: a, text: ..., right: true, why: ...}
          - {id: b, text: ..., why: ...}

Every error in an exercise or answers file names the file and line. Answers files let a
facilitator score a session held on paper, and tests play exercises without a terminal::

    participant: alice
    role: ot                   # optional: only this role's injects are scored
    answers:
      beacon: {choice: a, seconds: 140}
      plc-stop: b              # the choice alone: taken in time
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from otshield.errors import ConfigError
from otshield.sim.drill.tabletop_model import (
    ROLES,
    Choice,
    Decision,
    Exercise,
    Inject,
    TabletopResult,
    decide,
    score_decisions,
)
from otshield.yamlsource import LocatedDict, LocatedList, line_of, load_yaml, read_yaml

__all__ = [
    "Answer",
    "bundled_exercises",
    "find_exercise",
    "load_answers",
    "load_exercise",
    "parse_exercise",
    "play_answers",
    "play_interactive",
    "print_result",
]

_EXERCISE_KEYS = {"id", "title", "summary", "scenario", "injects"}
_INJECT_KEYS = {"id", "at", "role", "title", "situation", "question", "choices", "time_limit",
                "stage"}
_CHOICE_KEYS = {"id", "text", "right", "why"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min)?\s*$")
_MAX_LIMIT = 24 * 3600.0


class _Doc:
    """Reading one YAML mapping with errors located at ``origin:line``."""

    def __init__(self, origin: str, node: object, what: str, keys: set[str],
                 required: set[str]) -> None:
        if not isinstance(node, LocatedDict):
            raise ConfigError(f"{origin}:{line_of(node)}: {what} must be a mapping")
        self.origin, self.node, self.what = origin, node, what
        unknown = sorted(str(k) for k in node if k not in keys)
        if unknown:
            raise ConfigError(f"{self.at(unknown[0])}: unknown key {unknown[0]!r} in {what} "
                              f"(known: {', '.join(sorted(keys))})")
        missing = sorted(required - set(node))
        if missing:
            raise ConfigError(f"{origin}:{node.line}: {what} lacks {missing[0]!r}")

    def at(self, key: str | None = None) -> str:
        return f"{self.origin}:{line_of(self.node, key) if key else self.node.line}"

    def text(self, key: str, default: str | None = None) -> str:
        value = self.node.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{self.at(key)}: {key!r} must be non-empty text")
        return value.strip()

    def ident(self, key: str) -> str:
        value = self.text(key)
        if not _ID.match(value):
            raise ConfigError(f"{self.at(key)}: {key!r} {value!r} must be lower-case letters, "
                              "digits, '.', '_' or '-' (at most 64)")
        return value

    def number(self, key: str, low: float, high: float) -> float:
        value = self.node.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or not low <= value <= high:
            raise ConfigError(f"{self.at(key)}: {key!r} must be a number from {low:g} to "
                              f"{high:g}, not {value!r}")
        return float(value)

    def duration(self, key: str) -> float:
        value = self.node.get(key)
        seconds: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str) and (m := _DURATION.match(value)):
            seconds = float(m.group(1)) * (60.0 if m.group(2) in ("m", "min") else 1.0)
        if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= _MAX_LIMIT:
            raise ConfigError(f"{self.at(key)}: {key!r} must be a duration such as 90, '90s' "
                              f"or '5m' (at most 24 hours), not {value!r}")
        return seconds

    def items(self, key: str) -> Iterator[tuple[int, object]]:
        value = self.node.get(key)
        if not isinstance(value, LocatedList) or not value:
            raise ConfigError(f"{self.at(key)}: {key!r} must be a non-empty list")
        yield from enumerate(value)


def _choice(origin: str, node: object) -> Choice:
    d = _Doc(origin, node, "a choice", _CHOICE_KEYS, {"id", "text"})
    right = d.node.get("right", False)
    if not isinstance(right, bool):
        raise ConfigError(f"{d.at('right')}: 'right' must be true or false")
    return Choice(id=d.ident("id"), text=d.text("text"), right=right,
                  why=d.text("why") if "why" in d.node else "")


def _inject(origin: str, node: object) -> Inject:
    d = _Doc(origin, node, "an inject", _INJECT_KEYS,
             {"id", "at", "role", "title", "situation", "question", "choices", "time_limit"})
    role = d.text("role")
    if role not in ROLES:
        raise ConfigError(f"{d.at('role')}: role {role!r} unknown (known: {', '.join(ROLES)})")
    choices = [_choice(origin, item) for _, item in d.items("choices")]
    ids = [c.id for c in choices]
    for i, cid in enumerate(ids):
        if cid in ids[:i]:
            raise ConfigError(f"{origin}:{line_of(d.node['choices'], i)}: choice id {cid!r} "
                              "appears twice")
    if len(choices) < 2:
        raise ConfigError(f"{d.at('choices')}: an inject needs at least two choices")
    if not any(c.right for c in choices):
        raise ConfigError(f"{d.at('choices')}: no choice is marked right: true")
    return Inject(id=d.ident("id"), at=d.number("at", 0, 7 * 24 * 60), role=role,
                  title=d.text("title"), situation=d.text("situation"),
                  question=d.text("question"), choices=tuple(choices),
                  time_limit=d.duration("time_limit"),
                  stage=d.text("stage") if "stage" in d.node else "")


def parse_exercise(text: str, origin: str = "<exercise>") -> Exercise:
    """An exercise from YAML text (errors: :class:`ConfigError` with ``origin:line``)."""
    doc = load_yaml(text, origin)
    return _exercise(origin, doc)


def _exercise(origin: str, doc: object) -> Exercise:
    d = _Doc(origin, doc, "an exercise", _EXERCISE_KEYS,
             {"id", "title", "summary", "scenario", "injects"})
    injects = [_inject(origin, item) for _, item in d.items("injects")]
    seen: set[str] = set()
    for (i, node), inject in zip(d.items("injects"), injects, strict=True):
        if inject.id in seen:
            raise ConfigError(f"{origin}:{line_of(node, 'id')}: inject id {inject.id!r} "
                              "appears twice")
        seen.add(inject.id)
        if i and inject.at < injects[i - 1].at:
            raise ConfigError(f"{origin}:{line_of(node, 'at')}: injects must be in time order "
                              f"(at {inject.at:g} comes after {injects[i - 1].at:g})")
    return Exercise(id=d.ident("id"), title=d.text("title"), summary=d.text("summary"),
                    scenario=d.text("scenario"), injects=tuple(injects), origin=origin)


def load_exercise(path: Path) -> Exercise:
    return _exercise(str(path), read_yaml(path, "tabletop exercise"))


def _bundled_dir() -> Path:
    return Path(str(resources.files("otshield.sim"))) / "tabletop"


def bundled_exercises() -> dict[str, Exercise]:
    """The exercises shipped with otshield, by id."""
    out: dict[str, Exercise] = {}
    for path in sorted(_bundled_dir().glob("*.yaml")):
        exercise = load_exercise(path)
        out[exercise.id] = exercise
    return out


def find_exercise(name: str) -> Exercise:
    """A bundled exercise by id, or an exercise file by path."""
    path = Path(name)
    if name.endswith((".yaml", ".yml")) or path.is_file():
        return load_exercise(path)
    known = bundled_exercises()
    if name not in known:
        raise ConfigError(f"unknown tabletop exercise {name!r}: known: "
                          f"{', '.join(sorted(known)) or 'none'} (or give a .yaml file)")
    return known[name]


# -- playing ------------------------------------------------------------------------------------
class Answer:
    """One answer read from an answers file."""

    __slots__ = ("choice", "seconds")

    def __init__(self, choice: str, seconds: float) -> None:
        self.choice = choice
        self.seconds = seconds


def load_answers(path: Path, exercise: Exercise) -> tuple[str, str, dict[str, Answer]]:
    """(participant, role, answers by inject id) from an answers file, checked against
    ``exercise`` (unknown injects or choices are errors naming the line)."""
    origin = str(path)
    doc = read_yaml(path, "answers file")
    d = _Doc(origin, doc, "an answers file", {"participant", "role", "answers"}, {"answers"})
    participant = d.text("participant") if "participant" in d.node else ""
    role = d.text("role") if "role" in d.node else ""
    if role and role not in ROLES:
        raise ConfigError(f"{d.at('role')}: role {role!r} unknown (known: {', '.join(ROLES)})")
    answers_node = d.node.get("answers")
    if not isinstance(answers_node, LocatedDict):
        raise ConfigError(f"{d.at('answers')}: 'answers' must map inject ids to choices")
    injects = {i.id: i for i in exercise.injects}
    out: dict[str, Answer] = {}
    for key, value in answers_node.items():
        where = f"{origin}:{line_of(answers_node, key)}"
        inject = injects.get(str(key))
        if inject is None:
            raise ConfigError(f"{where}: {exercise.id} has no inject {key!r} (injects: "
                              f"{', '.join(injects)})")
        if isinstance(value, str):
            choice, seconds = value, 0.0
        else:
            a = _Doc(origin, value, f"the answer to {key!r}", {"choice", "seconds"},
                     {"choice"})
            choice = a.text("choice")
            seconds = a.number("seconds", 0, 7 * 24 * 3600) if "seconds" in a.node else 0.0
        if inject.choice(choice) is None:
            raise ConfigError(f"{where}: inject {key!r} has no choice {choice!r} (choices: "
                              f"{', '.join(c.id for c in inject.choices)})")
        out[str(key)] = Answer(choice, seconds)
    return participant, role, out


def _played(exercise: Exercise, role: str) -> list[Inject]:
    return [i for i in exercise.injects if not role or i.role == role]


def play_answers(exercise: Exercise, answers: dict[str, Answer], *, participant: str,
                 role: str = "", started: float | None = None) -> TabletopResult:
    """Score an answers file: injects without an answer count as not answered."""
    begun = time.time() if started is None else started
    injects = _played(exercise, role)
    decisions = [decide(i, answers[i.id].choice, answers[i.id].seconds)
                 if i.id in answers else decide(i, "", 0.0) for i in injects]
    return TabletopResult(exercise=exercise.id, title=exercise.title, participant=participant,
                          role=role, started=begun, decisions=tuple(decisions),
                          roles=score_decisions(injects, decisions))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _inject_panel(inject: Inject) -> Panel:
    """An inject as a panel; exercise text is shown as written (never read as markup)."""
    choices = Table.grid(padding=(0, 1))
    choices.add_column(style="cyan", no_wrap=True)
    choices.add_column()
    for c in inject.choices:
        choices.add_row(f"{c.id})", Text(c.text))
    body = Group(
        Text(f"T+{inject.at:g} min · {inject.role.upper()} · decide within "
             f"{_minutes(inject.time_limit)}", style="dim"),
        Text(""), Text(inject.situation), Text(""), Text(inject.question, style="bold"),
        choices)
    return Panel(body, title=Text(inject.title), expand=False)


def play_interactive(exercise: Exercise, out: Console, *, participant: str, role: str = "",
                     ask: Callable[[str, list[str]], str] | None = None,
                     clock: Callable[[], float] = time.monotonic,
                     wall: Callable[[], float] = time.time) -> TabletopResult:
    """Present each inject, ask for a decision (timed), and explain the right answer. When
    the input ends early, the injects left count as not answered."""
    def prompt(question: str, choices: list[str]) -> str:
        return Prompt.ask(question, choices=choices, console=out)

    asker = ask or prompt
    started = wall()
    injects = _played(exercise, role)
    out.print(Panel(Text(f"{exercise.summary}\n\n{len(injects)} inject(s)"
                         f"{' for ' + role.upper() if role else ''}."),
                    title=Text(exercise.title, style="bold"), expand=False))
    decisions: list[Decision] = []
    for inject in injects:
        out.print(_inject_panel(inject))
        shown = clock()
        try:
            choice = asker("Your decision", [c.id for c in inject.choices])
        except EOFError:
            out.print("\n[yellow]input ended: the injects left count as not answered[/]")
            break
        decision = decide(inject, choice, clock() - shown, at=wall())
        decisions.append(decision)
        verdict = "[green]right[/]" if decision.right else "[red]not the best call[/]"
        late = "" if decision.timely else f" [yellow](late: {decision.seconds:.0f} s)[/]"
        out.print(f"{verdict}{late}")
        for c in inject.choices:
            if c.why:
                out.print(Text(f"  {'✔' if c.right else '✘'} {c.id}) {c.why}",
                               style="green" if c.right else ""))
        out.print()
    return TabletopResult(exercise=exercise.id, title=exercise.title, participant=participant,
                          role=role, started=started, decisions=tuple(decisions),
                          roles=score_decisions(injects, decisions))


def print_result(result: TabletopResult, out: Console) -> None:
    table = Table(title=f"{result.title}: {result.participant or 'participant'}"
                  f"{' (' + result.role + ')' if result.role else ''}")
    for col in ("role", "injects", "answered", "right", "in time", "points"):
        table.add_column(col, justify="left" if col == "role" else "right")
    for r in result.roles:
        table.add_row(r.role.upper(), str(r.injects), str(r.answered), str(r.right),
                      str(r.timely), f"{r.points}/{r.max_points} ({r.percent:.0f}%)")
    out.print(table)


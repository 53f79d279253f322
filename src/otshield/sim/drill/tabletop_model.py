"""Tabletop exercises as data, and how a participant's decisions are scored.

An :class:`Exercise` is a story told in timed injects: at ``T+at`` minutes of the exercise a
role (``it``, ``ot``, ``management``) receives a situation and a question with choices, some of
them right (each choice says why it is or is not), and has ``time_limit`` seconds to decide.
:func:`score_decisions` scores the decisions per role: a right decision within the time limit
earns 2 points, a right one taken too late 1, a wrong or missing one 0 (a late right call
still beats a quick wrong one, but hesitation costs). The loader of the exercise files is
:mod:`otshield.sim.drill.tabletop`.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = [
    "POINTS_LATE",
    "POINTS_RIGHT",
    "ROLES",
    "Choice",
    "Decision",
    "Exercise",
    "Inject",
    "RoleScore",
    "TabletopResult",
    "decide",
    "score_decisions",
]

ROLES: tuple[str, ...] = ("it", "ot", "management")
POINTS_RIGHT = 2
POINTS_LATE = 1


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str
    right: bool = False
    why: str = ""


class Inject(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    at: float
    """Minutes into the exercise when the inject arrives."""
    role: str
    title: str
    situation: str
    question: str
    choices: tuple[Choice, ...]
    time_limit: float
    """Seconds to decide."""
    stage: str = ""
    """The scenario stage this inject mirrors (informative)."""

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    @property
    def right_choices(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.right)


class Exercise(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    summary: str
    scenario: str
    """The scenario of the library this exercise rehearses (part of its drill)."""
    injects: tuple[Inject, ...]
    origin: str = ""
    """The file it was read from."""

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(r for r in ROLES if any(i.role == r for i in self.injects))


class Decision(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    inject: str
    role: str
    choice: str
    """The chosen choice id ("" when the participant did not answer)."""
    right: bool
    seconds: float
    time_limit: float
    timely: bool
    points: int
    at: float = 0.0
    """Wall-clock time of the decision (0 when taken from an answers file without one)."""


class RoleScore(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    injects: int
    answered: int
    right: int
    timely: int
    """Right decisions taken within the time limit."""
    points: int
    max_points: int

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.max_points if self.max_points else 0.0


class TabletopResult(msgspec.Struct, frozen=True, kw_only=True):
    exercise: str
    title: str
    participant: str
    role: str
    """The role played ("" when one person took every role's injects)."""
    started: float
    decisions: tuple[Decision, ...]
    roles: tuple[RoleScore, ...]

    @property
    def points(self) -> int:
        return sum(r.points for r in self.roles)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.roles)


def decide(inject: Inject, choice: str, seconds: float, at: float = 0.0) -> Decision:
    """A participant's answer to ``inject`` (``choice`` "" for no answer), scored."""
    picked = inject.choice(choice) if choice else None
    right = picked is not None and picked.right
    timely = seconds <= inject.time_limit
    points = (POINTS_RIGHT if timely else POINTS_LATE) if right else 0
    return Decision(inject=inject.id, role=inject.role, choice=choice, right=right,
                    seconds=seconds, time_limit=inject.time_limit, timely=timely,
                    points=points, at=at)


def score_decisions(injects: Sequence[Inject], decisions: Sequence[Decision]
                    ) -> tuple[RoleScore, ...]:
    """Per role (in :data:`ROLES` order), over ``injects`` played: missing decisions score 0."""
    by_inject = {d.inject: d for d in decisions}
    out: list[RoleScore] = []
    for role in ROLES:
        mine = [i for i in injects if i.role == role]
        if not mine:
            continue
        made = [by_inject[i.id] for i in mine if i.id in by_inject and by_inject[i.id].choice]
        out.append(RoleScore(
            role=role, injects=len(mine), answered=len(made),
            right=sum(d.right for d in made), timely=sum(d.right and d.timely for d in made),
            points=sum(d.points for d in made), max_points=POINTS_RIGHT * len(mine)))
    return tuple(out)

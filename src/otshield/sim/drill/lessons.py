"""Lessons of a drill: what was missed, what would have caught it, what the team left undone.

The after-action reports (Markdown and HTML) share these sentences. For a missed stage the
lesson names the rules of the pack that were meant for it (the stage's expected rule id or
family prefix) and the other rules that name one of its techniques; when none exists, it is a
gap in the rule pack to fill. A stage caught with the wrong technique points at the rules that
fired. Alerts that fit no stage, alerts nobody acknowledged, response steps nobody completed
and tabletop decisions most participants got wrong are lessons too.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from otshield.detect.alert import severity_at_least
from otshield.sim.drill.participants import participant_scores
from otshield.sim.drill.record import DrillRecord

__all__ = ["Lesson", "RuleInfo", "builtin_rules", "lessons"]


class RuleInfo(msgspec.Struct, frozen=True):
    id: str
    title: str
    techniques: tuple[str, ...]


class Lesson(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """missed, technique, noise, acknowledgement, response, tabletop."""
    subject: str
    text: str
    suggestions: tuple[str, ...] = ()


def builtin_rules() -> list[RuleInfo]:
    """The built-in rule pack, briefly (empty when it cannot be loaded: the lesson says so)."""
    try:
        from otshield.detect.rules import load_rules

        return [RuleInfo(r.id, r.title, tuple(r.techniques)) for r in load_rules()
                if r.enabled]
    except Exception:
        return []


def _candidates(rule: str, techniques: Sequence[str], rules: Sequence[RuleInfo]
                ) -> tuple[list[RuleInfo], list[RuleInfo]]:
    meant = [r for r in rules if rule and (r.id == rule or r.id.startswith(rule.rstrip(".")
                                                                          + "."))]
    wanted = set(techniques)
    naming = [r for r in rules if r not in meant and wanted & set(r.techniques)]
    return meant, naming


def lessons(record: DrillRecord, rules: Sequence[RuleInfo] | None = None) -> list[Lesson]:
    """The lessons of ``record`` (``rules``: the pack to suggest from; default the built-in
    pack, loaded only when a stage was missed or mis-tagged)."""
    out: list[Lesson] = []
    score = record.score
    if score is not None:
        weak = [s for s in score.stages if not s.technique_right]
        if weak and rules is None:
            rules = builtin_rules()
        for s in weak:
            meant, naming = _candidates(s.expected_rule, s.techniques, rules or [])
            # the rules meant for the stage when there are any, else those naming its
            # techniques (a long list of loosely related rules helps nobody)
            suggestions = tuple(f"{r.id}: {r.title}" for r in meant[:5]) if meant else tuple(
                f"{r.id}: {r.title} ({', '.join(r.techniques)})" for r in naming[:5])
            wanted = ", ".join(s.techniques)
            if not s.detected:
                if meant:
                    text = (f"Stage {s.stage!r} ({s.title}) from {s.attacker} to {s.target} "
                            f"was missed. Rules meant for it exist but did not fire on its "
                            f"packets: check that they are enabled and that the site file "
                            f"names the assets, roles and conduits they rely on.")
                elif naming:
                    text = (f"Stage {s.stage!r} ({s.title}) from {s.attacker} to {s.target} "
                            f"was missed. No rule {s.expected_rule!r} is in the pack; these "
                            f"rules name its techniques ({wanted}) and are the place to start.")
                else:
                    text = (f"Stage {s.stage!r} ({s.title}) from {s.attacker} to {s.target} "
                            f"was missed and no rule in the pack names {wanted}: a rule pack "
                            f"gap. Write a rule for it (docs/rule-pack.md) or learn a baseline "
                            f"on normal traffic so the new talker or function stands out.")
                out.append(Lesson(kind="missed", subject=s.stage, text=text,
                                  suggestions=suggestions))
            else:
                out.append(Lesson(
                    kind="technique", subject=s.stage,
                    text=(f"Stage {s.stage!r} was detected by {', '.join(s.rules)}, naming "
                          f"{', '.join(s.techniques_seen) or 'no technique'}, but not "
                          f"{wanted}: analysts would misread the attack. Review the "
                          f"techniques these rules are tagged with, or add one that names "
                          f"{wanted}."), suggestions=suggestions))
        noisy = [h for h in record.alerts if severity_at_least(h.severity, "medium")
                 and not any(h.id in s.alert_ids for s in score.stages)]
        if noisy:
            names = sorted({h.rule_id for h in noisy})
            out.append(Lesson(
                kind="noise", subject="alerts outside the attack",
                text=(f"{len(noisy)} medium-or-higher alert(s) fit no attack stage (rules: "
                      f"{', '.join(names[:8])}{'...' if len(names) > 8 else ''}): false alarms "
                      f"cost the team time in a real incident; tune them or describe the "
                      f"traffic in the site file.")))
    people = participant_scores(record)
    acting = {a.participant for a in record.actions}
    for p in people:
        tabletop_only = p.tabletop_max > 0 and p.name not in acting
        if p.stages and p.acknowledged < p.stages and p.role != "management" \
                and not tabletop_only:
            out.append(Lesson(kind="acknowledgement", subject=p.name,
                              text=(f"{p.name} acknowledged the alerts of {p.acknowledged} of "
                                    f"the {p.stages} detected stage(s).")))
    if people and record.checklist:
        done = {step for p in people for step in p.steps_done}
        left = [s for s in record.checklist if s.id not in done]
        if left:
            out.append(Lesson(kind="response", subject="response checklist",
                              text="Nobody completed: " + "; ".join(
                                  f"{s.title} ({s.role.upper() or 'any'})" for s in left)))
    wrong: dict[str, int] = {}
    plays: dict[str, int] = {}
    for result in record.tabletop:
        for d in result.decisions:
            plays[d.inject] = plays.get(d.inject, 0) + 1
            if not d.right:
                wrong[d.inject] = wrong.get(d.inject, 0) + 1
    for inject, n in sorted(wrong.items()):
        if n * 2 >= plays[inject]:
            out.append(Lesson(kind="tabletop", subject=inject,
                              text=(f"Tabletop inject {inject!r}: {n} of {plays[inject]} "
                                    "decision(s) were not the right call; rehearse it again.")))
    return out

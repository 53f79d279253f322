"""Tabletop exercises: the bundled ones load and match scenarios, bad files give file:line
errors, decisions score per role (right, timely), answers files and the interactive mode."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from otshield.errors import ConfigError
from otshield.sim.drill.tabletop import (
    bundled_exercises,
    find_exercise,
    load_answers,
    parse_exercise,
    play_answers,
    play_interactive,
    print_result,
)
from otshield.sim.drill.tabletop_model import Exercise, decide, score_decisions

EXERCISE = """\
id: small
title: A small exercise
scenario: industroyer_iec104
summary: Two roles, three injects.
injects:
  - id: first
    at: 0
    role: ot
    time_limit: 2m
    title: First
    situation: Something happens.
    question: What now?
    choices:
      - {id: a, text: The right thing, right: true, why: because}
      - {id: b, text: The wrong thing, why: because not}
  - id: second
    at: 5
    role: it
    time_limit: 30
    title: Second
    situation: Something else.
    question: And now?
    choices:
      - {id: x, text: Also right, right: true}
      - {id: y, text: Also right too, right: true}
      - {id: z, text: Wrong}
  - id: third
    at: 10
    role: ot
    time_limit: 90s
    title: Third
    situation: More.
    question: Then?
    choices:
      - {id: a, text: Wrong}
      - {id: b, text: Right, right: true}
"""


def small() -> Exercise:
    return parse_exercise(EXERCISE, "small.yaml")


def test_the_exercise_parses() -> None:
    ex = small()
    assert [i.id for i in ex.injects] == ["first", "second", "third"]
    assert [i.time_limit for i in ex.injects] == [120.0, 30.0, 90.0]
    assert ex.roles == ("it", "ot")
    assert [c.id for c in ex.injects[1].right_choices] == ["x", "y"]


def test_scoring_per_role() -> None:
    ex = small()
    first, second, third = ex.injects
    decisions = [decide(first, "a", 100.0),   # right, in time: 2
                 decide(second, "y", 31.0),   # right, late: 1
                 decide(third, "a", 5.0)]     # wrong: 0
    assert [d.points for d in decisions] == [2, 1, 0]
    it, ot = score_decisions(ex.injects, decisions)
    assert (it.role, it.injects, it.answered, it.right, it.timely, it.points, it.max_points) \
        == ("it", 1, 1, 1, 0, 1, 2)
    assert (ot.role, ot.injects, ot.answered, ot.right, ot.timely, ot.points, ot.max_points) \
        == ("ot", 2, 2, 1, 1, 2, 4)
    assert ot.percent == 50.0
    # a missing decision scores nothing
    (ot_only,) = score_decisions([first, third], [decide(first, "a", 1.0)])
    assert (ot_only.answered, ot_only.points, ot_only.max_points) == (1, 2, 4)
    # exactly at the limit is in time
    assert decide(second, "x", 30.0).timely


def test_answers_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("participant: carol\nanswers:\n  first: {choice: a, seconds: 150}\n"
                    "  third: b\n")
    participant, role, answers = load_answers(path, small())
    assert (participant, role) == ("carol", "")
    result = play_answers(small(), answers, participant=participant, started=1.0)
    assert [(d.inject, d.choice, d.points) for d in result.decisions] == [
        ("first", "a", 1), ("second", "", 0), ("third", "b", 2)]
    assert (result.points, result.max_points) == (3, 6)
    ot_only = play_answers(small(), answers, participant="carol", role="ot", started=1.0)
    assert [r.role for r in ot_only.roles] == ["ot"] and ot_only.points == 3
    out = Console(file=io.StringIO(), width=100)
    print_result(result, out)
    shown = out.file.getvalue()  # type: ignore[attr-defined]
    assert "3/4 (75%)" in shown and "0/2 (0%)" in shown


@pytest.mark.parametrize(("content", "message"), [
    ("answers:\n  fourth: a\n", r"answers.yaml:2: small has no inject 'fourth'"),
    ("answers:\n  first: c\n", r"answers.yaml:2: inject 'first' has no choice 'c'"),
    ("answers:\n  first: {choice: a, seconds: -1}\n", r"answers.yaml:2: 'seconds' must be"),
    ("answers:\n  first: {choise: a}\n", r"answers.yaml:2: unknown key 'choise'"),
    ("role: cfo\nanswers: {}\n", r"answers.yaml:1: role 'cfo' unknown"),
    ("participant: x\n", r"answers.yaml:1: an answers file lacks 'answers'"),
    ("answers: [a]\n", r"answers.yaml:1: 'answers' must map"),
])
def test_bad_answers_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_answers(path, small())


def _broken(old: str, new: str) -> str:
    assert old in EXERCISE
    return EXERCISE.replace(old, new, 1)


@pytest.mark.parametrize(("text", "message"), [
    (_broken("title: A small exercise\n", ""), r"small.yaml:1: an exercise lacks 'title'"),
    (_broken("summary:", "sumary:"), r"small.yaml:4: unknown key 'sumary' in an exercise"),
    (_broken("    role: it\n", "    role: cfo\n"), r"small.yaml:18: role 'cfo' unknown"),
    (_broken("time_limit: 30\n", "time_limit: soon\n"), r"small.yaml:19: 'time_limit' must"),
    (_broken("time_limit: 30\n", "time_limit: 0\n"), r"small.yaml:19: 'time_limit' must"),
    (_broken("      - {id: z, text: Wrong}\n", "      - {id: x, text: Wrong}\n"),
     r"small.yaml:26: choice id 'x' appears twice"),
    (_broken("right: true, why: because}", "why: because}"),
     r"small.yaml:13: no choice is marked right"),
    (_broken("      - {id: b, text: The wrong thing, why: because not}\n", ""),
     r"small.yaml:13: an inject needs at least two choices"),
    (_broken("    at: 10\n", "    at: 1\n"), r"small.yaml:28: injects must be in time order"),
    (_broken("  - id: third\n", "  - id: first\n"), r"small.yaml:27: inject id 'first' appears"),
    (_broken("id: small\n", "id: Small Exercise\n"), r"small.yaml:1: 'id' 'Small Exercise'"),
    (_broken("right: true, why: because}", "right: yes please, why: because}"),
     r"small.yaml:14: 'right' must be true or false"),
    (_broken("question: And now?\n", "question: [a]\n"), r"small.yaml:22: 'question' must"),
    (_broken("    choices:\n      - {id: x", "    choices: []\n    other:\n      - {id: x"),
     r"small.yaml:\d+: "),
    ("- a list\n", r"small.yaml:1: an exercise must be a mapping"),
    ("id: [unclosed\n", r"small.yaml:2:1: invalid YAML"),
])
def test_bad_exercise_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_exercise(text, "small.yaml")


def test_bundled_exercises_match_scenarios() -> None:
    exercises = bundled_exercises()
    assert {"ransomware-reaches-ot", "industroyer-iec104"} <= set(exercises)
    for ex in exercises.values():
        assert ex.roles == ("it", "ot", "management"), ex.id
        for inject in ex.injects:
            assert len(inject.right_choices) >= 1
            assert all(c.why for c in inject.choices), (ex.id, inject.id)
    try:
        from otshield.sim.scenarios import SCENARIOS
    except ImportError:
        pytest.skip("the scenario library is not installed")
    for ex in exercises.values():
        assert ex.scenario in SCENARIOS, ex.id
        stages = {s.name for s in SCENARIOS[ex.scenario].stages}
        for inject in ex.injects:
            assert not inject.stage or inject.stage in stages, (ex.id, inject.stage)


def test_find_exercise(tmp_path: Path) -> None:
    assert find_exercise("industroyer-iec104").id == "industroyer-iec104"
    with pytest.raises(ConfigError, match=r"unknown tabletop exercise 'nope'.*industroyer"):
        find_exercise("nope")
    path = tmp_path / "mine.yaml"
    path.write_text(EXERCISE)
    assert find_exercise(str(path)).id == "small"
    with pytest.raises(ConfigError, match="cannot read"):
        find_exercise(str(tmp_path / "missing.yaml"))


def test_interactive_play_with_a_scripted_participant() -> None:
    answers = iter(["b", "x", "b"])
    asked: list[list[str]] = []
    ticks = iter([0.0, 200.0, 1000.0, 1010.0, 2000.0, 2001.0])  # shown, answered, ...

    def ask(question: str, choices: list[str]) -> str:
        asked.append(choices)
        return next(answers)

    buf = io.StringIO()
    result = play_interactive(small(), Console(file=buf, width=100), participant="dan",
                              ask=ask, clock=lambda: next(ticks), wall=lambda: 42.0)
    assert asked == [["a", "b"], ["x", "y", "z"], ["a", "b"]]
    assert [(d.choice, d.right, d.seconds, d.timely, d.points) for d in result.decisions] == [
        ("b", False, 200.0, False, 0), ("x", True, 10.0, True, 2),
        ("b", True, 1.0, True, 2)]
    text = buf.getvalue()
    assert "Something happens." in text and "not the best call" in text
    assert "because not" in text  # the why of each choice is explained afterwards
    assert result.started == 42.0 and result.participant == "dan"


def test_bundled_exercises_score_full_marks_for_the_right_answers(tmp_path: Path) -> None:
    for ex in bundled_exercises().values():
        path = tmp_path / f"{ex.id}.yaml"
        path.write_text("participant: erin\nanswers:\n" + "".join(
            f"  {i.id}: {{choice: {i.right_choices[0].id}, seconds: {i.time_limit:g}}}\n"
            for i in ex.injects))
        participant, role, answers = load_answers(path, ex)
        result = play_answers(ex, answers, participant=participant, role=role, started=0.0)
        assert result.points == result.max_points == 2 * len(ex.injects), ex.id
        assert all(r.right == r.timely == r.injects for r in result.roles)


def test_interactive_input_ending_early_and_text_that_looks_like_markup() -> None:
    ex = parse_exercise(EXERCISE.replace("Something happens.", "'[bold]Pump [/] at [red]50%'"),
                        "small.yaml")
    answers = iter(["a"])

    def ask(question: str, choices: list[str]) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    buf = io.StringIO()
    result = play_interactive(ex, Console(file=buf, width=100), participant="fay", ask=ask,
                              clock=lambda: 0.0, wall=lambda: 0.0)
    assert [d.inject for d in result.decisions] == ["first"]
    assert [(r.role, r.answered, r.points, r.max_points) for r in result.roles] == [
        ("it", 0, 0, 2), ("ot", 1, 2, 4)]
    text = buf.getvalue()
    assert "[bold]Pump [/] at [red]50%" in text  # shown as written
    assert "input ended" in text

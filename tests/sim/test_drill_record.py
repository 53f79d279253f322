"""Drill records (round trip, atomic save, broken files), participant scores and the
after-action reports (Markdown and HTML: the rows, well-formed, escaped, the timeline chart)."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from otshield.errors import ConfigError
from otshield.sim.drill.lessons import RuleInfo, lessons
from otshield.sim.drill.participants import participant_scores
from otshield.sim.drill.record import (
    Action,
    DrillRecord,
    Participant,
    load_record,
    rescore,
    save_record,
)
from otshield.sim.drill.report_html import render_html
from otshield.sim.drill.report_md import render_markdown
from otshield.sim.drill.score import AlertHit
from otshield.sim.drill.tabletop_model import Choice, Inject, TabletopResult, decide
from otshield.sim.drill.tabletop_model import score_decisions as tabletop_score
from otshield.sim.scenario import GroundTruth

EVIL = "<script>alert(1)</script>&\"'"
RULES = [RuleInfo("ot.s7.cpu_stop", "S7 CPU stop", ("T0881",)),
         RuleInfo("ot.dnp3.restart", "DNP3 restart", ("T0816",)),
         RuleInfo("it.smb.admin_share", "SMB admin share", ("T0867",))]


def _truth(stage: str, ts: float, end: float, techniques: tuple[str, ...], rule: str,
           dst: str = "10.0.1.10") -> GroundTruth:
    return GroundTruth(stage=stage, first_frame=int(ts), last_frame=int(end), ts=ts,
                       end_ts=end, src="10.0.0.99", dst=dst, techniques=techniques,
                       rule=rule, description=f"the {stage} stage", title=f"{stage} title",
                       scenario="handmade")


def make_record() -> DrillRecord:
    truth = [_truth("stop", 1000.0, 1002.0, ("T0881",), "ot.s7"),
             _truth("restart", 1100.0, 1100.5, ("T0816",), "ot.dnp3"),
             _truth("copy", 1200.0, 1201.0, ("T0867",), "it.smb.admin_share")]
    alerts = [
        AlertHit(id="stop-key", rule_id="ot.s7.cpu_stop", ts=1000.5, title="S7 stop",
                 severity="high", category="rule", techniques=("T0881",), src="10.0.0.99",
                 dst="10.0.1.10"),
        AlertHit(id="odd-key", rule_id="ot.dnp3.odd", ts=1100.25, title="odd",
                 severity="medium", category="rule", techniques=("T0888",),
                 src="10.0.0.99", dst="10.0.1.10"),
        AlertHit(id="noise-key", rule_id=EVIL, ts=1500.0, title=EVIL, severity="high",
                 src="10.9.9.9", dst="10.9.9.8", description=EVIL),
    ]
    inject = Inject(id="plc-stop", at=0, role="ot", title="t", situation="s", question="q",
                    time_limit=60, choices=(Choice(id="a", text="a", right=True),
                                            Choice(id="b", text="b")))
    decisions = (decide(inject, "b", 10.0),)
    record = DrillRecord(
        scenario="handmade", title=EVIL, seed=7, mode="offline", capture="c.pcap",
        site="s.yaml", created=5000.0, released_at=5000.0, packets=1234, truth=truth,
        alerts=alerts, occurrences=alerts,
        participants=[Participant(name="alice", role="it"), Participant(name=EVIL, role="ot")],
        actions=[Action(at=5030.0, participant="alice", kind="ack", alert_id="stop-key"),
                 Action(at=5090.0, participant="alice", kind="ack", alert_id="stop-key"),
                 Action(at=5100.0, participant="alice", kind="ack", alert_id="noise-key"),
                 Action(at=5040.0, participant="alice", kind="step", step="triage"),
                 Action(at=5050.0, participant="alice", kind="step", step="triage"),
                 Action(at=5060.0, participant="alice", kind="step", step="not-a-step"),
                 Action(at=5070.0, participant=EVIL, kind="ack", alert_id="odd-key"),
                 Action(at=5080.0, participant=EVIL, kind="step", step="contain")],
        tabletop=[TabletopResult(exercise="x", title="Exercise X", participant=EVIL, role="ot",
                                 started=4000.0, decisions=decisions,
                                 roles=tabletop_score((inject,), decisions))])
    rescore(record)
    return record


def test_the_hand_made_record_scores_as_expected() -> None:
    record = make_record()
    assert record.score is not None
    assert [(s.stage, s.detected, s.technique_right) for s in record.score.stages] == [
        ("stop", True, True), ("restart", True, False), ("copy", False, False)]
    assert record.score.unmatched_medium == 1


def test_participant_scores() -> None:
    alice, evil = participant_scores(make_record())
    # alice acknowledged the stop stage 30 s after release (the second ack and the noise ack
    # do not count), completed one step (twice, and one unknown step)
    assert (alice.name, alice.role, alice.acknowledged, alice.stages) == ("alice", "it", 1, 2)
    assert alice.mean_time_to_ack == alice.max_time_to_ack == 30.0
    assert alice.steps_done == ("triage",) and alice.steps_total == 7
    assert alice.progress == pytest.approx(1 / 7)
    assert (alice.tabletop_points, alice.tabletop_max) == (0, 0)
    assert (evil.acknowledged, evil.mean_time_to_ack, evil.steps_done) == (1, 70.0, ("contain",))
    assert (evil.tabletop_points, evil.tabletop_max) == (0, 2)


def test_live_acknowledgement_counts_from_the_alert() -> None:
    record = make_record()
    record.mode = "live"
    record.alerts = [msgspec.structs.replace(h, seen_at=h.ts + 2.0) for h in record.alerts]
    record.occurrences = list(record.alerts)
    record.actions = [Action(at=1010.0, participant="bob", kind="ack", alert_id="stop-key")]
    rescore(record)
    bob = next(p for p in participant_scores(record) if p.name == "bob")
    assert bob.mean_time_to_ack == pytest.approx(1010.0 - 1002.5)
    # on the wall clock, time to detect counts from when the alert was raised
    assert record.score is not None
    assert record.score.stages[0].time_to_detect == pytest.approx(2.5)


def test_lessons_name_what_would_have_caught_a_stage() -> None:
    found = {(x.kind, x.subject): x for x in lessons(make_record(), RULES)}
    missed = found[("missed", "copy")]
    assert "Rules meant for it exist" in missed.text
    assert missed.suggestions == ("it.smb.admin_share: SMB admin share",)
    wrong = found[("technique", "restart")]
    assert "ot.dnp3.odd" in wrong.text and "T0816" in wrong.text
    assert wrong.suggestions == ("ot.dnp3.restart: DNP3 restart",)
    assert ("noise", "alerts outside the attack") in found
    assert ("tabletop", "plc-stop") in found
    assert "Notify management" in found[("response", "response checklist")].text
    gap = lessons(make_record(), [])
    assert any("rule pack gap" in x.text for x in gap if x.subject == "copy")


def test_round_trip(tmp_path: Path) -> None:
    record = make_record()
    path = save_record(record, tmp_path / "record.json")
    assert load_record(path) == record
    assert json.loads(path.read_text())["format"] == "otshield-drill"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temp file left


def test_a_failed_save_keeps_the_old_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    path = save_record(make_record(), tmp_path / "record.json")
    before = path.read_bytes()

    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    changed = make_record()
    changed.seed = 99
    with pytest.raises(OSError, match="disk full"):
        save_record(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not a drill record"),
    (b'{"format": "otshield-drill", "version": 1,\n "scenario": }', r"record.json:2:\d+: not"),
    (b"[1, 2]", "no \"format\""),
    (b'{"format": "something-else", "version": 1}', "not a drill record"),
    (b'{"format": "otshield-drill", "version": 99, "scenario": "x"}', "version 99"),
    (b'{"format": "otshield-drill", "version": 1}', "missing required field `scenario`"),
    (b'{"format": "otshield-drill", "version": 1, "scenario": "x", "seed": "one"}',
     r"Expected `int`, got `str` - at `\$.seed`"),
    (b'{"format": "otshield-drill", "version": 1, "scenario": "x", "actions": '
     b'[{"at": 1, "participant": "a", "kind": "hack"}]}', "action kind"),
])
def test_broken_records_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_record(path)


def test_missing_record_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such drill record"):
        load_record(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="is a directory"):
        load_record(tmp_path)


# -- reports ------------------------------------------------------------------------------------
class _Checker(HTMLParser):
    """Collects tags, checks nesting, and gathers the text of the stage table's cells."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "circle", "line", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_well_formed_escaped_and_complete() -> None:
    html = render_html(make_record(), RULES)
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "script" not in checker.tags  # the hostile names stayed text
    assert "&lt;script&gt;" in html
    text = " ".join(" ".join(checker.text).split())
    for expected in ("1 stop stop title T0881 yes yes 0.500 s ot.s7.cpu_stop",
                     "2 restart restart title T0816 yes no 0.250 s ot.dnp3.odd",
                     "3 copy copy title T0867 no no - -"):
        assert expected in text
    assert "Stages detected 2 / 3" in text and "Technique right 1 / 3" in text
    # the chart: one lane per stage, the missed stage in red, markers with their rule
    assert checker.tags.count("svg") == 1
    assert checker.tags.count("circle") == 1  # one alert with a right technique
    assert "alice" in text and "Exercise X" in text
    # nothing external: no scripts, no links to elsewhere, no images
    urls = [v for k, v in checker.attrs if k in ("src", "href") and v]
    assert urls == []
    assert "http://www.w3.org/2000/svg" in html  # the SVG namespace is not a fetch


def test_markdown_report_rows() -> None:
    md = render_markdown(make_record(), RULES)
    assert "**Result:** 1 of 3 stage(s) missed, 1 detected without the right technique." in md
    assert "| 1 | stop | T0881 | yes | yes | 0.500 s | ot.s7.cpu_stop |" in md
    assert "| 2 | restart | T0816 | yes | no | 0.250 s | ot.dnp3.odd |" in md
    assert "| 3 | copy | T0867 | no | no | - | - |" in md
    assert "| Stages detected | 2 / 3 |" in md
    assert "| alice | IT | 1 / 2 | 30 s | 30 s | 1 / 7 (14%) | - |" in md
    assert "\\|" not in md.split("## Stages")[1].split("## Timeline")[0]  # plain cells
    lessons_part = md.split("## Lessons")[1]
    assert "- **missed** (copy): Stage 'copy'" in lessons_part
    assert "  - it.smb.admin_share: SMB admin share" in lessons_part
    # hostile text from the record is not HTML in the Markdown either
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_markdown_cells_cannot_break_the_table() -> None:
    record = make_record()
    record.participants = [Participant(name="a|b\nc", role="it")]
    record.actions = []
    record.tabletop = []
    md = render_markdown(record, RULES)
    assert "| a\\|b c | IT |" in md


def test_empty_record_renders() -> None:
    record = DrillRecord(scenario="nothing")
    rescore(record)
    md = render_markdown(record, [])
    assert "No attack stages." in md and "Nothing to show." in md
    checker = _Checker()
    checker.feed(render_html(record, []))
    assert checker.errors == [] and checker.stack == []


def test_the_timeline_marks_the_occurrence_credited_to_each_stage() -> None:
    truth = [_truth("sweep", 1000.0, 1001.0, ("T0846",), "x"),
             _truth("write", 1100.0, 1101.0, ("T0846",), "x")]
    first = AlertHit(id="k", rule_id="ot.x", ts=1000.5, techniques=("T0846",),
                     src="10.0.0.99", dst="10.0.1.10")
    later = msgspec.structs.replace(first, ts=1100.25)
    merged = msgspec.structs.replace(first, count=2, last_seen=1100.25)
    record = DrillRecord(scenario="x", truth=truth, alerts=[merged],
                         occurrences=[first, later])
    rescore(record)
    md = render_markdown(record, [])
    assert "- `00:16:40.500` sweep: alert ot.x (T0846), right technique" in md
    assert "- `00:18:20.250` write: alert ot.x (T0846), right technique" in md

"""The after-action report in Markdown (GitHub-flavoured tables): for a ticket, a wiki page or
a pull request. Same content as the HTML report (:mod:`otshield.sim.drill.view`), with the
timeline as a list instead of a chart."""

from __future__ import annotations

from collections.abc import Sequence

from otshield.sim.drill.lessons import RuleInfo
from otshield.sim.drill.participants import playbook_tables
from otshield.sim.drill.record import DrillRecord
from otshield.sim.drill.view import build_view, clock

__all__ = ["render_markdown"]


def _text(text: str) -> str:
    """Text from a capture or a record as plain Markdown text: no HTML gets through to a
    renderer that allows it (a hostname can be ``<script>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """Table cell text: pipes and line breaks would break the row."""
    return _text(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip() or " "


def _table(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines.extend("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |"
                 for row in rows)
    return lines


def render_markdown(record: DrillRecord, rules: list[RuleInfo] | None = None) -> str:
    view = build_view(record, rules)
    out = [f"# {_text(view.title)}", "", f"**Result:** {view.verdict}.", ""]
    out += _table(("Figure", "Value"), [{"Figure": k, "Value": v} for k, v in view.summary])
    if view.problems:
        out += ["", "**Problems:**", ""] + [f"- {_text(p)}" for p in view.problems]
    out += ["", "## Stages", ""]
    out += _table(view.stage_columns, view.stages) if view.stages else ["No attack stages."]
    out += ["", "## Timeline", ""]
    for e in sorted(view.timeline, key=lambda e: (e.start, e.kind != "stage")):
        if e.kind == "stage":
            out.append(f"- `{clock(e.start)}` **{_text(e.lane)}** begins ({e.label})")
        else:
            right = "right technique" if e.kind == "alert-right" else "other technique"
            out.append(f"- `{clock(e.start)}` {_text(e.lane)}: alert {_text(e.label)}, {right}")
    if not view.timeline:
        out.append("Nothing to show.")
    out += ["", "## Participants", ""]
    if view.participants:
        out += _table(tuple(view.participants[0]), view.participants)
    else:
        out.append("No participant actions were recorded.")
    runs, people, work = playbook_tables(record)
    if runs:
        out += ["", "## Playbook", ""]
        out += _table(tuple(runs[0]), runs)
        out += ["", "Progress per participant (share of the run's action steps they "
                "completed):", ""]
        out += _table(tuple(people[0]), people) if people else [
            "Nobody has worked the playbook yet."]
        if work:
            out += ["", "Completions, decisions and approvals:", ""]
            out += _table(tuple(work[0]), work)
    out += ["", "## Tabletop", ""]
    if view.tabletop:
        out += _table(tuple(view.tabletop[0]), view.tabletop)
    else:
        out.append("No tabletop exercise was recorded with this drill.")
    out += ["", "## Lessons", ""]
    for lesson in view.lessons:
        out.append(f"- **{lesson.kind}** ({_text(lesson.subject)}): {_text(lesson.text)}")
        out.extend(f"  - {_text(s)}" for s in lesson.suggestions)
    if not view.lessons:
        out.append("Nothing to improve was found in this drill.")
    out += ["", "## Details", ""]
    out += _table(("Item", "Value"), [{"Item": k, "Value": v} for k, v in view.details])
    return "\n".join(out) + "\n"

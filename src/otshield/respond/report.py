"""The after-action report of a case, in Markdown and in self-contained HTML.

What an incident review needs on one page: what happened (the incident, why its alerts were
joined, the ATT&CK for ICS tactics in the order they appeared, the assets with their Purdue
level and safety tag), what was done and by whom (one timeline merging alerts, case events and
every playbook step, decision, approval and escalation), how fast (time to open the case, to
contain, to recover, to close), and the evidence with its hashes. The HTML needs nothing from
the network (plants are often air-gapped): inline CSS and an inline SVG timeline.

``case_pdf`` prints the same HTML to PDF with WeasyPrint (the maintained HTML/CSS-to-PDF
library of the Python world; it needs the Pango text library, which every Debian desktop or
browser install brings).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

import msgspec

from otshield.detect.alert import Alert
from otshield.detect.attack import load_attack_table
from otshield.errors import OtshieldError
from otshield.respond.cases import Case
from otshield.respond.runner import Run, TimelineEntry

__all__ = ["PdfUnavailable", "TimelineRow", "case_html", "case_markdown", "case_pdf", "measures",
           "merged_timeline"]


class TimelineRow(msgspec.Struct, frozen=True, kw_only=True):
    ts: float
    source: str
    """alert, case, playbook."""
    actor: str
    what: str


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + " UTC"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def merged_timeline(case: Case, runs: Sequence[Run] = (),
                    alerts: Sequence[Alert] = ()) -> list[TimelineRow]:
    rows = [TimelineRow(ts=a.first_seen or a.ts, source="alert", actor="otshield",
                        what=f"[{a.severity}] {a.title} ({a.rule_id})"
                        + (f" x{a.count}" if a.count > 1 else ""))
            for a in alerts]
    rows += [TimelineRow(ts=e.ts, source="case", actor=e.actor, what=f"{e.kind}: {e.text}")
             for e in case.timeline]
    for run in runs:
        for e in run.timeline:
            what = e.kind + (f" '{e.step_name}'" if e.step_name else "")
            rows.append(TimelineRow(ts=e.ts, source="playbook", actor=e.actor,
                                    what=what + (f": {e.detail}" if e.detail else "")))
    return sorted(rows, key=lambda r: r.ts)


def measures(case: Case, runs: Sequence[Run] = ()) -> dict[str, float | None]:
    """Seconds from the incident's first alert to each milestone (None: not reached)."""
    start = case.incident.first_seen or case.created_at

    def first(kind: str, text: str = "") -> float | None:
        for e in case.timeline:
            if e.kind == kind and text in e.text:
                return e.ts - start
        return None

    acks = [e.ts for r in runs for e in r.timeline if e.kind in ("acknowledged", "completed",
                                                                  "decided", "ticked")
            and not e.actor.startswith("otshield")]
    return {"case opened": case.created_at - start,
            "first human action": (min(acks) - start) if acks else None,
            "contained": first("status", "-> contained"),
            "recovering": first("status", "-> recovering"),
            "closed": first("closed")}


class _RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    done: int
    total: int
    approvals: list[TimelineEntry]
    decisions: list[TimelineEntry]
    escalations: list[TimelineEntry]


def _run_summary(run: Run) -> _RunSummary:
    return _RunSummary(
        done=sum(1 for s in run.steps.values() if s.status == "done"), total=len(run.steps),
        approvals=[e for e in run.timeline if e.kind == "approved"],
        decisions=[e for e in run.timeline if e.kind == "decided" and e.actor != "otshield"],
        escalations=[e for e in run.timeline if e.kind == "escalated"])


def case_markdown(case: Case, runs: Sequence[Run] = (), alerts: Sequence[Alert] = ()) -> str:
    inc = case.incident
    attack = load_attack_table()
    out = [f"# After-action report: {inc.title}", "",
           f"- Case **{case.id}**, incident **{inc.id}**, status **{case.status}**"
           + (f" ({case.closed_reason})" if case.closed_reason else ""),
           f"- Severity **{inc.severity}** (score {inc.score:.0f}/100), from "
           f"{_when(inc.first_seen)} to {_when(inc.last_seen)}",
           f"- Owner: {case.owner or '-'}; IT: {case.it_assignee or '-'}; "
           f"OT: {case.ot_assignee or '-'}", "", "## What happened", ""]
    for t in inc.tactics:
        out.append(f"1. {t.replace('-', ' ')}")
    out += ["", "| technique | name |", "|---|---|"]
    for tid in inc.techniques:
        tech = attack.get(tid)
        out.append(f"| {tid} | {tech.name if tech else '?'} |")
    out += ["", "Why these alerts form one incident:", ""]
    out += [f"- {line}" for line in inc.explanation]
    out += ["", "## Assets", "", "| asset | address | zone | level | safety | role in incident |",
            "|---|---|---|---|---|---|"]
    for a in inc.assets:
        out.append(f"| {a.name or '-'} | {a.ip} | {a.zone or '-'} | "
                   f"{a.level if a.level is not None else '-'} | {'yes' if a.safety else 'no'} | "
                   f"{'attacker' if a.attacker else 'target'} |")
    out += ["", "## How fast", "", "| milestone | after the first alert |", "|---|---|"]
    for k, v in measures(case, runs).items():
        out.append(f"| {k} | {_span(v)} |")
    for run in runs:
        s = _run_summary(run)
        out += ["", f"## Playbook: {run.playbook_name}", "",
                f"Run {run.id}: {run.status}, {s.done}/{s.total} steps done."]
        for e in s.approvals:
            out.append(f"- OT approval of '{e.step_name}' by {e.actor} at {_when(e.ts)}")
        for e in s.decisions:
            out.append(f"- Decision '{e.step_name}' by {e.actor}: {e.detail}")
        for e in s.escalations:
            out.append(f"- Escalated '{e.step_name}' at {_when(e.ts)}: {e.detail}")
    out += ["", "## Timeline", "", "| time | source | who | what |", "|---|---|---|---|"]
    for r in merged_timeline(case, runs, alerts):
        out.append(f"| {_when(r.ts)} | {r.source} | {r.actor} | "
                   f"{r.what.replace('|', '/')} |")
    out += ["", "## Evidence", "", "| kind | reference | SHA-256 | added by |", "|---|---|---|---|"]
    for ev in case.evidence:
        out.append(f"| {ev.kind} | {ev.ref} | {ev.sha256 or '-'} | {ev.added_by or '-'} |")
    return "\n".join(out) + "\n"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1c2330;
background:#f4f6f9}main{max-width:1100px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:22px;margin:0 0 6px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid
#dde2ea;padding-bottom:4px}table{border-collapse:collapse;width:100%;margin:6px 0}th,td{
text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ef;vertical-align:top}th{
background:#f0f3f7;font-weight:600}.sev{display:inline-block;padding:1px 8px;border-radius:9px;
color:#fff;font-weight:600}.critical{background:#b3121f}.high{background:#d9480f}.medium{
background:#e8a317}.low,.info{background:#3b7dd8}.meta{color:#5a6475}.kv{display:grid;
grid-template-columns:200px 1fr;gap:2px 12px}.src-alert{color:#b3121f}.src-playbook{
color:#2f6f3e}.src-case{color:#3b5bdb}code{font-size:12px}
"""
_COLORS = {"alert": "#b3121f", "case": "#3b5bdb", "playbook": "#2f6f3e"}


def _svg_timeline(rows: Sequence[TimelineRow]) -> str:
    if not rows:
        return ""
    t0, t1 = rows[0].ts, rows[-1].ts
    span = max(t1 - t0, 1.0)
    width, left, right = 1000, 90, 20
    lanes = {"alert": 30, "case": 60, "playbook": 90}
    parts = [f'<svg viewBox="0 0 {width} 120" width="100%" role="img" '
             f'aria-label="timeline of the incident">']
    for lane, y in lanes.items():
        parts.append(f'<text x="4" y="{y + 4}" font-size="12" fill="#5a6475">{lane}</text>'
                     f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" '
                     f'stroke="#dde2ea"/>')
    for r in rows:
        x = left + (r.ts - t0) / span * (width - left - right)
        parts.append(f'<circle cx="{x:.1f}" cy="{lanes[r.source]}" r="4" '
                     f'fill="{_COLORS[r.source]}"><title>{html.escape(_when(r.ts))} '
                     f'{html.escape(r.actor)}: {html.escape(r.what)}</title></circle>')
    parts.append(f'<text x="{left}" y="114" font-size="11" fill="#5a6475">'
                 f'{html.escape(_when(t0))}</text>')
    parts.append(f'<text x="{width - right}" y="114" font-size="11" fill="#5a6475" '
                 f'text-anchor="end">{html.escape(_when(t1))} ({_span(t1 - t0)})</text>')
    parts.append("</svg>")
    return "".join(parts)


def case_html(case: Case, runs: Sequence[Run] = (), alerts: Sequence[Alert] = ()) -> str:
    e = html.escape
    inc = case.incident
    attack = load_attack_table()
    rows = merged_timeline(case, runs, alerts)
    reason = f" ({e(case.closed_reason)})" if case.closed_reason else ""
    h = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>After-action "
         f"report {e(case.id)}</title><style>{_CSS}</style></head><body><main>",
         f"<h1>After-action report: {e(inc.title)}</h1>",
         f"<p class='meta'>Case {e(case.id)} &middot; incident {e(inc.id)} &middot; status "
         f"<b>{e(case.status)}</b>{reason}"
         f" &middot; <span class='sev {e(inc.severity)}'>{e(inc.severity)}</span> "
         f"score {inc.score:.0f}/100</p>",
         "<div class='kv'>",
         f"<div>First alert</div><div>{e(_when(inc.first_seen))}</div>",
         f"<div>Last alert</div><div>{e(_when(inc.last_seen))}</div>",
         f"<div>Owner</div><div>{e(case.owner or '-')}</div>",
         f"<div>IT assignee</div><div>{e(case.it_assignee or '-')}</div>",
         f"<div>OT assignee</div><div>{e(case.ot_assignee or '-')}</div></div>",
         "<h2>Timeline</h2>", _svg_timeline(rows),
         "<h2>What happened</h2><p>Tactics in the order they appeared: "
         + " &rarr; ".join(e(t.replace("-", " ")) for t in inc.tactics) + "</p>",
         "<table><tr><th>Technique</th><th>Name</th></tr>"]
    for tid in inc.techniques:
        tech = attack.get(tid)
        url = tech.url if tech else ""
        name = e(tech.name) if tech else "?"
        h.append(f"<tr><td><a href='{e(url)}'>{e(tid)}</a></td><td>{name}</td></tr>" if url
                 else f"<tr><td>{e(tid)}</td><td>{name}</td></tr>")
    h.append("</table><p>Why these alerts form one incident:</p><ul>")
    h += [f"<li>{e(line)}</li>" for line in inc.explanation]
    h.append("</ul><h2>Assets</h2><table><tr><th>Asset</th><th>Address</th><th>Zone</th>"
             "<th>Level</th><th>Safety</th><th>Role in incident</th></tr>")
    for a in inc.assets:
        h.append(f"<tr><td>{e(a.name or '-')}</td><td>{e(a.ip)}</td><td>{e(a.zone or '-')}"
                 f"</td><td>{a.level if a.level is not None else '-'}</td><td>"
                 f"{'yes' if a.safety else 'no'}</td><td>"
                 f"{'attacker' if a.attacker else 'target'}</td></tr>")
    h.append("</table><h2>How fast</h2><table><tr><th>Milestone</th><th>After the first "
             "alert</th></tr>")
    for k, v in measures(case, runs).items():
        h.append(f"<tr><td>{e(k)}</td><td>{e(_span(v))}</td></tr>")
    h.append("</table>")
    for run in runs:
        s = _run_summary(run)
        h.append(f"<h2>Playbook: {e(run.playbook_name)}</h2><p>Run {e(run.id)}: "
                 f"<b>{e(run.status)}</b>, {s.done}/{s.total} steps done.</p><ul>")
        for ev in s.approvals:
            h.append(f"<li>OT approval of &lsquo;{e(ev.step_name)}&rsquo; by {e(ev.actor)} at "
                     f"{e(_when(ev.ts))}</li>")
        for ev in s.decisions:
            h.append(f"<li>Decision &lsquo;{e(ev.step_name)}&rsquo; by {e(ev.actor)}: "
                     f"{e(ev.detail)}</li>")
        for ev in s.escalations:
            h.append(f"<li>Escalated &lsquo;{e(ev.step_name)}&rsquo;: {e(ev.detail)}</li>")
        h.append("</ul>")
    h.append("<h2>Events</h2><table><tr><th>Time</th><th>Source</th><th>Who</th><th>What</th>"
             "</tr>")
    for r in rows:
        h.append(f"<tr><td>{e(_when(r.ts))}</td><td class='src-{r.source}'>{r.source}</td>"
                 f"<td>{e(r.actor)}</td><td>{e(r.what)}</td></tr>")
    h.append("</table><h2>Evidence</h2><table><tr><th>Kind</th><th>Reference</th>"
             "<th>SHA-256</th><th>Added by</th></tr>")
    for item in case.evidence:
        h.append(f"<tr><td>{e(item.kind)}</td><td><code>{e(item.ref)}</code></td><td><code>"
                 f"{e(item.sha256 or '-')}</code></td><td>{e(item.added_by or '-')}</td></tr>")
    h.append("</table></main></body></html>\n")
    return "".join(h)


class PdfUnavailable(OtshieldError):
    """WeasyPrint or the Pango library is missing: PDF cannot be made here."""


def case_pdf(case: Case, runs: Sequence[Run] = (), alerts: Sequence[Alert] = ()) -> bytes:
    """The HTML report printed to PDF (A4, the timeline as vector graphics)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"PDF reports need WeasyPrint and the Pango library "
                            f"(apt-get install libpango-1.0-0 libpangoft2-1.0-0): {exc}") from None
    page = "@page{size:A4;margin:14mm}main{max-width:none;padding:0}"
    html = case_html(case, runs, alerts).replace("</style>", page + "</style>", 1)
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf

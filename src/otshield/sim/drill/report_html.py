"""The after-action report as one self-contained HTML page (no scripts, no external resources):
summary figures, the stage table, a timeline chart drawn here as inline SVG, participants,
the console playbook runs (progress per participant, decisions, approvals), tabletop scores,
lessons and the drill's details.

Rendered with Jinja2 and autoescaping on, so names from a capture or a record (an attacker can
choose a hostname or a rule message) are text, never markup. The chart has one lane per attack
stage: the stage as a bar from its first to its last packet, each fitting alert as a marker
(green: it named a right technique; amber: another technique), missed stages in red.
"""

from __future__ import annotations

import math

import jinja2

from otshield.sim.drill.lessons import RuleInfo
from otshield.sim.drill.participants import playbook_tables
from otshield.sim.drill.record import DrillRecord
from otshield.sim.drill.view import ReportView, build_view, clock, seconds

__all__ = ["render_html", "timeline_geometry"]

_WIDTH = 960
_LEFT = 230
_RIGHT = 40
_LANE = 30
_TOP = 34
_BOTTOM = 36


def _step(span: float) -> float:
    """A round tick step giving about six ticks over ``span`` seconds."""
    raw = max(span, 1e-3) / 6
    base = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if base * mult >= raw:
            return float(base * mult)
    return float(base * 10)


def _tick_label(value: float, step: float) -> str:
    if step >= 60 and value % 60 == 0:
        return f"+{value / 60:g} min"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"+{value:.{decimals}f} s"


def timeline_geometry(view: ReportView) -> dict[str, object]:
    """Coordinates of the timeline chart (lanes, bars, markers, ticks) for the template."""
    lanes: list[str] = list(dict.fromkeys(e.lane for e in view.timeline))
    missed = {row["Stage"] for row in view.stages if row["Detected"] == "no"}
    start, end = view.span
    span = max(end - start, 1e-3)
    plot = _WIDTH - _LEFT - _RIGHT

    def x(ts: float) -> float:
        return round(_LEFT + (ts - start) / span * plot, 2)

    bars, markers = [], []
    for e in view.timeline:
        y = _TOP + lanes.index(e.lane) * _LANE
        if e.kind == "stage":
            x0, x1 = x(e.start), x(e.end)
            bars.append({"x": x0, "y": y + 8, "w": max(x1 - x0, 4.0), "h": _LANE - 16,
                         "missed": e.lane in missed, "label": f"{e.lane}: {e.label}"})
        else:
            markers.append({"x": x(e.start), "y": y + _LANE / 2, "right": e.kind == "alert-right",
                            "label": f"{e.lane}: {clock(e.start)} {e.label}"})
    markers.sort(key=lambda m: bool(m["right"]))  # green markers drawn last, on top
    step = _step(span)
    ticks = [{"x": x(start + k * step), "label": _tick_label(k * step, step)}
             for k in range(int(span / step) + 1)]
    height = _TOP + len(lanes) * _LANE + _BOTTOM
    return {"width": _WIDTH, "height": height, "left": _LEFT, "right": _WIDTH - _RIGHT,
            "top": _TOP, "bottom": height - _BOTTOM,
            "lanes": [{"name": n, "y": _TOP + i * _LANE, "missed": n in missed}
                      for i, n in enumerate(lanes)],
            "bars": bars, "markers": markers, "ticks": ticks,
            "origin": clock(start, with_date=True)}


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ view.title }}</title>
<style>
:root { --ink:#1d2733; --muted:#5b6775; --line:#d9dee5; --bg:#f4f6f9; --ok:#1e8a4c;
        --okbg:#e3f4ea; --bad:#c0392b; --badbg:#fbe7e4; --warn:#b7791f; --accent:#1f5f99; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#14324f; color:#fff; padding:22px 40px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; }
header p { margin:0; color:#c9d6e3; }
main { max-width:1040px; margin:0 auto; padding:24px 40px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px;
          padding:18px 22px; margin:0 0 20px; }
h2 { font-size:17px; margin:0 0 12px; color:var(--accent); }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(130px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.card .k { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:18px; font-weight:600; margin-top:2px; }
.verdict { margin:14px 0 0; padding:10px 14px; border-radius:6px; font-weight:600; }
.verdict.good { background:var(--okbg); color:var(--ok); }
.verdict.bad { background:var(--badbg); color:var(--bad); }
table { width:100%; border-collapse:collapse; font-size:14px; }
th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
td.num { font-variant-numeric:tabular-nums; white-space:nowrap; }
code { font:13px ui-monospace,SFMono-Regular,Menlo,monospace; }
.badge { display:inline-block; min-width:34px; text-align:center; padding:1px 8px;
         border-radius:10px; font-size:12px; font-weight:600; }
.yes { background:var(--okbg); color:var(--ok); }
.no { background:var(--badbg); color:var(--bad); }
.sub { color:var(--muted); font-size:13px; }
.chart { width:100%; height:auto; }
.legend { display:flex; gap:18px; font-size:13px; color:var(--muted); margin-top:6px; }
.legend span::before { content:""; display:inline-block; width:12px; height:12px;
                       margin-right:6px; vertical-align:-2px; border-radius:2px; }
.legend .l-stage::before { background:#8fb3d9; }
.legend .l-missed::before { background:#e8a49b; }
.legend .l-right::before { background:var(--ok); border-radius:50%; }
.legend .l-other::before { background:var(--warn); transform:rotate(45deg); }
ul.lessons { margin:0; padding-left:20px; }
ul.lessons li { margin:0 0 10px; }
.kind { font-size:11px; text-transform:uppercase; letter-spacing:.05em; font-weight:700;
        color:var(--muted); margin-right:6px; }
.problems { color:var(--bad); }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:8px; }
@media print { body { background:#fff; } section { break-inside:avoid; } }
</style>
</head>
<body>
<header>
  <h1>{{ view.title }}</h1>
  <p>{{ view.summary[0][1] }} &middot; {{ view.summary[1][1] }}</p>
</header>
<main>
<section id="summary">
  <h2>Summary</h2>
  <div class="cards">
  {% for key, value in view.summary[2:] %}
    <div class="card"><div class="k">{{ key }}</div><div class="v">{{ value }}</div></div>
  {% endfor %}
  </div>
  <p class="verdict {{ 'good' if good else 'bad' }}">Result: {{ view.verdict }}.</p>
  {% if view.problems %}
  <ul class="problems">{% for p in view.problems %}<li>{{ p }}</li>{% endfor %}</ul>
  {% endif %}
</section>

<section id="stages">
  <h2>Attack stages</h2>
  {% if view.stages %}
  <table>
    <thead><tr>{% for c in view.stage_columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in view.stages %}
      <tr>
        <td class="num">{{ row['#'] }}</td>
        <td><code>{{ row['Stage'] }}</code><div class="sub">{{ row['Title'] }}</div></td>
        <td><code>{{ row['Technique'] }}</code></td>
        <td><span class="badge {{ row['Detected'] }}">{{ row['Detected'] }}</span></td>
        {% set right = row['Technique right'] %}
        <td><span class="badge {{ right }}">{{ right }}</span></td>
        <td class="num">{{ row['Time to detect'] }}</td>
        <td><code>{{ row['Rule'] }}</code></td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}<p>No attack stages.</p>{% endif %}
</section>

<section id="timeline">
  <h2>Timeline</h2>
  {% if chart.lanes %}
  <svg class="chart" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img"
       aria-label="Timeline of the attack stages and the alerts that caught them"
       xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">
    <text x="{{ chart.left }}" y="16" fill="#5b6775">time from {{ chart.origin }}</text>
    {% for lane in chart.lanes %}
    <rect x="0" y="{{ lane.y }}" width="{{ chart.width }}" height="30"
          fill="{{ '#f7f9fb' if loop.index is even else '#ffffff' }}"/>
    <text x="{{ chart.left - 10 }}" y="{{ lane.y + 19 }}" text-anchor="end"
          fill="{{ '#c0392b' if lane.missed else '#1d2733' }}">{{ lane.name }}</text>
    {% endfor %}
    {% for t in chart.ticks %}
    <line x1="{{ t.x }}" x2="{{ t.x }}" y1="{{ chart.top }}" y2="{{ chart.bottom }}"
          stroke="#d9dee5" stroke-dasharray="3 3"/>
    <text x="{{ t.x }}" y="{{ chart.bottom + 18 }}" text-anchor="middle"
          fill="#5b6775">{{ t.label }}</text>
    {% endfor %}
    <line x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ chart.bottom }}"
          y2="{{ chart.bottom }}" stroke="#8a96a3"/>
    {% for b in chart.bars %}
    <rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.w }}" height="{{ b.h }}" rx="3"
          fill="{{ '#e8a49b' if b.missed else '#8fb3d9' }}"><title>{{ b.label }}</title></rect>
    {% endfor %}
    {% for m in chart.markers %}
    {% if m.right %}
    <circle cx="{{ m.x }}" cy="{{ m.y }}" r="5" fill="#1e8a4c" stroke="#fff"
            stroke-width="1.5"><title>{{ m.label }}</title></circle>
    {% else %}
    <rect x="{{ m.x - 4 }}" y="{{ m.y - 4 }}" width="8" height="8" fill="#b7791f"
          transform="rotate(45 {{ m.x }} {{ m.y }})"><title>{{ m.label }}</title></rect>
    {% endif %}
    {% endfor %}
  </svg>
  <div class="legend"><span class="l-stage">stage (first to last packet)</span>
    <span class="l-missed">missed stage</span><span class="l-right">alert, right technique</span>
    <span class="l-other">alert, other technique</span></div>
  {% else %}<p>Nothing to show.</p>{% endif %}
</section>

<section id="participants">
  <h2>Participants</h2>
  {% if view.participants %}
  <table>
    <thead><tr>{% for c in view.participants[0] %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in view.participants %}<tr>{% for c, v in row.items() %}
      <td{% if c != 'Participant' and c != 'Role' %} class="num"{% endif %}>{{ v }}</td>
    {% endfor %}</tr>{% endfor %}</tbody>
  </table>
  {% else %}<p class="sub">No participant actions were recorded (acknowledgements come from
  the console with <code>otshield drill score --console DB</code>, or from
  <code>otshield drill act</code>).</p>{% endif %}
</section>

{% if playbook.runs %}
<section id="playbook">
  <h2>Playbook</h2>
  {% for title, rows in (("Runs", playbook.runs),
                         ("Progress per participant (share of the run's action steps they "
                          ~ "completed)", playbook.people),
                         ("Completions, decisions and approvals", playbook.work)) %}
  <h3>{{ title }}</h3>
  {% if rows %}
  <table>
    <thead><tr>{% for c in rows[0] %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in rows %}<tr>{% for c, v in row.items() %}
      <td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table>
  {% else %}<p class="sub">Nothing yet.</p>{% endif %}
  {% endfor %}
</section>
{% endif %}

<section id="tabletop">
  <h2>Tabletop</h2>
  {% if view.tabletop %}
  <table>
    <thead><tr>{% for c in view.tabletop[0] %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in view.tabletop %}<tr>{% for c, v in row.items() %}
      <td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table>
  {% else %}<p class="sub">No tabletop exercise was recorded with this drill.</p>{% endif %}
</section>

<section id="lessons">
  <h2>Lessons</h2>
  {% if view.lessons %}
  <ul class="lessons">
  {% for l in view.lessons %}
    <li><span class="kind">{{ l.kind }}</span>{{ l.text }}
    {% if l.suggestions %}<ul>{% for s in l.suggestions %}<li><code>{{ s }}</code></li>
    {% endfor %}</ul>{% endif %}</li>
  {% endfor %}
  </ul>
  {% else %}<p>Nothing to improve was found in this drill.</p>{% endif %}
</section>

<section id="details">
  <h2>Details</h2>
  <table><tbody>{% for k, v in view.details %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>
  {% endfor %}</tbody></table>
</section>
<footer>otshield drill &middot; {{ generated }}</footer>
</main>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_PAGE = _ENV.from_string(_TEMPLATE)


def render_html(record: DrillRecord, rules: list[RuleInfo] | None = None) -> str:
    view = build_view(record, rules)
    score = record.score
    good = bool(score and score.stages_total and score.all_right)
    runs, people, work = playbook_tables(record)
    return _PAGE.render(view=view, chart=timeline_geometry(view), good=good,
                        playbook={"runs": runs, "people": people, "work": work},
                        generated=clock(record.created, with_date=True),
                        seconds=seconds)

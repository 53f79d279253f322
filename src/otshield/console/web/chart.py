"""The "alerts over time" chart, drawn on the server as SVG.

A stacked bar per time bucket, one layer per severity (critical at the bottom, where the eye
lands first), a y axis with round ticks and a few time labels. Drawing it here rather than with
a JavaScript chart library keeps the page light, works with scripts off and needs nothing
vendored; every bar carries a ``<title>`` so hovering shows the exact counts.

All text put into the SVG is escaped: severity names come from the store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from otshield.detect.alert import SEVERITIES

__all__ = ["SEVERITY_COLOURS", "Bucket", "alerts_chart", "nice_ticks"]

SEVERITY_COLOURS: dict[str, str] = {
    "critical": "#9b1c1c",
    "high": "#dd5b12",
    "medium": "#c99400",
    "low": "#2f6fdf",
    "info": "#8a96a5",
}
"""The same palette as the stylesheet's ``--sev-*`` variables."""

_W, _H = 760, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 12, 30
_STACK = tuple(reversed(SEVERITIES))
"""Drawing order from the baseline up: critical first."""


@dataclass(frozen=True)
class Bucket:
    start: float
    """Bucket start, seconds since the epoch (UTC)."""
    counts: Mapping[str, int]
    """Severity -> alerts first seen in the bucket."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def nice_ticks(top: int, wanted: int = 4) -> list[int]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / wanted
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    last = math.ceil(top / step) * step
    return list(range(0, last + 1, step))


def _label(start: float, span: float, width: float) -> str:
    t = time.gmtime(start)
    if width < 60:
        return time.strftime("%H:%M:%S", t)
    if span <= 2 * 86400:
        return time.strftime("%H:%M", t)
    return time.strftime("%d %b", t)


def _tooltip(b: Bucket, bucket_seconds: float) -> str:
    clock = "%H:%M:%S" if bucket_seconds < 60 else "%H:%M"
    head = time.strftime(f"%Y-%m-%d {clock}", time.gmtime(b.start))
    end = time.strftime(f"{clock} UTC", time.gmtime(b.start + bucket_seconds))
    parts = [f"{sev}: {b.counts[sev]}" for sev in SEVERITIES[::-1] if b.counts.get(sev)]
    return f"{head} to {end}: {b.total} alert(s)" + (" (" + ", ".join(parts) + ")" if parts else "")


def alerts_chart(buckets: Sequence[Bucket], bucket_seconds: float) -> Markup:
    """The chart as an inline ``<svg>`` element (safe to put in a template as it is)."""
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    top = max((b.total for b in buckets), default=0)
    ticks = nice_ticks(top)
    y_max = ticks[-1] or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
           f'aria-label="Alerts over time" font-size="11" '
           f'font-family="system-ui, sans-serif">']
    for tick in ticks:
        y = _TOP + plot_h - plot_h * tick / y_max
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e3e8ee"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#6b7785">{tick}</text>')
    n = len(buckets)
    if n:
        slot = plot_w / n
        bar_w = max(1.0, min(slot * 0.78, 40.0))
        span = buckets[-1].start - buckets[0].start + bucket_seconds
        every = max(1, math.ceil(n / 8))
        for i, b in enumerate(buckets):
            x = _LEFT + i * slot + (slot - bar_w) / 2
            y = float(_TOP + plot_h)
            out.append(f"<g><title>{escape(_tooltip(b, bucket_seconds))}</title>")
            # An invisible full-height rectangle so the tooltip shows on empty buckets too.
            out.append(f'<rect x="{_LEFT + i * slot:.1f}" y="{_TOP}" width="{slot:.1f}" '
                       f'height="{plot_h}" fill="transparent"/>')
            for sev in _STACK:
                count = int(b.counts.get(sev, 0))
                if count <= 0:
                    continue
                h = plot_h * count / y_max
                y -= h
                colour = SEVERITY_COLOURS.get(sev, "#8a96a5")
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                           f'height="{h:.1f}" fill="{colour}" class={quoteattr("bar-" + sev)}/>')
            out.append("</g>")
            if i % every == 0:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{_H - 10}" text-anchor="middle" '
                           f'fill="#6b7785">{escape(_label(b.start, span, bucket_seconds))}</text>')
    out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_TOP + plot_h}" '
               f'y2="{_TOP + plot_h}" stroke="#b8c2ce"/>')
    out.append("</svg>")
    return Markup("".join(out))

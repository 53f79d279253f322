"""The server-drawn alerts-over-time chart and its bucketing: exact figures."""

from __future__ import annotations

import re

import pytest

from otshield.console.web.chart import Bucket, alerts_chart, nice_ticks
from otshield.console.web.views_overview import caption


@pytest.mark.parametrize(("top", "ticks"), [
    (0, [0, 1]),
    (1, [0, 1]),
    (3, [0, 1, 2, 3]),
    (7, [0, 2, 4, 6, 8]),
    (10, [0, 5, 10]),
    (37, [0, 10, 20, 30, 40]),
    (1000, [0, 500, 1000]),
    (1234, [0, 500, 1000, 1500]),
])
def test_nice_ticks(top: int, ticks: list[int]) -> None:
    assert nice_ticks(top) == ticks


@pytest.mark.parametrize(("width", "text"), [
    (30.0, "new alerts per 30 s"),
    (300.0, "new alerts per 5 min"),
    (10800.0, "new alerts per 3 h"),
    (86400.0, "new alerts per 1 day"),
    (7 * 86400.0, "new alerts per 7 days"),
])
def test_caption_names_the_bucket(width: float, text: str) -> None:
    assert caption(width).startswith(text + ",")


def test_chart_stacks_severities_and_labels_buckets() -> None:
    buckets = [Bucket(0.0, {"critical": 2, "low": 1}), Bucket(3600.0, {}),
               Bucket(7200.0, {"high": 4})]
    svg = str(alerts_chart(buckets, 3600))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="bar-critical"') == 1
    assert svg.count('class="bar-low"') == 1
    assert svg.count('class="bar-high"') == 1
    # The y axis runs to 4 (ticks 0, 1, 2, 3, 4); the 4 high alerts fill the plot height.
    assert re.findall(r'text-anchor="end" fill="#6b7785">(\d+)<', svg) == ["0", "1", "2", "3",
                                                                          "4"]
    high = re.search(r'height="([\d.]+)" fill="#dd5b12"', svg)
    assert high is not None and float(high.group(1)) == 188.0
    assert "<title>1970-01-01 00:00 to 01:00 UTC: 3 alert(s) (critical: 2, low: 1)</title>" in svg
    assert "01:00 to 02:00 UTC: 0 alert(s)</title>" in svg


def test_chart_draws_only_known_severities() -> None:
    svg = str(alerts_chart([Bucket(0.0, {"<b>": 1})], 60))
    assert "<b>" not in svg and "bar-" not in svg
    assert ": 1 alert(s)</title>" in svg


def test_empty_chart_is_still_a_picture() -> None:
    svg = str(alerts_chart([], 60))
    assert svg.startswith("<svg") and "rect" not in svg

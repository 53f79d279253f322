"""Golden test of ``otshield analyze`` on the project-made attack capture
(:mod:`otshield.detect.testplant`): the built-in rules, the site file's zones-and-conduits
policy and a baseline learnt on the normal first part of the capture.

- Every attack stage is caught: an alert with a fitting ATT&CK technique on a packet of the
  stage, from any detector; and by the built-in rule pack itself (a stage the pack does not
  catch yet is an expected failure with the reason ``rule pack gap: <stage>``).
- The normal traffic is quiet: no medium-or-higher alert outside the attack stages.
- The whole JSON report and the text report (100 columns) equal the golden files in
  ``tests/detect/golden/``. Regenerate them with ``OTSHIELD_REGOLD=1`` after a deliberate
  change (a rule added or reworded...) and review the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.analyze import Analysis, AnalyzeOptions, run_analysis
from otshield.detect.report import analysis_json, exit_code, print_analysis
from otshield.detect.testplant import STAGES, GroundTruth, write_attack_capture, write_site

GOLDEN = Path(__file__).parent / "golden"
REGOLD = os.environ.get("OTSHIELD_REGOLD") == "1"



class Run:
    def __init__(self, analysis: Analysis, occurrences: list[Alert],
                 truth: list[GroundTruth]) -> None:
        self.analysis = analysis
        self.occurrences = occurrences
        self.truth = {g.stage: g for g in truth}


def _baseline_available() -> bool:
    try:
        from otshield.detect.baseline import open_baseline_detector  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    pytest.importorskip("otshield.detect.rules", reason="the rule engine is not installed")
    folder = tmp_path_factory.mktemp("analyze-golden")
    truth = write_attack_capture(folder / "plant.pcap")
    write_site(folder / "site.yaml")
    options = AnalyzeOptions(site="site.yaml",
                             baseline_mode="auto" if _baseline_available() else "off",
                             learn_packets=truth[0].first_frame - 1)
    occurrences: list[Alert] = []
    cwd = Path.cwd()
    os.chdir(folder)  # relative paths: the report names "plant.pcap", not a temp directory
    try:
        analysis = run_analysis([Path("plant.pcap")], options,
                                on_each_alert=occurrences.append)
    finally:
        os.chdir(cwd)
    return Run(analysis, occurrences, truth)


def _in_stage(alert: Alert, g: GroundTruth) -> bool:
    return any(g.first_frame <= f <= g.last_frame for f in (alert.frame, *alert.frames))


def _fitting(run: Run, stage: str, category: str | None = None) -> list[Alert]:
    g = run.truth[stage]
    return [a for a in run.occurrences
            if _in_stage(a, g) and set(a.techniques) & set(g.techniques)
            and (category is None or a.category == category)]


def _seen(run: Run, stage: str) -> str:
    g = run.truth[stage]
    found = sorted({f"{a.rule_id} {list(a.techniques)}" for a in run.occurrences
                    if _in_stage(a, g)})
    return (f"stage {stage!r} ({g.description}; frames {g.first_frame}-{g.last_frame}, "
            f"{g.src} -> {g.dst}) needs one of {list(g.techniques)} (expected rule family "
            f"{g.rule!r}); alerts on its packets: {found or 'none'}")


@pytest.mark.parametrize("stage", [name for name, _ in STAGES])
def test_stage_is_detected(run: Run, stage: str) -> None:
    assert _fitting(run, stage), _seen(run, stage)


@pytest.mark.parametrize("stage", [name for name, _ in STAGES])
def test_stage_is_detected_by_the_rule_pack(run: Run, stage: str) -> None:
    assert _fitting(run, stage, "rule"), _seen(run, stage)


def test_normal_traffic_is_quiet(run: Run) -> None:
    stages = list(run.truth.values())
    noisy = sorted({(a.severity, a.rule_id, a.frame, a.src_ip, a.dst_ip, a.description)
                    for a in run.occurrences if severity_at_least(a.severity, "medium")
                    and not any(_in_stage(a, g) for g in stages)})
    assert not noisy, f"medium-or-higher alerts on normal traffic: {noisy}"


def test_exit_code_says_high_severity_alerts_were_found(run: Run) -> None:
    assert run.analysis.problems == []
    assert exit_code(run.analysis) == 3


def _normalised_json(analysis: Analysis) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(analysis_json(analysis))
    doc["generator"] = "otshield"  # the version changes, the report does not
    doc["summary"]["seconds"] = 0.0  # wall-clock time
    return doc


def _compare(path: Path, actual: str) -> None:
    if REGOLD or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not REGOLD:
            pytest.fail(f"{path.name} did not exist: written; review it and run again")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (f"{path.name} differs from the analysis; if the change is "
                                "deliberate, regenerate with OTSHIELD_REGOLD=1 and review the "
                                "diff")


def test_json_report_golden(run: Run) -> None:
    doc = _normalised_json(run.analysis)
    assert doc["summary"]["captures"] == ["plant.pcap"]
    assert doc["options"]["site"] == "site.yaml"
    _compare(GOLDEN / "analyze_report.json", json.dumps(doc, indent=2, sort_keys=False) + "\n")


def test_text_report_golden(run: Run) -> None:
    buf = StringIO()
    print_analysis(run.analysis, Console(file=buf, width=100, force_terminal=False,
                                         color_system=None))
    # Trailing blanks are rich's cell padding; nothing a reader sees.
    text = "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
    assert max(len(line) for line in text.splitlines()) <= 100
    assert re.search(r"captures\s+1: plant\.pcap", text)
    _compare(GOLDEN / "analyze_report.txt", text)

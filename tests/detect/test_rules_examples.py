"""The examples runner and the ``otshield rules`` verbs: a wrong example is caught and named,
``check`` prints every problem, ``list`` gives the catalogue."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from otshield.detect.rules import parse_rules
from otshield.detect.rules.cli import register
from otshield.detect.rules.examples import main, run_example, run_examples

RULES = """\
rules:
  - id: t.s7.stop
    title: S7 STOP
    severity: high
    techniques: [T0881]
    description: A STOP halts the process.
    response: Ask the plant.
    message: "STOP from {src_ip} ({src.zone})"
    match: {dataset: s7comm, function: plc_stop, src.zone: {ne: Control}}
    examples:
      match:
        - {dataset: s7comm, function: plc_stop, src_ip: 10.1.0.5}
        - events:
            - {dataset: s7comm, function: plc_stop, src_ip: 10.1.0.5}
          context:
            10.1.0.5: {zone: Office, level: 4}
      no_match:
        - {dataset: s7comm, function: read_var}
        - events:
            - {dataset: s7comm, function: plc_stop, src_ip: 10.3.0.5}
          context:
            10.3.0.5: {zone: Control, level: 2, roles: [engineering_workstation]}
  - id: t.modbus.burst
    title: Modbus write burst
    severity: medium
    techniques: [T0836]
    description: Many writes.
    response: Look.
    enabled: false
    match: {dataset: modbus, function_class: write}
    threshold: {window: 10s, count: 2}
    examples:
      match:
        - events:
            - {dataset: modbus, function_class: write, ts: 0}
            - {dataset: modbus, function_class: write, ts: 5}
      no_match:
        - events:
            - {dataset: modbus, function_class: write, ts: 0}
            - {dataset: modbus, function_class: write, ts: 15}
"""


def test_examples_pass_including_disabled_rules() -> None:
    rs = parse_rules(RULES, "r.yaml")
    assert run_examples(rs) == []
    rule = rs.rules[0]
    alerts = run_example(rule, rule.examples[1])
    assert [a.description for a in alerts] == ["STOP from 10.1.0.5 (Office)"]
    assert alerts[0].source is not None and alerts[0].source.level == 4


def test_wrong_examples_are_caught() -> None:
    wrong = RULES.replace("{zone: Control, level: 2", "{zone: Office, level: 4").replace(
        "function_class: write, ts: 5}", "function_class: write, ts: 11}")
    failures = run_examples(parse_rules(wrong, "r.yaml"))
    assert [str(f) for f in failures] == [
        "r.yaml:19: rule t.s7.stop: example no_match[1]: expected no alert, got 1 alert(s): "
        "STOP from 10.3.0.5 (Office)",
        "r.yaml:34: rule t.modbus.burst: example match[0]: expected an alert, got none",
    ]
    assert failures[0].rule_id == "t.s7.stop" and failures[0].example == "no_match[1]"


def test_examples_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(RULES)
    assert main([str(good), "--no-builtin"]) == 0
    assert "2 rules, 6 examples, 0 failed" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("function: read_var", "function: plc_stop"))
    assert main([str(bad), "--no-builtin"]) == 1
    assert "example no_match[0]: expected no alert" in capsys.readouterr().out
    broken = tmp_path / "broken.yaml"
    broken.write_text(RULES.replace("severity: high", "severity: hi"))
    assert main([str(broken), "--no-builtin"]) == 2
    assert f"{broken}:4: rule t.s7.stop: severity 'hi'" in capsys.readouterr().out


def cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, Console(file=out, width=200), Console(file=err, width=200))
    return code, out.getvalue(), err.getvalue()


def test_cli_check_and_test(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(RULES)
    code, out, err = cli("rules", "check", "--rules", str(good), "--no-builtin")
    assert (code, out) == (0, "")
    assert "2 rules in 1 file(s): no problems" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text(RULES.replace("severity: high", "severity: hi").replace(
        "function_class: write}", "function_clas: write}"))
    code, out, err = cli("rules", "check", "--rules", str(broken), "--no-builtin")
    assert code == 2
    assert out.splitlines() == [
        f"{broken}:4: rule t.s7.stop: severity 'hi' is not one of info, low, medium, high, "
        "critical (did you mean 'high'?)",
        f"{broken}:30: rule t.modbus.burst: unknown field 'function_clas' for modbus (did you "
        "mean 'function_class'?)"]
    code, out, err = cli("rules", "test", "--rules", str(good), "--no-builtin")
    assert code == 0 and "6 examples: 6 passed, 0 failed" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("function: read_var", "function: plc_stop"))
    code, out, err = cli("rules", "test", "--rules", str(bad), "--no-builtin")
    assert code == 1 and "no_match[0]" in out
    code, out, err = cli("rules", "test", "--rules", str(bad), "--no-builtin", "--rule",
                         "t.modbus")
    assert code == 0 and "1 rules, 2 examples" in err


def test_cli_list(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(RULES)
    code, out, _ = cli("rules", "list", "--rules", str(good), "--no-builtin")
    assert code == 0 and "t.s7.stop" in out and "t.modbus.burst (disabled)" in out
    code, out, _ = cli("rules", "list", "--rules", str(good), "--no-builtin", "--format",
                       "json")
    rows = json.loads(out)
    assert [(r["id"], r["severity"], r["techniques"], r["kind"]) for r in rows] == [
        ("t.s7.stop", "high", ["T0881"], "match"),
        ("t.modbus.burst", "medium", ["T0836"], "threshold")]
    assert rows[0]["tactics"] == ["inhibit-response-function"]
    code, out, _ = cli("rules", "list", "--rules", str(good), "--no-builtin", "--format",
                       "markdown")
    assert out.startswith("# Rule catalogue")
    assert "| [`t.s7.stop`](#ts7stop) | high | T0881 | S7 STOP |" in out
    assert "### t.modbus.burst" in out and "**disabled by default**" in out
    assert "threshold: 2 events within 10s" in out
    assert "[T0881 Service Stop](https://attack.mitre.org/techniques/T0881)" in out
    assert "*What to do.* Ask the plant." in out

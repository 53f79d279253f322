"""The baseline on real captures: learn on normal traffic, protect on what follows.

Normal captures: learn on the first half of the events, protect on the second half; the alerts
are printed and must stay few. Attack captures: learn on traffic before the attack (by the
ground truth: the Lemay label CSV, the QUT attack log), protect on the attack; the baseline must
see the new talkers and functions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.baseline import Baseline, BaselineDetector
from otshield.detect.context import AssetContext
from otshield.engine import decode_file
from otshield.events import Event
from support import PCAPS

pytestmark = pytest.mark.corpus


def _need(*paths: Path) -> None:
    for path in paths:
        if not path.is_file():
            pytest.skip(f"third-party corpus not found: {path}")


def _run(learn: list[Event], protect: list[Event]) -> list[Alert]:
    alerts: list[Alert] = []
    det = BaselineDetector(Baseline(), AssetContext(), alerts.append, mode="auto")
    for e in learn:
        det.observe(e)
    det.start_protecting()
    for e in protect:
        det.observe(e)
    det.finish()
    return alerts


def _show(name: str, alerts: list[Alert]) -> None:
    print(f"\n{name}: {len(alerts)} alerts {dict(Counter(a.rule_id for a in alerts))}")
    for a in alerts:
        print(f"  {a.severity:8} {a.rule_id:26} frame {a.frame}: {a.description[:160]}")


@pytest.mark.parametrize(("rel", "most"), [
    ("iti/modbus/ModbusTCP.pcap", 0),
    ("iti/modbus/modbus_test.pcap", 0),
    ("qut-dnp3/Control_testing_frequent_attacker.pcap", 0),
])
def test_normal_second_half_is_quiet(rel: str, most: int) -> None:
    path = PCAPS / rel
    _need(path)
    events = decode_file(path)
    half = len(events) // 2
    alerts = _run(events[:half], events[half:])
    _show(rel, alerts)
    assert sum(severity_at_least(a.severity, "medium") for a in alerts) <= most
    assert len(alerts) <= 2


def test_lemay_characterization_rogue_master() -> None:
    """The compromised 192.168.1.101 starts polling other RTUs over Modbus: learnt on the
    command-and-control capture before its first labelled attack packet (frame 811)."""
    base = PCAPS / "lemay-modbus"
    learn_path = base / "CnC_uploading_exe_modbus_6RTU_with_operate.pcap"
    attack_path = base / "characterization_modbus_6RTU_with_operate.pcap"
    _need(learn_path, attack_path)
    learn = [e for e in decode_file(learn_path) if e.frame < 811]
    alerts = _run(learn, decode_file(attack_path))
    _show("lemay characterization", alerts)
    rogue = [a for a in alerts if a.source is not None and a.source.ip == "192.168.1.101"
             and a.protocol == "modbus"]
    assert {a.rule_id for a in rogue} >= {"baseline.new_protocol", "baseline.new_function"}
    assert any("T0848" in a.techniques for a in rogue)


def test_qut_injection_new_functions() -> None:
    """Injected DNP3 restarts and freezes: learnt on the normal QUT control capture."""
    base = PCAPS / "qut-dnp3"
    learn_path = base / "Control_testing_frequent_attacker.pcap"
    attack_path = base / "Injection_testing_frequent_attacker.pcap"
    _need(learn_path, attack_path)
    alerts = _run(decode_file(learn_path), decode_file(attack_path))
    _show("QUT injection", alerts)
    functions = {a.details.get("function_name") for a in alerts
                 if a.rule_id == "baseline.new_function"}
    assert {"WARM_RESTART", "COLD_RESTART", "IMMED_FREEZE"} <= functions
    restart = next(a for a in alerts if a.details.get("function_name") == "WARM_RESTART")
    assert restart.severity == "high" and restart.techniques == ("T0855",)

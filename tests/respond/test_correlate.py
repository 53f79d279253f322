"""Correlation: a multi-stage attack is one incident, unrelated alerts are not, and every join
says why; severity weighs the OT impact."""

from __future__ import annotations

import msgspec
import pytest

from otshield.detect.alert import Alert, AssetRef
from otshield.respond.correlate import Correlator, correlate
from otshield.respond.library import builtin_playbooks, propose

OFFICE = AssetRef(ip="10.10.10.101", name="OFFICE-PC", zone="Enterprise", level=4)
HMI = AssetRef(ip="10.10.20.10", name="HMI-01", zone="SCADA", level=2, roles=("hmi",))
PLC = AssetRef(ip="10.10.30.21", name="S7-FILLER", zone="Control", level=1)
SIS = AssetRef(ip="10.10.30.90", name="SIS-1", zone="Control", level=1, safety=True)
PRINTER = AssetRef(ip="10.10.10.50", name="PRINTER", zone="Enterprise", level=4)
SCANNER = AssetRef(ip="45.155.205.233")
BCAST = AssetRef(ip="10.10.30.255")


def alert(rule: str, ts: float, src: AssetRef, dst: AssetRef, sev: str = "high",
          tactics: tuple[str, ...] = (), techniques: tuple[str, ...] = ()) -> Alert:
    return Alert(ts=ts, frame=1, rule_id=rule, title=rule.replace(".", " "), severity=sev,
                 techniques=techniques, tactics=tactics, source=src, destination=dst,
                 first_seen=ts, last_seen=ts, key=f"{rule}|{src.ip}|{dst.ip}")


STORY = [
    alert("it.telnet.cleartext_login", 100, OFFICE, PRINTER, "medium", ("lateral-movement",),
          ("T0859",)),
    alert("it.lateral.remote_session_into_ot", 200, OFFICE, HMI, "high", ("lateral-movement",),
          ("T0886",)),
    alert("it.smb.executable_transfer_to_ot", 260, OFFICE, HMI, "high", ("lateral-movement",),
          ("T0867",)),
    alert("ot.s7.cpu_stop", 400, HMI, PLC, "critical", ("inhibit-response-function",),
          ("T0881",)),
]


def test_a_multi_stage_attack_is_one_incident_with_reasons() -> None:
    incidents = correlate([*STORY, alert("it.http.log4shell", 300, SCANNER,
                                         AssetRef(ip="10.10.15.80"), "high",
                                         ("initial-access",), ("T0819",))])
    assert len(incidents) == 2
    inc = next(i for i in incidents if "it.telnet.cleartext_login" in i.rules)
    assert inc.rules == [a.rule_id for a in STORY]
    assert inc.tactics == ["lateral-movement", "inhibit-response-function"]
    assert inc.techniques == ["T0859", "T0886", "T0867", "T0881"]
    assert inc.explanation[0] == "opened by it telnet cleartext_login [it.telnet.cleartext_login]"
    assert "the same source 10.10.10.101 (OFFICE-PC) acted earlier" in inc.explanation[1]
    assert ("10.10.20.10 (HMI-01) was a target earlier in this incident and now acts as a "
            "source") in inc.explanation[3]
    assert [a.ip for a in inc.attackers] == ["10.10.10.101"]
    assert {a.name for a in inc.ot_assets} == {"HMI-01", "S7-FILLER"}
    assert inc.severity == "critical" and inc.score == 100.0
    assert inc.first_seen == 100 and inc.last_seen == 400
    names = [p.name for p in propose(inc, builtin_playbooks())]
    assert names[0] == "Ransomware in IT threatening OT"
    assert "Unauthorised PLC program change" in names


def test_order_of_arrival_does_not_matter() -> None:
    a = correlate(STORY)
    b = correlate(list(reversed(STORY)))
    assert [i.alert_ids for i in a] == [i.alert_ids for i in b]


def test_the_window_closes_an_incident() -> None:
    late = alert("ot.s7.cpu_stop", 400 + 10 * 3600, HMI, PLC, "critical")
    assert len(correlate([*STORY[:3], late], window=3600)) == 2
    assert len(correlate([*STORY[:3], late], window=24 * 3600)) == 1


def test_broadcast_targets_join_nothing() -> None:
    a = alert("ot.enip.list_identity_sweep", 10, AssetRef(ip="10.10.30.99"), BCAST, "medium")
    b = alert("ot.enip.list_identity_sweep", 20, AssetRef(ip="10.10.30.98"), BCAST, "medium")
    assert len(correlate([a, b])) == 2


def test_a_bridge_alert_merges_two_incidents() -> None:
    c = Correlator()
    c.add(alert("a.one", 10, OFFICE, HMI))
    c.add(alert("b.two", 20, PRINTER, PLC))
    assert len(c.incidents()) == 2
    c.add(alert("c.bridge", 30, HMI, PLC, "critical"))
    (inc,) = c.incidents()
    assert any(line.startswith("merged with INC-") for line in inc.explanation)
    assert set(inc.rules) == {"a.one", "b.two", "c.bridge"}


def test_safety_targets_raise_the_score() -> None:
    (plain,) = correlate([alert("x.write", 10, OFFICE, PLC, "medium")])
    (safety,) = correlate([alert("x.write", 10, OFFICE, SIS, "medium")])
    assert plain.score == 60.0 and safety.score == 65.0
    (it_only,) = correlate([alert("x.write", 10, OFFICE, PRINTER, "medium")])
    assert it_only.score == 50.0 and it_only.severity == "medium"


def test_low_floor_keeps_info_alerts_out_unless_they_join() -> None:
    info = alert("net.new_talker", 5, PRINTER, AssetRef(ip="10.10.10.9"), "low")
    assert correlate([info]) == []
    joined = correlate([STORY[0], alert("net.new_talker", 150, OFFICE, PRINTER, "info")])
    assert len(joined) == 1 and len(joined[0].alert_ids) == 2


def test_ids_are_stable_and_name_the_first_alert_time() -> None:
    first, again = correlate(STORY)[0], correlate(STORY)[0]
    assert first.id == again.id and first.id.startswith("INC-100-")


def test_a_large_incident_is_summarised_once_when_read(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Thousands of alerts in one incident: the summary (assets, score, title) is computed
    when the incidents are read, once per incident, not again on every alert (that made
    correlating 10,000 stored alerts take 26 s), and it counts every alert and asset."""
    from otshield.respond import correlate as module

    refreshed: list[str] = []
    original = module.Correlator._refresh

    def counting(self: module.Correlator, o: module._Open) -> None:
        refreshed.append(o.incident.id)
        original(self, o)

    monkeypatch.setattr(module.Correlator, "_refresh", counting)
    alerts = [alert("ot.modbus.write", 1000.0 + i, OFFICE,
                    AssetRef(ip=f"10.10.30.{1 + i % 200}", zone="Control", level=1),
                    tactics=("impair-process-control",), techniques=("T0836",))
              for i in range(3000)]
    alerts = [a if i % 3 else msgspec.structs.replace(a, key=f"{a.key}|{i}")
              for i, a in enumerate(alerts)]
    c = Correlator()
    for a in alerts:
        assert c.add(a) is not None
    assert refreshed == []
    (inc,) = c.incidents()
    assert refreshed == [inc.id]
    assert len(inc.alert_ids) == len({a.key for a in alerts}) == 1200
    assert len(inc.assets) == 201 and [a.ip for a in inc.attackers] == [OFFICE.ip]
    assert len(inc.ot_assets) == 200 and inc.score == 87.0  # high 72, level 1 +10, process +5
    assert inc.title.endswith("(1200 alerts)")
    c.incidents()
    assert refreshed == [inc.id]  # nothing changed since: not summarised again

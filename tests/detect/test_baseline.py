"""Baseline detector: learning, each alert kind firing exactly when it should, zones, auto mode,
maintenance windows, persistence, editing and caps, on synthetic event streams."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from otshield.detect.alert import Alert
from otshield.detect.baseline import (
    Baseline,
    BaselineDetector,
    LearningSettings,
    Limits,
    MaintenanceWindow,
    load_baseline,
    parse_maintenance,
    save_baseline,
)
from otshield.detect.baseline.edit import allow, forget, parse_entry
from otshield.detect.baseline.model import merge_interval
from otshield.detect.context import AssetContext
from otshield.errors import ConfigError
from otshield.events import ArpEvent, FlowEvent
from otshield.inventory.site import parse_site
from otshield.protocols.dnp3.events import Dnp3Event
from otshield.protocols.modbus.events import ModbusEvent
from otshield.yamlsource import load_yaml

HMI, PLC, ROGUE = "10.0.0.5", "10.0.0.2", "10.0.0.9"
_FC_NAMES = {1: "READ_COILS", 3: "READ_HOLDING_REGISTERS", 5: "WRITE_SINGLE_COIL",
             16: "WRITE_MULTIPLE_REGISTERS", 8: "DIAGNOSTICS"}
_FC_CLASS = {1: "read", 3: "read", 5: "write", 16: "write", 8: "control"}


def mb(ts: float, fc: int = 3, *, client: str = HMI, server: str = PLC, flow: int = 1,
       unit: int = 1, address: int = 0, quantity: int = 10, frame: int = 1) -> ModbusEvent:
    return ModbusEvent(1, unit, fc, _FC_NAMES[fc], _FC_CLASS[fc], "ok", ts=ts, frame=frame,
                       flow_id=flow, src_ip=client, src_port=50_000 + flow, dst_ip=server,
                       dst_port=502, transport="tcp", address=address, quantity=quantity)


def normal(start: float = 0.0, cycles: int = 40) -> list[ModbusEvent]:
    """An HMI polling holding registers 0-9 every second and writing 100-120 every 10 s."""
    out = []
    for i in range(cycles):
        out.append(mb(start + i * 1.0 + (0.01 if i % 2 else 0.0), 3))
        if i % 10 == 0:
            out.append(mb(start + i * 1.0 + 0.5, 16, address=100, quantity=21))
    return out


class Sink(list[Alert]):
    def __call__(self, alert: Alert) -> None:
        self.append(alert)

    def kinds(self) -> list[str]:
        return [a.rule_id for a in self]


def young() -> Baseline:
    """A baseline without the maturity check: these tests learn on a few events on purpose."""
    return Baseline(learning=LearningSettings(mature_seconds=0.0, mature_events=0))


def learnt(events: list, **kwargs: object) -> Baseline:  # type: ignore[type-arg]
    det = BaselineDetector(young(), AssetContext(), Sink(), mode="learn", **kwargs)  # type: ignore[arg-type]
    for e in events:
        det.observe(e)
    det.finish()
    return det.baseline


def protect(baseline: Baseline, events: list, **kwargs: object) -> Sink:  # type: ignore[type-arg]
    sink = Sink()
    det = BaselineDetector(baseline, AssetContext(), sink, mode="protect", **kwargs)  # type: ignore[arg-type]
    for e in events:
        det.observe(e)
    det.finish()
    return sink


# -- learning -------------------------------------------------------------------------------------
def test_learn_builds_the_model_and_never_alerts() -> None:
    sink = Sink()
    det = BaselineDetector(Baseline(), AssetContext(), sink, mode="learn")
    for e in normal():
        det.observe(e)
    det.finish()
    assert sink == []
    zone = det.baseline.zones[""]
    assert sorted(zone.assets) == [PLC, HMI]
    assert zone.assets[HMI].uses == {"modbus"} and zone.assets[PLC].serves == {"modbus"}
    assert list(zone.pairs) == [f"{HMI} {PLC} modbus"]
    pair = zone.pairs[f"{HMI} {PLC} modbus"]
    assert pair.ports == {502}
    assert sorted(pair.functions) == ["16", "3"]
    assert pair.functions["3"].count == 40 and pair.functions["16"].function_class == "write"
    assert pair.writes == {"unit 1 holding registers": [(100, 120)]}
    poll = pair.polls["3@1/0"]
    # intervals alternate 1.01 and 0.99 (39 of them): median 1.01 (20 x 1.01, 19 x 0.99)
    assert poll.count == 39
    assert poll.median == pytest.approx(1.01)
    assert poll.mad == pytest.approx(0.0)
    assert zone.events == 44


def test_protect_on_the_same_traffic_is_silent() -> None:
    baseline = learnt(normal())
    assert protect(baseline, normal(start=1000.0)) == []


# -- each alert kind ------------------------------------------------------------------------------
def test_new_asset_and_talker_for_a_rogue_master() -> None:
    baseline = learnt(normal())
    sink = protect(baseline, [mb(100.0, 3, client=ROGUE, flow=7), mb(101.0, 3, client=ROGUE,
                                                                     flow=7)])
    assert sink.kinds() == ["baseline.new_asset", "baseline.new_talker"]
    asset, talker = sink
    assert asset.severity == "medium" and asset.techniques == ("T0848",)
    assert asset.description == ("10.0.0.9 appeared as a client of modbus; it is not among "
                                 "the 2 assets learnt on the site.")
    assert talker.severity == "medium" and talker.category == "baseline"
    assert talker.description == ("10.0.0.9 talked modbus to 10.0.0.2 for the first time; "
                                  "learnt modbus clients of 10.0.0.2: 10.0.0.5.")
    assert talker.source is not None and talker.source.ip == ROGUE
    assert talker.destination is not None and talker.destination.ip == PLC
    # reading what any client of the PLC reads is no new function; writing elsewhere is
    sink = protect(baseline, [mb(100.0, 3, client=ROGUE, flow=7),
                              mb(102.0, 16, client=ROGUE, flow=7, address=4000, quantity=11)])
    assert sink.kinds() == ["baseline.new_asset", "baseline.new_talker",
                            "baseline.new_write_range"]
    assert sink[2].description == ("10.0.0.9 wrote unit 1 holding registers 4000-4010 on "
                                   "10.0.0.2 (modbus); learnt writes: 100-120.")


def test_new_function_alerts_once_with_severity_by_class() -> None:
    baseline = learnt(normal())
    sink = protect(baseline, [mb(100.0, 1), mb(101.0, 1), mb(102.0, 8), mb(103.0, 8)])
    assert sink.kinds() == ["baseline.new_function", "baseline.new_function"]
    read, control = sink
    assert read.severity == "low" and read.details["function"] == "1"
    assert read.techniques == ("T0801", "T0861")
    assert control.severity == "high" and control.techniques == ("T0855",)
    assert control.description.startswith("10.0.0.5 used modbus DIAGNOSTICS (code 8, control) "
                                           "on 10.0.0.2 unit 1; learnt for this pair: ")
    assert read.key != control.key


def test_new_write_range_inside_outside_and_new_area() -> None:
    baseline = learnt(normal())
    inside = [mb(100.0, 16, address=105, quantity=6), mb(101.0, 16, address=100, quantity=21)]
    assert protect(baseline, inside) == []
    sink = protect(baseline, [mb(100.0, 16, address=4000, quantity=11),
                              mb(101.0, 16, address=4000, quantity=11),
                              mb(102.0, 16, address=4011, quantity=2),  # grows the same region
                              mb(103.0, 5, address=7, quantity=1)])
    assert sink.kinds() == ["baseline.new_write_range", "baseline.new_function",
                            "baseline.new_write_range"]
    registers, _, coils = sink
    assert registers.severity == "medium" and registers.techniques == ("T0836", "T0855")
    assert registers.details["range"] == "4000-4010"
    assert coils.severity == "high"
    assert coils.description == ("10.0.0.5 wrote unit 1 coils 7 on 10.0.0.2 (modbus); unit 1 "
                                 "coils was never written.")


def _polls(start: float, period: float, n: int) -> list[ModbusEvent]:
    return [mb(start + i * period, 3, frame=i + 1) for i in range(n)]


def test_polling_change_after_enough_samples_only() -> None:
    baseline = learnt(_polls(0.0, 1.0, 41))
    assert baseline.zones[""].pairs[f"{HMI} {PLC} modbus"].polls["3@1/0"].count == 40
    assert protect(baseline, _polls(1000.0, 1.02, 40)) == []
    # one window of 8 fast intervals is a burst, two in a row a new period
    assert protect(baseline, _polls(1000.0, 0.1, 9)) == []
    sink = protect(baseline, _polls(1000.0, 0.1, 40))
    assert sink.kinds() == ["baseline.polling_change"]
    assert sink[0].severity == "medium"  # ten times faster
    assert sink[0].frame == 17  # the 16th interval completes the second window
    assert "every 0.100 s; learnt 1.000 s" in sink[0].description
    slow = protect(baseline, _polls(1000.0, 5.0, 40))
    assert slow.kinds() == ["baseline.polling_change"] and slow[0].severity == "low"
    # too few intervals learnt: never judged
    assert protect(learnt(_polls(0.0, 1.0, 10)), _polls(1000.0, 0.1, 40)) == []


def test_new_protocol_supersedes_new_talker() -> None:
    baseline = learnt(normal())
    flow = FlowEvent(ts=200.0, frame=9, flow_id=50, src_ip=HMI, src_port=40000, dst_ip=PLC,
                     dst_port=102, transport="tcp", start=199.0, protocol="s7comm",
                     packets_to_server=5, packets_to_client=5, bytes_to_client=300)
    sink = protect(baseline, [flow])
    assert sink.kinds() == ["baseline.new_protocol"]
    assert sink[0].description == ("10.0.0.2 now serves s7comm (10.0.0.5 -> 10.0.0.2); "
                                   "learnt: modbus.")


def test_unanswered_attempts_merge_into_one_alert_key() -> None:
    baseline = learnt(normal())
    flows = [FlowEvent(ts=300.0 + i, frame=20 + i, flow_id=100 + i, src_ip=HMI,
                       src_port=40000 + i, dst_ip=f"10.0.0.{100 + i}", dst_port=502,
                       transport="tcp", start=300.0 + i, protocol="", packets_to_server=1)
             for i in range(5)]
    sink = protect(baseline, flows)
    assert sink.kinds() == ["baseline.new_talker"] * 5
    assert len({a.key for a in sink}) == 1
    assert sink[0].techniques == ("T0846",)


def test_arp_sender_and_flow_responder_are_assets() -> None:
    arp = ArpEvent(ts=1.0, frame=1, operation="reply", sender_mac="00:00:00:00:00:07",
                   sender_ip="10.0.0.7", target_mac="00:00:00:00:00:05", target_ip=HMI)
    baseline = learnt([*normal(), arp])
    assert "10.0.0.7" in baseline.zones[""].assets
    again = ArpEvent(ts=1.0, frame=1, operation="request", sender_mac="00:00:00:00:00:08",
                     sender_ip="0.0.0.0", target_mac="", target_ip="10.0.0.8")
    assert protect(baseline, [arp, again]) == []


def test_spoofed_dnp3_direction_is_judged_by_port() -> None:
    def dnp3(ts: float, function: str, code: int, fclass: str, from_master: bool) -> Dnp3Event:
        return Dnp3Event(ts=ts, frame=1, flow_id=3, src_ip=HMI, src_port=55000, dst_ip=PLC,
                         dst_port=20000, transport="tcp", link_src=1, link_dst=10,
                         from_master=from_master, link_function="UNCONFIRMED_USER_DATA",
                         function=function, function_class=fclass, function_code=code, seq=0,
                         fir=True, fin=True, con=False, uns=False)

    baseline = learnt([dnp3(float(i), "READ", 1, "read", True) for i in range(5)])
    sink = protect(baseline, [dnp3(10.0, "WARM_RESTART", 14, "control", False)])
    assert sink.kinds() == ["baseline.new_function"]
    assert sink[0].details["function_name"] == "WARM_RESTART"


# -- modes ----------------------------------------------------------------------------------------
def test_auto_mode_switches_after_n_events() -> None:
    sink = Sink()
    det = BaselineDetector(Baseline(), AssetContext(), sink, mode="auto", learn_events=3)
    for e in [mb(0.0, 3), mb(1.0, 3), mb(2.0, 1)]:
        det.observe(e)
    assert sink == [] and det.learning
    det.observe(mb(3.0, 16, address=5, quantity=1))  # the 4th event: protected
    assert not det.learning
    assert sink.kinds() == ["baseline.new_function", "baseline.new_write_range"]
    assert sorted(det.baseline.zones[""].pairs[f"{HMI} {PLC} modbus"].functions) == ["1", "3"]


def test_auto_mode_switches_after_n_seconds_and_on_demand() -> None:
    sink = Sink()
    det = BaselineDetector(Baseline(), AssetContext(), sink, mode="auto", learn_seconds=10)
    det.observe(mb(100.0, 3))
    det.observe(mb(109.9, 1))
    assert sink == []
    det.observe(mb(110.0, 8))
    assert sink.kinds() == ["baseline.new_function"]
    sink2 = Sink()
    det2 = BaselineDetector(Baseline(), AssetContext(), sink2, mode="auto")
    det2.observe(mb(0.0, 3))
    det2.start_protecting()
    det2.observe(mb(1.0, 1))
    assert sink2.kinds() == ["baseline.new_function"]


_SITE = """
site: Test plant
zones:
  - name: Control
    level: 1
    subnets: [10.0.1.0/24]
  - name: Cell
    level: 1
    subnets: [10.0.2.0/24]
"""


def test_learning_per_zone() -> None:
    context = AssetContext(parse_site(_SITE))
    sink = Sink()
    det = BaselineDetector(Baseline(), context, sink, mode="auto", learn_events=2,
                           scope="zone")
    a = {"client": "10.0.1.5", "server": "10.0.1.2"}
    b = {"client": "10.0.2.5", "server": "10.0.2.2", "flow": 2}
    det.observe(mb(0.0, 3, **a))  # type: ignore[arg-type]
    det.observe(mb(1.0, 3, **a))  # type: ignore[arg-type]
    det.observe(mb(2.0, 1, **a))  # type: ignore[arg-type]  # Control has learnt 2: protected
    det.observe(mb(3.0, 3, **b))  # type: ignore[arg-type]  # Cell still learning
    det.observe(mb(4.0, 1, **b))  # type: ignore[arg-type]
    assert [(x.rule_id, x.destination.zone if x.destination else "") for x in sink] == [
        ("baseline.new_function", "Control")]
    assert det.baseline.site == "Test plant"
    assert sorted(det.baseline.zones) == ["Cell", "Control"]
    assert det.baseline.zones["Control"].assets["10.0.1.5"].uses == {"modbus"}
    assert sorted(det.baseline.zones["Cell"].pairs["10.0.2.5 10.0.2.2 modbus"].functions) == [
        "1", "3"]


def test_bad_mode_and_scope_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="mode must be"):
        BaselineDetector(Baseline(), AssetContext(), Sink(), mode="watch")
    with pytest.raises(ConfigError, match="scope must be"):
        BaselineDetector(Baseline(), AssetContext(), Sink(), scope="plant")


# -- maintenance windows --------------------------------------------------------------------------
def _window(action: str, **kw: object) -> MaintenanceWindow:
    from datetime import UTC, datetime
    return MaintenanceWindow(start=datetime.fromtimestamp(100.0, UTC),
                             end=datetime.fromtimestamp(200.0, UTC), action=action, **kw)  # type: ignore[arg-type]


def test_maintenance_suppress_then_alert_after_the_window() -> None:
    baseline = learnt(normal())
    sink = protect(baseline, [mb(150.0, 1), mb(250.0, 1)], windows=[_window("suppress")])
    assert [a.ts for a in sink] == [250.0]
    # a window for another asset does not apply
    sink = protect(baseline, [mb(150.0, 1)], windows=[_window("suppress", assets=[ROGUE])])
    assert sink.kinds() == ["baseline.new_function"]


def test_maintenance_relearn_learns_the_change() -> None:
    baseline = learnt(normal())
    baseline.maintenance.append(_window("relearn"))
    sink = protect(baseline, [mb(150.0, 1), mb(160.0, 16, address=300, quantity=1),
                              mb(250.0, 1), mb(260.0, 16, address=300, quantity=1)])
    assert sink == []
    pair = baseline.zones[""].pairs[f"{HMI} {PLC} modbus"]
    assert "1" in pair.functions
    assert pair.writes["unit 1 holding registers"] == [(100, 120), (300, 300)]


def test_maintenance_yaml_and_its_errors() -> None:
    doc = load_yaml("windows:\n  - start: 2024-05-04T06:00:00Z\n    end: 2024-05-04T08:00:00Z\n"
                    "    action: relearn\n    zones: [Control]\n", "mw.yaml")
    (window,) = parse_maintenance(doc, "mw.yaml")
    assert window.action == "relearn" and window.zones == ["Control"]
    assert window.end.timestamp() - window.start.timestamp() == 7200
    bad = {
        "windows:\n  - start: 2024-05-04T06:00:00Z\n    end: 2024-05-04T05:00:00Z\n":
            "mw.yaml:3: the window ends before it starts",
        "windows:\n  - start: 1\n    end: 2\n    action: ignore\n":
            "mw.yaml:4: action must be suppress or relearn",
        "windows:\n  - start: 1\n    end: 2\n    colour: red\n": "mw.yaml:4: unknown key",
        "windows:\n  - end: 2\n": "mw.yaml:2: the window has no 'start'",
        "windows:\n  - start: yesterday\n    end: 2\n": "mw.yaml:2: 'yesterday' is not a time",
        "windowz: []\n": "mw.yaml:1: unknown key 'windowz'",
    }
    for text, message in bad.items():
        with pytest.raises(ConfigError, match=message):
            parse_maintenance(load_yaml(text, "mw.yaml"), "mw.yaml")


# -- persistence ----------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path) -> None:
    baseline = learnt(normal())
    baseline.maintenance.append(_window("suppress", zones=["Control"], note="ticket 1"))
    path = tmp_path / "b.json"
    save_baseline(baseline, path)
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temporary file left
    again = load_baseline(path)
    assert msgspec.json.encode(again, order="deterministic") == msgspec.json.encode(
        baseline, order="deterministic")
    doc = json.loads(path.read_text())
    assert doc["format"] == "otshield-baseline" and doc["version"] == 1
    # the reloaded baseline protects like the original
    assert protect(again, normal(start=1000.0)) == []
    save_baseline(again, path)  # replacing keeps one file
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not a baseline file \\(not valid JSON"),
    ("[1, 2]", "not a baseline file \\(expected a JSON object"),
    ('{"format": "otshield-inventory", "version": 1}',
     "not a baseline file \\(format is 'otshield-inventory'"),
    ('{"format": "otshield-baseline", "version": 99}', "baseline version 99 is not supported"),
    ('{"format": "otshield-baseline", "version": 1, "zones": {"": {"events": "x"}}}',
     "invalid baseline: Expected `int`"),
    ('{"format": "otshield-baseline", "version": 1, "learning": {"scope": "plant"}}',
     "invalid baseline: Invalid enum value 'plant' - at `\\$.learning.scope`"),
    ('{"format": "otshield-baseline", "version": 1, "limits": {"pairs": 0}}',
     "invalid baseline: Expected `int` >= 1 - at `\\$.limits.pairs`"),
    ('{"format": "otshield-baseline", "version": 1, "maintenance": [{"start": '
     '"2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "action": "ignore"}]}',
     "invalid baseline: Invalid enum value 'ignore'"),
])
def test_corrupt_or_foreign_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))}: {message}"):
        load_baseline(path)


def test_missing_file_and_unwritable_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the baseline"):
        load_baseline(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="cannot write the baseline"):
        save_baseline(Baseline(), tmp_path / "no" / "dir" / "b.json")


# -- editing --------------------------------------------------------------------------------------
def test_allow_and_forget() -> None:
    baseline = learnt(normal())
    allow(baseline, parse_entry(f"function:{HMI},{PLC},modbus,1,READ_COILS"))
    allow(baseline, parse_entry(f"write:{HMI},{PLC},modbus,unit 1 holding registers,121-130"))
    allow(baseline, parse_entry(f"talker:{ROGUE},{PLC},modbus"))
    allow(baseline, parse_entry(f"asset:{ROGUE}"))
    assert protect(baseline, [mb(100.0, 1), mb(101.0, 16, address=125, quantity=6),
                              mb(102.0, 3, client=ROGUE, flow=9)]) == []
    assert baseline.zones[""].pairs[f"{HMI} {PLC} modbus"].writes[
        "unit 1 holding registers"] == [(100, 130)]
    forget(baseline, parse_entry(f"talker:{ROGUE},{PLC},modbus"))
    forget(baseline, parse_entry(f"write:{HMI},{PLC},modbus,unit 1 holding registers,110-119"))
    assert baseline.zones[""].pairs[f"{HMI} {PLC} modbus"].writes[
        "unit 1 holding registers"] == [(100, 109), (120, 130)]
    sink = protect(baseline, [mb(102.0, 3, client=ROGUE, flow=9),
                              mb(103.0, 16, address=115, quantity=1)])
    assert sink.kinds() == ["baseline.new_talker", "baseline.new_write_range"]
    forget(baseline, parse_entry(f"asset:{HMI}"))
    assert f"{HMI} {PLC} modbus" not in baseline.zones[""].pairs
    with pytest.raises(ConfigError, match="no such talker pair"):
        forget(baseline, parse_entry(f"function:{HMI},{PLC},modbus,3"))
    with pytest.raises(ConfigError, match="expected KIND:FIELDS"):
        parse_entry("pair:1,2,3")
    with pytest.raises(ConfigError, match="talker takes 3 fields"):
        parse_entry("talker:1,2")
    with pytest.raises(ConfigError, match="not FIRST-LAST"):
        allow(baseline, parse_entry(f"write:{HMI},{PLC},modbus,coils,a-b"))


# -- bounds ---------------------------------------------------------------------------------------
def test_caps_give_one_capacity_alert() -> None:
    baseline = Baseline(limits=Limits(assets=2, functions=2))
    sink = Sink()
    det = BaselineDetector(baseline, AssetContext(), sink, mode="learn")
    for i, (client, fc) in enumerate([(10, 3), (11, 3), (12, 3), (10, 1), (10, 16), (10, 5)]):
        det.observe(mb(float(i), fc, client=f"10.0.0.{client}", flow=client))
    assert sorted(baseline.zones[""].assets) == ["10.0.0.10", PLC]
    assert sorted(baseline.zones[""].pairs[f"10.0.0.10 {PLC} modbus"].functions) == ["1", "3"]
    assert sink.kinds().count("baseline.capacity") == 2  # assets, functions: once each
    tables = sorted(a.details["table"] for a in sink)
    assert tables == ["assets", "functions per pair"]


def test_merge_interval_joins_and_coarsens() -> None:
    ranges: list[tuple[int, int]] = []
    for lo, hi in [(10, 20), (30, 40), (21, 22), (50, 50), (0, 1), (45, 48)]:
        merge_interval(ranges, lo, hi, 64)
    assert ranges == [(0, 1), (10, 22), (30, 40), (45, 48), (50, 50)]
    merge_interval(ranges, 5, 35, 64)
    assert ranges == [(0, 1), (5, 40), (45, 48), (50, 50)]
    merge_interval(ranges, 100, 100, 3)  # over the cap: the closest neighbours join
    assert ranges == [(0, 40), (45, 50), (100, 100)]  # gaps 2 (48-50), then 4 (1-5)


def test_open_baseline_detector(tmp_path: Path) -> None:
    from otshield.detect.baseline import open_baseline_detector

    with pytest.raises(ConfigError, match="protect mode needs a learnt baseline"):
        open_baseline_detector(tmp_path / "none.json", "protect", AssetContext(), Sink())
    det = open_baseline_detector(tmp_path / "none.json", "auto", AssetContext(), Sink())
    for e in normal():
        det.observe(e)
    det.save(tmp_path / "b.json")
    sink = Sink()
    again = open_baseline_detector(tmp_path / "b.json", "protect", AssetContext(), sink)
    again.observe(mb(100.0, 1))
    assert sink.kinds() == ["baseline.new_function"]
    # auto over a finished learning period protects at once
    sink = Sink()
    auto = open_baseline_detector(tmp_path / "b.json", "auto", AssetContext(), sink,
                                  learn_events=10)
    assert not auto.learning
    auto.observe(mb(100.0, 1))
    assert sink.kinds() == ["baseline.new_function"]


def test_address_kinds() -> None:
    from otshield.detect.baseline.state import is_mac, is_unicast

    assert is_mac("00:1b:1b:00:00:01") and not is_mac("aaa:bbbb::cc:dd:e")
    assert is_unicast("10.0.0.1") and is_unicast("fe80::1") and is_unicast("00:1b:1b:00:00:01")
    for addr in ("224.0.0.251", "255.255.255.255", "0.0.0.0", "ff02::1", "01:0c:cd:01:00:01",
                 "not-an-address"):
        assert not is_unicast(addr), addr


def test_new_functions_of_a_new_pair_merge_per_class() -> None:
    baseline = learnt(normal())
    sink = protect(baseline, [mb(100.0, 1, client=ROGUE, flow=7), mb(101.0, 8, client=ROGUE,
                                                                      flow=7),
                              mb(102.0, 1, client=ROGUE, server="10.0.0.3", flow=8),
                              mb(103.0, 3, client=ROGUE, server="10.0.0.3", flow=8)])
    functions = [a for a in sink if a.rule_id == "baseline.new_function"]
    assert [(a.details["function"], a.key) for a in functions] == [
        ("1", f"baseline.new_function|{ROGUE} {PLC} modbus|class:read"),
        ("8", f"baseline.new_function|{ROGUE} {PLC} modbus|class:control"),
        ("1", f"baseline.new_function|{ROGUE} 10.0.0.3 modbus|class:read"),
        ("3", f"baseline.new_function|{ROGUE} 10.0.0.3 modbus|class:read")]


def test_an_immature_baseline_alerts_at_low_severity_only() -> None:
    """Learnt on a few seconds of traffic, a baseline has not seen the plant's cycle yet: what it
    calls new often is not, so it must not raise medium alerts (the alert says why)."""
    det = BaselineDetector(Baseline(), AssetContext(), Sink(), mode="learn")
    for e in normal():
        det.observe(e)
    det.finish()
    sink = protect(det.baseline, [mb(3.0, 16, address=500, quantity=2)])
    assert sink, "the new write range must still be reported"
    assert {a.severity for a in sink} == {"low"}
    assert all("baseline immature" in a.details["maturity"] for a in sink)
    mature = learnt(normal())  # maturity check off: the same deviation is serious
    assert any(a.severity != "low" for a in protect(mature, [mb(3.0, 16, address=500, quantity=2)]))

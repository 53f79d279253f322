"""The alert record, its merging, the address context and the detection pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from otshield.detect.alert import Alert, AlertAggregator, make_alert, severity_at_least
from otshield.detect.attack import load_attack_table, table_from_bundle
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline
from otshield.errors import ConfigError
from otshield.events import AnomalyEvent, Event, FlowEvent
from otshield.inventory import InventoryBuilder
from otshield.inventory.site import parse_site
from support import SHARED

SITE = """
zones:
  - {name: Office, level: 4, subnets: [10.1.0.0/16]}
  - {name: Control, level: 1, subnets: [10.3.0.0/16], vlans: [30]}
  - {name: Cell, level: 0, subnets: [10.3.9.0/24]}
assets:
  10.3.0.5: {name: PLC-5, safety: "true", role: controller}
  10.1.0.9: {purdue_level: 3}
"""


def flow(ts: float, src: str, dst: str, frame: int = 1) -> FlowEvent:
    return FlowEvent(ts=ts, frame=frame, start=ts, src_ip=src, dst_ip=dst, src_port=40000,
                     dst_port=502, transport="tcp", protocol="modbus")


def test_make_alert_carries_event_and_ecs_names() -> None:
    ev = flow(10.0, "10.1.0.2", "10.3.0.5", frame=7)
    alert = make_alert(ev, rule_id="t.x", title="X", severity="high", techniques=["T0858"],
                       tactics=["execution"], description="d", response="r")
    assert (alert.ts, alert.frame, alert.src_ip, alert.dst_ip) == (10.0, 7, "10.1.0.2", "10.3.0.5")
    assert alert.key == "t.x|10.1.0.2|10.3.0.5"
    assert alert.frames == (7,)
    assert alert.severity_score == 75
    assert alert.protocol == "flow"
    out = json.loads(msgspec.json.encode(alert))
    assert out["event.dataset"] == "alert"
    assert out["rule.id"] == "t.x"
    assert out["threat.technique.id"] == ["T0858"]
    assert out["event.severity"] == 75
    assert out["evidence"][0]["event.dataset"] == "flow"
    assert out["evidence"][0]["source.ip"] == "10.1.0.2"


def test_aggregator_merges_by_key_and_orders_by_severity() -> None:
    heard: list[Alert] = []
    agg = AlertAggregator(heard.append)
    for i in range(5):
        agg(make_alert(flow(float(i), "10.1.0.2", "10.3.0.5", frame=i + 1), rule_id="a",
                       title="A", severity="low"))
    agg(make_alert(flow(9.0, "10.1.0.3", "10.3.0.5", frame=50), rule_id="b", title="B",
                   severity="critical"))
    assert len(heard) == 2  # first occurrence of each key only
    merged = agg.alerts()
    assert [a.rule_id for a in merged] == ["b", "a"]
    a = merged[1]
    assert (a.count, a.ts, a.last_seen, a.frames) == (5, 0.0, 4.0, (1, 2, 3, 4, 5))
    assert len(a.evidence) == 3  # bounded samples


def test_aggregator_is_bounded() -> None:
    agg = AlertAggregator(max_keys=3)
    for i in range(10):
        agg(make_alert(flow(float(i), f"10.1.0.{i}", "10.3.0.5"), rule_id="scan",
                       title="S", severity="medium"))
    merged = {a.key: a.count for a in agg.alerts()}
    assert len(merged) == 4
    assert merged["scan|*"] == 7


def test_severity_order() -> None:
    assert severity_at_least("high", "medium")
    assert not severity_at_least("low", "medium")
    assert severity_at_least("critical", "critical")


def test_context_zones_levels_overrides() -> None:
    ctx = AssetContext(parse_site(SITE))
    assert ctx.zone_name("10.3.9.7") == "Cell"  # most specific subnet wins
    assert ctx.level("10.3.9.7") == 0
    assert ctx.zone_name("10.3.1.1") == "Control"
    assert ctx.zone_name("192.168.1.1") == ""
    assert ctx.zone_name("", vlan=30) == "Control"
    assert ctx.level("10.1.0.9") == 3  # asset override beats the zone
    assert ctx.is_it("10.1.0.2") and not ctx.is_ot("10.1.0.2")
    assert ctx.is_ot("10.3.0.5")
    assert ctx.safety("10.3.0.5") and not ctx.safety("10.3.0.6")
    assert ctx.roles("10.3.0.5") == {"controller"}
    ref = ctx.ref("10.3.0.5")
    assert (ref.asset, ref.name, ref.zone, ref.level, ref.roles, ref.safety) == (
        "ip:10.3.0.5", "PLC-5", "Control", 1, ("controller",), True)
    assert ctx.zone_name("not-an-ip") == ""


def test_context_roles_come_from_the_inventory() -> None:
    inv = InventoryBuilder()
    ctx = AssetContext(None, inv)
    assert ctx.roles("10.0.0.1") == frozenset()
    host = inv.host("ip:10.0.0.1", 1.0, 1)
    inv.role(host, "hmi", "polls 3 controllers", 1.0, 1)
    assert ctx.roles("10.0.0.1") == {"hmi"}
    assert ctx.level("10.0.0.1") is None  # no site file: unknown, not guessed


class Boom:
    name = "boom"

    def observe(self, event: Event) -> None:
        raise RuntimeError("bug")

    def finish(self) -> None:
        raise RuntimeError("bug at end")


class Every:
    name = "every"

    def __init__(self) -> None:
        self.sink = None
        self.seen: list[str] = []

    def observe(self, event: Event) -> None:
        self.seen.append(str(type(event).__struct_config__.tag))
        if isinstance(event, FlowEvent) and self.sink is not None:
            self.sink(make_alert(event, rule_id="f", title="F", severity="medium"))

    def finish(self) -> None:
        pass


def test_pipeline_contains_detector_errors_and_feeds_inventory_changes() -> None:
    out: list[Event] = []
    each: list[Alert] = []
    inv = InventoryBuilder()
    every = Every()
    pipe = DetectionPipeline([], inventory=inv, on_event=out.append, on_each_alert=each.append)
    pipe.add(Boom())
    every.sink = pipe.alert_sink  # type: ignore[assignment]
    pipe.add(every)
    pipe(flow(1.0, "10.1.0.2", "10.3.0.5"))
    pipe(flow(2.0, "10.1.0.2", "10.3.0.5"))
    pipe.finish()
    codes = [e.code for e in out if isinstance(e, AnomalyEvent)]
    assert "asset" in every.seen  # the inventory's change events reach detectors
    # Boom failed on every event the others saw, and once more at finish
    assert codes == ["detect.internal_error"] * (len(every.seen) + 1)
    assert len(each) == 2
    assert [(a.rule_id, a.count) for a in pipe.alerts()] == [("f", 2)]
    assert sum(isinstance(e, Alert) for e in out) == 1  # first occurrence to the output


def test_attack_table_shipped() -> None:
    table = load_attack_table()
    assert len(table.techniques) >= 80
    stop = table.get("T0858")
    assert stop is not None and stop.name == "Change Operating Mode"
    assert table.tactics[0].shortname == "initial-access"
    assert table.tactics[-1].shortname == "impact"
    # tactics come back in matrix order, each once
    assert table.tactics_of(["T0816", "T0858", "T0858"]) == (
        "execution", "evasion", "inhibit-response-function")
    assert table.get("T9999") is None


BUNDLE = SHARED / "data" / "standards" / "ics-attack.json"


@pytest.mark.corpus
@pytest.mark.skipif(not BUNDLE.exists(), reason="../shared/data/standards is absent")
def test_shipped_table_matches_the_official_bundle() -> None:
    fresh = table_from_bundle(BUNDLE)
    assert fresh == msgspec.structs.replace(load_attack_table(), source=fresh.source)


def test_bad_bundles(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        table_from_bundle(p)
    p.write_text('{"type": "indicator"}')
    with pytest.raises(ConfigError, match="not a STIX bundle"):
        table_from_bundle(p)
    p.write_text('{"type": "bundle", "id": "bundle--2d5b1f1e-3b0a-4ab5-b3d5-5cfd7b8e1f00", '
                 '"objects": []}')
    with pytest.raises(ConfigError, match="no ATT&CK for ICS techniques"):
        table_from_bundle(p)
    with pytest.raises(ConfigError, match="cannot read"):
        table_from_bundle(tmp_path / "absent.json")


def test_detectors_see_what_the_inventory_learnt_from_the_same_batch() -> None:
    """Rules ask for roles; the inventory must have taken an event before detectors see it."""
    inv = InventoryBuilder()
    known_at_observe: list[bool] = []

    class Probe:
        name = "probe"

        def observe(self, event: Event) -> None:
            if isinstance(event, FlowEvent):
                known_at_observe.append(f"ip:{event.src_ip}" in inv.hosts)

        def finish(self) -> None:
            pass

    pipe = DetectionPipeline([Probe()], inventory=inv)
    for i in range(5):
        pipe(flow(100.0 + i * 0.1, f"10.1.0.{i + 1}", "10.3.0.5"))
    assert known_at_observe == []  # still in the batch
    pipe.finish()
    assert known_at_observe == [True] * 5


class HostCount:
    """Records, for each flow it observes, how many hosts the inventory knew then."""

    name = "count"

    def __init__(self, inv: InventoryBuilder) -> None:
        self.inv = inv
        self.seen: list[tuple[float, int]] = []

    def observe(self, event: Event) -> None:
        if isinstance(event, FlowEvent):
            self.seen.append((event.ts, len(self.inv.hosts)))

    def finish(self) -> None:
        pass


# Batches close on the event reaching one second after the batch's first: [0, 0.5, 1.0],
# [1.2, 2.5], then 2.6 opens the third. Every flow adds its source; 10.3.0.5 is the server.
BATCHED = [(0.0, 1), (0.5, 2), (1.0, 3), (1.2, 4), (2.5, 5), (2.6, 6)]
EACH_BATCH_ALONE = [(0.0, 4), (0.5, 4), (1.0, 4), (1.2, 6), (2.5, 6), (2.6, 7)]
"""What detectors see when each batch runs alone, the inventory first: the hosts of the
batches run so far, never those of a later batch."""


def test_offline_batches_wait_and_run_as_they_would_alone() -> None:
    inv = InventoryBuilder()
    probe = HostCount(inv)
    pipe = DetectionPipeline([probe], inventory=inv)
    for ts, n in BATCHED:
        pipe(flow(ts, f"10.1.0.{n}", "10.3.0.5"))
    assert probe.seen == []  # complete batches wait for more events (offline)
    pipe.run_complete()  # the complete ones, not the open one (2.6)
    assert probe.seen == EACH_BATCH_ALONE[:5]
    pipe.finish()
    assert probe.seen == EACH_BATCH_ALONE


def test_live_batches_run_when_complete() -> None:
    inv = InventoryBuilder()
    probe = HostCount(inv)
    pipe = DetectionPipeline([probe], inventory=inv, max_delay=5.0)
    for ts, n in BATCHED:
        pipe(flow(ts, f"10.1.0.{n}", "10.3.0.5"))
    assert probe.seen == EACH_BATCH_ALONE[:5]  # nothing waits but the open batch
    pipe.tick(now=100.0)
    pipe.tick(now=106.0)  # the open batch has waited max_delay
    assert probe.seen == EACH_BATCH_ALONE


def test_a_detector_failing_on_one_event_sees_the_rest_of_the_batch() -> None:
    out: list[Event] = []
    seen: list[float] = []

    class Flaky:
        name = "flaky"

        def observe(self, event: Event) -> None:
            if event.ts == 0.2:
                raise ValueError("odd event")
            seen.append(event.ts)

        def finish(self) -> None:
            pass

    pipe = DetectionPipeline([Flaky()], on_event=out.append)
    for ts in (0.1, 0.2, 0.3, 0.4):
        pipe(flow(ts, "10.1.0.2", "10.3.0.5"))
    pipe.finish()
    assert seen == [0.1, 0.3, 0.4]
    errors = [e for e in out if isinstance(e, AnomalyEvent)]
    assert [(e.code, e.ts) for e in errors] == [("detect.internal_error", 0.2)]
    assert "flaky: ValueError: odd event" in errors[0].detail


def test_declared_roles_come_from_the_site_file_only() -> None:
    from otshield.detect.rules.context_fields import CONTEXT_FIELDS, RuleContext

    site = parse_site(SITE + """  aa:bb:cc:00:00:01: {roles: "hmi, writer"}
  10.1.0.7: {name: bare}
""")
    inv = InventoryBuilder()
    inv.role(inv.host("ip:10.1.0.2", 1.0, 1), "hmi", "polls", 1.0, 1)
    ctx = AssetContext(site, inv)
    assert ctx.declared_roles("10.3.0.5") == {"controller"}
    assert ctx.declared_roles("10.1.0.2") == frozenset()  # inferred, not declared
    assert ctx.declared_roles("10.1.0.9") == frozenset()  # an override without roles
    # the address's own override wins over its MAC's, even when it declares no role
    assert ctx.declared_roles("10.1.0.7", "aa:bb:cc:00:00:01") == frozenset()
    assert ctx.declared_roles("10.1.0.8", "aa:bb:cc:00:00:01") == {"hmi", "writer"}
    assert ctx.declared_roles("", "aa:bb:cc:00:00:01") == {"hmi", "writer"}
    read = CONTEXT_FIELDS["src.declared_roles"].reader
    ev = flow(1.0, "10.3.0.5", "10.1.0.2")
    assert read(ev, RuleContext(ctx)) == {"controller"}
    assert read(ev, RuleContext(AssetContext(None, inv))) == frozenset()
    assert read(ev, RuleContext(AssetContext(parse_site(SITE.split("assets:")[0]), inv))) \
        == frozenset()

"""Alerts in the store: aggregation across captures, idempotent re-recording, every filter,
sorting and pages, and triage (acknowledge, assign, close, reopen, suppress, notes) with the
changes the audit log records. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import msgspec
import pytest

from otshield.detect.alert import Alert, AssetRef
from otshield.store import Conflict, NotFound, Store
from otshield.store.alerts import (
    AlertFilter,
    acknowledge,
    add_note,
    assign,
    close,
    get_alert,
    lift_suppression,
    list_alerts,
    list_suppressions,
    record_alerts,
    reopen,
    suppress,
)
from otshield.store.errors import Invalid
from otshield.store.jobs import create_job
from otshield.store.models import AlertRecordRow, AlertRow, UserRow

T0 = 1_767_258_000.0


def alert(rule: str, src: str, dst: str, *, severity: str = "high", count: int = 1,
          first: float = T0, last: float | None = None, techniques: tuple[str, ...] = (),
          src_zone: str = "", dst_zone: str = "", title: str = "") -> Alert:
    return Alert(ts=first, frame=10, src_ip=src, dst_ip=dst, rule_id=rule,
                 title=title or f"{rule} seen", severity=severity, category="rule",
                 description=f"{rule} from {src} to {dst}", techniques=techniques,
                 source=AssetRef(ip=src, asset=f"ip:{src}", zone=src_zone),
                 destination=AssetRef(ip=dst, asset=f"ip:{dst}", zone=dst_zone),
                 protocol="modbus", key=f"{rule}|{src}|{dst}", first_seen=first,
                 last_seen=last if last is not None else first, count=count, frames=(10,))


def _job(store: Store) -> int:
    with store.session() as s:
        job, _ = create_job(s, filename="a.pcap", path="/nonexistent/a.pcap", created_by="t")
    return job.id


def _only(store: Store) -> AlertRow:
    with store.session(write=False) as s:
        rows = list(s.query(AlertRow))
    assert len(rows) == 1
    return rows[0]


def test_alerts_aggregate_across_jobs_and_re_recording_a_job_adds_nothing(store: Store) -> None:
    first, second = _job(store), _job(store)
    a = alert("ot.modbus.write", "10.0.0.5", "10.0.0.10", count=3, first=T0 + 10, last=T0 + 20)
    with store.session() as s:
        assert record_alerts(s, [a], job_id=first) == 1
    with store.session() as s:  # the same job again (a restart): nothing changes
        assert record_alerts(s, [a], job_id=first) == 0
    row = _only(store)
    assert (row.count, row.first_seen, row.last_seen) == (3, T0 + 10, T0 + 20)
    earlier = alert("ot.modbus.write", "10.0.0.5", "10.0.0.10", count=2, first=T0, last=T0 + 5)
    with store.session() as s:
        assert record_alerts(s, [earlier], job_id=second) == 0
        record_alerts(s, [earlier], job_id=second)
    row = _only(store)
    assert (row.count, row.first_seen, row.last_seen) == (5, T0, T0 + 20)
    with store.session(write=False) as s:
        kept = s.get(AlertRecordRow, row.id)
        assert kept is not None
        stored = msgspec.json.decode(kept.record, type=Alert)
    assert (stored.count, stored.first_seen, stored.last_seen) == (5, T0, T0 + 20)
    # a job re-run that now sees more (the capture grew) replaces its contribution
    with store.session() as s:
        record_alerts(s, [msgspec.structs.replace(a, count=4)], job_id=first)
    assert _only(store).count == 6
    with store.session() as s:  # no job (live monitoring): always adds
        record_alerts(s, [a], job_id=None)
    assert _only(store).count == 9


def test_filters_sorting_and_pages(store: Store) -> None:
    alerts = [
        alert("ot.s7.stop", "10.0.0.66", "10.0.30.31", severity="critical",
              techniques=("T0881", "T0816"), first=T0 + 1, src_zone="IT", dst_zone="Control"),
        alert("ot.modbus.write", "10.0.0.66", "10.0.30.11", severity="high",
              techniques=("T0855",), first=T0 + 2, count=40, dst_zone="Control"),
        alert("it.telnet.login", "10.0.0.5", "10.0.0.1", severity="medium", first=T0 + 3,
              title="Cleartext 100% login"),
        alert("it.dns.long", "10.0.0.5", "8.8.8.8", severity="low", first=T0 + 4),
        alert("ot.modbus.write", "10.0.0.67", "10.0.30.12", severity="high",
              techniques=("T0855",), first=T0 + 5),
    ]
    with store.session() as s:
        assert record_alerts(s, alerts) == 5

    def rules(flt: AlertFilter, sort: str = "id", **kw: int) -> tuple[list[str], int]:
        with store.session(write=False) as s:
            items, total = list_alerts(s, flt, sort=sort, **kw)
        return [f"{a.rule_id}>{a.dst_ip}" for a in items], total

    assert rules(AlertFilter(technique="T0855"))[1] == 2
    assert rules(AlertFilter(technique="t0816")) == (["ot.s7.stop>10.0.30.31"], 1)
    assert rules(AlertFilter(severity=("high", "low")))[1] == 3
    assert rules(AlertFilter(min_severity="high"))[1] == 3
    assert rules(AlertFilter(rule_id=("ot.modbus.write",)))[1] == 2
    assert rules(AlertFilter(src_ip="10.0.0.5"))[1] == 2
    assert rules(AlertFilter(dst_ip="8.8.8.8")) == (["it.dns.long>8.8.8.8"], 1)
    assert rules(AlertFilter(ip="10.0.0.66"))[1] == 2
    assert rules(AlertFilter(asset="ip:10.0.30.11")) == (["ot.modbus.write>10.0.30.11"], 1)
    assert rules(AlertFilter(zone="Control"))[1] == 2
    assert rules(AlertFilter(zone="IT")) == (["ot.s7.stop>10.0.30.31"], 1)
    assert rules(AlertFilter(since=T0 + 4))[1] == 2
    assert rules(AlertFilter(until=T0 + 2))[1] == 2
    assert rules(AlertFilter(q="100%")) == (["it.telnet.login>10.0.0.1"], 1)  # % is literal
    assert rules(AlertFilter(q="STOP"))[1] == 1
    assert rules(AlertFilter(protocol="modbus"))[1] == 5
    assert rules(AlertFilter(status=("closed",))) == ([], 0)
    by_severity, total = rules(AlertFilter(), sort="-severity")
    assert total == 5 and by_severity[0] == "ot.s7.stop>10.0.30.31"
    assert by_severity[-1] == "it.dns.long>8.8.8.8"
    assert rules(AlertFilter(), sort="-count")[0][0] == "ot.modbus.write>10.0.30.11"
    pages = [rules(AlertFilter(), sort="-last_seen", offset=o, limit=2) for o in (0, 2, 4)]
    assert [len(p[0]) for p in pages] == [2, 2, 1] and {p[1] for p in pages} == {5}
    assert pages[0][0][0] == "ot.modbus.write>10.0.30.12"
    assert len({r for p in pages for r in p[0]}) == 5  # no overlap, nothing skipped
    for bad in ({"sort": "password"}, {"limit": 0}, {"limit": 5000}, {"offset": -1}):
        with pytest.raises(Invalid), store.session(write=False) as s:
            list_alerts(s, AlertFilter(), **bad)
    with pytest.raises(Invalid, match="unknown status 'open'"), store.session() as s:
        list_alerts(s, AlertFilter(status=("open",)))


def test_triage_life_cycle_and_its_audit_changes(store: Store) -> None:
    with store.session() as s:
        record_alerts(s, [alert("ot.s7.stop", "10.0.0.66", "10.0.30.31")])
        s.add(UserRow(username="bob", role="analyst", password_hash="x", created_at=T0))
    alert_id = _only(store).id
    with store.session() as s:
        change = acknowledge(s, alert_id, "alice")
    assert (change.action, change.target, change.detail) == (
        "alert.acknowledge", f"alert:{alert_id}", {"status": ["new", "acknowledged"]})
    with pytest.raises(Conflict, match="only a new alert"), store.session() as s:
        acknowledge(s, alert_id, "alice")
    with pytest.raises(Invalid, match="no active user 'carol'"), store.session() as s:
        assign(s, alert_id, "carol", "alice")
    with store.session() as s:
        assert assign(s, alert_id, "bob", "alice").detail == {"assignee": ["", "bob"]}
        add_note(s, alert_id, "  PLC went to STOP at 10:02, operator confirms  ", "bob")
    with pytest.raises(Invalid, match="close reason is required"), store.session() as s:
        close(s, alert_id, "   ", "bob")
    with store.session() as s:
        change = close(s, alert_id, "true positive: handed to incident response", "bob")
    assert change.detail == {"status": ["acknowledged", "closed"],
                             "reason": "true positive: handed to incident response"}
    with store.session(write=False) as s:
        detail = get_alert(s, alert_id)
    summary = detail.summary
    assert (summary.status, summary.assignee, summary.acknowledged_by, summary.closed_by) == (
        "closed", "bob", "alice", "bob")
    assert summary.close_reason == "true positive: handed to incident response"
    assert [n.text for n in detail.notes] == ["PLC went to STOP at 10:02, operator confirms"]
    assert detail.alert.rule_id == "ot.s7.stop" and detail.alert.frames == (10,)
    with pytest.raises(Conflict, match="already closed"), store.session() as s:
        close(s, alert_id, "again", "bob")
    with pytest.raises(Conflict, match="closed; reopen it first"), store.session() as s:
        assign(s, alert_id, "", "bob")
    # it happens again: the closed alert reopens by itself
    with store.session() as s:
        record_alerts(s, [alert("ot.s7.stop", "10.0.0.66", "10.0.30.31", first=T0 + 60)])
    row = _only(store)
    assert (row.status, row.count, row.close_reason) == ("new", 2, "")
    with store.session() as s:
        close(s, alert_id, "false positive", "bob")
        assert reopen(s, alert_id, "bob").detail == {"status": ["closed", "new"]}
    with pytest.raises(NotFound, match="no alert 999"), store.session() as s:
        acknowledge(s, 999, "alice")


def test_suppression_hides_matching_alerts_now_and_later(store: Store) -> None:
    with store.session() as s:
        record_alerts(s, [alert("ot.modbus.write", "10.0.0.5", "10.0.30.11"),
                          alert("ot.modbus.write", "10.0.0.5", "10.0.30.12"),
                          alert("ot.modbus.write", "10.0.0.6", "10.0.30.11")])
    with store.session(write=False) as s:
        first = list_alerts(s, AlertFilter(src_ip="10.0.0.5", dst_ip="10.0.30.11"))[0][0]
    with pytest.raises(Invalid, match="end in the future"), store.session() as s:
        suppress(s, first.id, "alice", reason="maintenance", until=time.time() - 1)
    with store.session() as s:  # any destination from this engineering station
        change, sid = suppress(s, first.id, "alice", reason="maintenance window",
                               until=time.time() + 3600, match_dst=False)
    assert change.action == "alert.suppress" and change.target == f"suppression:{sid}"
    assert change.detail["dst_ip"] == "" and len(change.detail["suppressed"]) == 2
    with store.session() as s:
        record_alerts(s, [alert("ot.modbus.write", "10.0.0.5", "10.0.30.13"),  # new, matching
                          alert("ot.modbus.write", "10.0.0.7", "10.0.30.13")])  # not matching
    with store.session(write=False) as s:
        hidden, total = list_alerts(s, AlertFilter(status=("suppressed",)), sort="id")
        shown = list_alerts(s, AlertFilter(status=("new",)))[1]
        active = list_suppressions(s, active_only=True)
    assert total == 3 and {a.src_ip for a in hidden} == {"10.0.0.5"}
    assert {a.suppression_id for a in hidden} == {sid} and shown == 2
    assert [(x.id, x.rule_id, x.src_ip, x.dst_ip, x.reason) for x in active] == [
        (sid, "ot.modbus.write", "10.0.0.5", "", "maintenance window")]
    with pytest.raises(Conflict, match="only open alerts"), store.session() as s:
        suppress(s, first.id, "alice", reason="again")
    with store.session() as s:
        released = lift_suppression(s, sid, "alice").detail["released"]
    assert sorted(released) == sorted(a.id for a in hidden)
    with store.session(write=False) as s:
        assert list_alerts(s, AlertFilter(status=("new",)))[1] == 5
        assert list_suppressions(s, active_only=True) == []
    with pytest.raises(Conflict, match="already lifted"), store.session() as s:
        lift_suppression(s, sid, "alice")


def test_a_damaged_alert_record_is_a_clear_error_and_the_list_still_works(
        store: Store) -> None:
    with store.session() as s:
        record_alerts(s, [alert("ot.s7.stop", "10.0.0.66", "10.0.30.31")])
        row = s.query(AlertRecordRow).one()
        row.record = '{"rule.id": "ot.s7.stop", "trunc'
    alert_id = _only(store).id
    with pytest.raises(Invalid, match=f"alert {alert_id}: its stored record is damaged"), \
            store.session(write=False) as s:
        get_alert(s, alert_id)
    with store.session(write=False) as s:
        items, total = list_alerts(s)
    assert total == 1 and items[0].rule_id == "ot.s7.stop"
    with store.session() as s:  # a new occurrence repairs the record; the totals survive
        record_alerts(s, [alert("ot.s7.stop", "10.0.0.66", "10.0.30.31", first=T0 + 9)])
    with store.session(write=False) as s:
        repaired = get_alert(s, alert_id)
    assert (repaired.summary.count, repaired.alert.count, repaired.alert.first_seen) == (
        2, 2, T0)

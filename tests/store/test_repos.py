"""The other repositories on SQLite and PostgreSQL: assets (filters, search, pages, detail with
conduits and alerts, risk ranking), capture jobs, the audit log, and versioned baselines and
policies."""

from __future__ import annotations

import pytest

from otshield.detect.alert import Alert, AssetRef
from otshield.detect.analyze import Analysis
from otshield.store import Conflict, NotFound, Store, StoreError, load_inventory
from otshield.store.alerts import AlertFilter, close, list_alerts, record_alerts
from otshield.store.assets import AssetFilter, get_asset, list_assets, top_risky_assets
from otshield.store.audit import AuditFilter, append, append_change, list_audit
from otshield.store.documents import (
    list_baselines,
    list_policy_versions,
    load_baseline,
    load_policy_version,
    save_baseline,
    save_policy,
)
from otshield.store.errors import Invalid
from otshield.store.inventory import write_inventory
from otshield.store.jobs import (
    create_job,
    fail_job,
    finish_job,
    get_job,
    interrupted_jobs,
    list_jobs,
    start_job,
    update_progress,
)
from otshield.store.models import AssetRow


def _alert(rule: str, src: str, dst: str, severity: str) -> Alert:
    return Alert(ts=1.0, frame=1, src_ip=src, dst_ip=dst, rule_id=rule, title=rule,
                 severity=severity, key=f"{rule}|{src}|{dst}", first_seen=1.0, last_seen=1.0,
                 source=AssetRef(ip=src, asset=f"ip:{src}"),
                 destination=AssetRef(ip=dst, asset=f"ip:{dst}"))


@pytest.fixture
def plant(store: Store, demo_analysis: Analysis) -> Store:
    """The demo inventory with a site override and a few alerts."""
    snap = demo_analysis.inventory
    overrides = {"ip:10.10.30.11": {"safety": "true"}}
    with store.session() as s:
        write_inventory(s, type(snap)(assets=snap.assets, conduits=snap.conduits,
                                      zones=snap.zones, overrides=overrides,
                                      captures=snap.captures))
        record_alerts(s, [_alert("a", "10.10.20.10", "10.10.30.11", "critical"),
                          _alert("b", "10.10.20.10", "10.10.30.12", "high"),
                          _alert("c", "10.10.20.10", "10.10.30.12", "medium"),
                          _alert("d", "10.10.30.12", "10.10.30.12", "low")])
    return store


def test_assets_filter_search_and_pages(plant: Store) -> None:
    def ids(flt: AssetFilter, **kw: int) -> tuple[list[str], int]:
        with plant.session(write=False) as s:
            items, total = list_assets(s, flt, sort="id", **kw)
        return [a.id for a in items], total

    controllers, total = ids(AssetFilter(role="controller"))
    assert total == 8 and "ip:10.10.30.21" in controllers
    assert ids(AssetFilter(level=1))[1] == 8
    assert ids(AssetFilter(q="10.10.30.1"))[0] == ["ip:10.10.30.11", "ip:10.10.30.12"]
    assert ids(AssetFilter(q="00:80:F4:00:30:11"))[0] == ["ip:10.10.30.11"]  # any case
    assert ids(AssetFilter(q="%"))[1] == 0  # literal, not a wildcard
    assert ids(AssetFilter(safety=True)) == (["ip:10.10.30.11"], 1)
    with plant.session(write=False) as s:
        vendor = s.get(AssetRow, "ip:10.10.30.11")
        assert vendor is not None and vendor.vendor
    assert "ip:10.10.30.11" in ids(AssetFilter(vendor=vendor.vendor))[0]
    everything = [ids(AssetFilter(), offset=o, limit=7) for o in (0, 7, 14)]
    assert [len(p[0]) for p in everything] == [7, 7, 5] and everything[0][1] == 19
    assert len({i for p in everything for i in p[0]}) == 19
    with pytest.raises(Invalid, match="level must be 0 to 5"), plant.session() as s:
        list_assets(s, AssetFilter(level=9))
    with pytest.raises(Invalid, match="cannot sort by 'risk'"), plant.session() as s:
        list_assets(s, sort="risk")


def test_asset_detail_and_risk(plant: Store) -> None:
    with plant.session(write=False) as s:
        detail = get_asset(s, "ip:10.10.30.12")
        risky = top_risky_assets(s, 3)
        page = list_assets(s, AssetFilter(q="10.10.30.12"))[0]
    # alerts b (high 7) + c (medium 3) + d (low 1, to itself: counted once)
    assert (detail.summary.open_alerts, detail.summary.risk) == (3, 11)
    assert page[0].risk == 11 and detail.alerts_total == 3
    assert {a.rule_id for a in detail.alerts} == {"b", "c", "d"}
    assert detail.conduits and all("ip:10.10.30.12" in (c.client, c.server)
                                   for c in detail.conduits)
    assert detail.record.id == "ip:10.10.30.12"
    # 10.10.20.10: a 15 + b 7 + c 3 = 25; 10.10.30.11: a = 15; 10.10.30.12: 11
    assert [(a.id, a.risk) for a in risky] == [
        ("ip:10.10.20.10", 25), ("ip:10.10.30.11", 15), ("ip:10.10.30.12", 11)]
    with plant.session() as s:  # closing an alert lowers the risk
        a_id = list_alerts(s, AlertFilter(rule_id=("a",)))[0][0].id
        close(s, a_id, "benign", "alice")
    with plant.session(write=False) as s:
        assert [(a.id, a.risk) for a in top_risky_assets(s, 5)] == [
            ("ip:10.10.30.12", 11), ("ip:10.10.20.10", 10)]
    with pytest.raises(NotFound, match=r"no asset 'ip:1\.2\.3\.4'"), plant.session() as s:
        get_asset(s, "ip:1.2.3.4")


def test_a_damaged_asset_record_is_a_clear_error(plant: Store) -> None:
    with plant.session() as s:
        row = s.get(AssetRow, "ip:10.10.30.11")
        assert row is not None
        row.record = "{broken"
    with pytest.raises(Invalid, match=r"'ip:10\.10\.30\.11': a stored record is damaged"), \
            plant.session(write=False) as s:
        get_asset(s, "ip:10.10.30.11")
    with plant.session(write=False) as s:  # the list reads the columns: still fine
        assert list_assets(s)[1] == 19
    with pytest.raises(StoreError, match="a stored inventory record is damaged"):
        load_inventory(plant.engine)


def test_job_life_cycle(store: Store) -> None:
    with store.session() as s:
        job, change = create_job(s, filename="../../etc/passwd.pcap", path="/data/1.pcap",
                                 created_by="alice", size=1234, sha256="ab" * 32,
                                 options={"site": "site.yaml"})
        other, _ = create_job(s, filename="b.pcap", path="/data/2.pcap", created_by="bob")
    assert change.action == "capture.upload" and change.target == f"job:{job.id}"
    assert job.status == "queued" and job.filename == "../../etc/passwd.pcap"
    with store.session() as s:
        start_job(s, job.id)
        update_progress(s, job.id, stage="alerts", progress=1.7, alerts_total=10,
                        alerts_done=4)
        with pytest.raises(Invalid, match="unknown job counter"):
            update_progress(s, job.id, secret=1)
    with store.session() as s:
        running = get_job(s, job.id)
        assert [j.id for j in interrupted_jobs(s)] == [job.id, other.id]
    assert (running.status, running.stage, running.progress, running.attempts) == (
        "running", "alerts", 1.0, 1)
    assert (running.alerts_total, running.alerts_done) == (10, 4)
    with store.session() as s:
        finish_job(s, job.id, {"severity": {"high": 2}})
        fail_job(s, other.id, "not a capture: bad magic")
        with pytest.raises(Conflict, match="already done"):
            start_job(s, job.id)
    with store.session(write=False) as s:
        done, total = list_jobs(s, status=("done",))
        failed = get_job(s, other.id)
        newest = list_jobs(s)[0][0]
        assert interrupted_jobs(s) == []
    assert total == 1 and done[0].counts == {"severity": {"high": 2}}
    assert (failed.status, failed.error) == ("failed", "not a capture: bad magic")
    assert newest.id == other.id
    with pytest.raises(NotFound), store.session() as s:
        get_job(s, 999)


def test_audit_entries_filter_and_never_hold_secrets(store: Store) -> None:
    with store.session() as s:
        append(s, actor="alice", action="auth.login", ip="10.0.0.5", via="session", ts=100.0)
        append(s, actor="mallory", action="auth.login_failed", outcome="failed", ts=110.0)
        append(s, actor="alice", action="alert.close", target="alert:3",
               detail={"reason": "benign"}, ts=120.0)
        with pytest.raises(Invalid, match="'password' looks like a secret"):
            append(s, actor="alice", action="user.password", detail={"password": "hunter2"})
        with pytest.raises(Invalid, match="unknown audit outcome"):
            append(s, actor="alice", action="x", outcome="maybe")
    with store.session(write=False) as s:
        def actions(flt: AuditFilter) -> list[str]:
            return [e.action for e in list_audit(s, flt)[0]]

        assert actions(AuditFilter()) == ["alert.close", "auth.login_failed", "auth.login"]
        assert actions(AuditFilter(actor="alice")) == ["alert.close", "auth.login"]
        assert actions(AuditFilter(action="auth.")) == ["auth.login_failed", "auth.login"]
        assert actions(AuditFilter(action="auth.login")) == ["auth.login"]
        assert actions(AuditFilter(outcome="failed")) == ["auth.login_failed"]
        assert actions(AuditFilter(target="alert:3")) == ["alert.close"]
        assert actions(AuditFilter(since=105.0, until=115.0)) == ["auth.login_failed"]
        entries, total = list_audit(s, offset=1, limit=1)
    assert total == 3 and entries[0].action == "auth.login_failed"


def test_versioned_baselines_and_policies(store: Store) -> None:
    with store.session() as s:
        v1, change = save_baseline(s, "plant", '{"v": 1}', by="olga", comment="first week")
        v2, _ = save_baseline(s, "plant", '{"v": 2}', by="olga", expected=1)
        append_change(s, change, actor="olga")
    assert (v1.version, v2.version, change.target) == (1, 2, "baseline:plant@1")
    with pytest.raises(Conflict, match="version 2 was saved meanwhile"), store.session() as s:
        save_baseline(s, "plant", '{"v": 3}', by="ivan", expected=1)
    with store.session(write=False) as s:
        assert load_baseline(s, "plant").content == '{"v": 2}'
        assert load_baseline(s, "plant", 1).content == '{"v": 1}'
        assert [b.version for b in list_baselines(s)] == [2, 1]
        assert list_audit(s)[0][0].target == "baseline:plant@1"
        assert load_policy_version(s) is None
    with pytest.raises(NotFound, match="no baseline 'other'"), store.session() as s:
        load_baseline(s, "other")
    site = "zones:\n  Control: {subnets: [10.10.30.0/24]}\n"
    with store.session() as s:
        p1, change = save_policy(s, site, by="olga", comment="zones")
        save_policy(s, site + "conduits: []\n", by="olga", expected=1)
    assert change.action == "policy.save" and p1.version == 1
    with store.session(write=False) as s:
        newest = load_policy_version(s)
        assert newest is not None and newest.version == 2
        assert newest.content == site + "conduits: []\n"
        assert [p.version for p in list_policy_versions(s)] == [2, 1]
        first = load_policy_version(s, 1)
        assert first is not None and first.content == site

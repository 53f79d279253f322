"""A large incident (a worm or a scan: hundreds of alerts from one source to hundreds of
targets): its page stays readable (the first alerts, joins and assets, each saying how many
more there are), links to every alert through the alerts list's incident filter, and the API
fetches its alerts in one query. Ids beyond the store's integers are refused up front."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role
from otshield.detect.alert import AssetRef, make_alert
from otshield.events import Event
from otshield.respond.service import correlate_store
from otshield.store import alerts as alerts_repo

ALERTS = 650
TARGETS = 320
SOURCE = "10.10.10.66"
HUGE = 2**63  # beyond every store's integer


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    with ConsoleKit.build(tmp_path_factory.mktemp("big-incident")) as k:
        yield k


@pytest.fixture(scope="module")
def incident(kit: ConsoleKit) -> int:
    """One source writing to 320 PLCs, 650 alerts a second apart: one incident."""
    alerts = []
    for i in range(ALERTS):
        dst = f"10.10.{30 + (i % TARGETS) // 250}.{1 + (i % TARGETS) % 250}"
        event = Event(ts=1_767_225_600.0 + i, frame=i + 1, src_ip=SOURCE, src_port=40000,
                      dst_ip=dst, dst_port=502, transport="tcp")
        alerts.append(make_alert(
            event, rule_id="ot.modbus.write_unauthorised", title="Modbus write from a host "
            "that is not a writer", severity="high", confidence="high", category="rule",
            description="a write", response="check it", techniques=("T0836",),
            tactics=("impair-process-control",),
            source=AssetRef(ip=SOURCE, asset=f"ip:{SOURCE}", zone="Enterprise", level=4),
            destination=AssetRef(ip=dst, asset=f"ip:{dst}", zone="Control", level=1),
            key=f"ot.modbus.write_unauthorised|{SOURCE}|{dst}|{i}"))
    with kit.store.session() as db:
        assert alerts_repo.record_alerts(db, alerts) == ALERTS
    result = correlate_store(kit.store, kit.settings, reason="test")
    assert len(result.created) == 1
    return result.created[0]


def test_the_api_detail_carries_the_first_alerts_in_time_order(kit: ConsoleKit,
                                                               incident: int) -> None:
    detail = kit.client(Role.VIEWER).get(f"{API}/incidents/{incident}").json()
    assert detail["summary"]["alerts"] == ALERTS
    assert len(detail["explanation"]) == ALERTS  # the API keeps every join
    assert len(detail["assets"]) == TARGETS + 1
    firsts = [a["first_seen"] for a in detail["alerts"]]
    assert len(firsts) == 500 and firsts == sorted(firsts)
    assert firsts[0] == 1_767_225_600.0


def test_the_alerts_list_filters_by_incident(kit: ConsoleKit, incident: int) -> None:
    viewer = kit.client(Role.VIEWER)
    page = viewer.get(f"{API}/alerts", params={"incident": incident, "per_page": 100}).json()
    assert page["total"] == ALERTS and len(page["items"]) == 100
    assert {a["src_ip"] for a in page["items"]} == {SOURCE}
    assert viewer.get(f"{API}/alerts", params={"incident": incident + 1}).json()["total"] == 0
    for bad in ("0", "-3", "seven"):
        r = viewer.get(f"{API}/alerts", params={"incident": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"]


def test_the_page_shows_the_first_of_each_and_says_how_many_more(kit: ConsoleKit,
                                                                 incident: int) -> None:
    viewer = kit.client(Role.VIEWER)
    r = viewer.get(f"/incidents/{incident}")
    assert r.status_code == 200
    page = r.text
    assert page.count('href="/alerts/') == 500
    assert f"The first 500 of {ALERTS} alerts, in time order" in page
    assert f'href="/alerts?incident={incident}&amp;status="' in page
    assert page.count("joined because") == 100 - 1  # the first line says what opened it
    assert f"and {ALERTS - 100} more joins" in page
    assert f"and {TARGETS + 1 - 300} more assets" in page
    listed = viewer.get(f"/alerts?incident={incident}&status=").text
    assert f'href="/incidents/{incident}"' in listed  # the filter is shown, with its way back
    assert listed.count('href="/alerts/') == 50
    for bad in ("abc", "9" * 19):  # not a number, or beyond the store's integers: no filter
        ignored = viewer.get(f"/alerts?incident={bad}&status=")
        assert ignored.status_code == 200 and 'href="/incidents/' not in ignored.text


def test_a_small_incident_page_has_no_more_notes(tmp_path: Path) -> None:
    with ConsoleKit.build(tmp_path) as small:
        event = Event(ts=1_767_225_600.0, frame=1, src_ip=SOURCE, dst_ip="10.10.30.5",
                      dst_port=502, transport="tcp")
        alert = make_alert(event, rule_id="ot.x", title="X", severity="high",
                           confidence="high", category="rule", description="d", response="r",
                           source=AssetRef(ip=SOURCE), destination=AssetRef(ip="10.10.30.5"),
                           key="ot.x|1")
        with small.store.session() as db:
            alerts_repo.record_alerts(db, [alert])
        (iid,) = correlate_store(small.store, small.settings).created
        page = small.client(Role.VIEWER).get(f"/incidents/{iid}").text
        assert "opened by X" in page
        for marker in ("alerts-more", "why-more", "assets-more"):
            assert marker not in page


@pytest.mark.parametrize("method,url", [
    ("GET", f"{API}/alerts/{HUGE}"), ("POST", f"{API}/alerts/{HUGE}/acknowledge"),
    ("GET", f"{API}/incidents/{HUGE}"), ("GET", f"{API}/captures/{HUGE}"),
    ("GET", f"{API}/reports/jobs/{HUGE}"), ("GET", f"{API}/users/{HUGE}"),
    ("GET", f"{API}/alerts?incident={HUGE}"), ("GET", f"/incidents/{HUGE}"),
    ("GET", f"/alerts/{HUGE}"), ("POST", f"/alerts/{HUGE}/acknowledge"),
])
def test_ids_beyond_the_store_are_refused_not_crashing(kit: ConsoleKit, method: str,
                                                       url: str) -> None:
    """Row ids are 32-bit in PostgreSQL and 64-bit in SQLite: a larger number used to reach
    the database and fail there (500, a traceback in the log). The test client raises on any
    server error, so reaching the assertion means none happened."""
    r = kit.client(Role.ADMIN).request(method, url)
    assert r.status_code == 422, r.text

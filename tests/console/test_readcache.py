"""The read cache (otshield.console.readcache) and its fast path (console/api/cached.py): kept
answers follow every change of the store, whoever commits it, and the fast path never answers
a caller the route would refuse."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Permission, Role
from otshield.console.readcache import ReadCache
from otshield.detect.alert import Alert, AssetRef
from otshield.store import Store
from otshield.store.alerts import acknowledge, record_alerts
from otshield.store.version import DataVersion

# -- the cache on its own -----------------------------------------------------------------------


class Version(DataVersion):
    """A data version the test sets by hand."""

    def __init__(self) -> None:  # no engine: nothing of the parent is used
        self.value: str | None = "1"
        self.max_age = 60.0

    def current(self) -> str | None:
        return self.value


def counting(values: list[str]) -> tuple[list[int], object]:
    calls = [0]

    def compute() -> str:
        calls[0] += 1
        return values[calls[0] - 1]
    return calls, compute


def test_a_kept_answer_lasts_exactly_as_long_as_the_version() -> None:
    version = Version()
    cache = ReadCache(version)
    calls, compute = counting(["a", "b", "c"])
    assert cache.get("k", compute) == "a"  # type: ignore[arg-type]
    assert cache.get("k", compute) == "a"  # type: ignore[arg-type]
    assert cache.peek("k") == "a"
    version.value = "2"
    assert cache.peek("k") is None
    assert cache.get("k", compute) == "b"  # type: ignore[arg-type]
    assert calls == [2]
    version.value = None  # unknown: nothing is kept or given back
    assert cache.get("k", compute) == "c"  # type: ignore[arg-type]
    assert cache.peek("k") is None
    assert cache.stats.hits == 2


def test_keep_fresh_and_age_limit() -> None:
    version = Version()
    cache = ReadCache(version)
    assert cache.get("none", lambda: None, keep=lambda v: v is not None) is None
    assert cache.peek("none") is None  # not kept
    deadline = [time.time() + 60]
    cache.get("d", lambda: "x", fresh=lambda _v: time.time() < deadline[0])
    assert cache.peek("d", fresh=lambda _v: time.time() < deadline[0]) == "x"
    deadline[0] = 0.0
    assert cache.peek("d", fresh=lambda _v: time.time() < deadline[0]) is None
    version.max_age = 0.0
    cache.get("old", lambda: "y")
    assert cache.peek("old") is None


def test_bounded_by_entries_and_bytes() -> None:
    cache = ReadCache(Version(), max_entries=3, max_bytes=1000)
    for key in "abcd":
        cache.get(key, lambda key=key: key, size=lambda _v: 10)
    assert cache.peek("a") is None and cache.peek("d") == "d"  # least recently used out
    cache.get("big", lambda: "B", size=lambda _v: 600)  # over a quarter of the budget
    assert cache.peek("big") is None
    assert cache.stats.entries == 3 and cache.stats.bytes == 30


def test_many_askers_at_once_compute_once() -> None:
    cache = ReadCache(Version())
    started, release = threading.Event(), threading.Event()
    calls = [0]

    def slow() -> str:
        calls[0] += 1
        started.set()
        release.wait(10)
        return "answer"

    results: list[str] = []
    leader = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    leader.start()
    assert started.wait(10)
    waiters = [threading.Thread(target=lambda: results.append(cache.get("k", slow)))
               for _ in range(4)]
    for t in waiters:
        t.start()
    time.sleep(0.1)  # the waiters are blocked on the leader's computation
    release.set()
    for t in [leader, *waiters]:
        t.join(10)
    assert results == ["answer"] * 5 and calls == [1]


def test_a_computation_inside_a_computation_does_not_wait_for_itself() -> None:
    cache = ReadCache(Version(), computing=1)
    assert cache.get("outer", lambda: cache.get("inner", lambda: "i") + "o") == "io"


def test_a_failed_computation_is_not_kept_and_waiters_compute_themselves() -> None:
    cache = ReadCache(Version())

    def broken() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.peek("k") is None
    assert cache.get("k", lambda: "fine") == "fine"


def test_the_sqlite_data_version_moves_with_any_other_connections_commit(
        tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    store, other = Store(path), Store(path)
    try:
        store.migrate()
        before = store.version.current()
        assert before is not None and store.version.current() == before
        with store.session(write=False) as s:  # reading changes nothing
            assert s.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
        assert store.version.current() == before
        with other.session() as s:  # "another process" commits
            record_alerts(s, [_alert(1)])
        after = store.version.current()
        assert after is not None and after != before
        with store.session() as s:  # this store's own commits count too
            acknowledge(s, 1, "ana")
        assert store.version.current() not in (before, after)
        assert Store("sqlite://").version.current() is None  # in memory: unknown
    finally:
        store.dispose()
        other.dispose()


# -- the console ---------------------------------------------------------------------------------


def _alert(i: int) -> Alert:
    return Alert(ts=1000.0 + i, frame=i, src_ip="10.10.20.10", dst_ip=f"10.10.30.{10 + i}",
                 rule_id="ot.modbus.write_unauthorised", title="write", severity="high",
                 category="rule", key=f"cache-{i}",
                 source=AssetRef(ip="10.10.20.10", asset="ip:10.10.20.10"),
                 first_seen=1000.0 + i, last_seen=1000.0 + i, count=1)


@pytest.fixture(scope="module")
def cache_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    with ConsoleKit.build(tmp_path_factory.mktemp("readcache")) as k:
        with k.store.session() as s:
            record_alerts(s, [_alert(i) for i in range(5)])
        yield k


def _statuses(c: TestClient) -> dict[int, str]:
    r = c.get(f"{API}/alerts", params={"sort": "id"})
    assert r.status_code == 200, r.text
    return {a["id"]: a["status"] for a in r.json()["items"]}


def test_lists_are_kept_and_follow_triage_and_outside_writes(cache_kit: ConsoleKit) -> None:
    cache = cache_kit.app.state.read_cache
    assert isinstance(cache, ReadCache)
    analyst = cache_kit.token_client(Role.ANALYST)
    first = _statuses(analyst)
    hits = cache.stats.hits
    assert _statuses(analyst) == first
    assert cache.stats.hits > hits  # the second answer was a kept one
    target = min(i for i, status in first.items() if status == "new")
    r = analyst.post(f"{API}/alerts/{target}/acknowledge")
    assert r.status_code == 200, r.text
    assert _statuses(analyst)[target] == "acknowledged"  # the console's own write
    # another process (the command line, another worker) writes to the same database
    outside = Store(cache_kit.settings.database)
    try:
        with outside.session() as s:
            record_alerts(s, [_alert(99)])
    finally:
        outside.dispose()
    assert len(_statuses(analyst)) == len(first) + 1
    overview = analyst.get(f"{API}/overview").json()
    assert overview["alerts"]["total"] == len(first) + 1


def test_the_fast_path_refuses_what_the_route_refuses(cache_kit: ConsoleKit) -> None:
    admin = cache_kit.token_client(Role.ADMIN)
    assert admin.get(f"{API}/alerts").status_code == 200  # the answer is kept now
    assert admin.get(f"{API}/alerts").status_code == 200
    # a token without alerts:read, recognised (kept) by an earlier request of its own
    narrow = cache_kit.token_client(Role.ANALYST, [Permission.ASSETS_READ])
    assert narrow.get(f"{API}/assets").status_code == 200
    r = narrow.get(f"{API}/alerts")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert cache_kit.anonymous().get(f"{API}/alerts").status_code == 401
    # a revoked token is refused at once, though its principal was kept
    token = cache_kit.token(Role.VIEWER)
    viewer = cache_kit.anonymous(headers={"Authorization": f"Bearer {token}"})
    assert viewer.get(f"{API}/alerts").status_code == 200
    mine = cache_kit.client(Role.VIEWER).get(f"{API}/tokens").json()
    token_id = max(t["id"] for t in mine["items"] if not t["revoked_at"])
    assert cache_kit.client(Role.VIEWER).delete(f"{API}/tokens/{token_id}").status_code == 200
    assert viewer.get(f"{API}/alerts").status_code == 401

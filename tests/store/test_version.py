"""The store's data version (otshield.store.version) on both back ends: it moves with every
commit, by this store or another connection, and stays put while only reading."""

from __future__ import annotations

from sqlalchemy import text

from otshield.detect.alert import Alert
from otshield.store import Store
from otshield.store.alerts import acknowledge, record_alerts
from otshield.store.models import ApiTokenRow, UserRow


def _alert() -> Alert:
    return Alert(ts=1.0, frame=1, src_ip="10.0.0.5", dst_ip="10.0.0.10", rule_id="ot.x",
                 title="x", severity="high", category="rule", key="version-test",
                 first_seen=1.0, last_seen=1.0, count=1)


def test_the_data_version_moves_with_every_commit_and_only_then(store: Store) -> None:
    before = store.version.current()
    assert before is not None
    with store.session(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
    if store.dialect == "sqlite":  # PostgreSQL: other databases of the server move it too
        assert store.version.current() == before
    other = Store(store.target)  # another connection, as another process would have
    try:
        with other.session() as s:
            record_alerts(s, [_alert()])
    finally:
        other.dispose()
    after = store.version.current()
    assert after is not None and after != before
    with store.session() as s:
        acknowledge(s, 1, "ana")
    assert store.version.current() not in (None, before, after)


def test_the_auth_generation_follows_access_changes_not_recorded_uses(store: Store) -> None:
    def auth() -> str | None:
        return store.version.auth()

    start = auth()
    assert start is not None
    with store.session() as s:
        user = UserRow(username="ana", role="analyst", password_hash="x", created_at=1.0)
        s.add(user)
        s.flush()
        s.add(ApiTokenRow(user_id=user.id, name="t", token_hash="h", scopes="alerts:read",
                          created_at=1.0))
    created = auth()
    assert created not in (None, start)
    steps = [
        ("UPDATE api_tokens SET last_used_at = 5.0", False),  # a recorded use
        ("UPDATE api_tokens SET revoked_at = 6.0", True),
        ("UPDATE users SET role = 'viewer'", True),
        ("UPDATE users SET disabled = true", True),
        ("DELETE FROM api_tokens", True),
    ]
    for sql, moves in steps:
        before = auth()
        with store.session() as s:
            s.execute(text(sql))
        assert (auth() != before) is moves, sql

"""The web pages through the in-process app: every page renders for the roles that may see it,
redirects an anonymous visitor to the sign-in page, escapes values that came from the network,
and its actions change the store (with an audit entry) exactly like the API's."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.consolekit import ConsoleKit
from console.webkit import HOSTILE, HOSTILE_ASSET, plant_analysis, seed_store
from otshield.console.auth.csrf import CSRF_HEADER
from otshield.console.auth.sessions import COOKIE_NAME
from otshield.console.permissions import Role
from otshield.console.web import STATIC_DIR
from otshield.console.web.errors import safe_next
from otshield.console.web.render import TEMPLATES_DIR
from otshield.detect.testplant import write_site
from otshield.store.models import AlertRow, AuditRow

PAGES = ("/", "/assets", "/alerts", "/map", "/policy", "/upload", "/account")
ADMIN_PAGES = ("/admin/users", "/admin/audit")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    folder = tmp_path_factory.mktemp("web")
    with ConsoleKit.build(folder, site_file=write_site(folder / "site.yaml")) as kit:
        seed_store(kit.store)
        yield kit


def _alert_id(kit: ConsoleKit, rule_id: str) -> int:
    with kit.store.session(write=False) as db:
        found = db.scalars(select(AlertRow.id).where(AlertRow.rule_id == rule_id)).first()
    assert found is not None, rule_id
    return int(found)


def _audit_actions(kit: ConsoleKit, target: str) -> list[str]:
    with kit.store.session(write=False) as db:
        return list(db.scalars(select(AuditRow.action).where(AuditRow.target == target)
                               .order_by(AuditRow.id)))


# -- anonymous visitors -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES + ADMIN_PAGES + ("/assets/ip:10.0.0.1", "/alerts/1"))
def test_anonymous_page_redirects_to_login(web: ConsoleKit, path: str) -> None:
    r = web.anonymous(follow_redirects=False).get(path)
    assert r.status_code == 303
    expected = "/login" if path == "/" else f"/login?next={path}"
    assert r.headers["location"] == expected


def test_anonymous_htmx_request_gets_hx_redirect(web: ConsoleKit) -> None:
    r = web.anonymous(follow_redirects=False).get(
        "/alerts", headers={"HX-Request": "true", "HX-Current-URL": "http://t/alerts?q=x"})
    assert r.status_code == 204
    assert r.headers["HX-Redirect"] == "/login?next=/alerts%3Fq%3Dx"


def test_api_keeps_json_errors(web: ConsoleKit) -> None:
    r = web.anonymous().get("/api/v1/alerts")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_login_page_renders_without_session(web: ConsoleKit) -> None:
    r = web.anonymous().get("/login?next=/assets")
    assert r.status_code == 200
    assert 'name="next" value="/assets"' in r.text
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("value", "expected"), [
    ("/assets?zone=a", "/assets?zone=a"),
    ("/alerts/3", "/alerts/3"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/login?next=/x", "/"),
    ("/ok\r\nSet-Cookie: x=1", "/"),
    ("", "/"),
    (None, "/"),
])
def test_safe_next_keeps_only_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_unknown_page_is_an_html_404(web: ConsoleKit) -> None:
    r = web.client(Role.VIEWER).get("/no/such/page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "Not found" in r.text


# -- every page, every role ---------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_every_role(web: ConsoleKit, role: Role, path: str) -> None:
    r = web.client(role).get(path)
    assert r.status_code == 200, r.text[:500]
    assert "text/html" in r.headers["content-type"]
    assert web.users[role].username in r.text
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_only_for_admins(web: ConsoleKit, path: str) -> None:
    assert web.client(Role.ADMIN).get(path).status_code == 200
    for role in (Role.VIEWER, Role.ANALYST, Role.OT_ENGINEER):
        r = web.client(role).get(path)
        assert r.status_code == 403
        assert "Not permitted" in r.text


def test_navigation_follows_the_role(web: ConsoleKit) -> None:
    viewer = web.client(Role.VIEWER).get("/").text
    admin = web.client(Role.ADMIN).get("/").text
    assert 'href="/admin/users"' not in viewer
    assert 'href="/admin/users"' in admin and 'href="/admin/audit"' in admin


def test_overview_shows_posture_chart_and_risky_assets(web: ConsoleKit) -> None:
    text = web.client(Role.ANALYST).get("/").text
    assert "<svg" in text and 'aria-label="Alerts over time"' in text
    assert "Top risky assets" in text
    assert re.search(r'id="tile-assets">\s*18\s*<', text), "17 plant assets + 1 hostile"


def test_static_files_are_vendored_with_licences(web: ConsoleKit) -> None:
    c = web.anonymous()
    for name in ("vendor/htmx.min.js", "vendor/cytoscape.min.js", "console.css", "map.js",
                 "upload.js"):
        assert c.get(f"/static/{name}").status_code == 200, name
    assert (STATIC_DIR / "vendor" / "htmx.LICENSE.txt").read_text().startswith("Zero-Clause")
    assert "Cytoscape Consortium" in (STATIC_DIR / "vendor" / "cytoscape.LICENSE.txt").read_text()


def test_templates_load_nothing_from_outside() -> None:
    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), template.name


# -- escaping -----------------------------------------------------------------------------------


def _assert_escaped(text: str) -> None:
    assert HOSTILE not in text
    assert "<script>alert" not in text
    assert "<img src=x" not in text


def test_hostile_asset_is_escaped_everywhere(web: ConsoleKit) -> None:
    c = web.client(Role.VIEWER)
    page = c.get(f"/assets/{HOSTILE_ASSET}")
    assert page.status_code == 200
    _assert_escaped(page.text)
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page.text
    for path in ("/assets", "/assets?q=10.66", "/", "/alerts", "/policy"):
        _assert_escaped(c.get(path).text)


def test_map_data_cannot_close_its_script_element(web: ConsoleKit) -> None:
    text = web.client(Role.VIEWER).get("/map").text
    _assert_escaped(text)
    data = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text,
                     re.S)
    assert data is not None
    assert "<" not in data.group(1)
    assert "\\u003cscript\\u003e" in data.group(1)


def test_hostile_alert_is_escaped(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "test.hostile")
    text = web.client(Role.ANALYST).get(f"/alerts/{alert_id}").text
    _assert_escaped(text)
    assert "T0801" in text


# -- assets -------------------------------------------------------------------------------------


def test_asset_search_answers_the_table_alone_to_htmx(web: ConsoleKit) -> None:
    c = web.client(Role.VIEWER)
    r = c.get("/assets?q=10.66.66", headers={"HX-Request": "true", "HX-Target": "asset-results"})
    assert r.status_code == 200
    assert "<html" not in r.text
    assert r.text.count("<tr>") == 2  # the header and the one match
    assert HOSTILE_ASSET in r.text


def test_asset_filters_by_level_and_paginates(web: ConsoleKit) -> None:
    c = web.client(Role.VIEWER)
    text = c.get("/assets?level=1").text
    assert "L1" in text and "L4" not in re.sub(r"<option.*?</option>", "", text)
    paged = c.get("/assets?per_page=5&page=2").text
    assert "6&ndash;10 of 18" in paged


def test_asset_detail_shows_facts_roles_conduits_and_alerts(web: ConsoleKit) -> None:
    text = web.client(Role.VIEWER).get("/assets/ip:10.10.30.21").text
    for section in ('id="facts"', 'id="conduits"', "Roles", "Vulnerabilities and advisories"):
        assert section in text, section


def test_unknown_asset_is_404(web: ConsoleKit) -> None:
    r = web.client(Role.VIEWER).get("/assets/ip:192.0.2.99")
    assert r.status_code == 404
    assert "No such asset" in r.text


# -- alerts and triage --------------------------------------------------------------------------


def test_alert_list_filters(web: ConsoleKit) -> None:
    c = web.client(Role.ANALYST)
    everything = c.get("/alerts?status=").text
    policy = c.get("/alerts?status=&category=policy").text
    assert "policy.no_conduit" in policy
    assert policy.count('id="alert-row-') < everything.count('id="alert-row-')
    by_technique = c.get("/alerts?status=&technique=T0801").text
    expected = sum("T0801" in a.techniques for a in plant_analysis().alerts) + 1  # + hostile
    assert by_technique.count('id="alert-row-') == expected


def test_alert_detail_links_attack_techniques(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "policy.no_conduit")
    text = web.client(Role.VIEWER).get(f"/alerts/{alert_id}").text
    assert 'href="https://attack.mitre.org/techniques/T0886' in text
    assert "Evidence" in text and 'id="frames"' in text
    assert "Acknowledge" not in text, "a viewer gets no triage buttons"


def test_acknowledge_with_htmx_returns_the_panel_and_audits(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "it.lateral.remote_session_into_ot")
    c = web.client(Role.ANALYST)
    r = c.post(f"/alerts/{alert_id}/acknowledge", headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.startswith('<section class="panel" id="triage">')
    assert "status-acknowledged" in r.text
    assert _audit_actions(web, f"alert:{alert_id}") == ["alert.acknowledge"]
    again = c.post(f"/alerts/{alert_id}/acknowledge", headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "only a new alert can be acknowledged" in again.text


def test_plain_form_post_redirects_back(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "it.remote.jump_host_bypass")
    c = web.client(Role.ANALYST)
    r = c.post(f"/alerts/{alert_id}/notes", data={"text": "checked with the plant"},
               follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/alerts/{alert_id}"
    assert "checked with the plant" in c.get(f"/alerts/{alert_id}").text


def test_close_needs_a_reason(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "it.remote.jump_host_bypass")
    c = web.client(Role.ANALYST)
    empty = c.post(f"/alerts/{alert_id}/close", data={"reason": " "},
                   headers={"HX-Request": "true"})
    assert empty.status_code == 422
    assert "close reason is required" in empty.text
    done = c.post(f"/alerts/{alert_id}/close",
                  data={"reason": "maintenance window", "reason_kind": "expected_activity"},
                  headers={"HX-Request": "true"})
    assert done.status_code == 200
    with web.store.session(write=False) as db:
        row = db.get(AlertRow, alert_id)
        assert row is not None
        assert (row.status, row.close_reason) == ("closed",
                                                  "expected activity: maintenance window")


def test_suppress_and_assign(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "test.hostile")
    c = web.client(Role.OT_ENGINEER)
    r = c.post(f"/alerts/{alert_id}/assign", data={"assignee": "kit-analyst"},
               headers={"HX-Request": "true"})
    assert r.status_code == 200 and "kit-analyst" in r.text
    r = c.post(f"/alerts/{alert_id}/suppress",
               data={"scope": "pair", "hours": "24", "reason": "lab host"},
               headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "status-suppressed" in r.text
    assert "lab host" in r.text
    actions = _audit_actions(web, f"alert:{alert_id}")
    assert actions == ["alert.assign"]
    with web.store.session(write=False) as db:
        assert db.scalars(select(AuditRow.action).where(
            AuditRow.action == "alert.suppress")).first() == "alert.suppress"


def test_viewer_cannot_triage(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "policy.no_conduit")
    r = web.client(Role.VIEWER).post(f"/alerts/{alert_id}/acknowledge",
                                     headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert "Not permitted" in r.text


def test_triage_without_csrf_token_is_refused(web: ConsoleKit) -> None:
    alert_id = _alert_id(web, "policy.no_conduit")
    c = web.sign_in(web.users[Role.ANALYST])
    del c.headers[CSRF_HEADER]
    r = c.post(f"/alerts/{alert_id}/acknowledge", follow_redirects=False)
    assert r.status_code == 403
    assert "expired or did not come from this console" in r.text
    with web.store.session(write=False) as db:
        row = db.get(AlertRow, alert_id)
        assert row is not None and row.status == "new"


def test_unknown_alert_is_404(web: ConsoleKit) -> None:
    assert web.client(Role.VIEWER).get("/alerts/999999").status_code == 404


# -- policy, map, upload --------------------------------------------------------------------------


def test_policy_page_lists_zones_conduits_and_violations(web: ConsoleKit) -> None:
    text = web.client(Role.VIEWER).get("/policy").text
    for table in ('id="zones"', 'id="policy-conduits"', 'id="observed"', 'id="violations"'):
        assert table in text, table
    assert "site file" in text and "policy.no_conduit" in text


def test_map_page_embeds_the_laid_out_graph(web: ConsoleKit) -> None:
    text = web.client(Role.VIEWER).get("/map").text
    assert 'src="/static/vendor/cytoscape.min.js"' in text
    assert '"x":' in text and '"zones":' in text


def test_map_focus_and_zone_filter(web: ConsoleKit) -> None:
    c = web.client(Role.VIEWER)
    focused = c.get("/map?focus=ip:10.10.30.21").text
    assert 'data-focus="ip:10.10.30.21"' in focused
    assert 'value="S7-FILLER"' in focused, "the search box names the focused asset"
    control = c.get("/map?zone=Control").text
    everything = c.get("/map").text
    count = re.compile(r'<tr><th>Assets</th><td>(\d+)</td>')
    shown, total = count.search(control), count.search(everything)
    assert shown is not None and total is not None
    assert 0 < int(shown.group(1)) < int(total.group(1))


def test_wrong_method_is_an_html_405(web: ConsoleKit) -> None:
    r = web.client(Role.VIEWER).get("/logout")
    assert r.status_code == 405
    assert "Not allowed" in r.text


def test_job_panel_polls_until_done(web: ConsoleKit) -> None:
    from otshield.store import jobs

    with web.store.session() as db:
        job, _change = jobs.create_job(db, filename="x.pcap", path="/nonexistent",
                                       created_by="t")
    panel = web.client(Role.VIEWER).get(f"/upload/jobs/{job.id}")
    assert panel.status_code == 200
    assert f'hx-get="/upload/jobs/{job.id}"' in panel.text
    with web.store.session() as db:
        jobs.fail_job(db, job.id, "not a capture <b>file</b>")
    panel = web.client(Role.VIEWER).get(f"/upload/jobs/{job.id}")
    assert "hx-get" not in panel.text
    assert "not a capture &lt;b&gt;file&lt;/b&gt;" in panel.text
    assert web.client(Role.VIEWER).get("/upload/jobs/987654").status_code == 404


def test_upload_form_only_for_uploaders(web: ConsoleKit) -> None:
    assert 'id="upload-form"' in web.client(Role.ANALYST).get("/upload").text
    assert 'id="upload-form"' not in web.client(Role.VIEWER).get("/upload").text


# -- sign-in pages ------------------------------------------------------------------------------


def _form_login(c: TestClient, username: str, password: str, nxt: str = "/") -> str:
    r = c.post("/login", data={"username": username, "password": password, "next": nxt},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return str(r.headers["location"])


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None
    return found.group(1)


def test_password_then_totp_sign_in(web: ConsoleKit) -> None:
    user = web.users[Role.ADMIN]
    web.forget_totp_step(user)
    c = web.anonymous(follow_redirects=False)
    assert _form_login(c, user.username, user.password, "/alerts") == "/mfa?next=/alerts"
    assert c.get("/alerts").status_code == 303, "no permission before the second factor"
    page = c.get("/mfa?next=/alerts")
    assert page.status_code == 200
    r = c.post("/mfa", data={"code": "000000", "next": "/alerts",
                             "csrf_token": _csrf(page.text)})
    assert r.status_code == 401 and "not valid" in r.text
    r = c.post("/mfa", data={"code": user.code(), "next": "/alerts",
                             "csrf_token": _csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    assert c.get("/alerts").status_code == 200


def test_wrong_password_stays_on_the_form(web: ConsoleKit) -> None:
    c = web.anonymous(follow_redirects=False)
    r = c.post("/login", data={"username": "kit-viewer", "password": "wrong-password-1",
                               "next": "/"})
    assert r.status_code == 401
    assert "Invalid user name or password" in r.text
    assert COOKIE_NAME not in r.cookies


def test_login_ignores_an_external_next(web: ConsoleKit) -> None:
    user = web.users[Role.VIEWER]
    c = web.anonymous(follow_redirects=False)
    assert _form_login(c, user.username, user.password, "https://evil.example/") == "/"


def test_forced_password_change_then_enrolment(web: ConsoleKit) -> None:
    user = web.add_user("web-new-eng", Role.OT_ENGINEER, mfa=False, must_change=True)
    c = web.anonymous(follow_redirects=False)
    assert _form_login(c, user.username, user.password) == "/password"
    assert c.get("/").headers["location"] == "/password"
    page = c.get("/password")
    new = "A-much-better-passphrase-42"
    r = c.post("/password", data={"current_password": user.password, "new_password": new,
                                  "confirm_password": new + "x",
                                  "csrf_token": _csrf(page.text)})
    assert r.status_code == 422 and "differ" in r.text
    r = c.post("/password", data={"current_password": user.password, "new_password": new,
                                  "confirm_password": new, "csrf_token": _csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/mfa/enrol"
    enrol = c.get("/mfa/enrol")
    assert enrol.status_code == 200 and "<svg" in enrol.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol.text)
    assert secret is not None
    wrong = c.post("/mfa/enrol", data={"code": "000000", "csrf_token": _csrf(enrol.text)})
    assert wrong.status_code == 400
    assert secret.group(1) in wrong.text, "a mistyped code keeps the same secret"
    done = c.post("/mfa/enrol", data={"code": pyotp.TOTP(secret.group(1)).now(),
                                      "csrf_token": _csrf(enrol.text)})
    assert done.status_code == 200
    assert 'id="recovery-codes"' in done.text
    assert c.get("/").status_code == 200


def test_logout_ends_the_session(web: ConsoleKit) -> None:
    user = web.users[Role.ANALYST]
    c = web.anonymous(follow_redirects=False)
    _form_login(c, user.username, user.password)
    page = c.get("/account")
    r = c.post("/logout", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/account").status_code == 303


# -- administration and account -----------------------------------------------------------------


def test_admin_adds_a_user_and_sees_it_in_the_audit_log(web: ConsoleKit) -> None:
    c = web.client(Role.ADMIN)
    r = c.post("/admin/users", data={"username": "web-added", "role": "analyst",
                                     "display_name": HOSTILE})
    assert r.status_code == 200
    assert 'id="one-time-password"' in r.text
    _assert_escaped(r.text)
    dup = c.post("/admin/users", data={"username": "web-added", "role": "analyst"})
    assert dup.status_code == 409 and "exists already" in dup.text
    audit = c.get("/admin/audit?action=user.").text
    assert "user.create" in audit and "user:web-added" in audit


def test_account_creates_and_revokes_a_token(web: ConsoleKit) -> None:
    c = web.client(Role.VIEWER)
    r = c.post("/account/tokens", data={"name": "siem", "scopes": ["alerts:read"],
                                        "expires_in_days": "30"})
    assert r.status_code == 200
    token = re.search(r'id="new-token">(otk_[^<]+)<', r.text)
    assert token is not None
    api = web.anonymous(headers={"Authorization": f"Bearer {token.group(1)}"})
    assert api.get("/api/v1/alerts").status_code == 200
    beyond = c.post("/account/tokens", data={"name": "x", "scopes": ["alerts:triage"]})
    assert beyond.status_code == 403
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', r.text)
    assert token_id is not None
    done = c.post(f"/account/tokens/{token_id.group(1)}/revoke", follow_redirects=False)
    assert done.status_code == 303
    assert api.get("/api/v1/alerts").status_code == 401

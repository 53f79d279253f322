"""The console in a real browser: Debian's chromium driven by Playwright against a real uvicorn
server on 127.0.0.1 (a free port): sign in with password and TOTP, browse and search assets,
open the map and click a node, acknowledge an alert, upload a capture and see its assets appear.
Every page is photographed (into the test's temporary folder; also into
``$OTSHIELD_SCREENS_DIR`` when set, for a person to look at).

Skips with the reason when chromium or Playwright is absent; never downloads a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from console.browserkit import (
    TIMEOUT_MS,
    VIEWPORT,
    Camera,
    Server,
    launch,
    require_browser,
    sign_in,
)
from console.consolekit import ConsoleKit
from console.webkit import plant_analysis, seed_store
from otshield.console.permissions import Role
from otshield.demo import write_demo_capture
from otshield.detect.testplant import write_site

playwright_api = require_browser()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConsoleKit, str]]:
    folder = tmp_path_factory.mktemp("browser")
    site = write_site(folder / "site.yaml")
    with ConsoleKit.build(folder, site_file=site) as kit:
        seed_store(kit.store, hostile=False)
        with Server(kit) as server:
            yield kit, server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch(playwright_api)


def test_engineer_signs_in_browses_triages_and_uploads(
        console: tuple[ConsoleKit, str], browser: Any, tmp_path: Path) -> None:
    kit, base = console
    camera = Camera(tmp_path)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    # Sign in: password, then the TOTP code; lands on the overview.
    sign_in(kit, page, base, kit.users[Role.OT_ENGINEER], camera=camera)
    assert page.locator("#tile-assets").inner_text().strip() == "17"
    assert page.locator(".chart svg rect").count() > 0
    camera(page, "03-overview")

    # Assets: the table, a search typed in the box (HTMX swaps the table), one asset.
    page.click(".nav a[href='/assets']")
    page.wait_for_url(f"{base}/assets")
    assert page.locator("#asset-table tbody tr").count() == 17
    camera(page, "04-assets")
    page.fill("#q", "10.10.30.")
    expected = sum(1 for a in plant_analysis().inventory.assets
                   if any(ip.startswith("10.10.30.") for ip in a.ips))
    playwright_api.expect(page.locator("#asset-table tbody tr")).to_have_count(expected)
    first = page.locator("#asset-table tbody tr a.row-link").first
    first.click()
    page.wait_for_url("**/assets/ip:*")
    assert page.locator("#facts").count() + page.locator(".empty").count() > 0
    camera(page, "05-asset")

    # The map: click a node (Cytoscape draws on a canvas: ask it where the node is).
    page.goto(f"{base}/map")
    page.wait_for_selector("#map[data-ready=true]")
    camera(page, "06-map")
    node_id, x, y = page.evaluate("""() => {
        const cy = window.otshieldMap;
        const assets = cy.nodes('node.asset');
        const node = assets.filter(n => n.data('asset').roles.includes('controller'))[0]
                     || assets[0];
        const pos = node.renderedPosition();
        const box = document.getElementById('map').getBoundingClientRect();
        return [node.id(), box.left + pos.x, box.top + pos.y];
    }""")
    # An edge first: its midpoint opens the conduit in the side panel.
    ex, ey = page.evaluate("""() => {
        const span = e => {
            const a = e.source().renderedPosition(), b = e.target().renderedPosition();
            return Math.hypot(a.x - b.x, a.y - b.y);
        };
        const edge = window.otshieldMap.edges().sort((a, b) => span(b) - span(a))[0];
        const mid = edge.renderedMidpoint();
        const box = document.getElementById('map').getBoundingClientRect();
        return [box.left + mid.x, box.top + mid.y];
    }""")
    page.mouse.click(ex, ey)
    playwright_api.expect(page.locator("#map-detail h2")).to_have_text("Conduit")
    camera(page, "07-map-conduit")
    page.mouse.click(x, y)
    page.wait_for_selector("#map-open-asset")
    camera(page, "08-map-asset")
    page.click("#map-open-asset")
    page.wait_for_url(f"**/assets/{node_id}")

    # Alerts: the triage list, one alert, acknowledge it in place.
    page.goto(f"{base}/alerts")
    camera(page, "09-alerts")
    page.select_option("#severity", "high")  # HTMX re-renders the table in place
    playwright_api.expect(page.locator("#alert-table .sev-medium")).to_have_count(0)
    page.locator("#alert-table tbody tr a.row-link").first.click()
    page.wait_for_url("**/alerts/*")
    camera(page, "10-alert")
    page.click("#ack-button")
    page.wait_for_selector("#alert-status .status-acknowledged")
    assert "Acknowledged." in page.locator("#triage").inner_text()
    camera(page, "11-alert-acknowledged")

    # Policy page.
    page.goto(f"{base}/policy")
    page.wait_for_selector("#violations")
    camera(page, "12-policy")

    # Upload a capture (the demo plant: other addresses) and see its assets appear.
    capture = tmp_path / "demo.pcap"
    write_demo_capture(capture)
    page.goto(f"{base}/upload")
    camera(page, "13-upload")
    page.set_input_files("#file", str(capture))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#job-done", timeout=90_000)
    camera(page, "14-upload-done")
    page.click("#job-done >> text=View assets")
    page.wait_for_url("**/assets")
    assert page.locator("#asset-table tbody tr").count() > 17
    camera(page, "15-assets-after-upload")

    page.goto(f"{base}/account")
    camera(page, "16-account")
    assert not errors, errors
    context.close()


def test_admin_pages_and_first_sign_in(console: tuple[ConsoleKit, str], browser: Any,
                                       tmp_path: Path) -> None:
    kit, base = console
    camera = Camera(tmp_path)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(kit, page, base, kit.users[Role.ADMIN], "/admin/users")
    camera(page, "17-admin-users")
    page.goto(f"{base}/admin/audit")
    assert page.locator("#audit tbody tr").count() > 0
    camera(page, "18-admin-audit")
    context.close()

    # A new engineer: forced password change, then authenticator enrolment with the QR code.
    user = kit.add_user("browser-new", Role.OT_ENGINEER, mfa=False, must_change=True)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/password")
    camera(page, "19-password")
    new = "Browser-chosen-pass-2026"
    page.fill("#current", user.password)
    page.fill("#new", new)
    page.fill("#confirm", new)
    page.click("button[type=submit]")
    page.wait_for_url("**/mfa/enrol")
    assert page.locator(".qr svg").count() == 1
    camera(page, "20-mfa-enrol")
    page.click("summary")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_selector("#recovery-codes")
    camera(page, "21-recovery-codes")
    context.close()

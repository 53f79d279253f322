"""An analyst works an incident through its playbook in a real browser (issue #8): Debian's
chromium driven by Playwright against uvicorn on 127.0.0.1 (a free port), over a console that
analysed the simulated ransomware attack through the upload endpoint.

The analyst opens the incident (why its alerts were joined, the tactics, the assets), starts the
proposed playbook, ticks the first step's checklist and completes it; the safety-gated step
then says it waits for OT approval and offers the analyst no approve button. An OT engineer
signs in (password and TOTP), approves it, and the run's timeline shows the approval. Every
page is photographed into the test's folder (and ``$OTSHIELD_SCREENS_DIR`` when set).

Skips with the reason when chromium or Playwright is absent; never downloads a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from console.respondkit import attack, respond_kit
from otshield.console.permissions import Role

playwright_api = require_browser()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConsoleKit, str]]:
    with respond_kit(tmp_path_factory.mktemp("browser-respond")) as kit, \
            Server(kit) as server:
        yield kit, server.url


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


def test_analyst_works_the_incident_and_an_ot_engineer_approves(
        console: tuple[ConsoleKit, str], tmp_path: Path) -> None:
    kit, base = console
    shoot = Camera(tmp_path)
    expect = playwright_api.expect
    for browser in launch(playwright_api):
        # -- the analyst: incident, playbook, checklist --------------------------------
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors = _watch(page)
        sign_in(kit, page, base, kit.users[Role.ANALYST], "/incidents")
        expect(page.locator("#incident-table tbody tr")).to_have_count(1)
        shoot(page, "r01-incidents")
        page.click("#incident-table a.row-link")
        page.wait_for_url("**/incidents/*")
        assert "joined because" in page.locator("#why").inner_text()
        assert "impair process control" in page.locator("#tactics").inner_text().lower()
        assert attack().stopped_plc in page.locator("#assets").inner_text()
        shoot(page, "r02-incident")
        page.locator("#proposals button.start-playbook").first.click()
        page.wait_for_url("**/runs/run-*")
        run_url = page.url
        shoot(page, "r03-run-started")

        first = page.locator(".step.active").filter(
            has_text="Confirm the infection and scope it")
        boxes = first.locator("button.tick")
        left = boxes.count()
        assert left == 4
        while left:
            boxes.first.click()
            left -= 1
            expect(boxes).to_have_count(left)
        page.locator(".step.active").filter(
            has_text="Confirm the infection and scope it").locator("button.complete").click()
        gated = page.locator(".step.active").filter(
            has_text="Close the IT-to-OT conduits that the attack used")
        expect(gated.locator(".gate-waiting")).to_contain_text("Waits for OT approval")
        assert gated.locator("button.approve").count() == 0
        assert gated.locator("button.complete").is_disabled()
        shoot(page, "r04-waits-for-ot-approval")
        assert not errors, errors
        context.close()

        # -- the OT engineer approves ------------------------------------------------------
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors = _watch(page)
        target = run_url.removeprefix(base)
        sign_in(kit, page, base, kit.users[Role.OT_ENGINEER], target)
        gated = page.locator(".step.active").filter(
            has_text="Close the IT-to-OT conduits that the attack used")
        gated.locator("input[name=reason]").fill("checked with the shift supervisor")
        gated.locator("button.approve").click()
        approved = page.locator(".step.active").filter(
            has_text="Close the IT-to-OT conduits that the attack used").locator(
            ".gate.approved")
        expect(approved).to_contain_text("Approved by kit-ot-engineer")
        timeline = page.locator("#run-timeline")
        expect(timeline).to_contain_text("OT approval")
        expect(timeline).to_contain_text("checked with the shift supervisor")
        assert "kit-ot-engineer (ot_engineer)" in timeline.inner_text()
        shoot(page, "r05-approved")

        # the playbook library and a case for the record
        page.goto(f"{base}/playbooks")
        expect(page.locator("#playbook-table tbody tr")).to_have_count(6)
        shoot(page, "r06-playbooks")
        page.goto(f"{base}/incidents")
        page.click("#incident-table a.row-link")
        page.click("#open-case")
        page.wait_for_url("**/cases/CASE-*")
        page.click("#extract")
        expect(page.locator("#case-flash")).to_contain_text("Evidence extracted")
        shoot(page, "r07-case")
        assert not errors, errors
        context.close()

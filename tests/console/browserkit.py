"""What every browser test of the console shares: Debian's chromium (never a downloaded one)
with the flags this closed network needs, a real uvicorn server on a free port of 127.0.0.1,
screenshots (into the test's folder, and ``$OTSHIELD_SCREENS_DIR`` when set, for a person to
look at), and the password + TOTP sign-in."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.consolekit import ConsoleKit, KitUser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_MS = 20_000


def require_browser() -> Any:
    """The Playwright sync API, or skip the module with the reason."""
    api = pytest.importorskip("playwright.sync_api", reason="Playwright (python) is not installed")
    pytest.importorskip("uvicorn")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)",
                    allow_module_level=True)
    return api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn serving the kit's app in a thread (the kit runs the app's lifespan itself, so
    the job worker exists once)."""

    def __init__(self, kit: ConsoleKit) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(kit.app, host="127.0.0.1", port=self.port, lifespan="off",
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def launch(api: Any) -> Iterator[Any]:
    """A chromium browser for the duration of the generator (use from a fixture)."""
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Camera:
    """Screenshots into the test's folder and, when asked, the review folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        extra = os.environ.get("OTSHIELD_SCREENS_DIR")
        self.review = Path(extra) if extra else None

    def __call__(self, page: Any, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if self.review is not None:
            self.review.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.review / path.name)
        return path


def sign_in(kit: ConsoleKit, page: Any, base: str, user: KitUser, target: str = "/",
            camera: Camera | None = None) -> None:
    """Password, then the TOTP code when the user has one; lands on ``target``."""
    page.goto(f"{base}{target}")
    page.wait_for_url("**/login**")
    if camera is not None:
        camera(page, "01-login")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.click("button[type=submit]")
    if user.totp_secret is not None:
        page.wait_for_url("**/mfa**")
        if camera is not None:
            camera(page, "02-mfa")
        kit.forget_totp_step(user)
        page.fill("#code", user.code())
        page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")

"""Helpers of the REST API tests (part 7 of issue #7): load the demo plant into a kit's store
through the upload endpoint, and small assertions on the JSON error shape and pages."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role

__all__ = ["DEMO_SITE", "assert_error", "assert_page", "demo_capture", "demo_kit", "load_demo",
           "upload"]

DEMO_SITE = Path(__file__).resolve().parents[2] / "src" / "otshield" / "data" / "demo-site.yaml"


@functools.cache
def _demo_bytes() -> bytes:
    import tempfile

    from otshield.demo import write_demo_capture

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.pcap"
        write_demo_capture(path)
        return path.read_bytes()


def demo_capture(directory: Path) -> Path:
    """The demo plant capture written into ``directory`` (made once per test process)."""
    path = directory / "demo-plant.pcap"
    path.write_bytes(_demo_bytes())
    return path


@contextmanager
def demo_kit(tmp: Path) -> Iterator[ConsoleKit]:
    """A kit whose console runs with the demo plant's site file (``--site``): zones, names,
    the zone policy."""
    with ConsoleKit.build(tmp, site_file=DEMO_SITE) as kit:
        yield kit


def upload(kit: ConsoleKit, data: bytes, name: str = "capture.pcap",
           role: Role = Role.ANALYST) -> httpx.Response:
    r: httpx.Response = kit.client(role).post(f"{API}/captures", files={
        "file": (name, data, "application/octet-stream")})
    return r


def load_demo(kit: ConsoleKit) -> dict[str, Any]:
    """Upload the demo capture (once per kit), wait for its job, return the finished job."""
    done: dict[str, Any] | None = getattr(kit, "_demo_job", None)
    if done is not None:
        return done
    r = upload(kit, _demo_bytes(), "demo-plant.pcap")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert kit.app.state.jobs.wait_idle(120), "the demo analysis did not finish"
    job: dict[str, Any] = kit.client(Role.ANALYST).get(f"{API}/captures/{job_id}").json()
    assert job["status"] == "done", job
    kit._demo_job = job  # type: ignore[attr-defined]
    return job


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """``r`` is the JSON error shape with ``status`` (and ``code``); returns the error."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_page(r: httpx.Response, *, total: int | None = None, page: int = 1,
                per_page: int = 50) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "total", "page", "per_page"}, body
    assert body["page"] == page and body["per_page"] == per_page, body
    if total is not None:
        assert body["total"] == total, body
    items: list[dict[str, Any]] = body["items"]
    assert len(items) <= per_page
    return items

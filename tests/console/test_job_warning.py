"""A capture job whose analysis succeeded but whose incident correlation failed: the job is done,
its results stay, and the failure is shown on the job (API and upload page), not only logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.consolekit import API, ConsoleKit
from otshield.console.api.capturejobs import run_job
from otshield.console.permissions import Role
from otshield.demo import write_demo_capture
from otshield.store import jobs as jobs_repo


@pytest.fixture(scope="module")
def job_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    with ConsoleKit.build(tmp_path_factory.mktemp("jobwarn")) as k:
        yield k


def _job(kit: ConsoleKit, capture: Path) -> int:
    with kit.store.session() as s:
        job, _change = jobs_repo.create_job(s, filename=capture.name, path=str(capture),
                                            created_by="ana")
    return job.id


def test_a_failed_correlation_is_a_warning_on_the_finished_job(
        job_kit: ConsoleKit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otshield.respond import service

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database went away\nsecond line")

    write_demo_capture(tmp_path / "plant.pcap", packets=3000)
    monkeypatch.setattr(service, "correlate_store", broken)
    job_id = _job(job_kit, tmp_path / "plant.pcap")
    run_job(job_kit.store, job_kit.settings, job_id)
    body = job_kit.client(Role.ANALYST).get(f"{API}/captures/{job_id}").json()
    assert body["status"] == "done" and body["alerts_total"] > 0
    [warning] = body["counts"]["warnings"]
    assert "RuntimeError: database went away" in warning and "second line" not in warning
    page = job_kit.client(Role.ANALYST).get(f"/upload/jobs/{job_id}")
    assert page.status_code == 200 and "job-warning" in page.text
    assert "grouping them into incidents failed" in page.text


def test_a_job_without_trouble_has_no_warning(job_kit: ConsoleKit, tmp_path: Path) -> None:
    write_demo_capture(tmp_path / "plant.pcap", packets=3000)
    job_id = _job(job_kit, tmp_path / "plant.pcap")
    run_job(job_kit.store, job_kit.settings, job_id)
    body = job_kit.client(Role.ANALYST).get(f"{API}/captures/{job_id}").json()
    assert body["status"] == "done" and "warnings" not in body["counts"]
    assert "job-warning" not in job_kit.client(Role.ANALYST).get(f"/upload/jobs/{job_id}").text

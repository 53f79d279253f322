"""Capture ingestion for real, on SQLite and PostgreSQL: an uninterrupted run stores exactly
what the analysis found and a later upload adds to it; a ``kill -9`` in the middle loses no
committed alert and leaves no half-written batch; the restarted job ends equal to an
uninterrupted run; a file that is not a capture fails the job with a clear message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func, select

from otshield.detect.alert import Alert
from otshield.detect.analyze import Analysis, AnalyzeOptions, run_analysis
from otshield.detect.testplant import write_attack_capture, write_site
from otshield.errors import CaptureError
from otshield.store import Store
from otshield.store.alerts import key_hash
from otshield.store.ingest import ingest_capture, resume
from otshield.store.inventory import read_inventory
from otshield.store.jobs import create_job, get_job, interrupted_jobs
from otshield.store.models import AlertRecordRow, AlertRow, AlertSourceRow

from .conftest import Fresh


@pytest.fixture(scope="session")
def attack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Analysis]:
    """The project's attack capture (11 stages), its site file, and one plain analysis."""
    root = tmp_path_factory.mktemp("attack")
    capture, site = root / "attack.pcap", root / "site.yaml"
    write_attack_capture(capture)
    write_site(site)
    return capture, site, run_analysis([capture], AnalyzeOptions(site=str(site)))


def _job(store: Store, capture: Path, site: Path | None = None) -> int:
    with store.session() as s:
        job, _ = create_job(s, filename=capture.name, path=str(capture), created_by="test",
                            options={"site": str(site)} if site else {})
    return job.id


def _alerts(store: Store) -> dict[str, tuple[int, float, float, str, str]]:
    with store.session(write=False) as s:
        return {r.key_hash: (r.count, r.first_seen, r.last_seen, r.status, r.rule_id)
                for r in s.scalars(select(AlertRow))}


def _expected(analysis: Analysis) -> dict[str, tuple[int, float, float, str, str]]:
    return {key_hash(a.key): (a.count, a.first_seen, a.last_seen, "new", a.rule_id)
            for a in analysis.alerts}


def _check_equals_analysis(store: Store, analysis: Analysis, capture: Path) -> None:
    assert _alerts(store) == _expected(analysis)
    with store.session(write=False) as s:
        inventory = read_inventory(s)
        records = {h: msgspec.json.decode(record, type=Alert) for h, record in s.execute(
            select(AlertRow.key_hash, AlertRecordRow.record)
            .join(AlertRecordRow, AlertRecordRow.alert_id == AlertRow.id))}
    assert inventory is not None
    assert inventory.assets == sorted(analysis.inventory.assets, key=lambda a: a.id)
    assert inventory.captures == [str(capture)]
    assert {h: a.evidence for h, a in records.items()} == {
        key_hash(a.key): a.evidence for a in analysis.alerts}


def test_an_uninterrupted_ingest_stores_what_the_analysis_found(
        store: Store, attack: tuple[Path, Path, Analysis], demo_capture: Path,
        demo_analysis: Analysis) -> None:
    capture, site, analysis = attack
    job_id = _job(store, capture, site)
    seen: list[tuple[str, float]] = []
    result = ingest_capture(store, capture, job_id, batch=10,
                            progress=lambda stage, f: seen.append((stage, round(f, 2))))
    n = len(analysis.alerts)
    assert n >= 25  # the capture's 11 attack stages and their side effects
    assert (result.packets, result.assets, result.alerts, result.new_alerts) == (
        analysis.packets, len(analysis.inventory.assets), n, n)
    assert seen[0] == ("analysing", 0.0) and seen[-1] == ("done", 1.0)
    steps = [("inventory", 0.6)] + [("alerts", round(0.6 + 0.4 * min(i + 10, n) / n, 2))
                                    for i in range(0, n, 10)]
    assert [x for x in seen if x[0] in ("inventory", "alerts")] == steps
    _check_equals_analysis(store, analysis, capture)
    with store.session(write=False) as s:
        job = get_job(s, job_id)
    assert (job.status, job.progress, job.alerts_done, job.alerts_total) == ("done", 1.0, n, n)
    assert job.counts["severity"] == analysis.counts() and job.packets == analysis.packets
    _second_upload_accumulates(store, analysis, capture, demo_capture, demo_analysis)


def _second_upload_accumulates(store: Store, analysis: Analysis, capture: Path,
                               demo_capture: Path, demo_analysis: Analysis) -> None:
    """Another capture uploaded later adds to the same inventory and alerts."""
    ingest_capture(store, demo_capture, _job(store, demo_capture))
    with store.session(write=False) as s:
        inventory = read_inventory(s)
        alerts = s.scalar(select(func.count()).select_from(AlertRow))
    assert inventory is not None
    assert inventory.captures == [str(capture), str(demo_capture)]
    first = {a.id: a for a in analysis.inventory.assets}
    second = {a.id: a for a in demo_analysis.inventory.assets}
    assert {a.id for a in inventory.assets} == first.keys() | second.keys()
    both = first.keys() & second.keys()
    assert both  # the two captures share part of the plant
    for asset in inventory.assets:  # packets add up where both captures saw the asset
        if asset.id in both:
            assert asset.packets == first[asset.id].packets + second[asset.id].packets
    keys = {a.key for a in demo_analysis.alerts} | {a.key for a in analysis.alerts}
    assert alerts == len(keys)


_CHILD = """
import sys, time
from otshield.store import Store
from otshield.store.ingest import ingest_capture

def slow_disk(stage, fraction):
    if stage == "alerts":  # commits come slowly, so the parent can kill between them
        time.sleep(0.25)

ingest_capture(Store(sys.argv[1]), sys.argv[2], int(sys.argv[3]), batch=2,
               progress=slow_disk)
"""


def test_kill_9_during_ingestion_loses_nothing_and_the_restart_completes(
        fresh: Fresh, attack: tuple[Path, Path, Analysis]) -> None:
    capture, site, analysis = attack
    store = fresh.store()
    job_id = _job(store, capture, site)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, store.target, str(capture),
                              str(job_id)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        committed: dict[str, tuple[int, float, float, str, str]] = {}
        while time.monotonic() < deadline and child.poll() is None:
            with store.session(write=False) as s:
                done = get_job(s, job_id).alerts_done
            if done >= 8:  # four batches committed: take what is there, then kill
                committed = _alerts(store)
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            child.kill()
        _out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
    assert len(committed) >= 8
    after = _alerts(store)
    assert {k: after[k] for k in committed} == committed  # every committed alert survived
    with store.session(write=False) as s:
        job = get_job(s, job_id)
        sources = s.scalar(select(func.count()).select_from(AlertSourceRow))
        assert [j.id for j in interrupted_jobs(s)] == [job_id]
    # whole batches only: each batch commits its alerts, ledger rows and counter together
    assert job.status == "running" and len(after) == job.alerts_done == sources
    n = len(analysis.alerts)
    assert job.alerts_done % 2 == 0 and job.alerts_done < n
    result = resume(store, job_id)  # the restart, with the options stored in the job
    assert result.alerts == n and result.new_alerts == n - job.alerts_done
    _check_equals_analysis(store, analysis, capture)  # equal to one uninterrupted run
    with store.session(write=False) as s:
        final = get_job(s, job_id)
    assert (final.status, final.attempts, final.alerts_done) == ("done", 2, n)


def test_a_file_that_is_not_a_capture_fails_the_job_clearly(store: Store,
                                                            tmp_path: Path) -> None:
    bogus = tmp_path / "notes.pcap"
    bogus.write_text("meeting notes, not packets\n" * 20)
    job_id = _job(store, bogus)
    with pytest.raises(CaptureError):
        ingest_capture(store, bogus, job_id)
    with store.session(write=False) as s:
        job = get_job(s, job_id)
        assert read_inventory(s) is None
    assert job.status == "failed" and "notes.pcap" in job.error
    assert "Traceback" not in job.error


def test_two_jobs_recording_the_same_new_alerts_at_once_both_count(store: Store) -> None:
    """PostgreSQL lets both transactions insert the same new keys; the loser's batch rolls
    back on the unique index and is retried as a merge; concurrent merges lock the rows, so
    no increment is lost (SQLite serialises the writers)."""
    from otshield.store.ingest import _record

    alerts = [Alert(ts=float(i), frame=i, rule_id="r", title="r", severity="low", key=f"k{i}",
                    first_seen=float(i), last_seen=float(i), count=2) for i in range(300)]
    jobs = [_job(store, Path(f"/none/{n}.pcap")) for n in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(job_id: int, batch: list[Alert]) -> None:
        barrier.wait()
        try:
            _record(store, job_id, batch, 300, None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def both(batch: list[Alert]) -> None:
        threads = [threading.Thread(target=run, args=(j, batch)) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    both(alerts)  # both insert the same new keys
    assert errors == []
    counts = _alerts(store)
    assert len(counts) == 300 and {c[0] for c in counts.values()} == {4}
    # both re-run, now seeing 3 occurrences each: two concurrent merges into the same rows
    both([msgspec.structs.replace(a, count=3) for a in alerts])
    assert errors == []
    assert {c[0] for c in _alerts(store).values()} == {6}  # no increment lost

"""The capture analysis worker: uploaded captures are analysed one at a time on a thread the
app owns, so a request returns at once (202 + job) and the analysis never blocks the server.

The job rows live in the store (:mod:`otshield.store.jobs`): status, progress, counts, error.
The runner only decides *when* a job runs; :func:`otshield.store.ingest.ingest_capture` does the
work and commits in transactions, so a server stopped mid-analysis loses nothing committed and
the job is picked up again at the next start (:meth:`JobRunner.start` requeues the jobs left
queued or running).

One worker thread, not a pool: analysis is CPU-bound Python (the GIL serialises it anyway) and
two jobs writing the same inventory at once would only contend for the database.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from otshield.errors import OtshieldError

if TYPE_CHECKING:
    from otshield.console.settings import ConsoleSettings

__all__ = ["JobRunner", "Work"]

log = logging.getLogger("otshield.console")

Work = Callable[[object, "ConsoleSettings", int], None]
"""Runs one job: ``(store, settings, job_id)``; raises to fail it."""

_STOP = -1


class JobRunner:
    """A queue of job ids and the thread that works through it."""

    def __init__(self, store: object, settings: ConsoleSettings,
                 work: Work | None = None,
                 pending: Callable[[object], list[int]] | None = None,
                 fail: Callable[[object, int, str], None] | None = None) -> None:
        from otshield.console.api import capturejobs

        self.store = store
        self.settings = settings
        self._work = work or capturejobs.run_job
        self._pending = pending or capturejobs.pending_jobs
        self._fail = fail or capturejobs.fail_job
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.idle = threading.Event()
        """Set while nothing is queued or running (tests wait on it)."""
        self.idle.set()
        self._outstanding = 0

    def start(self) -> None:
        """Start the worker and requeue the jobs an earlier run left unfinished."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="otshield-jobs",
                                            daemon=True)
            self._thread.start()
        for job_id in self._pending(self.store):
            self.submit(job_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the running job (queued ones stay queued in the store)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)

    def submit(self, job_id: int) -> None:
        with self._lock:
            self._outstanding += 1
            self.idle.clear()
        self._queue.put(job_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has ended (True) or ``timeout`` passed (False)."""
        return self.idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id == _STOP:
                return
            try:
                self._work(self.store, self.settings, job_id)
            except OtshieldError as exc:
                self._fail(self.store, job_id, str(exc))
            except Exception as exc:  # a bug must fail the job, not kill the worker
                log.exception("capture job %d failed", job_id)
                self._fail(self.store, job_id,
                           f"internal error while analysing ({type(exc).__name__}); see the "
                           "server log")
            finally:
                with self._lock:
                    self._outstanding -= 1
                    if self._outstanding <= 0:
                        self._outstanding = 0
                        self.idle.set()

"""The detection pass: events go to the inventory (so rules know roles) and to every detector;
alerts are merged and handed on.

    context = AssetContext(site, builder)
    pipeline = DetectionPipeline(detectors, inventory=builder, on_alert=writer)
    engine = Engine(pipeline)          # the pipeline is the engine's event sink
    ...; engine.finish(); pipeline.finish()
    pipeline.alerts()                  # merged, most severe first

A detector is anything with ``observe(event)`` and ``finish()`` that reports through the
:data:`~otshield.detect.alert.AlertSink` it was built with: the rule engine, the baseline, the
zone policy and threat intelligence are four such detectors. A detector that raises is
contained like a decoder: its error becomes a ``detect.internal_error`` anomaly event and the
others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from otshield.detect.alert import Alert, AlertAggregator, AlertSink
from otshield.events import AnomalyEvent, Event

if TYPE_CHECKING:
    from otshield.inventory.builder import InventoryBuilder

__all__ = ["DetectionPipeline", "Detector"]

_MAX_ERRORS_REPORTED = 20
_BATCH = 2048
_BATCH_SECONDS = 1.0
_DEFER_EVENTS = 1024
"""Offline, complete batches run together once this many events wait (see ``__call__``)."""


class Detector(Protocol):
    """Something that watches events and reports alerts to the sink it was given."""

    name: str

    def observe(self, event: Event) -> None: ...

    def finish(self) -> None:
        """End of input: report what was pending (open windows, unanswered sequences)."""


class DetectionPipeline:
    """Event sink feeding the inventory and the detectors; alerts are merged by key.

    ``on_event`` receives every event (including the inventory's change events and the alerts,
    first occurrence of each key) for output; ``on_alert`` receives each new alert key;
    ``on_each_alert`` every occurrence."""

    def __init__(self, detectors: list[Detector], *, inventory: InventoryBuilder | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_alert: AlertSink | None = None, on_each_alert: AlertSink | None = None,
                 max_alert_keys: int = 100_000, max_delay: float | None = None) -> None:
        self.detectors = list(detectors)
        self.inventory = inventory
        self.on_event = on_event
        self.on_alert = on_alert
        self.on_each_alert = on_each_alert
        """Hears every alert occurrence before merging (evaluation, per-packet scoring)."""
        self.aggregator = AlertAggregator(self._new_alert, max_keys=max_alert_keys)
        self.errors = 0
        self.max_delay = max_delay
        """Live sources: the longest a taken event waits for detection, in wall-clock seconds,
        when :meth:`tick` is called (None: batches end by size and packet time only)."""
        self._batch: list[Event] = []
        self._closed: list[list[Event]] = []
        """Batches complete but not run yet (see :meth:`__call__`)."""
        self._closed_events = 0
        self._defer = 0 if max_delay is not None else _DEFER_EVENTS
        self._waiting_since: float | None = None
        self._observers = [d.observe for d in self.detectors]
        if inventory is not None:
            inventory.emit = self._from_inventory

    def add(self, detector: Detector) -> None:
        """Add a detector (built after the pipeline, because it needs :attr:`alert_sink`)."""
        self.detectors.append(detector)
        self._observers.append(detector.observe)

    @property
    def alert_sink(self) -> AlertSink:
        """Give this to detectors as their sink."""
        if self.on_each_alert is None:
            return self.aggregator
        each, merge = self.on_each_alert, self.aggregator

        def sink(alert: Alert) -> None:
            each(alert)
            merge(alert)
        return sink

    def _new_alert(self, alert: Alert) -> None:
        if self.on_event is not None:
            self.on_event(alert)
        if self.on_alert is not None:
            self.on_alert(alert)

    def _from_inventory(self, event: Event) -> None:
        """Inventory change events (new asset, MAC changed...) are events for detectors too."""
        if self.on_event is not None:
            self.on_event(event)
        self._detect(event)

    def __call__(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        batch = self._batch
        batch.append(event)
        if len(batch) >= _BATCH or event.ts - batch[0].ts >= _BATCH_SECONDS:
            # The batch is complete. Offline, complete batches wait until ``_DEFER_EVENTS``
            # events are in and then run one after the other: each is still run alone
            # (inventory, then detectors), so results are those of running it at once, but
            # the decoders and the detectors no longer take turns every few events (sparse
            # traffic makes one-second batches of a handful of events), which evicted each
            # other's code and data from the CPU caches (on the demo plant capture, detection
            # cost twice as much interleaved as when run in runs of ~1,000 events). Live
            # sources (``max_delay``) run each batch at once, so alerts stay prompt.
            self._batch = []
            self._closed.append(batch)
            self._closed_events += len(batch)
            if self._closed_events >= self._defer:
                self._run_closed()

    def flush(self) -> None:
        """Run the events taken so far: the complete batches waiting, then the open one.

        Detection runs a batch behind the output so that the inventory has seen the batch
        first: a rule asking whether the source is an HMI gets the roles learnt from the same
        second of traffic (the inventory itself works in batches, and an event-by-event
        pipeline saw roles up to one batch late). Batches are small (``_BATCH`` events or
        ``_BATCH_SECONDS`` of packet time), so alerts stay timely; offline, complete batches
        wait for ``_DEFER_EVENTS`` events before they run (see :meth:`__call__`)."""
        self._run_closed()
        batch, self._batch = self._batch, []
        self._waiting_since = None
        if batch:
            self._run(batch)

    def run_complete(self) -> None:
        """Run the complete batches waiting, not the open one: what has been run is then
        exactly what an undeferred pipeline would have run (e.g. before a baseline stops
        learning after N packets, so that the switch falls at the same event)."""
        self._run_closed()

    def _run_closed(self) -> None:
        closed, self._closed = self._closed, []
        self._closed_events = 0
        for batch in closed:
            self._run(batch)

    def _run(self, batch: list[Event]) -> None:
        """One batch: the inventory first, then each detector over the whole batch."""
        inventory = self.inventory
        if inventory is not None:
            inventory.take(batch)
        detectors = self.detectors
        for i, observe in enumerate(self._observers):
            events = iter(batch)
            while True:
                try:  # one try per batch, resumed after an event that raised
                    for event in events:
                        observe(event)
                    break
                except Exception as exc:  # a detector bug must not stop the others
                    self._error(detectors[i].name, event, exc)

    def tick(self, now: float | None = None) -> None:
        """Live sources call this now and then (on every packet and when the interface is
        quiet): a batch that has waited :attr:`max_delay` seconds of wall-clock time is run, so
        alerts come out promptly when traffic is sparse and no later packet ends the batch.

        The wait is measured from the first tick that saw the batch (``now`` is
        ``time.monotonic()`` unless given), so nothing is added to the per-event path that
        offline analysis runs."""
        if self.max_delay is None or not (self._batch or self._closed):
            return
        if now is None:
            now = time.monotonic()
        since = self._waiting_since
        if since is None:
            self._waiting_since = now
            if self.max_delay > 0:
                return
            since = now
        if now - since >= self.max_delay:
            self.flush()

    def _detect(self, event: Event) -> None:
        for i, observe in enumerate(self._observers):
            try:
                observe(event)
            except Exception as exc:  # a detector bug must not stop the others
                self._error(self.detectors[i].name, event, exc)

    def _error(self, name: str, event: Event, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= _MAX_ERRORS_REPORTED and self.on_event is not None:
            self.on_event(AnomalyEvent(
                ts=event.ts, frame=event.frame, code="detect.internal_error",
                detail=f"{name}: {type(exc).__name__}: {exc}"[:500], protocol="detect"))

    def finish(self) -> None:
        """End of input: the last batch, then each detector's pending findings."""
        self.flush()
        for detector in self.detectors:
            try:
                detector.finish()
            except Exception as exc:
                self._error(detector.name, AnomalyEvent(ts=0.0, frame=0, code=""), exc)

    def alerts(self) -> list[Alert]:
        return self.aggregator.alerts()

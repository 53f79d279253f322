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
                 max_alert_keys: int = 100_000) -> None:
        self.detectors = list(detectors)
        self.inventory = inventory
        self.on_event = on_event
        self.on_alert = on_alert
        self.on_each_alert = on_each_alert
        """Hears every alert occurrence before merging (evaluation, per-packet scoring)."""
        self.aggregator = AlertAggregator(self._new_alert, max_keys=max_alert_keys)
        self.errors = 0
        self._batch: list[Event] = []
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
            self.flush()

    def flush(self) -> None:
        """Run the events taken so far: the inventory first, then the detectors.

        Detection runs a batch behind the output so that the inventory has seen the batch
        first: a rule asking whether the source is an HMI gets the roles learnt from the same
        second of traffic (the inventory itself works in batches, and an event-by-event
        pipeline saw roles up to one batch late). Batches are small (``_BATCH`` events or
        ``_BATCH_SECONDS`` of packet time), so alerts stay timely."""
        batch, self._batch = self._batch, []
        inventory = self.inventory
        if inventory is not None:
            for event in batch:
                inventory(event)
            inventory.flush()
        detect = self._detect
        for event in batch:
            detect(event)

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

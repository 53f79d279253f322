"""The Genisys record: one when the flow's first message is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_int, identify_fields

__all__ = ["GenisysEvent", "build"]


class GenisysEvent(IdentifyEvent, frozen=True, tag="genisys", rename=ecs()):
    """Genisys on a flow; ``message`` is the header name (``poll``, ``execute_controls``...)."""

    station: int | None = None
    """Station (server) address of the first message."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> GenisysEvent:
    station = fact_int(summary.client, "station")
    if station is None:
        station = fact_int(summary.server, "station")
    return GenisysEvent(**fields, **identify_fields(phase, first, summary), station=station)

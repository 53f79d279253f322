"""The S-Bus record: one when the flow's first telegram is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_int, identify_fields

__all__ = ["SbusEvent", "build"]


class SbusEvent(IdentifyEvent, frozen=True, tag="sbus", rename=ecs()):
    """Saia S-Bus on a flow; ``message`` is the command name (``read_registers``,
    ``stop_procedure_own_cpu``...), ``response`` or an ACK/NAK code."""

    station: int | None = None
    """S-Bus station (destination) address of the first request."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> SbusEvent:
    station = fact_int(summary.client, "station")
    if station is None:
        station = fact_int(summary.server, "station")
    return SbusEvent(**fields, **identify_fields(phase, first, summary), station=station)

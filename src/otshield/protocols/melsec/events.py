"""The MELSEC record: one when the flow's first unit is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import (
    IdentifyEvent,
    Summary,
    Unit,
    fact_int,
    fact_str,
    identify_fields,
)

__all__ = ["MelsecEvent", "build"]


class MelsecEvent(IdentifyEvent, frozen=True, tag="melsec", rename=ecs()):
    """MELSEC on a flow; ``message`` is the MC command (``batch_read_words``, ``remote_stop``,
    ``write_file``...), ``response`` / ``error_response``, or a MELSOFT kind."""

    frame_type: str | None = None
    """``3E``, ``4E``, ``3E ASCII``, ``4E ASCII`` for the MC protocol; None for MELSOFT."""
    network: int | None = None
    pc: int | None = None
    module_io: int | None = None
    station: int | None = None
    """Routing of the first request (network number, PC number, request destination module
    I/O number, station number)."""
    end_code: int | None = None
    """The first non-zero end code a response carried."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> MelsecEvent:
    c = summary.client or summary.server
    s = summary.server or summary.client
    return MelsecEvent(**fields, **identify_fields(phase, first, summary),
                       frame_type=fact_str(c, "frame"), network=fact_int(c, "network"),
                       pc=fact_int(c, "pc"), module_io=fact_int(c, "module_io"),
                       station=fact_int(c, "station"), end_code=fact_int(s, "end_code"))

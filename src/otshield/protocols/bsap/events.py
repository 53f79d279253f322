"""The BSAP record: one when the flow's first message is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_int, identify_fields

__all__ = ["BsapEvent", "build"]


class BsapEvent(IdentifyEvent, frozen=True, tag="bsap", rename=ecs()):
    """Emerson BSAP on a flow; ``message`` is the RDB function (``rdb_read_signal_by_name``),
    the application function, ``response``, ``ack`` or a serial link function (``poll``)."""

    encapsulation: str = ""
    """``ip`` (BSAP-IP) or ``serial`` (serial BSAP frames carried in UDP)."""
    address: int | None = None
    """Serial: the local address of the first message's sender or addressee."""
    destination_address: int | None = None
    source_address: int | None = None
    """Serial global addressing."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> BsapEvent:
    facts = summary.client or summary.server
    serial = "address" in facts
    return BsapEvent(**fields, **identify_fields(phase, first, summary),
                     encapsulation="serial" if serial else "ip",
                     address=fact_int(facts, "address"),
                     destination_address=fact_int(facts, "destination_address"),
                     source_address=fact_int(facts, "source_address"))

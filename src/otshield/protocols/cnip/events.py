"""The CN/IP record: one when the flow's first packet is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_int, identify_fields

__all__ = ["CnipEvent", "build"]


class CnipEvent(IdentifyEvent, frozen=True, tag="cnip", rename=ecs()):
    """LonWorks CN/IP on a flow; ``message`` is the packet type (``data``, ``segment``...)."""

    vendor_code: int | None = None
    """Vendor code of the sender's first packet (0 = standard)."""
    session_id: int | None = None
    protocol_flags: int | None = None


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> CnipEvent:
    facts = summary.client or summary.server
    return CnipEvent(**fields, **identify_fields(phase, first, summary),
                     vendor_code=fact_int(facts, "vendor_code"),
                     session_id=fact_int(facts, "session_id"),
                     protocol_flags=fact_int(facts, "protocol_flags"))

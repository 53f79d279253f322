"""The RTPS record: one when the flow's first message is seen, one summary at its end."""

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
from otshield.protocols.rtps.parser import VENDORS

__all__ = ["RtpsEvent", "build"]


class RtpsEvent(IdentifyEvent, frozen=True, tag="rtps", rename=ecs()):
    """DDS-RTPS on a flow; ``message`` is the run of submessage kinds of a message
    (``INFO_TS+DATA``), counted per kind in ``message_counts``."""

    protocol_version: str | None = None
    vendor_id: int | None = None
    vendor: str | None = None
    """Name of the DDS implementation from the OMG vendor id registry."""
    guid_prefix: str | None = None
    """GUID prefix (hex) of the sending participant."""
    participant_name: str | None = None
    topics: tuple[str, ...] | None = None
    """Topic names announced by SEDP discovery (at most 16 per message, 24 facts per flow)."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> RtpsEvent:
    facts = {**summary.server, **summary.client}
    vendor_id = fact_int(facts, "vendor_id")
    topics = sorted(k[6:] for k in facts if k.startswith("topic:"))
    return RtpsEvent(**fields, **identify_fields(phase, first, summary),
                     protocol_version=fact_str(facts, "version"), vendor_id=vendor_id,
                     vendor=VENDORS.get(vendor_id) if vendor_id is not None else None,
                     guid_prefix=fact_str(facts, "guid_prefix"),
                     participant_name=fact_str(facts, "participant_name"),
                     topics=tuple(topics) or None)

"""The DLMS/COSEM record: one when the flow's first unit is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_int, identify_fields

__all__ = ["DlmsEvent", "build"]


class DlmsEvent(IdentifyEvent, frozen=True, tag="dlms", rename=ecs()):
    """DLMS/COSEM on a flow; ``message`` is the APDU (``aarq``, ``get_request``,
    ``action_request image_transfer``...) or the HDLC frame kind (``hdlc_snrm``...)."""

    framing: str = ""
    """``wrapper`` (IEC 62056-47) or ``hdlc`` (IEC 62056-46 frames over TCP)."""
    client_wport: int | None = None
    server_wport: int | None = None
    """Wrapper ports of the client's first unit (client SAP, server logical device)."""
    client_address: int | None = None
    server_address: int | None = None
    """HDLC addresses of the client's first frame (source, destination)."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> DlmsEvent:
    c = summary.client
    hdlc = "hdlc_source" in c or "hdlc_source" in summary.server
    return DlmsEvent(**fields, **identify_fields(phase, first, summary),
                     client_wport=fact_int(c, "source_wport"),
                     server_wport=fact_int(c, "destination_wport"),
                     client_address=fact_int(c, "hdlc_source"),
                     server_address=fact_int(c, "hdlc_destination"),
                     framing="hdlc" if hdlc else "wrapper")

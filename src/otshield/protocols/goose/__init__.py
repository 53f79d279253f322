"""IEC 61850 GOOSE and GSE management decoder (IEC 61850-8-1 Ed.2 Annex A and C).

Carried directly in Ethernet frames: Ethertype 0x88B8 (GOOSE) and 0x88B9 (GSE management).
One link-layer session follows every publisher (source MAC, APPID, gocbRef) and reports state
changes and rule breaks, not retransmissions -> ``goose``, ``goose_publisher`` and
``goose_mgmt`` events. Routable GOOSE (IEC 61850-90-5 over UDP 102, ``rgoose``) goes through
the same tracker per UDP flow; R-SV and the other routable payloads are only identified.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session
from otshield.protocols.goose.constants import (
    ANOMALY_CODES,
    ETHERTYPE_GOOSE,
    ETHERTYPE_GSE_MGMT,
)
from otshield.protocols.goose.events import GooseEvent, GooseMgmtEvent, GoosePublisherEvent
from otshield.protocols.goose.rgoose import RGOOSE_PORT, RGooseSession, probe
from otshield.protocols.goose.session import GooseSession

__all__ = ["SPEC", "GooseSession", "RGooseSession"]


def _flow_session(flow: FlowContext) -> Session:
    return RGooseSession(flow)


def _link_session(ctx: LinkContext) -> LinkSession:
    return GooseSession(ctx)


SPEC = ProtocolSpec(
    name="goose",
    title="IEC 61850 GOOSE",
    session_factory=_flow_session,
    udp_ports=frozenset({RGOOSE_PORT}),
    probe=probe,
    port_only_claim=False,
    event_types=(GooseEvent, GoosePublisherEvent, GooseMgmtEvent),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
    ethertypes=frozenset({ETHERTYPE_GOOSE, ETHERTYPE_GSE_MGMT}),
    link_session_factory=_link_session,
)

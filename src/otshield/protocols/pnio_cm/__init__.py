"""PROFINET IO context manager (CM) over DCE/RPC connectionless on UDP (IEC 61158-6-10 4.10.3,
5.1): Connect, Release, Read, Write, Control and ReadImplicit calls between IO controllers,
devices and supervisors.

UDP port 34964 (the endpoint mapper port every PNIO device listens on) and, through ``probe``,
the dynamic ports the peers agree on: a datagram is PNIO when its CL header (version 4) names
one of the interfaces DEA00001..4-6C97-11D1-8271-00A02442DF7D (device, controller, supervisor,
parameter server). One ``pnio_cm`` event per call with the request and response sides: AR
(type, UUID, session key, CMInitiator MAC, station name) on Connect, record index/slot/subslot
on Read/Write (I&M0 answers give vendor, order id, serial number, revisions), ControlCommand on
Control, and the PNIOStatus of the answer.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.pnio_cm.constants import PNIO_PORT
from otshield.protocols.pnio_cm.events import PnioCmEvent
from otshield.protocols.pnio_cm.parser import probe
from otshield.protocols.pnio_cm.session import PnioCmSession

__all__ = ["SPEC", "PnioCmEvent", "PnioCmSession"]


def _session(flow: FlowContext) -> Session:
    return PnioCmSession(flow)


SPEC = ProtocolSpec(
    name="pnio_cm",
    title="PROFINET IO CM (DCE/RPC)",
    session_factory=_session,
    udp_ports=frozenset({PNIO_PORT}),
    probe=probe,
    event_types=(PnioCmEvent,),
    depth="full",
    anomaly_codes={
        "pnio_cm.truncated": "datagram shorter than the DCE/RPC CL header or its body length",
        "pnio_cm.bad_header": "RPC version other than 4 (connectionless)",
        "pnio_cm.bad_ndr": "NDR ArgsLength/ActualCount larger than the body",
        "pnio_cm.bad_block": "PNIO block length overruns the arguments, or a block is too "
                             "short for its fields",
        "pnio_cm.too_many_blocks": "more than 256 blocks in one call (the rest are skipped)",
        "pnio_cm.too_many_pending": "more calls awaiting a response than "
                                    "Settings.max_pending_requests; the oldest is reported "
                                    "unanswered (reported once per flow)",
        "pnio_cm.too_many_fragments": "fragmented call too large (Settings.max_frame_bytes, "
                                      "256 fragments) or too many at once; dropped",
        "pnio_cm.incomplete_fragments": "fragmented calls still incomplete when the flow ended",
    },
)

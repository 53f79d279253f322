"""PROFINET DCP (Discovery and basic Configuration Protocol, IEC 61158-6-10 clause 4.3).

DCP has no Ethertype of its own: it rides on the PROFINET Ethertype 0x8892 with FrameIDs
0xFEFC (Hello), 0xFEFD (Get/Set), 0xFEFE (Identify request) and 0xFEFF (Identify response).
The ``profinet_rt`` decoder claims 0x8892 and hands those frames to this package's parser and
:class:`~otshield.protocols.profinet_dcp.session.DcpTracker`; this spec claims nothing itself
and only declares the events and anomaly codes (they are also declared by ``profinet_rt``,
under whose name DCP anomalies are reported).

Events ``profinet_dcp``: Identify requests/responses and Hello (device name, IP suite, vendor
and device ids, role: a fingerprint), and Get/Set transactions with their result. A Set of the
station name or IP is a configuration change (``function_class`` ``config``); factory resets
are ``control``, Signal (flash LED) ``diagnostics``.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.profinet_dcp.events import ProfinetDcpEvent

__all__ = ["ANOMALY_CODES", "SPEC", "ProfinetDcpEvent"]

ANOMALY_CODES: dict[str, str] = {
    "profinet_dcp.truncated": "DCP header or block shorter than its fields or length say",
    "profinet_dcp.bad_length": "DCPDataLength larger than the bytes in the frame",
    "profinet_dcp.unknown_service": "ServiceID other than Get, Set, Identify, Hello",
    "profinet_dcp.too_many_blocks": "more blocks in one PDU than are decoded (64)",
    "profinet_dcp.ip_conflict": "a device reports an IP address conflict (BlockInfo bit 7)",
    "profinet_dcp.too_many_pending": "more Get/Set requests awaiting a response than "
                                     "Settings.max_pending_requests; the oldest is reported "
                                     "unanswered (reported once)",
}


def _no_flows(flow: FlowContext) -> Session:
    raise NotImplementedError("PROFINET DCP is link-layer only, reached through profinet_rt")


SPEC = ProtocolSpec(
    name="profinet_dcp",
    title="PROFINET DCP (via Ethertype 0x8892, decoded by profinet_rt)",
    session_factory=_no_flows,
    event_types=(ProfinetDcpEvent,),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
)

"""PROFINET IO real-time (IEC 61158-5-10/6-10): everything on Ethertype 0x8892.

This decoder claims Ethertype 0x8892 (also VLAN-tagged) and dispatches by FrameID:

- 0xFEFC-0xFEFF: PROFINET DCP, decoded by ``otshield.protocols.profinet_dcp`` (events
  ``profinet_dcp``);
- RT_CLASS_1/2/3 cyclic data (0xC000-0xFBFF, 0x8000-0xBFFF, 0x0100-0x7FFF): counted per stream
  (src MAC, dst MAC, FrameID) with cycle-counter gap and DataStatus checks; a ``profinet_rt``
  event when a provider's DataStatus changes (e.g. RUN -> STOP) and a summary per stream at
  the end;
- alarms high/low (0xFC01/0xFE01, RTA PDUs): one event per alarm DATA/ERR PDU;
- fragmentation (0xFF80-0xFF8F), PTCP (0x0000-0x00FF, 0xFF00-0xFF43) and reserved ids: counted.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session
from otshield.protocols.profinet_dcp import ANOMALY_CODES as DCP_CODES
from otshield.protocols.profinet_dcp.events import ProfinetDcpEvent
from otshield.protocols.profinet_rt.events import ProfinetRtEvent
from otshield.protocols.profinet_rt.session import ProfinetRtSession

__all__ = ["ETHERTYPE", "SPEC", "ProfinetRtEvent", "ProfinetRtSession"]

ETHERTYPE = 0x8892


def _no_flows(flow: FlowContext) -> Session:
    raise NotImplementedError("PROFINET RT is link-layer only")


def _link(link: LinkContext) -> LinkSession:
    return ProfinetRtSession(link)


SPEC = ProtocolSpec(
    name="profinet_rt",
    title="PROFINET IO RT (Ethertype 0x8892; also carries PROFINET DCP)",
    session_factory=_no_flows,
    ethertypes=frozenset({ETHERTYPE}),
    link_session_factory=_link,
    event_types=(ProfinetRtEvent, ProfinetDcpEvent),
    depth="function",
    anomaly_codes={
        "profinet_rt.truncated": "frame too short for its FrameID, APDU status or alarm PDU",
        "profinet_rt.cycle_counter_gap": "a cyclic stream's cycle counter advanced by more "
                                         "than its step: frames lost (first 8 per stream; "
                                         "all are counted in the summary)",
        "profinet_rt.data_status_problem": "a provider's DataStatus says STOP, invalid data "
                                           "or station problem (reported when it appears)",
        "profinet_rt.transfer_status_error": "TransferStatus not zero (first per stream)",
        "profinet_rt.too_many_streams": "more RT streams than are counted (4096)",
        **DCP_CODES,
    },
)

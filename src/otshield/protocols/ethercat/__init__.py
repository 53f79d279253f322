"""EtherCAT (IEC 61158-3/4-12, ETG.1000) on Ethertype 0x88A4, depth "function".

Frames of type 1 (EtherCAT commands) are split into datagrams (command, index, address,
length, working counter); datagrams are counted per (src MAC, command) and summarised at the
end of input (``ethercat`` events of kind ``summary``). Writes to the AL Control register
(0x0120), which request a slave state change (INIT, PREOP, SAFEOP, OP, BOOT), are events of
kind ``al_control`` (``function_class`` ``control``). Mailbox protocols (CoE, FoE, EoE, SoE)
inside datagrams are not decoded.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session
from otshield.protocols.ethercat.constants import ETHERTYPE
from otshield.protocols.ethercat.events import EthercatEvent
from otshield.protocols.ethercat.session import EthercatSession

__all__ = ["SPEC", "EthercatEvent", "EthercatSession"]


def _no_flows(flow: FlowContext) -> Session:
    raise NotImplementedError("EtherCAT is link-layer only")


def _link(link: LinkContext) -> LinkSession:
    return EthercatSession(link)


SPEC = ProtocolSpec(
    name="ethercat",
    title="EtherCAT",
    session_factory=_no_flows,
    ethertypes=frozenset({ETHERTYPE}),
    link_session_factory=_link,
    event_types=(EthercatEvent,),
    depth="function",
    anomaly_codes={
        "ethercat.truncated": "frame header, datagram header, data or working counter cut short",
        "ethercat.bad_length": "frame header length larger than the frame",
        "ethercat.al_control_not_acknowledged": "an AL Control write came back with working "
                                                "counter 0 (no slave executed it)",
        "ethercat.too_many_pending": "more AL Control writes awaiting their return than "
                                     "Settings.max_pending_requests (reported once)",
        "ethercat.too_many_counters": "more than 4096 (MAC, command) counters (reported once)",
    },
)

"""Ethernet POWERLINK (EPSG DS 301, IEC 61158-4-13) on Ethertype 0x88AB, depth "function".

Cyclic SoC/PReq/PRes/SoA frames are counted per (source node, message type) and summarised at
the end; each node's NMT state is tracked (PRes, StatusResponse, IdentResponse; the MN's state
from SoA) and a change is an event. ASnd NMTCommand (NMTStartNode, NMTStopNode, NMTResetNode...:
``function_class`` ``control``) and NMTRequest are events; IdentResponse gives the node's
identity (vendor id, product code, revision, serial number, device type, IP, host name: a
fingerprint), emitted once per node and again if it changes. SDO (object dictionary access)
over ASnd is counted, not decoded.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session
from otshield.protocols.powerlink.constants import ETHERTYPE
from otshield.protocols.powerlink.events import PowerlinkEvent
from otshield.protocols.powerlink.session import PowerlinkSession

__all__ = ["SPEC", "PowerlinkEvent", "PowerlinkSession"]


def _no_flows(flow: FlowContext) -> Session:
    raise NotImplementedError("POWERLINK is link-layer only here (UDP 3819 is not decoded)")


def _link(link: LinkContext) -> LinkSession:
    return PowerlinkSession(link)


SPEC = ProtocolSpec(
    name="powerlink",
    title="Ethernet POWERLINK",
    session_factory=_no_flows,
    ethertypes=frozenset({ETHERTYPE}),
    link_session_factory=_link,
    event_types=(PowerlinkEvent,),
    depth="function",
    anomaly_codes={
        "powerlink.truncated": "frame shorter than its message type or ASnd service needs",
        "powerlink.unknown_message_type": "message type not defined by DS 301",
        "powerlink.too_many_nodes": "more than 4096 node/message-type counters (reported once)",
    },
)

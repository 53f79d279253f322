"""BACnet decoder (ANSI/ASHRAE Standard 135-2020).

- BACnet/IP: UDP 47808 (0xBAC0), and other ports when the first datagram is a BVLL message
  (BACnet/IP networks often use 47809 and up) -> Annex J BVLC, clause 6 NPDU, clause 20 APDU;
- BACnet/Ethernet: ISO 8802-2 LLC frames with DSAP/SSAP 0x82 (clause 7), same NPDU/APDU path.

Events: ``bacnet`` (application transactions) and ``bacnet_network`` (BVLC management and
network-layer messages).
"""

from __future__ import annotations

from otshield.protocols.bacnet.events import BacnetEvent, BacnetNetworkEvent
from otshield.protocols.bacnet.parser import probe
from otshield.protocols.bacnet.session import BacnetIpSession, BacnetLinkSession
from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session

__all__ = ["BACNET_PORT", "LLC_SAP", "SPEC", "BacnetIpSession", "BacnetLinkSession"]

BACNET_PORT = 0xBAC0
LLC_SAP = 0x82


def _session(flow: FlowContext) -> Session:
    return BacnetIpSession(flow)


def _link_session(ctx: LinkContext) -> LinkSession:
    return BacnetLinkSession(ctx)


SPEC = ProtocolSpec(
    name="bacnet",
    title="BACnet (BACnet/IP and BACnet/Ethernet)",
    session_factory=_session,
    udp_ports=frozenset({BACNET_PORT}),
    probe=probe,
    event_types=(BacnetEvent, BacnetNetworkEvent),
    llc_saps=frozenset({LLC_SAP}),
    link_session_factory=_link_session,
    anomaly_codes={
        "bacnet.bad_bvlc": "BVLL message that is not BACnet/IPv4 (type other than 0x81), whose "
                           "length field disagrees with the datagram, with an undefined "
                           "function, or with function parameters of the wrong size (Annex J)",
        "bacnet.bad_llc": "LLC header of a DSAP 0x82 frame other than 82 82 03 (clause 7)",
        "bacnet.bad_npdu": "NPDU truncated, of a version other than 1, with reserved control "
                           "bits set, a zero SLEN, or malformed network-message parameters "
                           "(clause 6)",
        "bacnet.bad_apdu": "APDU truncated or of a reserved PDU type (clause 20.1)",
        "bacnet.bad_tag": "service parameters whose tags are malformed, of an unexpected type, "
                          "truncated, or followed by extra octets (clause 20.2)",
        "bacnet.unknown_service": "confirmed or unconfirmed service choice not defined by the "
                                  "standard",
        "bacnet.unknown_network_message": "network-layer message type in the reserved range "
                                          "0x14-0x7f",
        "bacnet.reply_mismatch": "a reply carries another service choice than the pending "
                                 "request with its invoke id",
        "bacnet.segment_error": "segmented message with a lost or unexpected segment, or "
                                "longer than Settings.max_frame_bytes: it is not decoded",
        "bacnet.too_many_pending": "more confirmed requests awaiting replies than "
                                   "Settings.max_pending_requests; the oldest are reported "
                                   "unanswered (once per flow, or once for BACnet/Ethernet)",
        "bacnet.unanswered_request": "confirmed requests that got no reply within "
                                     "Settings.request_timeout or before the end (one summary "
                                     "per flow)",
    },
)

"""DNS (RFC 1035) over UDP and TCP port 53, Multicast DNS (RFC 6762, UDP 5353) and LLMNR
(RFC 4795, UDP 5355): one event per query/response transaction."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.dns.events import DnsEvent
from otshield.protocols.dns.parser import frame_size
from otshield.protocols.dns.session import DnsSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return DnsSession(flow)


SPEC = ProtocolSpec(
    name="dns",
    title="Domain Name System (with mDNS and LLMNR)",
    session_factory=_session,
    tcp_ports=frozenset({53}),
    udp_ports=frozenset({53, 5353, 5355}),
    # No probe: twelve header bytes say too little to claim UDP flows on other ports.
    frame_size=frame_size,
    event_types=(DnsEvent,),
    anomaly_codes={
        "dns.truncated": "the message ends inside its header, a name or a record",
        "dns.invalid_length": "DNS over TCP length prefix shorter than a 12-byte header",
        "dns.invalid_name": "a label uses the reserved types 0x40/0x80 (extended labels)",
        "dns.invalid_pointer": "a compression pointer points outside the message",
        "dns.compression_loop": "compression pointers loop (or chain more than 63 times)",
        "dns.oversized_name": "a name longer than 255 octets (Ripple20 CVE-2020-11901 style); "
                              "past 1024 octets the rest of the message is not decoded",
        "dns.name_expansion_limit": "compression pointers make the names far longer than the "
                                    "message (a decompression bomb); decoding stopped",
        "dns.rdata_length_mismatch": "record data does not match its declared length or type",
        "dns.trailing_data": "bytes after the last record the header announces",
        "dns.too_many_pending": "more unanswered queries than max_pending_requests; the oldest "
                                "is reported unanswered",
    },
)

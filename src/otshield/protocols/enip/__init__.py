"""EtherNet/IP (ODVA CIP Networks Library Volume 2) and CIP (Volume 1) decoder.

- TCP and UDP 44818: encapsulation messages (framed by the 24-byte header's length field),
  CIP explicit messages in SendRRData / SendUnitData, ListIdentity and the other
  encapsulation commands -> ``enip`` and ``cip`` events;
- UDP 2222: implicit (class 0/1) I/O, counted per connection id -> ``cip_io`` events.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.enip.encap import frame_size, probe
from otshield.protocols.enip.events import CipEvent, CipIoEvent, EnipEvent
from otshield.protocols.enip.io import EnipIoSession
from otshield.protocols.enip.session import EnipSession

__all__ = ["ENCAP_PORT", "IO_PORT", "SPEC", "EnipIoSession", "EnipSession"]

ENCAP_PORT = 44818
IO_PORT = 2222


def _session(flow: FlowContext) -> Session:
    if flow.transport == "udp" and ENCAP_PORT not in (flow.server_port, flow.client_port):
        return EnipIoSession(flow)
    return EnipSession(flow)


SPEC = ProtocolSpec(
    name="enip",
    title="EtherNet/IP and CIP",
    session_factory=_session,
    tcp_ports=frozenset({ENCAP_PORT}),
    udp_ports=frozenset({ENCAP_PORT, IO_PORT}),
    probe=probe,
    frame_size=frame_size,
    event_types=(EnipEvent, CipEvent, CipIoEvent),
    anomaly_codes={
        "enip.bad_header": "stream bytes that cannot start an encapsulation message (command "
                           "above 0x00ff, or a reserved command with options or an undefined "
                           "status): the decoder resynchronises",
        "enip.invalid_length": "encapsulation length field disagrees with the data, or command "
                               "data of the wrong size",
        "enip.invalid_frame_size": "encapsulation message longer than Settings.max_frame_bytes",
        "enip.buffer_overflow": "undecodable stream bytes beyond Settings.max_stream_buffer "
                                "were dropped",
        "enip.unknown_command": "encapsulation command code that is reserved (not defined by "
                                "the specification)",
        "enip.nonzero_options": "options field not zero (receivers must discard such messages; "
                                "reported once per flow)",
        "enip.bad_cpf": "Common Packet Format item count or lengths inconsistent, or the items "
                        "a command needs are missing",
        "enip.bad_identity": "ListIdentity item or Identity object reply truncated",
        "enip.too_many_pending": "more requests awaiting replies than "
                                 "Settings.max_pending_requests; the oldest are reported "
                                 "unanswered (once per flow)",
        "enip.unanswered_request": "encapsulation requests on TCP left without a reply when the "
                                   "flow ended",
        "enip.too_many_io_connections": "more implicit I/O connection ids on one UDP flow than "
                                        "Settings.max_pending_requests",
        "cip.invalid_length": "CIP request or reply shorter than its header, path or status "
                              "say, or service data too short",
        "cip.bad_path": "EPATH segment truncated, reserved or unsupported",
        "cip.unknown_service": "service code in a range no object may use",
        "cip.reply_mismatch": "a reply carries a different service code than its request",
        "cip.bad_multiple_service": "Multiple_Service_Packet count or offsets inconsistent",
        "cip.too_many_services": "Multiple_Service_Packet with more embedded services than are "
                                 "decoded (256)",
        "cip.multiple_count_mismatch": "Multiple_Service_Packet reply count differs from the "
                                       "request's",
        "cip.bad_unconnected_send": "Unconnected_Send embedded request or route path truncated",
        "cip.bad_forward_open": "Forward_Open / Forward_Close request or reply truncated",
        "cip.bad_pccc": "PCCC command inside Execute_PCCC truncated",
        "cip.unanswered_request": "CIP requests left without a reply when the flow ended",
    },
)

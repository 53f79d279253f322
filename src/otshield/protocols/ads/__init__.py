"""Beckhoff ADS/AMS decoder: AMS over TCP 48898 (6-byte AMS/TCP header), AMS over UDP 48899
and the AMS/UDP discovery / add-route service on 48899. ``ads`` events per ADS transaction
(command, AMS addresses and ports, index group/offset, symbol names, ADS state changes, device
info fingerprint), ``ads_discovery`` events per discovery or route exchange.
"""

from __future__ import annotations

from otshield.protocols.ads.events import AdsDiscoveryEvent, AdsEvent
from otshield.protocols.ads.parser import frame_size, probe
from otshield.protocols.ads.session import AdsSession
from otshield.protocols.base import FlowContext, ProtocolSpec, Session

__all__ = ["ADS_TCP_PORT", "ADS_UDP_PORT", "SPEC", "AdsSession"]

ADS_TCP_PORT = 48898
ADS_UDP_PORT = 48899


def _session(flow: FlowContext) -> Session:
    return AdsSession(flow)


SPEC = ProtocolSpec(
    name="ads",
    title="Beckhoff ADS/AMS",
    session_factory=_session,
    tcp_ports=frozenset({ADS_TCP_PORT}),
    udp_ports=frozenset({ADS_UDP_PORT}),
    probe=probe,
    frame_size=frame_size,
    event_types=(AdsEvent, AdsDiscoveryEvent),
    anomaly_codes={
        "ads.bad_header": "AMS/TCP header with an undefined command, or AMS/UDP message "
                          "without the discovery magic",
        "ads.bad_length": "AMS/TCP or AMS data length disagreeing with the bytes present, or "
                          "ADS command data / discovery tags truncated",
        "ads.unknown_command": "ADS command id or AMS/UDP service not defined by Beckhoff",
        "ads.too_many_pending": "more requests awaiting responses than "
                                "Settings.max_pending_requests; the oldest are reported "
                                "unanswered",
        "ads.unanswered_request": "ADS requests still unanswered after "
                                  "Settings.request_timeout or when the flow ended",
    },
)

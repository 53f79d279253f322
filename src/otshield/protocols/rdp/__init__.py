"""RDP connection sequence (TPKT + X.224 + MCS, [MS-RDPBCGR] 1.3.1.1) over TCP 3389."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.rdp.events import RdpEvent
from otshield.protocols.rdp.session import RdpSession

__all__ = ["SPEC", "probe"]


def probe(buf: bytes, from_client: bool) -> bool:
    """An X.224 Connection Request in a TPKT carrying an RDP cookie or RDP_NEG_REQ: enough to
    tell RDP from other ISO transports (S7comm, MMS) that share TPKT."""
    if not from_client or len(buf) < 11 or buf[0] != 3 or buf[5] & 0xF0 != 0xE0:
        return False
    end = min(len(buf), (buf[2] << 8) | buf[3])
    body = buf[11:end]
    return body.startswith(b"Cookie: ") or (len(body) >= 8 and body[-8] == 0x01
                                            and body[-6:-4] == b"\x08\x00")


def _session(flow: FlowContext) -> Session:
    return RdpSession(flow)


SPEC = ProtocolSpec(
    name="rdp",
    title="Remote Desktop Protocol (connection sequence)",
    session_factory=_session,
    tcp_ports=frozenset({3389}),
    probe=probe,
    event_types=(RdpEvent,),
    anomaly_codes={
        "rdp.invalid_tpkt": "TPKT version not 3, length below 7 or above 16 KiB",
        "rdp.invalid_x224": "X.224 connection TPDU with a wrong code or length indicator",
        "rdp.invalid_negotiation": "RDP_NEG_REQ/RSP/FAILURE with a wrong type or length",
        "rdp.invalid_mcs": "MCS Connect Initial/Response that cannot be read",
        "rdp.not_rdp": "data on an RDP port that is neither TPKT, TLS nor fast-path",
        "rdp.ms_t120_channel": "client requested the MS_T120 virtual channel (BlueKeep)",
    },
)

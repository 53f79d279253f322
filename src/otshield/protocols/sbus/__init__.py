"""Saia-Burgess S-Bus identification (UDP 5050, or any UDP flow whose datagrams carry a valid
S-Bus header): command names and function classes counted, station address kept. See
``parser`` for the format and references."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.identify import IdentifySession
from otshield.protocols.sbus.events import SbusEvent, build
from otshield.protocols.sbus.parser import parse, probe

__all__ = ["SPEC", "SbusEvent"]


def _session(flow: FlowContext) -> Session:
    return IdentifySession(flow, "sbus", parse, build)


SPEC = ProtocolSpec(
    name="sbus",
    title="Saia S-Bus",
    session_factory=_session,
    udp_ports=frozenset({5050}),
    probe=probe,
    event_types=(SbusEvent,),
    anomaly_codes={
        "sbus.truncated": "a telegram shorter than its header",
        "sbus.bad_length": "the length field differs from the datagram size",
        "sbus.bad_header": "unknown version, protocol type or telegram attribute",
        "sbus.bad_crc": "the CRC-16 does not match the telegram",
        "sbus.malformed": "more malformed telegrams than reported one by one",
    },
    depth="identify",
    port_only_claim=False,
)

"""OPC UA binary (``opc.tcp``) decoder: OPC 10000-6 (Part 6) UA Connection Protocol and UA
Secure Conversation, OPC 10000-4 (Part 4) services.

- TCP 4840 (IANA ``opcua-tcp``), 48010 (a common vendor default) and 4843, and any other port
  where the first message probes as OPC UA (message type + chunk type + sane size);
- Hello / Acknowledge / Error / ReverseHello; OpenSecureChannel (security policy, sender
  certificate thumbprint, and for policy None the request type, security mode and lifetimes);
  CloseSecureChannel; MSG chunks reassembled (bounded), abort chunks reported, sequence
  numbers checked;
- on unencrypted channels, every standard service by its encoding id, request and response
  headers, and field-level decoding of discovery, session, attribute, method, view, node
  management, subscription and monitored item services, with BuildInfo picked out of Read
  results. One :class:`~otshield.protocols.opcua.events.OpcuaEvent` per transaction.

Modules: ``constants`` (tables), ``binary`` (built-in type reader), ``values`` (Variant and
DataValue records), ``transport`` (framing, probe, connection messages, security headers),
``services`` (service body type, headers, BuildInfo) with ``body`` (what a body holds) and the
service-set decoders ``discovery``, ``nodes`` and ``subscriptions``, ``record`` (request +
response -> event), ``session`` (per-connection state), ``events`` (the records).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.opcua.constants import ANOMALY_CODES
from otshield.protocols.opcua.events import OpcuaEvent
from otshield.protocols.opcua.session import OpcuaSession
from otshield.protocols.opcua.transport import frame_size, probe

__all__ = ["OPCUA_PORTS", "SPEC", "OpcuaEvent", "OpcuaSession"]

OPCUA_PORTS = frozenset({4840, 4843, 48010})

SPEC = ProtocolSpec(
    name="opcua",
    title="OPC UA binary",
    session_factory=OpcuaSession,
    tcp_ports=OPCUA_PORTS,
    probe=probe,
    frame_size=frame_size,
    event_types=(OpcuaEvent,),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
)

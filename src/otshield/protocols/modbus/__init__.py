"""Modbus/TCP decoder (TCP and UDP port 502, or any port where the MBAP header probes right).

Decodes every public function code of the MODBUS Application Protocol Specification V1.1b3
(section 6) in both directions, exception responses (section 7), diagnostics sub-functions,
encapsulated interface transport (read device identification, CANopen), file records, legacy
Modicon and user-defined codes (recognised), and Schneider UMAS (function code 90) function codes.
One :class:`~otshield.protocols.modbus.events.ModbusEvent` per transaction.

Modules: ``constants`` (tables), ``framing`` (unit boundaries, probe), ``parser`` (pure ADU
decoding), ``session`` (request/response pairing), ``record`` (request + response -> event),
``events`` (the records).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.modbus.constants import ANOMALY_CODES
from otshield.protocols.modbus.events import ModbusDeviceObject, ModbusEvent, ModbusFileRecord
from otshield.protocols.modbus.framing import frame_size, probe
from otshield.protocols.modbus.session import ModbusSession

__all__ = ["SPEC", "ModbusDeviceObject", "ModbusEvent", "ModbusFileRecord", "ModbusSession"]

SPEC = ProtocolSpec(
    name="modbus",
    title="Modbus/TCP",
    session_factory=ModbusSession,
    tcp_ports=frozenset({502}),
    udp_ports=frozenset({502}),
    probe=probe,
    frame_size=frame_size,
    event_types=(ModbusEvent,),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
)

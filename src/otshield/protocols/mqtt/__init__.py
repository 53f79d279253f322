"""MQTT 3.1, 3.1.1 and 5.0 decoder (TCP 1883, or any port where a CONNECT opens the stream;
8883 is MQTT over TLS and left to the TLS decoder).

Decodes every control packet (3.1.1 section 3, 5.0 section 3): CONNECT with its flags, client
id, will, user name (never the password) and v5 properties; CONNACK codes; PUBLISH topic, QoS,
flags, packet id, payload size and a text preview; the QoS 1/2 acknowledgements; SUBSCRIBE /
UNSUBSCRIBE filters with their SUBACK / UNSUBACK results; DISCONNECT and AUTH reason codes;
keep-alives counted. One :class:`~otshield.protocols.mqtt.events.MqttEvent` per transaction.

Modules: ``constants`` (tables), ``parser`` (framing, probe, pure packet decoding),
``session`` (pairing by packet id), ``events`` (the records).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.mqtt.constants import ANOMALY_CODES
from otshield.protocols.mqtt.events import MqttEvent
from otshield.protocols.mqtt.parser import frame_size, probe
from otshield.protocols.mqtt.session import MqttSession

__all__ = ["SPEC", "MqttEvent", "MqttSession"]

SPEC = ProtocolSpec(
    name="mqtt",
    title="MQTT",
    session_factory=MqttSession,
    tcp_ports=frozenset({1883}),
    probe=probe,
    frame_size=frame_size,
    event_types=(MqttEvent,),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
)

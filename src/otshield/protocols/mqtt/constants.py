"""MQTT tables: packet types, reason and return codes, v5 properties, anomaly codes.

References: MQTT Version 3.1 (IBM/Eurotech 2010) section 3; MQTT Version 3.1.1 (OASIS Standard,
2014) sections 2.2 (fixed header), 3.2.2.3 (CONNACK return codes), 3.9.3 (SUBACK return codes);
MQTT Version 5.0 (OASIS Standard, 2019) sections 2.1.2 (packet types), 2.2.2.2 (property
identifiers), 2.4 (reason codes), 3.x (per-packet reason code sets).
"""

from __future__ import annotations

__all__ = [
    "ANOMALY_CODES",
    "CONNACK_RETURN_CODES",
    "PACKET_NAMES",
    "PROPERTIES",
    "PROTOCOL_LEVELS",
    "REASON_CODES",
    "REQUIRED_FLAGS",
]

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = (
    8, 9, 10, 11, 12, 13, 14, 15)

PACKET_NAMES: dict[int, str] = {
    0: "RESERVED", 1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
    6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
    12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH",
}
"""Control packet type (high nibble of the first byte) -> name (5.0 section 2.1.2)."""

REQUIRED_FLAGS: dict[int, int] = {
    1: 0, 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 8: 2, 9: 0, 10: 2, 11: 0, 12: 0, 13: 0, 14: 0, 15: 0,
}
"""Fixed-header flag nibble every packet type but PUBLISH must carry (3.1.1 section 2.2.2,
5.0 section 2.1.3); PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0b0010."""

PROTOCOL_LEVELS: dict[tuple[str, int], str] = {
    ("MQIsdp", 3): "3.1",
    ("MQTT", 4): "3.1.1",
    ("MQTT", 5): "5.0",
}
"""(protocol name, protocol level) of a CONNECT -> version (3.1 section 3.1, 3.1.1 section
3.1.2.1-2, 5.0 section 3.1.2.1-2)."""

CONNACK_RETURN_CODES: dict[int, str] = {
    0: "accepted",
    1: "unacceptable_protocol_version",
    2: "identifier_rejected",
    3: "server_unavailable",
    4: "bad_username_or_password",
    5: "not_authorized",
}
"""MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3)."""

REASON_CODES: dict[int, str] = {
    0x00: "success", 0x01: "granted_qos_1", 0x02: "granted_qos_2",
    0x04: "disconnect_with_will_message", 0x10: "no_matching_subscribers",
    0x11: "no_subscription_existed", 0x18: "continue_authentication", 0x19: "re_authenticate",
    0x80: "unspecified_error", 0x81: "malformed_packet", 0x82: "protocol_error",
    0x83: "implementation_specific_error", 0x84: "unsupported_protocol_version",
    0x85: "client_identifier_not_valid", 0x86: "bad_username_or_password",
    0x87: "not_authorized", 0x88: "server_unavailable", 0x89: "server_busy", 0x8A: "banned",
    0x8B: "server_shutting_down", 0x8C: "bad_authentication_method",
    0x8D: "keep_alive_timeout", 0x8E: "session_taken_over", 0x8F: "topic_filter_invalid",
    0x90: "topic_name_invalid", 0x91: "packet_identifier_in_use",
    0x92: "packet_identifier_not_found", 0x93: "receive_maximum_exceeded",
    0x94: "topic_alias_invalid", 0x95: "packet_too_large", 0x96: "message_rate_too_high",
    0x97: "quota_exceeded", 0x98: "administrative_action", 0x99: "payload_format_invalid",
    0x9A: "retain_not_supported", 0x9B: "qos_not_supported", 0x9C: "use_another_server",
    0x9D: "server_moved", 0x9E: "shared_subscriptions_not_supported",
    0x9F: "connection_rate_exceeded", 0xA0: "maximum_connect_time",
    0xA1: "subscription_identifiers_not_supported",
    0xA2: "wildcard_subscriptions_not_supported",
}
"""MQTT 5.0 reason codes (section 2.4). Code 0 is named per packet: see ``ZERO_REASON``."""

ZERO_REASON: dict[int, str] = {SUBACK: "granted_qos_0", DISCONNECT: "normal_disconnection"}
"""The name of reason code 0x00 where it is not "success" (5.0 section 2.4)."""

SUBACK_V3: dict[int, str] = {0: "granted_qos_0", 1: "granted_qos_1", 2: "granted_qos_2",
                             0x80: "failure"}
"""MQTT 3.1.1 SUBACK return codes (section 3.9.3)."""

# Property value types (5.0 section 2.2.2.2 and 1.5).
BYTE, TWO, FOUR, VARINT, UTF8, BINARY, PAIR = range(7)

PROPERTIES: dict[int, tuple[str, int]] = {
    0x01: ("payload_format_utf8", BYTE),
    0x02: ("message_expiry_interval", FOUR),
    0x03: ("content_type", UTF8),
    0x08: ("response_topic", UTF8),
    0x09: ("correlation_data_length", BINARY),
    0x0B: ("subscription_identifiers", VARINT),
    0x11: ("session_expiry_interval", FOUR),
    0x12: ("assigned_client_id", UTF8),
    0x13: ("server_keep_alive", TWO),
    0x15: ("authentication_method", UTF8),
    0x16: ("authentication_data_present", BINARY),
    0x17: ("request_problem_information", BYTE),
    0x18: ("will_delay_interval", FOUR),
    0x19: ("request_response_information", BYTE),
    0x1A: ("response_information", UTF8),
    0x1C: ("server_reference", UTF8),
    0x1F: ("reason_string", UTF8),
    0x21: ("receive_maximum", TWO),
    0x22: ("topic_alias_maximum", TWO),
    0x23: ("topic_alias", TWO),
    0x24: ("maximum_qos", BYTE),
    0x25: ("retain_available", BYTE),
    0x26: ("user_properties", PAIR),
    0x27: ("maximum_packet_size", FOUR),
    0x28: ("wildcard_subscription_available", BYTE),
    0x29: ("subscription_identifier_available", BYTE),
    0x2A: ("shared_subscription_available", BYTE),
}
"""Property identifier -> (event field name, value type). Binary values are never kept: the
correlation data as its length, the authentication data as "present" (it may be a secret)."""

BOOL_PROPERTIES = frozenset({0x01, 0x17, 0x19, 0x25, 0x28, 0x29, 0x2A})
"""Byte properties that are booleans (0 or 1; any other value is a protocol error)."""

MAX_USER_PROPERTIES = 16
MAX_TOPICS = 64
PREVIEW_BYTES = 64

ANOMALY_CODES: dict[str, str] = {
    "mqtt.bad_remaining_length":
        "the fixed header's remaining length runs past 4 bytes (3.1.1 section 2.2.3)",
    "mqtt.unknown_packet_type": "control packet type 0, or 15 before MQTT 5.0 (reserved)",
    "mqtt.invalid_qos": "QoS 3 in a PUBLISH, will QoS or subscription (reserved)",
    "mqtt.bad_flags": "reserved bits set in the fixed header, CONNECT flags, CONNACK "
                      "acknowledge flags or subscription options",
    "mqtt.missing_connect": "packets on a connection whose CONNECT was not seen (mid-stream "
                            "pick-up or a client skipping CONNECT)",
    "mqtt.duplicate_connect": "a second CONNECT on one connection (protocol violation)",
    "mqtt.unknown_protocol": "CONNECT with an unknown protocol name or level",
    "mqtt.bad_utf8": "a string is not valid UTF-8 or contains U+0000",
    "mqtt.bad_property": "an unknown, repeated or out-of-range MQTT 5.0 property",
    "mqtt.truncated": "a packet ends inside one of its fields",
    "mqtt.trailing_bytes": "bytes left after the last field of a packet",
    "mqtt.empty_subscription": "SUBSCRIBE or UNSUBSCRIBE without any topic filter",
    "mqtt.unexpected_direction": "a packet only the other side may send (CONNECT from the "
                                 "broker, CONNACK from the client...)",
    "mqtt.too_many_pending": "more unanswered packets than Settings.max_pending_requests; the "
                             "oldest are reported unanswered",
    "mqtt.unanswered_request": "a CONNECT, PUBLISH (QoS 1/2), SUBSCRIBE or UNSUBSCRIBE got no "
                               "acknowledgement before the timeout or the end of the flow",
    "mqtt.unmatched_response": "an acknowledgement with no packet it could answer",
    "mqtt.invalid_frame_size": "a packet length beyond Settings.max_frame_bytes",
    "mqtt.buffer_overflow": "undecoded stream bytes beyond Settings.max_stream_buffer",
}

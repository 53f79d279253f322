"""MQTT event records: one per transaction (CONNECT + CONNACK, PUBLISH + its acknowledgements,
SUBSCRIBE + SUBACK, UNSUBSCRIBE + UNSUBACK), one per DISCONNECT and AUTH, and a keep-alive
summary (PINGREQ/PINGRESP counts) when the flow ends. Source is the side that sent the first
packet of the transaction. Field meanings: MQTT 3.1.1 (OASIS 2014) and 5.0 (OASIS 2019),
section numbers in the docstrings. The password and the authentication data are never kept.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["MqttEvent", "MqttProperties", "MqttSubscription", "MqttUserProperty"]


class MqttUserProperty(msgspec.Struct, frozen=True, gc=False):
    """A v5 User Property (5.0 section 3.1.2.11.8): a name/value string pair."""

    name: str
    value: str


class MqttProperties(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """MQTT 5.0 properties (section 2.2.2.2); only those present are set."""

    payload_format_utf8: bool | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data_length: int | None = None
    """Length of the Correlation Data (the bytes are not kept)."""
    subscription_identifiers: tuple[int, ...] | None = None
    session_expiry_interval: int | None = None
    assigned_client_id: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data_present: bool | None = None
    """The Authentication Data is never kept (it may hold a secret)."""
    request_problem_information: bool | None = None
    will_delay_interval: int | None = None
    request_response_information: bool | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: bool | None = None
    user_properties: tuple[MqttUserProperty, ...] | None = None
    maximum_packet_size: int | None = None
    wildcard_subscription_available: bool | None = None
    subscription_identifier_available: bool | None = None
    shared_subscription_available: bool | None = None
    truncated: bool = False
    """More user properties than the cap (16) were sent; the rest are not kept."""


class MqttSubscription(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One topic filter of a SUBSCRIBE (3.1.1 section 3.8.3, 5.0 section 3.8.3.1) or UNSUBSCRIBE,
    with the matching SUBACK / UNSUBACK code."""

    topic: str
    qos: int | None = None
    """Requested maximum QoS (SUBSCRIBE only)."""
    no_local: bool | None = None
    retain_as_published: bool | None = None
    retain_handling: int | None = None
    """v5 subscription options."""
    result: int | None = None
    """SUBACK granted QoS / return or reason code, v5 UNSUBACK reason code."""
    result_name: str | None = None
    """``granted_qos_1``, ``failure``, ``not_authorized``, ``no_subscription_existed``..."""


class MqttEvent(Event, frozen=True, tag="mqtt", rename=ecs(username="user.name")):
    """One MQTT transaction or notable packet."""

    packet_type: str
    """CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, AUTH, PINGREQ (keep-alive summary),
    or the acknowledgement's type (CONNACK, PUBACK...) when it answered nothing seen."""
    function_class: str
    """security (CONNECT, AUTH), write (PUBLISH from the client), read (SUBSCRIBE, UNSUBSCRIBE,
    PUBLISH delivered by the broker), diagnostics (keep-alive), other (DISCONNECT)."""
    status: str
    """ok / refused (CONNACK code not 0) / error (a reason code >= 0x80) / partial (some of the
    subscriptions failed) / unanswered / incomplete (QoS 2 handshake cut short) / unmatched."""
    protocol_version: str | None = None
    """3.1, 3.1.1 or 5.0 from the CONNECT; None when the CONNECT was not seen (decoded as 3.1.1)."""
    request_frame: int | None = None
    response_time: float | None = None
    """Seconds from the first packet to the one that completed the transaction."""
    # CONNECT (3.1.1 section 3.1, 5.0 section 3.1)
    protocol_name: str | None = None
    client_id: str | None = None
    username: str | None = None
    password_present: bool | None = None
    clean_session: bool | None = None
    """Clean Session (3.1.1) / Clean Start (5.0)."""
    keep_alive: int | None = None
    will_topic: str | None = None
    will_qos: int | None = None
    will_retain: bool | None = None
    will_payload_length: int | None = None
    will_properties: MqttProperties | None = None
    session_present: bool | None = None
    """CONNACK acknowledge flag."""
    # acknowledgement code: CONNACK return code (3.x) or reason code (5.0) of the last
    # acknowledgement (PUBACK, PUBREC, PUBCOMP), DISCONNECT and AUTH reason code
    reason_code: int | None = None
    reason: str | None = None
    # PUBLISH (3.1.1 section 3.3, 5.0 section 3.3)
    topic: str | None = None
    """Topic name; empty in v5 when a topic alias stands for it (``properties.topic_alias``)."""
    qos: int | None = None
    retain: bool | None = None
    dup: bool | None = None
    packet_id: int | None = None
    payload_length: int | None = None
    payload_preview: str | None = None
    """The first 64 bytes of the payload when they are printable UTF-8 text."""
    # SUBSCRIBE / UNSUBSCRIBE
    subscriptions: tuple[MqttSubscription, ...] | None = None
    properties: MqttProperties | None = None
    """v5 properties of the first packet of the transaction."""
    response_properties: MqttProperties | None = None
    """v5 properties of the acknowledgement (CONNACK: assigned client id, server limits...)."""
    ping_requests: int | None = None
    ping_responses: int | None = None
    """Keep-alive summary (PINGREQ event only)."""
    truncated: bool = False
    """A string or list was cut to its cap."""

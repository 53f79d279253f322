"""The OPC UA event: one record per transaction, Zeek style.

A transaction is a Hello and its Acknowledge (or Error), an OpenSecureChannel request and
response, a CloseSecureChannel, an Error or ReverseHello on its own, or a service request
(``MSG``) and its response, paired by secure channel and request id. A request whose response
never came is emitted with ``status="unanswered"``; a response without a request with
``request_missing``. Source is the OPC UA client. Nested records carry what a service says
(OPC 10000-4 section numbers in each docstring). Values: see ``values.py``.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs
from otshield.protocols.opcua.values import OpcuaDataValue, OpcuaVariant

__all__ = [
    "OpcuaApplication",
    "OpcuaBrowse",
    "OpcuaBuildInfo",
    "OpcuaCall",
    "OpcuaChannel",
    "OpcuaDataChange",
    "OpcuaEndpoint",
    "OpcuaEvent",
    "OpcuaHello",
    "OpcuaIdentity",
    "OpcuaMonitoredItem",
    "OpcuaPublish",
    "OpcuaReadItem",
    "OpcuaSessionInfo",
    "OpcuaSubscription",
    "OpcuaWriteItem",
]


class _Rec(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    pass


class OpcuaHello(_Rec, frozen=True):
    """Hello / Acknowledge (Part 6, 7.1.2.3-4): what each side can take."""

    endpoint_url: str | None = None
    protocol_version: int | None = None
    receive_buffer_size: int | None = None
    send_buffer_size: int | None = None
    max_message_size: int | None = None
    max_chunk_count: int | None = None
    server_protocol_version: int | None = None
    server_receive_buffer_size: int | None = None
    server_send_buffer_size: int | None = None
    server_max_message_size: int | None = None
    server_max_chunk_count: int | None = None
    server_uri: str | None = None
    """ReverseHello only."""


class OpcuaChannel(_Rec, frozen=True):
    """OpenSecureChannel (Part 4, 5.5.2): what is visible of the request and response."""

    request_type: str | None = None
    """Issue / Renew (policy None only: otherwise the body is encrypted)."""
    requested_lifetime: int | None = None
    revised_lifetime: int | None = None
    channel_id: int | None = None
    token_id: int | None = None
    created_at: str | None = None
    client_protocol_version: int | None = None
    server_protocol_version: int | None = None
    client_certificate_thumbprint: str | None = None
    """SHA-1 (hex) of the SenderCertificate of the request."""
    server_certificate_thumbprint: str | None = None
    """SHA-1 (hex) of the SenderCertificate of the response."""
    receiver_thumbprint: str | None = None
    """ReceiverCertificateThumbprint of the request (the server certificate it encrypts for)."""


class OpcuaApplication(_Rec, frozen=True):
    """ApplicationDescription (Part 4, 7.1)."""

    application_uri: str | None = None
    product_uri: str | None = None
    application_name: str | None = None
    application_type: str | None = None
    discovery_urls: tuple[str, ...] | None = None


class OpcuaEndpoint(_Rec, frozen=True):
    """EndpointDescription (Part 4, 7.14)."""

    endpoint_url: str | None = None
    security_mode: str | None = None
    security_policy: str | None = None
    security_policy_uri: str | None = None
    user_token_types: tuple[str, ...] | None = None
    security_level: int | None = None
    server: OpcuaApplication | None = None
    server_certificate_thumbprint: str | None = None


class OpcuaSessionInfo(_Rec, frozen=True):
    """CreateSession (Part 4, 5.6.2)."""

    client: OpcuaApplication | None = None
    server_uri: str | None = None
    endpoint_url: str | None = None
    session_name: str | None = None
    requested_timeout: float | None = None
    client_certificate_thumbprint: str | None = None
    session_id: str | None = None
    revised_timeout: float | None = None
    server_certificate_thumbprint: str | None = None
    server_endpoints: int | None = None


class OpcuaIdentity(_Rec, frozen=True):
    """ActivateSession (Part 4, 5.6.3): the user identity token. A password is never kept."""

    token_type: str | None = None
    """Anonymous / UserName / Certificate / IssuedToken, or the token's type id if unknown."""
    policy_id: str | None = None
    password_present: bool | None = None
    encryption_algorithm: str | None = None
    certificate_thumbprint: str | None = None
    locale_ids: tuple[str, ...] | None = None


class OpcuaReadItem(_Rec, frozen=True):
    """ReadValueId (Part 4, 7.29) and its DataValue result (node and attribute are unknown
    for a response whose request was not seen)."""

    node_id: str | None = None
    attribute: str | None = None
    index_range: str | None = None
    result: OpcuaDataValue | None = None


class OpcuaWriteItem(_Rec, frozen=True):
    """WriteValue (Part 4, 5.10.4) and its result."""

    node_id: str
    attribute: str
    value: OpcuaDataValue | None = None
    index_range: str | None = None
    status_name: str | None = None


class OpcuaCall(_Rec, frozen=True):
    """CallMethodRequest / CallMethodResult (Part 4, 5.11.2)."""

    object_id: str
    method_id: str
    input_arguments: tuple[OpcuaVariant, ...] = ()
    status_name: str | None = None
    output_arguments: tuple[OpcuaVariant, ...] | None = None


class OpcuaBrowse(_Rec, frozen=True):
    """Browse / BrowseNext (Part 4, 5.8.2-3)."""

    nodes: int | None = None
    """Nodes to browse (Browse) or continuation points (BrowseNext)."""
    max_references_per_node: int | None = None
    release_continuation_points: bool | None = None
    references: int | None = None
    """References returned, all results together."""
    continuation_points: int | None = None
    """Results that carry a continuation point (more to come)."""
    reference_names: tuple[str, ...] | None = None
    """BrowseNames of the first references returned."""


class OpcuaSubscription(_Rec, frozen=True):
    """CreateSubscription / ModifySubscription (Part 4, 5.13.2-3)."""

    subscription_id: int | None = None
    publishing_interval: float | None = None
    lifetime_count: int | None = None
    max_keep_alive_count: int | None = None
    max_notifications_per_publish: int | None = None
    publishing_enabled: bool | None = None
    priority: int | None = None
    revised_publishing_interval: float | None = None
    revised_lifetime_count: int | None = None
    revised_max_keep_alive_count: int | None = None


class OpcuaDataChange(_Rec, frozen=True):
    """MonitoredItemNotification (Part 4, 7.22.2)."""

    client_handle: int
    value: OpcuaDataValue | None = None


class OpcuaPublish(_Rec, frozen=True):
    """Publish (Part 4, 5.13.5): acknowledgements sent, notifications received."""

    acknowledgements: int | None = None
    subscription_id: int | None = None
    sequence_number: int | None = None
    publish_time: str | None = None
    more_notifications: bool | None = None
    notifications: int | None = None
    """NotificationData ExtensionObjects in the NotificationMessage."""
    data_changes: tuple[OpcuaDataChange, ...] | None = None
    events: int | None = None
    """Events in EventNotificationLists."""
    status_change: str | None = None
    """Status of a StatusChangeNotification."""


class OpcuaMonitoredItem(_Rec, frozen=True):
    """MonitoredItemCreateRequest and its result (Part 4, 5.12.2)."""

    node_id: str
    attribute: str
    monitoring_mode: str | None = None
    client_handle: int | None = None
    sampling_interval: float | None = None
    queue_size: int | None = None
    monitored_item_id: int | None = None
    status_name: str | None = None


class OpcuaBuildInfo(_Rec, frozen=True):
    """BuildInfo (Part 5, 12.4) read from ServerStatus (i=2256), BuildInfo (i=2260) or its
    variables (i=2261-2266)."""

    product_uri: str | None = None
    manufacturer: str | None = None
    product_name: str | None = None
    software_version: str | None = None
    build_number: str | None = None
    build_date: str | None = None
    server_state: str | None = None
    start_time: str | None = None


class OpcuaEvent(Event, frozen=True, tag="opcua", rename=ecs(user_name="user.name")):
    """One OPC UA transaction (see the module docstring)."""

    kind: str
    """hello / reverse_hello / error / open_secure_channel / close_secure_channel / service."""
    function_class: str
    status: str
    """ok / bad (a Bad service result or error) / unanswered / aborted / encrypted (nothing
    of the body is visible) / unmatched (a response without its request)."""
    service: str | None = None
    """Service name (``Read``, ``CreateSession``); ``unknown`` for a non-standard body."""
    request_type_id: str | None = None
    response_type_id: str | None = None
    """Encodeable object node ids of the request and response bodies (``i=631``)."""
    request_frame: int | None = None
    response_time: float | None = None
    secure_channel_id: int | None = None
    token_id: int | None = None
    request_id: int | None = None
    sequence_number: int | None = None
    response_sequence_number: int | None = None
    security_policy: str | None = None
    """None / Basic128Rsa15 / Basic256 / Basic256Sha256 / Aes128_Sha256_RsaOaep /
    Aes256_Sha256_RsaPss / unknown."""
    security_policy_uri: str | None = None
    security_mode: str | None = None
    """None / Sign / SignAndEncrypt, when the channel's OpenSecureChannel was readable, or
    Sign when signed bodies were read on a secured channel."""
    encrypted: bool = False
    request_chunks: int | None = None
    response_chunks: int | None = None
    request_size: int | None = None
    response_size: int | None = None
    """Bytes of the message (all chunks, headers included)."""
    request_handle: int | None = None
    session_token_hash: str | None = None
    """First 16 hex digits of the SHA-1 of the RequestHeader AuthenticationToken (text form):
    links the requests of one session; the token itself is a secret and is not kept."""
    request_timestamp: str | None = None
    timeout_hint: int | None = None
    return_diagnostics: int | None = None
    audit_entry_id: str | None = None
    service_result: int | None = None
    service_result_name: str | None = None
    diagnostics: str | None = None
    """AdditionalInfo or inner status of the response's service diagnostics."""
    error_code: int | None = None
    error_name: str | None = None
    reason: str | None = None
    """Error message or abort chunk status and reason."""
    nodes: tuple[str, ...] | None = None
    """Node ids the request names (read, written, called, browsed, monitored, added...)."""
    operation_results: tuple[str, ...] | None = None
    """Status names of the per-operation results of the response."""
    bad_results: int | None = None
    """Per-operation results that are not Good."""
    user_name: str | None = None
    hello: OpcuaHello | None = None
    channel: OpcuaChannel | None = None
    session: OpcuaSessionInfo | None = None
    identity: OpcuaIdentity | None = None
    max_age: float | None = None
    timestamps_to_return: str | None = None
    reads: tuple[OpcuaReadItem, ...] | None = None
    writes: tuple[OpcuaWriteItem, ...] | None = None
    calls: tuple[OpcuaCall, ...] | None = None
    browse: OpcuaBrowse | None = None
    subscription: OpcuaSubscription | None = None
    publish: OpcuaPublish | None = None
    monitored_items: tuple[OpcuaMonitoredItem, ...] | None = None
    endpoints: tuple[OpcuaEndpoint, ...] | None = None
    servers: tuple[OpcuaApplication, ...] | None = None
    build_info: OpcuaBuildInfo | None = None
    request_missing: bool = False
    truncated: bool = False
    """A list was cut to its cap (the counts stay exact)."""

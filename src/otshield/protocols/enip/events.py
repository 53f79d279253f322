"""EtherNet/IP and CIP event records.

- ``enip``: one encapsulation-level transaction that carries no CIP message (ListIdentity,
  ListServices, ListInterfaces, RegisterSession...), request and reply together.
- ``cip``: one CIP transaction (SendRRData / SendUnitData request plus its reply), emitted
  when the reply arrives or, unanswered, when the flow closes. A Multiple_Service_Packet gives
  one event for the packet and one per embedded service; an Unconnected_Send is unwrapped
  (the event describes the embedded request, ``unconnected_send`` and ``route_path`` say how it
  travelled).
- ``cip_io``: one summary per implicit (class 0/1) I/O connection id seen on a UDP flow:
  packet and byte counts, sequence-number gaps; payload values are not decoded.

Nested records (identity, connection parameters, PCCC) are frozen structs.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = [
    "CipConnection",
    "CipEvent",
    "CipIoEvent",
    "EnipEvent",
    "EnipIdentity",
    "EnipService",
    "PcccInfo",
]


class EnipIdentity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """What a device says it is: a ListIdentity reply item (Vol. 2, 2-4.3.2) or an Identity
    object Get_Attributes_All reply (Vol. 1, 5-2.2)."""

    vendor_id: int
    vendor_name: str | None = None
    device_type: int
    device_type_name: str | None = None
    product_code: int
    revision: str
    """``major.minor`` with a two-digit minor (``4.03``)."""
    revision_major: int
    revision_minor: int
    status: int
    """Identity status word (bit 0 owned, bit 2 configured, bits 8-11 faults)."""
    serial_number: str
    """Hexadecimal, as printed on the device label (``0x00524d8e``)."""
    product_name: str
    state: int | None = None
    state_name: str | None = None
    encapsulation_version: int | None = None
    socket_ip: str | None = None
    """ListIdentity only: the address the device says it listens on."""
    socket_port: int | None = None
    owned: bool = False
    configured: bool = False
    minor_recoverable_fault: bool = False
    minor_unrecoverable_fault: bool = False
    major_recoverable_fault: bool = False
    major_unrecoverable_fault: bool = False


class EnipService(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One ListServices reply item (Vol. 2, 2-4.6.3)."""

    name: str
    version: int
    capability_flags: int
    cip_over_tcp: bool = False
    io_over_udp: bool = False


class CipConnection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Forward_Open / Large_Forward_Open / Forward_Close parameters (Vol. 1, 3-5.5.2 to
    3-5.5.4): request fields, completed by the reply (connection ids, actual packet intervals)."""

    connection_serial: int
    originator_vendor_id: int
    originator_serial: str
    o2t_connection_id: int | None = None
    """Connection id the originator sends with (chosen by the target: the reply's value)."""
    t2o_connection_id: int | None = None
    """Connection id the target sends with (chosen by the originator)."""
    timeout_ms: int | None = None
    """Unconnected request timeout: 2**tick ms times the tick count."""
    timeout_multiplier: int | None = None
    o2t_rpi_us: int | None = None
    t2o_rpi_us: int | None = None
    o2t_api_us: int | None = None
    """Actual packet interval granted by the target."""
    t2o_api_us: int | None = None
    o2t_size: int | None = None
    t2o_size: int | None = None
    o2t_type: str | None = None
    """null, multicast, point_to_point, reserved."""
    t2o_type: str | None = None
    o2t_priority: str | None = None
    """low, high, scheduled, urgent."""
    t2o_priority: str | None = None
    o2t_fixed_size: bool | None = None
    t2o_fixed_size: bool | None = None
    o2t_redundant_owner: bool | None = None
    t2o_redundant_owner: bool | None = None
    transport_class: int | None = None
    trigger: str | None = None
    """cyclic, change_of_state, application_object (or the number)."""
    direction: str | None = None
    """client or server (transport type/trigger bit 7)."""
    connection_path: str | None = None
    o2t_socket: str | None = None
    """Socket address item O->T (``ip:port``) sent with the Forward_Open or its reply."""
    t2o_socket: str | None = None
    """Socket address item T->O: where the target produces (a multicast group, often)."""
    remaining_path_size: int | None = None
    """Failure replies: words of the connection path the target did not use."""


class PcccInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A PCCC (DF1) command tunnelled through Execute_PCCC (class 0x67)."""

    command: int
    command_name: str | None = None
    function_code: int | None = None
    function_name: str | None = None
    transaction: int | None = None
    requestor_vendor_id: int | None = None
    requestor_serial: str | None = None
    status: int | None = None
    """Reply STS byte (0 = success)."""
    status_name: str | None = None
    extended_status: int | None = None
    file_type: int | None = None
    file_type_name: str | None = None
    file_number: int | None = None
    element: int | None = None
    sub_element: int | None = None
    address: str | None = None
    """Data-table address of typed reads and writes (``N7:0``, ``F8:3.1``)."""
    byte_size: int | None = None
    cpu_mode: str | None = None
    """Change CPU mode (function 0x80): remote_program, remote_run..."""


class EnipEvent(Event, tag="enip", rename=ecs(), frozen=True):
    """An encapsulation transaction without a CIP message (Vol. 2, 2-4)."""

    command: int
    command_name: str
    function_class: str
    """identify (List* commands) or other."""
    session_handle: int
    sender_context: str
    """Eight bytes, hexadecimal."""
    answered: bool | None = None
    """None for commands that never get a reply (NOP, UnRegisterSession...)."""
    status: int | None = None
    """Encapsulation status of the reply."""
    status_name: str | None = None
    response_time: float | None = None
    protocol_version: int | None = None
    """RegisterSession protocol version (1)."""
    options: int | None = None
    """RegisterSession option flags."""
    items: int | None = None
    """Number of items in a List* reply."""
    identity: EnipIdentity | None = None
    """ListIdentity reply: the first identity item."""
    services: list[EnipService] | None = None
    """ListServices reply items."""
    request_missing: bool = False
    """A reply whose request was not seen (capture started late, or broadcast reply flow)."""


class CipEvent(Event, tag="cip", rename=ecs(), frozen=True):
    """One CIP request and its reply."""

    service: int
    """Request service code (0x00-0x7F)."""
    service_name: str
    function_class: str
    """read, write, program, control, identify, diagnostics or other."""
    enip_command: str
    """SendRRData (unconnected) or SendUnitData (connected)."""
    session_handle: int
    answered: bool = True
    class_id: int | None = None
    class_name: str | None = None
    instance: int | None = None
    attribute: int | None = None
    member: int | None = None
    symbol: str | None = None
    """Logix tag name from ANSI extended symbol and member segments (``Program:Main.Tag[3]``)."""
    path: str | None = None
    """The whole request path (``class:0x6b/instance:1``, or the tag name)."""
    unconnected_send: bool = False
    route_path: str | None = None
    """Unconnected_Send route (``1/0``: port 1, link address 0 - backplane slot 0)."""
    multiple_index: int | None = None
    """0-based position inside a Multiple_Service_Packet."""
    embedded_services: int | None = None
    """A Multiple_Service_Packet: how many services it carries."""
    status: int | None = None
    """General status of the reply."""
    status_name: str | None = None
    extended_status: list[int] | None = None
    extended_status_name: str | None = None
    reply_service: int | None = None
    """Set when the reply's service code is not the request's (an Unconnected_Send the
    Connection Manager could not deliver answers as Unconnected_Send)."""
    request_missing: bool = False
    """A reply whose request was not seen; request-side fields are then empty."""
    enip_status: int | None = None
    """Encapsulation status of the reply."""
    sender_context: str | None = None
    connection_id: int | None = None
    """Connected (class 3) messages: connection id of the request."""
    sequence: int | None = None
    """Connected messages: CIP sequence count."""
    request_size: int | None = None
    """Bytes of request data after the path."""
    response_size: int | None = None
    """Bytes of reply data after the status."""
    response_time: float | None = None
    attributes: list[int] | None = None
    """Attribute ids of Get_Attribute_List / Set_Attribute_List (first 64)."""
    attribute_count: int | None = None
    data_type: int | None = None
    data_type_name: str | None = None
    elements: int | None = None
    offset: int | None = None
    """Fragmented tag services: byte offset."""
    value: int | float | None = None
    """Single-element atomic tag reads and writes: the value."""
    identity: EnipIdentity | None = None
    """Identity object Get_Attributes_All reply."""
    connection: CipConnection | None = None
    pccc: PcccInfo | None = None


class CipIoEvent(Event, tag="cip_io", rename=ecs(), frozen=True):
    """Implicit I/O on one connection id in one direction (Vol. 2, 3-2.2): counts only."""

    connection_id: int
    packets: int
    bytes: int
    """Sum of connected-data item lengths."""
    min_size: int
    max_size: int
    first_sequence: int
    last_sequence: int
    start: float
    """Packet time of the first packet the report covers."""
    sequence_gaps: int = 0
    """Packets missing according to the 32-bit encapsulation sequence number."""
    sequence_repeats: int = 0
    """Packets whose sequence number did not advance (duplicates, reordering)."""
    mean_interval_ms: float | None = None
    """Average time between packets: close to the connection's RPI."""
    interim: bool = False
    """True for periodic reports of a connection that is still running."""

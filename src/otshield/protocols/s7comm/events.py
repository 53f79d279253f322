"""Event records of the S7comm decoder: one ``s7comm`` event per S7 transaction (job or userdata
request with its response), one ``s7commplus`` event per S7comm-plus transaction, and the
``cotp`` connection events of :mod:`otshield.protocols.tpkt`.

Lists are bounded (see the ``MAX_*`` constants of :mod:`.pdu`) and flagged when cut.
Passwords are never stored: only ``password_present``.
"""

from __future__ import annotations

from typing import TypedDict

import msgspec

from otshield.events import Event, ecs

__all__ = [
    "S7BlockCount",
    "S7BlockInfo",
    "S7EventFields",
    "S7Item",
    "S7ItemFields",
    "S7ModuleIdent",
    "S7commEvent",
    "S7commPlusEvent",
]


class S7Item(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, kw_only=True):
    """One variable of a read/write (or cyclic) request, with its result or written value."""

    syntax: str | None = None
    """Address syntax: ``S7ANY`` (classic area/DB/byte.bit), ``DBREAD``, ``1200SYM``, ``NCK``..."""
    area: str | None = None
    """STEP 7 mnemonic: I, Q, M, DB, DI, L, V, P, C, T (see constants.AREAS)."""
    area_code: int | None = None
    db: int | None = None
    byte_address: int | None = None
    """Byte offset, or the element number for timers and counters."""
    bit_address: int | None = None
    transport_size: str | None = None
    """Requested data type (BYTE, WORD, REAL, BIT...)."""
    count: int | None = None
    """Number of elements of ``transport_size`` requested."""
    return_code: int | None = None
    status: str | None = None
    """Result of this item: ``success``, ``object_does_not_exist``, ``access_denied``..."""
    value: str | None = None
    """Value read (response) or written (request), hex, at most ``MAX_VALUE_BYTES`` bytes."""
    value_length: int | None = None
    """Length of the full value in bytes."""
    value_truncated: bool = False


class S7ModuleIdent(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, kw_only=True):
    """One record of SZL 0x0011/0x0111 (module identification)."""

    index: int
    """1 = module, 6 = hardware, 7 = firmware, 0x81 = boot loader..."""
    order_number: str | None = None
    """MlfB, the Siemens order number (``6ES7 315-2EH14-0AB0``)."""
    module_type: int | None = None
    """BGTyp."""
    ausbg: int | None = None
    """Version (Ausgabestand) word 1; for index 7 ``'V'`` and the major version."""
    ausbe: int | None = None
    """Version word 2; for index 7 the minor and patch version."""


class S7BlockCount(msgspec.Struct, frozen=True, gc=False):
    """Blocks of one type in the PLC (list blocks)."""

    block_type: str
    count: int


class S7BlockInfo(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, kw_only=True):
    """Header of one block (get block info response)."""

    language: str | None = None
    load_memory_length: int | None = None
    mc7_length: int | None = None
    know_how_protected: bool = False
    author: str | None = None
    family: str | None = None
    name: str | None = None
    version: str | None = None
    code_timestamp: str | None = None
    interface_timestamp: str | None = None
    checksum: int | None = None


class S7commEvent(Event, frozen=True, tag="s7comm", rename=ecs()):
    """One S7comm transaction: a job (or userdata request) and its ack/ack-data (or userdata
    response); or an unsolicited userdata indication from the PLC; or a response whose request
    was not seen. Source is the side that sent the request (the PLC for indications)."""

    rosctr: str
    """PDU type of the request: ``job`` or ``userdata`` (of the response when there is none)."""
    pdu_ref: int
    function: str
    """``read_var``, ``write_var``, ``setup_communication``, ``pi_service``, ``plc_stop``,
    ``request_download``...; for userdata the subfunction (``read_szl``, ``list_blocks``...)."""
    function_class: str
    """read, write, program, control, diagnostics, identify, security or other."""
    function_code: int | None = None
    """Job function byte, or the userdata subfunction number."""
    group: str | None = None
    """Userdata function group (``cpu_functions``, ``block_functions``, ``security``...)."""
    group_code: int | None = None
    sequence: int | None = None
    """Userdata sequence number."""
    answered: bool | None = None
    """True: response seen; False: the request got no response; None: no request (indication or
    a response to an unseen request)."""
    unsolicited: bool = False
    """A userdata indication / push from the PLC (alarms, cyclic data, mode transitions)."""
    fragmented: bool = False
    """The userdata response came in several data units, reassembled here."""
    error_class: str | None = None
    error_code: int | None = None
    """16-bit S7 error: header class << 8 | code, or the userdata / block-control error field."""
    error: str | None = None
    """Name of ``error_code`` when known."""
    # read/write var, cyclic data
    item_count: int | None = None
    items: list[S7Item] | None = None
    items_truncated: bool = False
    # setup communication
    pdu_size: int | None = None
    """Negotiated PDU size (response), else the requested one."""
    pdu_size_requested: int | None = None
    max_amq_calling: int | None = None
    max_amq_called: int | None = None
    # PI service / PLC stop
    pi_service: str | None = None
    """Program-invocation service name (``_INSE``, ``_DELE``, ``P_PROGRAM``, ``_MODU``...)."""
    pi_action: str | None = None
    """Meaning of ``pi_service`` (``delete_block``, ``start_program``, ``copy_ram_to_rom``...)."""
    pi_arguments: list[str] | None = None
    blocks: list[str] | None = None
    """Blocks named by the request (``OB1``, ``DB10``)."""
    # block transfer and block functions
    block: str | None = None
    block_type: str | None = None
    block_number: int | None = None
    filesystem: str | None = None
    filename: str | None = None
    load_memory_length: int | None = None
    mc7_length: int | None = None
    upload_id: int | None = None
    upload_length: int | None = None
    data_length: int | None = None
    """Bytes of block content carried by an upload/download-block response."""
    more_data: bool | None = None
    block_counts: list[S7BlockCount] | None = None
    block_numbers: list[int] | None = None
    block_numbers_truncated: bool = False
    block_info: S7BlockInfo | None = None
    # SZL
    szl_id: int | None = None
    szl_index: int | None = None
    szl_list: str | None = None
    szl_record_count: int | None = None
    module_identification: list[S7ModuleIdent] | None = None
    order_number: str | None = None
    firmware_version: str | None = None
    plc_name: str | None = None
    module_name: str | None = None
    plant_id: str | None = None
    copyright: str | None = None
    serial_number: str | None = None
    module_type_name: str | None = None
    memory_card_serial: str | None = None
    location: str | None = None
    # security, time, mode, cyclic
    password_present: bool | None = None
    plc_time: str | None = None
    """PLC clock (read clock response / set clock request), ISO 8601, PLC local time."""
    cpu_mode: str | None = None
    cpu_mode_code: int | None = None
    cycle_time: float | None = None
    """Cyclic subscription interval, seconds."""
    job_id: int | None = None


class S7commPlusEvent(Event, frozen=True, tag="s7commplus", rename=ecs()):
    """One S7comm-plus (S7-1200/1500) transaction: a request and its response paired by
    sequence number, a notification, or a system event. Values are not decoded."""

    protocol_version: str
    """``v1``, ``v2``, ``v3`` or ``system_event``."""
    opcode: str
    """``request`` (0x31), ``response`` (0x32 or 0x02), ``notification`` (0x33)."""
    function: str
    function_class: str
    function_code: int | None = None
    sequence: int | None = None
    session_id: int | None = None
    """Session id the request names (0x120 when creating a session)."""
    transport_flags: int | None = None
    integrity: bool | None = None
    """An integrity digest is present (V3 always; V2 detected by its 32-byte digest before the
    trailer); None when it could not be told."""
    answered: bool | None = None
    unsolicited: bool = False
    return_value: int | None = None
    """Return value of the response (0 when the request succeeded)."""
    new_session_id: int | None = None
    """The object id a CreateObject response assigns (the new session)."""
    subscription_id: int | None = None
    """Subscription object of a notification."""
    fragments: int | None = None
    """Number of TPKT packets the request (or notification) spanned, when more than one."""
    client_user: str | None = None
    client_application: str | None = None
    client_host: str | None = None
    client_comment: str | None = None
    server_version: str | None = None
    """PLC identification string from the session setup (``1;6ES7 211-1BE31-0XB0 ;V3.0``)."""
    order_number: str | None = None
    firmware_version: str | None = None
    message: str | None = None
    """Text of a system event (``LOGOUT``...)."""


class S7ItemFields(TypedDict, total=False):
    """The fields of :class:`S7Item`, for building one with only the values that are set
    (decoding speed: a struct built from few keywords is several times cheaper)."""

    syntax: str
    area: str
    area_code: int
    db: int
    byte_address: int
    bit_address: int
    transport_size: str
    count: int
    return_code: int
    status: str
    value: str
    value_length: int
    value_truncated: bool


class S7EventFields(TypedDict, total=False):
    """The optional fields of :class:`S7commEvent` (see :class:`S7ItemFields` for why)."""

    function_code: int
    group: str
    group_code: int
    sequence: int
    answered: bool
    unsolicited: bool
    fragmented: bool
    error_class: str
    error_code: int
    error: str
    item_count: int
    items: list[S7Item]
    items_truncated: bool
    pdu_size: int
    pdu_size_requested: int
    max_amq_calling: int
    max_amq_called: int
    pi_service: str
    pi_action: str
    pi_arguments: list[str]
    blocks: list[str]
    block: str
    block_type: str
    block_number: int
    filesystem: str
    filename: str
    load_memory_length: int
    mc7_length: int
    upload_id: int
    upload_length: int
    data_length: int
    more_data: bool
    block_counts: list[S7BlockCount]
    block_numbers: list[int]
    block_numbers_truncated: bool
    block_info: S7BlockInfo
    szl_id: int
    szl_index: int
    szl_list: str
    szl_record_count: int
    module_identification: list[S7ModuleIdent]
    order_number: str
    firmware_version: str
    plc_name: str
    module_name: str
    plant_id: str
    copyright: str
    serial_number: str
    module_type_name: str
    memory_card_serial: str
    location: str
    password_present: bool
    plc_time: str
    cpu_mode: str
    cpu_mode_code: int
    cycle_time: float
    job_id: int

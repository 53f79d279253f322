"""DNP3 event records: one ``dnp3`` event per application fragment, one ``dnp3_link`` event per
link-layer service frame (reset, test, link status, NACK...).

Field meanings follow IEEE 1815-2012: link addresses and control (clause 9), application control,
function, internal indications and object headers (clause 4: group, variation, qualifier = prefix
code << 4 | range code) and the data object library.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["Dnp3Event", "Dnp3File", "Dnp3LinkEvent", "Dnp3Object", "Dnp3Point"]


class Dnp3Point(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One point (or one object instance) of an object header. Only the fields the object type
    carries are set."""

    index: int
    """Point index (from the index prefix, or start of range + position), attribute set for g0."""
    value: int | float | None = None
    """Numeric value: analog, counter, analog output command, time delay, interval, 8-bit."""
    state: bool | None = None
    """Binary state (g1, g2, g10, g11, g13 commanded state, g12v3 mask, g80 IIN bit)."""
    text: str | None = None
    """String value (device attribute, double-bit state name, octet string as hex)."""
    flags: tuple[str, ...] = ()
    """Quality flags that are set (ONLINE, RESTART, COMM_LOST, ...)."""
    time: float | None = None
    """Absolute DNP3 time of the object (epoch seconds, UTC)."""
    rel_time_ms: int | None = None
    """Relative time (g2v3, g4v3) in ms after the preceding common time-of-occurrence (g51)."""
    status: str | None = None
    """Command status of control objects (SUCCESS, NO_SELECT, ...)."""
    op_type: str | None = None
    """CROB operation type (PULSE_ON, LATCH_OFF, ...)."""
    tcc: str | None = None
    """CROB trip-close code (NUL, CLOSE, TRIP)."""
    clear: bool | None = None
    queue: bool | None = None
    count: int | None = None
    """CROB: number of times to execute the operation."""
    on_time_ms: int | None = None
    off_time_ms: int | None = None


class Dnp3Object(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One object header of an application fragment and the points decoded under it."""

    group: int
    variation: int
    name: str
    qualifier: int
    """The qualifier octet: object prefix code (bits 6-4) and range specifier code (bits 3-0)."""
    start: int | None = None
    stop: int | None = None
    count: int = 0
    """Number of objects the header announces (0 for "all points", range code 6)."""
    points: tuple[Dnp3Point, ...] = ()
    points_truncated: bool = False
    """True when fewer points are listed than ``count`` (the per-event point cap was hit)."""


class Dnp3File(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """A file-transfer object (group 70). Passwords are never kept, only their presence."""

    object: str
    """authentication, file_command, file_command_status, file_transport,
    file_transport_status, file_descriptor, file_specification."""
    name: str | None = None
    handle: int | None = None
    size: int | None = None
    mode: str | None = None
    status: str | None = None
    block: int | None = None
    last_block: bool | None = None
    data_bytes: int | None = None
    request_id: int | None = None
    max_block_size: int | None = None
    permissions: int | None = None
    created: float | None = None
    file_type: int | None = None
    user_name: str | None = None
    password_present: bool | None = None
    text: str | None = None


class Dnp3Event(Event, tag="dnp3", rename=ecs(), frozen=True):
    """One DNP3 application fragment (request, response or unsolicited response).

    ``src_*`` is the sender of the fragment. Responses carry ``request_function`` when the
    request with the same application sequence number was seen."""

    link_src: int
    link_dst: int
    from_master: bool
    """DIR bit of the link frames: sent by the master station."""
    link_function: str
    """CONFIRMED_USER_DATA or UNCONFIRMED_USER_DATA."""
    function: str
    function_class: str
    """read, write, control, program, diagnostics, security or other (a response: its request's)."""
    function_code: int
    seq: int
    """Application sequence number (0-15)."""
    fir: bool
    fin: bool
    con: bool
    """The sender asks for an application CONFIRM."""
    uns: bool
    """UNS bit: the fragment belongs to an unsolicited exchange."""
    unsolicited: bool = False
    """The fragment is an UNSOLICITED_RESPONSE."""
    iin: int | None = None
    """Internal indications of a response: IIN1 << 8 | IIN2 (octets in wire order, as Wireshark
    and Zeek show them)."""
    iin_flags: tuple[str, ...] = ()
    request_function: str | None = None
    """Function of the request this response answers (paired by sequence number)."""
    objects: tuple[Dnp3Object, ...] = ()
    object_count: int = 0
    """Object headers in the fragment (``objects`` may list fewer: see ``truncated``)."""
    truncated: bool = False
    """Some objects or points were left out of the event (caps) or could not be decoded."""
    device_time: float | None = None
    """Absolute time carried by a g50 time object (time written by a time sync, or read)."""
    delay_ms: int | None = None
    """Time delay object (g52): restart delay or delay measurement result, in ms."""
    files: tuple[Dnp3File, ...] = ()
    fragment_size: int = 0
    """Octets of the application fragment."""
    segments: int = 1
    """Transport segments (link frames) that carried the fragment."""


class Dnp3LinkEvent(Event, tag="dnp3_link", rename=ecs(), frozen=True):
    """A link-layer service frame: any link function other than user data and ACK
    (RESET_LINK_STATES, TEST_LINK_STATES, REQUEST_LINK_STATUS, LINK_STATUS, NACK,
    NOT_SUPPORTED...). ``src_*`` is the sender."""

    link_src: int
    link_dst: int
    from_master: bool
    primary: bool
    """PRM bit: sent by the initiating station."""
    function: str
    function_code: int
    control: int
    """The link control octet (DIR, PRM, FCB/FCV or DFC, function code)."""

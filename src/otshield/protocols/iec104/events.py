"""IEC 60870-5-104 event records.

- :class:`Iec104Event` (``iec104``): one per ASDU; a command (cause activation/deactivation)
  together with its confirmation (IEC 60870-5-101 7.2.3, causes 7, 9, 44-47).
- :class:`Iec104ApciEvent` (``iec104_apci``): one per U-format APDU (104 section 5.3:
  STARTDT, STOPDT, TESTFR).
- :class:`Iec104ConnectionEvent` (``iec104_connection``): one per connection when it ends:
  APDU counts per format and direction (S-format APDUs get no event of their own).

The source of every event is its sender, except command transactions and the connection
summary, whose source is the controlling station. ECS has no IEC 104 fields.
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["Iec104ApciEvent", "Iec104ConnectionEvent", "Iec104Event", "Iec104Object"]


class Iec104Object(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One information object (101 7.2.6): its address and the decoded information elements.
    Only the fields its type defines are present."""

    ioa: int
    """Information object address (3 octets on 104; with SQ=1, consecutive from the first)."""
    value: bool | int | float | None = None
    """Single point / single command state (bool), double point and double/regulating command
    state (0-3), step position (-64..63), bitstring (32-bit unsigned), normalized value
    (-1..1), scaled value, short float, integrated total (signed 32-bit), protection event
    state, packed status, qualifier-only elements leave it out; test pattern/counter."""
    state: str | None = None
    """Name of ``value`` where the standard names it (``on``, ``off``, ``higher``...), or the
    set flags of packed protection events (``general_start,start_l1``)."""
    quality: tuple[str, ...] | None = None
    """Set quality bits (``IV``, ``NT``, ``SB``, ``BL``, ``OV``, ``EI``; counters ``CY``,
    ``CA``); an empty list is a descriptor with all bits clear."""
    transient: bool | None = None
    """Step position: the equipment is in transient state (VTI bit 8)."""
    select: bool | None = None
    """Commands and set-points: S/E bit, True = select, False = execute."""
    qualifier: int | None = None
    """QU (commands), QL (set-points), QOI, QCC, QRP, QPM kind, QPA, COI cause, file
    qualifiers (FRQ/SRQ/SCQ/LSQ/AFQ)."""
    qualifier_name: str | None = None
    sequence: int | None = None
    """Integrated totals: sequence number (BCR bits 33-37)."""
    changes: int | None = None
    """Packed single points (M_PS_NA_1): status change detection bits."""
    elapsed_ms: int | None = None
    """CP16Time2a: protection elapsed/relay time, delay acquisition."""
    local_change: bool | None = None
    """QPM LPC bit: local parameter change."""
    in_operation: bool | None = None
    """QPM POP bit clear: the parameter is in operation."""
    file_name: int | None = None
    section: int | None = None
    length: int | None = None
    """File transfer: length of file/section (LOF/LOS) or of a segment (its data is not kept)."""
    checksum: int | None = None
    file_status: int | None = None
    """SOF (directory): status bits 1-5; flags in ``state`` (last_file, directory, active)."""
    time: str | None = None
    """Time tag as ISO 8601 (no zone: the standard leaves it to the station). For CP24Time2a
    (minutes and milliseconds only) the hour and date are those nearest the packet time
    (``time_partial``)."""
    time_epoch: float | None = None
    """``time`` read as UTC, seconds since 1970."""
    time_invalid: bool = False
    time_summer: bool = False
    time_substituted: bool = False
    """CP56Time2a bit 7 of the minutes octet (GEN/RES1): time substituted."""
    time_partial: bool = False
    time_stop: str | None = None
    """F_SC_NB_1 (query log): end of the requested interval; ``time`` is the start."""


class Iec104Event(Event, tag="iec104", rename=ecs(), frozen=True):
    """An ASDU; for a command, the command and its confirmation."""

    type_id: int
    type_name: str
    """``M_SP_NA_1``... or ``UNKNOWN``."""
    function_class: str
    """read / write / control / config / program / diagnostics / other."""
    cause: int
    cause_name: str
    """``spontaneous``, ``activation``, ``interrogated_station``... (101 7.2.3), ``reserved``."""
    common_address: int
    num_objects: int
    """Number of information objects the variable structure qualifier declares."""
    negative: bool = False
    """P/N bit: negative confirmation."""
    test: bool = False
    originator: int = 0
    sq: bool = False
    """Sequence of elements: one address, consecutive objects."""
    objects: tuple[Iec104Object, ...] = ()
    """At most 127: the number of objects is 7 bits (101 7.2.2), so the list is bounded."""
    truncated: bool = False
    """The ASDU ended before every declared object (``iec104.bad_asdu_length``)."""
    send_seq: int | None = None
    recv_seq: int | None = None
    """N(S), N(R) of the I-format APDU (of the command, for a command transaction)."""
    result: str | None = None
    """Commands: ``confirmed``, ``negative`` (P/N set), ``unknown_type_id``, ``unknown_cause``,
    ``unknown_common_address``, ``unknown_ioa`` (the station's causes 44-47), ``unanswered``;
    a confirmation without a command: ``unmatched``; the activation termination (cause 10) of
    a confirmed command: ``terminated``, with the command's frame in ``request_frame``."""
    response_cause: int | None = None
    """Cause of the confirmation (7, 9, 44-47)."""
    response_negative: bool = False
    """P/N bit of the confirmation (stations set it on the 44-47 replies too)."""
    request_frame: int | None = None
    """Frame of the command (``frame`` is that of its confirmation or termination)."""
    response_time: float | None = None


class Iec104ApciEvent(Event, tag="iec104_apci", rename=ecs(), frozen=True):
    """A U-format APDU (104 section 5.3)."""

    function: str
    """``STARTDT_ACT``, ``STARTDT_CON``, ``STOPDT_ACT``, ``STOPDT_CON``, ``TESTFR_ACT``,
    ``TESTFR_CON``."""


class Iec104ConnectionEvent(Event, tag="iec104_connection", rename=ecs(), frozen=True):
    """Per connection, at its end. ``src`` is the controlling station."""

    i_frames_src: int = 0
    i_frames_dst: int = 0
    s_frames_src: int = 0
    s_frames_dst: int = 0
    u_frames_src: int = 0
    u_frames_dst: int = 0
    sequence_errors: int = 0
    """Gaps, duplicates and acknowledgements beyond what was sent."""
    data_transfer: str = "unknown"
    """State at the end: ``started`` / ``stopped`` / ``unknown`` (start not seen)."""

"""TPKT (ISO transport over TCP) framing and COTP (ISO 8073 / X.224) TPDU parsing.

Shared by every decoder that runs the OSI transport over TCP: S7comm and S7comm-plus, IEC 61850
MMS, ICCP and RDP (all TCP port 102 except RDP on 3389).

References:
- RFC 1006 section 6 ("Packet format"): a 4-byte TPKT header, version 3, a reserved byte and a
  16-bit length that counts the header itself; the smallest useful packet is 7 bytes (header plus
  a 3-byte data TPDU), the largest 65535.
- ISO 8073 / ITU-T X.224 section 13: TPDU structure. Byte 0 is the length indicator (LI: header
  length without the LI byte), byte 1 the TPDU code (high nibble; for CR/CC the low nibble is the
  credit). Fixed parts:
    CR/CC (13.3/13.4): dst-ref(2) src-ref(2) class/options(1), then parameters;
    DR (13.5): dst-ref(2) src-ref(2) reason(1), then parameters;  DC (13.6): dst-ref(2) src-ref(2);
    DT (13.7): class 0/1 ``EOT|TPDU-NR`` (LI 2); classes 2-4 dst-ref(2) ``EOT|NR`` (LI 4, or
      LI 7 with a 4-byte extended number);  ED (13.8): dst-ref(2) ``EOT|NR``;
    AK/EA/RJ (13.9-13.11): dst-ref(2) then the sequence number;
    ER (13.12): dst-ref(2) reject cause(1), then parameters.
  Parameters are ``code, length, value`` triples (13.3.4): 0xC0 TPDU size (2**value bytes),
  0xC1 calling (source) TSAP, 0xC2 called (destination) TSAP, 0xF0 preferred maximum TPDU size
  (value x 128 bytes), others are skipped.
- Section 6.3 (segmenting): a TSDU larger than one TPDU is sent as several DT TPDUs, only the
  last with EOT set; :class:`CotpReassembler` joins them, bounded.

Connection management (CR/CC/DR/ER) becomes ``cotp`` events through :class:`CotpTracker`, which
a decoder's session feeds with every non-data TPDU; a protocol whose TSAPs carry meaning (S7:
connection type, rack, slot) passes a :data:`TsapDecoder`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import msgspec

from otshield.errors import Malformed
from otshield.events import Event, ecs
from otshield.protocols.base import FlowContext

__all__ = [
    "COTP_ANOMALIES",
    "COTP_CC",
    "COTP_CR",
    "COTP_DC",
    "COTP_DR",
    "COTP_DT",
    "COTP_ED",
    "COTP_ER",
    "COTP_NAMES",
    "TPKT_ANOMALIES",
    "Cotp",
    "CotpEvent",
    "CotpReassembler",
    "CotpTracker",
    "TsapDecoder",
    "TsapInfo",
    "format_tsap",
    "frame_size",
    "parse_cotp",
    "parse_tpkt",
]

TPKT_VERSION = 3
TPKT_HEADER = 4
TPKT_MIN_LENGTH = 7

# TPDU codes (high nibble of byte 1), ISO 8073 table 8.
COTP_ED, COTP_EA, COTP_RJ, COTP_AK, COTP_ER = 0x1, 0x2, 0x5, 0x6, 0x7
COTP_DR, COTP_DC, COTP_CC, COTP_CR, COTP_DT = 0x8, 0xC, 0xD, 0xE, 0xF

COTP_NAMES: dict[int, str] = {
    COTP_ED: "ED", COTP_EA: "EA", COTP_RJ: "RJ", COTP_AK: "AK", COTP_ER: "ER",
    COTP_DR: "DR", COTP_DC: "DC", COTP_CC: "CC", COTP_CR: "CR", COTP_DT: "DT",
}
"""TPDU code -> the standard's abbreviation."""

DISCONNECT_REASONS: dict[int, str] = {
    # ISO 8073 13.5.3 (d): class 0 reasons and the classes 1-4 ones.
    0x00: "not_specified",
    0x01: "congestion_at_tsap",
    0x02: "session_entity_not_attached",
    0x03: "address_unknown",
    0x80: "normal",
    0x81: "remote_congestion",
    0x82: "connection_negotiation_failed",
    0x83: "duplicate_source_reference",
    0x84: "mismatched_references",
    0x85: "protocol_error",
    0x87: "reference_overflow",
    0x88: "connection_refused",
    0x8A: "header_or_parameter_length_invalid",
}
"""DR reason code -> name."""

REJECT_CAUSES: dict[int, str] = {
    # ISO 8073 13.12.3 (c)
    0x00: "not_specified",
    0x01: "invalid_parameter_code",
    0x02: "invalid_tpdu_type",
    0x03: "invalid_parameter_value",
}
"""ER reject cause -> name."""

TPKT_ANOMALIES: dict[str, str] = {
    "tpkt.invalid_header": "TPKT version is not 3 or the reserved byte is not 0 (RFC 1006 s.6)",
    "tpkt.invalid_length": "TPKT length smaller than 7 bytes, too short for any COTP TPDU",
}
COTP_ANOMALIES: dict[str, str] = {
    "cotp.invalid": "COTP TPDU malformed: bad length indicator, truncated fixed part or "
                    "parameter, or unknown TPDU code (ISO 8073 s.13)",
    "cotp.tsdu_too_large": "the DT TPDUs of one TSDU (no EOT yet) exceed the reassembly limit; "
                           "the partial TSDU was dropped",
}

_TPKT = struct.Struct(">BBH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def frame_size(buf: bytes) -> int | None:
    """Length of the TPKT packet at the head of ``buf`` (header included), None if fewer than
    4 bytes are there. Raises ``Malformed`` for a header that cannot be TPKT."""
    if len(buf) < TPKT_HEADER:
        return None
    version, reserved, length = _TPKT.unpack_from(buf)
    if version != TPKT_VERSION or reserved != 0:
        raise Malformed("tpkt.invalid_header", f"version {version}, reserved {reserved}")
    if length < TPKT_MIN_LENGTH:
        raise Malformed("tpkt.invalid_length", f"length {length}")
    return int(length)


def parse_tpkt(frame: bytes) -> bytes:
    """The COTP bytes of one whole TPKT packet (as framed by :func:`frame_size`)."""
    size = frame_size(frame)
    if size is None or size != len(frame):
        raise Malformed("tpkt.invalid_length", f"length field {size}, packet {len(frame)} bytes")
    return frame[TPKT_HEADER:]


class Cotp:
    """One parsed TPDU. Fields that the TPDU type does not carry stay None."""

    __slots__ = ("code", "credit", "dst_ref", "dst_tsap", "eot", "extra", "options",
                 "proto_class", "reason", "reject_cause", "src_ref", "src_tsap", "tpdu_nr",
                 "tpdu_size", "user_data")

    def __init__(self, code: int) -> None:
        self.code = code
        self.credit = 0
        self.dst_ref: int | None = None
        self.src_ref: int | None = None
        self.proto_class: int | None = None
        self.options: int | None = None
        self.eot = True
        self.tpdu_nr: int | None = None
        self.src_tsap: bytes | None = None
        self.dst_tsap: bytes | None = None
        self.tpdu_size: int | None = None
        self.reason: int | None = None
        self.reject_cause: int | None = None
        self.extra: int | None = None
        """DR additional parameters or ER invalid-TPDU parameter present (count)."""
        self.user_data = b""

    @property
    def name(self) -> str:
        return COTP_NAMES.get(self.code, f"0x{self.code:x}")


def _parameters(tpdu: Cotp, data: bytes, pos: int, end: int) -> None:
    """Variable part: code, length, value triples up to ``end`` (the end of the header)."""
    while pos < end:
        if pos + 2 > end:
            raise Malformed("cotp.invalid", f"{tpdu.name} parameter header truncated")
        code = data[pos]
        plen = data[pos + 1]
        vstart = pos + 2
        vend = vstart + plen
        if vend > end:
            raise Malformed("cotp.invalid",
                            f"{tpdu.name} parameter 0x{code:02x} length {plen} overruns header")
        if code == 0xC1:
            tpdu.src_tsap = data[vstart:vend]
        elif code == 0xC2:
            tpdu.dst_tsap = data[vstart:vend]
        elif code == 0xC0:
            if plen != 1 or not 7 <= data[vstart] <= 13:
                raise Malformed("cotp.invalid", f"TPDU size parameter {data[vstart:vend].hex()}")
            tpdu.tpdu_size = 1 << data[vstart]
        elif code == 0xF0 and 1 <= plen <= 4:
            # preferred maximum TPDU size in multiples of 128 octets (13.3.4 b)
            tpdu.tpdu_size = int.from_bytes(data[vstart:vend], "big") * 128
        else:
            tpdu.extra = (tpdu.extra or 0) + 1
        pos = vend


def parse_cotp(data: bytes) -> Cotp:
    """Parse the TPDU at the start of ``data`` (the TPKT payload). User data that follows the
    header (DT/ED payload, CR/CC/DR user data) is in ``user_data``."""
    n = len(data)
    if n < 2:
        raise Malformed("cotp.invalid", f"{n} bytes, no TPDU header")
    li = data[0]
    end = 1 + li
    if li < 1 or li == 255 or end > n:
        raise Malformed("cotp.invalid", f"length indicator {li} with {n} bytes")
    code = data[1] >> 4
    tpdu = Cotp(code)
    if code in (COTP_DT, COTP_ED):
        if li == 2:  # class 0/1 normal format
            tpdu.eot = bool(data[2] & 0x80)
            tpdu.tpdu_nr = data[2] & 0x7F
        elif li == 4 or li == 5:  # classes 2-4 normal format (+ checksum param room)
            tpdu.dst_ref = _U16.unpack_from(data, 2)[0]
            tpdu.eot = bool(data[4] & 0x80)
            tpdu.tpdu_nr = data[4] & 0x7F
        elif li >= 7:  # extended format
            tpdu.dst_ref = _U16.unpack_from(data, 2)[0]
            word = _U32.unpack_from(data, 4)[0]
            tpdu.eot = bool(word & 0x80000000)
            tpdu.tpdu_nr = word & 0x7FFFFFFF
        else:
            raise Malformed("cotp.invalid", f"{tpdu.name} with length indicator {li}")
        tpdu.user_data = data[end:]
        return tpdu
    if code in (COTP_CR, COTP_CC):
        if li < 6:
            raise Malformed("cotp.invalid", f"{tpdu.name} with length indicator {li}")
        tpdu.credit = data[1] & 0x0F
        tpdu.dst_ref, tpdu.src_ref = struct.unpack_from(">HH", data, 2)
        tpdu.proto_class = data[6] >> 4
        tpdu.options = data[6] & 0x0F
        _parameters(tpdu, data, 7, end)
        tpdu.user_data = data[end:]
        return tpdu
    if code == COTP_DR:
        if li < 6:
            raise Malformed("cotp.invalid", f"DR with length indicator {li}")
        tpdu.dst_ref, tpdu.src_ref = struct.unpack_from(">HH", data, 2)
        tpdu.reason = data[6]
        _parameters(tpdu, data, 7, end)
        tpdu.user_data = data[end:]
        return tpdu
    if code == COTP_DC:
        if li < 5:
            raise Malformed("cotp.invalid", f"DC with length indicator {li}")
        tpdu.dst_ref, tpdu.src_ref = struct.unpack_from(">HH", data, 2)
        return tpdu
    if code == COTP_ER:
        if li < 4:
            raise Malformed("cotp.invalid", f"ER with length indicator {li}")
        tpdu.dst_ref = _U16.unpack_from(data, 2)[0]
        tpdu.reject_cause = data[4]
        _parameters(tpdu, data, 5, end)
        return tpdu
    if code in (COTP_AK, COTP_EA, COTP_RJ):
        if li < 4:
            raise Malformed("cotp.invalid", f"{tpdu.name} with length indicator {li}")
        tpdu.credit = data[1] & 0x0F
        tpdu.dst_ref = _U16.unpack_from(data, 2)[0]
        tpdu.tpdu_nr = data[4] & 0x7F
        return tpdu
    raise Malformed("cotp.invalid", f"unknown TPDU code 0x{data[1]:02x}")


def format_tsap(tsap: bytes | None) -> str | None:
    """A TSAP as text when every byte is printable ASCII (``SIMATIC-ROOT-HMI``), else as
    ``0x`` and hex digits (``0x0102``), the way Wireshark shows it."""
    if tsap is None:
        return None
    if tsap and all(0x20 <= b < 0x7F for b in tsap):
        return tsap.decode("ascii")
    return "0x" + tsap.hex()


class CotpReassembler:
    """Joins the DT TPDUs of one direction into TSDUs (ISO 8073 s.6.3), bounded by ``limit``."""

    __slots__ = ("_parts", "_size", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def pending(self) -> int:
        """Bytes held for a TSDU whose last DT has not arrived."""
        return self._size

    @property
    def active(self) -> bool:
        """A TSDU is being joined (some DT without EOT arrived, even an empty one)."""
        return bool(self._parts)

    def add(self, user_data: bytes, eot: bool) -> bytes | None:
        """Add one DT's user data; the whole TSDU when ``eot``, else None. Raises
        ``Malformed("cotp.tsdu_too_large")`` (and forgets the TSDU) past the limit."""
        if not self._parts:
            if eot:
                return user_data
            if len(user_data) > self.limit:
                raise Malformed("cotp.tsdu_too_large", f"{len(user_data)} bytes")
            self._parts.append(user_data)
            self._size = len(user_data)
            return None
        self._size += len(user_data)
        if self._size > self.limit:
            size = self._size
            self.reset()
            raise Malformed("cotp.tsdu_too_large", f"{size} bytes without EOT")
        self._parts.append(user_data)
        if not eot:
            return None
        whole = b"".join(self._parts)
        self.reset()
        return whole

    def reset(self) -> None:
        """Drop a partial TSDU (after a gap in the stream)."""
        self._parts = []
        self._size = 0


class TsapInfo(msgspec.Struct, frozen=True, gc=False):
    """What a protocol's TSAP convention says about the called endpoint (Siemens S7: the
    second byte of a 2-byte called TSAP is rack * 32 + slot, the first the connection type)."""

    connection_type: str | None = None
    rack: int | None = None
    slot: int | None = None


TsapDecoder = Callable[[bytes | None], TsapInfo | None]


class CotpEvent(Event, frozen=True, tag="cotp", rename=ecs()):
    """A COTP connection attempt (CR with its CC, DR, or no answer), a disconnect request or a
    TPDU error. Source is the side that sent the CR (or the DR/ER)."""

    pdu: str
    """``connect`` (CR and its outcome), ``disconnect`` (DR outside a connect), ``error`` (ER)."""
    result: str | None = None
    """For ``connect``: ``accepted`` (CC), ``refused`` (DR answered the CR), ``no_response``."""
    src_ref: int | None = None
    """Source reference of the sender (CR: calling side's reference)."""
    dst_ref: int | None = None
    """For ``connect``: the reference the called side chose in its CC."""
    proto_class: int | None = None
    src_tsap: str | None = None
    """Calling TSAP (text when printable, else ``0x`` + hex)."""
    dst_tsap: str | None = None
    """Called TSAP."""
    tpdu_size: int | None = None
    """Maximum TPDU size agreed (the CC's, else the CR's proposal), bytes."""
    reason_code: int | None = None
    reason: str | None = None
    """DR reason (ISO 8073 13.5.3) or ER reject cause (13.12.3)."""
    connection_type: str | None = None
    """From the called TSAP, where the protocol's convention defines it (S7: ``pg``, ``op``,
    ``s7_basic``)."""
    rack: int | None = None
    slot: int | None = None


class CotpTracker:
    """Turns the connection-management TPDUs of one flow into :class:`CotpEvent`: a CR is held
    until its CC (or a DR, or the end of the flow) gives the outcome."""

    __slots__ = ("_cr", "_cr_fields", "_flow", "_tsap")

    def __init__(self, flow: FlowContext, tsap_decoder: TsapDecoder | None = None) -> None:
        self._flow = flow
        self._tsap = tsap_decoder
        self._cr: Cotp | None = None
        self._cr_fields: tuple[bool, float, int] = (True, 0.0, 0)

    def on_tpdu(self, tpdu: Cotp, from_client: bool) -> None:
        """Feed every non-data TPDU (DT/ED/AK/EA/RJ are ignored here)."""
        code = tpdu.code
        if code == COTP_CR:
            if self._cr is not None:
                self._connect(None, "no_response")
            self._cr = tpdu
            self._cr_fields = (from_client, self._flow.ts, self._flow.frame)
        elif code == COTP_CC:
            if self._cr is not None:
                self._connect(tpdu, "accepted")
            else:
                # CC without its CR (capture started late): report what the CC shows.
                self._emit(from_client=not from_client, pdu="connect", result="accepted",
                           dst_ref=tpdu.src_ref, src_ref=tpdu.dst_ref,
                           proto_class=tpdu.proto_class, src_tsap=format_tsap(tpdu.src_tsap),
                           dst_tsap=format_tsap(tpdu.dst_tsap), tpdu_size=tpdu.tpdu_size,
                           info=self._info(tpdu.dst_tsap))
        elif code == COTP_DR:
            if self._cr is not None and self._cr_fields[0] != from_client:
                self._connect(tpdu, "refused")
            else:
                self._emit(from_client=from_client, pdu="disconnect", src_ref=tpdu.src_ref,
                           dst_ref=tpdu.dst_ref, reason_code=tpdu.reason,
                           reason=DISCONNECT_REASONS.get(tpdu.reason or 0))
        elif code == COTP_ER:
            self._emit(from_client=from_client, pdu="error", dst_ref=tpdu.dst_ref,
                       reason_code=tpdu.reject_cause,
                       reason=REJECT_CAUSES.get(tpdu.reject_cause or 0))

    def close(self) -> None:
        """End of flow: a CR still waiting is reported with ``no_response``."""
        if self._cr is not None:
            self._connect(None, "no_response")

    def _info(self, tsap: bytes | None) -> TsapInfo | None:
        return self._tsap(tsap) if self._tsap is not None else None

    def _connect(self, answer: Cotp | None, result: str) -> None:
        cr = self._cr
        assert cr is not None
        self._cr = None
        from_client, ts, frame = self._cr_fields
        tpdu_size = cr.tpdu_size
        reason_code = reason = None
        dst_ref = None
        if answer is not None:
            dst_ref = answer.src_ref
            if answer.code == COTP_CC:
                tpdu_size = answer.tpdu_size or tpdu_size
            else:
                reason_code = answer.reason
                reason = DISCONNECT_REASONS.get(answer.reason or 0)
        if answer is None:
            # no answer: the event belongs to the CR's packet
            self._emit(from_client=from_client, pdu="connect", result=result,
                       src_ref=cr.src_ref, proto_class=cr.proto_class,
                       src_tsap=format_tsap(cr.src_tsap), dst_tsap=format_tsap(cr.dst_tsap),
                       tpdu_size=tpdu_size, info=self._info(cr.dst_tsap), at=(ts, frame))
            return
        self._emit(from_client=from_client, pdu="connect", result=result, src_ref=cr.src_ref,
                   dst_ref=dst_ref, proto_class=cr.proto_class,
                   src_tsap=format_tsap(cr.src_tsap), dst_tsap=format_tsap(cr.dst_tsap),
                   tpdu_size=tpdu_size, reason_code=reason_code, reason=reason,
                   info=self._info(cr.dst_tsap))

    def _emit(self, *, from_client: bool, pdu: str, info: TsapInfo | None = None,
              at: tuple[float, int] | None = None, result: str | None = None,
              src_ref: int | None = None, dst_ref: int | None = None,
              proto_class: int | None = None, src_tsap: str | None = None,
              dst_tsap: str | None = None, tpdu_size: int | None = None,
              reason_code: int | None = None, reason: str | None = None) -> None:
        common = self._flow.fields(from_client)
        if at is not None:
            common["ts"], common["frame"] = at
        self._flow.emit(CotpEvent(
            **common, pdu=pdu, result=result, src_ref=src_ref, dst_ref=dst_ref,
            proto_class=proto_class, src_tsap=src_tsap, dst_tsap=dst_tsap, tpdu_size=tpdu_size,
            reason_code=reason_code, reason=reason,
            connection_type=info.connection_type if info else None,
            rack=info.rack if info else None, slot=info.slot if info else None))

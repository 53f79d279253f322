"""Pure NTP decoder: one UDP datagram in, one :class:`NtpMessage` out.

Covers the three wire formats that share the first byte (LI/VN/Mode):

* modes 1-5, the time-transfer header of RFC 5905 section 7.3 (48 bytes), optional extension
  fields (section 7.5) and the legacy MAC (key id + digest, section 7.3 "MAC");
* mode 6, control messages (RFC 1305 Appendix B.1, RFC 9327 section 2): 12-byte header;
* mode 7, ntpd "private" requests (``ntp_request.h``): 8-byte header, monlist lives here.

Raises only :class:`~otshield.errors.Malformed`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from otshield.errors import Malformed
from otshield.protocols.ntp.constants import KISS_CODES, NTS_EXTENSION_TYPES, UNIX_MINUS_NTP

__all__ = ["NtpMessage", "decode", "ntp_time"]

_HEADER = struct.Struct("!BBbbII4sQQQQ")  # RFC 5905 fig. 8, 48 bytes
_CONTROL = struct.Struct("!BBHHHHH")  # RFC 9327 section 2, 12 bytes
_PRIVATE = struct.Struct("!BBBBHH")  # ntp_request.h struct req_pkt/resp_pkt head, 8 bytes
_EXT = struct.Struct("!HH")
_MAX_EXTENSIONS = 16  # a real client sends a handful; more is garbage or abuse


@dataclass(slots=True)
class NtpMessage:
    """One decoded NTP datagram; fields not present in its mode stay None."""

    version: int
    mode: int
    leap: int = 0
    # modes 1-5
    stratum: int | None = None
    poll: int | None = None
    precision: int | None = None
    root_delay: float | None = None
    root_dispersion: float | None = None
    ref_id: str | None = None
    kiss_code: str | None = None
    ref_time: float | None = None
    org_time: float | None = None
    rec_time: float | None = None
    xmt_time: float | None = None
    key_id: int | None = None
    extensions: int = 0
    nts: bool = False
    trailer_error: str | None = None
    # modes 6 and 7
    response: bool | None = None
    error: bool | None = None
    more: bool | None = None
    sequence: int | None = None
    opcode: int | None = None
    status: int | None = None
    assoc_id: int | None = None
    data_length: int | None = None
    implementation: int | None = None
    request_code: int | None = None
    error_code: int | None = None
    item_count: int | None = None
    item_size: int | None = None


def ntp_time(value: int) -> float | None:
    """64-bit NTP timestamp -> Unix epoch seconds; 0 means "not set" (RFC 5905 section 6).

    Era rule of RFC 5905 section 6 / RFC 4330 section 3: a seconds value with the top bit clear
    belongs to era 1 (after 2036-02-07), since no NTP speaker predates 1968."""
    if value == 0:
        return None
    sec = value >> 32
    if not sec & 0x80000000:
        sec += 1 << 32
    return sec - UNIX_MINUS_NTP + (value & 0xFFFFFFFF) / 4294967296.0


def _short(value: int) -> float:
    """NTP short format (16.16 fixed point seconds, RFC 5905 fig. 3)."""
    return value / 65536.0


def _ascii_id(raw: bytes) -> str:
    text = raw.rstrip(b"\0")
    if text and all(0x20 < b < 0x7F for b in text):
        return text.decode("ascii")
    return raw.hex()


def decode(data: bytes) -> NtpMessage:
    """Decode one NTP datagram."""
    if not data:
        raise Malformed("ntp.truncated", "empty datagram")
    first = data[0]
    version = (first >> 3) & 0x07
    mode = first & 0x07
    if version == 0 or version > 4:
        raise Malformed("ntp.bad_version", f"version {version}")
    if mode == 6:
        return _control(data, version)
    if mode == 7:
        return _private(data, version)
    if mode == 0:
        raise Malformed("ntp.reserved_mode", "mode 0 is reserved")
    return _time(data, version, mode)


def _time(data: bytes, version: int, mode: int) -> NtpMessage:
    if len(data) < 48:
        raise Malformed("ntp.truncated", f"{len(data)} bytes, header needs 48")
    (first, stratum, poll, precision, delay, disp, refid, ref, org, rec,
     xmt) = _HEADER.unpack_from(data)
    msg = NtpMessage(version=version, mode=mode, leap=first >> 6, stratum=stratum, poll=poll,
                     precision=precision, root_delay=_short(delay),
                     root_dispersion=_short(disp), ref_time=ntp_time(ref),
                     org_time=ntp_time(org), rec_time=ntp_time(rec), xmt_time=ntp_time(xmt))
    # RFC 5905 section 7.3 "Reference ID": ASCII kiss code at stratum 0, ASCII clock source at
    # stratum 1, otherwise the upstream server's IPv4 address (or an IPv6 address hash).
    if refid == b"\0\0\0\0":
        pass  # unset (client requests)
    elif stratum == 0:
        code = _ascii_id(refid)
        msg.ref_id = code
        if code in KISS_CODES:
            msg.kiss_code = code
    elif stratum == 1:
        msg.ref_id = _ascii_id(refid)
    else:
        msg.ref_id = ".".join(str(b) for b in refid)
    _trailer(data, msg)
    return msg


def _trailer(data: bytes, msg: NtpMessage) -> None:
    """Extension fields (RFC 7822 section 3) and/or the MAC after the 48-byte header.

    A bad trailer does not void the header before it: it is recorded in ``trailer_error`` for
    the session to report, and the message is still returned."""
    pos, end = 48, len(data)
    # RFC 7822 section 7.5: a trailer of 4 (crypto-NAK), 20 (MD5) or 24 (SHA-1) bytes is a MAC;
    # anything longer starts with extension fields (each >= 16 bytes, a multiple of 4).
    while end - pos > 24 or (end - pos >= 16 and end - pos not in (20, 24)):
        ftype, flen = _EXT.unpack_from(data, pos)
        if msg.version != 4 or flen < 16 or flen % 4 or pos + flen > end:
            msg.trailer_error = f"{end - pos} bytes after the header are no extension field"
            return
        if ftype in NTS_EXTENSION_TYPES:
            msg.nts = True
        msg.extensions += 1
        if msg.extensions > _MAX_EXTENSIONS:
            msg.trailer_error = f"more than {_MAX_EXTENSIONS} extension fields"
            return
        pos += flen
    rest = end - pos
    if rest in (4, 20, 24):
        msg.key_id = struct.unpack_from("!I", data, pos)[0]
    elif rest:
        msg.trailer_error = f"{rest} stray bytes after the header"


def _control(data: bytes, version: int) -> NtpMessage:
    if len(data) < 12:
        raise Malformed("ntp.truncated", f"{len(data)} bytes, control header needs 12")
    first, flags, seq, status, assoc, _offset, count = _CONTROL.unpack_from(data)
    if 12 + count > len(data):
        raise Malformed("ntp.bad_control_length", f"count {count} but {len(data) - 12} bytes")
    return NtpMessage(version=version, mode=6, leap=first >> 6, response=bool(flags & 0x80),
                      error=bool(flags & 0x40), more=bool(flags & 0x20), opcode=flags & 0x1F,
                      sequence=seq, status=status, assoc_id=assoc, data_length=count)


def _private(data: bytes, version: int) -> NtpMessage:
    if len(data) < 8:
        raise Malformed("ntp.truncated", f"{len(data)} bytes, mode 7 header needs 8")
    first, auth_seq, impl, req, err_items, mbz_size = _PRIVATE.unpack_from(data)
    return NtpMessage(version=version, mode=7, response=bool(first & 0x80),
                      more=bool(first & 0x40), sequence=auth_seq & 0x7F, implementation=impl,
                      request_code=req, error_code=err_items >> 12, item_count=err_items & 0x0FFF,
                      item_size=mbz_size & 0x0FFF)

"""Beckhoff ADS/AMS parsing: AMS/TCP header, AMS header, ADS command data, AMS/UDP discovery.
Pure: bytes in, records out; raises only ``Malformed``. All integers are little-endian.

References (Beckhoff TE1000 "ADS specification"): AMS/TCP packet 2.1 (2 reserved bytes, 4-byte
length), AMS header 2.2 (target/source AMS Net ID and port, command id, state flags, data
length, error code, invoke id), ADS commands 2.3.1-2.3.9 (request and response layouts).
AMS/UDP (port 48899) discovery: magic 0x71146603, invoke id, service id (bit 31 = response),
sender AMS address, tag count, then tags (id u16, length u16, value).
"""

from __future__ import annotations

import functools
import struct

from otshield.errors import Malformed
from otshield.protocols.ads.constants import TCP_COMMANDS, UDP_TAGS

__all__ = [
    "AdsDetail",
    "AmsHeader",
    "Discovery",
    "decode_ams",
    "decode_discovery",
    "decode_request",
    "decode_response",
    "frame_size",
    "net_id",
    "probe",
    "tag_name",
]

AMS_HEADER = 32
UDP_MAGIC = b"\x03\x66\x14\x71"
_TCP = struct.Struct("<HI")
_AMS = struct.Struct("<6sH6sHHHIII")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_IGO = struct.Struct("<III")
_RW = struct.Struct("<IIII")
_ADDNOTE = struct.Struct("<IIIIII")
_INFO = struct.Struct("<IBBH")
_UDP = struct.Struct("<4sII6sHI")
_TAG = struct.Struct("<HH")
MAX_NAME = 256
MAX_TAGS = 64


@functools.lru_cache(maxsize=4096)
def net_id(raw: bytes) -> str:
    """AMS Net ID in dotted form; a flow uses a handful, so the text is cached (bounded)."""
    return "{}.{}.{}.{}.{}.{}".format(*raw)


class AmsHeader:
    """The 32-byte AMS header (TE1000 2.2) and the ADS data after it."""

    __slots__ = ("command", "data", "error", "flags", "invoke", "is_response", "source",
                 "source_port", "target", "target_port")

    def __init__(self, target: str, target_port: int, source: str, source_port: int,
                 command: int, flags: int, error: int, invoke: int, data: bytes) -> None:
        self.target, self.target_port = target, target_port
        self.source, self.source_port = source, source_port
        self.command = command
        self.flags = flags
        self.is_response = bool(flags & 0x0001)
        self.error = error
        self.invoke = invoke
        self.data = data


class AdsDetail:
    """Parameters of an ADS request, completed by its response."""

    __slots__ = ("ads_state", "cycle_time", "device_name", "device_state", "handle",
                 "index_group", "index_offset", "length", "notification_samples",
                 "notification_stamps", "read_length", "response_length", "result",
                 "sub_requests", "symbol",
                 "transmission_mode", "version", "write_length")

    def __init__(self) -> None:
        self.index_group: int | None = None
        self.index_offset: int | None = None
        self.length: int | None = None
        self.read_length: int | None = None
        self.write_length: int | None = None
        self.symbol: str | None = None
        self.sub_requests: int | None = None
        self.ads_state: int | None = None
        self.device_state: int | None = None
        self.handle: int | None = None
        self.transmission_mode: int | None = None
        self.cycle_time: int | None = None
        self.notification_stamps: int | None = None
        self.notification_samples: int | None = None
        self.result: int | None = None
        self.response_length: int | None = None
        self.version: str | None = None
        self.device_name: str | None = None


class Discovery:
    """One AMS/UDP discovery or route message."""

    __slots__ = ("invoke", "is_response", "net_id", "port", "service", "tags")

    def __init__(self, invoke: int, service: int, is_response: bool, net: str, port: int,
                 tags: list[tuple[int, bytes]]) -> None:
        self.invoke = invoke
        self.service = service
        self.is_response = is_response
        self.net_id = net
        self.port = port
        self.tags = tags


def frame_size(buf: bytes) -> int | None:
    """AMS/TCP: 6-byte header (reserved/command u16, length u32) plus length."""
    if len(buf) < 6:
        if len(buf) >= 2 and _U16.unpack_from(buf)[0] not in TCP_COMMANDS:
            raise Malformed("ads.bad_header", f"AMS/TCP command 0x{_U16.unpack_from(buf)[0]:04x}")
        return None
    cmd, length = _TCP.unpack_from(buf)
    if cmd not in TCP_COMMANDS:
        raise Malformed("ads.bad_header", f"AMS/TCP command 0x{cmd:04x}")
    if length > 16 * 1024 * 1024:
        raise Malformed("ads.bad_length", f"AMS/TCP length {length}")
    return 6 + int(length)


def _ams_plausible(payload: bytes, off: int, length: int) -> bool:
    """An AMS header at ``off`` whose data length agrees with ``length`` (the bytes the
    AMS/TCP header or the datagram give it), with a defined command and the ADS-command flag."""
    cmd, flags, data_len = struct.unpack_from("<HHI", payload, off + 16)
    return cmd <= 9 and bool(flags & 0x0004) and data_len == length - AMS_HEADER


def probe(payload: bytes, from_client: bool) -> bool:
    """AMS/UDP discovery magic, or an AMS header (behind an AMS/TCP header, or alone in an
    AMS/UDP datagram) whose lengths agree."""
    if payload[:4] == UDP_MAGIC:
        return True
    n = len(payload)
    if n >= 6 + AMS_HEADER:
        cmd, length = _TCP.unpack_from(payload)
        if cmd == 0 and length >= AMS_HEADER and _ams_plausible(payload, 6, length):
            return True
    return n >= AMS_HEADER and _ams_plausible(payload, 0, n)


def decode_ams(data: bytes) -> AmsHeader:
    """An AMS header plus its ADS data (the AMS/TCP header already removed)."""
    if len(data) < AMS_HEADER:
        raise Malformed("ads.bad_length", f"AMS header of {len(data)} bytes")
    tnet, tport, snet, sport, cmd, flags, length, error, invoke = _AMS.unpack_from(data)
    if length != len(data) - AMS_HEADER:
        raise Malformed("ads.bad_length",
                        f"AMS data length {length} for {len(data) - AMS_HEADER} bytes")
    return AmsHeader(net_id(tnet), tport, net_id(snet), sport, cmd, flags, error, invoke,
                     data[AMS_HEADER:])


def _short(cmd: int, n: int, need: int, what: str) -> None:
    if n < need:
        raise Malformed("ads.bad_length", f"{what} of command {cmd} with {n} bytes")


def _cstr(raw: bytes) -> str:
    return raw[:MAX_NAME].split(b"\0", 1)[0].decode("latin-1")


def decode_request(cmd: int, data: bytes) -> AdsDetail:
    """ADS request data (TE1000 2.3.1-2.3.9)."""
    d = AdsDetail()
    n = len(data)
    if cmd in (2, 3):
        _short(cmd, n, 12, "request")
        d.index_group, d.index_offset, d.length = _IGO.unpack_from(data)
        if cmd == 3 and d.length != n - 12:
            raise Malformed("ads.bad_length", f"write of {d.length} bytes carries {n - 12}")
        if cmd == 3 and d.index_group == 0xF006 and d.length == 4:  # release handle
            d.handle = _U32.unpack_from(data, 12)[0]
    elif cmd == 9:
        _short(cmd, n, 16, "request")
        d.index_group, d.index_offset, d.read_length, d.write_length = _RW.unpack_from(data)
        if d.write_length != n - 16:
            raise Malformed("ads.bad_length",
                            f"read/write of {d.write_length} bytes carries {n - 16}")
        if d.index_group in (0xF003, 0xF004, 0xF007, 0xF009):  # the data is a symbol name
            d.symbol = _cstr(data[16:])
        elif 0xF080 <= d.index_group <= 0xF086:
            d.sub_requests = d.index_offset  # sum commands: the offset counts sub-commands
    elif cmd == 5:
        _short(cmd, n, 8, "request")
        d.ads_state, d.device_state, d.length = struct.unpack_from("<HHI", data)
    elif cmd == 6:
        _short(cmd, n, 24, "request")
        (d.index_group, d.index_offset, d.length, d.transmission_mode, _delay,
         d.cycle_time) = _ADDNOTE.unpack_from(data)
    elif cmd == 7:
        _short(cmd, n, 4, "request")
        d.handle = _U32.unpack_from(data)[0]
    elif cmd == 8:
        _short(cmd, n, 8, "request")
        d.length, stamps = struct.unpack_from("<II", data)
        d.notification_stamps = stamps
        samples = 0
        off = 8
        for _ in range(min(stamps, 1024)):
            if off + 12 > n:
                raise Malformed("ads.bad_length", "device notification stamp header truncated")
            count = _U32.unpack_from(data, off + 8)[0]
            off += 12
            for _ in range(min(count, 4096)):
                if off + 8 > n:
                    raise Malformed("ads.bad_length", "device notification sample truncated")
                off += 8 + _U32.unpack_from(data, off + 4)[0]
                samples += 1
            if off > n:
                raise Malformed("ads.bad_length", "device notification sample data truncated")
        d.notification_samples = samples
    return d


def decode_response(cmd: int, data: bytes, d: AdsDetail) -> None:
    """ADS response data (result code first) into the request's detail."""
    n = len(data)
    if cmd == 0 or cmd > 9 or cmd == 8:
        return
    _short(cmd, n, 4, "response")
    d.result = _U32.unpack_from(data)[0]
    if d.result:
        return  # an error response may carry only the result
    if cmd == 1:
        _short(cmd, n, 8, "response")
        _res, major, minor, build = _INFO.unpack_from(data)
        d.version = f"{major}.{minor}.{build}"
        d.device_name = _cstr(data[8:24]).strip()
    elif cmd in (2, 9):
        _short(cmd, n, 8, "response")
        length = _U32.unpack_from(data, 4)[0]
        if length != n - 8:
            raise Malformed("ads.bad_length", f"read response of {length} bytes carries {n - 8}")
        d.response_length = length
        if cmd == 9 and d.index_group == 0xF003 and length >= 4:
            d.handle = _U32.unpack_from(data, 8)[0]
    elif cmd == 4:
        _short(cmd, n, 8, "response")
        d.ads_state, d.device_state = struct.unpack_from("<HH", data, 4)
    elif cmd == 6:
        _short(cmd, n, 8, "response")
        d.handle = _U32.unpack_from(data, 4)[0]


def decode_discovery(data: bytes) -> Discovery:
    """An AMS/UDP discovery / route message."""
    if len(data) < _UDP.size:
        raise Malformed("ads.bad_length", f"AMS/UDP message of {len(data)} bytes")
    magic, invoke, service, net, port, count = _UDP.unpack_from(data)
    if magic != UDP_MAGIC:
        raise Malformed("ads.bad_header", f"AMS/UDP magic {magic.hex()}")
    tags: list[tuple[int, bytes]] = []
    off = _UDP.size
    for _ in range(min(count, MAX_TAGS)):
        if off + 4 > len(data):
            raise Malformed("ads.bad_length", f"AMS/UDP tag {len(tags)} of {count} truncated")
        tag, length = _TAG.unpack_from(data, off)
        off += 4
        if off + length > len(data):
            raise Malformed("ads.bad_length", f"AMS/UDP tag {tag} of {length} bytes truncated")
        tags.append((tag, data[off:off + length]))
        off += length
    return Discovery(invoke, service & 0x7FFFFFFF, bool(service & 0x80000000), net_id(net),
                     port, tags)


def tag_name(tag: int) -> str:
    return UDP_TAGS.get(tag, f"tag_{tag}")

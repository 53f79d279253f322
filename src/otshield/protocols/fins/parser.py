"""Omron FINS parsing: the FINS/TCP header and the FINS frame (header, command code, end code,
command parameters). Pure: bytes in, records out; raises only ``Malformed``.

References: Omron W227 (FINS Commands Reference Manual) 3-2 (FINS frame header: ICF, RSV, GCT,
DNA, DA1, DA2, SNA, SA1, SA2, SID), 5-3 (command and response formats), 8 (end codes);
W342 7-4 (FINS/TCP header: "FINS", length, command, error code).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.fins.constants import AREAS, BIT_AREAS, COMMANDS, FORCED_AREAS

__all__ = [
    "FinsDetail",
    "FinsFrame",
    "FinsTcpHeader",
    "area_name",
    "decode_command",
    "decode_frame",
    "decode_response",
    "decode_tcp",
    "frame_size",
    "memory_values",
    "probe",
]

TCP_MAGIC = b"FINS"
HEADER_LEN = 10
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_TCP = struct.Struct(">4sIII")
_AREA = struct.Struct(">BHBH")  # area, word address, bit, count (W227 5-3-2)
MAX_ITEMS = 32
MAX_VALUES = 16
_MAX_TCP_LENGTH = 2012 + 8  # the largest FINS frame (2012 bytes) plus command and error code


class FinsTcpHeader:
    """The 16-byte FINS/TCP header and, for node address commands, the node numbers."""

    __slots__ = ("client_node", "command", "error", "payload", "server_node")

    def __init__(self, command: int, error: int, payload: bytes, client_node: int | None,
                 server_node: int | None) -> None:
        self.command = command
        self.error = error
        self.payload = payload
        self.client_node = client_node
        self.server_node = server_node


class FinsDetail:
    """What the parameters of one command or response say (fields left None when absent)."""

    __slots__ = ("address", "areas", "bit", "clock", "controller_model", "controller_version",
                 "count", "cpu_mode", "cpu_status", "data_size", "dest_address", "dest_area",
                 "items_truncated", "memory_area", "parameter_area", "password_present",
                 "program_number", "values")

    def __init__(self) -> None:
        self.memory_area: int | None = None
        self.address: int | None = None
        self.bit: int | None = None
        self.count: int | None = None
        self.dest_area: int | None = None
        self.dest_address: int | None = None
        self.areas: list[str] | None = None
        self.items_truncated = False
        self.parameter_area: int | None = None
        self.program_number: int | None = None
        self.cpu_mode: str | None = None
        self.cpu_status: str | None = None
        self.controller_model: str | None = None
        self.controller_version: str | None = None
        self.clock: str | None = None
        self.password_present: bool | None = None
        self.data_size: int | None = None
        self.values: list[int] | None = None
        """Memory area read/write/fill data: bits (0/1) or words, first 16."""


class FinsFrame:
    """One FINS command or response (W227 3-2)."""

    __slots__ = ("code", "da1", "da2", "data", "dna", "end_code", "gateway", "icf",
                 "is_response", "response_required", "sa1", "sa2", "sid", "sna")

    def __init__(self, icf: int, dna: int, da1: int, da2: int, sna: int, sa1: int, sa2: int,
                 sid: int, code: int, end_code: int | None, data: bytes) -> None:
        self.icf = icf
        self.gateway = bool(icf & 0x80)
        self.is_response = bool(icf & 0x40)
        self.response_required = not icf & 0x01
        self.dna, self.da1, self.da2 = dna, da1, da2
        self.sna, self.sa1, self.sa2 = sna, sa1, sa2
        self.sid = sid
        self.code = code
        self.end_code = end_code
        self.data = data


def frame_size(buf: bytes) -> int | None:
    """FINS/TCP: 8 bytes ("FINS" and the length of what follows) plus that length."""
    if len(buf) < 8:
        if TCP_MAGIC[:len(buf)] != bytes(buf[:4]):
            raise Malformed("fins.bad_header", f"FINS/TCP magic missing: {bytes(buf[:4]).hex()}")
        return None
    magic, length = struct.unpack_from(">4sI", buf)
    if magic != TCP_MAGIC:
        raise Malformed("fins.bad_header", f"FINS/TCP magic missing: {magic.hex()}")
    if length < 8 or length > _MAX_TCP_LENGTH:
        raise Malformed("fins.bad_length", f"FINS/TCP length {length}")
    return 8 + int(length)


def probe(payload: bytes, from_client: bool) -> bool:
    """FINS/TCP starts with "FINS". A FINS/UDP datagram has no magic: the ICF must use the
    gateway bit with its reserved bits clear (0x80, 0x81, 0xC0, 0xC1: what FINS/UDP nodes
    send, W227 3-2), RSV zero, the gateway count at most 7, network addresses at most 127 and
    the command code defined."""
    if payload[:4] == TCP_MAGIC:
        return True
    return (len(payload) >= 12 and payload[0] in (0x80, 0x81, 0xC0, 0xC1) and payload[1] == 0
            and payload[2] <= 7 and payload[3] <= 0x7F and payload[6] <= 0x7F
            and _U16.unpack_from(payload, HEADER_LEN)[0] in COMMANDS)


def decode_tcp(unit: bytes) -> FinsTcpHeader:
    """A whole FINS/TCP unit (as cut by ``frame_size``)."""
    if len(unit) < 16:
        raise Malformed("fins.bad_length", f"FINS/TCP header of {len(unit)} bytes")
    magic, length, command, error = _TCP.unpack_from(unit)
    if magic != TCP_MAGIC:
        raise Malformed("fins.bad_header", f"FINS/TCP magic missing: {magic.hex()}")
    if length + 8 != len(unit):
        raise Malformed("fins.bad_length", f"FINS/TCP length {length} for {len(unit)} bytes")
    payload = unit[16:]
    client = server = None
    if command in (0, 1):
        if len(payload) < 4 * (command + 1):
            raise Malformed("fins.bad_length",
                            f"node address command {command} with {len(payload)} data bytes")
        client = _U32.unpack_from(payload)[0]
        if command == 1:
            server = _U32.unpack_from(payload, 4)[0]
    return FinsTcpHeader(command, error, payload, client, server)


def decode_frame(frame: bytes) -> FinsFrame:
    """FINS header, command code and, for a response, the end code."""
    if len(frame) < HEADER_LEN + 2:
        raise Malformed("fins.bad_length", f"FINS frame of {len(frame)} bytes")
    icf, rsv = frame[0], frame[1]
    if rsv != 0 or icf & 0x3E:
        raise Malformed("fins.bad_header", f"ICF 0x{icf:02x} RSV 0x{rsv:02x}")
    code = _U16.unpack_from(frame, HEADER_LEN)[0]
    end: int | None = None
    start = HEADER_LEN + 2
    if icf & 0x40:
        # A response carries a two-byte end code, except the one a node sends when it cannot
        # even read the command code (W227 3-2: end code always present in practice).
        if len(frame) < HEADER_LEN + 4:
            raise Malformed("fins.bad_length", f"FINS response of {len(frame)} bytes")
        end = _U16.unpack_from(frame, start)[0]
        start += 2
    return FinsFrame(icf, frame[3], frame[4], frame[5], frame[6], frame[7], frame[8], frame[9],
                     code, end, frame[start:])


def _ascii(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()


def _bcd(b: int) -> int:
    return (b >> 4) * 10 + (b & 0x0F)


def _clock(raw: bytes) -> str | None:
    """Year, month, day, hour, minute[, second] in BCD (W227 5-3-21) as an ISO-like string."""
    if len(raw) < 5:
        return None
    year = _bcd(raw[0])
    year += 1900 if year >= 70 else 2000  # W227: 70-99 are 1970-1999, 00-69 are 2000-2069
    second = _bcd(raw[5]) if len(raw) >= 6 else 0
    return (f"{year:04d}-{_bcd(raw[1]):02d}-{_bcd(raw[2]):02d}T{_bcd(raw[3]):02d}:"
            f"{_bcd(raw[4]):02d}:{second:02d}")


_RUN_MODES = {0x01: "debug", 0x02: "monitor", 0x04: "run"}
_CPU_STATUS = {0x00: "stop", 0x01: "run", 0x80: "standby"}
_CPU_MODES = {0x00: "program", 0x01: "debug", 0x02: "monitor", 0x04: "run"}


def area_name(code: int) -> str | None:
    return AREAS.get(code)


def decode_command(code: int, data: bytes) -> FinsDetail:
    """Parameters of a command (W227 5-3); raises Malformed when they are too short."""
    d = FinsDetail()
    n = len(data)
    if code in (0x0101, 0x0102, 0x0103):
        if n < 6:
            raise Malformed("fins.bad_length", f"command 0x{code:04x} with {n} parameter bytes")
        d.memory_area, d.address, d.bit, d.count = _AREA.unpack_from(data)
        if code != 0x0101:
            d.data_size = n - 6
            d.values = memory_values(d.memory_area, data[6:])
    elif code == 0x0104:
        if n < 4:
            raise Malformed("fins.bad_length", f"multiple memory area read with {n} bytes")
        count = n // 4
        areas: list[str] = []
        for off in range(0, min(count, MAX_ITEMS) * 4, 4):
            area, addr, bit = struct.unpack_from(">BHB", data, off)
            areas.append(f"0x{area:02x}:{addr}.{bit}")
        d.areas = areas
        d.count = count
        d.items_truncated = count > MAX_ITEMS
        d.memory_area, d.address, d.bit = struct.unpack_from(">BHB", data)
    elif code == 0x0105:
        if n < 10:
            raise Malformed("fins.bad_length", f"memory area transfer with {n} bytes")
        d.memory_area, d.address, d.bit = struct.unpack_from(">BHB", data)
        d.dest_area, d.dest_address, _bit, d.count = _AREA.unpack_from(data, 4)
    elif code in (0x230A, 0x220A):
        # multiple forced status read: area, address, bit, count (W227 5-3-35); memory area
        # file transfer: parameter code (2) first (5-3-31)
        start = 2 if code == 0x220A else 0
        if n < start + 6:
            raise Malformed("fins.bad_length", f"command 0x{code:04x} with {n} bytes")
        d.memory_area, d.address, d.bit, d.count = _AREA.unpack_from(data, start)
    elif code == 0x2301:
        # forced set/reset: number of items (2), then specification (2), area (1), address (2),
        # bit (1) per item (W227 5-3-33); the first item is reported
        if n < 8:
            raise Malformed("fins.bad_length", f"forced set/reset with {n} bytes")
        d.count = _U16.unpack_from(data)[0]
        d.memory_area, d.address, d.bit = struct.unpack_from(">BHB", data, 4)
    elif code == 0x220B:
        # parameter area file transfer: parameter code (2), area (2), word (2), words (2)
        if n < 8:
            raise Malformed("fins.bad_length", f"parameter area file transfer with {n} bytes")
        d.parameter_area, d.address, d.count = struct.unpack_from(">HHH", data, 2)
    elif code in (0x0201, 0x0202, 0x0203):
        if n < 6:
            raise Malformed("fins.bad_length", f"parameter area command with {n} bytes")
        d.parameter_area, d.address, d.count = struct.unpack_from(">HHH", data)
        d.count &= 0x7FFF  # bit 15 of the count marks the last block
        if code == 0x0202:
            d.data_size = n - 6
    elif code in (0x0306, 0x0307):
        if n < 8:
            raise Malformed("fins.bad_length", f"program area command with {n} bytes")
        d.program_number, d.address, d.count = struct.unpack_from(">HIH", data)
        d.count &= 0x7FFF
        if code == 0x0307:
            d.data_size = n - 8
    elif code in (0x0304, 0x0305, 0x0308, 0x0C01, 0x0C02, 0x0C03):
        if n < 2:
            raise Malformed("fins.bad_length", f"command 0x{code:04x} with {n} bytes")
        d.program_number = _U16.unpack_from(data)[0]
        if code in (0x0304, 0x0305):
            # protect code (1), beginning and last word (4 each), password (4)
            d.password_present = n >= 15 and data[11:15] != b"\0\0\0\0"
    elif code == 0x0401:
        if n >= 2:
            d.program_number = _U16.unpack_from(data)[0]
        if n >= 3:
            d.cpu_mode = _RUN_MODES.get(data[2], f"0x{data[2]:02x}")
    elif code == 0x0402:
        if n >= 2:
            d.program_number = _U16.unpack_from(data)[0]
    elif code == 0x0702:
        if n < 5:
            raise Malformed("fins.bad_length", f"clock write with {n} bytes")
        d.clock = _clock(data)
    elif n:
        d.data_size = n
    return d


def memory_values(area: int, data: bytes) -> list[int] | None:
    """Items of memory area data: one byte per bit, two per word (W227 5-3-2); areas read
    with forced status are left out (their items pair a value with force flags)."""
    if area in FORCED_AREAS or not data:
        return None
    if area in BIT_AREAS:
        return [b & 1 for b in data[:MAX_VALUES]]
    words = min(len(data) // 2, MAX_VALUES)
    return list(struct.unpack_from(f">{words}H", data)) if words else None


def decode_response(code: int, data: bytes, detail: FinsDetail) -> None:
    """Fill ``detail`` from the data after a response's end code (W227 5-3)."""
    n = len(data)
    if code == 0x0501 and n >= 20:
        detail.controller_model = _ascii(data[:20]) or None
        if n >= 40:
            detail.controller_version = _ascii(data[20:40]) or None
    elif code == 0x0601 and n >= 2:
        detail.cpu_status = _CPU_STATUS.get(data[0], f"0x{data[0]:02x}")
        detail.cpu_mode = _CPU_MODES.get(data[1], f"0x{data[1]:02x}")
    elif code == 0x0701 and n >= 5:
        detail.clock = _clock(data)
    elif n and code in (0x0101, 0x0104, 0x0201, 0x0306, 0x2202, 0x2210):
        detail.data_size = n
        if code == 0x0101 and detail.memory_area is not None:
            detail.values = memory_values(detail.memory_area, data)

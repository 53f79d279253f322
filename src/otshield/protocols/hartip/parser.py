"""HART-IP parsing: the 8-byte HART-IP header, session-initiate bodies and the token-passing
HART PDU (delimiter, address, command, byte count, response code, device status, data,
checksum), with the values of the identification and process-variable commands.
Pure: bytes in, records out; raises only ``Malformed``. Big-endian throughout.

References: HCF_SPEC-085 10.2 (header: version, message type, message id, status, sequence
number, byte count including the header), HCF_SPEC-081 5 (delimiter: bit 7 unique/polling
address, bits 5-6 expansion bytes, bits 0-2 frame type 1 BACK / 2 STX / 6 ACK; 5-byte unique
address; longitudinal parity), HCF_SPEC-127 6 (universal command data: 0, 1, 2, 3, 9, 13, 20).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed

__all__ = [
    "HartHeader",
    "HartPdu",
    "PduValues",
    "decode_direct",
    "decode_header",
    "decode_pdu",
    "frame_size",
    "packed_ascii",
    "probe",
]

HEADER = struct.Struct(">BBBBHH")
HEADER_LEN = 8
_F32 = struct.Struct(">f")
_FRAME_TYPES = {1: "back", 2: "stx", 6: "ack"}
MAX_SLOTS = 8


class HartHeader:
    __slots__ = ("body", "byte_count", "message_id", "message_type", "sequence", "status",
                 "version")

    def __init__(self, version: int, message_type: int, message_id: int, status: int,
                 sequence: int, byte_count: int, body: bytes) -> None:
        self.version = version
        self.message_type = message_type
        self.message_id = message_id
        self.status = status
        self.sequence = sequence
        self.byte_count = byte_count
        self.body = body


class HartPdu:
    """A HART token-passing frame and what its data says."""

    __slots__ = ("address", "bad_checksum", "command", "device_id", "device_status",
                 "device_type", "frame_type", "long_address", "manufacturer_id", "polling",
                 "primary_master", "response_code", "values")

    def __init__(self) -> None:
        self.frame_type = ""
        self.long_address = False
        self.address = ""
        self.polling: int | None = None
        self.primary_master = False
        self.device_type: int | None = None
        """Expanded device type (long address bytes 0-1, masked)."""
        self.device_id: int | None = None
        self.manufacturer_id: int | None = None
        self.command = 0
        self.response_code: int | None = None
        self.device_status: int | None = None
        self.bad_checksum = False
        self.values = PduValues()


class PduValues:
    """Decoded data of the commands worth keeping (identification, process values, tags)."""

    __slots__ = ("config_change_counter", "device_id", "device_revision", "device_variables",
                 "expanded_device_type", "hardware_revision", "loop_current",
                 "manufacturer_id", "percent_of_range", "polling_address",
                 "private_label_distributor", "pv", "pv_units", "software_revision", "tag",
                 "universal_revision", "variables")

    def __init__(self) -> None:
        self.expanded_device_type: int | None = None
        self.universal_revision: int | None = None
        self.device_revision: int | None = None
        self.software_revision: int | None = None
        self.hardware_revision: int | None = None
        self.device_id: int | None = None
        self.device_variables: int | None = None
        self.config_change_counter: int | None = None
        self.manufacturer_id: int | None = None
        self.private_label_distributor: int | None = None
        self.pv: float | None = None
        self.pv_units: int | None = None
        self.loop_current: float | None = None
        self.percent_of_range: float | None = None
        self.variables: list[tuple[int, int, float]] | None = None
        """(slot or device variable code, unit code, value)."""
        self.tag: str | None = None
        self.polling_address: int | None = None


def frame_size(buf: bytes) -> int | None:
    """TCP: the header's byte count covers the whole message."""
    if len(buf) < HEADER_LEN:
        return None
    version, _mtype, _mid, _st, _seq, count = HEADER.unpack_from(buf)
    if version not in (1, 2):
        raise Malformed("hartip.bad_header", f"HART-IP version {version}")
    if count < HEADER_LEN:
        raise Malformed("hartip.bad_length", f"byte count {count}")
    return int(count)


def probe(payload: bytes, from_client: bool) -> bool:
    if len(payload) < HEADER_LEN:
        return False
    version, mtype, mid, _st, _seq, count = HEADER.unpack_from(payload)
    return version in (1, 2) and mtype in (0, 1, 2, 3, 15) and count == len(payload) and (
        mid <= 5 or mid == 128)


def decode_header(data: bytes) -> HartHeader:
    if len(data) < HEADER_LEN:
        raise Malformed("hartip.bad_length", f"HART-IP message of {len(data)} bytes")
    version, mtype, mid, status, seq, count = HEADER.unpack_from(data)
    if version not in (1, 2):
        raise Malformed("hartip.bad_header", f"HART-IP version {version}")
    if count != len(data):
        raise Malformed("hartip.bad_length", f"byte count {count} for {len(data)} bytes")
    return HartHeader(version, mtype, mid, status, seq, count, data[HEADER_LEN:])


def packed_ascii(raw: bytes) -> str:
    """HART packed ASCII (HCF_SPEC-099 / 127 A.1): four 6-bit characters in three bytes."""
    out: list[str] = []
    for i in range(0, len(raw) - 2, 3):
        word = raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2]
        for shift in (18, 12, 6, 0):
            c = (word >> shift) & 0x3F
            out.append(chr(c + 0x40 if c < 0x20 else c))
    return "".join(out).rstrip()


def _f32(data: bytes, off: int) -> float:
    return float(_F32.unpack_from(data, off)[0])


def _parity(data: bytes) -> int:
    """Longitudinal parity (XOR of all bytes, HCF_SPEC-081 5.1.8), folded as one integer:
    each step XORs the upper half onto the lower, so no per-byte Python loop."""
    x = int.from_bytes(data, "big")
    n = len(data)
    while n > 1:
        half = n // 2
        low_bytes = n - half
        x = (x & ((1 << (8 * low_bytes)) - 1)) ^ (x >> (8 * low_bytes))
        n = low_bytes
    return x


def decode_pdu(body: bytes) -> HartPdu:
    """A token-passing PDU (no preambles over HART-IP)."""
    n = len(body)
    if n < 4:
        raise Malformed("hartip.bad_pdu", f"HART PDU of {n} bytes")
    pdu = HartPdu()
    delim = body[0]
    ftype = delim & 0x07
    if ftype not in _FRAME_TYPES:
        raise Malformed("hartip.bad_pdu", f"delimiter 0x{delim:02x}: frame type {ftype}")
    pdu.frame_type = _FRAME_TYPES[ftype]
    pdu.long_address = bool(delim & 0x80)
    off = 1
    if pdu.long_address:
        if n < 9:
            raise Malformed("hartip.bad_pdu", "unique address truncated")
        addr = body[1:6]
        pdu.address = addr.hex()
        pdu.primary_master = bool(addr[0] & 0x80)
        pdu.device_type = ((addr[0] & 0x3F) << 8) | addr[1]
        pdu.device_id = int.from_bytes(addr[2:5], "big")
        off = 6
    else:
        pdu.primary_master = bool(body[1] & 0x80)
        pdu.polling = body[1] & 0x3F
        pdu.address = str(pdu.polling)
        off = 2
    off += (delim >> 5) & 0x03  # expansion bytes
    if off + 2 > n:
        raise Malformed("hartip.bad_pdu", "command and byte count missing")
    pdu.command = body[off]
    count = body[off + 1]
    off += 2
    if off + count + 1 > n:
        raise Malformed("hartip.bad_pdu", f"byte count {count} exceeds the PDU")
    data = body[off:off + count]
    pdu.bad_checksum = _parity(body[:off + count]) != body[off + count]
    if ftype != 2:  # ACK and BACK carry the response code and device status
        if count < 2:
            raise Malformed("hartip.bad_pdu", f"response with byte count {count}")
        pdu.response_code = data[0]
        pdu.device_status = data[1]
        data = data[2:]
        if pdu.response_code & 0x80:  # communication error: no data follows
            return pdu
    if pdu.command == 31 and len(data) >= 2:  # extended command: 16-bit number first
        pdu.command = int.from_bytes(data[:2], "big")
        data = data[2:]
    if ftype != 2:
        _response_values(pdu.command, data, pdu.values)
    elif pdu.command == 6 and data:
        pdu.values.polling_address = data[0]
    return pdu


def decode_direct(body: bytes, is_response: bool) -> HartPdu:
    """A direct PDU (message id 4, HCF_SPEC-085 10.2.3): device status, extended device
    status, then commands (number u16, byte count, response code in responses, data); the
    first command is decoded."""
    n = len(body)
    if n < 5:
        raise Malformed("hartip.bad_pdu", f"direct PDU of {n} bytes")
    pdu = HartPdu()
    pdu.frame_type = "direct"
    pdu.command = int.from_bytes(body[2:4], "big")
    count = body[4]
    if 5 + count > n:
        raise Malformed("hartip.bad_pdu", f"direct PDU byte count {count} exceeds the PDU")
    data = body[5:5 + count]
    if is_response:
        pdu.device_status = body[0]
        if not data:
            raise Malformed("hartip.bad_pdu", "direct PDU response without a response code")
        pdu.response_code = data[0]
        _response_values(pdu.command, data[1:], pdu.values)
    elif pdu.command == 6 and data:
        pdu.values.polling_address = data[0]
    return pdu


def _response_values(cmd: int, d: bytes, v: PduValues) -> None:
    n = len(d)
    if cmd in (0, 11, 21) and n >= 12:
        v.expanded_device_type = int.from_bytes(d[1:3], "big")
        v.universal_revision = d[4]
        v.device_revision = d[5]
        v.software_revision = d[6]
        v.hardware_revision = d[7] >> 3
        v.device_id = int.from_bytes(d[9:12], "big")
        if n >= 22:
            v.device_variables = d[13]
            v.config_change_counter = int.from_bytes(d[14:16], "big")
            v.manufacturer_id = int.from_bytes(d[17:19], "big")
            v.private_label_distributor = int.from_bytes(d[19:21], "big")
        else:  # HART 5/6: manufacturer id is the first address byte of command 0
            v.manufacturer_id = d[1]
    elif cmd == 1 and n >= 5:
        v.pv_units = d[0]
        v.pv = _f32(d, 1)
    elif cmd == 2 and n >= 8:
        v.loop_current = _f32(d, 0)
        v.percent_of_range = _f32(d, 4)
    elif cmd == 3 and n >= 4:
        v.loop_current = _f32(d, 0)
        variables: list[tuple[int, int, float]] = []
        for i, off in enumerate(range(4, min(n, 24) - 4, 5)):
            variables.append((i, d[off], _f32(d, off + 1)))
        if variables:
            v.pv_units, v.pv = variables[0][1], variables[0][2]
        v.variables = variables
    elif cmd == 9 and n >= 9:
        variables = []
        for off in range(1, n - 7, 8):  # code, classification, units, value, status
            if len(variables) >= MAX_SLOTS:
                break
            variables.append((d[off], d[off + 2], _f32(d, off + 3)))
        v.variables = variables
    elif cmd == 13 and n >= 6:
        v.tag = packed_ascii(d[:6])
    elif cmd == 20 and n >= 1:
        v.tag = d[:32].split(b"\0", 1)[0].decode("latin-1").rstrip()

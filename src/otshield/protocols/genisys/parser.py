"""Genisys (Union Switch & Signal / Hitachi Rail, wayside signalling code line; carried over TCP,
port 10001 in the reference capture): framing, probe and first-level parsing.

A message is a header byte 0xF1-0xFE naming its type, the station (server) address, address/
data byte pairs, a CRC-16 (little-endian) and the terminator 0xF6. Between header and
terminator a byte above 0xF0 is sent as 0xF0 followed by its low nibble, so 0xF6 only ever ends
a message (0xF0 itself is sometimes sent as is: the reference capture ends CRCs with a bare 0xF0
before the terminator, so a 0xF0 not followed by a nibble is taken literally). The CRC (CRC-16
with polynomial 0xA001 reflected, initial value 0xFFFF, i.e. the Modbus CRC) covers the header,
address and data; the acknowledge (0xF1) and a poll without data carry none. Facts as
implemented by CISA's ICSNPP Genisys analyzer and checked against its capture (a poll
``FB 01 83 40 F6`` carries CRC 0x4083 of ``FB 01``).
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.identify import Unit

__all__ = ["HEADERS", "crc16_modbus", "frame_size", "parse", "probe"]

TERMINATOR = 0xF6
ESCAPE = 0xF0
MAX_MESSAGE = 4096

HEADERS: dict[int, tuple[str, str, bool]] = {
    0xF1: ("acknowledge_client", "other", False),
    0xF2: ("indication_data", "read", False),
    0xF3: ("control_data_checkback", "control", False),
    0xF9: ("common_control_data", "control", True),
    0xFA: ("acknowledge_indication_and_poll", "read", True),
    0xFB: ("poll", "read", True),
    0xFC: ("control_data", "control", True),
    0xFD: ("recall", "read", True),
    0xFE: ("execute_controls", "control", True),
}
"""Header byte -> (name, function class, sent by the client/master)."""


def _table() -> tuple[int, ...]:
    out = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        out.append(c)
    return tuple(out)


_CRC = _table()


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    table = _CRC
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def frame_size(buf: bytes) -> int | None:
    if buf[0] < 0xF1 or buf[0] == TERMINATOR:
        raise Malformed("genisys.bad_header", f"header byte 0x{buf[0]:02x}")
    end = buf.find(TERMINATOR, 1)
    if end < 0:
        return None if len(buf) <= MAX_MESSAGE else MAX_MESSAGE + 1
    return end + 1


def probe(buf: bytes, from_client: bool) -> bool:
    """A known header, a terminator, and a CRC that checks (the acknowledge has none, so it
    alone does not identify the protocol)."""
    if len(buf) < 5 or buf[0] not in HEADERS or buf[0] == 0xF1:
        return False
    end = buf.find(TERMINATOR, 1)
    if end < 0:
        return False
    try:
        parse(buf[:end + 1], from_client)
    except Malformed:
        return False
    return True


def _unescape(raw: bytes) -> bytes:
    if max(raw, default=0) < ESCAPE:
        return raw
    body = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        b = raw[i]
        i += 1
        if b == ESCAPE and i < n and raw[i] <= 0x0F:
            body.append(ESCAPE | raw[i])
            i += 1
        elif b > ESCAPE:
            raise Malformed("genisys.bad_escape", f"unescaped byte 0x{b:02x} in the body")
        else:  # a bare 0xF0 is taken literally
            body.append(b)
    return bytes(body)


def parse(frame: bytes, from_client: bool) -> Unit:
    if len(frame) < 3 or frame[-1] != TERMINATOR:
        raise Malformed("genisys.truncated", f"{len(frame)}-byte message without terminator")
    header = frame[0]
    spec = HEADERS.get(header)
    if spec is None:
        raise Malformed("genisys.bad_header", f"undefined header byte 0x{header:02x}")
    raw = frame[1:-1]
    name, fclass, _ = spec
    has_crc = header != 0xF1 and not (header == 0xFB and len(raw) < 3)
    if not has_crc:
        data = _unescape(raw)
    else:
        if len(raw) < 3:
            raise Malformed("genisys.truncated", f"{name}: no room for the CRC")
        # The reference capture sends the CRC bytes as they are (0xFD, 0xF0 appear bare);
        # ICSNPP reads them escaped like the data: either reading may check.
        data = _unescape(raw[:-2])
        crc = raw[-2] | raw[-1] << 8
        if crc16_modbus(bytes([header]) + data) != crc:
            try:
                full = _unescape(raw)
            except Malformed:
                full = b""
            crc = full[-2] | full[-1] << 8 if len(full) >= 3 else -1
            data = full[:-2]
            if crc16_modbus(bytes([header]) + data) != crc:
                raise Malformed("genisys.bad_crc", f"{name} to station {raw[0]}: the CRC does "
                                                   "not match")
    if not data:
        raise Malformed("genisys.truncated", f"{name} without a station address")
    if (len(data) - 1) % 2:
        raise Malformed("genisys.bad_length", f"{name}: an address without its data byte")
    return Unit(name, fclass, spec[2], {"station": data[0]})

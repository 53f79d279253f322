"""Emerson BSAP (Bristol Synchronous/Asynchronous Protocol) over UDP: BSAP-IP (port 1234) and
serial BSAP frames carried in UDP (port 1235): probe and first-level parsing.

BSAP-IP (little-endian): header length (u16, 14), message count (u16; 0 = acknowledgement),
message function (u16: 6/0x84/0x86 request, 5 response, 0 acknowledgement) and two sequence
words; each message then has data length (u32, counting from itself), and a request has
header size (u8), sequence (u32) and the application function code (0xA0 = Remote Database
Access, followed by the node status byte and the RDB function code); a response has data
length, an id byte, sequence, response status and the element count.

Serial BSAP: DLE STX (0x10 0x02), the address byte (bit 7 set: global addressing with 16-bit
destination and source addresses and a control byte), serial number, destination function,
sequence (u16), source function, node status, data, DLE ETX (0x10 0x03) and a 16-bit CRC; a
data byte 0x10 is doubled. The CRC is not checked (its parameters are not in the public
references). Facts from CISA's ICSNPP BSAP analyzer (bsap-protocol.pac) and its captures.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.bsap.constants import (
    APP_FUNCTIONS,
    IP_FUNCTIONS,
    LINK_FUNCTIONS,
    PEI_PC,
    RDB,
    RDB_EXT_FUNCTIONS,
    RDB_EXTENSION,
    RDB_FUNCTIONS,
)
from otshield.protocols.identify import FactValue, Unit

__all__ = ["parse", "probe"]

_IP_HEAD = struct.Struct("<HHH")
_DLE_STX = b"\x10\x02"
_DLE_ETX = b"\x10\x03"


def probe(buf: bytes, from_client: bool) -> bool:
    """Serial frame: DLE STX ... DLE ETX + CRC. BSAP-IP: header length 14, a known message
    function, and the request/response header (data length = what follows) or 14 bytes."""
    if buf[:2] == _DLE_STX:
        return len(buf) >= 10 and buf[-4:-2] == _DLE_ETX
    if len(buf) < 14 or buf[0] != 14 or buf[1] != 0:
        return False
    _, count, func = _IP_HEAD.unpack_from(buf)
    role = IP_FUNCTIONS.get(func)
    if role is None:
        return False
    if role == "ack":
        return count == 0 and len(buf) == 14
    # the first message's data length counts from its own first byte; several may follow
    return count > 0 and len(buf) >= 24 and 10 <= int.from_bytes(buf[14:18], "little") <= (
        len(buf) - 14)


def parse(frame: bytes, from_client: bool) -> Unit:
    if frame[:2] == _DLE_STX:
        return _serial(frame)
    return _ip(frame)


def _rdb(func: int, request: bool) -> Unit:
    name, fclass = RDB_FUNCTIONS.get(func, (f"rdb_unknown_0x{func:02x}", "other"))
    return Unit(f"rdb_{name}" if not name.startswith("rdb_") else name, fclass, request)


def _ip(frame: bytes) -> Unit:
    if len(frame) < 14:
        raise Malformed("bsap.truncated", f"{len(frame)}-byte BSAP-IP message, header is 14")
    hlen, count, func = _IP_HEAD.unpack_from(frame)
    if hlen < 14 or hlen > len(frame):
        raise Malformed("bsap.bad_header", f"header length {hlen}")
    role = IP_FUNCTIONS.get(func)
    if role is None:
        raise Malformed("bsap.bad_header", f"message function 0x{func:04x}")
    if count == 0 or role == "ack":
        return Unit("ack", "other", None)
    pos = hlen
    if len(frame) < pos + 10:
        raise Malformed("bsap.truncated", f"{role} without its {role} header")
    if role == "response":
        status = frame[pos + 9]
        return Unit("response" if status == 0 else "response_error", "other", False,
                    {"response_status": status} if status else None)
    app = frame[pos + 9]
    if app == RDB:
        if len(frame) < pos + 12:
            raise Malformed("bsap.truncated", "RDB request without its function code")
        return _rdb(frame[pos + 11], True)
    name, fclass = APP_FUNCTIONS.get(app, (f"unknown_0x{app:02x}", "other"))
    return Unit(name, fclass, True)


def _serial(frame: bytes) -> Unit:
    end = frame.rfind(_DLE_ETX)
    if end < 0 or end + 4 != len(frame):
        raise Malformed("bsap.truncated", "serial frame without DLE ETX and CRC at its end")
    body = frame[2:end].replace(b"\x10\x10", b"\x10")
    if not body:
        raise Malformed("bsap.truncated", "empty serial frame")
    addr = body[0]
    facts: dict[str, FactValue] = {"address": addr & 0x7F}
    if addr & 0x80:  # global: SER, DADD, SADD, CTL, DFUN, SEQ, SFUN, NSB
        if len(body) < 11:
            raise Malformed("bsap.truncated", "global header cut short")
        facts["destination_address"], facts["source_address"] = struct.unpack_from("<HH", body, 2)
        dfun, sfun, rest = body[7], body[10], 12
    else:  # local: SER, DFUN, SEQ, SFUN, NSB
        if len(body) < 3:
            raise Malformed("bsap.truncated", "local header cut short")
        dfun = body[2]
        link = LINK_FUNCTIONS.get(dfun)
        if link is not None:  # poll / acknowledgement: no application header
            return Unit(link, "read" if link == "poll" else "other", None, facts)
        if len(body) < 7:
            raise Malformed("bsap.truncated", "local header cut short")
        sfun, rest = body[5], 7
    if dfun == RDB:
        if len(body) <= rest:
            raise Malformed("bsap.truncated", "RDB request without its function code")
        unit = _rdb(body[rest], True)
    elif dfun == RDB_EXTENSION and len(body) >= rest + 7:
        xfun = body[rest + 5] | body[rest + 6] << 8
        name, fclass = RDB_EXT_FUNCTIONS.get(xfun, (f"rdb_extension_0x{xfun:04x}", "other"))
        unit = Unit(name, fclass, True)
    elif dfun == PEI_PC and sfun in (RDB, RDB_EXTENSION):
        unit = Unit("rdb_response", "other", False)
    else:
        name, fclass = APP_FUNCTIONS.get(dfun, (f"unknown_0x{dfun:02x}", "other"))
        unit = Unit(name, fclass, None)
    unit.facts = facts
    return unit

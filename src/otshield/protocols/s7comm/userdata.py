"""S7comm userdata PDUs (ROSCTR 7): the parameter head and the function-group payloads.

Parameter part (as established by public reverse engineering: Wireshark S7COMM, Snap7):
``function (0x00), item count (1), 0x12, parameter length (4 or 8), syntax id (0x11 request /
0x12 response / 0x13 USEND), type << 6 | function group, subfunction, sequence number`` and, when
the syntax id is 0x12, ``data unit reference, last-data-unit flag (0 = last), error code (2)``.
Function 0x01 is the mode-transition indication: ``4 unknown bytes, mode, 1 unknown byte``.

Data part: ``return code, transport size, length (2)`` and the payload. A response too large for
one PDU is sent in several data units with the same data unit reference; the session joins them
and calls :func:`decode_payload` once on the whole.

Payloads decoded here: read SZL (request id/index; answer via :mod:`.szl`), list blocks, list
blocks of type, block info, read/set clock (10-byte BCD DATE_AND_TIME), PLC password (presence
only), cyclic data subscriptions and their values.
"""

from __future__ import annotations

import datetime
import struct

from otshield.errors import Malformed
from otshield.protocols.s7comm.constants import (
    BLOCK_LANGUAGES,
    BLOCK_TYPES,
    FILESYSTEMS,
    FUNC_MODE_TRANSITION,
    GROUP_BLOCK,
    GROUP_CPU,
    GROUP_CYCLIC,
    GROUP_MODE_TRANSITION,
    GROUP_PBC,
    GROUP_SECURITY,
    GROUP_TIME,
    RETURN_SUCCESS,
    SUB_BLOCK_INFO,
    SUB_CYCLIC_CHANGE,
    SUB_CYCLIC_CHANGE_MODIFY,
    SUB_CYCLIC_TRANSFER,
    SUB_CYCLIC_UNSUBSCRIBE,
    SUB_LIST_BLOCKS,
    SUB_LIST_BLOCKS_OF_TYPE,
    SUB_PASSWORD,
    SUB_READ_CLOCK,
    SUB_READ_CLOCK_FOLLOWING,
    SUB_READ_SZL,
    SUB_SET_CLOCK,
    SUB_SET_CLOCK2,
    SUBBLOCK_TYPES,
    TIMEBASES,
    UD_TYPE_INDICATION,
    UD_TYPE_REQUEST,
    UD_TYPE_RESPONSE,
)
from otshield.protocols.s7comm.events import S7BlockCount, S7BlockInfo
from otshield.protocols.s7comm.pdu import MAX_LIST, S7Pdu, parse_items, parse_values
from otshield.protocols.s7comm.szl import decode_szl

__all__ = ["decode_payload", "parse_userdata", "s7_date_and_time", "s7_timestamp"]

_U16 = struct.Struct(">H")
_BLOCKINFO = struct.Struct(">BBBBHII6s6sHHHH8s8s8sBxH")  # from offset 8 of the answer
_EPOCH_1984 = datetime.datetime(1984, 1, 1)


def parse_userdata(pdu: S7Pdu, param: bytes, data: bytes) -> None:
    """Decode the parameter head and the data header into ``pdu``; the payload is kept in
    ``pdu.ud_payload`` for :func:`decode_payload` (after reassembly of data units)."""
    n = len(param)
    if n < 2:
        raise Malformed("s7comm.invalid_parameter", f"userdata parameter of {n} bytes")
    pdu.function = param[0]
    if param[0] == FUNC_MODE_TRANSITION:
        if n < 8:
            raise Malformed("s7comm.invalid_parameter", f"mode transition of {n} bytes")
        pdu.ud_type = UD_TYPE_INDICATION
        pdu.group = GROUP_MODE_TRANSITION
        pdu.cpu_mode = param[6]
        return
    if n < 8:
        raise Malformed("s7comm.invalid_parameter", f"userdata parameter of {n} bytes")
    syntax = param[4]
    if syntax == 0x13:  # PBC USEND: an R_ID instead of type/group/subfunction
        pdu.ud_type = UD_TYPE_INDICATION
        pdu.group = GROUP_PBC
        pdu.subfunction = 0
        return
    pdu.ud_type = param[5] >> 6
    pdu.group = param[5] & 0x3F
    pdu.subfunction = param[6]
    pdu.sequence = param[7]
    if syntax == 0x12 and n >= 12:
        pdu.data_unit_ref = param[8]
        pdu.last_data_unit = param[9] == 0
        pdu.ud_error = _U16.unpack_from(param, 10)[0]
    if len(data) >= 4:
        pdu.ud_return_code = data[0]
        pdu.ud_transport_size = data[1]
        length = _U16.unpack_from(data, 2)[0]
        payload = data[4:4 + length]
        if len(payload) < length:
            pdu.issue("s7comm.invalid_length",
                      f"userdata data length {length}, {len(payload)} bytes present")
        pdu.ud_payload = payload


def decode_payload(pdu: S7Pdu, payload: bytes) -> None:
    """Decode a (whole) userdata payload according to group, subfunction and type."""
    group, sub, kind = pdu.group, pdu.subfunction, pdu.ud_type
    ok = pdu.ud_return_code == RETURN_SUCCESS
    if group == GROUP_CPU and sub == SUB_READ_SZL:
        if kind == UD_TYPE_REQUEST and len(payload) >= 4:
            pdu.szl_id, pdu.szl_index = struct.unpack_from(">HH", payload)
        elif kind == UD_TYPE_RESPONSE and ok:
            decode_szl(pdu, payload)
    elif group == GROUP_BLOCK:
        _block_functions(pdu, sub, kind, ok, payload)
    elif group == GROUP_TIME:
        if ok and ((kind == UD_TYPE_RESPONSE and sub in (SUB_READ_CLOCK, SUB_READ_CLOCK_FOLLOWING))
                   or (kind == UD_TYPE_REQUEST and sub in (SUB_SET_CLOCK, SUB_SET_CLOCK2))):
            if len(payload) < 10:
                pdu.issue("s7comm.invalid_timestamp", f"{len(payload)} bytes")
                return
            pdu.plc_time = s7_date_and_time(payload[:10])
            if pdu.plc_time is None:
                pdu.issue("s7comm.invalid_timestamp", payload[:10].hex())
    elif group == GROUP_SECURITY:
        if kind == UD_TYPE_REQUEST and sub == SUB_PASSWORD:
            # the (obfuscated) password itself is never kept
            pdu.password_present = len(payload) > 0
    elif group == GROUP_CYCLIC:
        _cyclic(pdu, sub, kind, payload)


def _block_functions(pdu: S7Pdu, sub: int | None, kind: int | None, ok: bool,
                     payload: bytes) -> None:
    n = len(payload)
    if sub == SUB_LIST_BLOCKS and kind == UD_TYPE_RESPONSE and ok:
        counts = []
        for pos in range(0, n - 3, 4):
            btype = BLOCK_TYPES.get(payload[pos:pos + 2], payload[pos:pos + 2].hex())
            counts.append(S7BlockCount(btype, _U16.unpack_from(payload, pos + 2)[0]))
        pdu.block_counts = counts[:MAX_LIST]
    elif sub == SUB_LIST_BLOCKS_OF_TYPE:
        if kind == UD_TYPE_REQUEST and n >= 2 and pdu.ud_transport_size:
            pdu.block_type = BLOCK_TYPES.get(payload[:2], payload[:2].hex())
        elif kind == UD_TYPE_RESPONSE and ok:
            pdu.block_numbers = [_U16.unpack_from(payload, pos)[0]
                                 for pos in range(0, n - 3, 4)]
    elif sub == SUB_BLOCK_INFO:
        if kind == UD_TYPE_REQUEST and n >= 8 and pdu.ud_transport_size:
            pdu.block_type = BLOCK_TYPES.get(payload[:2], payload[:2].hex())
            digits = payload[2:7]
            pdu.block_number = int(digits) if digits.isdigit() else None
            pdu.filesystem = FILESYSTEMS.get(chr(payload[7]), chr(payload[7]))
        elif kind == UD_TYPE_RESPONSE and ok:
            _block_info(pdu, payload)


def _block_info(pdu: S7Pdu, payload: bytes) -> None:
    if len(payload) < 8 + _BLOCKINFO.size:
        pdu.issue("s7comm.invalid_block_info", f"{len(payload)} bytes")
        return
    (_unknown, flags, lang, subtype, number, load_len, security, code_ts, iface_ts, _ssb,
     _add, _local, mc7_len, author, family, name, version, checksum) = _BLOCKINFO.unpack_from(
        payload, 8)
    del flags
    pdu.block_type = SUBBLOCK_TYPES.get(subtype, f"0x{subtype:02x}")
    pdu.block_number = number
    pdu.block_info = S7BlockInfo(
        language=BLOCK_LANGUAGES.get(lang, f"0x{lang:02x}"),
        load_memory_length=load_len, mc7_length=mc7_len,
        know_how_protected=security == 3,
        author=_text(author), family=_text(family), name=_text(name),
        version=f"{version >> 4}.{version & 0x0F}",
        code_timestamp=s7_timestamp(code_ts), interface_timestamp=s7_timestamp(iface_ts),
        checksum=checksum)


def _cyclic(pdu: S7Pdu, sub: int | None, kind: int | None, payload: bytes) -> None:
    if sub in (SUB_CYCLIC_TRANSFER, SUB_CYCLIC_CHANGE, SUB_CYCLIC_CHANGE_MODIFY):
        if len(payload) < 2:
            return
        count = payload[1]  # the first byte is reserved
        pdu.item_count = count
        if kind == UD_TYPE_REQUEST:
            if len(payload) < 4:
                pdu.issue("s7comm.invalid_parameter", "cyclic subscription without interval")
                return
            base = TIMEBASES.get(payload[2])
            if base is not None:
                pdu.cycle_time = round(base * payload[3], 3)
            pdu.items = parse_items(pdu, payload, 4, count)
        else:
            pdu.job_id = pdu.sequence
            pdu.values = parse_values(pdu, payload, 2, count)
    elif sub == SUB_CYCLIC_UNSUBSCRIBE and kind == UD_TYPE_REQUEST and len(payload) >= 2:
        pdu.job_id = payload[1]


def _text(raw: bytes) -> str | None:
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    text = raw.decode("latin-1").strip()
    return text or None


def _bcd(byte: int) -> int:
    hi, lo = byte >> 4, byte & 0x0F
    if hi > 9 or lo > 9:
        raise ValueError(byte)
    return hi * 10 + lo


def s7_date_and_time(raw: bytes) -> str | None:
    """The 10-byte clock of the time functions: reserved, century (ignored by PLCs), year,
    month, day, hour, minute, second (BCD), milliseconds (3 BCD digits) and weekday (1 digit).
    Years 90-99 are 19xx, 00-89 20xx (the STEP 7 DATE_AND_TIME rule). ISO 8601, or None."""
    try:
        year = _bcd(raw[2])
        year += 1900 if year >= 90 else 2000
        month, day = _bcd(raw[3]), _bcd(raw[4])
        hour, minute, second = _bcd(raw[5]), _bcd(raw[6]), _bcd(raw[7])
        millis = _bcd(raw[8]) * 10 + (raw[9] >> 4)
        if raw[9] >> 4 > 9:
            return None
        stamp = datetime.datetime(year, month, day, hour, minute, second, millis * 1000)
    except ValueError:
        return None
    return stamp.isoformat(timespec="milliseconds")


def s7_timestamp(raw: bytes) -> str | None:
    """The 6-byte block timestamp: milliseconds since midnight (4), days since 1984-01-01 (2)."""
    millis, days = struct.unpack(">IH", raw)
    if millis >= 86_400_000:
        return None
    stamp = _EPOCH_1984 + datetime.timedelta(days=days, milliseconds=millis)
    return stamp.isoformat(timespec="milliseconds")

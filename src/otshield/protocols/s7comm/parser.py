"""Pure parser of S7comm PDUs (protocol id 0x32): header, job / ack-data parameters and data.

Layout (as established by the Wireshark S7COMM dissector and Snap7; Siemens publishes none):

- Header, 10 bytes (12 for ack and ack-data): protocol id 0x32, ROSCTR (1 job, 2 ack, 3 ack-data,
  7 userdata), redundancy id (2), PDU reference (2), parameter length (2), data length (2), and
  for ack/ack-data error class (1) and error code (1).
- Parameter part, first byte the function. Read/write var: item count, then items
  ``0x12, spec length, syntax id, ...``; S7ANY items (syntax 0x10, length 10) are transport size,
  element count (2), DB number (2), area, address (3 bytes = byte << 3 | bit). An item of odd
  length is followed by a fill byte unless it is the last one.
- Data part of read responses and write requests: per item return code, transport size, length
  (2; in bits for transport sizes 3, 4, 5) and the value, with a fill byte after an odd-length
  value except the last. Write responses: one return code per item.
- Setup communication (0xF0): reserved, max AmQ calling (2), max AmQ called (2), PDU size (2).
- Block transfer (0x1A-0x1F): function status, 2 unknown bytes, upload id (4), then a length-
  prefixed file name ``_`` + block type (2 ASCII) + number (5 ASCII) + file system letter.
- PI service (0x28): 7 unknown bytes, parameter block length (2) and block, then the length-
  prefixed service name. PLC stop (0x29): 5 unknown bytes and the length-prefixed name.

Userdata (ROSCTR 7) is in :mod:`.userdata`. Anything the length fields contradict raises
``Malformed``; lesser inconsistencies (item counts) are returned in ``issues`` so the session can
report them and still emit the transaction.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.s7comm.constants import (
    BLOCK_TRANSFER_FUNCTIONS,
    BLOCK_TYPES,
    FILESYSTEMS,
    FUNC_DOWNLOAD_BLOCK,
    FUNC_DOWNLOAD_ENDED,
    FUNC_END_UPLOAD,
    FUNC_PI_SERVICE,
    FUNC_PLC_STOP,
    FUNC_READ_VAR,
    FUNC_REQUEST_DOWNLOAD,
    FUNC_SETUP_COMMUNICATION,
    FUNC_START_UPLOAD,
    FUNC_UPLOAD,
    FUNC_WRITE_VAR,
    FUNCTIONS,
    PI_BLOCK_LIST_SERVICES,
    PI_PASSWORD_ARGUMENT,
    PI_SINGLE_ARGUMENT_SERVICES,
    PROTOCOL_ID,
    ROSCTR_ACK,
    ROSCTR_ACK_DATA,
    ROSCTR_JOB,
    ROSCTR_USERDATA,
)
from otshield.protocols.s7comm.pdu import (
    MAX_ITEMS,
    MAX_LIST,
    S7Pdu,
    block_name,
    parse_items,
    parse_values,
)
from otshield.protocols.s7comm.userdata import parse_userdata

__all__ = ["parse_pdu"]

_HDR = struct.Struct(">BBHHHH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_SETUP = struct.Struct(">xHHH")


def parse_pdu(tsdu: bytes) -> S7Pdu:
    """Decode one whole S7comm PDU (a reassembled COTP TSDU starting with 0x32)."""
    n = len(tsdu)
    if n < 10:
        raise Malformed("s7comm.invalid_header", f"{n} bytes, header needs 10")
    proto, rosctr, _redid, pdu_ref, plen, dlen = _HDR.unpack_from(tsdu)
    if proto != PROTOCOL_ID:
        raise Malformed("s7comm.invalid_header", f"protocol id 0x{proto:02x}")
    if rosctr in (ROSCTR_ACK, ROSCTR_ACK_DATA):
        hlen = 12
    elif rosctr in (ROSCTR_JOB, ROSCTR_USERDATA):
        hlen = 10
    else:
        raise Malformed("s7comm.unknown_rosctr", f"ROSCTR {rosctr}")
    if n < hlen:
        raise Malformed("s7comm.invalid_header", f"{n} bytes, header needs {hlen}")
    if hlen + plen + dlen > n:
        raise Malformed("s7comm.invalid_length",
                        f"parameter {plen} + data {dlen} bytes, {n - hlen} present")
    pdu = S7Pdu(rosctr, pdu_ref)
    if hlen == 12:
        pdu.error_class = tsdu[10]
        pdu.error_code = tsdu[11]
    param = tsdu[hlen:hlen + plen]
    data = tsdu[hlen + plen:hlen + plen + dlen]
    if rosctr == ROSCTR_USERDATA:
        parse_userdata(pdu, param, data)
        return pdu
    if not param:
        return pdu  # ack, or an ack-data carrying only an error
    func = param[0]
    pdu.function = func
    if func not in FUNCTIONS:
        pdu.issue("s7comm.unknown_function", f"function 0x{func:02x}")
        return pdu
    if func in (FUNC_READ_VAR, FUNC_WRITE_VAR):
        _read_write(pdu, func, param, data)
    elif func == FUNC_SETUP_COMMUNICATION:
        if len(param) < 8:
            raise Malformed("s7comm.invalid_parameter", f"setup communication {len(param)} bytes")
        pdu.max_amq_calling, pdu.max_amq_called, pdu.pdu_size = _SETUP.unpack_from(param, 1)
    elif func in BLOCK_TRANSFER_FUNCTIONS:
        _block_transfer(pdu, func, param, data)
    elif func == FUNC_PI_SERVICE:
        if rosctr == ROSCTR_JOB:
            _pi_service(pdu, param)
        elif len(param) >= 2:
            pdu.more_data = bool(param[1] & 0x01)
    elif func == FUNC_PLC_STOP and rosctr == ROSCTR_JOB:
        _plc_stop(pdu, param)
    return pdu


# -- read / write var ------------------------------------------------------------------------------
def _read_write(pdu: S7Pdu, func: int, param: bytes, data: bytes) -> None:
    if len(param) < 2:
        raise Malformed("s7comm.invalid_parameter", "read/write without item count")
    count = param[1]
    pdu.item_count = count
    if pdu.rosctr == ROSCTR_JOB:
        pdu.items = parse_items(pdu, param, 2, count)
        if func == FUNC_WRITE_VAR:
            pdu.values = parse_values(pdu, data, 0, count, strict=True)
    elif pdu.rosctr == ROSCTR_ACK_DATA:
        if func == FUNC_READ_VAR:
            pdu.values = parse_values(pdu, data, 0, count, strict=True)
        else:
            if len(data) < count:
                pdu.issue("s7comm.item_count_mismatch",
                          f"{count} items, {len(data)} return codes")
            pdu.return_codes = list(data[:min(count, MAX_ITEMS)])


# -- block transfer --------------------------------------------------------------------------------
def _filename(pdu: S7Pdu, param: bytes, pos: int) -> int:
    """A length-prefixed file name at ``pos``; decodes the PLC block form ``_0A00001P``."""
    if pos >= len(param):
        raise Malformed("s7comm.invalid_parameter", "file name length missing")
    flen = param[pos]
    raw = param[pos + 1:pos + 1 + flen]
    if len(raw) < flen:
        raise Malformed("s7comm.invalid_parameter", f"file name of {flen} bytes truncated")
    text = raw.decode("latin-1")
    pdu.filename = text
    if flen == 9 and raw[0] in b"_$" and raw[1:3] in BLOCK_TYPES:
        pdu.file_id = text[0]
        pdu.block_type = BLOCK_TYPES[raw[1:3]]
        digits = raw[3:8]
        pdu.block_number = int(digits) if digits.isdigit() else None
        pdu.filesystem = FILESYSTEMS.get(text[8], text[8])
    return pos + 1 + flen


def _block_transfer(pdu: S7Pdu, func: int, param: bytes, data: bytes) -> None:
    n = len(param)
    if pdu.rosctr == ROSCTR_ACK_DATA:
        if n >= 2:
            pdu.more_data = bool(param[1] & 0x01)
        if func == FUNC_START_UPLOAD and n >= 8:
            pdu.upload_id = _U32.unpack_from(param, 4)[0]
            if n > 8:
                slen = param[8]
                text = param[9:9 + slen]
                pdu.upload_length = int(text) if text.isdigit() else None
        elif func in (FUNC_UPLOAD, FUNC_DOWNLOAD_BLOCK) and len(data) >= 4:
            # upload / download block answers carry the block bytes after a 4-byte head
            pdu.data_length = len(data) - 4
        return
    if pdu.rosctr != ROSCTR_JOB:
        return
    if n < 8:
        raise Malformed("s7comm.invalid_parameter", f"block function 0x{func:02x}, {n} bytes")
    pdu.more_data = bool(param[1] & 0x01)
    if func == FUNC_UPLOAD:
        pdu.upload_id = _U32.unpack_from(param, 4)[0]
        return
    if func == FUNC_END_UPLOAD:
        pdu.block_error = _U16.unpack_from(param, 2)[0] or None
        pdu.upload_id = _U32.unpack_from(param, 4)[0]
        return
    if func == FUNC_DOWNLOAD_ENDED:  # download ended: error code, then the file name
        pdu.block_error = _U16.unpack_from(param, 2)[0] or None
    elif func == FUNC_START_UPLOAD:
        pdu.upload_id = _U32.unpack_from(param, 4)[0]
    pos = _filename(pdu, param, 8)
    if func == FUNC_REQUEST_DOWNLOAD and pos < n:
        # part 2: length, an unknown character, load memory length and MC7 length, 6 digits each
        plen = param[pos]
        part = param[pos + 1:pos + 1 + plen]
        if len(part) >= 13:
            load, mc7 = part[1:7].strip(), part[7:13].strip()
            pdu.load_memory_length = int(load) if load.isdigit() else None
            pdu.mc7_length = int(mc7) if mc7.isdigit() else None


# -- PI service / PLC stop -------------------------------------------------------------------------
def _pi_service(pdu: S7Pdu, param: bytes) -> None:
    n = len(param)
    if n < 11:
        raise Malformed("s7comm.invalid_parameter", f"PI service parameter of {n} bytes")
    blen = _U16.unpack_from(param, 8)[0]
    block = param[10:10 + blen]
    pos = 10 + blen
    if len(block) < blen or pos >= n:
        raise Malformed("s7comm.invalid_parameter", f"PI parameter block of {blen} bytes truncated")
    slen = param[pos]
    name_raw = param[pos + 1:pos + 1 + slen]
    if len(name_raw) < slen:
        raise Malformed("s7comm.invalid_parameter", f"PI service name of {slen} bytes truncated")
    service = name_raw.decode("latin-1")
    pdu.pi_service = service
    if service in PI_BLOCK_LIST_SERVICES:
        _pi_blocks(pdu, block)
    elif service in PI_SINGLE_ARGUMENT_SERVICES:
        if block:
            pdu.pi_arguments = [block.decode("latin-1")]
    elif service.startswith("_N_"):
        _pi_strings(pdu, block, PI_PASSWORD_ARGUMENT.get(service))
    elif block:
        pdu.pi_arguments = [block.hex()]


def _pi_blocks(pdu: S7Pdu, block: bytes) -> None:
    """Block list of _INSE/_DELE: count, a 0 byte, then 8-char names (type 2, number 5, fs 1)."""
    if len(block) < 2:
        return
    count = block[0]
    blocks: list[str] = []
    pos = 2
    for _ in range(count):
        entry = block[pos:pos + 8]
        if len(entry) < 8:
            pdu.issue("s7comm.item_count_mismatch",
                      f"{count} blocks declared, {len(blocks)} present")
            break
        pos += 8
        btype = BLOCK_TYPES.get(entry[0:2])
        digits = entry[2:7]
        name = block_name(btype, int(digits) if digits.isdigit() else None)
        if name is None:
            name = entry.decode("latin-1")
        if len(blocks) < MAX_LIST:
            blocks.append(name)
        if pdu.filesystem is None:
            pdu.filesystem = FILESYSTEMS.get(chr(entry[7]), chr(entry[7]))
    pdu.blocks = blocks


def _pi_strings(pdu: S7Pdu, block: bytes, password_index: int | None) -> None:
    """NC PI arguments: length-prefixed strings, each padded to an even size."""
    args: list[str] = []
    pos = 0
    n = len(block)
    while pos < n and len(args) < MAX_LIST:
        slen = block[pos]
        text = block[pos + 1:pos + 1 + slen]
        pos += 1 + slen + (1 if slen % 2 == 0 else 0)
        if password_index is not None and len(args) == password_index:
            pdu.password_present = slen > 0
            args.append("<password>")
        else:
            args.append(text.decode("latin-1"))
    pdu.pi_arguments = args


def _plc_stop(pdu: S7Pdu, param: bytes) -> None:
    n = len(param)
    if n < 7:
        raise Malformed("s7comm.invalid_parameter", f"PLC stop parameter of {n} bytes")
    slen = param[6]
    name = param[7:7 + slen]
    if len(name) < slen:
        raise Malformed("s7comm.invalid_parameter", f"PLC stop service name of {slen} bytes")
    pdu.pi_service = name.decode("latin-1")

"""Decoding of S7 system status lists (SZL, German "System-Zustandsliste") read over userdata.

Siemens, "System Software for S7-300/400 System and Standard Functions", chapter 34 ("System
Status Lists"): an SZL answer is ``SZL-ID (2), index (2), record length (2), record count (2)``
followed by the records.

- An SZL-ID with extract number 0xF (``W#16#0Fxx``) asks for the header only: the count is
  sent, the records are not.
- SZL-ID ``W#16#xy11`` module identification, records of 28 bytes: index (2), MlfB order number
  (20 ASCII), BGTyp (2), Ausbg (2), Ausbe (2). Index 1 identifies the module, 6 the basic
  hardware, 7 the basic firmware (Ausbg ``'V'`` + major, Ausbe minor and patch), 0x81 the boot
  loader.
- SZL-ID ``W#16#xy1C`` component identification, records of 34 bytes: index (2) and 32 bytes
  whose meaning depends on the index (1 PLC name, 2 module name, 3 plant designation, 4 copyright,
  5 serial number, 7 module type name, 8 memory card serial number, 11 location designation; a
  text padded with NULs).
"""

from __future__ import annotations

import struct

from otshield.protocols.s7comm.constants import COMPONENT_FIELDS
from otshield.protocols.s7comm.events import S7ModuleIdent
from otshield.protocols.s7comm.pdu import MAX_LIST, S7Pdu

__all__ = ["decode_szl", "firmware_version"]

_MODULE = struct.Struct(">H20sHHH")
_MODULE_LEN = 28
_COMPONENT_LEN = 34
_U16 = struct.Struct(">H")


def _text(raw: bytes) -> str:
    """A fixed-size SZL text field: up to the first NUL, trailing blanks removed."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("latin-1").rstrip(" ")


def firmware_version(ausbg: int, ausbe: int) -> str | None:
    """``V3.2.7`` from the firmware record's version words (``'V'``, 3) and (2, 7)."""
    if ausbg >> 8 != 0x56:  # 'V'
        return None
    return f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"


def decode_szl(pdu: S7Pdu, payload: bytes) -> None:
    """Decode an SZL answer (the userdata payload of a read-SZL response) into ``pdu``."""
    if len(payload) < 8:
        pdu.issue("s7comm.invalid_szl", f"SZL answer of {len(payload)} bytes")
        return
    szl_id, index, rec_len, count = struct.unpack_from(">HHHH", payload)
    pdu.szl_id, pdu.szl_index, pdu.szl_record_count = szl_id, index, count
    records = payload[8:]
    if szl_id & 0x0F00 == 0x0F00:
        return  # extract 0xF: only the list header (record length and count) is sent
    if rec_len * count > len(records):
        pdu.issue("s7comm.invalid_szl",
                  f"SZL 0x{szl_id:04x}: {count} records of {rec_len} bytes, {len(records)} "
                  f"bytes present")
        count = len(records) // rec_len if rec_len else 0
    part = szl_id & 0xFF
    if part == 0x11 and rec_len == _MODULE_LEN:
        _module_identification(pdu, records, count)
    elif part == 0x1C and rec_len == _COMPONENT_LEN:
        _component_identification(pdu, records, count)


def _module_identification(pdu: S7Pdu, records: bytes, count: int) -> None:
    idents: list[S7ModuleIdent] = []
    identity = pdu.identity if pdu.identity is not None else {}
    for i in range(min(count, MAX_LIST)):
        index, mlfb, bgtyp, ausbg, ausbe = _MODULE.unpack_from(records, i * _MODULE_LEN)
        order = _text(mlfb) or None
        idents.append(S7ModuleIdent(index=index, order_number=order, module_type=bgtyp,
                                    ausbg=ausbg, ausbe=ausbe))
        if index == 1 and order:
            identity["order_number"] = order
        elif index == 7:
            version = firmware_version(ausbg, ausbe)
            if version:
                identity["firmware_version"] = version
    if idents:
        pdu.module_identification = idents
    if identity:
        pdu.identity = identity


def _component_identification(pdu: S7Pdu, records: bytes, count: int) -> None:
    identity = pdu.identity if pdu.identity is not None else {}
    for i in range(count):
        base = i * _COMPONENT_LEN
        index = _U16.unpack_from(records, base)[0]
        field = COMPONENT_FIELDS.get(index)
        if field is None:
            continue
        text = _text(records[base + 2:base + _COMPONENT_LEN])
        if text:
            identity[field] = text
    if identity:
        pdu.identity = identity

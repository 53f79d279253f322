"""Pure parsers for PROFINET IO RT frames (IEC 61158-6-10, 4.2 and 4.10).

The payload handed in starts at the FrameID (2 bytes, big-endian). Cyclic frames
(RT_CLASS_1/2/3) end with CycleCounter(2) DataStatus(1) TransferStatus(1) (4.7.2.1); an RTA
alarm PDU (FrameID 0xFC01/0xFE01) is::

    AlarmDstEndpoint(2) AlarmSrcEndpoint(2) PDUType(1: version<<4 | type) AddFlags(1)
    SendSeqNum(2) AckSeqNum(2) VarPartLen(2) VarPart

whose VarPart is an AlarmNotification/AlarmAck block (DATA) or a PNIOStatus (ERR).
Raises only :class:`~otshield.errors.Malformed` (``profinet_rt.*``).
"""

from __future__ import annotations

import bisect
import struct

from otshield.errors import Malformed
from otshield.protocols.profinet_rt.constants import (
    ALARM_BLOCKS,
    ALARM_TYPES,
    DATA_STATUS_BITS,
    FRAME_ID_RANGES,
    PNIO_ERROR_CODES,
    RTA_PDU_TYPES,
)

__all__ = ["TRAILER", "AlarmPdu", "classify", "data_status_names", "parse_alarm",
           "pnio_status_text", "trailer"]

_STARTS = [r[0] for r in FRAME_ID_RANGES]
TRAILER = struct.Struct("!HBB")
"""CycleCounter, DataStatus, TransferStatus: the last 4 bytes of a cyclic frame."""
_RTA = struct.Struct("!HHBBHHH")
_NOTIFY = struct.Struct("!HHBBHIHHIIH")  # header, type, API, slot, subslot, idents, specifier
_ACK = struct.Struct("!HHBBHIHHH")  # header, type, API, slot, subslot, specifier (+ PNIOStatus)
_BLOCK_HEAD = struct.Struct("!HH")


def classify(frame_id: int) -> tuple[str, bool]:
    """(class name, cyclic) of a FrameID."""
    r = FRAME_ID_RANGES[bisect.bisect_right(_STARTS, frame_id) - 1]
    return r[2], r[3]


def trailer(payload: bytes) -> tuple[int, int, int]:
    """(CycleCounter, DataStatus, TransferStatus) of a cyclic frame (payload from the FrameID)."""
    if len(payload) < 6:
        raise Malformed("profinet_rt.truncated",
                        f"cyclic frame of {len(payload)} bytes has no APDU status")
    return TRAILER.unpack_from(payload, len(payload) - 4)


def data_status_names(ds: int) -> tuple[str, ...]:
    """``("primary", "valid", "run", "ok")`` for the usual healthy 0x35."""
    return tuple(on if ds & mask else off for mask, on, off in DATA_STATUS_BITS)


def pnio_status_text(b: bytes) -> str:
    """PNIOStatus (ErrorCode ErrorDecode ErrorCode1 ErrorCode2) as ``0xcf81fd00`` plus the
    ErrorCode's meaning (``rta_error``)."""
    name = PNIO_ERROR_CODES.get(b[0], "unknown")
    return f"0x{b[:4].hex()} {name}"


class AlarmPdu:
    """One RTA PDU on an alarm FrameID."""

    __slots__ = ("alarm_type", "api", "block", "dst_endpoint", "pdu_type", "pnio_status",
                 "send_seq", "slot", "specifier", "src_endpoint", "subslot")

    def __init__(self, pdu_type: str, dst: int, src: int, send_seq: int) -> None:
        self.pdu_type = pdu_type
        self.dst_endpoint = dst
        self.src_endpoint = src
        self.send_seq = send_seq
        self.block: str | None = None
        self.alarm_type: str | None = None
        self.api: int | None = None
        self.slot: int | None = None
        self.subslot: int | None = None
        self.specifier: int | None = None
        self.pnio_status: str | None = None


def parse_alarm(payload: bytes) -> AlarmPdu:
    """Decode an RTA PDU (payload from the FrameID)."""
    if len(payload) < 14:
        raise Malformed("profinet_rt.truncated", f"alarm PDU of {len(payload)} bytes")
    dst, src, ptype, _flags, send_seq, _ack, var_len = _RTA.unpack_from(payload, 2)
    pdu = AlarmPdu(RTA_PDU_TYPES.get(ptype & 0x0F, f"type_{ptype & 0x0F}"), dst, src, send_seq)
    var = payload[14:14 + var_len]
    if len(var) < var_len:
        raise Malformed("profinet_rt.truncated",
                        f"alarm VarPartLen {var_len} exceeds the {len(payload) - 14} bytes")
    if pdu.pdu_type == "err":
        if var_len < 4:
            raise Malformed("profinet_rt.truncated", "RTA ERR PDU without PNIOStatus")
        pdu.pnio_status = pnio_status_text(var)
    elif pdu.pdu_type == "data" and var_len >= 4:
        btype, _blen = _BLOCK_HEAD.unpack_from(var)
        pdu.block = ALARM_BLOCKS.get(btype, f"block_0x{btype:04x}")
        if btype in ALARM_BLOCKS:
            ack = bool(btype & 0x8000)
            need = _ACK.size + 4 if ack else _NOTIFY.size
            if len(var) < need:
                raise Malformed("profinet_rt.truncated", f"{pdu.block} block too short")
            if ack:
                (_, _, _, _, atype, pdu.api, pdu.slot, pdu.subslot,
                 pdu.specifier) = _ACK.unpack_from(var)
                pdu.pnio_status = pnio_status_text(var[_ACK.size:])
            else:
                (_, _, _, _, atype, pdu.api, pdu.slot, pdu.subslot, _, _,
                 pdu.specifier) = _NOTIFY.unpack_from(var)
            pdu.alarm_type = ALARM_TYPES.get(atype, f"type_0x{atype:04x}")
    return pdu

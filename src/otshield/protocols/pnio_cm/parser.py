"""Pure parsers for PROFINET IO CM over DCE/RPC connectionless (IEC 61158-6-10 4.10.3 and 5.1;
DCE 1.1 RPC 12.5 "Connectionless RPC PDUs").

A datagram is an 80-byte CL header (integers in the byte order of its ``drep`` field) and a
body. A PNIO body is NDR: requests start with ArgsMaximum, ArgsLength, and a conformant array
(MaximumCount, Offset, ActualCount); responses with PNIOStatus instead of ArgsMaximum. The array
holds PNIO blocks, always big-endian: BlockType(2) BlockLength(2) BlockVersion(2) content.
Raises only :class:`~otshield.errors.Malformed` (``pnio_cm.*``).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.netstack import format_mac
from otshield.protocols.pnio_cm.constants import (
    AR_TYPES,
    BLOCK_AR_REQ,
    BLOCK_AR_RES,
    BLOCK_IM0,
    BLOCK_IOCR_REQ,
    BLOCK_READ_REQ,
    BLOCK_READ_RES,
    BLOCK_WRITE_REQ,
    BLOCK_WRITE_RES,
    CONTROL_BLOCKS,
    CONTROL_COMMANDS,
    INTERFACES,
    PNIO_INTERFACES,
)

__all__ = ["HEADER_SIZE", "ImZero", "PnioBody", "RpcHeader", "format_uuid", "parse_body",
           "parse_header", "pnio_status", "probe"]

HEADER_SIZE = 80
MAX_BLOCKS = 256
_HEAD = {False: struct.Struct(">16s16s16sIIIHHHHHBB"), True: struct.Struct("<16s16s16sIIIHHHHHBB")}
_UUID = {False: struct.Struct(">IHH8s"), True: struct.Struct("<IHH8s")}
_NDR = {False: struct.Struct(">IIIII"), True: struct.Struct("<IIIII")}
_BLK = struct.Struct(">HH")
_AR_REQ = struct.Struct(">H16sH6s16sIHHH")
_AR_RES = struct.Struct(">H16sH6sH")
_RW = struct.Struct(">H16sIHH2sHI")
_CTRL = struct.Struct(">2s16sH2sHH")
_IM0 = struct.Struct(">BB20s16sH1sBBBHHHHH")


def format_uuid(b: bytes, little: bool) -> str:
    """A 16-byte UUID in DCE encoding (first three fields in ``drep`` order) as text."""
    a, b_, c, d = _UUID[little].unpack(b)
    return f"{a:08x}-{b_:04x}-{c:04x}-{d[:2].hex()}-{d[2:].hex()}"


def pnio_status(v: int) -> str:
    """PNIOStatus (ErrorCode, ErrorDecode, ErrorCode1, ErrorCode2) as ``0xdb814004``."""
    return f"0x{v:08x}"


class RpcHeader:
    """The CL DCE/RPC header fields PNIO needs."""

    __slots__ = ("activity", "fragment", "fragnum", "interface", "interface_name",
                 "last_fragment", "little", "object", "opnum", "ptype", "seq")

    def __init__(self, little: bool, ptype: int, flags1: int, obj: str, iface: str,
                 activity: str, seq: int, opnum: int, fragnum: int) -> None:
        self.little = little
        self.ptype = ptype
        self.fragment = bool(flags1 & 0x04)
        self.last_fragment = bool(flags1 & 0x02)
        self.object = obj
        self.interface = iface
        self.interface_name = INTERFACES.get(iface)
        self.activity = activity
        self.seq = seq
        self.opnum = opnum
        self.fragnum = fragnum


def parse_header(d: bytes) -> tuple[RpcHeader, bytes]:
    """The CL header and the body (``len`` bytes) of one datagram."""
    if len(d) < HEADER_SIZE:
        raise Malformed("pnio_cm.truncated", f"{len(d)} bytes: no 80-byte DCE/RPC CL header")
    if d[0] != 4:
        raise Malformed("pnio_cm.bad_header", f"RPC version {d[0]} (connectionless is 4)")
    little = bool(d[4] & 0x10)
    (obj, iface, act, _boot, _ifver, seq, opnum, _ihint, _ahint, blen, fragnum, _auth,
     _serial) = _HEAD[little].unpack_from(d, 8)
    body = d[HEADER_SIZE:HEADER_SIZE + blen]
    if len(body) < blen:
        raise Malformed("pnio_cm.truncated",
                        f"body length {blen} exceeds the {len(d) - HEADER_SIZE} bytes present")
    h = RpcHeader(little, d[1], d[2], format_uuid(obj, little), format_uuid(iface, little),
                  format_uuid(act, little), seq, opnum, fragnum)
    return h, body


def probe(d: bytes, from_client: bool) -> bool:
    """A CL DCE/RPC datagram for one of the four PNIO interfaces."""
    if len(d) < HEADER_SIZE or d[0] != 4 or d[1] > 10:
        return False
    return format_uuid(d[24:40], bool(d[4] & 0x10)) in PNIO_INTERFACES


class ImZero:
    """I&M0 record (5.2.31): the device's identity."""

    __slots__ = ("hardware_revision", "order_id", "profile_id", "serial_number",
                 "software_revision", "vendor_id")

    def __init__(self, v: bytes) -> None:
        (vh, vl, order, serial, self.hardware_revision, prefix, f, b, i, _counter,
         self.profile_id, _pst, _ver, _sup) = _IM0.unpack_from(v)
        self.vendor_id = vh << 8 | vl
        self.order_id = order.decode("latin-1").strip(" \x00")
        self.serial_number = serial.decode("latin-1").strip(" \x00")
        self.software_revision = f"{prefix.decode('latin-1')}{f}.{b}.{i}"


class PnioBody:
    """What a PNIO request or response body says."""

    __slots__ = (
        "api",
        "ar_type",
        "ar_uuid",
        "blocks",
        "control_command",
        "im0",
        "index",
        "initiator_mac",
        "iocr_count",
        "record_length",
        "rw_status",
        "session_key",
        "slot",
        "station_name",
        "status",
        "subslot",
        "truncated_blocks",
    )

    def __init__(self) -> None:
        self.status: int | None = None
        self.blocks: list[int] = []
        self.truncated_blocks = False
        self.ar_type: str | None = None
        self.ar_uuid: str | None = None
        self.session_key: int | None = None
        self.initiator_mac: str | None = None
        self.station_name: str | None = None
        self.iocr_count = 0
        self.api: int | None = None
        self.slot: int | None = None
        self.subslot: int | None = None
        self.index: int | None = None
        self.record_length: int | None = None
        self.rw_status: int | None = None
        self.control_command: tuple[str, ...] | None = None
        self.im0: ImZero | None = None


def parse_body(body: bytes, little: bool, response: bool) -> PnioBody:
    """Decode the NDR arguments and PNIO blocks of a request or response body."""
    if len(body) < 20:
        raise Malformed("pnio_cm.truncated", f"PNIO body of {len(body)} bytes (NDR header is 20)")
    first, args_len, _max, _off, actual = _NDR[little].unpack_from(body)
    out = PnioBody()
    if response:
        out.status = first
    end = 20 + min(args_len, actual)
    if end > len(body):
        raise Malformed("pnio_cm.bad_ndr",
                        f"ArgsLength {args_len} exceeds the {len(body) - 20} bytes present")
    off = 20
    while off + 6 <= end:
        btype, blen = _BLK.unpack_from(body, off)
        bend = off + 4 + blen
        if blen < 2 or bend > end:
            raise Malformed("pnio_cm.bad_block",
                            f"block 0x{btype:04x} length {blen} overruns the arguments")
        if len(out.blocks) >= MAX_BLOCKS:
            out.truncated_blocks = True
            break
        out.blocks.append(btype)
        v = body[off + 6:bend]  # content after BlockVersion
        if btype in (BLOCK_READ_REQ, BLOCK_WRITE_REQ, BLOCK_READ_RES, BLOCK_WRITE_RES):
            _record(out, btype, v, body[bend:end])
            break  # record data (not blocks) follows a read/write header
        _block(out, btype, v)
        off = bend
    else:
        if off < end:
            raise Malformed("pnio_cm.bad_block",
                            f"{end - off} bytes after the last block cannot hold a block header")
    return out


def _need(v: bytes, n: int, what: str) -> None:
    if len(v) < n:
        raise Malformed("pnio_cm.bad_block", f"{what} block needs {n} bytes, got {len(v)}")


def _block(out: PnioBody, btype: int, v: bytes) -> None:
    if btype == BLOCK_AR_REQ:
        _need(v, _AR_REQ.size, "ARBlockReq")
        (art, aru, out.session_key, mac, _obj, _props, _tf, _port,
         nlen) = _AR_REQ.unpack_from(v)
        out.ar_type = AR_TYPES.get(art, f"0x{art:04x}")
        out.ar_uuid = format_uuid(aru, False)
        out.initiator_mac = format_mac(mac)
        out.station_name = v[_AR_REQ.size:_AR_REQ.size + min(nlen, 240)].decode("latin-1")
    elif btype == BLOCK_AR_RES:
        _need(v, _AR_RES.size, "ARBlockRes")
        art, aru, out.session_key, _mac, _port = _AR_RES.unpack_from(v)
        out.ar_type = AR_TYPES.get(art, f"0x{art:04x}")
        out.ar_uuid = format_uuid(aru, False)
    elif btype == BLOCK_IOCR_REQ:
        out.iocr_count += 1
    elif btype in CONTROL_BLOCKS:
        _need(v, _CTRL.size, "control")
        _r, aru, out.session_key, _r2, cmd, _props = _CTRL.unpack_from(v)
        out.ar_uuid = format_uuid(aru, False)
        out.control_command = tuple(n for bit, n in CONTROL_COMMANDS if cmd & bit)


def _record(out: PnioBody, btype: int, v: bytes, data: bytes) -> None:
    _need(v, _RW.size, "read/write header")
    (_seq, aru, out.api, out.slot, out.subslot, _pad, out.index,
     out.record_length) = _RW.unpack_from(v)
    out.ar_uuid = format_uuid(aru, False)
    if btype == BLOCK_WRITE_RES and len(v) >= _RW.size + 8:
        (out.rw_status,) = struct.unpack_from(">I", v, _RW.size + 4)
    if btype == BLOCK_READ_RES and out.index == 0xAFF0 and len(data) >= 6 + _IM0.size:
        btype2, _blen = _BLK.unpack_from(data)
        if btype2 == BLOCK_IM0:
            out.im0 = ImZero(data[6:])

"""Industrial protocol exchanges the scenarios write: S7comm engineering, Modbus, ENIP, IEC 104.

Each helper writes requests and their answers on a :class:`TcpConversation` (or returns a UDP
payload), with the encodings tshark and otshield both dissect. References:
S7comm as documented by the Wireshark dissector (packet-s7comm.c: job/ack-data headers, PI
service, PLC stop, request download / download block / download ended, userdata SZL reads)
over COTP (ISO 8073) and TPKT (RFC 1006); Modbus Application Protocol V1.1b3 (6.3, 6.5, 6.11,
6.12, 6.21); EtherNet/IP (ODVA CIP Vol. 2, 2-4.2 ListIdentity); IEC 60870-5-104 (5.1 APCI,
select-before-operate of IEC 60870-5-101 7.2.6.15/16 and 7.2.6.17 command qualifiers).
"""

from __future__ import annotations

import ipaddress
import random
import struct

from otshield.demo import cotp_dt, enip, modbus, s7, tpkt
from otshield.demo_grid import Iec104Link, asdu, ioa
from otshield.pcapwriter import TcpConversation

__all__ = [
    "ModbusClient",
    "block_file",
    "iec104_command",
    "list_identity_reply",
    "list_identity_request",
    "s7_connect",
    "s7_download",
    "s7_read_szl",
    "s7_start",
    "s7_stop",
    "s7_upload",
    "s7_write_real",
    "szl_records_identity",
]

_S7_OK = b"\x00\x00"
"""Error class and code of a successful ack-data."""
BLOCK_CODES = {"OB": b"08", "DB": b"0A", "SDB": b"0B", "FC": b"0C", "SFC": b"0D", "FB": b"0E",
               "SFB": b"0F"}
"""Block type -> the two ASCII characters of S7 file names (``_0800001P`` is OB1)."""


# -- S7comm ---------------------------------------------------------------------------------------
def s7_connect(conv: TcpConversation, rack_slot: int = 0x02) -> None:
    """COTP connection (TSAP 0x0100 -> 0x01xx: PG connection to rack 0 slot 2) and the S7
    setup communication (one job at a time, PDU 480 bytes)."""
    tsaps = b"\xc1\x02\x01\x00\xc2\x02\x01" + bytes([rack_slot]) + b"\xc0\x01\x0a"
    conv.send(True, tpkt(b"\x11\xe0\x00\x00\x00\x01\x00" + tsaps))
    conv.send(False, tpkt(b"\x11\xd0\x00\x01\x00\x01\x00" + tsaps))
    conv.send(True, cotp_dt(s7(1, 1, b"\xf0\x00\x00\x01\x00\x01\x01\xe0")))
    conv.send(False, cotp_dt(s7(3, 1, b"\xf0\x00\x00\x01\x00\x01\x01\xe0", err=_S7_OK)))


def szl_records_identity(order: str, name: str, serial: str) -> dict[int, tuple[int, list[bytes]]]:
    """SZL answers that say who the PLC is: 0x0011 (module identification: order number and
    versions), 0x001C (component identification: station name, module name, serial number)
    and 0x0424 (the CPU's current mode). id -> (record length, records)."""
    order20 = order.encode("ascii")[:20].ljust(20)
    return {
        0x0011: (28, [struct.pack(">H20sHHH", 1, order20, 0, 0xC0, 0x0302),
                      struct.pack(">H20sHHH", 6, order20, 0, 0xC0, 0x0302),
                      struct.pack(">H20sHHH", 7, order20, 0, 0xC0, 0x0302)]),
        0x001C: (34, [struct.pack(">H32s", 1, name.encode("ascii")[:32]),
                      struct.pack(">H32s", 2, b"CPU 315-2 PN/DP"),
                      struct.pack(">H32s", 5, serial.encode("ascii")[:32])]),
        0x0424: (20, [bytes.fromhex("5100ff0800080000") + bytes(12)]),
    }


def s7_read_szl(conv: TcpConversation, seq: int, szl_id: int, record_length: int,
                records: list[bytes], index: int = 0) -> None:
    """One userdata Read SZL request and its answer."""
    ref = 0x100 + seq
    request = b"\x00\x01\x12\x04\x11\x44\x01\x00"  # userdata request, CPU functions, read SZL
    conv.send(True, cotp_dt(s7(7, ref, request,
                               b"\xff\x09\x00\x04" + struct.pack(">HH", szl_id, index))))
    answer = struct.pack(">HHHH", szl_id, index, record_length, len(records)) + b"".join(records)
    response = b"\x00\x01\x12\x08\x12\x84\x01" + bytes([seq & 0xFF]) + b"\x00\x00\x00\x00"
    conv.send(False, cotp_dt(s7(7, ref, response,
                                b"\xff\x09" + struct.pack(">H", len(answer)) + answer)))


def s7_stop(conv: TcpConversation, ref: int) -> None:
    """PLC STOP job (service P_PROGRAM) and its acknowledgement."""
    conv.send(True, cotp_dt(s7(1, ref, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM")))
    conv.send(False, cotp_dt(s7(3, ref, b"\x29", err=_S7_OK)))


def s7_write_real(conv: TcpConversation, ref: int, db: int, offset: int, value: float) -> None:
    """Write Var of one REAL at ``DB<db>.DBD<offset>`` and the PLC's success return code."""
    item = struct.pack(">BBBBHHB", 0x12, 0x0A, 0x10, 0x08, 1, db, 0x84) + (offset * 8).to_bytes(
        3, "big")
    conv.send(True, cotp_dt(s7(1, ref, b"\x05\x01" + item, b"\x00\x07\x00\x04"
                               + struct.pack(">f", value))))
    conv.send(False, cotp_dt(s7(3, ref, b"\x05\x01", b"\xff", err=_S7_OK)))


def _pi(service: bytes, block: bytes = b"") -> bytes:
    return b"\x28" + bytes(6) + b"\xfd" + struct.pack(">H", len(block)) + block + bytes(
        [len(service)]) + service


def s7_start(conv: TcpConversation, ref: int) -> None:
    """PI service P_PROGRAM (warm restart: the CPU goes to RUN) and its acknowledgement."""
    conv.send(True, cotp_dt(s7(1, ref, _pi(b"P_PROGRAM"))))
    conv.send(False, cotp_dt(s7(3, ref, b"\x28", err=_S7_OK)))


def block_file(block: str, number: int, filesystem: str = "P") -> bytes:
    """``_0800001P``: the file name of a block (type, 5-digit number, file system)."""
    return b"_" + BLOCK_CODES[block] + f"{number:05d}".encode("ascii") + filesystem.encode("ascii")


def _mc7_block(block: str, number: int, body: bytes) -> bytes:
    """A block as the PLC stores it: the MC7 header ('pp', version, attributes, language,
    block type, number, length), then the code."""
    kind = {"OB": 0x08, "DB": 0x0A, "FC": 0x0C, "FB": 0x0E}.get(block, 0x08)
    length = 36 + len(body)
    return struct.pack(">2sBBBBHI", b"pp", 1, 1, 5, kind, number, length) + bytes(24) + body


def s7_download(conv: TcpConversation, rnd: random.Random, ref: int, block: str,
                number: int, size: int = 360) -> int:
    """Load a block into the PLC and activate it: Request Download (client job), Download
    Block jobs sent by the PLC and answered with the block's bytes (200 at a time), Download
    Ended (PLC job), then the PI service _INSE. Returns the next free PDU reference."""
    name = block_file(block, number)
    code = _mc7_block(block, number, rnd.randbytes(max(0, size - 36)))
    sizes = f"1{len(code) + 40:06d}{len(code):06d}".encode("ascii")
    param = b"\x1a\x00\x01\x00\x00\x00\x00\x00" + bytes([len(name)]) + name + bytes(
        [len(sizes)]) + sizes
    conv.send(True, cotp_dt(s7(1, ref, param)))
    conv.send(False, cotp_dt(s7(3, ref, b"\x1a", err=_S7_OK)))
    plc_ref = 0x300 + (ref & 0xFF)
    for offset in range(0, len(code), 200):
        chunk = code[offset:offset + 200]
        more = offset + 200 < len(code)
        conv.send(False, cotp_dt(s7(1, plc_ref, b"\x1b\x00\x01\x00\x00\x00\x00\x00"
                                    + bytes([len(name)]) + name)))
        conv.send(True, cotp_dt(s7(3, plc_ref, bytes([0x1B, 0x01 if more else 0x00]),
                                   struct.pack(">HH", len(chunk), 0x00FB) + chunk, err=_S7_OK)))
        plc_ref += 1
    conv.send(False, cotp_dt(s7(1, plc_ref, b"\x1c\x00\x00\x00\x00\x00\x00\x00"
                                + bytes([len(name)]) + name)))
    conv.send(True, cotp_dt(s7(3, plc_ref, b"\x1c", err=_S7_OK)))
    ref += 1
    conv.send(True, cotp_dt(s7(1, ref, _pi(b"_INSE", b"\x01\x00" + name[1:]))))
    conv.send(False, cotp_dt(s7(3, ref, b"\x28", err=_S7_OK)))
    return ref + 1


def s7_upload(conv: TcpConversation, rnd: random.Random, ref: int, block: str, number: int,
              size: int = 300) -> int:
    """Read a block out of the PLC: Start Upload, Upload (200 bytes at a time), End Upload.
    Returns the next free PDU reference."""
    name = block_file(block, number, "A")
    code = _mc7_block(block, number, rnd.randbytes(max(0, size - 36)))
    upload_id = 7
    conv.send(True, cotp_dt(s7(1, ref, b"\x1d\x00\x00\x00\x00\x00\x00\x00" + bytes([len(name)])
                               + name)))
    length = f"{len(code):07d}".encode("ascii")
    conv.send(False, cotp_dt(s7(3, ref, b"\x1d\x00\x01\x00" + struct.pack(">I", upload_id)
                                + bytes([len(length)]) + length, err=_S7_OK)))
    for offset in range(0, len(code), 200):
        ref += 1
        chunk = code[offset:offset + 200]
        more = offset + 200 < len(code)
        conv.send(True, cotp_dt(s7(1, ref, b"\x1e\x00\x00\x00" + struct.pack(">I", upload_id))))
        conv.send(False, cotp_dt(s7(3, ref, bytes([0x1E, 0x01 if more else 0x00]),
                                    struct.pack(">HH", len(chunk), 0x00FB) + chunk, err=_S7_OK)))
    ref += 1
    conv.send(True, cotp_dt(s7(1, ref, b"\x1f\x00\x00\x00" + struct.pack(">I", upload_id))))
    conv.send(False, cotp_dt(s7(3, ref, b"\x1f", err=_S7_OK)))
    return ref + 1


# -- Modbus/TCP -----------------------------------------------------------------------------------
class ModbusClient:
    """Requests and answers on one Modbus/TCP connection; transaction ids counted here."""

    def __init__(self, conv: TcpConversation, unit: int, tid: int = 0) -> None:
        self.conv = conv
        self.unit = unit
        self.tid = tid

    def _next(self) -> int:
        self.tid = (self.tid + 1) & 0xFFFF
        return self.tid

    def exchange(self, request: bytes, response: bytes | None, unit: int | None = None,
                 gap: float = 0.001) -> None:
        """One request PDU and its answer (None: the device does not answer)."""
        tid, unit = self._next(), self.unit if unit is None else unit
        self.conv.send(True, modbus(tid, unit, request), ack=response is None, gap_after=gap)
        if response is not None:
            self.conv.send(False, modbus(tid, unit, response), gap_after=gap)

    def read_holding(self, address: int, values: list[int], function: int = 3) -> None:
        self.exchange(struct.pack(">BHH", function, address, len(values)),
                      bytes([function, 2 * len(values)])
                      + struct.pack(f">{len(values)}H", *values))

    def write_registers(self, address: int, values: list[int]) -> None:
        """FC 16: write multiple registers; the answer echoes address and quantity."""
        n = len(values)
        self.exchange(struct.pack(f">BHHB{n}H", 16, address, n, 2 * n, *values),
                      struct.pack(">BHH", 16, address, n))

    def write_register(self, address: int, value: int) -> None:
        """FC 6: write single register (the answer echoes the request)."""
        pdu = struct.pack(">BHH", 6, address, value)
        self.exchange(pdu, pdu)

    def write_coil(self, address: int, on: bool) -> None:
        """FC 5: write single coil (0xFF00 on, 0x0000 off; echoed)."""
        pdu = struct.pack(">BHH", 5, address, 0xFF00 if on else 0)
        self.exchange(pdu, pdu)

    def exception(self, request: bytes, code: int, unit: int | None = None) -> None:
        """A request the device refuses with an exception response."""
        self.exchange(request, bytes([request[0] | 0x80, code]), unit=unit)


# -- EtherNet/IP ListIdentity ---------------------------------------------------------------------
def list_identity_request() -> bytes:
    """ListIdentity (command 0x63): a bare encapsulation header."""
    return enip(0x63, 0, b"", context=bytes(8))


def list_identity_reply(ip: str, vendor: int, device_type: int, product_code: int,
                        revision: tuple[int, int], serial: int, name: str) -> bytes:
    """The identity item a device answers with (CIP Vol. 2 Table 2-4.4)."""
    sockaddr = struct.pack(">hH4s8s", 2, 44818, ipaddress.IPv4Address(ip).packed, bytes(8))
    raw = name.encode("ascii")
    body = (struct.pack("<H", 1) + sockaddr
            + struct.pack("<HHHBBHI", vendor, device_type, product_code, revision[0],
                          revision[1], 0x0030, serial) + bytes([len(raw)]) + raw + b"\x03")
    return enip(0x63, 0, struct.pack("<HHH", 1, 0x0C, len(body)) + body, context=bytes(8))


# -- IEC 60870-5-104 ------------------------------------------------------------------------------
def iec104_command(link: Iec104Link, type_id: int, address: int, state: int, ca: int,
                   known: bool = True) -> None:
    """Select-before-operate of one single (45) or double (46) command: select activation,
    its confirmation, execute activation, confirmation and termination. An address the
    station does not have is refused: a negative confirmation with cause 47 (unknown IOA)."""
    for select in (True, False):
        qualifier = bytes([(0x80 if select else 0x00) | state])
        obj = [ioa(address) + qualifier]
        link.send(True, asdu(type_id, 6, obj, ca=ca))
        if not known:
            link.send(False, asdu(type_id, 47, obj, ca=ca, negative=True))
            return
        link.send(False, asdu(type_id, 7, obj, ca=ca))
    link.send(False, asdu(type_id, 10, [ioa(address) + bytes([state])], ca=ca))

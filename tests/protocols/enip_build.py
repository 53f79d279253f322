"""Builders for EtherNet/IP and CIP test messages, written from the ODVA specification (Vol. 1
and 2), plus a decode helper that runs the engine with the enip decoder alone."""

from __future__ import annotations

import struct
from pathlib import Path

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.events import Event
from otshield.protocols.enip import SPEC
from support import decode_only

CTX = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def decode_enip(path: Path | str) -> list[Event]:
    """Every event of a capture, decoded with only the EtherNet/IP decoder registered."""
    return decode_only(path, SPEC)


# -- encapsulation ---------------------------------------------------------------------------------

def encap(command: int, data: bytes = b"", session: int = 0, status: int = 0,
          context: bytes = CTX, options: int = 0) -> bytes:
    """24-byte header (command, length, session, status, context, options) + data."""
    return struct.pack("<HHII8sI", command, len(data), session, status, context, options) + data


def cpf(*items: tuple[int, bytes]) -> bytes:
    """Common Packet Format: item count, then (type id, length, data) items."""
    out = struct.pack("<H", len(items))
    for type_id, data in items:
        out += struct.pack("<HH", type_id, len(data)) + data
    return out


def rr_data(*items: tuple[int, bytes], timeout: int = 10) -> bytes:
    """SendRRData / SendUnitData data: interface handle 0, timeout, CPF."""
    return struct.pack("<IH", 0, timeout) + cpf(*items)


def send_rr(cip: bytes, session: int = 0x11223344, context: bytes = CTX,
            status: int = 0) -> bytes:
    """Unconnected CIP message: null address item + unconnected data item."""
    return encap(0x6F, rr_data((0x0000, b""), (0x00B2, cip)), session, status, context)


def send_unit(cip: bytes, conn_id: int, seq: int, session: int = 0x11223344) -> bytes:
    """Connected CIP message: connected address item + connected data item (sequence count)."""
    return encap(0x70, rr_data((0x00A1, struct.pack("<I", conn_id)),
                               (0x00B1, struct.pack("<H", seq) + cip), timeout=0),
                 session, 0, bytes(8))


def identity_item(vendor: int, devtype: int, product: int, major: int, minor: int, status: int,
                  serial: int, name: bytes, state: int | None, ip: str = "10.0.0.5",
                  port: int = 44818) -> bytes:
    """ListIdentity item: encapsulation version 1, sockaddr (big-endian), identity attributes."""
    sock = struct.pack(">HH4s8s", 2, port, bytes(int(x) for x in ip.split(".")), bytes(8))
    body = struct.pack("<HHHBBHI", vendor, devtype, product, major, minor, status, serial)
    body += bytes([len(name)]) + name + (bytes([state]) if state is not None else b"")
    return struct.pack("<H", 1) + sock + body


# -- CIP -------------------------------------------------------------------------------------------

def logical(class_id: int | None = None, instance: int | None = None,
            attribute: int | None = None) -> bytes:
    """8-bit or 16-bit logical segments (0x20/0x21 class, 0x24/0x25 instance, 0x30/0x31
    attribute)."""
    out = b""
    for base, value in ((0x20, class_id), (0x24, instance), (0x30, attribute)):
        if value is None:
            continue
        if value < 0x100:
            out += bytes([base, value])
        else:
            out += bytes([base | 1, 0]) + struct.pack("<H", value)
    return out


def symbol(name: str, *subscripts: int) -> bytes:
    """ANSI extended symbol segment (0x91, length, characters, pad) + 8-bit member segments."""
    raw = name.encode()
    out = bytes([0x91, len(raw)]) + raw + (b"\0" if len(raw) & 1 else b"")
    for s in subscripts:
        out += bytes([0x28, s]) if s < 0x100 else bytes([0x29, 0]) + struct.pack("<H", s)
    return out


def request(service: int, path: bytes, data: bytes = b"") -> bytes:
    """Message Router request: service, path size in words, path, data."""
    assert len(path) % 2 == 0
    return bytes([service, len(path) // 2]) + path + data


def reply(service: int, status: int = 0, data: bytes = b"",
          extended: tuple[int, ...] = ()) -> bytes:
    """Message Router reply: service | 0x80, reserved, general status, additional status."""
    return (bytes([service | 0x80, 0, status, len(extended)])
            + b"".join(struct.pack("<H", x) for x in extended) + data)


def multiple(messages: list[bytes]) -> bytes:
    """Multiple_Service_Packet body: count, offsets from the count field, messages."""
    offset = 2 + 2 * len(messages)
    table = b""
    for m in messages:
        table += struct.pack("<H", offset)
        offset += len(m)
    return struct.pack("<H", len(messages)) + table + b"".join(messages)


def unconnected_send(embedded: bytes, route: bytes = b"\x01\x00", tick: int = 0x0A,
                     ticks: int = 0x0E) -> bytes:
    """Unconnected_Send request to the Connection Manager (class 6, instance 1)."""
    body = struct.pack("<BBH", tick, ticks, len(embedded)) + embedded
    if len(embedded) & 1:
        body += b"\0"
    body += bytes([len(route) // 2, 0]) + route
    return request(0x52, logical(0x06, 0x01), body)


def forward_open(o2t: int, t2o: int, serial: int, vendor: int, orig_serial: int,
                 o2t_rpi: int, t2o_rpi: int, o2t_params: int, t2o_params: int,
                 trigger: int, path: bytes, large: bool = False) -> bytes:
    """Forward_Open (0x54) or Large_Forward_Open (0x5B) request body."""
    fmt = "<BBIIHHIB3xIIIIBB" if large else "<BBIIHHIB3xIHIHBB"
    body = struct.pack(fmt, 0x0A, 0x0E, o2t, t2o, serial, vendor, orig_serial, 3, o2t_rpi,
                       o2t_params, t2o_rpi, t2o_params, trigger, len(path) // 2)
    return request(0x5B if large else 0x54, logical(0x06, 0x01), body + path)


def forward_open_ok(o2t: int, t2o: int, serial: int, vendor: int, orig_serial: int,
                    o2t_api: int, t2o_api: int, large: bool = False) -> bytes:
    return reply(0x5B if large else 0x54, 0, struct.pack("<IIHHIIIBB", o2t, t2o, serial, vendor,
                                                         orig_serial, o2t_api, t2o_api, 0, 0))


def pccc_request(command: int, tns: int, function: int | None = None,
                 data: bytes = b"") -> bytes:
    """Execute_PCCC request: requestor id (7 bytes: length, vendor, serial), CMD, STS, TNS,
    [FNC, data]."""
    body = struct.pack("<BHI", 7, 0x004D, 0x3D2B31E0) + struct.pack("<BBH", command, 0, tns)
    if function is not None:
        body += bytes([function]) + data
    return request(0x4B, logical(0x67, 0x01), body)


def pccc_reply(command: int, tns: int, sts: int = 0, data: bytes = b"") -> bytes:
    body = struct.pack("<BHI", 7, 0x004D, 0x3D2B31E0) + struct.pack("<BBH", command | 0x40,
                                                                     sts, tns)
    return reply(0x4B, 0, body + data)


def io_datagram(conn_id: int, seq: int, payload: bytes) -> bytes:
    """Implicit I/O: CPF with a sequenced address item and a connected data item."""
    return cpf((0x8002, struct.pack("<II", conn_id, seq)), (0x00B1, payload))


# -- a flow stand-in for session tests -------------------------------------------------------------

class FakeFlow(RecordingFlow):
    """Session-test flow; ``ts``/``frame`` are set by the test."""

    protocol = "enip"

    def __init__(self, transport: str = "tcp", server_port: int = 44818,
                 client_port: int = 50000, settings: Settings | None = None) -> None:
        super().__init__(("10.0.0.1", client_port), ("10.0.0.2", server_port), transport,
                         settings, ts=1000.0, frame=1, flow_id=1)

    def tick(self, dt: float = 0.001) -> None:
        self.ts += dt
        self.frame += 1


def decode_enip_with(path: Path | str, settings: Settings) -> list[Event]:
    """:func:`decode_enip` with other engine settings."""
    return decode_only(path, SPEC, settings=settings)

"""Builders for PROFINET DCP/RT, PNIO CM (DCE/RPC CL), EtherCAT and POWERLINK test frames,
written from the specifications (IEC 61158-6-10, DCE 1.1 RPC, ETG.1000.4, EPSG DS 301), plus a
recording LinkContext for session tests."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path
from typing import Any

from otshield.config import Settings
from otshield.events import AnomalyEvent, Event, LinkFields
from otshield.pcapwriter import PcapWriter, ethernet, ipv4, udp_datagram

CONTROLLER = "00:0c:29:ba:09:ea"
DEVICE = "08:00:06:93:cf:32"
DCP_MCAST = "01:0e:cf:00:00:00"


class RecordingLink:
    """Implements ``LinkContext``; tests move ``ts``/``frame``/MACs on."""

    def __init__(self, settings: Settings | None = None, protocol: str = "profinet_rt") -> None:
        self.ts = 1_700_000_000.0
        self.frame = 0
        self.src_mac = CONTROLLER
        self.dst_mac = DEVICE
        self.vlan: int | None = None
        self.settings = settings or Settings()
        self.protocol = protocol
        self.events: list[Event] = []

    def fields(self) -> LinkFields:
        return {"ts": self.ts, "frame": self.frame, "src_mac": self.src_mac,
                "dst_mac": self.dst_mac, "vlan": self.vlan}

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def anomaly(self, code: str, detail: str) -> None:
        self.events.append(AnomalyEvent(ts=self.ts, frame=self.frame, code=code, detail=detail,
                                        protocol=self.protocol, src_mac=self.src_mac,
                                        dst_mac=self.dst_mac, vlan=self.vlan))

    def at(self, src: str, dst: str) -> RecordingLink:
        self.frame += 1
        self.ts += 0.001
        self.src_mac, self.dst_mac = src, dst
        return self

    def of(self, dataset: str) -> list[Any]:
        return [e for e in self.events if e.__struct_config__.tag == dataset]

    def codes(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, AnomalyEvent)]


# -- DCP ------------------------------------------------------------------------------------------

def dcp_block(option: int, suboption: int, value: bytes, prefix: bytes | None = None) -> bytes:
    """Option, Suboption, DCPBlockLength, [BlockInfo/BlockQualifier], value, pad to even."""
    body = (prefix or b"") + value
    out = struct.pack("!BBH", option, suboption, len(body)) + body
    return out + b"\x00" * (len(body) & 1)


def dcp(frame_id: int, service: int, stype: int, xid: int, blocks: bytes,
        delay: int = 0) -> bytes:
    """FrameID + DCP header (ServiceID, ServiceType, Xid, ResponseDelay, DCPDataLength)."""
    return struct.pack("!HBBIHH", frame_id, service, stype, xid, delay, len(blocks)) + blocks


def ip4(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


# -- RT -------------------------------------------------------------------------------------------

def rt_cyclic(frame_id: int, cycle: int, ds: int = 0x35, ts_: int = 0, data_len: int = 36) -> bytes:
    """FrameID + IO data (zeros) + CycleCounter DataStatus TransferStatus."""
    return struct.pack("!H", frame_id) + bytes(data_len) + struct.pack("!HBB", cycle, ds, ts_)


def rta(frame_id: int, pdu_type: int, var: bytes, dst: int = 0x8001, src: int = 0x0001,
        seq: int = 0) -> bytes:
    """Alarm RTA PDU: endpoints, PDUType (version 1), AddFlags, Send/AckSeqNum, VarPartLen."""
    return struct.pack("!HHHBBHHH", frame_id, dst, src, 0x10 | pdu_type, 0x11, seq, 0xFFFF,
                       len(var)) + var


def alarm_notification(block_type: int, alarm_type: int, api: int, slot: int, subslot: int,
                       specifier: int = 0x0801) -> bytes:
    body = struct.pack("!BBHIHHIIH", 1, 0, alarm_type, api, slot, subslot, 0x32, 0x1, specifier)
    return struct.pack("!HH", block_type, len(body)) + body


# -- PNIO CM over DCE/RPC CL ----------------------------------------------------------------------

DEVICE_IF = uuid.UUID("dea00001-6c97-11d1-8271-00a02442df7d")
CONTROLLER_IF = uuid.UUID("dea00002-6c97-11d1-8271-00a02442df7d")
EPM_IF = uuid.UUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa")


def object_uuid(vendor: int, device: int, instance: int) -> uuid.UUID:
    return uuid.UUID(f"dea00000-6c97-11d1-8271-{instance:04x}{device:04x}{vendor:04x}")


def rpc(ptype: int, opnum: int, activity: uuid.UUID, seq: int, body: bytes,
        iface: uuid.UUID = DEVICE_IF, obj: uuid.UUID | None = None, little: bool = True,
        flags1: int = 0x20, fragnum: int = 0) -> bytes:
    """An 80-byte CL header (drep little- or big-endian) + body."""
    e = "<" if little else ">"

    def u(x: uuid.UUID) -> bytes:
        return x.bytes_le if little else x.bytes

    obj = obj or object_uuid(0x002A, 0x0A01, 1)
    head = struct.pack("BBBB3sB", 4, ptype, flags1, 0, b"\x10\x00\x00" if little
                       else b"\x00\x00\x00", 0)
    head += u(obj) + u(iface) + u(activity)
    head += struct.pack(e + "IIIHHHHHBB", 0, 1, seq, opnum, 0xFFFF, 0xFFFF, len(body), fragnum,
                        0, 0)
    assert len(head) == 80
    return head + body


def ndr_request(blocks: bytes, little: bool = True) -> bytes:
    e = "<" if little else ">"
    return struct.pack(e + "IIIII", 0x4000, len(blocks), 0x4000, 0, len(blocks)) + blocks


def ndr_response(status: int, blocks: bytes, little: bool = True) -> bytes:
    e = "<" if little else ">"
    return struct.pack(e + "IIIII", status, len(blocks), 0x4000, 0, len(blocks)) + blocks


def pn_block(block_type: int, content: bytes) -> bytes:
    """BlockType BlockLength BlockVersion(1.0) content (big-endian)."""
    return struct.pack("!HHBB", block_type, len(content) + 2, 1, 0) + content


def ar_block_req(ar_uuid: uuid.UUID, session_key: int, mac: bytes, station: bytes) -> bytes:
    return pn_block(0x0101, struct.pack("!H16sH6s16sIHHH", 0x0001, ar_uuid.bytes, session_key,
                                        mac, bytes(16), 0x11, 100, 0x8892, len(station))
                    + station)


def ar_block_res(ar_uuid: uuid.UUID, session_key: int, mac: bytes) -> bytes:
    return pn_block(0x8101, struct.pack("!H16sH6sH", 0x0001, ar_uuid.bytes, session_key, mac,
                                        0x8892))


def rw_header(block_type: int, ar_uuid: uuid.UUID, api: int, slot: int, subslot: int,
              index: int, length: int, tail: bytes = b"") -> bytes:
    """IODRead/WriteReq/ResHeader: 60-byte BlockLength (64 bytes in all)."""
    content = struct.pack("!H16sIHH2sHI", 1, ar_uuid.bytes, api, slot, subslot, b"\0\0", index,
                          length) + tail
    content = content.ljust(58, b"\0")
    return pn_block(block_type, content)


def control_block(block_type: int, ar_uuid: uuid.UUID, session_key: int, command: int) -> bytes:
    return pn_block(block_type, struct.pack("!2s16sH2sHH", b"\0\0", ar_uuid.bytes, session_key,
                                            b"\0\0", command, 0))


def im0_record(vendor: int, order: str, serial: str, hw: int, sw: tuple[str, int, int, int]
               ) -> bytes:
    content = struct.pack("!BB20s16sH1sBBBHHHHH", vendor >> 8, vendor & 0xFF,
                          order.encode().ljust(20), serial.encode().ljust(16), hw,
                          sw[0].encode(), sw[1], sw[2], sw[3], 0, 0xF600, 0, 0x0101, 0x001E)
    return pn_block(0x0020, content)


def write_udp(path: Path, datagrams: list[tuple[tuple[str, int], tuple[str, int], bytes]],
              start: float = 1_700_000_000.0) -> None:
    """One UDP datagram per frame: (src ip, port), (dst ip, port), payload."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        ts = start
        for (sip, sport), (dip, dport), payload in datagrams:
            pkt = ipv4(sip, dip, 17, udp_datagram(sip, dip, sport, dport, payload))
            w.write(ts, ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, pkt))
            ts += 0.01


def write_link(path: Path, frames: list[tuple[str, str, int, bytes]], vlan: int | None = None,
               start: float = 1_700_000_000.0) -> None:
    """One Ethernet frame per (src MAC, dst MAC, Ethertype, payload)."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        ts = start
        for src, dst, et, payload in frames:
            w.write(ts, ethernet(src, dst, et, payload, vlan))
            ts += 0.001


# -- EtherCAT -------------------------------------------------------------------------------------

def ecat_datagram(cmd: int, idx: int, adp: int, ado: int, data: bytes, wkc: int,
                  more: bool = False) -> bytes:
    return (struct.pack("<BBHHHH", cmd, idx, adp, ado, len(data) | (0x8000 if more else 0), 0)
            + data + struct.pack("<H", wkc))


def ecat_frame(*datagrams: bytes, ftype: int = 1) -> bytes:
    body = b"".join(datagrams)
    return struct.pack("<H", len(body) | ftype << 12) + body


# -- POWERLINK ------------------------------------------------------------------------------------

def epl(mtype: int, dst: int, src: int, data: bytes = b"") -> bytes:
    return bytes((mtype, dst, src)) + data


def epl_ident(src: int, state: int, device_type: int, vendor: int, product: int, revision: int,
              serial: int, ip: str, host: str) -> bytes:
    """ASnd IdentResponse (DS 301 7.3.3.2.1), little-endian; IP stored least significant first."""
    p = bytearray(epl(0x06, 255, src, b"\x01"))
    p += bytes((0x08, 0x00, state, 0, 0x20, 0))  # EN/EC PR/RS NMTStatus - EPLVersion 2.0 -
    p += struct.pack("<IHHHI", 0xC7, 1500, 256, 256, 2000)  # features MTU PollIn/Out RespTime
    p += b"\0\0"  # reserved
    p += struct.pack("<IIIII", device_type, vendor, product, revision, serial)
    p += bytes(8 + 16)  # VendorSpecificExt1, VerifyConfiguration/ApplicationSw date+time
    p += ip4(ip)[::-1] + ip4("255.255.255.0")[::-1] + ip4("192.168.100.254")[::-1]
    p += host.encode().ljust(32, b"\0") + bytes(48)
    return bytes(p)

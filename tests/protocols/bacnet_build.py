"""Builders for BACnet test messages, written from ANSI/ASHRAE 135-2020 (Annex J BVLC,
clause 6 NPDU, clause 20 APDU and tag encoding), capture writers for BACnet/IP and
BACnet/Ethernet, and a decode helper that runs the engine with the BACnet decoder alone."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from otshield.config import Settings
from otshield.events import AnomalyEvent, Event, LinkFields
from otshield.pcapwriter import PcapWriter, ethernet, ipv4, udp_datagram
from otshield.protocols.bacnet import SPEC
from otshield.protocols.bacnet.session import BacnetLinkSession
from support import decode_only

PORT = 47808


def decode_bacnet(path: Path | str) -> list[Event]:
    """Every event of a capture, decoded with only the BACnet decoder registered."""
    return decode_only(path, SPEC)


def bacnet_events(events: list[Event]) -> list[Event]:
    """Only the BACnet events and anomalies (no flow records)."""
    return [e for e in events if e.__struct_config__.tag in ("bacnet", "bacnet_network",
                                                              "anomaly")]


# -- tag encoding (20.2) ------------------------------------------------------------------------
def _tag(number: int, context: bool, length: int) -> bytes:
    cls = 0x08 if context else 0
    head = b""
    if number >= 15:
        first = 0xF0 | cls
        head = bytes([number])
    else:
        first = (number << 4) | cls
    if length <= 4:
        return bytes([first | length]) + head
    if length <= 253:
        return bytes([first | 5]) + head + bytes([length])
    if length <= 0xFFFF:
        return bytes([first | 5]) + head + b"\xfe" + struct.pack("!H", length)
    return bytes([first | 5]) + head + b"\xff" + struct.pack("!I", length)


def _uint(value: int) -> bytes:
    n = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(n, "big")


def app(tag: int, content: bytes) -> bytes:
    """An application-tagged primitive."""
    return _tag(tag, False, len(content)) + content


def app_null() -> bytes:
    return b"\x00"


def app_bool(value: bool) -> bytes:
    return bytes([0x10 | int(value)])  # tag 1, value in the LVT


def app_unsigned(value: int) -> bytes:
    return app(2, _uint(value))


def app_signed(value: int) -> bytes:
    n = max(1, (value.bit_length() + 8) // 8)
    return app(3, value.to_bytes(n, "big", signed=True))


def app_real(value: float) -> bytes:
    return app(4, struct.pack("!f", value))


def app_double(value: float) -> bytes:
    return app(5, struct.pack("!d", value))


def app_octets(value: bytes) -> bytes:
    return app(6, value)


def app_string(text: str, charset: int = 0) -> bytes:
    codec = {0: "utf-8", 4: "utf-16-be", 5: "latin-1"}[charset]
    return app(7, bytes([charset]) + text.encode(codec))


def app_bits(bits: str) -> bytes:
    unused = (8 - len(bits) % 8) % 8
    padded = bits + "0" * unused
    return app(8, bytes([unused]) + int(padded, 2).to_bytes(len(padded) // 8, "big"))


def app_enum(value: int) -> bytes:
    return app(9, _uint(value))


def app_date(year: int, month: int, day: int, weekday: int) -> bytes:
    return app(10, bytes([year - 1900, month, day, weekday]))


def app_time(hour: int, minute: int, second: int, hundredths: int) -> bytes:
    return app(11, bytes([hour, minute, second, hundredths]))


def oid(object_type: int, instance: int) -> bytes:
    return struct.pack("!I", (object_type << 22) | instance)


def app_object(object_type: int, instance: int) -> bytes:
    return app(12, oid(object_type, instance))


def ctx(number: int, content: bytes) -> bytes:
    """A context-tagged primitive."""
    return _tag(number, True, len(content)) + content


def ctx_unsigned(number: int, value: int) -> bytes:
    return ctx(number, _uint(value))


def ctx_object(number: int, object_type: int, instance: int) -> bytes:
    return ctx(number, oid(object_type, instance))


def ctx_string(number: int, text: str) -> bytes:
    return ctx(number, b"\x00" + text.encode())


def opening(number: int) -> bytes:
    return bytes([(number << 4) | 0x0E]) if number < 15 else bytes([0xFE, number])


def closing(number: int) -> bytes:
    return bytes([(number << 4) | 0x0F]) if number < 15 else bytes([0xFF, number])


def constructed(number: int, *parts: bytes) -> bytes:
    return opening(number) + b"".join(parts) + closing(number)


# -- APDU (20.1) -----------------------------------------------------------------------------------
def confirmed(service: int, invoke: int, params: bytes = b"", max_apdu: int = 5,
              max_segments: int = 0, segmented: bool = False, more: bool = False,
              accepted: bool = True, sequence: int = 0, window: int = 4) -> bytes:
    flags = (0x08 if segmented else 0) | (0x04 if more else 0) | (0x02 if accepted else 0)
    head = bytes([flags, (max_segments << 4) | max_apdu, invoke])
    if segmented:
        head += bytes([sequence, window])
    return head + bytes([service]) + params


def unconfirmed(service: int, params: bytes = b"") -> bytes:
    return bytes([0x10, service]) + params


def simple_ack(service: int, invoke: int) -> bytes:
    return bytes([0x20, invoke, service])


def complex_ack(service: int, invoke: int, params: bytes = b"", segmented: bool = False,
                more: bool = False, sequence: int = 0, window: int = 4) -> bytes:
    flags = (0x08 if segmented else 0) | (0x04 if more else 0)
    head = bytes([0x30 | flags, invoke])
    if segmented:
        head += bytes([sequence, window])
    return head + bytes([service]) + params


def segment_ack(invoke: int, sequence: int, window: int = 4, server: bool = False) -> bytes:
    return bytes([0x40 | (1 if server else 0), invoke, sequence, window])


def error_pdu(service: int, invoke: int, error_class: int, error_code: int) -> bytes:
    return bytes([0x50, invoke, service]) + app_enum(error_class) + app_enum(error_code)


def reject_pdu(invoke: int, reason: int) -> bytes:
    return bytes([0x60, invoke, reason])


def abort_pdu(invoke: int, reason: int, server: bool = True) -> bytes:
    return bytes([0x70 | (1 if server else 0), invoke, reason])


# -- NPDU (6.2) ------------------------------------------------------------------------------------
def npdu(apdu: bytes, *, expecting_reply: bool = False, priority: int = 0,
         dnet: int | None = None, dadr: bytes = b"", snet: int | None = None,
         sadr: bytes = b"", hop_count: int = 255, message: int | None = None,
         vendor: int | None = None) -> bytes:
    """NPCI + APDU (or network message parameters when ``message`` is given)."""
    control = priority | (0x04 if expecting_reply else 0)
    body = b""
    if dnet is not None:
        control |= 0x20
        body += struct.pack("!HB", dnet, len(dadr)) + dadr
    if snet is not None:
        control |= 0x08
        body += struct.pack("!HB", snet, len(sadr)) + sadr
    if dnet is not None:
        body += bytes([hop_count])
    if message is not None:
        control |= 0x80
        body += bytes([message])
        if message >= 0x80:
            body += struct.pack("!H", vendor or 0)
    return bytes([1, control]) + body + apdu


# -- BVLC (Annex J) --------------------------------------------------------------------------------
def bvlc(function: int, body: bytes = b"") -> bytes:
    return struct.pack("!BBH", 0x81, function, 4 + len(body)) + body


def unicast(npdu_bytes: bytes) -> bytes:
    return bvlc(0x0A, npdu_bytes)


def broadcast(npdu_bytes: bytes) -> bytes:
    return bvlc(0x0B, npdu_bytes)


def forwarded(ip: str, port: int, npdu_bytes: bytes) -> bytes:
    return bvlc(0x04, bytes(map(int, ip.split("."))) + struct.pack("!H", port) + npdu_bytes)


# -- captures --------------------------------------------------------------------------------------
class BacnetIpWriter:
    """Writes BACnet/IP datagrams between hosts into a pcap, one frame per datagram."""

    def __init__(self, writer: PcapWriter, start: float = 1_700_000_000.0) -> None:
        self.w = writer
        self.ts = start

    def send(self, src: tuple[str, int], dst: tuple[str, int], payload: bytes,
             step: float = 0.01) -> None:
        udp = udp_datagram(src[0], dst[0], src[1], dst[1], payload)
        mac = {True: "02:00:00:00:00:01", False: "02:00:00:00:00:02"}
        dst_mac = "ff:ff:ff:ff:ff:ff" if dst[0].endswith(".255") else mac[False]
        self.w.write(self.ts, ethernet(mac[True], dst_mac, 0x0800, ipv4(src[0], dst[0], 17, udp)))
        self.ts += step


def llc_frame(src_mac: str, dst_mac: str, npdu_bytes: bytes, pad: int = 0x00,
              vlan: int | None = None) -> bytes:
    """An IEEE 802.3 frame with LLC 82 82 03 and the NPDU, padded to the 60-octet minimum."""
    payload = b"\x82\x82\x03" + npdu_bytes
    frame = ethernet(src_mac, dst_mac, len(payload), payload, vlan=vlan)
    if len(frame) < 60:
        frame += bytes([pad]) * (60 - len(frame))
    return frame


class RecordingLink:
    """A stand-in for ``LinkContext``."""

    def __init__(self) -> None:
        self.ts = 1_700_000_000.0
        self.frame = 0
        self.src_mac = ""
        self.dst_mac = ""
        self.vlan: int | None = None
        self.settings = Settings()
        self.events: list[Any] = []

    def fields(self) -> LinkFields:
        return {"ts": self.ts, "frame": self.frame, "src_mac": self.src_mac,
                "dst_mac": self.dst_mac, "vlan": self.vlan}

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def anomaly(self, code: str, detail: str) -> None:
        self.events.append(AnomalyEvent(ts=self.ts, frame=self.frame, code=code, detail=detail,
                                        protocol="bacnet", src_mac=self.src_mac,
                                        dst_mac=self.dst_mac, vlan=self.vlan))

    def send(self, session: BacnetLinkSession, src: str, dst: str, payload: bytes) -> None:
        self.frame += 1
        self.ts += 0.01
        self.src_mac, self.dst_mac = src, dst
        session.on_frame(payload)

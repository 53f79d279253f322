"""LonWorks CN/IP (ANSI/EIA-852, ISO/IEC 14908-4: tunnelling LonTalk over IP, UDP 1628 data and
1629 configuration server): probe and first-level parsing.

Common header (EIA-852 section 4.2, all big-endian): packet length (u16, whole packet), version
(1), packet type, extended header size (in 32-bit words), protocol flags, vendor code (u16),
session id (u32), sequence number (u32), time stamp (u32): 20 bytes, then the extended header
and the payload (a LonTalk packet for type 1, data). Packet type names as Wireshark's
packet-cnip.c lists them.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.identify import Unit

__all__ = ["PACKET_TYPES", "parse", "probe"]

_HEAD = struct.Struct(">HBBBBHIII")

PACKET_TYPES: dict[int, tuple[str, str]] = {
    0x01: ("data", "other"),  # a tunnelled LonTalk packet: could be anything
    0x03: ("device_registration", "config"),
    0x04: ("channel_membership", "config"),
    0x06: ("send_list", "config"),
    0x07: ("acknowledge", "other"),
    0x08: ("channel_routing", "config"),
    0x60: ("status_request", "diagnostics"),
    0x63: ("device_configuration_request", "identify"),
    0x64: ("channel_membership_request", "identify"),
    0x66: ("send_list_request", "identify"),
    0x68: ("channel_routing_request", "identify"),
    0x70: ("status_response", "diagnostics"),
    0x71: ("device_configuration", "config"),
    0x7F: ("segment", "other"),
}
"""Packet type -> (name, function class)."""


def probe(buf: bytes, from_client: bool) -> bool:
    """Length field equal to the datagram, version 1, a known packet type."""
    return (len(buf) >= 20 and buf[2] == 1 and buf[3] in PACKET_TYPES
            and buf[0] << 8 | buf[1] == len(buf))


def parse(frame: bytes, from_client: bool) -> Unit:
    if len(frame) < 20:
        raise Malformed("cnip.truncated", f"{len(frame)}-byte packet, header is 20")
    length, version, ptype, ext, flags, vendor, session, _, _ = _HEAD.unpack_from(frame)
    if length != len(frame):
        raise Malformed("cnip.bad_length", f"length field {length}, datagram {len(frame)}")
    if version != 1:
        raise Malformed("cnip.bad_version", f"version {version}")
    if 20 + ext * 4 > length:
        raise Malformed("cnip.bad_length", f"extended header of {ext * 4} bytes past the end")
    name, fclass = PACKET_TYPES.get(ptype, (f"unknown_0x{ptype:02x}", "other"))
    return Unit(name, fclass, None, {"vendor_code": vendor, "session_id": session,
                                     "protocol_flags": flags})

"""Pure Ethernet POWERLINK frame parser (EPSG DS 301 V1.4, 4.6 "Frame structures").

Payload after Ethertype 0x88AB: MessageType(1, bit 7 reserved) Destination(1) Source(1) then
the message-specific data, little-endian. SoA: NMTStatus(1) flags(2) RequestedServiceID(1)
RequestedServiceTarget(1) EPLVersion(1). ASnd: ServiceID(1) then the service payload:
IdentResponse (7.3.3.2.1) from offset 4 with the device identity, NMTCommand (7.3.1.2.1)
NMTCommandId(1) reserved(1) data. Raises only ``Malformed`` (``powerlink.*``).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.powerlink.constants import (
    MT_ASND,
    MT_SOA,
    NMT_STATES,
    SV_IDENT,
    SV_NMT_COMMAND,
    SV_NMT_REQUEST,
    SV_STATUS,
)

__all__ = ["Ident", "Message", "parse"]

_IDENT = struct.Struct("<6xBxBxIHHHIxxIIIII")  # frame offsets 0..45, see Ident
_IP = struct.Struct("<4s4s4s")


def _ip(b: bytes) -> str:
    return f"{b[3]}.{b[2]}.{b[1]}.{b[0]}"


class Ident:
    """IdentResponse payload: the node's identity (a fingerprint)."""

    __slots__ = ("device_type", "epl_version", "feature_flags", "gateway", "host_name", "ip",
                 "mtu", "netmask", "nmt_state", "product_code", "revision", "serial_number",
                 "vendor_id")

    def __init__(self, p: bytes) -> None:
        (state, ver, self.feature_flags, self.mtu, _pin, _pout, _rt, self.device_type,
         self.vendor_id, self.product_code, self.revision,
         self.serial_number) = _IDENT.unpack_from(p)
        self.nmt_state = NMT_STATES.get(state, f"0x{state:02x}")
        self.epl_version = f"{ver >> 4}.{ver & 0x0F}"
        self.ip: str | None = None
        self.netmask: str | None = None
        self.gateway: str | None = None
        self.host_name: str | None = None
        if len(p) >= 114:
            ip, mask, gw = _IP.unpack_from(p, 70)
            self.ip, self.netmask, self.gateway = _ip(ip), _ip(mask), _ip(gw)
            self.host_name = p[82:114].split(b"\x00", 1)[0].decode("latin-1")


class Message:
    """One POWERLINK frame."""

    __slots__ = ("dst", "ident", "mtype", "nmt_command", "nmt_state", "service", "src")

    def __init__(self, mtype: int, dst: int, src: int) -> None:
        self.mtype = mtype
        self.dst = dst
        self.src = src
        self.service: int | None = None
        """SoA RequestedServiceID or ASnd ServiceID."""
        self.nmt_command: int | None = None
        self.nmt_state: str | None = None
        self.ident: Ident | None = None


def parse(p: bytes) -> Message:
    """Decode the POWERLINK frame ``p`` (payload after the Ethertype)."""
    if len(p) < 3:
        raise Malformed("powerlink.truncated", f"{len(p)} bytes: no POWERLINK header")
    m = Message(p[0] & 0x7F, p[1], p[2])
    if m.mtype == MT_SOA:
        if len(p) < 7:
            raise Malformed("powerlink.truncated", "SoA without RequestedServiceID")
        m.service = p[6]
        m.nmt_state = NMT_STATES.get(p[3], f"0x{p[3]:02x}")
    elif m.mtype == MT_ASND:
        if len(p) < 4:
            raise Malformed("powerlink.truncated", "ASnd without ServiceID")
        m.service = p[3]
        if m.service == SV_NMT_COMMAND or m.service == SV_NMT_REQUEST:
            if len(p) < 5:
                raise Malformed("powerlink.truncated", "NMT command without its id")
            m.nmt_command = p[4]
        elif m.service == SV_IDENT:
            if len(p) < _IDENT.size:
                raise Malformed("powerlink.truncated",
                                f"IdentResponse of {len(p)} bytes (needs {_IDENT.size})")
            m.ident = Ident(p)
            m.nmt_state = m.ident.nmt_state
        elif m.service == SV_STATUS:
            if len(p) < 7:
                raise Malformed("powerlink.truncated", "StatusResponse without NMTStatus")
            m.nmt_state = NMT_STATES.get(p[6], f"0x{p[6]:02x}")
    return m

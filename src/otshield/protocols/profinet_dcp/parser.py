"""Pure PROFINET DCP parser (IEC 61158-6-10, 4.3 "DCP"; PROFINET specification 4.3.1).

Input: the bytes after the 2-byte FrameID (0xFEFC-0xFEFF). Layout (big-endian)::

    ServiceID(1) ServiceType(1) Xid(4) ResponseDelay|Reserved(2) DCPDataLength(2) Blocks

A block is Option(1) Suboption(1) DCPBlockLength(2) then, by context, BlockInfo(2) (responses
and Hello), BlockQualifier(2) (Set request) or nothing (Identify filters), then the value; blocks
are padded to an even length. A Get request lists bare Option/Suboption pairs. The Control/
Response block of a Set/Get response carries Option(1) Suboption(1) BlockError(1).

Raises only :class:`~otshield.errors.Malformed` with ``profinet_dcp.*`` codes.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.netstack import format_mac
from otshield.protocols.profinet_dcp.constants import (
    BLOCK_ERRORS,
    DEVICE_ROLES,
    IP_BLOCK_INFO,
    OPT_CONTROL,
    OPTIONS,
    SERVICE_GET,
    SERVICE_IDENTIFY,
    SERVICE_SET,
    SERVICE_TYPES,
    SERVICES,
    SUBOPTIONS,
)

__all__ = ["MAX_BLOCKS", "DcpPdu", "block_name", "parse"]

_HEAD = struct.Struct("!BBIHH")
_BLOCK = struct.Struct("!BBH")
_U16 = struct.Struct("!H")
_HH = struct.Struct("!HH")
MAX_BLOCKS = 64
"""Blocks decoded per PDU; more is reported (``profinet_dcp.too_many_blocks``)."""
_MAX_TEXT = 255  # NameOfStation is at most 240 octets; cap every text value


def block_name(option: int, suboption: int) -> str:
    """``ip/ip_parameter``; unknown codes as numbers (``0x80/1``)."""
    name = SUBOPTIONS.get((option, suboption))
    if name is not None:
        return f"{OPTIONS[option]}/{name}"
    opt = OPTIONS.get(option)
    return f"{opt if opt else f'0x{option:02x}'}/{suboption}"


def _ip(b: bytes, off: int) -> str:
    return f"{b[off]}.{b[off + 1]}.{b[off + 2]}.{b[off + 3]}"


def _text(b: bytes) -> str:
    return b[:_MAX_TEXT].decode("latin-1").rstrip("\x00")


class DcpPdu:
    """One decoded DCP PDU. Values absent from the PDU stay None."""

    __slots__ = ("alias_name", "block_errors", "blocks", "data_length", "device_id",
                 "device_instance", "device_options", "device_roles", "dhcp", "dns",
                 "gateway", "initiative", "ip", "ip_conflict", "ip_state", "mac", "netmask",
                 "oem_device_id", "oem_vendor_id", "qualifier", "reset_mode",
                 "response_delay", "service", "service_id", "service_type", "signal_value",
                 "station_name", "truncated_blocks", "vendor_id", "vendor_name", "xid")

    def __init__(self, service_id: int, service_type: int, xid: int) -> None:
        self.service_id = service_id
        self.service = SERVICES.get(service_id, f"unknown_{service_id}")
        self.service_type = SERVICE_TYPES.get(service_type, f"type_{service_type}")
        self.xid = xid
        self.response_delay: int | None = None
        self.data_length = 0
        self.blocks: list[tuple[int, int]] = []
        self.truncated_blocks = False
        self.station_name: str | None = None
        self.alias_name: str | None = None
        self.vendor_name: str | None = None
        self.vendor_id: int | None = None
        self.device_id: int | None = None
        self.oem_vendor_id: int | None = None
        self.oem_device_id: int | None = None
        self.device_instance: str | None = None
        self.device_roles: tuple[str, ...] | None = None
        self.device_options: tuple[str, ...] | None = None
        self.ip: str | None = None
        self.netmask: str | None = None
        self.gateway: str | None = None
        self.dns: tuple[str, ...] | None = None
        self.ip_state: str | None = None
        self.ip_conflict = False
        self.mac: str | None = None
        self.dhcp: str | None = None
        self.initiative: int | None = None
        self.qualifier: int | None = None
        self.signal_value: int | None = None
        self.reset_mode: int | None = None
        self.block_errors: list[tuple[str, str]] = []

    @property
    def is_request(self) -> bool:
        return self.service_type == "request"


def parse(data: bytes) -> DcpPdu:
    """Decode the DCP PDU ``data`` (after the FrameID)."""
    if len(data) < 10:
        raise Malformed("profinet_dcp.truncated", f"DCP header needs 10 bytes, got {len(data)}")
    sid, stype, xid, delay, dlen = _HEAD.unpack_from(data)
    if sid not in SERVICES:
        raise Malformed("profinet_dcp.unknown_service", f"service id {sid}")
    pdu = DcpPdu(sid, stype, xid)
    pdu.data_length = dlen
    request = stype & 0x03 == 0
    if sid == SERVICE_IDENTIFY and request:
        pdu.response_delay = delay
    end = 10 + dlen
    if end > len(data):
        raise Malformed("profinet_dcp.bad_length",
                        f"DCPDataLength {dlen} exceeds the {len(data) - 10} bytes present")
    if sid == SERVICE_GET and request:
        _get_request(pdu, data, end)
        return pdu
    # What follows the block length: BlockQualifier (Set request), nothing (Identify request
    # filters), BlockInfo (responses, Hello).
    prefix = sid != SERVICE_IDENTIFY or not request
    off = 10
    while off + 4 <= end:
        opt, sub, blen = _BLOCK.unpack_from(data, off)
        off += 4
        if off + blen > end:
            raise Malformed("profinet_dcp.truncated",
                            f"block {block_name(opt, sub)} length {blen} overruns the PDU")
        if len(pdu.blocks) >= MAX_BLOCKS:
            pdu.truncated_blocks = True
            break
        pdu.blocks.append((opt, sub))
        _block(pdu, opt, sub, data[off:off + blen], prefix, sid == SERVICE_SET and request)
        off += blen + (blen & 1)
    return pdu


def _get_request(pdu: DcpPdu, data: bytes, end: int) -> None:
    for off in range(10, end - 1, 2):
        if len(pdu.blocks) >= MAX_BLOCKS:
            pdu.truncated_blocks = True
            break
        pdu.blocks.append((data[off], data[off + 1]))


def _block(pdu: DcpPdu, opt: int, sub: int, v: bytes, prefix: bool, set_req: bool) -> None:
    if opt == OPT_CONTROL and sub == 4:  # Control/Response: Option Suboption BlockError
        if len(v) < 3:
            raise Malformed("profinet_dcp.truncated", "Control/Response block under 3 bytes")
        pdu.block_errors.append((block_name(v[0], v[1]),
                                 BLOCK_ERRORS.get(v[2], f"error_{v[2]}")))
        return
    info = 0
    if prefix:
        if len(v) < 2:
            if opt == 0xFF:
                return
            raise Malformed("profinet_dcp.truncated",
                            f"block {block_name(opt, sub)} without BlockInfo/Qualifier")
        (info,) = _U16.unpack_from(v)
        v = v[2:]
        if set_req:
            pdu.qualifier = info
    handler = _HANDLERS.get((opt, sub))
    if handler is not None:
        handler(pdu, v, info, set_req)


def _need(v: bytes, n: int, what: str) -> None:
    if len(v) < n:
        raise Malformed("profinet_dcp.truncated", f"{what} needs {n} bytes, got {len(v)}")


def _ip_param(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 12, "IP parameter")
    pdu.ip, pdu.netmask, pdu.gateway = _ip(v, 0), _ip(v, 4), _ip(v, 8)
    if not set_req:
        pdu.ip_state = IP_BLOCK_INFO[info & 0x03]
        pdu.ip_conflict = bool(info & 0x80)


def _full_suite(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _ip_param(pdu, v, info, set_req)
    _need(v, 28, "full IP suite")
    pdu.dns = tuple(_ip(v, o) for o in range(12, 28, 4))


def _mac(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 6, "MAC address")
    pdu.mac = format_mac(v[:6])


def _vendor(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    pdu.vendor_name = _text(v)


def _name(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    pdu.station_name = _text(v)


def _alias(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    pdu.alias_name = _text(v)


def _device_id(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 4, "device id")
    pdu.vendor_id, pdu.device_id = _HH.unpack_from(v)


def _oem_id(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 4, "OEM device id")
    pdu.oem_vendor_id, pdu.oem_device_id = _HH.unpack_from(v)


def _role(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 1, "device role")
    pdu.device_roles = tuple(n for bit, n in DEVICE_ROLES if v[0] & bit)


def _instance(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 2, "device instance")
    pdu.device_instance = f"{v[0]}.{v[1]}"


def _options(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    names = [block_name(v[i], v[i + 1]) for i in range(0, min(len(v), 2 * MAX_BLOCKS) - 1, 2)]
    pdu.device_options = tuple(names)


def _dhcp(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    pdu.dhcp = v[:64].hex()


def _signal(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 2, "signal value")
    (pdu.signal_value,) = _U16.unpack_from(v)


def _reset(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    # ResetToFactory carries the reset mode in the qualifier's bits 1-15.
    pdu.reset_mode = info >> 1 if set_req else None


def _initiative(pdu: DcpPdu, v: bytes, info: int, set_req: bool) -> None:
    _need(v, 2, "device initiative")
    (pdu.initiative,) = _U16.unpack_from(v)


_HANDLERS = {
    (1, 1): _mac, (1, 2): _ip_param, (1, 3): _full_suite,
    (2, 1): _vendor, (2, 2): _name, (2, 3): _device_id, (2, 4): _role, (2, 5): _options,
    (2, 6): _alias, (2, 7): _instance, (2, 8): _oem_id,
    (3, 12): _dhcp, (3, 61): _dhcp, (3, 255): _dhcp,
    (5, 3): _signal, (5, 6): _reset,
    (6, 1): _initiative,
}

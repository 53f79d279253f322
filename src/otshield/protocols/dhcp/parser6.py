"""Pure DHCPv6 decoder: one UDP datagram in, one :class:`Dhcp6Message` out.

RFC 8415: section 8 (client/server header: type + 3-byte transaction id), section 9 (relay
header: type, hop count, link and peer address), section 21 (options as 2-byte code, 2-byte
length); DUIDs in section 11; client FQDN (option 39) in RFC 4704 section 4. A relay message's
inner message (option 9) is decoded too, bounded in depth.

As for DHCPv4, a broken option stops decoding there and is kept in ``error``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.dhcp.constants import V6_RELAY_TYPES, V6_STATUS_CODES
from otshield.protocols.dhcp.parser import MAX_OPTION_CODES, dns_name, text

__all__ = ["Dhcp6Message", "decode6"]

_OPT = struct.Struct("!HH")
_MAX_RELAY_DEPTH = 8  # RFC 8415 section 7.6: HOP_COUNT_LIMIT is 8
_MAX_ADDRESSES = 16
_MAX_NESTING = 4  # options inside IA options inside ... (IA_NA > IAADDR > STATUS_CODE)

# Option codes, RFC 8415 section 21 unless noted.
_CLIENTID, _SERVERID, _IA_NA, _IA_TA, _IAADDR, _ORO = 1, 2, 3, 4, 5, 6
_ELAPSED, _RELAY_MSG, _STATUS, _RAPID_COMMIT, _USER_CLASS, _VENDOR_CLASS = 8, 9, 13, 14, 15, 16
_DNS_SERVERS, _DOMAIN_LIST, _IA_PD, _IAPREFIX, _FQDN = 23, 24, 25, 26, 39


@dataclass(slots=True)
class Dhcp6Message:
    """One decoded DHCPv6 message (for a relay message, ``inner`` is what it carries)."""

    message_type: int
    transaction_id: int | None = None
    hop_count: int | None = None
    link_address: str | None = None
    peer_address: str | None = None
    inner: Dhcp6Message | None = None
    options: list[int] = field(default_factory=list)
    client_duid: str | None = None
    duid_type: int | None = None
    client_mac: str | None = None
    server_duid: str | None = None
    addresses: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    oro: tuple[int, ...] | None = None
    elapsed: float | None = None
    status: str | None = None
    status_message: str | None = None
    rapid_commit: bool = False
    fqdn: str | None = None
    vendor_class: str | None = None
    user_class: str | None = None
    dns_servers: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None
    error: tuple[str, str] | None = None
    truncated: bool = False


def _ip6(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


def decode6(data: bytes, depth: int = 0) -> Dhcp6Message:
    """Decode one DHCPv6 datagram (or the relayed message inside one)."""
    if len(data) < 4:
        raise Malformed("dhcp.truncated", f"DHCPv6 message of {len(data)} bytes")
    mtype = data[0]
    if mtype in V6_RELAY_TYPES:
        if len(data) < 34:
            raise Malformed("dhcp.truncated", f"DHCPv6 relay message of {len(data)} bytes")
        msg = Dhcp6Message(message_type=mtype, hop_count=data[1], link_address=_ip6(data[2:18]),
                           peer_address=_ip6(data[18:34]))
        start = 34
    else:
        msg = Dhcp6Message(message_type=mtype,
                           transaction_id=int.from_bytes(data[1:4], "big"))
        start = 4
    msg.error = _options(data, start, len(data), msg, depth, 0)
    return msg


def _options(data: bytes, pos: int, end: int, msg: Dhcp6Message, depth: int,
             nesting: int) -> tuple[str, str] | None:
    while pos < end:
        if pos + 4 > end:
            return ("dhcp.bad_option_length", f"{end - pos} stray bytes after the options")
        code, n = _OPT.unpack_from(data, pos)
        start, stop = pos + 4, pos + 4 + n
        if stop > end:
            return ("dhcp.bad_option_length", f"DHCPv6 option {code} length {n} runs past")
        if nesting == 0:
            if len(msg.options) < MAX_OPTION_CODES:
                msg.options.append(code)
            else:
                msg.truncated = True
        value = data[start:stop]
        err = _option(code, value, data, start, stop, msg, depth, nesting)
        if err is not None:
            return err
        pos = stop
    return None


def _option(code: int, value: bytes, data: bytes, start: int, stop: int, msg: Dhcp6Message,
            depth: int, nesting: int) -> tuple[str, str] | None:
    if code == _CLIENTID:
        msg.client_duid = value.hex(":")
        _duid(value, msg)
    elif code == _SERVERID:
        msg.server_duid = value.hex(":")
    elif code in (_IA_NA, _IA_PD, _IA_TA):
        # IA_NA / IA_PD: IAID, T1, T2 then options; IA_TA: IAID then options (sections 21.4-6).
        skip = 4 if code == _IA_TA else 12
        if len(value) < skip:
            return ("dhcp.bad_option_length", f"DHCPv6 IA option {code} of {len(value)} bytes")
        if nesting < _MAX_NESTING:
            return _options(data, start + skip, stop, msg, depth, nesting + 1)
    elif code == _IAADDR:
        if len(value) < 24:
            return ("dhcp.bad_option_length", f"IAADDR of {len(value)} bytes")
        if len(msg.addresses) < _MAX_ADDRESSES:
            msg.addresses.append(_ip6(value[:16]))
        else:
            msg.truncated = True
        if nesting < _MAX_NESTING:
            return _options(data, start + 24, stop, msg, depth, nesting + 1)
    elif code == _IAPREFIX:
        if len(value) < 25:
            return ("dhcp.bad_option_length", f"IAPREFIX of {len(value)} bytes")
        if len(msg.prefixes) < _MAX_ADDRESSES:
            msg.prefixes.append(f"{_ip6(value[9:25])}/{value[8]}")
        else:
            msg.truncated = True
    elif code == _ORO:
        msg.oro = struct.unpack(f"!{len(value) // 2}H", value[:len(value) & ~1])
    elif code == _ELAPSED:
        if len(value) == 2:
            msg.elapsed = struct.unpack("!H", value)[0] / 100.0  # hundredths of a second
    elif code == _STATUS:
        if len(value) >= 2 and msg.status is None:
            sc = struct.unpack_from("!H", value)[0]
            msg.status = V6_STATUS_CODES.get(sc, str(sc))
            msg.status_message = text(value[2:]) or None
    elif code == _RAPID_COMMIT:
        msg.rapid_commit = True
    elif code == _FQDN:
        if value:
            msg.fqdn = dns_name(value, 1)  # RFC 4704 section 4: flags byte, then the name
    elif code == _VENDOR_CLASS:
        msg.vendor_class = _vendor_class(value)
    elif code == _USER_CLASS:
        msg.user_class = _class_data(value)
    elif code == _DNS_SERVERS:
        if value and len(value) % 16 == 0:
            msg.truncated |= len(value) > 16 * _MAX_ADDRESSES
            msg.dns_servers = tuple(_ip6(value[i:i + 16])
                                    for i in range(0, min(len(value), 16 * _MAX_ADDRESSES), 16))
    elif code == _DOMAIN_LIST:
        msg.domains = _domain_list(value)
    elif code == _RELAY_MSG and msg.message_type in V6_RELAY_TYPES:
        if depth >= _MAX_RELAY_DEPTH:
            return ("dhcp.relay_too_deep", f"more than {_MAX_RELAY_DEPTH} nested relay messages")
        try:
            msg.inner = decode6(value, depth + 1)
        except Malformed as m:
            return (m.code, m.detail)
        return msg.inner.error
    return None


def _duid(value: bytes, msg: Dhcp6Message) -> None:
    """DUID-LLT (1) and DUID-LL (3) embed the client's link-layer address (RFC 8415 11.2, 11.4);
    for hardware type 1 (Ethernet) that is its MAC address."""
    if len(value) < 2:
        return
    dtype = struct.unpack_from("!H", value)[0]
    msg.duid_type = dtype
    if dtype == 1 and len(value) == 14 and value[2:4] == b"\x00\x01":
        msg.client_mac = value[8:14].hex(":")
    elif dtype == 3 and len(value) == 10 and value[2:4] == b"\x00\x01":
        msg.client_mac = value[4:10].hex(":")


def _class_data(value: bytes, pos: int = 0) -> str | None:
    """User/vendor class data: 2-byte length-prefixed opaque strings (RFC 8415 21.15-16)."""
    parts: list[str] = []
    end = len(value)
    while pos + 2 <= end and len(parts) < 8:
        n = struct.unpack_from("!H", value, pos)[0]
        parts.append(text(value[pos + 2:pos + 2 + n]))
        pos += 2 + n
    return ",".join(parts) if parts else None


def _vendor_class(value: bytes) -> str | None:
    """Enterprise number then class data (RFC 8415 section 21.16): ``"311:MSFT 5.0"``."""
    if len(value) < 4:
        return None
    enterprise = struct.unpack_from("!I", value)[0]
    data = _class_data(value, 4)
    return f"{enterprise}:{data}" if data is not None else str(enterprise)


def _domain_list(value: bytes) -> tuple[str, ...] | None:
    """Concatenated uncompressed DNS names (RFC 3646 section 4)."""
    names: list[str] = []
    pos, end = 0, len(value)
    while pos < end and len(names) < _MAX_ADDRESSES:
        name = dns_name(value, pos)
        if name is None:
            break
        names.append(name)
        # advance past this name's labels and its root label
        while pos < end and value[pos]:
            pos += 1 + value[pos]
        pos += 1
    return tuple(names) if names else None

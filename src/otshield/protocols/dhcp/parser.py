"""Pure DHCPv4 (and plain BOOTP) decoder: one UDP datagram in, one :class:`DhcpMessage` out.

Wire format: RFC 2131 section 2 figure 1 (236-byte fixed part), the magic cookie (section 3),
then options as code/length/value (RFC 2132 section 2). Handled on the way:

* repeated option codes are concatenated (RFC 3396 section 7), so long values survive;
* option overload (RFC 2132 section 9.3): ``file`` then ``sname`` carry more options;
* no magic cookie means a plain BOOTP message (RFC 951), decoded without options.

A broken option does not void what came before it: decoding stops there and the problem is kept
in ``error`` for the session to report. Only a broken fixed part raises ``Malformed``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.dhcp.constants import (
    MAGIC_COOKIE,
    OPT_CLIENT_FQDN,
    OPT_CLIENT_ID,
    OPT_DNS_SERVERS,
    OPT_DOMAIN_NAME,
    OPT_END,
    OPT_HOSTNAME,
    OPT_LEASE_TIME,
    OPT_MAX_MESSAGE_SIZE,
    OPT_MESSAGE,
    OPT_MESSAGE_TYPE,
    OPT_NTP_SERVERS,
    OPT_OVERLOAD,
    OPT_PAD,
    OPT_PARAM_LIST,
    OPT_REBINDING_TIME,
    OPT_RELAY_AGENT,
    OPT_RENEWAL_TIME,
    OPT_REQUESTED_IP,
    OPT_ROUTERS,
    OPT_SERVER_ID,
    OPT_SUBNET_MASK,
    OPT_TFTP_BOOTFILE,
    OPT_TFTP_SERVER,
    OPT_USER_CLASS,
    OPT_VENDOR_CLASS,
)

__all__ = ["MAX_OPTION_CODES", "DhcpMessage", "decode", "dns_name", "text"]

_FIXED = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # RFC 2131 figure 1: 236 bytes
MAX_OPTION_CODES = 64
"""Option codes kept in ``options`` (the order is a client fingerprint); more are counted."""
_MAX_LIST = 16  # addresses kept from one list option (routers, DNS servers...)


@dataclass(slots=True)
class DhcpMessage:
    """One decoded DHCP/BOOTP message. Addresses are dotted quads; "" / None when absent."""

    op: int
    xid: int
    hops: int
    secs: int
    broadcast: bool
    client_mac: str
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    server_name: str | None = None
    boot_file: str | None = None
    bootp: bool = False
    message_type: int | None = None
    options: list[int] = field(default_factory=list)
    truncated: bool = False
    """Option codes beyond MAX_OPTION_CODES or addresses beyond 16 per list were left out."""
    requested_ip: str | None = None
    server_id: str | None = None
    lease_time: int | None = None
    renewal_time: int | None = None
    rebinding_time: int | None = None
    hostname: str | None = None
    domain: str | None = None
    fqdn: str | None = None
    vendor_class: str | None = None
    user_class: str | None = None
    client_id: str | None = None
    param_list: tuple[int, ...] | None = None
    subnet_mask: str | None = None
    routers: tuple[str, ...] | None = None
    dns_servers: tuple[str, ...] | None = None
    ntp_servers: tuple[str, ...] | None = None
    message: str | None = None
    max_message_size: int | None = None
    circuit_id: str | None = None
    remote_id: str | None = None
    error: tuple[str, str] | None = None


def text(raw: bytes) -> str:
    """An option string: trailing NULs dropped (many clients count one), bytes kept as text."""
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def dns_name(raw: bytes, pos: int = 0) -> str | None:
    """Uncompressed DNS wire-format name (RFC 1035 section 3.1) as dotted text; None if bad."""
    labels: list[str] = []
    end = len(raw)
    while pos < end:
        n = raw[pos]
        if n == 0:
            return ".".join(labels)
        if n > 63 or pos + 1 + n > end:
            return None
        labels.append(raw[pos + 1:pos + 1 + n].decode("utf-8", "replace"))
        pos += 1 + n
    # RFC 4702 section 4: a partial name (no terminating root label) is allowed.
    return ".".join(labels)


def _ip(raw: bytes) -> str:
    return socket.inet_ntoa(raw)


def _ip_list(raw: bytes, msg: DhcpMessage) -> tuple[str, ...] | None:
    if not raw or len(raw) % 4:
        return None
    if len(raw) > 4 * _MAX_LIST:
        msg.truncated = True
    return tuple(socket.inet_ntoa(raw[i:i + 4]) for i in range(0, min(len(raw), 4 * _MAX_LIST), 4))


def _u32(raw: bytes) -> int | None:
    return struct.unpack("!I", raw)[0] if len(raw) == 4 else None


def decode(data: bytes) -> DhcpMessage:
    """Decode one DHCP or BOOTP datagram."""
    if len(data) < _FIXED.size:
        raise Malformed("dhcp.truncated", f"{len(data)} bytes, the fixed part needs 236")
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     bootfile) = _FIXED.unpack_from(data)
    if op not in (1, 2):
        raise Malformed("dhcp.bad_op", f"op {op}")
    if hlen > 16:
        raise Malformed("dhcp.bad_hlen", f"hardware address length {hlen}")
    hw = chaddr[:hlen]
    msg = DhcpMessage(
        op=op, xid=xid, hops=hops, secs=secs, broadcast=bool(flags & 0x8000),
        # RFC 1700 hardware type 1 is Ethernet: show it as a MAC address, others as hex.
        client_mac=hw.hex(":") if htype == 1 and hlen == 6 else hw.hex(),
        ciaddr=_ip(ciaddr), yiaddr=_ip(yiaddr), siaddr=_ip(siaddr), giaddr=_ip(giaddr))
    if data[236:240] != MAGIC_COOKIE:
        msg.bootp = True
        _fixed_strings(msg, sname, bootfile, 0)
        return msg
    values: dict[int, bytes] = {}
    msg.error = _options(data, 240, len(data), values, msg)
    raw_overload = values.get(OPT_OVERLOAD)
    overload = raw_overload[0] if raw_overload else 0
    # RFC 2131 section 4.1: with overload, 'file' is read before 'sname'.
    if msg.error is None and overload & 1:
        msg.error = _options(bootfile, 0, len(bootfile), values, msg)
    if msg.error is None and overload & 2:
        msg.error = _options(sname, 0, len(sname), values, msg)
    _fixed_strings(msg, sname, bootfile, overload)
    _interpret(values, msg)
    return msg


def _fixed_strings(msg: DhcpMessage, sname: bytes, bootfile: bytes, overload: int) -> None:
    if not overload & 2:
        name = sname.split(b"\0", 1)[0]
        if name:
            msg.server_name = name.decode("utf-8", "replace")
    if not overload & 1:
        file = bootfile.split(b"\0", 1)[0]
        if file:
            msg.boot_file = file.decode("utf-8", "replace")


def _options(data: bytes, pos: int, end: int, values: dict[int, bytes],
             msg: DhcpMessage) -> tuple[str, str] | None:
    order = msg.options
    while pos < end:
        code = data[pos]
        if code == OPT_PAD:
            pos += 1
            continue
        if code == OPT_END:
            return None
        if pos + 2 > end:
            return ("dhcp.bad_option_length", f"option {code} has no length byte")
        stop = pos + 2 + data[pos + 1]
        if stop > end:
            return ("dhcp.bad_option_length",
                    f"option {code} length {data[pos + 1]} runs past the message")
        if code in values:
            values[code] += data[pos + 2:stop]
        else:
            values[code] = data[pos + 2:stop]
            if len(order) < MAX_OPTION_CODES:
                order.append(code)
            else:
                msg.truncated = True
        pos = stop
    return None


def _interpret(values: dict[int, bytes], msg: DhcpMessage) -> None:
    """Typed fields from the raw option values; a value of the wrong size is left out."""
    get = values.get
    raw = get(OPT_MESSAGE_TYPE)
    if raw is not None:
        if len(raw) == 1:
            msg.message_type = raw[0]
        elif msg.error is None:
            msg.error = ("dhcp.bad_message_type", f"option 53 has {len(raw)} bytes")
    if (raw := get(OPT_REQUESTED_IP)) is not None and len(raw) == 4:
        msg.requested_ip = _ip(raw)
    if (raw := get(OPT_SERVER_ID)) is not None and len(raw) == 4:
        msg.server_id = _ip(raw)
    if (raw := get(OPT_SUBNET_MASK)) is not None and len(raw) == 4:
        msg.subnet_mask = _ip(raw)
    if (raw := get(OPT_LEASE_TIME)) is not None:
        msg.lease_time = _u32(raw)
    if (raw := get(OPT_RENEWAL_TIME)) is not None:
        msg.renewal_time = _u32(raw)
    if (raw := get(OPT_REBINDING_TIME)) is not None:
        msg.rebinding_time = _u32(raw)
    if (raw := get(OPT_MAX_MESSAGE_SIZE)) is not None and len(raw) == 2:
        msg.max_message_size = struct.unpack("!H", raw)[0]
    if (raw := get(OPT_HOSTNAME)) is not None:
        msg.hostname = text(raw)
    if (raw := get(OPT_DOMAIN_NAME)) is not None:
        msg.domain = text(raw)
    if (raw := get(OPT_VENDOR_CLASS)) is not None:
        msg.vendor_class = text(raw)
    if (raw := get(OPT_USER_CLASS)) is not None:
        msg.user_class = text(raw)
    if (raw := get(OPT_MESSAGE)) is not None:
        msg.message = text(raw)
    if (raw := get(OPT_CLIENT_ID)) is not None:
        msg.client_id = raw.hex(":")
    if (raw := get(OPT_PARAM_LIST)) is not None:
        msg.param_list = tuple(raw)
    if (raw := get(OPT_ROUTERS)) is not None:
        msg.routers = _ip_list(raw, msg)
    if (raw := get(OPT_DNS_SERVERS)) is not None:
        msg.dns_servers = _ip_list(raw, msg)
    if (raw := get(OPT_NTP_SERVERS)) is not None:
        msg.ntp_servers = _ip_list(raw, msg)
    if (raw := get(OPT_TFTP_SERVER)) is not None:
        msg.server_name = text(raw)
    if (raw := get(OPT_TFTP_BOOTFILE)) is not None:
        msg.boot_file = text(raw)
    if (raw := get(OPT_CLIENT_FQDN)) is not None and len(raw) >= 3:
        # RFC 4702 section 2: flags, two deprecated RCODE bytes, then the name; the E flag
        # (0x04) says canonical wire format, otherwise (deprecated) ASCII.
        msg.fqdn = dns_name(raw, 3) if raw[0] & 0x04 else text(raw[3:])
    if (raw := get(OPT_RELAY_AGENT)) is not None:
        _relay_agent(raw, msg)


def _relay_agent(raw: bytes, msg: DhcpMessage) -> None:
    """RFC 3046 section 2.0: sub-options 1 (agent circuit id) and 2 (agent remote id)."""
    pos, end = 0, len(raw)
    while pos + 2 <= end:
        sub, n = raw[pos], raw[pos + 1]
        value = raw[pos + 2:pos + 2 + n]
        if sub == 1:
            msg.circuit_id = value.hex(":")
        elif sub == 2:
            msg.remote_id = value.hex(":")
        pos += 2 + n

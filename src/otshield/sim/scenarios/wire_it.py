"""IT protocol messages the scenarios write: ARP, DNS TXT, HTTP, RDP connection setup.

The builders return bytes (payloads or whole Ethernet frames for ARP) and the ``*_exchange``
helpers write a request and its answer through a :class:`ScenarioContext`. References:
ARP RFC 826; DNS RFC 1035 section 4.1 (TXT: 3.3.14); HTTP/1.1 RFC 9112; RDP connection request
and confirm [MS-RDPBCGR] 2.2.1.1 and 2.2.1.2 inside X.224 (ITU-T X.224 13.3/13.4) and TPKT
(RFC 1006).
"""

from __future__ import annotations

import ipaddress
import struct

from otshield.demo import tpkt
from otshield.pcapwriter import (
    TcpConversation,
    ethernet,
    ipv4,
    mac_bytes,
    tcp_segment,
    udp_datagram,
)
from otshield.sim.scenario import ScenarioContext, SimAsset

__all__ = [
    "BROADCAST",
    "arp_announce",
    "arp_reply",
    "arp_request",
    "dns_exchange",
    "dns_name",
    "dns_txt_answer",
    "dns_txt_query",
    "http_get",
    "http_response",
    "rdp_connect",
    "tcp_frame",
    "udp_frame",
]

BROADCAST = "ff:ff:ff:ff:ff:ff"
_ARP_PAD = bytes(18)
"""Ethernet pads a 28-byte ARP message to the 46-byte minimum payload."""


def _ip(addr: str) -> bytes:
    return ipaddress.IPv4Address(addr).packed


# -- bare segments ----------------------------------------------------------------------------
def tcp_frame(src: SimAsset, dst: SimAsset, sport: int, dport: int, seq: int, ack: int,
              flags: int, window: int = 64240) -> bytes:
    """One TCP segment without payload (a probe, its answer, a flood packet) in a frame."""
    seg = tcp_segment(src.ip, dst.ip, sport, dport, seq, ack, flags, window=window)
    return ethernet(src.mac, dst.mac, 0x0800, ipv4(src.ip, dst.ip, 6, seg))


def udp_frame(src: SimAsset, dst: SimAsset, sport: int, dport: int, payload: bytes) -> bytes:
    """One UDP datagram in a frame (for datagrams timed by the scenario itself)."""
    seg = udp_datagram(src.ip, dst.ip, sport, dport, payload)
    return ethernet(src.mac, dst.mac, 0x0800, ipv4(src.ip, dst.ip, 17, seg))


# -- ARP ------------------------------------------------------------------------------------------
def _arp(op: int, sender_mac: str, sender_ip: str, target_mac: str, target_ip: str) -> bytes:
    return (struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac_bytes(sender_mac) + _ip(sender_ip)
            + mac_bytes(target_mac) + _ip(target_ip))


def arp_request(sender: SimAsset, target_ip: str) -> bytes:
    """Who has ``target_ip``? Tell ``sender`` (broadcast)."""
    body = _arp(1, sender.mac, sender.ip, "00:00:00:00:00:00", target_ip)
    return ethernet(sender.mac, BROADCAST, 0x0806, body + _ARP_PAD)


def arp_reply(sender_mac: str, claimed_ip: str, to: SimAsset) -> bytes:
    """``claimed_ip`` is at ``sender_mac``, sent to ``to`` (an honest or a forged answer)."""
    body = _arp(2, sender_mac, claimed_ip, to.mac, to.ip)
    return ethernet(sender_mac, to.mac, 0x0806, body + _ARP_PAD)


def arp_announce(sender_mac: str, claimed_ip: str, to_mac: str) -> bytes:
    """A gratuitous ARP reply (sender and target protocol address both ``claimed_ip``) sent to
    ``to_mac``: "``claimed_ip`` is at ``sender_mac``", the form ARP spoofing tools use to
    overwrite a victim's cache entry."""
    body = _arp(2, sender_mac, claimed_ip, sender_mac, claimed_ip)
    return ethernet(sender_mac, to_mac, 0x0806, body + _ARP_PAD)


# -- DNS ------------------------------------------------------------------------------------------
def dns_name(name: str) -> bytes:
    """A domain name in labels (each at most 63 octets, RFC 1035 2.3.4)."""
    labels = [p.encode("ascii") for p in name.rstrip(".").split(".")]
    if any(not 0 < len(p) <= 63 for p in labels):
        raise ValueError(f"bad DNS name {name!r}")
    return b"".join(bytes([len(p)]) + p for p in labels) + b"\0"


def dns_txt_query(qid: int, name: str) -> bytes:
    """A recursive TXT query."""
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack(
        "!HH", 16, 1)


def dns_txt_answer(qid: int, name: str, text: bytes, ttl: int = 1) -> bytes:
    """The answer to :func:`dns_txt_query`: one TXT record (one character-string)."""
    if len(text) > 255:
        raise ValueError("a TXT character-string holds at most 255 octets")
    rdata = bytes([len(text)]) + text
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, ttl, len(rdata)) + rdata
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + dns_name(name)
            + struct.pack("!HH", 16, 1) + rr)


# -- HTTP -----------------------------------------------------------------------------------------
_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
      "Chrome/124.0 Safari/537.36"


def http_get(host: str, path: str, user_agent: str = _UA, extra: str = "") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
            f"Accept: */*\r\n{extra}Connection: close\r\n\r\n").encode("ascii")


def http_response(body: bytes, content_type: str, status: str = "200 OK",
                  server: str = "nginx", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status}\r\nServer: {server}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n")
    return head.encode("ascii") + body


# -- RDP ------------------------------------------------------------------------------------------
def rdp_connect(conv: TcpConversation, user: str) -> None:
    """X.224 connection request with the ``mstshash`` cookie and an RDP negotiation request
    (TLS and CredSSP), and the server's confirm selecting CredSSP; the TLS that follows is not
    written (its content is encrypted, the monitor reads the setup)."""
    cookie = f"Cookie: mstshash={user}\r\n".encode("ascii")
    neg_req = struct.pack("<BBHI", 1, 0, 8, 0x0B)  # PROTOCOL_SSL | HYBRID | HYBRID_EX
    cr = cookie + neg_req
    conv.send(True, tpkt(bytes([6 + len(cr), 0xE0, 0, 0, 0, 0, 0]) + cr))
    neg_rsp = struct.pack("<BBHI", 2, 0x1F, 8, 0x02)  # HYBRID (CredSSP) selected
    conv.send(False, tpkt(bytes([6 + len(neg_rsp), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg_rsp))


def dns_exchange(ctx: ScenarioContext, client: SimAsset, resolver: SimAsset, sport: int,
                 query: bytes, answer: bytes) -> None:
    """A DNS query over UDP and its answer."""
    ctx.udp(client, resolver, sport, 53, query)
    ctx.udp(resolver, client, 53, sport, answer)

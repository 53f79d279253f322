"""Routable GOOSE (R-GOOSE): GOOSE carried in UDP datagrams (port 102) between substations.

References: IEC 61850-90-5 (2012) 11 (session protocol) and IEC 61850-8-1 Ed.2.1 Annex K:
a datagram is an ISO 8602 connectionless transport (CLTP) unit-data header (LI, then 0x40 UD),
then the session header: session identifier (0xA1 GOOSE, 0xA2 SV, 0xA0 tunnelled,
0xA3 management), its length, the common header (0x80 and its length), SPDU length (4 octets),
SPDU number (4), version (2), security information (time of current key 4, time of next key 2,
key id 4, initialisation vector length 1 and the vector), then the session user information:
payload length (4) and payload elements, each a type tag (0x81 GOOSE, 0x82 SV, 0x83 tunnelled,
0x84 management), simulation flag (1), APPID (2), APDU length (2) and the APDU, which for
GOOSE is the same goosePdu as on Ethernet. An HMAC signature (0x85) may follow.

Each GOOSE payload is handed to the same publisher tracker as Ethernet GOOSE, with an Ethernet
style header built from its APPID and simulation flag, so the same rules and events apply; the
events carry the UDP flow's IP addresses instead of MAC addresses. Other payload types (R-SV,
tunnelled frames, management) are reported once per flow as not decoded.
"""

from __future__ import annotations

import struct
from typing import cast

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.events import Event, LinkFields
from otshield.protocols.base import FlowContext
from otshield.protocols.goose.header import SIMULATE_BIT
from otshield.protocols.goose.session import GooseSession

__all__ = ["RGOOSE_PORT", "RGooseSession", "parse_datagram", "probe"]

RGOOSE_PORT = 102
_SESSION_IDS = {0xA0: "tunnelled", 0xA1: "goose", 0xA2: "sv", 0xA3: "management"}
_PAYLOAD_TYPES = {0x81: "goose", 0x82: "sv", 0x83: "tunnelled", 0x84: "management"}
_COMMON = struct.Struct("!IIH")  # SPDU length, SPDU number, version
_ELEMENT = struct.Struct("!BBHH")  # type tag, simulation, APPID, APDU length
_P = "goose"


def probe(buf: bytes, from_client: bool) -> bool:
    """A CLTP unit-data header followed by an IEC 61850-90-5 session identifier."""
    return (len(buf) >= 4 and buf[0] >= 1 and buf[1] == 0x40 and len(buf) > buf[0] + 1
            and buf[buf[0] + 1] in _SESSION_IDS)


def parse_datagram(buf: bytes) -> tuple[int, list[tuple[int, bool, int, bytes]]]:
    """(SPDU number, payload elements as (type tag, simulation, APPID, APDU)).

    Raises ``Malformed('goose.rgoose_bad_header')`` when a length disagrees with the data."""
    if len(buf) < 2 or buf[1] != 0x40:
        raise Malformed(f"{_P}.rgoose_bad_header", "not a CLTP unit-data header")
    off = 1 + buf[0]
    if off + 2 > len(buf) or buf[off] not in _SESSION_IDS:
        raise Malformed(f"{_P}.rgoose_bad_header", "no session identifier")
    hdr_end = off + 2 + buf[off + 1]
    if hdr_end > len(buf) or buf[off + 1] < 2 or buf[off + 2] != 0x80:
        raise Malformed(f"{_P}.rgoose_bad_header", "session header truncated or no common header")
    pos = off + 4
    if pos + _COMMON.size + 11 > hdr_end:
        raise Malformed(f"{_P}.rgoose_bad_header", "common header truncated")
    _spdu_len, spdu_number, _version = _COMMON.unpack_from(buf, pos)
    pos += _COMMON.size + 10  # time of current key, time of next key, key id
    pos += 1 + buf[pos]  # initialisation vector
    if pos != hdr_end or pos + 4 > len(buf):
        raise Malformed(f"{_P}.rgoose_bad_header", "security information length disagrees")
    payload_len = int.from_bytes(buf[pos:pos + 4], "big")
    pos += 4
    end = pos + payload_len
    if end > len(buf):
        raise Malformed(f"{_P}.rgoose_bad_header",
                        f"payload of {payload_len} octets beyond the datagram")
    elements: list[tuple[int, bool, int, bytes]] = []
    while pos < end:
        if pos + _ELEMENT.size > end:
            raise Malformed(f"{_P}.rgoose_bad_header", "payload element header truncated")
        tag, sim, appid, apdu_len = _ELEMENT.unpack_from(buf, pos)
        pos += _ELEMENT.size
        if pos + apdu_len > end:
            raise Malformed(f"{_P}.rgoose_bad_header", "APDU beyond the payload")
        elements.append((tag, sim != 0, appid, buf[pos:pos + apdu_len]))
        pos += apdu_len
    return spdu_number, elements


class _FlowLink:
    """The link-layer context the GOOSE tracker expects, over a UDP flow: the publisher is
    the flow's client (the sender of the first datagram) and fields carry its IP address."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.src_mac = ""
        self.dst_mac = ""
        self.vlan: int | None = None
        self.settings: Settings = flow.settings
        self.ts = flow.ts  # set from the flow before each datagram
        self.frame = flow.frame

    def fields(self) -> LinkFields:
        # the flow's fields (IP addresses, ports) plus empty MAC ones: GOOSE events accept both
        return cast(LinkFields, {**self.flow.fields(True), "src_mac": "", "dst_mac": "",
                                 "vlan": None})

    def emit(self, event: Event) -> None:
        self.flow.emit(event)

    def anomaly(self, code: str, detail: str) -> None:
        self.flow.anomaly(code, detail, True)


class RGooseSession:
    """One UDP flow of R-GOOSE datagrams."""

    __slots__ = ("flow", "goose", "link", "unsupported")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.link = _FlowLink(flow)
        self.goose = GooseSession(self.link)
        self.unsupported: set[int] = set()

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        try:
            _number, elements = parse_datagram(frame)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)
            return
        self.link.ts, self.link.frame = self.flow.ts, self.flow.frame
        for tag, sim, appid, apdu in elements:
            if tag == 0x81:
                head = struct.pack("!HHHH", appid, 8 + len(apdu), SIMULATE_BIT if sim else 0, 0)
                self.goose.on_frame(head + apdu)
            elif tag not in self.unsupported:
                self.unsupported.add(tag)
                self.flow.anomaly(f"{_P}.rgoose_unsupported",
                                  f"{_PAYLOAD_TYPES.get(tag, f'type 0x{tag:02x}')} payload "
                                  "not decoded", from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """UDP only: datagrams come through ``on_frame``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """UDP only: no stream gaps."""

    def close(self) -> None:
        self.link.ts, self.link.frame = self.flow.ts, self.flow.frame
        self.goose.close()

"""Fuzzing: random and mutated input raises nothing but ``Malformed`` from the BACnet parsers
and service decoders, and nothing at all from the sessions."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.bacnet.parser import (
    parse_apdu,
    parse_bvlc,
    parse_llc,
    parse_network_message,
    parse_npdu,
    probe,
)
from otshield.protocols.bacnet.services import (
    ACK_DECODERS,
    CONFIRMED_DECODERS,
    UNCONFIRMED_DECODERS,
    Detail,
    decode_error,
)
from otshield.protocols.bacnet.session import BacnetIpSession, BacnetLinkSession
from otshield.protocols.bacnet.tags import TagReader
from protocols import bacnet_build as B
from protocols.bacnet_build import RecordingLink

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RP = B.ctx_object(0, 0, 1) + B.ctx_unsigned(1, 85)
SAMPLES = [
    B.broadcast(B.npdu(B.unconfirmed(8, B.ctx_unsigned(0, 1) + B.ctx_unsigned(1, 9)))),
    B.broadcast(B.npdu(B.unconfirmed(0, B.app_object(8, 5) + B.app_unsigned(480)
                                     + B.app_enum(3) + B.app_unsigned(260)))),
    B.unicast(B.npdu(B.confirmed(12, 1, RP), expecting_reply=True, dnet=5, dadr=b"\x0a")),
    B.unicast(B.npdu(B.complex_ack(12, 1, RP + B.constructed(
        3, B.app_real(1.0), B.app_string("x"), B.app_bits("101"), B.app_date(2024, 1, 1, 1),
        B.app_time(1, 2, 3, 4), B.app_double(2.0), B.app_signed(-3), B.app_octets(b"ab"),
        B.app_null(), B.app_bool(True))), snet=5, sadr=b"\x0a")),
    B.unicast(B.npdu(B.confirmed(14, 2, B.ctx_object(0, 8, 1) + B.constructed(
        1, B.ctx_unsigned(0, 77), B.ctx_unsigned(0, 76) + B.ctx_unsigned(1, 0))))),
    B.unicast(B.npdu(B.complex_ack(14, 2, B.ctx_object(0, 8, 1) + B.constructed(
        1, B.ctx_unsigned(2, 77) + B.constructed(4, B.app_string("dev")),
        B.ctx_unsigned(2, 28) + B.constructed(5, B.app_enum(2), B.app_enum(32)))))),
    B.unicast(B.npdu(B.confirmed(16, 3, B.ctx_object(0, 1, 0) + B.constructed(
        1, B.ctx_unsigned(0, 85) + B.constructed(2, B.app_real(5.0)) + B.ctx_unsigned(3, 8)),
        segmented=True, more=False))),
    B.unicast(B.npdu(B.error_pdu(12, 4, 2, 32))),
    B.unicast(B.npdu(B.reject_pdu(4, 9))),
    B.unicast(B.npdu(B.abort_pdu(4, 4))),
    B.forwarded("10.0.0.9", 47808, B.npdu(B.unconfirmed(6, B.app_date(2024, 1, 1, 1)
                                                         + B.app_time(1, 2, 3, 4)))),
    B.broadcast(B.npdu(b"\x00\x05\x00\x06", message=0x01)),
    B.bvlc(0x03, bytes(10)),
    B.bvlc(0x05, b"\x00\x3c"),
    B.unicast(B.npdu(B.confirmed(20, 5, B.ctx_unsigned(0, 1) + B.ctx_string(1, "pw")))),
    B.unicast(B.npdu(B.confirmed(7, 6, B.app_object(10, 1) + B.constructed(
        0, B.app_signed(0), B.app_octets(b"data"))))),
]


def _contract(fn: object, *args: object) -> None:
    with contextlib.suppress(Malformed):
        fn(*args)  # type: ignore[operator]


@FUZZ
@given(st.binary(max_size=120))
def test_parsers_random(data: bytes) -> None:
    probe(data, True)
    _contract(parse_bvlc, data)
    _contract(parse_llc, data)
    _contract(parse_npdu, data, 0)
    with contextlib.suppress(Malformed):
        npdu = parse_npdu(data, 0)
        if npdu.message is not None:
            parse_network_message(npdu, data)
    _contract(parse_apdu, data, 0)
    _contract(decode_error, TagReader(data))
    with contextlib.suppress(Malformed):
        TagReader(data).values(0)
    for table in (CONFIRMED_DECODERS, UNCONFIRMED_DECODERS, ACK_DECODERS):
        for decoder in table.values():
            _contract(decoder, TagReader(data), Detail())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    buf = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 2))
        pos = draw(st.integers(0, max(0, len(buf) - 1)))
        if kind == 0 and buf:
            buf[pos] = draw(st.integers(0, 255))
        elif kind == 1:
            del buf[pos:pos + draw(st.integers(1, 4))]
        else:
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    if len(buf) >= 4 and draw(st.booleans()):  # keep the BVLC length right, to go deeper
        buf[2:4] = len(buf).to_bytes(2, "big")
    return bytes(buf)


@FUZZ
@given(st.lists(st.tuples(mutated(), st.booleans()), min_size=1, max_size=12))
def test_ip_session_never_raises(frames: list[tuple[bytes, bool]]) -> None:
    flow = RecordingFlow(("10.0.0.1", 47808), ("10.0.0.2", 47808), transport="udp",
                         settings=Settings(max_pending_requests=3, max_frame_bytes=200))
    session = BacnetIpSession(flow)
    for payload, from_client in frames:
        flow.frame += 1
        flow.ts += 0.5
        session.on_frame(payload, from_client)
    session.close()


@FUZZ
@given(st.lists(st.tuples(mutated(), st.booleans()), min_size=1, max_size=12))
def test_link_session_never_raises(frames: list[tuple[bytes, bool]]) -> None:
    link = RecordingLink()
    session = BacnetLinkSession(link)
    for payload, forward in frames:
        npdu = payload[4:] if payload[:1] == b"\x81" else payload
        src, dst = ("00:00:00:00:00:01", "00:00:00:00:00:02")[:: 1 if forward else -1]
        link.send(session, src, dst, b"\x82\x82\x03" + npdu)
    session.close()

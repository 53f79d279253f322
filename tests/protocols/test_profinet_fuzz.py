"""Fuzzing (hypothesis): random and mutated frames raise nothing but ``Malformed`` from the
PROFINET DCP/RT, PNIO CM, EtherCAT and POWERLINK parsers, and nothing at all from their
sessions."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.base import LinkSession
from otshield.protocols.ethercat.parser import parse as parse_ecat
from otshield.protocols.ethercat.session import EthercatSession
from otshield.protocols.pnio_cm.parser import parse_body, parse_header, probe
from otshield.protocols.pnio_cm.session import PnioCmSession
from otshield.protocols.powerlink.parser import parse as parse_epl
from otshield.protocols.powerlink.session import PowerlinkSession
from otshield.protocols.profinet_dcp.parser import parse as parse_dcp
from otshield.protocols.profinet_rt.parser import parse_alarm, trailer
from otshield.protocols.profinet_rt.session import ProfinetRtSession
from protocols.profinet_build import (
    CONTROLLER,
    DEVICE,
    RecordingLink,
    alarm_notification,
    ar_block_req,
    dcp,
    dcp_block,
    ecat_datagram,
    ecat_frame,
    epl,
    epl_ident,
    ip4,
    ndr_request,
    ndr_response,
    rpc,
    rt_cyclic,
    rta,
    rw_header,
)

ACT = uuid.UUID("13142f90-0000-1000-a994-d2106890ca5a")
AR = uuid.UUID("7c74224e-166c-4a58-bf6b-6c25a75870f0")

SEEDS: list[bytes] = [
    dcp(0xFEFF, 5, 1, 1, dcp_block(2, 2, b"dev", b"\0\0") + dcp_block(
        1, 3, ip4("1.2.3.4") * 7, b"\0\1") + dcp_block(2, 5, b"\x02\x02\x01\x02", b"\0\0")),
    dcp(0xFEFD, 4, 0, 2, dcp_block(5, 6, b"", b"\0\4") + dcp_block(5, 3, b"\1\0", b"\0\0")),
    dcp(0xFEFD, 3, 0, 3, b"\x01\x02\x02\x02"),
    dcp(0xFEFD, 4, 1, 2, dcp_block(5, 4, b"\x02\x02\x00")),
    rt_cyclic(0xC000, 100),
    rta(0xFC01, 1, alarm_notification(1, 1, 0, 1, 1)),
    rta(0xFE01, 4, bytes.fromhex("cf81fd0f")),
    b"\xff\x80\x10\x00" + bytes(30),
]
RPC_SEEDS: list[bytes] = [
    rpc(0, 0, ACT, 0, ndr_request(ar_block_req(AR, 1, bytes(6), b"plc"))),
    rpc(2, 2, ACT, 1, ndr_response(0, rw_header(0x8009, AR, 0, 0, 1, 0xAFF0, 60) + bytes(60)),
        flags1=0x28),
    rpc(0, 0, ACT, 4, b"\x00" * 40, flags1=0x24, fragnum=0),
    rpc(0, 4, ACT, 2, ndr_request(b""), little=False),
]
ECAT_SEEDS: list[bytes] = [
    ecat_frame(ecat_datagram(5, 1, 0x1000, 0x120, b"\x08\x00", 0, more=True),
               ecat_datagram(12, 2, 0, 0x10, bytes(8), 3)),
    ecat_frame(b"\x00\x00", ftype=4),
]
EPL_SEEDS: list[bytes] = [
    epl_ident(17, 0x1D, 0x191, 1, 2, 3, 4, "10.0.0.1", "n"),
    epl(0x06, 17, 240, b"\x04\x21\x00"), epl(0x05, 255, 240, bytes.fromhex("fd000001112000")),
    epl(0x04, 255, 17, b"\xfd\x00\x00"), epl(0x06, 255, 17, b"\x02\x00\x00\x6d"),
]


def _mutate(seed: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    b = bytearray(seed)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b[:cut]) if cut < len(b) else bytes(b)


def _only_malformed(fn: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(Malformed):
        fn(data)


mutations = st.tuples(st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)),
                               max_size=6), st.integers(0, 400))
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.binary(max_size=300), st.sampled_from(range(len(SEEDS))), mutations)
def test_profinet_parsers(data: bytes, i: int, m: tuple[list[tuple[int, int]], int]) -> None:
    for d in (data, _mutate(SEEDS[i], *m)):
        _only_malformed(parse_dcp, d[2:])
        _only_malformed(trailer, d)
        _only_malformed(parse_alarm, d)


@fuzz
@given(st.binary(max_size=300), st.sampled_from(range(len(RPC_SEEDS))), mutations,
       st.booleans())
def test_pnio_cm_parsers(data: bytes, i: int, m: tuple[list[tuple[int, int]], int],
                         little: bool) -> None:
    for d in (data, _mutate(RPC_SEEDS[i], *m)):
        probe(d, True)
        _only_malformed(parse_header, d)
        _only_malformed(lambda b: parse_body(b, little, True), d[80:])
        _only_malformed(lambda b: parse_body(b, little, False), d[80:])


@fuzz
@given(st.binary(max_size=300), st.sampled_from(range(len(ECAT_SEEDS))),
       st.sampled_from(range(len(EPL_SEEDS))), mutations)
def test_fieldbus_parsers(data: bytes, i: int, j: int, m: tuple[list[tuple[int, int]], int]
                          ) -> None:
    for d in (data, _mutate(ECAT_SEEDS[i], *m), _mutate(EPL_SEEDS[j], *m)):
        _only_malformed(parse_ecat, d)
        _only_malformed(parse_epl, d)


@fuzz
@given(st.lists(st.tuples(st.sampled_from(range(len(SEEDS))), mutations, st.booleans()),
                max_size=12), st.lists(st.binary(max_size=80), max_size=4))
def test_link_sessions_never_raise(frames: list[tuple[int, tuple[list[tuple[int, int]], int],
                                                      bool]], junk: list[bytes]) -> None:
    tiny = Settings(max_pending_requests=2)
    link = RecordingLink(tiny)
    sessions: list[LinkSession] = [ProfinetRtSession(link), EthercatSession(link),
                                   PowerlinkSession(link)]
    for k, (i, m, flip) in enumerate(frames):
        if flip:
            link.at(CONTROLLER, DEVICE)
        else:
            link.at(DEVICE, CONTROLLER)
        sessions[0].on_frame(_mutate(SEEDS[i], *m))
        sessions[1].on_frame(_mutate(ECAT_SEEDS[k % len(ECAT_SEEDS)], *m))
        sessions[2].on_frame(_mutate(EPL_SEEDS[k % len(EPL_SEEDS)], *m))
    for j in junk:
        for s in sessions:
            s.on_frame(j)
    for s in sessions:
        s.close()


@fuzz
@given(st.lists(st.tuples(st.sampled_from(range(len(RPC_SEEDS))), mutations, st.booleans()),
                max_size=12))
def test_pnio_cm_session_never_raises(frames: list[tuple[int, tuple[list[tuple[int, int]], int],
                                                         bool]]) -> None:
    flow = RecordingFlow(("10.0.0.1", 49153), ("10.0.0.2", 34964), transport="udp",
                         settings=Settings(max_pending_requests=2, max_frame_bytes=256))
    s = PnioCmSession(flow)
    for i, m, fc in frames:
        s.on_frame(_mutate(RPC_SEEDS[i], *m), fc)
    s.close()

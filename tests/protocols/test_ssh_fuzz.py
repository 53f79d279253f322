"""SSH fuzzing: parsers raise nothing but Malformed; the session fed random bytes or a mutated
key exchange never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.ssh.parser import packet_size, parse_banner, parse_disconnect, parse_kexinit
from otshield.protocols.ssh.session import SshSession

from .it_a_build import FakeFlow
from .test_ssh import conversation


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_parsers_on_random_bytes(data: bytes) -> None:
    for fn in (packet_size, parse_banner, parse_kexinit, parse_disconnect):
        try:
            fn(data)
        except Malformed as bad:
            assert bad.code.startswith("ssh.")
    try:
        parse_kexinit(b"\x14" + data)
    except Malformed as bad:
        assert bad.code == "ssh.invalid_kexinit"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=10))
def test_session_random_data(chunks: list[tuple[bool, bytes]]) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 22))
    session = SshSession(flow)
    for from_client, data in chunks:
        session.on_data(b"SSH-2.0-x\r\n" + data if data[:1] == b"S" else data, from_client)
    session.close()
    assert len(flow.of("ssh")) <= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 7), st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)),
                                   min_size=1, max_size=4), st.integers(1, 50))
def test_session_mutated_key_exchange(which: int, flips: list[tuple[int, int]],
                                      chunk: int) -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 22))
    session = SshSession(flow)
    for index, (from_client, data) in enumerate(conversation()):
        if index == which:
            mutable = bytearray(data)
            for pos, value in flips:
                mutable[pos % len(mutable)] = value
            data = bytes(mutable)
        for i in range(0, len(data), chunk):
            session.on_data(data[i:i + chunk], from_client)
    session.close()
    assert len(flow.of("ssh")) <= 1

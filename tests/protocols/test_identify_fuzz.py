"""Fuzzing the nine identify-depth decoders: random and mutated input reaches every probe,
framer and parser, and nothing but ``Malformed`` (with the protocol's own, declared code) comes
out; their sessions fed random units never raise."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.base import ProtocolSpec

from .identify_build import FakeFlow, genisys, mc3e_request, mc3e_response, sbus
from .test_identify_protocols import HELLO, _sedp_data

NAMES = ["melsec", "fox", "bsap", "sbus", "cnip", "dlms", "c1222", "rtps", "genisys"]

SEEDS: dict[str, list[bytes]] = {
    "melsec": [mc3e_request(0x0401, 0, b"\x64\x00\x00\xa8\x02\x00"), mc3e_response(0),
               b"\x54\x00\x01\x00\x00\x00" + mc3e_request(0x1002, 0)[2:],
               b"500000FF03FF000018001004010000D*0001000002",
               bytes.fromhex("57000000001111070000ffff030000000000" "00" "0400" "1c021614"),
               b"\x5a\x00\x00\x01", b"\xda\x00\x00\x01\x14\x00\xc0\xa8\x03\x65"],
    "fox": [HELLO[:-1], b"fox a 1 -1 fox challenge\n{\nmethod=s:digest-md5\n};;"],
    "bsap": [bytes.fromhex("0e0001000600834b0000744b000010000000" "0c834b0000a0000401400f01"),
             bytes.fromhex("0e000000000000000000754b0000"),
             bytes.fromhex("100201eba0e30803000401400f0110" "03a94d"),
             bytes.fromhex("1002" "81" "eb" "0100" "0200" "00" "a0" "e308" "03" "00" "04"
                           "1003" "0000")],
    "sbus": [sbus(1, 0, b"\x0a\x20"), sbus(2, 1, b"data", version=0), sbus(3, 2, b"\x00\x01")],
    "cnip": [bytes.fromhex("001c0101000000006b8b45670000000100000000000901a901aa0123")],
    "dlms": [bytes.fromhex("000100100001000dc001c100080000010000ff0200"),
             bytes.fromhex("7ea0070321930f017e"),
             bytes.fromhex("7ea010032110fbafe6e600601da10900007e")],
    "c1222": [bytes.fromhex("601ba20806062b0601040101a6040d028101be092807810580033000 01"
                            .replace(" ", ""))],
    "rtps": [b"RTPS\x02\x03\x01\x10" + bytes(12) + b"\x09\x01\x08\x00" + bytes(8)
             + _sedp_data("t"), b"RTPS\x02\x01\x01\x01NDDSPING"],
    "genisys": [genisys(0xFB, 1), genisys(0xF2, 1, b"\x00\x05\x01\xf4"), b"\xf1\x01\xf6",
                genisys(0xFE, 3, b"\x01\x02")],
}

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _modules(name: str) -> tuple[ModuleType, ProtocolSpec]:
    return (importlib.import_module(f"otshield.protocols.{name}.parser"),
            importlib.import_module(f"otshield.protocols.{name}").SPEC)


def _check(name: str, frame: bytes) -> None:
    parser, spec = _modules(name)
    calls: list[Callable[[], object]] = [lambda: parser.parse(frame, True),
                                         lambda: parser.parse(frame, False)]
    if spec.frame_size is not None and frame:
        calls.append(lambda: spec.frame_size(frame))  # type: ignore[misc]
    for call in calls:
        try:
            call()
        except Malformed as m:
            assert m.code in spec.anomaly_codes, m.code
        except IndexError:
            if frame:  # parse is only ever handed non-empty units
                raise
    assert spec.probe is not None
    spec.probe(frame, True)
    spec.probe(frame, False)


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    frame = bytearray(draw(st.sampled_from(SEEDS[name])))
    for _ in range(draw(st.integers(0, 5))):
        action = draw(st.sampled_from(["flip", "cut", "grow", "set"]))
        if action == "flip" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut" and frame:
            del frame[draw(st.integers(1, len(frame))):]
        elif action == "grow":
            frame += draw(st.binary(max_size=32))
        elif action == "set" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    return bytes(frame)


@pytest.mark.parametrize("name", NAMES)
def test_seeds_parse(name: str) -> None:
    parser, spec = _modules(name)
    for seed in SEEDS[name]:
        parser.parse(seed, True)
        assert spec.probe is not None


@pytest.mark.parametrize("name", NAMES)
def test_random_bytes(name: str) -> None:
    @FUZZ
    @given(st.binary(min_size=1, max_size=200))
    def run(frame: bytes) -> None:
        _check(name, frame)

    run()


@pytest.mark.parametrize("name", NAMES)
def test_mutated(name: str) -> None:
    @FUZZ
    @given(mutated(name))
    def run(frame: bytes) -> None:
        if frame:
            _check(name, frame)

    run()


@pytest.mark.parametrize("name", NAMES)
def test_sessions_never_raise(name: str) -> None:
    _, spec = _modules(name)

    @FUZZ
    @given(st.lists(st.tuples(st.booleans(), st.one_of(mutated(name), st.binary(min_size=1,
                                                                                 max_size=64))),
                    max_size=20))
    def run(units: list[tuple[bool, bytes]]) -> None:
        flow = FakeFlow()
        session = spec.session_factory(flow)
        for from_client, unit in units:
            flow.step()
            if spec.frame_size is not None:
                size = None
                with contextlib.suppress(Malformed):
                    size = spec.frame_size(unit)
                if size != len(unit):
                    continue  # the engine hands a TCP session whole units only
            session.on_frame(unit, from_client)
        session.close()

    run()

"""Fuzzing: random and mutated input raises nothing but ``Malformed`` from the MMS, session,
presentation and ACSE parsers and from TPKT framing; sessions fed random frames never raise."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.mms import probe
from otshield.protocols.mms.osi import parse_acse, parse_ppdu, parse_spdu
from otshield.protocols.mms.parser import parse_mms
from otshield.protocols.mms.session import MmsSession
from otshield.protocols.tpkt import frame_size
from protocols.mms_build import (
    FakeFlow,
    aare,
    aarq,
    ac,
    cn,
    confirmed_request,
    confirmed_response,
    cp,
    cpa,
    ctx,
    d_bits,
    d_float,
    d_struct,
    d_utc,
    d_vstr,
    data,
    dom_name,
    dt,
    file_name,
    information_report,
    initiate_request,
    initiate_response,
    list_of_variable,
    variable_list_name,
    vmd_name,
    vstr,
)

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
F = False

MMS_SAMPLES = [
    confirmed_request(1, 4, ctx(1, list_of_variable(dom_name("LD0", "LLN0$ST$Beh")))),
    confirmed_response(1, 4, ctx(1, d_float(1.5) + d_struct(d_bits("0101"),
                                                            d_utc(1, 2, 3)))),
    confirmed_request(2, 5, list_of_variable(dom_name("C", "CSWI1$CO$Pos$Oper"))
                      + ctx(0, d_struct(ctx(3, b"\x01", F)))),
    confirmed_response(3, 1, ctx(0, vstr("a") + vstr("b")) + ctx(1, b"\x00", F)),
    confirmed_response(4, 2, ctx(0, b"v", F) + ctx(1, b"m", F) + ctx(2, b"r", F)),
    confirmed_request(5, 72, ctx(0, file_name("x")) + ctx(1, b"\x00", F)),
    confirmed_response(6, 77, ctx(0, b"") + ctx(1, b"\x00", F)),
    information_report(variable_list_name(vmd_name("RPT")), d_vstr("id"), d_bits("01")),
    initiate_request("1110"),
    initiate_response("111"),
    bytes.fromhex("a20d800104a208a003870102820178"),
    bytes.fromhex("a406800105850101"),
]
SESSION_SAMPLES = [cn(cp(aarq(initiate_request("1"), mechanism="2.2.3.1", password=b"p"))),
                   ac(cpa(aare(initiate_response("1")))), data(MMS_SAMPLES[0])]


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(base: bytes, pos: int, value: int, cut: int) -> bytes:
        b = bytearray(base)
        b[pos % len(b)] = value
        return bytes(b[:max(1, len(b) - cut)])

    samples = st.sampled_from(MMS_SAMPLES + SESSION_SAMPLES)
    return st.builds(mutate, samples, st.integers(0, 400), st.integers(0, 255),
                     st.integers(0, 20))


def _only_malformed(call: object, *args: object) -> None:
    with contextlib.suppress(Malformed):
        call(*args)  # type: ignore[operator]


@FUZZ
@given(st.binary(max_size=300))
def test_parsers_random(raw: bytes) -> None:
    _only_malformed(parse_mms, raw)
    _only_malformed(parse_spdu, raw)
    for si in (1, 13, 14, 12, 25):
        _only_malformed(parse_ppdu, raw, 0, len(raw), si)
    _only_malformed(parse_acse, raw, 0, len(raw))
    _only_malformed(frame_size, raw)
    probe(raw, True)


@FUZZ
@given(_mutations())
def test_parsers_mutated(raw: bytes) -> None:
    _only_malformed(parse_mms, raw)
    _only_malformed(parse_spdu, raw)
    _only_malformed(parse_acse, raw, 0, len(raw))
    for si in (1, 13, 14):
        _only_malformed(parse_ppdu, raw, 0, len(raw), si)


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.one_of(st.binary(max_size=120), _mutations())),
                max_size=12))
def test_session_never_raises(frames: list[tuple[bool, bytes]]) -> None:
    flow = FakeFlow()
    session = MmsSession(flow)
    for from_client, payload in frames:
        flow.frame += 1
        session.on_frame(dt(payload) if len(payload) % 3 else payload, from_client)
        if len(payload) == 7:
            session.on_gap(from_client, 10)
    session.close()
    for e in flow.events:
        if e.__struct_config__.tag == "anomaly":
            assert e.code.split(".")[0] in ("mms", "cotp", "tpkt")  # type: ignore[attr-defined]


@FUZZ
@given(st.lists(_mutations(), max_size=6))
def test_session_mutated_units(units: list[bytes]) -> None:
    flow = FakeFlow()
    session = MmsSession(flow)
    for i, unit in enumerate(units):
        flow.frame += 1
        session.on_frame(dt(data(unit) if i % 2 else unit), bool(i % 2))
    session.close()

"""Telnet: IAC stripping and option negotiation across chunk boundaries (RFC 854/855), the
TTYPE and NEW-ENVIRON subnegotiations (RFC 1091, RFC 1572), login recognition (never the
password), a golden capture (also replayed in 1-byte and random segments), tshark agreement on
the terminal types, fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.protocols.telnet import SPEC, probe
from otshield.protocols.telnet.parser import (
    MAX_SUBNEGOTIATION,
    TelnetDecoder,
    environ_user,
    terminal_type,
)
from otshield.protocols.telnet.session import MAX_COMMANDS, TelnetSession
from protocols.it_b_build import (
    FakeFlow,
    anomaly_codes,
    corpus_for,
    decoded,
    one_byte,
    random_sizes,
    resegmented_events_equal,
    strip,
    write_tcp,
)
from resegment import resegment
from support import corpus_params, tshark_fields, without_position
from support import decode as decode_capture

IAC, DO, WILL, WONT, DONT, SB, SE = 255, 253, 251, 252, 254, 250, 240
CLIENT, SERVER = ("10.20.0.5", 51000), ("10.20.0.1", 23)
C, S = True, False


def iac(*codes: int) -> bytes:
    return bytes([IAC, *codes])


TTYPE_IS = iac(SB, 24, 0) + b"VT100" + iac(SE)                 # TTYPE IS "VT100"
ENV_USER = iac(SB, 39, 0, 0) + b"USER" + b"\x01" + b"oper" + iac(SE)  # NEW-ENVIRON IS VAR USER

UNIX_LOGIN: list[tuple[bool, bytes]] = [
    (S, iac(DO, 24) + iac(DO, 31) + iac(WILL, 1) + iac(WILL, 3)),   # TTYPE?, NAWS?, echo, SGA
    (C, iac(WILL, 24) + iac(WONT, 31) + iac(DO, 1) + iac(DO, 3)),
    (S, iac(SB, 24, 1) + iac(SE)),                                  # TTYPE SEND
    (C, TTYPE_IS),
    (S, b"\r\nHMI-GW (Linux 4.19)\r\n\r\nhmi-gw login: "),
    (C, b"r"), (S, b"r"), (C, b"o"), (S, b"o"), (C, b"x\x7f"), (S, b"x\x08 \x08"),
    (C, b"ot"), (S, b"ot"), (C, b"\r\x00"), (S, b"\r\n"),          # "root" after a backspace
    (S, b"Password: "),
    (C, b"hunter2\r\n"),                                            # never echoed, never kept
    (S, b"\r\nLast login: Tue Mar  5 10:01:02 on ttyS0\r\nroot@hmi-gw:~# "),
    (C, b"cat /etc/passwd\r\n"),
    (S, b"root:x:0:0:root:/root:/bin/sh\r\n" + b"\xff\xff" + b"\r\nroot@hmi-gw:~# "),
    (C, b"\x1b[Aexit\r\n"),                                         # arrow key noise first
]

EXPECTED: dict[str, Any] = {
    "banner": "HMI-GW (Linux 4.19)\r\n\r\nhmi-gw login:", "options": ["TTYPE", "ECHO", "SGA"],
    "terminal_type": "VT100", "login_prompt": True, "user": "root", "password_sent": True,
    "login_attempts": 1, "login_result": "success", "commands": ["cat /etc/passwd", "[Aexit"],
}


# -- decoder -------------------------------------------------------------------------------------

def test_decoder_strips_commands_across_chunks() -> None:
    stream = b"ab" + iac(WILL, 1) + b"c\xff\xffd" + TTYPE_IS + iac(241) + b"e"
    for step in (1, 2, 3, len(stream)):
        dec = TelnetDecoder()
        text = b"".join(dec.feed(stream[i:i + step]) for i in range(0, len(stream), step))
        assert text == b"abc\xffde"
        assert dec.negotiations == [(WILL, 1)]
        assert dec.subnegotiations == [(24, b"\x00VT100")]


def test_subnegotiation_limits_and_escapes() -> None:
    dec = TelnetDecoder()
    dec.feed(iac(SB, 24, 0) + b"A\xff\xffB" + iac(SE))               # IAC IAC inside SB
    assert dec.subnegotiations == [(24, b"\x00A\xffB")]
    dec.feed(iac(SB, 39) + b"x" * (MAX_SUBNEGOTIATION + 50) + iac(SE))
    assert dec.overlong and len(dec.subnegotiations[-1][1]) == MAX_SUBNEGOTIATION - 1
    dec2 = TelnetDecoder()
    assert dec2.feed(iac(SB, 24, 0) + b"X" + iac(WILL, 3) + b"z") == b"z"  # SB ended by WILL
    assert dec2.negotiations == [(WILL, 3)] and dec2.subnegotiations == [(24, b"\x00X")]


def test_subnegotiation_readers() -> None:
    assert terminal_type(b"\x00xterm") == "xterm" and terminal_type(b"\x01") is None
    assert environ_user(b"\x00\x00USER\x01oper") == "oper"
    assert environ_user(b"\x00\x03DISPLAY\x01:0\x00USER\x01a\x02\x01b") == "a\x01b"  # ESC
    assert environ_user(b"\x01\x00USER") is None                  # SEND, not IS
    assert environ_user(b"\x00\x00TERM\x01vt") is None


def test_probe() -> None:
    assert probe(iac(DO, 24) + iac(DO, 32), False)
    assert not probe(b"SSH-2.0-OpenSSH\r\n", False)


# -- session -------------------------------------------------------------------------------------

def run(messages: list[tuple[bool, bytes]], step: int = 0) -> FakeFlow:
    flow = FakeFlow(client=CLIENT, server=SERVER)
    s = TelnetSession(flow)
    for from_client, data in messages:
        flow.step()
        n = step or len(data)
        for i in range(0, len(data), n):
            s.on_data(data[i:i + n], from_client)
    s.close()
    return flow


def test_unix_login_in_memory() -> None:
    for step in (0, 1):
        flow = run(UNIX_LOGIN, step)
        (event,) = strip(flow.events, "telnet")
        assert {k: v for k, v in event.items() if not k.endswith("_bytes")} == EXPECTED
        assert flow.codes() == ["telnet.cleartext_login"]
        assert "hunter2" not in repr(flow.events)


def test_network_device_failed_then_enable_password() -> None:
    flow = run([
        (S, b"\r\n\r\nUser Access Verification\r\n\r\nUsername: "), (C, b"admin\r"),
        (S, b"Password: "), (C, b"cisco\r"),
        (S, b"\r\n% Login invalid\r\n\r\nUsername: "), (C, b"admin\r"),
        (S, b"Password: "), (C, b"Cisco123\r"),
        (S, b"\r\nsw-cell3>"), (C, b"enable\r"), (S, b"\r\nPassword: "), (C, b"Secret9\r"),
        (S, b"\r\nsw-cell3#"), (C, b"show running-config\r"), (S, b"\r\nBuilding...\r\n")])
    (e,) = flow.of("telnet")
    assert (e.user, e.login_attempts, e.login_result, e.password_sent) == ("admin", 3, "success",
                                                                          True)
    assert e.commands == ("enable", "show running-config")
    assert e.banner == "User Access Verification\r\n\r\nUsername:"
    for secret in ("cisco", "Cisco123", "Secret9"):
        assert secret not in repr(flow.events)


def test_env_user_injection_and_bounded_commands() -> None:
    flow = run([(C, iac(SB, 39, 0, 0) + b"USER\x01-froot" + iac(SE)), (S, b"$ ")])
    assert flow.codes() == ["telnet.env_user_injection"]
    assert flow.of("telnet")[0].env_user == "-froot"
    lines = [(C, f"echo {i}\r\n".encode()) for i in range(MAX_COMMANDS + 5)]
    flow = run([(S, b"login: "), (C, b"u\r\n"), (S, b"Password:"), (C, b"p\r\n"),
                (S, b"Welcome\r\n$ "), *lines])
    (e,) = flow.of("telnet")
    assert len(e.commands) == MAX_COMMANDS and e.commands_truncated


def test_no_login_and_binary_server() -> None:
    flow = run([(S, b"\x00\xc3\x28\xa0\xa1" * 10), (C, b"hello\r\n")])
    (e,) = flow.of("telnet")
    assert e.banner is None and e.user is None and e.password_sent is None
    assert e.client_bytes == 7 and e.server_bytes == 50


# -- golden capture ------------------------------------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    pcap = write_tcp(tmp_path / "telnet.pcap", UNIX_LOGIN, client=CLIENT, server=SERVER)
    events = decode_capture(pcap)
    (event,) = strip(events, "telnet")
    client_bytes = sum(len(d) for fc, d in UNIX_LOGIN if fc)
    server_bytes = sum(len(d) for fc, d in UNIX_LOGIN if not fc)
    assert event == {**EXPECTED, "client_bytes": client_bytes, "server_bytes": server_bytes}
    assert anomaly_codes(events) == ["telnet.cleartext_login"]
    for name, split in (("one", one_byte), ("random", random_sizes(5))):
        out = tmp_path / f"telnet_{name}.pcap"
        resegment(pcap, out, split)
        assert without_position(decode_capture(out)) == without_position(events)


# -- tshark --------------------------------------------------------------------------------------

@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("telnet")))
def test_tshark_agreement(capture: object) -> None:
    """Per connection: the terminal type the client announced (TTYPE IS) is one of the string
    suboptions tshark decodes on it (tshark lists XDISPLOC and TTYPE values together)."""
    path = capture.path  # type: ignore[attr-defined]
    ours = {(e.src_ip, e.src_port): e for e in decoded(path)
            if e.__struct_config__.tag == "telnet"}
    rows = tshark_fields(path, ["ip.src", "tcp.srcport", "telnet.string_subopt.value"],
                         "telnet.string_subopt.value && tcp.dstport == 23")
    values: dict[tuple[str, int], set[str]] = {}
    for _, src, port, vals in rows:
        values.setdefault((src, int(port)), set()).update(vals.split(","))
    agree = sum(1 for k, v in values.items() if k in ours and ours[k].terminal_type in v)
    print(f"telnet {path.name}: {agree}/{len(values)} connections agree (terminal type)")
    assert values and agree == len(values)


# -- fuzz ----------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=60)), max_size=12),
       st.integers(1, 16))
def test_fuzz_random_streams(chunks: list[tuple[bool, bytes]], step: int) -> None:
    flow = FakeFlow(client=CLIENT, server=SERVER)
    s = TelnetSession(flow)
    for from_client, data in chunks:
        for i in range(0, len(data), step):
            s.on_data(data[i:i + step], from_client)
    s.on_gap(False, 3)
    s.close()
    assert len(flow.of("telnet")) == 1
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("telnet")))
def test_corpus_resegmented(capture: object, tmp_path: Path) -> None:
    n, equal = resegmented_events_equal(capture.path, tmp_path,  # type: ignore[attr-defined]
                                        {"telnet"})
    assert n and equal

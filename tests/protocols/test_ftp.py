"""FTP control channel: line parsing (RFC 959 4.1-4.2, RFC 2428), the session's command/reply
pairing and state, findings (clear-text credentials, PORT bounce), a golden conversation (also
replayed in 1-byte and random segments), tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.protocols.ftp import SPEC, probe
from otshield.protocols.ftp.parser import (
    parse_257,
    parse_command,
    parse_eprt,
    parse_epsv,
    parse_port,
    parse_reply_line,
    parse_size,
    strip_telnet,
)
from otshield.protocols.ftp.session import MAX_LINE, FtpSession
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

CLIENT, SERVER = ("192.168.5.20", 40500), ("192.168.5.2", 21)
C, S = True, False

CONVERSATION: list[tuple[bool, bytes]] = [
    (S, b"220-Historian FTP service\r\n220-Authorized use only\r\n220 Ready.\r\n"),
    (C, b"USER engineer\r\n"),
    (S, b"331 Password required for engineer.\r\n"),
    (C, b"PASS S3cret!\r\n"),
    (S, b"230 User engineer logged in.\r\n"),
    (C, b"PWD\r\n"),
    (S, b'257 "/home/engineer" is current directory.\r\n'),
    (C, b"CWD projects/line2\r\n"),
    (S, b"250 CWD command successful.\r\n"),
    (C, b"TYPE I\r\n"),
    (S, b"200 Type set to I.\r\n"),
    (C, b"PASV\r\n"),
    (S, b"227 Entering Passive Mode (192,168,5,2,195,80).\r\n"),
    (C, b"RETR recipe.csv\r\n"),
    (S, b"150 Opening BINARY mode data connection for recipe.csv (2048 bytes).\r\n"),
    (S, b"226 Transfer complete.\r\n"),
    (C, b"PORT 10,66,6,6,7,138\r\n"),   # a third host: the bounce pattern
    (S, b"200 PORT command successful.\r\n"),
    (C, b"STOR \xff\xf4\xff\xf2plc_update.bin\r\n"),  # Telnet IP/DM noise before the name
    (S, b"150 Opening data connection.\r\n"),
    (S, b"550 Permission denied.\r\n"),
    (C, b"CDUP\r\n"),
    (S, b"250 CDUP command successful.\r\n"),
    (C, b"EPSV\r\n"),
    (S, b"229 Entering Extended Passive Mode (|||50012|)\r\n"),
    (C, b"QUIT\r\n"),
]

U = {"user": "engineer"}
EXPECTED: list[dict[str, Any]] = [
    {"reply_code": 220, "reply_msg": "Historian FTP service"},
    {"command": "USER", "arg": "engineer", "reply_code": 331,
     "reply_msg": "Password required for engineer.", **U},
    {"command": "PASS", "reply_code": 230, "reply_msg": "User engineer logged in.", **U,
     "password_present": True, "login_success": True},
    {"command": "PWD", "reply_code": 257, "reply_msg": '"/home/engineer" is current directory.',
     **U},
    {"command": "CWD", "arg": "projects/line2", "reply_code": 250,
     "reply_msg": "CWD command successful.", **U, "file": "projects/line2",
     "cwd": "/home/engineer"},
    {"command": "TYPE", "arg": "I", "reply_code": 200, "reply_msg": "Type set to I.", **U,
     "cwd": "/home/engineer/projects/line2"},
    {"command": "PASV", "reply_code": 227,
     "reply_msg": "Entering Passive Mode (192,168,5,2,195,80).", **U,
     "cwd": "/home/engineer/projects/line2", "data_host": "192.168.5.2", "data_port": 50000,
     "passive": True},
    {"command": "RETR", "arg": "recipe.csv", "reply_code": 226,
     "reply_msg": "Transfer complete.", "preliminary_code": 150, **U, "file": "recipe.csv",
     "file_size": 2048, "cwd": "/home/engineer/projects/line2"},
    {"command": "PORT", "arg": "10,66,6,6,7,138", "reply_code": 200,
     "reply_msg": "PORT command successful.", **U, "cwd": "/home/engineer/projects/line2",
     "data_host": "10.66.6.6", "data_port": 1930, "passive": False},
    {"command": "STOR", "arg": "plc_update.bin", "reply_code": 550,
     "reply_msg": "Permission denied.", "preliminary_code": 150, **U, "file": "plc_update.bin",
     "cwd": "/home/engineer/projects/line2"},
    {"command": "CDUP", "reply_code": 250, "reply_msg": "CDUP command successful.", **U,
     "cwd": "/home/engineer/projects/line2"},
    {"command": "EPSV", "reply_code": 229,
     "reply_msg": "Entering Extended Passive Mode (|||50012|)", **U,
     "cwd": "/home/engineer/projects", "data_host": "192.168.5.2", "data_port": 50012,
     "passive": True},
    {"command": "QUIT", "unanswered": True, **U, "cwd": "/home/engineer/projects"},
]


# -- parser --------------------------------------------------------------------------------------

def test_line_parsers() -> None:
    assert parse_command(b"retr a b.txt") == ("RETR", "a b.txt")
    assert parse_command(b"") is None and parse_command(b"\x16\x03\x01") is None
    r = parse_reply_line(b"230-Welcome")
    assert r is not None and (r.code, r.more, r.text) == (230, True, "Welcome")
    assert parse_reply_line(b"99 too short") is None and parse_reply_line(b"700 x") is None
    assert parse_port("10,0,0,1,4,1") == ("10.0.0.1", 1025)
    assert parse_port("(300,0,0,1,4,1)") is None
    assert parse_eprt("|1|132.235.1.2|6275|") == ("132.235.1.2", 6275)
    assert parse_eprt("|2|1080::8:800:200C:417A|5282|") == ("1080::8:800:200C:417A", 5282)
    assert parse_eprt("|1|x|") is None
    assert parse_epsv("Entering Extended Passive Mode (|||6446|)") == 6446
    assert parse_size("Opening (123 bytes)") == 123 and parse_size("Opening") is None
    assert parse_257('"/a ""b"" c" created') == '/a "b" c'
    assert strip_telnet(b"\xff\xf4\xff\xf2ABOR") == b"ABOR"
    assert strip_telnet(b"a\xff\xffb") == b"a\xffb"


def test_probe() -> None:
    assert probe(b"220 ProFTPD ready\r\n", False)
    assert not probe(b"220 ProFTPD ready\r\n", True) and not probe(b"SSH-2.0", False)


# -- session -------------------------------------------------------------------------------------

def run(messages: list[tuple[bool, bytes]], step: int = 0,
        flow: FakeFlow | None = None) -> FakeFlow:
    flow = flow or FakeFlow(client=CLIENT, server=SERVER)
    s = FtpSession(flow)
    for from_client, data in messages:
        flow.step()
        for i in range(0, len(data), step or len(data)):
            s.on_data(data[i:i + (step or len(data))], from_client)
    s.close()
    return flow


def test_conversation_in_memory() -> None:
    for step in (0, 1, 5):
        flow = run(CONVERSATION, step)
        assert strip(flow.events, "ftp") == EXPECTED
        assert flow.codes() == ["ftp.cleartext_credentials", "ftp.port_bounce"]


def test_anonymous_login_is_not_flagged_and_failures_are_seen() -> None:
    flow = run([(S, b"220 ok\r\n"), (C, b"USER anonymous\r\n"), (S, b"331 send email\r\n"),
                (C, b"PASS guest@\r\n"), (S, b"230 ok\r\n"), (C, b"USER root\r\n"),
                (S, b"331 pw\r\n"), (C, b"PASS toor\r\n"), (S, b"530 Login incorrect.\r\n")])
    assert flow.codes() == ["ftp.cleartext_credentials"]
    passes = [e for e in flow.of("ftp") if e.command == "PASS"]
    assert [(e.user, e.login_success, e.arg) for e in passes] == [
        ("anonymous", True, None), ("root", False, None)]


def test_auth_tls_stops_decoding() -> None:
    flow = run([(S, b"220 ok\r\n"), (C, b"AUTH TLS\r\n"), (S, b"234 Proceed.\r\n"),
                (C, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40),
                (S, b"\x16\x03\x03\x00\x5d")])
    assert [(e.command, e.tls) for e in flow.of("ftp")] == [(None, None), ("AUTH", True)]
    assert flow.codes() == []


def test_limits() -> None:
    flow = FakeFlow(client=CLIENT, server=SERVER, settings=Settings(max_pending_requests=2))
    run([(C, b"NOOP\r\nNOOP\r\nNOOP\r\n"), (C, b"X" * (MAX_LINE + 10) + b"\r\nNOOP\r\n"),
         (S, b"200 ok\r\n"), (S, b"garbage\r\n"), (S, b"421 bye\r\n")], flow=flow)
    assert flow.codes() == ["ftp.too_many_pending", "ftp.line_too_long",
                            "ftp.too_many_pending", "ftp.bad_reply"]
    assert [(e.command, e.reply_code, e.unanswered) for e in flow.of("ftp")] == [
        ("NOOP", None, True), ("NOOP", None, True), ("NOOP", 200, None), ("NOOP", 421, None)]


def test_gap_resynchronises_at_the_next_line() -> None:
    flow = FakeFlow(client=CLIENT, server=SERVER)
    s = FtpSession(flow)
    s.on_data(b"RETR half", True)
    s.on_gap(True, 100)
    s.on_data(b"-of-a-name\r\nNOOP\r\n", True)  # the tail of a lost line is dropped
    s.on_gap(True, 20)
    s.on_data(b"SYST\r\n", True)  # a segment that starts with a command starts a line
    s.on_data(b"200 ok\r\n", False)
    s.on_gap(False, 40)  # replies lost: SYST can no longer be paired
    s.on_data(b"215 UNIX Type: L8\r\n", False)
    assert [(e.command, e.reply_code, e.unanswered) for e in flow.of("ftp")] == [
        ("NOOP", 200, None), ("SYST", None, True), (None, 215, None)]


# -- golden capture ------------------------------------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    pcap = write_tcp(tmp_path / "ftp.pcap", CONVERSATION, client=CLIENT, server=SERVER)
    events = decode_capture(pcap)
    assert strip(events, "ftp") == EXPECTED
    assert anomaly_codes(events) == ["ftp.cleartext_credentials", "ftp.port_bounce"]
    ftp = [e for e in events if e.__struct_config__.tag == "ftp"]
    assert (ftp[0].src_ip, ftp[1].src_ip) == (SERVER[0], CLIENT[0])  # banner from the server
    for name, split in (("one", one_byte), ("random", random_sizes(3))):
        out = tmp_path / f"ftp_{name}.pcap"
        resegment(pcap, out, split)
        assert without_position(decode_capture(out)) == without_position(events)


# -- tshark --------------------------------------------------------------------------------------

@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("ftp")))
def test_tshark_agreement(capture: object) -> None:
    """The sequence of commands and of final reply codes per connection."""
    path = capture.path  # type: ignore[attr-defined]
    ours = [e for e in decoded(path) if e.__struct_config__.tag == "ftp"]
    rows = tshark_fields(path, ["tcp.stream", "ftp.request.command", "ftp.response.code"],
                         "ftp")
    theirs_cmds = [r[2] for r in rows if r[2]]
    theirs_codes = [int(c) for r in rows for c in r[3].split(",") if c and int(c) >= 200]
    mine_cmds = [e.command for e in ours if e.command is not None]
    mine_codes = [e.reply_code for e in ours if e.reply_code is not None]
    # tshark lists every line of a multi-line reply that starts with a code; we count each
    # reply once, so compare the distinct replies tshark marks as final (not continuation)
    agree_cmds = sum(a == b for a, b in zip(mine_cmds, theirs_cmds, strict=False))
    print(f"ftp {path.name}: commands {agree_cmds}/{len(theirs_cmds)} agree in order;"
          f" final replies ours {len(mine_codes)}, tshark {len(theirs_codes)}")
    assert mine_cmds == theirs_cmds
    assert mine_codes == theirs_codes


# -- fuzz ----------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=80)), max_size=12),
       st.integers(1, 20))
def test_fuzz_random_streams(chunks: list[tuple[bool, bytes]], step: int) -> None:
    flow = FakeFlow(client=CLIENT, server=SERVER, settings=Settings(max_pending_requests=3))
    s = FtpSession(flow)
    for from_client, data in chunks:
        for i in range(0, len(data), step):
            s.on_data(data[i:i + step], from_client)
    s.on_gap(True, 5)
    s.close()
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(CONVERSATION) - 1), st.integers(0, 60),
                          st.integers(0, 255)), max_size=6))
def test_fuzz_mutated_conversation(flips: list[tuple[int, int, int]]) -> None:
    msgs = [bytearray(m) for _, m in CONVERSATION]
    for i, pos, value in flips:
        if pos < len(msgs[i]):
            msgs[i][pos] = value
    flow = run([(fc, bytes(m)) for (fc, _), m in zip(CONVERSATION, msgs, strict=True)])
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("ftp")))
def test_corpus_resegmented(capture: object, tmp_path: Path) -> None:
    n, equal = resegmented_events_equal(capture.path, tmp_path,  # type: ignore[attr-defined]
                                        {"ftp"})
    assert n and equal

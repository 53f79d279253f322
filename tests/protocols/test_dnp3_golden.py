"""Golden tests: DNP3 conversations written with otshield.pcapwriter, decoded by the engine,
compared with the events IEEE 1815 says they are; then the same conversations re-segmented
(1-octet and random TCP segments) must give identical events."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.config import Settings
from protocols.dnp3_build import (
    MASTER,
    OUTSTATION,
    Capture,
    decode_dnp3,
    dnp3_time,
    frames,
    header,
    link_frame,
    of,
    request,
    response,
    segments,
    write_udp,
)
from support import require_tshark, tshark_fields, without_position

T1 = 1_700_000_000_250  # ms since 1970
T2 = 1_700_000_100_000
Chunker = Callable[[int], list[int]] | None


def _file_command(name: bytes) -> bytes:
    body = struct.pack("<HH", 26, len(name)) + dnp3_time(T1) + struct.pack(
        "<HIIHHH", 0o644, 0, 0, 1, 1024, 7) + name
    return header(70, 3, 0x5B, 1) + struct.pack("<H", len(body)) + body


def write_conversation(path: Path, chunker: Chunker = None) -> Path:
    """The scripted master/outstation exchange the golden expectations describe."""
    c = Capture(path, chunker=chunker)
    m, o = True, False
    c.send(m, link_frame(0xC9, OUTSTATION, MASTER))                       # REQUEST_LINK_STATUS
    c.send(o, link_frame(0x0B, MASTER, OUTSTATION))                       # LINK_STATUS
    # integrity poll: class 1, 2, 3, 0
    c.send(m, frames(request(1, 0, header(60, 2, 6), header(60, 3, 6), header(60, 4, 6),
                             header(60, 1, 6)), m))
    c.send(o, frames(response(
        0, 0x90, 0x00,                                                     # RESTART, NEED_TIME
        header(1, 2, 0x00, 0, 2), bytes([0x81, 0x01, 0x81]),              # g1v2 points 0-2
        header(30, 5, 0x00, 0, 1), struct.pack("<BfBf", 1, 1.5, 1, -2.0),  # g30v5 points 0-1
        header(20, 1, 0x00, 0, 0), struct.pack("<BI", 1, 1234),           # g20v1 point 0
        header(2, 2, 0x28, 1), struct.pack("<HB", 2, 0x81) + dnp3_time(T1),  # g2v2 index 2
    ), o))
    # time synchronisation, then clear the restart indication
    c.send(m, frames(request(2, 1, header(50, 1, 0x07, 1), dnp3_time(T2)), m))
    c.send(o, frames(response(1, 0x80, 0x00), o))
    c.send(m, frames(request(2, 2, header(80, 1, 0x00, 7, 7), b"\x00"), m))
    c.send(o, frames(response(2), o))
    # select / operate a relay: latch on, once, 100 ms on-time
    crob = header(12, 1, 0x28, 1) + struct.pack("<HBBIIB", 3, 0x03, 1, 100, 0, 0)
    c.send(m, frames(request(3, 3, crob), m))
    c.send(o, frames(response(3, 0, 0, crob), o))
    c.send(m, frames(request(4, 4, crob), m))
    c.send(o, frames(response(4, 0, 0, crob), o))
    # direct operate an analog output in confirmed user data: the link ACK is not an event
    aob = header(41, 2, 0x28, 1) + struct.pack("<HhB", 1, 1234, 0)
    c.send(m, frames(request(5, 5, aob), m, confirmed=True))
    c.send(o, link_frame(0x00, MASTER, OUTSTATION))                       # link ACK
    c.send(o, frames(response(5, 0, 0, header(41, 2, 0x28, 1),
                              struct.pack("<HhB", 1, 1234, 4)), o))       # NOT_SUPPORTED
    # cold restart: the outstation answers with the delay before it is back (5 s)
    c.send(m, frames(request(13, 6), m))
    c.send(o, frames(response(6, 0, 0, header(52, 1, 0x07, 1), struct.pack("<H", 5)), o))
    # a response in two fragments, the first spread over three transport segments
    c.send(m, frames(request(1, 7, header(30, 0, 0x06)), m))
    values = b"".join(struct.pack("<Bi", 1, i * 100) for i in range(100))
    c.send(o, frames(response(7, 0, 0, header(30, 1, 0x01, 0, 99), values, fin=False,
                              con=True), o, tseq=20))
    c.send(m, frames(request(0, 7), m))                                   # CONFIRM
    c.send(o, frames(response(8, 0, 0, header(30, 2, 0x00, 100, 101),
                              struct.pack("<BhBh", 1, -1, 1, 2), fir=False), o, tseq=23))
    # an unsolicited binary input event and its confirmation
    c.send(o, frames(response(9, 0x02, 0x00, header(2, 1, 0x17, 1), b"\x01\x01",
                              function=130, con=True, uns=True), o, tseq=24))
    c.send(m, frames(request(0, 9, uns=True), m))
    # file transfer: open a file for reading
    c.send(m, frames(request(25, 10, _file_command(b"/cfg/settings.xml")), m))
    status = struct.pack("<IIHHB", 0x1234, 5000, 1024, 7, 0)
    c.send(o, frames(response(10, 0, 0, header(70, 4, 0x5B, 1),
                              struct.pack("<H", len(status)), status), o, tseq=25))
    # device attributes
    c.send(m, frames(request(1, 11, header(0, 254, 0x00, 0, 0)), m))
    c.send(o, frames(response(11, 0, 0, header(0, 252, 0x00, 0, 0), b"\x01\x09ACME Corp",
                              header(0, 242, 0x00, 0, 0), b"\x01\x051.2.3"), o, tseq=26))
    # delay measurement, enable unsolicited responses
    c.send(m, frames(request(23, 12), m))
    c.send(o, frames(response(12, 0, 0, header(52, 2, 0x07, 1), struct.pack("<H", 42)), o,
                     tseq=27))
    c.send(m, frames(request(20, 13, header(60, 2, 6), header(60, 3, 6), header(60, 4, 6)), m))
    c.send(o, frames(response(13), o, tseq=28))
    return c.close()


def _shape(e: Any) -> tuple[Any, ...]:
    return (("M" if e.src_ip == "10.20.0.1" else "O"), e.function, e.seq, e.request_function,
            e.iin, [(o.group, o.variation, o.qualifier, o.start, o.stop, o.count)
                    for o in e.objects])


EXPECTED_SHAPE = [
    ("M", "READ", 0, None, None, [(60, 2, 6, None, None, 0), (60, 3, 6, None, None, 0),
                                  (60, 4, 6, None, None, 0), (60, 1, 6, None, None, 0)]),
    ("O", "RESPONSE", 0, "READ", 0x9000, [(1, 2, 0, 0, 2, 3), (30, 5, 0, 0, 1, 2),
                                          (20, 1, 0, 0, 0, 1), (2, 2, 0x28, None, None, 1)]),
    ("M", "WRITE", 1, None, None, [(50, 1, 7, None, None, 1)]),
    ("O", "RESPONSE", 1, "WRITE", 0x8000, []),
    ("M", "WRITE", 2, None, None, [(80, 1, 0, 7, 7, 1)]),
    ("O", "RESPONSE", 2, "WRITE", 0, []),
    ("M", "SELECT", 3, None, None, [(12, 1, 0x28, None, None, 1)]),
    ("O", "RESPONSE", 3, "SELECT", 0, [(12, 1, 0x28, None, None, 1)]),
    ("M", "OPERATE", 4, None, None, [(12, 1, 0x28, None, None, 1)]),
    ("O", "RESPONSE", 4, "OPERATE", 0, [(12, 1, 0x28, None, None, 1)]),
    ("M", "DIRECT_OPERATE", 5, None, None, [(41, 2, 0x28, None, None, 1)]),
    ("O", "RESPONSE", 5, "DIRECT_OPERATE", 0, [(41, 2, 0x28, None, None, 1)]),
    ("M", "COLD_RESTART", 6, None, None, []),
    ("O", "RESPONSE", 6, "COLD_RESTART", 0, [(52, 1, 7, None, None, 1)]),
    ("M", "READ", 7, None, None, [(30, 0, 6, None, None, 0)]),
    ("O", "RESPONSE", 7, "READ", 0, [(30, 1, 1, 0, 99, 100)]),
    ("M", "CONFIRM", 7, None, None, []),
    ("O", "RESPONSE", 8, "READ", 0, [(30, 2, 0, 100, 101, 2)]),
    ("O", "UNSOLICITED_RESPONSE", 9, None, 0x0200, [(2, 1, 0x17, None, None, 1)]),
    ("M", "CONFIRM", 9, None, None, []),
    ("M", "OPEN_FILE", 10, None, None, [(70, 3, 0x5B, None, None, 1)]),
    ("O", "RESPONSE", 10, "OPEN_FILE", 0, [(70, 4, 0x5B, None, None, 1)]),
    ("M", "READ", 11, None, None, [(0, 254, 0, 0, 0, 1)]),
    ("O", "RESPONSE", 11, "READ", 0, [(0, 252, 0, 0, 0, 1), (0, 242, 0, 0, 0, 1)]),
    ("M", "DELAY_MEASURE", 12, None, None, []),
    ("O", "RESPONSE", 12, "DELAY_MEASURE", 0, [(52, 2, 7, None, None, 1)]),
    ("M", "ENABLE_UNSOLICITED", 13, None, None, [(60, 2, 6, None, None, 0),
                                                 (60, 3, 6, None, None, 0),
                                                 (60, 4, 6, None, None, 0)]),
    ("O", "RESPONSE", 13, "ENABLE_UNSOLICITED", 0, []),
]


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    path = write_conversation(tmp_path_factory.mktemp("dnp3") / "golden.pcap")
    return path, decode_dnp3(path)


def test_golden_fragments(golden: tuple[Path, list[Any]]) -> None:
    _, events = golden
    assert [_shape(e) for e in of(events, "dnp3")] == EXPECTED_SHAPE
    assert [a.code for a in of(events, "anomaly")] == []
    links = [(e.function, e.src_ip) for e in of(events, "dnp3_link")]
    assert links == [("REQUEST_LINK_STATUS", "10.20.0.1"), ("LINK_STATUS", "10.20.0.2")]


def test_golden_values(golden: tuple[Path, list[Any]]) -> None:
    ev = of(golden[1], "dnp3")
    poll = ev[1]
    assert poll.iin_flags == ("NEED_TIME", "DEVICE_RESTART")
    binaries, analogs, counter, event = poll.objects
    assert [(p.index, p.state, p.flags) for p in binaries.points] == [
        (0, True, ("ONLINE",)), (1, False, ("ONLINE",)), (2, True, ("ONLINE",))]
    assert [(p.index, p.value) for p in analogs.points] == [(0, 1.5), (1, -2.0)]
    assert (counter.points[0].value, event.points[0].index, event.points[0].time) == (
        1234, 2, T1 / 1000)
    assert ev[2].device_time == T2 / 1000                           # time sync written
    assert ev[4].objects[0].points[0].state is False                # IIN1.7 cleared
    crob = ev[6].objects[0].points[0]
    assert (crob.index, crob.op_type, crob.tcc, crob.count, crob.on_time_ms, crob.status) == (
        3, "LATCH_ON", "NUL", 1, 100, "SUCCESS")
    assert ev[10].link_function == "CONFIRMED_USER_DATA"
    assert (ev[10].objects[0].points[0].value, ev[11].objects[0].points[0].status) == (
        1234, "NOT_SUPPORTED")
    assert ev[13].delay_ms == 5000
    big = ev[15]
    assert (big.fir, big.fin, big.con, big.segments, big.fragment_size) == (
        True, False, True, 3, 4 + 7 + 500)
    assert [p.value for p in big.objects[0].points[:3]] == [0, 100, 200]
    assert (ev[17].fir, ev[17].fin, [p.value for p in ev[17].objects[0].points]) == (
        False, True, [-1, 2])
    unsolicited = ev[18]
    assert (unsolicited.unsolicited, unsolicited.uns, unsolicited.iin_flags) == (
        True, True, ("CLASS_1_EVENTS",))
    assert ev[19].uns and not ev[19].unsolicited
    (command,) = ev[20].files
    assert (command.object, command.name, command.mode) == (
        "file_command", "/cfg/settings.xml", "READ")
    (status,) = ev[21].files
    assert (status.handle, status.size, status.status) == (0x1234, 5000, "SUCCESS")
    assert [o.points[0].text for o in ev[23].objects] == ["ACME Corp", "1.2.3"]
    assert ev[23].objects[0].name == "Device Attributes - device manufacturer's name"
    assert ev[25].delay_ms == 42


def test_golden_json_of_one_exchange(golden: tuple[Path, list[Any]]) -> None:
    ev = of(golden[1], "dnp3")
    as_json = msgspec.json.decode(msgspec.json.encode(ev[6]))
    assert {k: v for k, v in as_json.items() if k not in ("@timestamp", "frame")} == {
        "event.dataset": "dnp3",
        "flow_id": 1,
        "network.community_id": ev[6].community_id,
        "source.ip": "10.20.0.1", "source.port": 40000,
        "destination.ip": "10.20.0.2", "destination.port": 20000,
        "network.transport": "tcp",
        "link_src": MASTER, "link_dst": OUTSTATION, "from_master": True,
        "link_function": "UNCONFIRMED_USER_DATA",
        "function": "SELECT", "function_class": "control", "function_code": 3, "seq": 3,
        "fir": True, "fin": True, "con": False, "uns": False,
        "objects": [{
            "group": 12, "variation": 1,
            "name": "Binary Command - control relay output block (CROB)",
            "qualifier": 0x28, "count": 1,
            "points": [{"index": 3, "status": "SUCCESS", "op_type": "LATCH_ON", "tcc": "NUL",
                        "clear": False, "queue": False, "count": 1, "on_time_ms": 100,
                        "off_time_ms": 0}],
        }],
        "object_count": 1,
        "fragment_size": 2 + 5 + 13,
    }
    response = msgspec.json.decode(msgspec.json.encode(ev[7]))
    assert (response["request_function"], response["function_class"]) == ("SELECT", "control")


@pytest.mark.parametrize("mode", ["one_octet", "random_1", "random_2"])
def test_resegmented_conversation_gives_the_same_events(tmp_path: Path, mode: str,
                                                        golden: tuple[Path, list[Any]]) -> None:
    if mode == "one_octet":
        chunker: Chunker = lambda n: [1] * n  # noqa: E731
    else:
        rng = random.Random(int(mode[-1]))
        chunker = lambda n: [rng.randint(1, 40) for _ in range(n)]  # noqa: E731
    path = write_conversation(tmp_path / f"{mode}.pcap", chunker)
    events = decode_dnp3(path)
    wanted = [e for e in golden[1] if e.__struct_config__.tag != "flow"]
    got = [e for e in events if e.__struct_config__.tag != "flow"]
    assert without_position(got) == without_position(wanted)


def test_anomalies_in_a_capture(tmp_path: Path) -> None:
    c = Capture(tmp_path / "bad.pcap")
    m = True
    read = request(1, 0, header(60, 1, 6))
    c.send(m, link_frame(0xC4, OUTSTATION, MASTER, segments(read)[0], corrupt_block=0))
    c.send(m, link_frame(0xC4, OUTSTATION, MASTER, segments(bytes(300))[1]))  # no FIR
    c.send(m, frames(bytes([0xC1, 0x55]), m))                                # unknown function
    c.send(m, frames(request(2, 2, header(30, 1, 0x00, 0, 1), bytes(5)), m))  # truncated
    c.send(m, frames(request(2, 3, bytes([1, 9, 0, 0, 0, 0])), m))           # unknown object
    c.send(m, frames(request(2, 4) + bytes(2100), m))                       # too large
    c.send(m, b"\x05\x65" + bytes(8))                                       # bad start
    c.send(m, frames(read, m))                                              # decoded again
    path = c.close()
    events = decode_dnp3(path)
    assert [a.code for a in of(events, "anomaly")] == [
        "dnp3.bad_crc", "dnp3.transport_sequence", "dnp3.unknown_function",
        "dnp3.truncated_object", "dnp3.unknown_object", "dnp3.fragment_too_large",
        "dnp3.bad_start"]
    assert [e.function for e in of(events, "dnp3")] == [
        "UNKNOWN_85", "WRITE", "WRITE", "READ"]


def test_too_many_pending_in_a_capture(tmp_path: Path) -> None:
    c = Capture(tmp_path / "pending.pcap")
    for outstation in (11, 12, 13):
        c.send(True, frames(request(1, 0, header(60, 1, 6)), True, dst=outstation))
    events = decode_dnp3(c.close(), Settings(max_pending_requests=2))
    assert [a.code for a in of(events, "anomaly")] == ["dnp3.too_many_pending"]


def test_udp_golden(tmp_path: Path) -> None:
    path = write_udp(tmp_path / "udp.pcap", [
        (True, frames(request(20, 1, header(60, 2, 6)), True)
         + link_frame(0xC9, OUTSTATION, MASTER)),                       # two frames, one datagram
        (False, frames(response(1, 0x00, 0x02), False)),                  # OBJECT_UNKNOWN
        (False, frames(response(2, 0, 0, function=130, uns=True), False)),
    ])
    events = decode_dnp3(path)
    got = [(e.function, e.transport, e.request_function, e.iin_flags, e.src_port)
           for e in of(events, "dnp3")]
    assert got == [("ENABLE_UNSOLICITED", "udp", None, (), 40001),
                   ("RESPONSE", "udp", "ENABLE_UNSOLICITED", ("OBJECT_UNKNOWN",), 20000),
                   ("UNSOLICITED_RESPONSE", "udp", None, (), 20000)]
    assert [e.function for e in of(events, "dnp3_link")] == ["REQUEST_LINK_STATUS"]


@pytest.mark.tshark
def test_tshark_agrees_on_the_golden_and_anomaly_captures(
        tmp_path: Path, golden: tuple[Path, list[Any]]) -> None:
    require_tshark()
    path, events = golden
    rows = tshark_fields(path, ["dnp3.al.func", "dnp3.al.iin"], "dnp3.al.func")
    theirs = [(int(r[0]), int(f)) for r in rows for f in r[1].split(",")]
    ours = [(e.frame, e.function_code) for e in of(events, "dnp3")]
    assert ours == theirs
    # CRC verdicts: a corrupted user data block is bad for both decoders
    c = Capture(tmp_path / "crc.pcap")
    c.send(True, link_frame(0xC4, OUTSTATION, MASTER, b"\xc0\xc0\x01\x3c\x01\x06",
                            corrupt_block=0))
    c.send(True, frames(request(1, 1, header(60, 1, 6)), True))
    crc_path = c.close()
    rows = tshark_fields(crc_path, ["dnp.data_chunk.CRC.status"], "dnp3")
    bad_theirs = [int(r[0]) for r in rows if "0" in r[1].split(",")]
    bad_ours = [a.frame for a in of(decode_dnp3(crc_path), "anomaly") if a.code == "dnp3.bad_crc"]
    assert bad_ours == bad_theirs and len(bad_ours) == 1

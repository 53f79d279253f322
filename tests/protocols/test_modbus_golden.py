"""Golden tests: captures written with otshield.pcapwriter, decoded end to end with decode_file,
compared with the events expected from the specification (written by hand, not recorded from
our output). The same conversations re-segmented into 1-byte and random TCP segments must give
identical events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.pcapwriter import PcapWriter, ethernet, ipv4, udp_datagram
from support import decode, of_type, without_position

from .modbus_build import (
    CLIENT,
    SERVER,
    Splitter,
    adu,
    one_byte,
    pdu,
    random_sizes,
    whole,
    write_conversation,
)

C = True  # sent by the client
S = False  # sent by the server

# One conversation exercising every family of function codes. Index i is sent in frame 4 + 2i
# (three handshake frames, then each payload and its acknowledgement).
MESSAGES: list[tuple[bool, bytes]] = [
    # 0-1: FC 3 read holding registers 107..109 -> 555, 0, 100
    (C, adu(1, 17, pdu(3, "HH", 107, 3))),
    (S, adu(1, 17, pdu(3, "BHHH", 6, 555, 0, 100))),
    # 2-3: FC 1 read 10 coils from 19 -> 0xcd 0x01
    (C, adu(2, 1, pdu(1, "HH", 19, 10))),
    (S, adu(2, 1, pdu(1, "BBB", 2, 0xCD, 0x01))),
    # 4-5: FC 16 write 10, 258 at 1
    (C, adu(3, 1, pdu(16, "HHBHH", 1, 2, 4, 10, 258))),
    (S, adu(3, 1, pdu(16, "HH", 1, 2))),
    # 6-7: FC 5 coil 172 ON
    (C, adu(4, 1, pdu(5, "HH", 172, 0xFF00))),
    (S, adu(4, 1, pdu(5, "HH", 172, 0xFF00))),
    # 8-9: FC 2 -> exception 2 illegal data address
    (C, adu(5, 1, pdu(2, "HH", 196, 22))),
    (S, adu(5, 1, pdu(0x82, "B", 2))),
    # 10-11: two requests in one segment (FC 4, FC 6), answered in one segment, reversed
    (C, adu(6, 1, pdu(4, "HH", 8, 1)) + adu(7, 1, pdu(6, "HH", 1, 3))),
    (S, adu(7, 1, pdu(6, "HH", 1, 3)) + adu(6, 1, pdu(4, "BH", 2, 10))),
    # 12-13: FC 8 restart communications option
    (C, adu(8, 1, pdu(8, "HH", 1, 0))),
    (S, adu(8, 1, pdu(8, "HH", 1, 0))),
    # 14-15: FC 43/14 read device identification, basic, from object 0
    (C, adu(9, 1, pdu(43, "BBB", 14, 1, 0))),
    (S, adu(9, 1, pdu(43, "BBBBBB", 14, 1, 0x01, 0, 0, 3)
        + b"\x00\x04ACME" + b"\x01\x02X1" + b"\x02\x032.1")),
    # 16-17: FC 90 UMAS STOP_PLC, session key 0x12 -> ok
    (C, adu(10, 0, pdu(90, "BB", 0x12, 0x41))),
    (S, adu(10, 0, pdu(90, "BB", 0x12, 0xFE))),
    # 18-19: FC 23 read 2 at 3, write 0x00ff at 14
    (C, adu(11, 1, pdu(23, "HHHHBH", 3, 2, 14, 1, 2, 0xFF))),
    (S, adu(11, 1, pdu(23, "BHH", 4, 0xFE, 0xACD))),
    # 20-21: FC 22 mask write
    (C, adu(12, 1, pdu(22, "HHH", 4, 0xF2, 0x25))),
    (S, adu(12, 1, pdu(22, "HHH", 4, 0xF2, 0x25))),
    # 22-23: FC 65 user-defined
    (C, adu(13, 1, pdu(65, "H", 0xBEEF))),
    (S, adu(13, 1, pdu(65, "H", 0xCAFE))),
    # 24-25: FC 3 asking for 200 registers -> exception 3 illegal data value
    (C, adu(14, 1, pdu(3, "HH", 0, 200))),
    (S, adu(14, 1, pdu(0x83, "B", 3))),
    # 26: a response nobody asked for
    (S, adu(99, 1, pdu(3, "BH", 2, 7))),
    # 27: a request never answered
    (C, adu(15, 1, pdu(3, "HH", 5, 1))),
]


def frame(i: int) -> int:
    return 4 + 2 * i


def mb(req: int | None, resp: int | None, **fields: Any) -> dict[str, Any]:
    """An expected Modbus event; ``req``/``resp`` index MESSAGES (None: that side is missing)."""
    out: dict[str, Any] = {
        "event.dataset": "modbus", "source.ip": CLIENT[0], "source.port": CLIENT[1],
        "destination.ip": SERVER[0], "destination.port": SERVER[1], "network.transport": "tcp",
        "frame": frame(resp if resp is not None else req),  # type: ignore[arg-type]
    }
    if req is not None:
        out["request_frame"] = frame(req)
    if req is not None and resp is not None:
        out["response_time"] = round(0.002 * (resp - req), 5)
    out.update(fields)
    return out


def anomaly(code: str, index: int, from_client: bool, later: int = 0) -> dict[str, Any]:
    """An expected anomaly, seen in the frame of MESSAGES[index] (or ``later`` frames after)."""
    src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
    return {"event.dataset": "anomaly", "event.code": code, "protocol": "modbus",
            "source.ip": src[0], "source.port": src[1], "destination.ip": dst[0],
            "destination.port": dst[1], "network.transport": "tcp",
            "frame": frame(index) + later}


EXPECTED: list[dict[str, Any]] = [
    mb(0, 1, transaction_id=1, unit_id=17, function_code=3, function="READ_HOLDING_REGISTERS",
       function_class="read", status="ok", request_size=5, response_size=8, address=107,
       quantity=3, registers=[555, 0, 100]),
    mb(2, 3, transaction_id=2, unit_id=1, function_code=1, function="READ_COILS",
       function_class="read", status="ok", request_size=5, response_size=4, address=19,
       quantity=10, coils=[True, False, True, True, False, False, True, True, True, False]),
    mb(4, 5, transaction_id=3, unit_id=1, function_code=16, function="WRITE_MULTIPLE_REGISTERS",
       function_class="write", status="ok", request_size=10, response_size=5, address=1,
       quantity=2, registers=[10, 258]),
    mb(6, 7, transaction_id=4, unit_id=1, function_code=5, function="WRITE_SINGLE_COIL",
       function_class="write", status="ok", request_size=5, response_size=5, address=172,
       quantity=1, coils=[True]),
    mb(8, 9, transaction_id=5, unit_id=1, function_code=2, function="READ_DISCRETE_INPUTS",
       function_class="read", status="exception", request_size=5, response_size=2,
       exception_code=2, exception="ILLEGAL_DATA_ADDRESS", address=196, quantity=22),
    mb(10, 11, transaction_id=7, unit_id=1, function_code=6, function="WRITE_SINGLE_REGISTER",
       function_class="write", status="ok", request_size=5, response_size=5, address=1,
       quantity=1, registers=[3]),
    mb(10, 11, transaction_id=6, unit_id=1, function_code=4, function="READ_INPUT_REGISTERS",
       function_class="read", status="ok", request_size=5, response_size=4, address=8,
       quantity=1, registers=[10]),
    mb(12, 13, transaction_id=8, unit_id=1, function_code=8, function="DIAGNOSTICS",
       function_class="control", status="ok", request_size=5, response_size=5,
       diagnostic={"subfunction": 1, "name": "RESTART_COMMUNICATIONS_OPTION",
                   "request_data": "0000", "response_data": "0000"}),
    mb(14, 15, transaction_id=9, unit_id=1, function_code=43,
       function="ENCAPSULATED_INTERFACE_TRANSPORT", function_class="identify", status="ok",
       request_size=4, response_size=22,
       mei={"type": 14, "name": "READ_DEVICE_IDENTIFICATION", "device_id_code": 1,
            "object_id": 0, "conformity_level": 1, "more_follows": False, "next_object_id": 0,
            "objects": [{"id": 0, "name": "VendorName", "value": "ACME"},
                        {"id": 1, "name": "ProductCode", "value": "X1"},
                        {"id": 2, "name": "MajorMinorRevision", "value": "2.1"}]}),
    mb(16, 17, transaction_id=10, unit_id=0, function_code=90, function="UMAS",
       function_class="control", status="ok", request_size=3, response_size=3,
       umas={"code": 0x41, "function": "STOP_PLC", "session": 0x12, "status": "ok"}),
    mb(18, 19, transaction_id=11, unit_id=1, function_code=23,
       function="READ_WRITE_MULTIPLE_REGISTERS", function_class="write", status="ok",
       request_size=12, response_size=6, address=3, quantity=2, registers=[0xFE, 0xACD],
       write_address=14, write_quantity=1, write_registers=[0xFF]),
    mb(20, 21, transaction_id=12, unit_id=1, function_code=22, function="MASK_WRITE_REGISTER",
       function_class="write", status="ok", request_size=7, response_size=7, address=4,
       and_mask=0xF2, or_mask=0x25),
    mb(22, 23, transaction_id=13, unit_id=1, function_code=65, function="USER_DEFINED",
       function_class="other", status="ok", request_size=3, response_size=3,
       request_data="beef", response_data="cafe"),
    anomaly("modbus.invalid_quantity", 24, True),
    mb(24, 25, transaction_id=14, unit_id=1, function_code=3, function="READ_HOLDING_REGISTERS",
       function_class="read", status="exception", request_size=5, response_size=2,
       exception_code=3, exception="ILLEGAL_DATA_VALUE", address=0, quantity=200),
    mb(None, 26, transaction_id=99, unit_id=1, function_code=3,
       function="READ_HOLDING_REGISTERS", function_class="read", status="unmatched",
       response_size=4, registers=[7]),
    anomaly("modbus.unmatched_response", 26, False),
    mb(27, None, transaction_id=15, unit_id=1, function_code=3,
       function="READ_HOLDING_REGISTERS", function_class="read", status="unanswered",
       request_size=5, address=5, quantity=1),
    # noticed when the flow ends: after the request's ACK and the FIN, FIN, ACK teardown
    anomaly("modbus.unanswered_request", 27, True, later=4),
]


def _ours(path: Path) -> list[dict[str, Any]]:
    """Modbus events and anomalies as JSON documents, minus what depends on the flow table
    (flow id, community id), packet time and the anomaly's wording."""
    out = []
    for event in decode(path):
        tag = event.__struct_config__.tag
        if tag not in ("modbus", "anomaly"):
            continue
        doc = msgspec.json.decode(msgspec.json.encode(event))
        for key in ("flow_id", "network.community_id", "@timestamp", "message"):
            doc.pop(key, None)
        if "response_time" in doc:  # the writer's float clock lands on whole microseconds
            doc["response_time"] = round(doc["response_time"], 5)
        out.append(doc)
    return out


def test_golden_conversation(tmp_path: Path) -> None:
    path = tmp_path / "golden.pcap"
    write_conversation(path, MESSAGES)
    assert _ours(path) == EXPECTED


def _replay_view(path: Path) -> list[dict[str, Any]]:
    docs = without_position(e for e in decode(path)
                            if e.__struct_config__.tag in ("modbus", "anomaly"))
    for doc in docs:
        for key in ("request_frame", "response_time", "message"):
            doc.pop(key, None)  # packet positions and the frame numbers quoted in details
    return docs


@pytest.mark.parametrize("split", [one_byte, random_sizes(1), random_sizes(2), random_sizes(3)],
                         ids=["one_byte", "random1", "random2", "random3"])
def test_resegmented_conversation_gives_the_same_events(tmp_path: Path, split: Splitter) -> None:
    plain, cut = tmp_path / "plain.pcap", tmp_path / "cut.pcap"
    write_conversation(plain, MESSAGES, whole)
    write_conversation(cut, MESSAGES, split)
    expected = _replay_view(plain)
    assert len(of_type(decode(cut), "modbus")) == 16  # as in EXPECTED
    assert _replay_view(cut) == expected


def test_tolerated_oversized_unit_keeps_the_stream_in_step(tmp_path: Path) -> None:
    # modicon_test.pcap: a UMAS REPEAT with MBAP length 255, then ordinary traffic.
    repeat = pdu(90, "BB", 0, 0x0A) + bytes(251)
    path = tmp_path / "repeat.pcap"
    write_conversation(path, [
        (C, adu(7, 0, repeat)), (S, adu(7, 0, pdu(90, "BB", 0, 0xFE) + bytes(251))),
        (C, adu(8, 0, pdu(3, "HH", 0, 1))), (S, adu(8, 0, pdu(3, "BH", 2, 5))),
    ], random_sizes(9))
    events = decode(path)
    assert [e.status for e in of_type(events, "modbus")] == ["ok", "ok"]
    assert [e.code for e in of_type(events, "anomaly")] == ["modbus.oversized_pdu"] * 2


@pytest.mark.parametrize("split", [whole, one_byte, random_sizes(4)],
                         ids=["whole", "one_byte", "random"])
def test_garbage_then_resynchronisation(tmp_path: Path, split: Splitter) -> None:
    # Bytes that cannot start a unit are skipped up to the next plausible header (here 12 + 46
    # bytes: a unit with protocol id 16, then a length of 34820 and zeros), reported once.
    path = tmp_path / "junk.pcap"
    write_conversation(path, [
        (C, adu(1, 1, pdu(3, "HH", 0, 1), pid=0x10)),
        (C, bytes.fromhex("0001" "0000" "8804") + bytes(40)),
        (C, adu(2, 1, pdu(3, "HH", 0, 1))), (S, adu(2, 1, pdu(3, "BH", 2, 5))),
    ], split)
    events = decode(path)
    assert [(e.code, e.detail) for e in of_type(events, "anomaly")] == [
        ("modbus.invalid_protocol_id",
         "protocol id 16, expected 0: 58 bytes skipped to the next Modbus header")]
    assert [(e.transaction_id, e.status) for e in of_type(events, "modbus")] == [(2, "ok")]


def test_other_port_is_found_by_probe(tmp_path: Path) -> None:
    path = tmp_path / "alt.pcap"
    server = ("10.0.0.20", 5020)
    write_conversation(path, MESSAGES[:4], server=server)
    events = of_type(decode(path), "modbus")
    assert [(e.function_code, e.dst_port) for e in events] == [(3, 5020), (1, 5020)]
    flows = of_type(decode(path), "flow")
    assert flows[0].protocol == "modbus"


def test_non_modbus_on_other_port_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "http.pcap"
    write_conversation(path, [(C, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                              (S, b"HTTP/1.1 200 OK\r\n\r\n")], server=("10.0.0.20", 5020))
    events = decode(path)
    assert of_type(events, "modbus") == []
    assert not [e for e in of_type(events, "anomaly") if e.code.startswith("modbus.")]


def test_modbus_over_udp(tmp_path: Path) -> None:
    path = tmp_path / "udp.pcap"
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        for i, (from_client, payload) in enumerate(MESSAGES[:2]):
            (sip, sport), (dip, dport) = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
            packet = ipv4(sip, dip, 17, udp_datagram(sip, dip, sport, dport, payload))
            writer.write(1_700_000_000.0 + i * 0.01,
                         ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, packet))
    events = of_type(decode(path), "modbus")
    assert [(e.transport, e.status, e.registers, e.frame, e.request_frame) for e in events] == [
        ("udp", "ok", (555, 0, 100), 2, 1)]

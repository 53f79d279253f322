"""Golden tests: captures written with otshield.pcapwriter, decoded end to end with decode_file,
compared with the events expected from the specification (written by hand, not recorded from
our output). The same conversation re-segmented into 1-byte and random TCP segments must give
identical events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from support import decode, of_type, without_position

from .iec104_build import (
    CLIENT,
    SERVER,
    STARTDT_ACT,
    STARTDT_CON,
    TESTFR_ACT,
    TESTFR_CON,
    Splitter,
    asdu,
    cp56,
    i_frame,
    one_byte,
    random_sizes,
    s_frame,
    u_frame,
    whole,
    write_conversation,
)

C = True  # sent by the client (controlling station)
S = False  # sent by the server (controlled station, port 2404)

# Index i is sent in frame 4 + 2i (three handshake frames, then each payload and its ACK).
MESSAGES: list[tuple[bool, bytes]] = [
    (C, u_frame(STARTDT_ACT)),                                             # 0
    (S, u_frame(STARTDT_CON)),                                             # 1
    # 2-3: station interrogation, common address 1, confirmed
    (C, i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")]))),
    (S, i_frame(0, 1, asdu(100, 7, 1, [(0, b"\x14")]))),
    # 4: single points 1 (on) and 2 (off, invalid), interrogated by station
    (S, i_frame(1, 1, asdu(1, 20, 1, [(1, b"\x01"), (2, b"\x80")]))),
    # 5: short floats 100, 101 as a sequence (SQ=1): 1.5 and -2.25, OV on the second
    (S, i_frame(2, 1, asdu(13, 20, 1, [(100, b"\x00\x00\xc0\x3f\x00"),
                                       (0, b"\x00\x00\x10\xc0\x01")], sq=True))),
    # 6: interrogation terminated
    (S, i_frame(3, 1, asdu(100, 10, 1, [(0, b"\x14")]))),
    (C, s_frame(4)),                                                       # 7
    # 8-9: select single command on at 4001 (originator 3) -> negative confirmation
    (C, i_frame(1, 4, asdu(45, 6, 1, [(4001, b"\x81")], originator=3))),
    (S, i_frame(4, 2, asdu(45, 7, 1, [(4001, b"\x81")], originator=3, negative=True))),
    # 10: double point 7 on, spontaneous, CP56Time2a 2024-03-01 10:20:30.400 (summer time)
    (S, i_frame(5, 2, asdu(31, 3, 1, [(7, b"\x02" + cp56(2024, 3, 1, 10, 20, 30400,
                                                          su=True))]))),
    (S, u_frame(TESTFR_ACT)),                                              # 11
    (C, u_frame(TESTFR_CON)),                                              # 12
    # 13: clock synchronisation, never confirmed
    (C, i_frame(2, 6, asdu(103, 6, 1, [(0, cp56(2024, 3, 1, 10, 21, 0))]))),
    # 14: N(S) 7 where 6 was due; scaled value -300 at 50, periodic, test bit
    (S, i_frame(7, 3, asdu(11, 1, 1, [(50, b"\xd4\xfe\x00")], test=True))),
]


def frame(i: int) -> int:
    return 4 + 2 * i


CLOSE_FRAME = frame(14) + 4  # ACK, FIN, FIN, ACK: the flow is closed at the last packet


def ev(tag: str, index: int, from_client: bool, at: int | None = None,
       **fields: Any) -> dict[str, Any]:
    """An expected event sent with MESSAGES[index] (or in frame ``at``)."""
    src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
    out: dict[str, Any] = {
        "event.dataset": tag, "source.ip": src[0], "source.port": src[1],
        "destination.ip": dst[0], "destination.port": dst[1], "network.transport": "tcp",
        "frame": frame(index) if at is None else at}
    out.update(fields)
    return out


def anomaly(code: str, index: int, from_client: bool, at: int | None = None
            ) -> dict[str, Any]:
    return ev("anomaly", index, from_client, at, **{"event.code": code, "protocol": "iec104"})


EXPECTED: list[dict[str, Any]] = [
    ev("iec104_apci", 0, C, function="STARTDT_ACT"),
    ev("iec104_apci", 1, S, function="STARTDT_CON"),
    ev("iec104", 3, C, type_id=100, type_name="C_IC_NA_1", function_class="read", cause=6,
       cause_name="activation", common_address=1, num_objects=1,
       objects=[{"ioa": 0, "qualifier": 20, "qualifier_name": "station"}],
       send_seq=0, recv_seq=0, result="confirmed", response_cause=7, request_frame=frame(2),
       response_time=0.002),
    ev("iec104", 4, S, type_id=1, type_name="M_SP_NA_1", function_class="read", cause=20,
       cause_name="interrogated_station", common_address=1, num_objects=2,
       objects=[{"ioa": 1, "value": True, "quality": []},
                {"ioa": 2, "value": False, "quality": ["IV"]}],
       send_seq=1, recv_seq=1),
    ev("iec104", 5, S, type_id=13, type_name="M_ME_NC_1", function_class="read", cause=20,
       cause_name="interrogated_station", common_address=1, num_objects=2, sq=True,
       objects=[{"ioa": 100, "value": 1.5, "quality": []},
                {"ioa": 101, "value": -2.25, "quality": ["OV"]}],
       send_seq=2, recv_seq=1),
    ev("iec104", 6, S, type_id=100, type_name="C_IC_NA_1", function_class="read", cause=10,
       cause_name="activation_term", common_address=1, num_objects=1,
       objects=[{"ioa": 0, "qualifier": 20, "qualifier_name": "station"}],
       send_seq=3, recv_seq=1, result="terminated", request_frame=frame(2)),
    ev("iec104", 9, C, type_id=45, type_name="C_SC_NA_1", function_class="control", cause=6,
       cause_name="activation", common_address=1, num_objects=1, originator=3,
       objects=[{"ioa": 4001, "value": True, "state": "on", "select": True, "qualifier": 0,
                 "qualifier_name": "no_additional_definition"}],
       send_seq=1, recv_seq=4, result="negative", response_cause=7, response_negative=True,
       request_frame=frame(8),
       response_time=0.002),
    ev("iec104", 10, S, type_id=31, type_name="M_DP_TB_1", function_class="read", cause=3,
       cause_name="spontaneous", common_address=1, num_objects=1,
       objects=[{"ioa": 7, "value": 2, "state": "on", "quality": [],
                 "time": "2024-03-01T10:20:30.400", "time_epoch": 1709288430.4,
                 "time_summer": True}],
       send_seq=5, recv_seq=2),
    ev("iec104_apci", 11, S, function="TESTFR_ACT"),
    ev("iec104_apci", 12, C, function="TESTFR_CON"),
    anomaly("iec104.sequence_gap", 14, S),
    ev("iec104", 14, S, type_id=11, type_name="M_ME_NB_1", function_class="read", cause=1,
       cause_name="periodic", common_address=1, num_objects=1, test=True,
       objects=[{"ioa": 50, "value": -300, "quality": []}], send_seq=7, recv_seq=3),
    # at the end of the connection
    ev("iec104", 13, C, type_id=103, type_name="C_CS_NA_1", function_class="config", cause=6,
       cause_name="activation", common_address=1, num_objects=1,
       objects=[{"ioa": 0, "time": "2024-03-01T10:21:00.000", "time_epoch": 1709288460.0}],
       send_seq=2, recv_seq=6, result="unanswered", request_frame=frame(13)),
    anomaly("iec104.unanswered_command", 13, C, at=CLOSE_FRAME),
    ev("iec104_connection", 14, C, at=CLOSE_FRAME, i_frames_src=3, i_frames_dst=7, s_frames_src=1,
       u_frames_src=2, u_frames_dst=2, sequence_errors=1, data_transfer="started"),
]


def _ours(path: Path) -> list[dict[str, Any]]:
    out = []
    for event in decode(path):
        tag = str(event.__struct_config__.tag)
        if not (tag.startswith("iec104") or tag == "anomaly"):
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
                            if str(e.__struct_config__.tag).startswith("iec104")
                            or e.__struct_config__.tag == "anomaly")
    for doc in docs:
        for key in ("response_time", "message"):
            doc.pop(key, None)  # packet positions and the frame numbers quoted in details
    return docs


@pytest.mark.parametrize("split", [one_byte, random_sizes(1), random_sizes(2), random_sizes(3)],
                         ids=["one_byte", "random1", "random2", "random3"])
def test_resegmented_conversation_gives_the_same_events(tmp_path: Path, split: Splitter) -> None:
    plain, cut = tmp_path / "plain.pcap", tmp_path / "cut.pcap"
    write_conversation(plain, MESSAGES, whole)
    write_conversation(cut, MESSAGES, split)
    expected = _replay_view(plain)
    assert len(of_type(decode(cut), "iec104")) == 8  # as in EXPECTED
    assert _replay_view(cut) == expected


@pytest.mark.parametrize("split", [whole, one_byte, random_sizes(4)],
                         ids=["whole", "one_byte", "random"])
def test_garbage_then_resynchronisation(tmp_path: Path, split: Splitter) -> None:
    # 7 bytes that cannot start an APDU (the 0x68 among them has length 2), then a valid one
    path = tmp_path / "junk.pcap"
    write_conversation(path, [
        (C, u_frame(STARTDT_ACT)), (S, u_frame(STARTDT_CON)),
        (C, bytes.fromhex("00 68 02 41 42 43 44".replace(" ", ""))),
        (C, i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")]))),
        (S, i_frame(0, 1, asdu(100, 7, 1, [(0, b"\x14")]))),
    ], split)
    events = decode(path)
    assert [(e.code, e.detail) for e in of_type(events, "anomaly")] == [
        ("iec104.invalid_start", "start octet 0x00, expected 0x68: 7 bytes skipped to the next "
                                 "APDU")]
    assert [e.result for e in of_type(events, "iec104")] == ["confirmed"]


def test_other_port_is_found_by_probe(tmp_path: Path) -> None:
    path = tmp_path / "alt.pcap"
    write_conversation(path, MESSAGES[:4], server=("10.0.0.20", 12404))
    events = decode(path)
    assert [(e.type_name, e.dst_port) for e in of_type(events, "iec104")] == [
        ("C_IC_NA_1", 12404)]
    assert of_type(events, "flow")[0].protocol == "iec104"


def test_non_iec104_on_other_port_is_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "http.pcap"
    write_conversation(path, [(C, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                              (S, b"HTTP/1.1 200 OK\r\n\r\n")], server=("10.0.0.20", 12404))
    events = decode(path)
    assert of_type(events, "iec104") == []
    assert not [e for e in of_type(events, "anomaly") if e.code.startswith("iec104.")]


def test_capture_started_mid_connection(tmp_path: Path) -> None:
    # no handshake: numbering learnt from the first APDUs, no data-transfer complaint
    path = tmp_path / "mid.pcap"
    write_conversation(path, [
        (S, i_frame(300, 20, asdu(9, 3, 1, [(5, b"\x00\x40\x00")]))),
        (C, s_frame(301)),
        (S, i_frame(301, 20, asdu(9, 3, 1, [(5, b"\x00\xc0\x00")]))),
    ], handshake=False)
    events = decode(path)
    assert [e.objects[0].value for e in of_type(events, "iec104")] == [0.5, -0.5]
    assert [e.code for e in of_type(events, "anomaly") if e.code.startswith("iec104")] == []

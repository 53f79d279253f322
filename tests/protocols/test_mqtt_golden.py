"""Golden tests: an MQTT 5.0 and an MQTT 3.1.1 conversation written with otshield.pcapwriter,
decoded end to end with decode_file and compared with the events expected from the
specification (written by hand). The same conversations re-segmented into 1-byte and random TCP
segments must give identical events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from support import decode, of_type, without_position

from .mqtt_build import (
    CLIENT,
    SERVER,
    Splitter,
    connect,
    one_byte,
    packet,
    props,
    random_sizes,
    s,
    whole,
    write_conversation,
)

C, S = True, False
COMMON = {"event.dataset", "@timestamp", "flow_id", "network.community_id", "source.ip",
          "destination.ip", "network.transport", "destination.port"}

# Message i is sent in frame 4 + 2i (three handshake frames, then each payload and its ACK).
V5: list[tuple[bool, bytes]] = [
    # 0-1: CONNECT 5.0, user "meter", password, session expiry 300 -> CONNACK success, alias max 5
    (C, connect("rtu-12", level=5, flags=0xC2, keep_alive=30,
                properties=props(b"\x11\x00\x00\x01\x2c"), tail=s("meter") + s("hunter2"))),
    (S, packet(2, 0, b"\x00\x00" + props(b"\x22\x00\x05"))),
    # 2-3: SUBSCRIBE id 1 "cmd/#" QoS 1 no-local -> SUBACK granted QoS 1
    (C, packet(8, 2, b"\x00\x01\x00" + s("cmd/#") + b"\x05")),
    (S, packet(9, 0, b"\x00\x01\x00\x01")),
    # 4-5: PUBLISH QoS 1 id 2 retained "tele/rtu-12" "42.5" -> PUBACK (2 bytes: success)
    (C, packet(3, 3, s("tele/rtu-12") + b"\x00\x02\x00" + b"42.5")),
    (S, packet(4, 0, b"\x00\x02")),
    # 6: the broker delivers "cmd/open" QoS 0
    (S, packet(3, 0, s("cmd/open") + b"\x00" + b"1")),
    # 7-8: keep-alive
    (C, b"\xc0\x00"),
    (S, b"\xd0\x00"),
    # 9: DISCONNECT normal, with a reason string
    (C, packet(14, 0, b"\x00" + props(b"\x1f" + s("bye")))),
]

EXPECTED_V5: list[dict[str, Any]] = [
    {"packet_type": "CONNECT", "function_class": "security", "status": "ok",
     "protocol_version": "5.0", "request_frame": 4, "frame": 6, "protocol_name": "MQTT",
     "client_id": "rtu-12", "user.name": "meter", "password_present": True,
     "clean_session": True, "keep_alive": 30, "session_present": False, "reason_code": 0,
     "reason": "success", "properties": {"session_expiry_interval": 300},
     "response_properties": {"topic_alias_maximum": 5}, "source.port": CLIENT[1]},
    {"packet_type": "SUBSCRIBE", "function_class": "read", "status": "ok",
     "protocol_version": "5.0", "request_frame": 8, "frame": 10, "packet_id": 1,
     "subscriptions": [{"topic": "cmd/#", "qos": 1, "no_local": True,
                        "retain_as_published": False, "retain_handling": 0, "result": 1,
                        "result_name": "granted_qos_1"}], "source.port": CLIENT[1]},
    {"packet_type": "PUBLISH", "function_class": "write", "status": "ok",
     "protocol_version": "5.0", "request_frame": 12, "frame": 14, "topic": "tele/rtu-12",
     "qos": 1, "retain": True, "dup": False, "packet_id": 2, "payload_length": 4,
     "payload_preview": "42.5", "reason_code": 0, "reason": "success",
     "source.port": CLIENT[1]},
    {"packet_type": "PUBLISH", "function_class": "read", "status": "ok",
     "protocol_version": "5.0", "frame": 16, "topic": "cmd/open", "qos": 0, "retain": False,
     "dup": False, "payload_length": 1, "payload_preview": "1", "source.port": SERVER[1]},
    {"packet_type": "DISCONNECT", "function_class": "other", "status": "ok",
     "protocol_version": "5.0", "frame": 22, "reason_code": 0,
     "reason": "normal_disconnection", "properties": {"reason_string": "bye"},
     "source.port": CLIENT[1]},
    {"packet_type": "PINGREQ", "function_class": "diagnostics", "status": "ok",
     "protocol_version": "5.0", "ping_requests": 1, "ping_responses": 1,
     "frame": 26, "source.port": CLIENT[1]},  # the summary at the flow's last packet
]

V311: list[tuple[bool, bytes]] = [
    # 0-1: CONNECT 3.1.1 with a will (QoS 1, "dead/rtu", 4 bytes) -> CONNACK, session present
    (C, connect("rtu-9", flags=0x0E, tail=s("dead/rtu") + s("gone"))),
    (S, b"\x20\x02\x01\x00"),
    # 2-5: PUBLISH QoS 2 id 7 -> PUBREC -> PUBREL -> PUBCOMP
    (C, packet(3, 4, s("set/valve") + b"\x00\x07" + b"\x01\x02")),
    (S, packet(5, 0, b"\x00\x07")),
    (C, packet(6, 2, b"\x00\x07")),
    (S, packet(7, 0, b"\x00\x07")),
    # 6-7: UNSUBSCRIBE id 8 two filters -> UNSUBACK
    (C, packet(10, 2, b"\x00\x08" + s("a") + s("b/+"))),
    (S, packet(11, 0, b"\x00\x08")),
    # 8: PUBLISH with QoS 3 (reserved): reported, decoded alone
    (C, packet(3, 6, s("x") + b"\x00\x09")),
    # 9: SUBSCRIBE id 10 never answered
    (C, packet(8, 2, b"\x00\x0a" + s("late") + b"\x00")),
]

EXPECTED_V311: list[dict[str, Any]] = [
    {"packet_type": "CONNECT", "function_class": "security", "status": "ok",
     "protocol_version": "3.1.1", "request_frame": 4, "frame": 6, "protocol_name": "MQTT",
     "client_id": "rtu-9", "password_present": False, "clean_session": True, "keep_alive": 60,
     "will_topic": "dead/rtu", "will_qos": 1, "will_retain": False, "will_payload_length": 4,
     "session_present": True, "reason_code": 0, "reason": "accepted", "source.port": CLIENT[1]},
    {"packet_type": "PUBLISH", "function_class": "write", "status": "ok",
     "protocol_version": "3.1.1", "request_frame": 8, "frame": 14, "topic": "set/valve",
     "qos": 2, "retain": False, "dup": False, "packet_id": 7, "payload_length": 2,
     "source.port": CLIENT[1]},
    {"packet_type": "UNSUBSCRIBE", "function_class": "read", "status": "ok",
     "protocol_version": "3.1.1", "request_frame": 16, "frame": 18, "packet_id": 8,
     "subscriptions": [{"topic": "a"}, {"topic": "b/+"}], "source.port": CLIENT[1]},
    {"code": "mqtt.invalid_qos", "frame": 20},
    {"packet_type": "PUBLISH", "function_class": "write", "status": "ok",
     "protocol_version": "3.1.1", "frame": 20, "topic": "x", "qos": 3, "retain": False,
     "dup": False, "packet_id": 9, "payload_length": 0, "source.port": CLIENT[1]},
    {"packet_type": "SUBSCRIBE", "function_class": "read", "status": "unanswered",
     "protocol_version": "3.1.1", "request_frame": 22, "frame": 22, "packet_id": 10,
     "subscriptions": [{"topic": "late", "qos": 0}], "source.port": CLIENT[1]},
    {"code": "mqtt.unanswered_request"},
]


def project(events: list[Any]) -> list[dict[str, Any]]:
    """MQTT events and MQTT anomalies, without the fields every event shares (timing and
    addresses are checked by the session tests)."""
    out = []
    for e in events:
        tag = e.__struct_config__.tag
        if tag == "mqtt":
            d = msgspec.json.decode(msgspec.json.encode(e))
            d.pop("response_time", None)
            out.append({k: v for k, v in d.items() if k not in COMMON})
        elif tag == "anomaly" and e.code.startswith("mqtt."):
            out.append({"code": e.code} if e.code == "mqtt.unanswered_request"
                       else {"code": e.code, "frame": e.frame})
    return out


@pytest.mark.parametrize(("messages", "expected"), [(V5, EXPECTED_V5), (V311, EXPECTED_V311)],
                         ids=["v5", "v311"])
def test_golden(tmp_path: Path, messages: list[tuple[bool, bytes]],
                expected: list[dict[str, Any]]) -> None:
    path = tmp_path / "mqtt.pcap"
    write_conversation(path, messages)
    events = decode(path)
    assert project(events) == expected
    [flow] = of_type(events, "flow")
    assert flow.protocol == "mqtt"


@pytest.mark.parametrize("split", [one_byte, random_sizes(7), random_sizes(1234)],
                         ids=["1-byte", "random-7", "random-1234"])
@pytest.mark.parametrize("messages", [V5, V311], ids=["v5", "v311"])
def test_chunked_replay_is_identical(tmp_path: Path, messages: list[tuple[bool, bytes]],
                                     split: Splitter) -> None:
    write_conversation(tmp_path / "whole.pcap", messages, whole)
    write_conversation(tmp_path / "split.pcap", messages, split)
    base = [e for e in decode(tmp_path / "whole.pcap") if e.__struct_config__.tag != "flow"]
    other = [e for e in decode(tmp_path / "split.pcap") if e.__struct_config__.tag != "flow"]
    assert any(e.__struct_config__.tag == "mqtt" for e in base)
    def strip(events: list[Any]) -> list[dict[str, Any]]:
        # response times follow the segment count of the capture, not the decoding
        return [{k: v for k, v in d.items() if k != "response_time"}
                for d in without_position(events)]

    assert strip(other) == strip(base)


def test_other_port_found_by_probe(tmp_path: Path) -> None:
    path = tmp_path / "mqtt-alt.pcap"
    write_conversation(path, V5[:2], server=("10.0.0.20", 11883))
    events = decode(path)
    [ev] = of_type(events, "mqtt")
    assert (ev.packet_type, ev.client_id, ev.dst_port) == ("CONNECT", "rtu-12", 11883)
    assert of_type(events, "flow")[0].protocol == "mqtt"

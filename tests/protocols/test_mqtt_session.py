"""Session tests: transactions (CONNECT/CONNACK, the three QoS levels, SUBSCRIBE, UNSUBSCRIBE),
keep-alive counting, limits, timeouts and the anomalies only the session can see. Driven through
a fake flow, one control packet per ``on_frame``."""

from __future__ import annotations

from otshield.config import Settings
from otshield.events import AnomalyEvent
from otshield.protocols.mqtt import SPEC
from otshield.protocols.mqtt.events import MqttEvent, MqttProperties, MqttSubscription
from otshield.protocols.mqtt.session import MqttSession

from .mqtt_build import FakeFlow, connect, packet, props, s

C, S = True, False
CONNACK_OK = b"\x20\x02\x00\x00"


def run(messages: list[tuple[bool, bytes]], flow: FakeFlow | None = None,
        close: bool = True) -> FakeFlow:
    flow = flow or FakeFlow()
    session = MqttSession(flow)
    for from_client, frame in messages:
        flow.step()
        session.on_frame(frame, from_client)
    if close:
        session.close()
    return flow


def mqtt(flow: FakeFlow) -> list[MqttEvent]:
    return flow.of("mqtt")


def test_connect_connack_one_event() -> None:
    flow = run([(C, connect("plc-7", flags=0xC2, tail=s("op") + s("pw"))),
                (S, b"\x20\x02\x01\x00")])
    [ev] = mqtt(flow)
    assert ev.packet_type == "CONNECT" and ev.function_class == "security"
    assert (ev.status, ev.protocol_version, ev.client_id, ev.username) == (
        "ok", "3.1.1", "plc-7", "op")
    assert ev.password_present is True and ev.session_present is True
    assert (ev.reason_code, ev.reason) == (0, "accepted")
    assert (ev.frame, ev.request_frame, ev.response_time) == (2, 1, 0.01)
    assert (ev.src_ip, ev.dst_port) == ("10.0.0.10", 1883)
    assert flow.codes() == []


def test_connect_refused_v3_and_v5() -> None:
    [ev] = mqtt(run([(C, connect("a")), (S, b"\x20\x02\x00\x04")]))
    assert (ev.status, ev.reason) == ("refused", "bad_username_or_password")
    [ev] = mqtt(run([(C, connect("a", level=5)),
                     (S, packet(2, 0, b"\x00\x87" + props(b"\x1f" + s("no"))))]))
    assert (ev.status, ev.reason_code, ev.reason) == ("refused", 0x87, "not_authorized")
    assert ev.response_properties == MqttProperties(reason_string="no")


def test_publish_qos0_1_2() -> None:
    flow = run([
        (C, connect("c")), (S, CONNACK_OK),
        (C, packet(3, 0, s("t/0") + b"v0")),                   # QoS 0: alone
        (C, packet(3, 2, s("t/1") + b"\x00\x01" + b"v1")),     # QoS 1 id 1
        (C, packet(3, 4, s("t/2") + b"\x00\x02" + b"v2")),     # QoS 2 id 2
        (S, packet(4, 0, b"\x00\x01")),                        # PUBACK 1
        (S, packet(5, 0, b"\x00\x02")),                        # PUBREC 2
        (C, packet(6, 2, b"\x00\x02")),                        # PUBREL 2
        (S, packet(7, 0, b"\x00\x02")),                        # PUBCOMP 2
    ])
    evs = mqtt(flow)[1:]
    assert [(e.topic, e.qos, e.status, e.frame, e.request_frame, e.payload_preview)
            for e in evs] == [("t/0", 0, "ok", 3, None, "v0"), ("t/1", 1, "ok", 6, 4, "v1"),
                              ("t/2", 2, "ok", 9, 5, "v2")]
    assert all(e.function_class == "write" and e.src_port == 50000 for e in evs)
    assert evs[1].reason is None  # 3.1.1 acknowledgements carry no reason code
    assert flow.codes() == []


def test_broker_publish_has_its_own_packet_ids() -> None:
    flow = run([
        (C, connect("c")), (S, CONNACK_OK),
        (C, packet(3, 2, s("up") + b"\x00\x05" + b"x")),       # client id 5
        (S, packet(3, 2, s("down") + b"\x00\x05" + b"y")),     # broker id 5 (its own space)
        (C, packet(4, 0, b"\x00\x05")),                        # client acks the broker's
        (S, packet(4, 0, b"\x00\x05")),                        # broker acks the client's
    ])
    down, up = mqtt(flow)[1:]
    assert (down.topic, down.function_class, down.src_port, down.frame) == ("down", "read",
                                                                          1883, 5)
    assert (up.topic, up.function_class, up.src_port, up.frame) == ("up", "write", 50000, 6)


def test_v5_reason_codes_and_qos2_failure() -> None:
    flow = run([
        (C, connect("c", level=5)), (S, packet(2, 0, b"\x00\x00\x00")),
        (C, packet(3, 4, s("t") + b"\x00\x03" + b"\x00" + b"p")),
        (S, packet(5, 0, b"\x00\x03\x97")),                    # PUBREC quota exceeded: done
        (C, packet(3, 2, s("t") + b"\x00\x04" + b"\x00")),
        (S, packet(4, 0, b"\x00\x04")),                        # PUBACK, 2 bytes = success
        (C, packet(14, 0, b"\x04\x00")),                       # DISCONNECT with will
    ])
    q2, q1, disc = mqtt(flow)[1:]
    assert (q2.status, q2.reason_code, q2.reason) == ("error", 0x97, "quota_exceeded")
    assert (q1.status, q1.reason_code, q1.reason) == ("ok", 0, "success")
    assert (disc.packet_type, disc.reason, disc.function_class) == (
        "DISCONNECT", "disconnect_with_will_message", "other")


def test_subscribe_partial_and_unsubscribe() -> None:
    flow = run([
        (C, connect("c")), (S, CONNACK_OK),
        (C, packet(8, 2, b"\x00\x0a" + s("a") + b"\x01" + s("b") + b"\x02")),
        (S, packet(9, 0, b"\x00\x0a\x01\x80")),
        (C, packet(10, 2, b"\x00\x0b" + s("a"))),
        (S, packet(11, 0, b"\x00\x0b")),
    ])
    sub, unsub = mqtt(flow)[1:]
    assert (sub.packet_type, sub.function_class, sub.status) == ("SUBSCRIBE", "read", "partial")
    assert sub.subscriptions == (MqttSubscription("a", 1, result=1, result_name="granted_qos_1"),
                                 MqttSubscription("b", 2, result=0x80, result_name="failure"))
    assert (unsub.packet_type, unsub.status, unsub.subscriptions) == (
        "UNSUBSCRIBE", "ok", (MqttSubscription("a"),))


def test_pings_are_counted_not_reported_one_by_one() -> None:
    msgs = [(C, connect("c")), (S, CONNACK_OK)] + [(C, b"\xc0\x00"), (S, b"\xd0\x00")] * 3
    msgs.append((C, b"\xc0\x00"))
    evs = mqtt(run(msgs))
    assert len(evs) == 2
    ping = evs[1]
    assert (ping.packet_type, ping.function_class, ping.ping_requests, ping.ping_responses,
            ping.status) == ("PINGREQ", "diagnostics", 4, 3, "unanswered")


def test_unanswered_at_close_and_incomplete_qos2() -> None:
    flow = run([
        (C, connect("c")), (S, CONNACK_OK),
        (C, packet(3, 2, s("t") + b"\x00\x01")),
        (C, packet(3, 4, s("t") + b"\x00\x02")),
        (S, packet(5, 0, b"\x00\x02")),
        (C, packet(8, 2, b"\x00\x03" + s("x") + b"\x00")),
    ])
    evs = mqtt(flow)[1:]
    assert [(e.packet_type, e.packet_id, e.status, e.frame) for e in evs] == [
        ("PUBLISH", 1, "unanswered", 3), ("PUBLISH", 2, "incomplete", 4),
        ("SUBSCRIBE", 3, "unanswered", 6)]
    assert flow.codes() == ["mqtt.unanswered_request"] * 3


def test_request_timeout() -> None:
    flow = FakeFlow(Settings(request_timeout=5.0))
    session = MqttSession(flow)
    flow.step()
    session.on_frame(connect("c"), C)
    flow.step()
    session.on_frame(CONNACK_OK, S)
    flow.step()
    session.on_frame(packet(3, 2, s("t") + b"\x00\x01"), C)
    flow.step(10.0)
    session.on_frame(b"\xc0\x00", C)
    assert [e.status for e in mqtt(flow)] == ["ok", "unanswered"]
    assert flow.codes() == ["mqtt.unanswered_request"]
    assert "within 5 s" in flow.events[-1].detail  # type: ignore[attr-defined]


def test_too_many_pending() -> None:
    flow = FakeFlow(Settings(max_pending_requests=2))
    msgs = [(C, connect("c")), (S, CONNACK_OK)] + [
        (C, packet(3, 2, s("t") + bytes([0, i]))) for i in range(1, 5)]
    run(msgs, flow, close=False)
    assert flow.codes() == ["mqtt.too_many_pending"]
    assert [(e.packet_id, e.status) for e in mqtt(flow)[1:]] == [(1, "unanswered"),
                                                                 (2, "unanswered")]


def test_unmatched_ack_missing_connect_and_direction() -> None:
    flow = run([
        (S, packet(4, 0, b"\x00\x07")),                        # PUBACK, CONNECT never seen
        (C, packet(3, 0, s("t") + b"x")),
    ])
    unmatched, pub = mqtt(flow)
    assert (unmatched.packet_type, unmatched.status, unmatched.packet_id) == (
        "PUBACK", "unmatched", 7)
    assert pub.protocol_version is None
    assert flow.codes() == ["mqtt.missing_connect"]  # reported once; no unmatched on mid-stream
    flow = run([
        (C, connect("c")), (S, CONNACK_OK),
        (S, packet(9, 0, b"\x00\x08\x00")),                    # SUBACK nobody asked for
        (C, CONNACK_OK),                                       # CONNACK from the client
        (C, connect("again")),
    ])
    assert flow.codes() == ["mqtt.unmatched_response", "mqtt.unexpected_direction",
                            "mqtt.unmatched_response", "mqtt.duplicate_connect",
                            "mqtt.unanswered_request"]  # the second CONNECT, at close


def test_connect_decides_the_client_whatever_the_ports() -> None:
    # the TCP "server" side (port 1883 here) sends the CONNECT: it is the MQTT client
    flow = run([(S, connect("rev")), (C, CONNACK_OK), (S, packet(3, 0, s("t")))])
    conn, pub = mqtt(flow)
    assert (conn.src_port, pub.function_class) == (1883, "write")
    assert flow.codes() == []


def test_midstream_v5_is_inferred_from_a_long_acknowledgement() -> None:
    flow = run([
        (S, packet(2, 0, b"\x00\x00" + props(b"\x22\x00\x0a"))),   # 5.0 CONNACK
        (C, packet(3, 0, s("t") + props(b"\x23\x00\x01") + b"hi")),  # properties, then "hi"
    ])
    ack, pub = mqtt(flow)
    assert ack.response_properties == MqttProperties(topic_alias_maximum=10)
    assert (pub.payload_preview, pub.properties) == ("hi", MqttProperties(topic_alias=1))
    assert flow.codes() == ["mqtt.missing_connect"]


def test_malformed_packet_becomes_an_anomaly_and_decoding_goes_on() -> None:
    flow = run([(C, connect("c")), (S, CONNACK_OK), (C, b"\x00\x00"),
                (C, packet(3, 2, s("t"))), (C, packet(3, 0, s("ok")))])
    assert flow.codes() == ["mqtt.unknown_packet_type", "mqtt.truncated"]
    assert [e.topic for e in mqtt(flow)] == [None, "ok"]


def test_auth_v5_and_every_code_is_declared() -> None:
    flow = run([(C, connect("c", level=5)), (S, packet(15, 0, b"\x18" + props(
        b"\x15" + s("K"), b"\x16" + s(b"secret-bytes")))),
        (C, packet(15, 0, b"\x18" + props(b"\x15" + s("K"), b"\x16" + s(b"more-secret")))),
        (S, packet(2, 0, b"\x00\x00\x00"))])
    auth_s, auth_c, conn = mqtt(flow)
    assert (auth_s.packet_type, auth_s.function_class, auth_s.reason, auth_s.src_port) == (
        "AUTH", "security", "continue_authentication", 1883)
    assert (auth_c.packet_type, auth_c.src_port, conn.packet_type, conn.status) == (
        "AUTH", 50000, "CONNECT", "ok")
    assert auth_s.properties == MqttProperties(authentication_method="K",
                                               authentication_data_present=True)
    assert "secret" not in repr(flow.events)
    assert not any(isinstance(e, AnomalyEvent) for e in flow.events)
    assert set(SPEC.anomaly_codes) >= {
        "mqtt.bad_remaining_length", "mqtt.unknown_packet_type", "mqtt.invalid_qos",
        "mqtt.bad_flags", "mqtt.missing_connect", "mqtt.bad_utf8", "mqtt.bad_property",
        "mqtt.too_many_pending"}

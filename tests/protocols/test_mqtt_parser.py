"""Parser unit tests: annotated byte vectors for every MQTT control packet (3.1, 3.1.1, 5.0),
the framer, the probe and each anomaly the parser reports."""

from __future__ import annotations

import pytest

from otshield.errors import Malformed
from otshield.protocols.mqtt.events import MqttProperties, MqttSubscription, MqttUserProperty
from otshield.protocols.mqtt.parser import decode, frame_size, probe

from .mqtt_build import connect, packet, props, s


def codes(frame: bytes, level: int = 4) -> list[str]:
    pkt = decode(frame, level)
    return [c for c, _ in pkt.anomalies or []]


# -- framing -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("buf", "size"), [
    (b"", None),
    (b"\xc0", None),                       # type byte only
    (b"\xc0\x00", 2),                      # PINGREQ, remaining length 0
    (b"\x30\x7f", 2 + 127),                # one length byte, the largest
    (b"\x30\x80\x01", 3 + 128),            # 0x00 + 1*128
    (b"\x30\xff\x7f", 3 + 16383),          # two bytes, the largest
    (b"\x30\x80\x80\x01", 4 + 16384),      # three bytes
    (b"\x30\xff\xff\xff\x7f", 5 + 268435455),  # four bytes, the protocol maximum
    (b"\x30\x80\x80", None),               # continuation, next byte not here yet
])
def test_frame_size(buf: bytes, size: int | None) -> None:
    assert frame_size(buf) == size


def test_frame_size_fifth_length_byte_is_malformed() -> None:
    with pytest.raises(Malformed) as e:
        frame_size(b"\x30\x80\x80\x80\x80\x01")
    assert e.value.code == "mqtt.bad_remaining_length"


def test_probe() -> None:
    assert probe(connect("c", level=4), True)
    assert probe(connect("c", level=5), True)
    assert probe(connect("c", level=3), True)
    assert probe(connect("c" * 200, level=4), True)          # two-byte remaining length
    assert not probe(connect("c", level=4)[:8], True)        # level byte not here yet
    assert not probe(b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c", True)  # wrong name
    assert not probe(b"\x10\x0c\x00\x04MQTT\x07\x02\x00\x3c", True)  # unknown level
    assert not probe(b"GET / HTTP/1.1\r\n", True)
    assert not probe(b"", True)
    # a mid-stream capture: a 3.1.1 CONNACK alone, from the broker
    assert probe(b"\x20\x02\x00\x00", False)
    assert not probe(b"\x20\x02\x00\x00", True)
    assert not probe(b"\x20\x02\x00\x09", False)             # return code out of range


# -- CONNECT / CONNACK ---------------------------------------------------------------------------
def test_connect_311_with_will_and_credentials() -> None:
    frame = bytes.fromhex(
        "10"            # CONNECT, flags 0
        "2a"            # remaining length 42
        "00044d515454"  # protocol name "MQTT"
        "04"            # level 4 = 3.1.1
        "ee"            # flags: user name, password, will retain, will QoS 1, will, clean
        "003c"          # keep alive 60
        "0003646576"    # client id "dev"
        "000677696c6c2f74"  # will topic "will/t"
        "00026279"      # will message "by" (2 bytes)
        "00056f70657261"    # user name "opera"
        "0006736563726574")  # password "secret"
    pkt = decode(frame, 4)
    assert pkt.name == "CONNECT"
    assert (pkt.protocol_name, pkt.level, pkt.version) == ("MQTT", 4, "3.1.1")
    assert pkt.clean_session is True and pkt.keep_alive == 60
    assert (pkt.will_qos, pkt.will_retain, pkt.will_topic, pkt.will_payload_length) == (
        1, True, "will/t", 2)
    assert pkt.client_id == "dev" and pkt.username == "opera"
    assert pkt.password_present is True
    assert "secret" not in repr([getattr(pkt, a) for a in pkt.__slots__])
    assert pkt.anomalies is None


def test_connect_31_mqisdp() -> None:
    frame = bytes.fromhex(
        "10" "12"          # CONNECT, remaining length 18
        "00064d5149736470"  # "MQIsdp"
        "03"               # level 3 = MQTT 3.1
        "02"               # clean session
        "0005"             # keep alive 5
        "000470616f31")    # client id "pao1"
    pkt = decode(frame, 4)
    assert (pkt.protocol_name, pkt.version, pkt.keep_alive, pkt.client_id) == (
        "MQIsdp", "3.1", 5, "pao1")
    assert pkt.password_present is False and pkt.username is None


def test_connect_v5_properties_and_will_properties() -> None:
    cprops = props(
        b"\x11\x00\x00\x0e\x10",          # session expiry interval 3600
        b"\x21\x00\x14",                  # receive maximum 20
        b"\x27\x00\x01\x00\x00",          # maximum packet size 65536
        b"\x22\x00\x0a",                  # topic alias maximum 10
        b"\x19\x01",                      # request response information 1
        b"\x17\x00",                      # request problem information 0
        b"\x26" + s("site") + s("plant-3"),  # user property
        b"\x15" + s("SCRAM-SHA-1"),       # authentication method
        b"\x16" + s(b"\x01\x02secret"),   # authentication data: never kept
    )
    will = props(b"\x18\x00\x00\x00\x05", b"\x01\x01")  # will delay 5, payload format UTF-8
    tail = will + s("dead/dev") + s("gone")
    frame = connect("dev5", level=5, flags=0x06, properties=cprops, tail=tail)
    pkt = decode(frame, 4)  # the CONNECT brings its own level
    assert pkt.version == "5.0"
    assert pkt.properties == MqttProperties(
        session_expiry_interval=3600, receive_maximum=20, maximum_packet_size=65536,
        topic_alias_maximum=10, request_response_information=True,
        request_problem_information=False, user_properties=(MqttUserProperty("site", "plant-3"),),
        authentication_method="SCRAM-SHA-1", authentication_data_present=True)
    assert pkt.will_properties == MqttProperties(will_delay_interval=5, payload_format_utf8=True)
    assert (pkt.will_topic, pkt.will_payload_length, pkt.will_qos) == ("dead/dev", 4, 0)
    assert pkt.anomalies is None


def test_connect_anomalies() -> None:
    # reserved flag bit 0
    assert codes(connect("x", flags=0x03)) == ["mqtt.bad_flags"]
    # will QoS 3 with the will flag
    assert codes(connect("x", flags=0x1E, tail=s("t") + s("m"))) == ["mqtt.invalid_qos"]
    # will retain without will flag
    assert codes(connect("x", flags=0x22)) == ["mqtt.bad_flags"]
    # 3.1.1: password without user name (3.1.2.9)
    assert codes(connect("x", flags=0x42, tail=s("pw"))) == ["mqtt.bad_flags"]
    # unknown protocol name / level
    bad = packet(1, 0, s("MQTT") + b"\x09\x02\x00\x3c" + s("x"))
    assert codes(bad) == ["mqtt.unknown_protocol"]
    # invalid UTF-8 client id, and U+0000 in it
    assert codes(connect("x")[:-1] + b"\xff") == ["mqtt.bad_utf8"]
    assert codes(connect("a\x00b")) == ["mqtt.bad_utf8"]
    # bytes after the last field
    frame = connect("x") + b"\x00"
    frame = frame[:1] + bytes([frame[1] + 1]) + frame[2:]
    assert codes(frame) == ["mqtt.trailing_bytes"]


def test_connect_truncated_field() -> None:
    # the user name flag announces a user name that is not there
    with pytest.raises(Malformed) as e:
        decode(connect("x", flags=0x82), 4)
    assert e.value.code == "mqtt.truncated"


def test_connack_311() -> None:
    pkt = decode(bytes.fromhex(
        "20" "02"   # CONNACK, remaining length 2
        "01"        # session present
        "05"), 4)   # return code 5: not authorized
    assert (pkt.session_present, pkt.reason_code, pkt.properties) == (True, 5, None)
    assert codes(bytes.fromhex("20020200")) == ["mqtt.bad_flags"]  # reserved ack flag bit


def test_connack_v5_properties() -> None:
    body = (b"\x00"                    # acknowledge flags
            b"\x00"                    # reason code success
            + props(b"\x12" + s("auto-1"),  # assigned client identifier
                    b"\x24\x01",            # maximum QoS 1
                    b"\x25\x00",            # retain available 0
                    b"\x13\x00\x1e",        # server keep alive 30
                    b"\x1f" + s("welcome")))  # reason string
    pkt = decode(packet(2, 0, body), 5)
    assert pkt.reason_code == 0
    assert pkt.properties == MqttProperties(assigned_client_id="auto-1", maximum_qos=1,
                                            retain_available=False, server_keep_alive=30,
                                            reason_string="welcome")


# -- PUBLISH and acknowledgements ----------------------------------------------------------------
def test_publish_qos0_text() -> None:
    pkt = decode(bytes.fromhex(
        "31"            # PUBLISH, flags: retain
        "0d"            # remaining length 13
        "0004706c6331"  # topic "plc1"
        "74656d703d3231"), 4)  # payload "temp=21"
    assert (pkt.topic, pkt.qos, pkt.retain, pkt.dup, pkt.packet_id) == ("plc1", 0, True, False,
                                                                       None)
    assert pkt.payload_length == 7 and pkt.payload_preview == "temp=21"


def test_publish_qos2_dup_packet_id_binary_payload() -> None:
    frame = packet(3, 0x0C,           # DUP, QoS 2
                   s("a/b") + b"\x12\x34" + b"\x89PNG\x00\x01")
    pkt = decode(frame, 4)
    assert (pkt.qos, pkt.dup, pkt.packet_id, pkt.payload_length) == (2, True, 0x1234, 6)
    assert pkt.payload_preview is None  # not text


def test_publish_preview_is_bounded_and_keeps_whole_characters() -> None:
    payload = ("é" * 40).encode()  # 80 bytes: the 64-byte cut falls between two characters
    pkt = decode(packet(3, 0, s("t") + payload), 4)
    assert pkt.payload_preview == "é" * 32
    payload = b"a" + ("é" * 40).encode()  # the cut falls inside a character: dropped
    assert decode(packet(3, 0, s("t") + payload), 4).payload_preview == "a" + "é" * 31


def test_publish_v5_properties_topic_alias() -> None:
    body = (s("")                             # empty topic: the alias stands for it
            + b"\x00\x07"                     # packet id 7 (QoS 1)
            + props(b"\x23\x00\x03",          # topic alias 3
                    b"\x02\x00\x00\x00\x3c",  # message expiry 60
                    b"\x03" + s("json"),      # content type
                    b"\x08" + s("reply/to"),  # response topic
                    b"\x09" + s(b"\xaa\xbb"),  # correlation data, 2 bytes
                    b"\x0b\x81\x01")          # subscription identifier 129
            + b"{}")
    pkt = decode(packet(3, 0x02, body), 5)
    assert (pkt.topic, pkt.packet_id, pkt.payload_length, pkt.payload_preview) == ("", 7, 2, "{}")
    assert pkt.properties == MqttProperties(
        topic_alias=3, message_expiry_interval=60, content_type="json",
        response_topic="reply/to", correlation_data_length=2, subscription_identifiers=(129,))


def test_publish_anomalies() -> None:
    assert codes(packet(3, 0x06, s("t") + b"\x00\x01")) == ["mqtt.invalid_qos"]  # QoS 3
    assert codes(packet(3, 0x08, s("t"))) == ["mqtt.bad_flags"]  # DUP on QoS 0
    with pytest.raises(Malformed) as e:  # QoS 1 without room for the packet id
        decode(packet(3, 0x02, s("t")), 4)
    assert e.value.code == "mqtt.truncated"


@pytest.mark.parametrize(("ptype", "flags"), [(4, 0), (5, 0), (6, 2), (7, 0)])
def test_pub_acknowledgements(ptype: int, flags: int) -> None:
    # 3.1.1: packet id only
    pkt = decode(packet(ptype, flags, b"\x00\x09"), 4)
    assert (pkt.packet_id, pkt.reason_code) == (9, None)
    # 5.0: reason code and properties
    pkt = decode(packet(ptype, flags, b"\x00\x09\x10" + props(b"\x1f" + s("nobody"))), 5)
    assert (pkt.packet_id, pkt.reason_code) == (9, 0x10)
    assert pkt.properties == MqttProperties(reason_string="nobody")
    # reserved flags (PUBREL must carry 0b0010, the others 0)
    assert codes(packet(ptype, flags ^ 0x02, b"\x00\x09")) == ["mqtt.bad_flags"]
    # 3.1.1 has nothing after the packet id
    assert codes(packet(ptype, flags, b"\x00\x09\x00")) == ["mqtt.trailing_bytes"]


# -- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------------------------
def test_subscribe_311() -> None:
    frame = bytes.fromhex(
        "82"            # SUBSCRIBE, flags 0b0010
        "0e"            # remaining length 14
        "0001"          # packet id 1
        "0003612f23" "01"  # "a/#" QoS 1
        "0003622f2b" "02")  # "b/+" QoS 2
    pkt = decode(frame, 4)
    assert pkt.packet_id == 1
    assert pkt.subscriptions == [MqttSubscription("a/#", 1), MqttSubscription("b/+", 2)]
    assert codes(bytes.fromhex("820600010001" "74" "04")) == ["mqtt.bad_flags"]  # reserved bits
    assert codes(bytes.fromhex("820600010001" "74" "03")) == ["mqtt.invalid_qos"]
    assert codes(bytes.fromhex("8006" "0001" "000174" "00")) == ["mqtt.bad_flags"]  # flags 0
    assert codes(bytes.fromhex("82020001")) == ["mqtt.empty_subscription"]


def test_subscribe_v5_options() -> None:
    body = (b"\x00\x02"                      # packet id 2
            + props(b"\x0b\x05")             # subscription identifier 5
            + s("x") + bytes([0b00101101])   # retain handling 2, RAP, no local, QoS 1
            + s("y") + bytes([0b11000000]))  # reserved bits
    pkt = decode(packet(8, 2, body), 5)
    assert pkt.properties == MqttProperties(subscription_identifiers=(5,))
    assert pkt.subscriptions == [MqttSubscription("x", 1, True, True, 2),
                                 MqttSubscription("y", 0, False, False, 0)]
    assert [c for c, _ in pkt.anomalies or []] == ["mqtt.bad_flags"]


def test_suback_unsubscribe_unsuback() -> None:
    pkt = decode(bytes.fromhex("9004" "0001" "01" "80"), 4)  # SUBACK id 1: QoS 1, failure
    assert (pkt.packet_id, pkt.codes) == (1, [1, 0x80])
    pkt = decode(bytes.fromhex("a207" "0003" "0003" "612f62"), 4)  # UNSUBSCRIBE id 3 "a/b"
    assert (pkt.packet_id, pkt.subscriptions) == (3, [MqttSubscription("a/b")])
    pkt = decode(bytes.fromhex("b002" "0003"), 4)  # UNSUBACK id 3 (3.1.1: no codes)
    assert (pkt.packet_id, pkt.codes) == (3, None)
    pkt = decode(bytes.fromhex("b005" "0003" "00" "0011"), 5)  # v5: no props, success, 0x11
    assert (pkt.packet_id, pkt.codes) == (3, [0x00, 0x11])


# -- PING, DISCONNECT, AUTH, reserved ------------------------------------------------------------
def test_ping_disconnect_auth() -> None:
    assert decode(b"\xc0\x00", 4).name == "PINGREQ"
    assert decode(b"\xd0\x00", 4).name == "PINGRESP"
    assert codes(b"\xc0\x01\x00") == ["mqtt.trailing_bytes"]
    pkt = decode(b"\xe0\x00", 4)
    assert (pkt.name, pkt.reason_code) == ("DISCONNECT", None)
    pkt = decode(packet(14, 0, b"\x8e" + props(b"\x1c" + s("other:1883"))), 5)
    assert (pkt.reason_code, pkt.properties) == (
        0x8E, MqttProperties(server_reference="other:1883"))
    pkt = decode(packet(15, 0, b"\x18" + props(b"\x15" + s("K"), b"\x16" + s(b"\x00"))), 5)
    assert pkt.name == "AUTH" and pkt.reason_code == 0x18
    assert pkt.properties == MqttProperties(authentication_method="K",
                                            authentication_data_present=True)


@pytest.mark.parametrize(("frame", "level"), [(b"\x00\x00", 4), (b"\x00\x00", 5), (b"\xf0\x00", 4)])
def test_reserved_packet_types(frame: bytes, level: int) -> None:
    with pytest.raises(Malformed) as e:
        decode(frame, level)
    assert e.value.code == "mqtt.unknown_packet_type"


# -- properties ----------------------------------------------------------------------------------
def test_property_faults() -> None:
    def ack(*items: bytes) -> list[str]:
        return codes(packet(4, 0, b"\x00\x01\x00" + props(*items)), 5)

    assert ack(b"\x7f\x00") == ["mqtt.bad_property"]                  # unknown identifier
    assert ack(b"\x1f" + s("a"), b"\x1f" + s("b")) == ["mqtt.bad_property"]  # repeated
    assert ack(b"\x25\x02") == ["mqtt.bad_property"]                  # boolean out of range
    assert ack(b"\x24\x03") == ["mqtt.bad_property"]                  # maximum QoS 3
    assert ack(b"\x0b\x00") == ["mqtt.bad_property"]                  # subscription id 0
    # repeated user properties are allowed, and capped at 16
    pkt = decode(packet(4, 0, b"\x00\x01\x00" + props(
        *[b"\x26" + s(f"k{i}") + s("v") for i in range(20)])), 5)
    assert pkt.anomalies is None and pkt.truncated
    assert pkt.properties is not None and pkt.properties.truncated
    assert pkt.properties.user_properties is not None
    assert len(pkt.properties.user_properties) == 16
    # a property block longer than the packet
    with pytest.raises(Malformed) as e:
        decode(packet(4, 0, b"\x00\x01\x00\x09\x1f"), 5)
    assert e.value.code == "mqtt.truncated"
    # a property value cut by the end of the block
    with pytest.raises(Malformed) as e:
        decode(packet(4, 0, b"\x00\x01\x00\x02\x13\x00"), 5)
    assert e.value.code == "mqtt.truncated"
    # a property length of five continuation bytes
    with pytest.raises(Malformed) as e:
        decode(packet(4, 0, b"\x00\x01\x00\x80\x80\x80\x80\x01"), 5)
    assert e.value.code == "mqtt.bad_property"


def test_long_strings_are_capped() -> None:
    pkt = decode(packet(3, 0, s("t" * 3000)), 4)
    assert pkt.topic == "t" * 1024 and pkt.truncated


def test_decode_rejects_a_short_frame() -> None:
    with pytest.raises(Malformed) as e:
        decode(b"\x30\x05ab", 4)
    assert e.value.code == "mqtt.truncated"

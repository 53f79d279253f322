"""BACnet sessions: transaction pairing, segmentation, limits and every anomaly code, on a
recording UDP flow (BACnet/IP) and a recording link context (BACnet/Ethernet)."""

from __future__ import annotations

from typing import Any

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.events import AnomalyEvent
from otshield.protocols.bacnet import SPEC
from otshield.protocols.bacnet.session import BacnetIpSession, BacnetLinkSession
from protocols import bacnet_build as B
from protocols.bacnet_build import RecordingLink

CLIENT = ("10.0.0.1", 47808)
SERVER = ("10.0.0.2", 47808)
RP_PARAMS = B.ctx_object(0, 0, 1) + B.ctx_unsigned(1, 85)  # analog-input:1 present-value


def _flow(**settings: Any) -> tuple[RecordingFlow, BacnetIpSession]:
    flow = RecordingFlow(CLIENT, SERVER, transport="udp", settings=Settings(**settings))
    return flow, BacnetIpSession(flow)


def _send(flow: RecordingFlow, session: BacnetIpSession, payload: bytes, from_client: bool,
          dt: float = 0.01) -> None:
    flow.frame += 1
    flow.ts += dt
    session.on_frame(payload, from_client)


def _req(apdu: bytes, **kw: Any) -> bytes:
    return B.unicast(B.npdu(apdu, expecting_reply=True, **kw))


def _rsp(apdu: bytes, **kw: Any) -> bytes:
    return B.unicast(B.npdu(apdu, **kw))


def test_read_property_paired() -> None:
    flow, s = _flow()
    _send(flow, s, _req(B.confirmed(12, 3, RP_PARAMS)), True)
    assert flow.of("bacnet") == []
    _send(flow, s, _rsp(B.complex_ack(12, 3, RP_PARAMS + B.constructed(3, B.app_real(21.5)))),
          False)
    s.close()
    (ev,) = flow.of("bacnet")
    assert (ev.service, ev.function_class, ev.invoke_id, ev.answered, ev.reply) == (
        "readProperty", "read", 3, True, "complex-ack")
    assert (ev.object_type, ev.object_instance, ev.property, ev.values) == (
        "analog-input", 1, "present-value", [21.5])
    assert (ev.src_ip, ev.dst_ip, ev.frame) == (CLIENT[0], SERVER[0], 2)
    assert ev.response_time == 0.01
    assert (ev.max_apdu_accepted, ev.max_segments_accepted) == (1476, None)
    assert flow.codes() == []


def test_replies_of_every_kind() -> None:
    flow, s = _flow()
    wp = B.ctx_object(0, 1, 0) + B.ctx_unsigned(1, 85) + B.constructed(3, B.app_real(1.0))
    _send(flow, s, _req(B.confirmed(15, 1, wp)), True)
    _send(flow, s, _rsp(B.simple_ack(15, 1)), False)
    _send(flow, s, _req(B.confirmed(12, 2, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.error_pdu(12, 2, 2, 32)), False)  # property / unknown-property
    _send(flow, s, _req(B.confirmed(12, 3, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.reject_pdu(3, 4)), False)  # invalid-tag
    _send(flow, s, _req(B.confirmed(12, 4, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.abort_pdu(4, 4)), False)  # segmentation-not-supported
    _send(flow, s, _req(B.confirmed(12, 5, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.abort_pdu(5, 200)), False)  # proprietary reason
    s.close()
    wp_ev, err, rej, abt, prop = flow.of("bacnet")
    assert (wp_ev.reply, wp_ev.function_class, wp_ev.values) == ("simple-ack", "write", [1.0])
    assert (err.reply, err.error_class, err.error_code) == ("error", "property",
                                                           "unknown-property")
    assert (rej.reply, rej.reject_reason) == ("reject", "invalid-tag")
    assert (abt.reply, abt.abort_reason, abt.abort_by_server) == (
        "abort", "segmentation-not-supported", True)
    assert prop.abort_reason == "proprietary-200"
    assert flow.codes() == []


def test_client_abort_pairs_with_own_request() -> None:
    flow, s = _flow()
    _send(flow, s, _req(B.confirmed(12, 9, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.abort_pdu(9, 0, server=False)), True)  # the client gives up
    (ev,) = flow.of("bacnet")
    assert (ev.reply, ev.abort_by_server, ev.request_missing) == ("abort", False, False)


def test_reply_without_request() -> None:
    flow, s = _flow()
    _send(flow, s, _rsp(B.complex_ack(12, 7, RP_PARAMS + B.constructed(3, B.app_enum(1)))),
          False)
    _send(flow, s, _rsp(B.reject_pdu(8, 9)), False)
    ack, rej = flow.of("bacnet")
    assert (ack.pdu_type, ack.service, ack.request_missing, ack.values) == (
        "complex-ack", "readProperty", True, [1])
    assert (ack.src_ip, ack.dst_ip) == (CLIENT[0], SERVER[0])  # src is the requester
    assert (rej.service, rej.service_choice, rej.reject_reason) == (
        "unknown", None, "unrecognized-service")


def test_routed_transactions_keyed_by_network_address() -> None:
    flow, s = _flow()
    # the same invoke id to two devices behind a router: DNET 5 / DADR 0x0a and 0x0b
    _send(flow, s, _req(B.confirmed(12, 1, RP_PARAMS), dnet=5, dadr=b"\x0a"), True)
    _send(flow, s, _req(B.confirmed(12, 1, RP_PARAMS), dnet=5, dadr=b"\x0b"), True)
    _send(flow, s, _rsp(B.simple_ack(12, 1), snet=5, sadr=b"\x0b"), False)
    _send(flow, s, _rsp(B.simple_ack(12, 1), snet=5, sadr=b"\x0a"), False)
    s.close()
    first, second = flow.of("bacnet")
    assert (first.dadr, second.dadr) == ("0b", "0a")
    assert all(e.answered for e in (first, second))


def test_invoke_reuse_reports_the_earlier_request_unanswered() -> None:
    flow, s = _flow()
    _send(flow, s, _req(B.confirmed(12, 1, RP_PARAMS)), True)
    _send(flow, s, _req(B.confirmed(12, 1, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.simple_ack(12, 1)), False)
    s.close()
    old, new = flow.of("bacnet")
    assert (old.answered, old.frame, new.answered) == (False, 1, True)
    assert flow.codes() == ["bacnet.unanswered_request"]


def test_unconfirmed_services_are_events_at_once() -> None:
    flow, s = _flow()
    _send(flow, s, B.broadcast(B.npdu(B.unconfirmed(8, B.ctx_unsigned(0, 1)
                                                     + B.ctx_unsigned(1, 10)))), True)
    (ev,) = flow.of("bacnet")
    assert (ev.service, ev.pdu_type, ev.answered, ev.low_limit, ev.high_limit) == (
        "who-Is", "unconfirmed-request", None, 1, 10)
    assert ev.bvlc_function == "Original-Broadcast-NPDU"


def test_forwarded_npdu_and_bvlc_management() -> None:
    flow, s = _flow()
    iam = B.unconfirmed(0, B.app_object(8, 7) + B.app_unsigned(1476) + B.app_enum(3)
                        + B.app_unsigned(5))
    _send(flow, s, B.forwarded("10.9.9.9", 47808, B.npdu(iam)), False)
    _send(flow, s, B.bvlc(0x05, b"\x00\x3c"), True)  # Register-Foreign-Device TTL 60
    _send(flow, s, B.bvlc(0x00, b"\x00\x00"), False)  # BVLC-Result: success
    ev = flow.of("bacnet")[0]
    assert (ev.forwarded_from, ev.bvlc_function, ev.device_instance, ev.vendor_name) == (
        "10.9.9.9:47808", "Forwarded-NPDU", 7, "Johnson Controls, Inc.")
    reg, res = flow.of("bacnet_network")
    assert (reg.bvlc_function, reg.ttl, reg.function_class) == (
        "Register-Foreign-Device", 60, "config")
    assert (res.bvlc_result, res.bvlc_result_code) == ("successful-completion", 0)


def test_network_layer_messages() -> None:
    flow, s = _flow()
    _send(flow, s, B.broadcast(B.npdu(b"", message=0x00)), True)  # Who-Is-Router
    _send(flow, s, B.broadcast(B.npdu(b"\x00\x05\x00\x06", message=0x01)), False)
    _send(flow, s, B.unicast(B.npdu(b"\x01\x00\x09", message=0x03)), False)
    _send(flow, s, B.unicast(B.npdu(b"\x00", message=0x06)), True)  # routing table query
    _send(flow, s, B.unicast(B.npdu(b"", message=0x20)), True)  # reserved type
    _send(flow, s, B.forwarded("10.1.1.1", 47808, B.npdu(b"\x00\x05\x00", message=0x01)),
          False)  # an odd octet in the network list
    who, iam, rej, init, reserved, odd = flow.of("bacnet_network")
    assert (who.message, who.function_class, who.networks) == (
        "Who-Is-Router-To-Network", "identify", None)
    assert (iam.message, iam.networks) == ("I-Am-Router-To-Network", [5, 6])
    assert (rej.reject_reason, rej.networks) == ("not-directly-connected", [9])
    assert (init.message, init.function_class, init.ports) == (
        "Initialize-Routing-Table", "read", 0)
    assert reserved.message == "32"
    assert (odd.message, odd.networks, odd.address) == (
        "I-Am-Router-To-Network", None, "10.1.1.1:47808")
    assert flow.codes() == ["bacnet.unknown_network_message", "bacnet.bad_npdu"]


def _segments(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_segmented_complex_ack_reassembled_with_retransmission() -> None:
    flow, s = _flow()
    values = b"".join(B.app_object(0, i) for i in range(40))
    body = B.ctx_object(0, 8, 1) + B.ctx_unsigned(1, 76) + B.constructed(3, values)
    parts = _segments(body, 50)
    _send(flow, s, _req(B.confirmed(12, 4, B.ctx_object(0, 8, 1) + B.ctx_unsigned(1, 76))), True)
    for seq, part in enumerate(parts):
        last = seq == len(parts) - 1
        _send(flow, s, _rsp(B.complex_ack(12, 4, part, segmented=True, more=not last,
                                          sequence=seq)), False)
        _send(flow, s, _rsp(B.segment_ack(4, seq)), True)
        if seq == 1:  # a retransmitted segment changes nothing
            _send(flow, s, _rsp(B.complex_ack(12, 4, part, segmented=True, more=True,
                                              sequence=seq)), False)
    (ev,) = flow.of("bacnet")
    assert ev.response_segments == len(parts) and not ev.segments_missing
    assert ev.property == "object-list"
    assert ev.values is not None and len(ev.values) == 32 and ev.values_truncated
    assert ev.values[:2] == ["analog-input:0", "analog-input:1"]
    assert flow.codes() == []


def test_segmented_request_and_lost_segment() -> None:
    flow, s = _flow()
    wpm = B.ctx_object(0, 1, 0) + B.constructed(
        1, *(B.ctx_unsigned(0, 85) + B.constructed(2, B.app_enum(1)) for _ in range(6)))
    parts = _segments(wpm, 10)
    for seq, part in enumerate(parts):
        _send(flow, s, _req(B.confirmed(16, 6, part, segmented=True,
                                        more=seq < len(parts) - 1, sequence=seq)), True)
    _send(flow, s, _rsp(B.simple_ack(16, 6)), False)
    (ev,) = flow.of("bacnet")
    assert ev.request_segments == len(parts) and ev.properties is not None
    assert ev.max_segments_accepted is None  # unspecified (code 0)
    assert len(ev.properties) == 6 and ev.function_class == "write"
    # the same request with segment 1 lost
    for seq, part in enumerate(parts):
        if seq != 1:
            _send(flow, s, _req(B.confirmed(16, 7, part, segmented=True,
                                            more=seq < len(parts) - 1, sequence=seq)), True)
    _send(flow, s, _rsp(B.simple_ack(16, 7)), False)
    lost = flow.of("bacnet")[1]
    assert lost.segments_missing and lost.properties is None and lost.answered
    assert lost.request_segments == len(parts) - 1
    assert flow.codes() == ["bacnet.segment_error"]


def test_segment_without_first_and_response_size_limit() -> None:
    flow, s = _flow(max_frame_bytes=64)
    _send(flow, s, _req(B.confirmed(16, 1, b"\x09\x55", segmented=True, sequence=3)), True)
    assert flow.codes() == ["bacnet.segment_error"]
    _send(flow, s, _req(B.confirmed(12, 2, RP_PARAMS)), True)
    for seq in range(3):
        _send(flow, s, _rsp(B.complex_ack(12, 2, b"\x00" * 40, segmented=True, more=seq < 2,
                                          sequence=seq)), False)
    (ev,) = flow.of("bacnet")
    assert ev.segments_missing and ev.response_segments == 3
    assert flow.codes() == ["bacnet.segment_error"] * 2


def test_too_many_pending_and_timeout() -> None:
    flow, s = _flow(max_pending_requests=2, request_timeout=5.0)
    for invoke in range(4):
        _send(flow, s, _req(B.confirmed(12, invoke, RP_PARAMS)), True)
    assert [e.invoke_id for e in flow.of("bacnet")] == [0, 1]
    assert flow.codes() == ["bacnet.too_many_pending"]
    _send(flow, s, B.broadcast(B.npdu(B.unconfirmed(8))), True, dt=10.0)  # time passes
    assert [e.invoke_id for e in flow.of("bacnet") if e.answered is False] == [0, 1, 2, 3]
    s.close()
    assert flow.codes() == ["bacnet.too_many_pending", "bacnet.unanswered_request"]


def test_anomalies_from_each_layer() -> None:
    flow, s = _flow()
    _send(flow, s, b"\x81\x0a\x00\x09\x01", True)                      # bad_bvlc
    _send(flow, s, B.unicast(b"\x02\x00\x10\x08"), True)               # bad_npdu
    _send(flow, s, B.unicast(B.npdu(b"\x90")), True)                   # bad_apdu (type 9)
    _send(flow, s, B.unicast(B.npdu(B.unconfirmed(0, b"\xc4\x02"))), True)  # bad_tag
    _send(flow, s, B.unicast(B.npdu(B.unconfirmed(8, b"\x09\x01\x19\x02\x00"))), True)  # extra
    _send(flow, s, B.unicast(B.npdu(B.unconfirmed(40))), True)         # unknown_service
    _send(flow, s, _req(B.confirmed(60, 1)), True)                     # unknown_service
    _send(flow, s, _req(B.confirmed(12, 2, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.simple_ack(15, 2)), False)                   # reply_mismatch
    assert flow.codes() == ["bacnet.bad_bvlc", "bacnet.bad_npdu", "bacnet.bad_apdu",
                            "bacnet.bad_tag", "bacnet.bad_tag", "bacnet.unknown_service",
                            "bacnet.unknown_service", "bacnet.reply_mismatch"]
    # the session keeps going after each of them
    _send(flow, s, B.broadcast(B.npdu(B.unconfirmed(8))), True)
    assert flow.of("bacnet")[-1].service == "who-Is"
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


def test_password_never_in_events() -> None:
    flow, s = _flow()
    params = B.ctx_unsigned(0, 1) + B.ctx_string(1, "hunter2")
    _send(flow, s, _req(B.confirmed(20, 1, params)), True)
    _send(flow, s, _rsp(B.simple_ack(20, 1)), False)
    (ev,) = flow.of("bacnet")
    assert (ev.state, ev.password_present, ev.function_class) == ("warmstart", True, "control")
    assert "hunter2" not in repr(ev)


A = "00:00:00:00:00:0a"
Z = "00:00:00:00:00:0b"


def test_link_session_pairs_by_mac() -> None:
    link = RecordingLink()
    s = BacnetLinkSession(link)
    llc = b"\x82\x82\x03"
    link.send(s, A, Z, llc + B.npdu(B.confirmed(12, 1, RP_PARAMS), expecting_reply=True))
    link.send(s, Z, A, llc + B.npdu(B.complex_ack(12, 1, RP_PARAMS
                                                  + B.constructed(3, B.app_real(2.0)))))
    link.send(s, A, Z, b"\x82\x82\x13")  # bad LLC control
    s.close()
    events = [e for e in link.events if e.__struct_config__.tag == "bacnet"]
    (ev,) = events
    assert (ev.medium, ev.src_mac, ev.dst_mac, ev.values, ev.answered) == (
        "ethernet", A, Z, [2.0], True)
    assert [e.code for e in link.events if isinstance(e, AnomalyEvent)] == ["bacnet.bad_llc"]


def test_junk_after_the_service_parameters_is_reported() -> None:
    # The engine cuts Ethernet padding off by the 802.3 length (tests/test_linklayer.py), so
    # whatever follows the parameters inside the LLC payload is the sender's.
    link = RecordingLink()
    s = BacnetLinkSession(link)
    whois = b"\x82\x82\x03" + B.npdu(B.unconfirmed(8))
    link.send(s, A, "ff:ff:ff:ff:ff:ff", whois)
    assert [e.__struct_config__.tag for e in link.events] == ["bacnet"]
    link.send(s, A, "ff:ff:ff:ff:ff:ff", whois + b"\x7e" * 50)
    assert [e.__struct_config__.tag for e in link.events] == ["bacnet", "anomaly", "bacnet"]


def test_request_header_limits() -> None:
    flow, s = _flow()
    _send(flow, s, _req(B.confirmed(12, 1, RP_PARAMS, max_apdu=3, max_segments=3)), True)
    _send(flow, s, _req(B.confirmed(12, 2, RP_PARAMS, max_apdu=9, accepted=False)), True)
    s.close()
    first, second = flow.of("bacnet")
    assert (first.max_apdu_accepted, first.max_segments_accepted) == (480, 8)
    assert (second.max_apdu_accepted, second.max_segments_accepted) == (None, None)


def test_segment_retransmission_and_unfinished_response() -> None:
    flow, s = _flow()
    first = _req(B.confirmed(16, 3, b"\x0c\x00\x40\x00\x00", segmented=True, more=True))
    _send(flow, s, first, True)
    _send(flow, s, first, True)  # the first segment again
    _send(flow, s, _req(B.confirmed(16, 3, b"\x1e\x09\x55\x2e\x91\x01\x2f\x1f",
                                    segmented=True, sequence=1)), True)
    _send(flow, s, _rsp(B.simple_ack(16, 3)), False)
    (ev,) = flow.of("bacnet")
    assert (ev.request_segments, ev.answered, ev.segments_missing) == (2, True, False)
    assert ev.properties is not None and ev.properties[0].object_type == "analog-output"
    # a segmented response whose last segment never comes
    _send(flow, s, _req(B.confirmed(12, 4, RP_PARAMS)), True)
    _send(flow, s, _rsp(B.complex_ack(12, 4, RP_PARAMS, segmented=True, more=True)), False)
    s.close()
    unfinished = flow.of("bacnet")[1]
    assert (unfinished.answered, unfinished.segments_missing, unfinished.response_segments) == (
        False, True, 1)
    assert flow.codes() == ["bacnet.unanswered_request"]

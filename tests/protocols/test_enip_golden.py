"""Golden tests: small captures written with ``otshield.pcapwriter`` and the exact events
expected from the specification; then the same TCP conversation re-segmented into 1-byte and
random (seeded) segments must give identical events."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from protocols.enip_build import cpf as cpf_packet
from protocols.enip_build import (
    decode_enip,
    encap,
    forward_open,
    forward_open_ok,
    identity_item,
    io_datagram,
    logical,
    multiple,
    pccc_reply,
    pccc_request,
    reply,
    request,
    send_rr,
    send_unit,
    symbol,
    unconnected_send,
)
from support import without_position

HMI, PLC = ("10.1.1.10", 50123), ("10.1.1.20", 44818)
SESSION = 0x0A0B0C0D
CTX1, CTX2, CTX3, CTX4 = (bytes([n]) * 8 for n in (1, 2, 3, 4))
O2T, T2O = 0x00790301, 0x80000014

Splitter = Callable[[int], list[int] | None]


def whole(n: int) -> list[int] | None:
    return None


def one_byte(n: int) -> list[int] | None:
    return [1] * n


def random_sizes(seed: int) -> Splitter:
    rnd = random.Random(seed)

    def split(n: int) -> list[int] | None:
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rnd.randint(1, 40))
        return sizes

    return split


IDENTITY = struct.pack("<HHHBBHI", 1, 14, 54, 20, 11, 0x3060, 0x0051823F) + b"\x0a1756-L61/B"
MSP = request(0x0A, logical(0x02, 0x01), multiple([
    request(0x4C, symbol("Program:Main") + symbol("Speed"), b"\x01\x00"),
    request(0x4D, symbol("Setpoint", 2), b"\xca\x00\x01\x00" + struct.pack("<f", 12.5)),
]))
MSP_REPLY = reply(0x0A, 0, multiple([reply(0x4C, 0, b"\xc4\x00" + struct.pack("<i", 1500)),
                                     reply(0x4D, 0)]))


def conversation() -> list[tuple[bool, bytes]]:
    """An engineering session: register, identify, connect, read and write tags, stop the
    controller, a PCCC read, disconnect."""
    fo = forward_open(0, T2O, 0x14, 0x4D, 0x32952BF3, 2_000_000, 2_000_000, 0x43F4, 0x43F4,
                      0xA3, b"\x01\x00" + logical(0x02, 0x01))
    fc = request(0x4E, logical(0x06, 0x01), struct.pack("<BBHHIBB", 0x0A, 0x0E, 0x14, 0x4D,
                                                        0x32952BF3, 3, 0)
                 + b"\x01\x00" + logical(0x02, 0x01))
    typed_read = b"\x02\x07\x89\x00\x00"  # 2 bytes from N7:0.0
    return [
        (True, encap(0x65, b"\x01\x00\x00\x00", context=CTX1)),
        (False, encap(0x65, b"\x01\x00\x00\x00", SESSION, context=CTX1)),
        (True, encap(0x63, session=SESSION, context=CTX2)),
        (False, encap(0x63, cpf_packet((0x0C, identity_item(1, 14, 54, 20, 11, 0x3060,
                                                             0x0051823F, b"1756-L61/B", 3,
                                                             "10.1.1.20"))),
                      SESSION, context=CTX2)),
        (True, send_rr(unconnected_send(request(0x01, logical(0x01, 0x01))), SESSION, CTX3)),
        (False, send_rr(reply(0x01, 0, IDENTITY), SESSION, CTX3)),
        (True, send_rr(fo, SESSION, CTX4)),
        (False, send_rr(forward_open_ok(O2T, T2O, 0x14, 0x4D, 0x32952BF3, 2_000_000,
                                        2_000_000), SESSION, CTX4)),
        (True, send_unit(MSP, O2T, 1, SESSION)),
        (False, send_unit(MSP_REPLY, T2O, 1, SESSION)),
        (True, send_rr(request(0x07, logical(0x8E, 0x01)), SESSION, CTX1)),
        (False, send_rr(reply(0x07, 0), SESSION, CTX1)),
        (True, send_rr(pccc_request(0x0F, 0x0042, 0xA2, typed_read), SESSION, CTX2)),
        (False, send_rr(pccc_reply(0x0F, 0x0042, 0, b"\x05\x00"), SESSION, CTX2)),
        (True, send_rr(fc, SESSION, CTX3)),
        (False, send_rr(reply(0x4E, 0, struct.pack("<HHIBB", 0x14, 0x4D, 0x32952BF3, 0, 0)),
                        SESSION, CTX3)),
        (True, encap(0x66, session=SESSION, context=bytes(8))),
    ]


def write_capture(path: Path, split: Splitter) -> None:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        conv = TcpConversation(w, HMI, PLC, start=1_700_000_000.0).handshake()
        for from_client, payload in conversation():
            conv.send(from_client, payload, split(len(payload)))
        conv.close()
        ts = conv.ts + 1.0
        # ListIdentity broadcast, and the answer on a flow of its own
        bcast = udp_datagram("10.1.1.10", "10.1.1.255", 50124, 44818, encap(0x63, context=CTX4))
        w.write(ts, ethernet("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0800,
                             ipv4("10.1.1.10", "10.1.1.255", 17, bcast)))
        answer = encap(0x63, cpf_packet((0x0C, identity_item(1, 12, 58, 4, 3, 0x30, 0x524D8E,
                                                              b"1756-ENBT/A", 3, "10.1.1.21"))),
                       context=CTX4)
        w.write(ts + 0.01, ethernet("02:00:00:00:00:03", "02:00:00:00:00:01", 0x0800,
                                    ipv4("10.1.1.21", "10.1.1.10", 17, udp_datagram(
                                        "10.1.1.21", "10.1.1.10", 44818, 50124, answer))))
        # three implicit I/O datagrams to a multicast group, one lost (sequence 12)
        for k, seq in enumerate((10, 11, 13)):
            dgram = udp_datagram("10.1.1.20", "239.192.1.1", 2222, 2222,
                                 io_datagram(0x00AB0001, seq, struct.pack("<H", seq) + bytes(8)))
            w.write(ts + 0.1 + 0.01 * k, ethernet("02:00:00:00:00:02", "01:00:5e:40:01:01",
                                                  0x0800, ipv4("10.1.1.20", "239.192.1.1", 17,
                                                               dgram)))


COMMON = {"network.transport": "tcp", "source.ip": "10.1.1.10", "source.port": 50123,
          "destination.ip": "10.1.1.20", "destination.port": 44818}
CIP = {**COMMON, "event.dataset": "cip", "session_handle": SESSION, "enip_command": "SendRRData",
       "status": 0, "status_name": "success", "enip_status": 0}
CONN_REQ = {"connection_serial": 0x14, "originator_vendor_id": 0x4D,
            "originator_serial": "0x32952bf3"}

EXPECTED: list[dict[str, Any]] = [
    {**COMMON, "event.dataset": "enip", "command": 0x65, "command_name": "RegisterSession",
     "function_class": "other", "session_handle": SESSION, "sender_context": CTX1.hex(),
     "answered": True, "status": 0, "status_name": "success", "protocol_version": 1,
     "options": 0},
    {**COMMON, "event.dataset": "enip", "command": 0x63, "command_name": "ListIdentity",
     "function_class": "identify", "session_handle": SESSION, "sender_context": CTX2.hex(),
     "answered": True, "status": 0, "status_name": "success", "items": 1,
     "identity": {"vendor_id": 1, "vendor_name": "Rockwell Automation/Allen-Bradley",
                  "device_type": 14, "device_type_name": "Programmable Logic Controller",
                  "product_code": 54, "revision": "20.11", "revision_major": 20,
                  "revision_minor": 11, "status": 0x3060, "serial_number": "0x0051823f",
                  "product_name": "1756-L61/B", "state": 3, "state_name": "operational",
                  "encapsulation_version": 1, "socket_ip": "10.1.1.20", "socket_port": 44818}},
    {**CIP, "service": 0x01, "service_name": "Get_Attributes_All", "function_class": "identify",
     "class_id": 1, "class_name": "Identity", "instance": 1, "path": "class:0x01/instance:1",
     "unconnected_send": True, "route_path": "1/0", "sender_context": CTX3.hex(),
     "request_size": 0, "response_size": len(IDENTITY),
     "identity": {"vendor_id": 1, "vendor_name": "Rockwell Automation/Allen-Bradley",
                  "device_type": 14, "device_type_name": "Programmable Logic Controller",
                  "product_code": 54, "revision": "20.11", "revision_major": 20,
                  "revision_minor": 11, "status": 0x3060, "serial_number": "0x0051823f",
                  "product_name": "1756-L61/B"}},
    {**CIP, "service": 0x54, "service_name": "Forward_Open", "function_class": "other",
     "class_id": 6, "class_name": "Connection Manager", "instance": 1,
     "path": "class:0x06/instance:1", "sender_context": CTX4.hex(), "request_size": 42,
     "response_size": 26,
     "connection": {**CONN_REQ, "o2t_connection_id": O2T, "t2o_connection_id": T2O,
                    "timeout_ms": 14336, "timeout_multiplier": 3, "o2t_rpi_us": 2_000_000,
                    "t2o_rpi_us": 2_000_000, "o2t_api_us": 2_000_000, "t2o_api_us": 2_000_000,
                    "o2t_size": 500, "t2o_size": 500, "o2t_type": "point_to_point",
                    "t2o_type": "point_to_point", "o2t_priority": "low", "t2o_priority": "low",
                    "o2t_fixed_size": False, "t2o_fixed_size": False,
                    "o2t_redundant_owner": False, "t2o_redundant_owner": False,
                    "transport_class": 3, "trigger": "application_object",
                    "direction": "server",
                    "connection_path": "port:1/0/class:0x02/instance:1"}},
    {**CIP, "enip_command": "SendUnitData", "service": 0x0A,
     "service_name": "Multiple_Service_Packet", "function_class": "other", "class_id": 2,
     "class_name": "Message Router", "instance": 1, "path": "class:0x02/instance:1",
     "embedded_services": 2, "connection_id": O2T, "sequence": 1, "request_size": len(MSP) - 6,
     "response_size": len(MSP_REPLY) - 4},
    {**CIP, "enip_command": "SendUnitData", "service": 0x4C, "service_name": "Read_Tag",
     "function_class": "read", "symbol": "Program:Main.Speed", "path": "Program:Main.Speed",
     "multiple_index": 0, "connection_id": O2T, "sequence": 1, "request_size": 2,
     "response_size": 6, "data_type": 0xC4, "data_type_name": "DINT", "elements": 1,
     "value": 1500},
    {**CIP, "enip_command": "SendUnitData", "service": 0x4D, "service_name": "Write_Tag",
     "function_class": "write", "symbol": "Setpoint[2]", "path": "Setpoint[2]", "multiple_index": 1,
     "connection_id": O2T, "sequence": 1, "request_size": 8, "response_size": 0,
     "data_type": 0xCA, "data_type_name": "REAL", "elements": 1, "value": 12.5},
    {**CIP, "service": 0x07, "service_name": "Stop", "function_class": "control", "class_id": 0x8E,
     "instance": 1, "path": "class:0x8e/instance:1", "sender_context": CTX1.hex(),
     "request_size": 0, "response_size": 0},
    {**CIP, "service": 0x4B, "service_name": "Execute_PCCC", "function_class": "read",
     "class_id": 0x67, "class_name": "PCCC", "instance": 1, "path": "class:0x67/instance:1",
     "sender_context": CTX2.hex(), "request_size": 17, "response_size": 13,
     "pccc": {"command": 0x0F, "command_name": "extended", "function_code": 0xA2,
              "function_name": "protected_typed_logical_read_3", "transaction": 0x42,
              "requestor_vendor_id": 0x4D, "requestor_serial": "0x3d2b31e0", "status": 0,
              "status_name": "success", "file_type": 0x89, "file_type_name": "integer",
              "file_number": 7, "element": 0, "sub_element": 0, "address": "N7:0",
              "byte_size": 2}},
    {**CIP, "service": 0x4E, "service_name": "Forward_Close", "function_class": "other",
     "class_id": 6, "class_name": "Connection Manager", "instance": 1,
     "path": "class:0x06/instance:1", "sender_context": CTX3.hex(), "request_size": 18,
     "response_size": 10,
     "connection": {**CONN_REQ, "timeout_ms": 14336,
                    "connection_path": "port:1/0/class:0x02/instance:1"}},
    {**COMMON, "event.dataset": "enip", "command": 0x66, "command_name": "UnRegisterSession",
     "function_class": "other", "session_handle": SESSION, "sender_context": "00" * 8},
    # the reply (on its own flow) is reported at once, the broadcast request when its flow ends
    {"event.dataset": "enip", "network.transport": "udp", "source.ip": "10.1.1.10",
     "source.port": 50124, "destination.ip": "10.1.1.21", "destination.port": 44818,
     "command": 0x63, "command_name": "ListIdentity", "function_class": "identify",
     "session_handle": 0, "sender_context": CTX4.hex(), "answered": True, "status": 0,
     "status_name": "success", "items": 1, "request_missing": True,
     "identity": {"vendor_id": 1, "vendor_name": "Rockwell Automation/Allen-Bradley",
                  "device_type": 12, "device_type_name": "Communications Adapter",
                  "product_code": 58, "revision": "4.03", "revision_major": 4,
                  "revision_minor": 3, "status": 0x30, "serial_number": "0x00524d8e",
                  "product_name": "1756-ENBT/A", "state": 3, "state_name": "operational",
                  "encapsulation_version": 1, "socket_ip": "10.1.1.21",
                  "socket_port": 44818}},
    {"event.dataset": "enip", "network.transport": "udp", "source.ip": "10.1.1.10",
     "source.port": 50124, "destination.ip": "10.1.1.255", "destination.port": 44818,
     "command": 0x63, "command_name": "ListIdentity", "function_class": "identify",
     "session_handle": 0, "sender_context": CTX4.hex(), "answered": False},
    {"event.dataset": "cip_io", "network.transport": "udp", "source.ip": "10.1.1.20",
     "source.port": 2222, "destination.ip": "239.192.1.1", "destination.port": 2222,
     "connection_id": 0x00AB0001, "packets": 3, "bytes": 30, "min_size": 10, "max_size": 10,
     "first_sequence": 10, "last_sequence": 13, "sequence_gaps": 1, "mean_interval_ms": 10.0},
]

DROP = {"response_time", "flow_id", "network.community_id", "start"}


def _protocol_events(path: Path) -> list[dict[str, Any]]:
    """Our three datasets, without packet positions, flow ids and timing."""
    out = []
    for d in without_position(e for e in decode_enip(path)
                              if e.__struct_config__.tag in ("enip", "cip", "cip_io")):
        out.append({k: v for k, v in d.items() if k not in DROP})
    return out


def test_golden_conversation(tmp_path: Path) -> None:
    path = tmp_path / "enip.pcap"
    write_capture(path, whole)
    events = decode_enip(path)
    got = _protocol_events(path)
    assert got == EXPECTED
    anomalies = [e for e in events if e.__struct_config__.tag == "anomaly"]
    assert anomalies == []
    answered = [e for e in events if e.__struct_config__.tag == "cip"]
    assert all(e.response_time > 0 for e in answered)
    frames = {msgspec.to_builtins(e)["service_name"]: e.frame for e in answered}
    # the Stop reply is the 12th message: handshake (3), 11 messages and their ACKs (2 each),
    # then the reply's own packet
    assert frames["Stop"] == 3 + 2 * 11 + 1


@pytest.mark.parametrize("split", [one_byte, random_sizes(7), random_sizes(2024)],
                         ids=["one_byte", "random_7", "random_2024"])
def test_resegmented_conversation_gives_the_same_events(tmp_path: Path, split: Splitter) -> None:
    original, resplit = tmp_path / "a.pcap", tmp_path / "b.pcap"
    write_capture(original, whole)
    write_capture(resplit, split)
    assert _protocol_events(resplit) == _protocol_events(original) == EXPECTED
    codes = [e.code for e in decode_enip(resplit) if e.__struct_config__.tag == "anomaly"]
    assert codes == []


def test_through_the_full_registry(tmp_path: Path) -> None:
    """With every built-in decoder registered (``decode_file``), the EtherNet/IP flows still go
    to this decoder and give the same events."""
    from support import decode

    path = tmp_path / "enip.pcap"
    write_capture(path, whole)
    events = decode(path)
    got = [{k: v for k, v in d.items() if k not in DROP} for d in without_position(
        e for e in events if e.__struct_config__.tag in ("enip", "cip", "cip_io"))]
    assert got == EXPECTED

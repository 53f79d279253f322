"""The scenario library's message builders: exact bytes where the encoding is short enough to
write out, and otshield's own decoders reading back the longer exchanges (S7 download, IEC 104
select-before-operate, Modbus writes, SMB file copy and service pipe)."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from otshield.demo_grid import Iec104Link, apci_u
from otshield.pcapwriter import PcapWriter, TcpConversation
from otshield.sim.scenario import ScenarioContext, SimAsset
from otshield.sim.scenarios.base import after
from otshield.sim.scenarios.smb import SVCCTL, Smb2Session, fake_pe
from otshield.sim.scenarios.wire_it import (
    arp_announce,
    dns_name,
    dns_txt_answer,
    dns_txt_query,
    tcp_frame,
)
from otshield.sim.scenarios.wire_ot import (
    ModbusClient,
    block_file,
    iec104_command,
    s7_connect,
    s7_download,
    s7_upload,
)
from support import decode, of_type

A = SimAsset(name="a", ip="10.0.0.1", mac="02:00:00:00:00:01")
B = SimAsset(name="b", ip="10.0.0.2", mac="02:00:00:00:00:02")


def _conversation(path: Path, port: int) -> tuple[TcpConversation, BinaryIO]:
    """A connection A -> B:port written to ``path`` (close the file when done)."""
    fh = path.open("wb")
    conv = TcpConversation(PcapWriter(fh), (A.ip, 50000), (B.ip, port), A.mac, B.mac,
                           start=1_767_247_200.0, isn=(1000, 9000))
    return conv.handshake(), fh


def test_block_file_names() -> None:
    assert block_file("OB", 1) == b"_0800001P"
    assert block_file("DB", 12, "A") == b"_0A00012A"


def test_dns_txt_query_and_answer_bytes() -> None:
    assert dns_txt_query(0x1234, "a.bc") == bytes.fromhex(
        "1234 0100 0001 0000 0000 0000"  # id, RD, one question
        "01 61 02 6263 00"               # a.bc
        "0010 0001")                     # TXT, IN
    answer = dns_txt_answer(0x1234, "a.bc", b"ok", ttl=5)
    assert answer[:12] == bytes.fromhex("1234 8180 0001 0001 0000 0000")
    assert answer[-15:] == bytes.fromhex("c00c 0010 0001 00000005 0003 02 6f6b")
    with pytest.raises(ValueError):
        dns_name("x" * 64 + ".example")


def test_arp_announce_claims_the_address_for_the_sender() -> None:
    frame = arp_announce("b8:27:eb:00:00:01", "10.0.0.9", "02:00:00:00:00:02")
    assert len(frame) == 60
    assert frame[:12] == bytes.fromhex("020000000002 b827eb000001")
    op, sha, spa, tha, tpa = struct.unpack_from("!6xH6s4s6s4s", frame, 14)
    assert (op, sha, tha) == (2, bytes.fromhex("b827eb000001"), bytes.fromhex("b827eb000001"))
    assert spa == tpa == bytes([10, 0, 0, 9])


def test_tcp_frame_is_a_bare_segment() -> None:
    frame = tcp_frame(A, B, 40000, 502, 7, 0, 0x02, window=1024)
    assert len(frame) == 14 + 20 + 20
    assert struct.unpack_from("!HHIIBBH", frame, 34) == (40000, 502, 7, 0, 0x50, 0x02, 1024)


def test_after_lands_on_a_whole_millisecond() -> None:
    class Clock:
        now = 1_767_247_200.0001

    ctx = cast(ScenarioContext, Clock())
    wait = after(ctx, 1_767_247_200.0023, 1.0)
    assert Clock.now + wait == pytest.approx(1_767_247_201.003, abs=1e-9)
    assert after(ctx, 0.0, 0.0) == pytest.approx(0.0009, abs=1e-6)


def test_s7_download_and_upload_read_back(tmp_path: Path) -> None:
    conv, fh = _conversation(tmp_path / "s7.pcap", 102)
    rnd = random.Random(1)
    s7_connect(conv)
    ref = s7_download(conv, rnd, 0x10, "OB", 1, size=420)
    s7_upload(conv, rnd, ref, "FC", 3, size=300)
    conv.close()
    fh.close()
    events = of_type(decode(tmp_path / "s7.pcap"), "s7comm")
    jobs = [e for e in events if e.rosctr == "job"]
    assert [e.function for e in jobs] == [
        "setup_communication", "request_download", "download_block", "download_block",
        "download_block", "download_ended", "pi_service", "start_upload", "upload", "upload",
        "end_upload"]
    request = jobs[1]
    assert (request.block, request.filesystem, request.mc7_length) == ("OB1", "passive", 420)
    assert jobs[6].pi_service == "_INSE" and jobs[6].blocks == ["OB1"]
    assert jobs[7].block == "FC3"


def test_iec104_select_before_operate(tmp_path: Path) -> None:
    conv, fh = _conversation(tmp_path / "iec.pcap", 2404)
    conv.send(True, apci_u(0x07))
    conv.send(False, apci_u(0x0B))
    link = Iec104Link(conv)
    iec104_command(link, 46, 3001, 1, ca=1)
    iec104_command(link, 45, 3101, 1, ca=1, known=False)
    link.ack()
    conv.close()
    fh.close()
    commands = [e for e in of_type(decode(tmp_path / "iec.pcap"), "iec104") if e.cause == 6]
    assert [(e.type_name, e.objects[0].ioa, e.objects[0].select, e.result) for e in commands] == [
        ("C_DC_NA_1", 3001, True, "confirmed"), ("C_DC_NA_1", 3001, False, "confirmed"),
        ("C_SC_NA_1", 3101, True, "unknown_ioa")]


def test_modbus_client_writes(tmp_path: Path) -> None:
    conv, fh = _conversation(tmp_path / "mb.pcap", 502)
    mb = ModbusClient(conv, unit=1, tid=41)
    mb.write_registers(3, [470, 495])
    mb.write_coil(1, True)
    mb.exception(bytes.fromhex("03 0078 0001"), 2)
    conv.close()
    fh.close()
    events = of_type(decode(tmp_path / "mb.pcap"), "modbus")
    assert [(e.transaction_id, e.function_code, e.address, e.status) for e in events] == [
        (42, 16, 3, "ok"), (43, 5, 1, "ok"), (44, 3, 120, "exception")]
    assert events[0].registers == (470, 495) and events[1].coils == (True,)


def test_smb_copy_and_service_pipe(tmp_path: Path) -> None:
    conv, fh = _conversation(tmp_path / "smb.pcap", 445)
    rnd = random.Random(3)
    smb = Smb2Session(conv, rnd, server_name="HMI-01", user="svc", domain="PLANT",
                      workstation="PC-1")
    smb.logon()
    smb.tree_connect("ADMIN$")
    smb.put_file("ADMIN$", "Temp\\tool.exe", fake_pe(rnd, 9000))
    smb.tree_connect("IPC$")
    smb.bind_pipe(*SVCCTL)
    smb.logoff()
    conv.close()
    fh.close()
    events = of_type(decode(tmp_path / "smb.pcap"), "smb")
    trees = [e.tree for e in events if e.command == "TREE_CONNECT"]
    assert trees == ["\\\\HMI-01\\ADMIN$", "\\\\HMI-01\\IPC$"]
    assert [e.user for e in events if e.command == "SESSION_SETUP" and e.user] == ["svc"]
    written = sum(e.data_length or e.length or 0 for e in events
                  if e.command == "WRITE" and e.filename == "Temp\\tool.exe")
    assert written == 9000
    assert any(e.filename == "svcctl" for e in events if e.command == "CREATE")


def test_fake_pe_looks_like_a_program() -> None:
    data = fake_pe(random.Random(5), 4096)
    assert len(data) == 4096 and data[:2] == b"MZ"
    offset = struct.unpack_from("<I", data, 60)[0]
    assert data[offset:offset + 4] == b"PE\0\0"

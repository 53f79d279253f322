"""SMB file transfers: ``SmbFileEvent`` per closed handle and direction, with content digests
computed in file order (SMB2 READ/WRITE, SMB1 READ_ANDX/WRITE_ANDX), including messages larger
than the framing keeps whole, re-segmented captures, gaps, refusals, out-of-order reads, pipes,
and agreement with ``tshark --export-objects smb`` on the corpus.

Every expected digest is computed here with hashlib from the bytes the test sent."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from pathlib import Path

import pytest

from otshield.protocols.smb.events import SmbFileEvent
from otshield.protocols.smb.framing import WHOLE_LIMIT
from otshield.protocols.smb.session import SmbSession
from protocols.it_b_build import (
    SMB2_CLOSE,
    SMB2_CREATE,
    SMB2_READ,
    SMB2_TREE_CONNECT,
    SMB2_WRITE,
    FakeFlow,
    close_req,
    close_resp,
    create_req,
    create_resp,
    error_resp,
    nbss,
    random_sizes,
    read_req,
    read_resp,
    smb1,
    smb2,
    tree_connect_req,
    tree_connect_resp,
    write_req,
    write_resp,
    write_tcp,
)
from resegment import resegment
from support import PCAPS, require_tshark
from support import decode as decode_capture

SID = 0x0000100000000041
F1 = bytes(range(16))
F2 = bytes(range(16, 32))
DENIED = 0xC0000022


def req(command: int, mid: int, body: bytes, tree_id: int = 5) -> bytes:
    return smb2(command, mid, body, session_id=SID, tree_id=tree_id)


def resp(command: int, mid: int, body: bytes, tree_id: int = 5, status: int = 0) -> bytes:
    return smb2(command, mid, body, response=True, session_id=SID, tree_id=tree_id,
                status=status)


def share(path: str = "\\\\HIST01\\DATA", share_type: int = 1,
          tree_id: int = 5) -> list[tuple[bool, bytes]]:
    return [(True, req(SMB2_TREE_CONNECT, 1, tree_connect_req(path), tree_id=0)),
            (False, smb2(SMB2_TREE_CONNECT, 1, tree_connect_resp(share_type), response=True,
                         session_id=SID, tree_id=tree_id))]


def opened(name: str, fid: bytes, size: int = 0, mid: int = 2,
           tree_id: int = 5) -> list[tuple[bool, bytes]]:
    return [(True, req(SMB2_CREATE, mid, create_req(name, 5, 0x0013019F), tree_id)),
            (False, resp(SMB2_CREATE, mid, create_resp(fid, 2, size), tree_id))]


def closed(fid: bytes, size: int, mid: int = 90) -> list[tuple[bool, bytes]]:
    return [(True, req(SMB2_CLOSE, mid, close_req(fid))),
            (False, resp(SMB2_CLOSE, mid, close_resp(size)))]


def writes(fid: bytes, content: bytes, block: int, mid: int = 10) -> list[tuple[bool, bytes]]:
    out: list[tuple[bool, bytes]] = []
    for i, off in enumerate(range(0, len(content), block)):
        part = content[off:off + block]
        out += [(True, req(SMB2_WRITE, mid + i, write_req(fid, off, part))),
                (False, resp(SMB2_WRITE, mid + i, write_resp(len(part))))]
    return out


def reads(fid: bytes, content: bytes, ranges: list[tuple[int, int]],
          mid: int = 40) -> list[tuple[bool, bytes]]:
    out: list[tuple[bool, bytes]] = []
    for i, (off, n) in enumerate(ranges):
        out += [(True, req(SMB2_READ, mid + i, read_req(fid, off, n))),
                (False, resp(SMB2_READ, mid + i, read_resp(content[off:off + n])))]
    return out


def run(messages: list[tuple[bool, bytes]], step: int = 0,
        gap_after: int | None = None) -> list[SmbFileEvent]:
    """Drive a session; ``gap_after`` loses 1000 bytes of the stream after that many bytes of
    the message with that index (counted over all messages' NBSS bytes)."""
    flow = FakeFlow()
    s = SmbSession(flow)
    sent = 0
    for from_client, payload in messages:
        data = nbss(payload)
        flow.step()
        pieces = [data[i:i + step] for i in range(0, len(data), step)] if step else [data]
        for piece in pieces:
            if gap_after is not None and sent <= gap_after < sent + len(piece):
                cut = gap_after - sent
                s.on_data(piece[:cut], from_client)
                s.on_gap(from_client, 1000)
                piece = piece[cut + 1000:]
                gap_after = None
            sent += len(piece)
            if piece:
                s.on_data(piece, from_client)
    s.close()
    return [e for e in flow.events if isinstance(e, SmbFileEvent)]


def digests(data: bytes) -> tuple[str, str, str]:
    return (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest())


EXE = b"MZ\x90\x00" + bytes(range(256)) * 30 + b"\xcc" * 333


# -- SMB2 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", [0, 1, 97])
def test_smb2_write_hashed(step: int) -> None:
    conv = (share() + opened("Windows\\Temp\\payload.exe", F1) + writes(F1, EXE, 4096)
            + closed(F1, len(EXE)))
    (ev,) = run(conv, step=step)
    assert (ev.version, ev.path, ev.name, ev.tree, ev.direction) == (
        2, "Windows\\Temp\\payload.exe", "payload.exe", "\\\\HIST01\\DATA", "write")
    assert (ev.bytes_transferred, ev.size, ev.complete, ev.closed) == (
        len(EXE), len(EXE), True, True)
    assert (ev.md5, ev.sha1, ev.sha256) == digests(EXE)
    assert (ev.file_id, ev.src_ip, ev.dst_port) == (F1.hex(), "10.0.0.10", 445)


def test_smb2_read_with_reread_and_short_last_block() -> None:
    # Explorer-like: the first 1 KiB, then the whole file from 0 in 4 KiB reads; the last
    # read asks for more than is left
    ranges = [(0, 1024)] + [(off, 4096) for off in range(0, len(EXE), 4096)]
    conv = share() + opened("docs\\plan.pdf", F2, size=len(EXE)) + reads(F2, EXE, ranges) \
        + closed(F2, len(EXE))
    (ev,) = run(conv)
    assert (ev.direction, ev.complete, ev.size, ev.sha256) == (
        "read", True, len(EXE), hashlib.sha256(EXE).hexdigest())
    assert ev.bytes_transferred == 1024 + len(EXE)  # what moved, re-read included


def test_smb2_read_out_of_order_or_partial_is_incomplete() -> None:
    # the second half first: every byte moved, but not in file order
    out_of_order = reads(F2, EXE, [(4096, 4096), (0, 4096)])
    (ev,) = run(share() + opened("a.bin", F2, size=len(EXE)) + out_of_order
                + closed(F2, len(EXE)))
    assert (ev.complete, ev.md5, ev.sha256, ev.bytes_transferred) == (
        False, None, None, len(EXE))
    (ev,) = run(share() + opened("a.bin", F2, size=len(EXE)) + reads(F2, EXE, [(0, 4096)])
                + closed(F2, len(EXE)))
    assert (ev.complete, ev.sha256, ev.bytes_transferred, ev.size) == (
        False, None, 4096, len(EXE))


def test_smb2_refused_or_rewritten_write_is_incomplete() -> None:
    refused = [(True, req(SMB2_WRITE, 11, write_req(F1, 0, EXE[:100]))),
               (False, resp(SMB2_WRITE, 11, error_resp(), status=DENIED))]
    (ev,) = run(share() + opened("x.exe", F1) + refused + closed(F1, 0))
    assert (ev.complete, ev.sha256, ev.bytes_transferred) == (False, None, 0)
    rewrite = [*writes(F1, EXE, 4096),
               (True, req(SMB2_WRITE, 60, write_req(F1, 0, b"XX"))),
               (False, resp(SMB2_WRITE, 60, write_resp(2)))]
    (ev,) = run(share() + opened("x.exe", F1) + rewrite + closed(F1, len(EXE)))
    assert (ev.complete, ev.sha256, ev.bytes_transferred) == (False, None, len(EXE) + 2)


def test_both_directions_and_no_data_no_event() -> None:
    conv = (share() + opened("cfg.ini", F1) + writes(F1, b"[a]\nb=1\n", 100)
            + reads(F1, b"[a]\nb=1\n", [(0, 100)]) + closed(F1, 8)
            + opened("empty.txt", F2, mid=3) + closed(F2, 0, mid=91))
    read, write = sorted(run(conv), key=lambda e: e.direction)
    assert (read.direction, read.complete, read.sha1) == (
        "read", True, hashlib.sha1(b"[a]\nb=1\n").hexdigest())
    assert (write.direction, write.complete, write.sha1) == (
        "write", True, hashlib.sha1(b"[a]\nb=1\n").hexdigest())


def test_named_pipes_give_no_file_event() -> None:
    conv = (share("\\\\HIST01\\IPC$", share_type=2) + opened("svcctl", F1)
            + writes(F1, b"\x05\x00\x0b\x03" + b"\0" * 60, 100)
            + reads(F1, b"\x05\x00\x0c\x03" + b"\0" * 60, [(0, 64)]) + closed(F1, 0))
    assert run(conv) == []


def test_handle_open_at_end_of_connection() -> None:
    (ev,) = run(share() + opened("log.txt", F1) + writes(F1, b"hello", 10))
    assert (ev.closed, ev.complete, ev.size, ev.sha256) == (
        False, True, 5, hashlib.sha256(b"hello").hexdigest())


def test_open_file_table_is_bounded() -> None:
    conv = share()
    for i in range(1030):
        fid = struct.pack("<QQ", i, i)
        conv += [*opened(f"f{i}.txt", fid, mid=1000 + i),
                 (True, req(SMB2_WRITE, 5000 + i, write_req(fid, 0, b"%d" % i))),
                 (False, resp(SMB2_WRITE, 5000 + i, write_resp(len(b"%d" % i))))]
    events = run(conv)
    assert len(events) == 1030  # six forgotten when the table was full, the rest at the end
    assert [e.path for e in events[:6]] == [f"f{i}.txt" for i in range(6)]
    assert all(not e.closed and e.complete for e in events)


# -- large messages: the data goes on past the head the framing keeps ---------------------------

BIG = bytes(range(251)) * ((WHOLE_LIMIT + 70000) // 251)


@pytest.mark.parametrize("step", [0, 1460, 4097])
def test_large_write_and_read(step: int) -> None:
    conv = (share() + opened("big.bin", F1) + writes(F1, BIG, len(BIG)) + closed(F1, len(BIG))
            + opened("big.bin", F2, size=len(BIG), mid=3)
            + reads(F2, BIG, [(0, 65536), (65536, len(BIG))]) + closed(F2, len(BIG), mid=91))
    write, read = run(conv, step=step)
    assert (write.direction, write.complete, write.sha256) == (
        "write", True, hashlib.sha256(BIG).hexdigest())
    assert (read.direction, read.complete, read.sha256) == (
        "read", True, hashlib.sha256(BIG).hexdigest())


def test_gap_inside_large_write_data() -> None:
    conv = share() + opened("big.bin", F1) + writes(F1, BIG, len(BIG)) + closed(F1, len(BIG))
    before = sum(len(nbss(p)) for _, p in conv[:4])
    (ev,) = run(conv, step=1460, gap_after=before + 50000)
    assert (ev.complete, ev.sha256, ev.bytes_transferred) == (False, None, len(BIG))


def test_large_write_in_a_capture_resegmented(tmp_path: Path) -> None:
    conv = share() + opened("tools\\psexesvc.exe", F1) + writes(F1, BIG, 200000) \
        + closed(F1, len(BIG))
    pcap = write_tcp(tmp_path / "w.pcap", [(c, nbss(p)) for c, p in conv],
                     split=lambda n: [1460] * (n // 1460 + 1))
    again = tmp_path / "w_random.pcap"
    resegment(pcap, again, random_sizes(5))
    for path in (pcap, again):
        (ev,) = [e for e in decode_capture(path) if isinstance(e, SmbFileEvent)]
        assert (ev.name, ev.complete, ev.sha256) == (
            "psexesvc.exe", True, hashlib.sha256(BIG).hexdigest())


# -- SMB1 --------------------------------------------------------------------------------------

def nt_create_req(name: str, mid: int) -> bytes:
    raw = name.encode("utf-16-le")
    words = struct.pack("<BBHBHIIIQIIIIIB", 0xFF, 0, 0, 0, len(raw), 0, 0, 0x0013019F, 0, 0x80,
                        7, 5, 0, 2, 0)
    return smb1(0xA2, words, b"\0" + raw + b"\0\0", tid=7, uid=9, mid=mid)


def nt_create_resp(fid: int, size: int, mid: int) -> bytes:
    words = struct.pack("<BBHBHI32sIQQHHB", 0xFF, 0, 0, 0, fid, 2, b"\0" * 32, 0x80, 0, size,
                        0, 0, 0)
    return smb1(0xA2, words, b"", reply=True, tid=7, uid=9, mid=mid)


def write_andx_req(fid: int, offset: int, data: bytes, mid: int) -> bytes:
    words = struct.pack("<BBHHIIHHHHHI", 0xFF, 0, 0, fid, offset, 0, 0, 0, len(data) >> 16,
                        len(data) & 0xFFFF, 64, 0)
    return smb1(0x2F, words, b"\0" + data, tid=7, uid=9, mid=mid)


def write_andx_resp(count: int, mid: int) -> bytes:
    words = struct.pack("<BBHHHHH", 0xFF, 0, 0, count & 0xFFFF, 0, count >> 16, 0)
    return smb1(0x2F, words, b"", reply=True, tid=7, uid=9, mid=mid)


def read_andx_req(fid: int, offset: int, count: int, mid: int) -> bytes:
    words = struct.pack("<BBHHIHHIHI", 0xFF, 0, 0, fid, offset, count, count, 0, 0, 0)
    return smb1(0x2E, words, b"", tid=7, uid=9, mid=mid)


def read_andx_resp(data: bytes, mid: int) -> bytes:
    words = struct.pack("<BBHHHHHHH8s", 0xFF, 0, 0, 0, 0, 0, len(data) & 0xFFFF, 60,
                        len(data) >> 16, b"\0" * 8)
    return smb1(0x2E, words, b"\0" + data, reply=True, tid=7, uid=9, mid=mid)


def close1(fid: int, mid: int) -> list[tuple[bool, bytes]]:
    return [(True, smb1(0x04, struct.pack("<HI", fid, 0), b"", tid=7, uid=9, mid=mid)),
            (False, smb1(0x04, b"", b"", reply=True, tid=7, uid=9, mid=mid))]


@pytest.mark.parametrize("step", [0, 7])
def test_smb1_write_and_read_andx(step: int) -> None:
    content = EXE[:10000]
    conv: list[tuple[bool, bytes]] = [(True, nt_create_req("evil.exe", 1)),
                                      (False, nt_create_resp(0x4001, 0, 1))]
    for i, off in enumerate(range(0, len(content), 4000)):
        part = content[off:off + 4000]
        conv += [(True, write_andx_req(0x4001, off, part, 10 + i)),
                 (False, write_andx_resp(len(part), 10 + i))]
    conv += close1(0x4001, 20)
    conv += [(True, nt_create_req("evil.exe", 2)),
             (False, nt_create_resp(0x4002, len(content), 2))]
    for i, off in enumerate(range(0, len(content), 4096)):
        conv += [(True, read_andx_req(0x4002, off, 4096, 30 + i)),
                 (False, read_andx_resp(content[off:off + 4096], 30 + i))]
    conv += close1(0x4002, 40)
    write, read = run(conv, step=step)
    assert (write.version, write.path, write.direction, write.complete, write.size,
            write.file_id) == (1, "evil.exe", "write", True, len(content), "4001")
    assert (write.md5, write.sha1, write.sha256) == digests(content)
    assert (read.direction, read.complete, read.bytes_transferred, read.sha256) == (
        "read", True, len(content), hashlib.sha256(content).hexdigest())


# -- corpus: the digest tshark's exported object has -------------------------------------------

@pytest.mark.corpus
def test_corpus_digest_matches_tshark_export(tmp_path: Path) -> None:
    pcap = PCAPS / "zeek" / "it" / "smb2.pcap"
    if not pcap.exists():
        pytest.skip("corpus not available")
    tshark = require_tshark()
    out = tmp_path / "objects"
    out.mkdir()
    subprocess.run([tshark, "-r", str(pcap), "--export-objects", f"smb,{out}"], check=True,
                   capture_output=True)
    exported = {p.name.replace("%5c", "\\").lstrip("\\"): hashlib.sha256(p.read_bytes())
                .hexdigest() for p in out.iterdir()}
    files = [e for e in decode_capture(pcap) if isinstance(e, SmbFileEvent)]
    assert [(e.path, e.direction, e.complete) for e in files] == [
        ("WP_SMBPlugin.pdf", "write", True)]
    assert files[0].sha256 == exported["WP_SMBPlugin.pdf"]
    assert files[0].size == 1508939

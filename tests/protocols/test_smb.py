"""SMB decoder: SMB2/3 and SMB1 parsers, NTLMSSP, NetBIOS framing, the session's pairing and
state, security findings, a golden conversation (also replayed in 1-byte and random segments),
tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.config import Settings
from otshield.errors import Malformed
from otshield.protocols.smb import SPEC, probe
from otshield.protocols.smb.framing import CONTINUATION, HEAD_BYTES, WHOLE_LIMIT, NbssStream
from otshield.protocols.smb.ntlmssp import auth_mechanism, parse_ntlmssp
from otshield.protocols.smb.session import SmbSession
from otshield.protocols.smb.smb1 import parse_smb1, smb_string
from otshield.protocols.smb.smb2 import parse_compressed, parse_smb2, parse_transform
from protocols.it_b_build import (
    SMB2_CANCEL,
    SMB2_CLOSE,
    SMB2_CREATE,
    SMB2_IOCTL,
    SMB2_LOGOFF,
    SMB2_NEGOTIATE,
    SMB2_QUERY_DIRECTORY,
    SMB2_QUERY_INFO,
    SMB2_READ,
    SMB2_SESSION_SETUP,
    SMB2_SET_INFO,
    SMB2_TREE_CONNECT,
    SMB2_WRITE,
    FakeFlow,
    anomaly_codes,
    close_req,
    close_resp,
    compound,
    corpus_for,
    create_req,
    create_resp,
    decoded,
    error_resp,
    ioctl_req,
    ioctl_resp,
    nbss,
    negotiate_context,
    negotiate_req,
    negotiate_resp,
    ntlm_authenticate,
    ntlm_challenge,
    ntlm_negotiate,
    one_byte,
    query_directory_req,
    query_info_req,
    random_sizes,
    read_req,
    read_resp,
    resegmented_events_equal,
    session_setup_req,
    session_setup_resp,
    set_info_req,
    simple,
    smb1,
    smb1_negotiate_req,
    smb1_trans2,
    smb2,
    spnego,
    strip,
    tree_connect_req,
    tree_connect_resp,
    utf16,
    write_req,
    write_resp,
    write_tcp,
)
from resegment import resegment
from support import corpus_params, tshark_fields, without_position
from support import decode as decode_capture

SID = 0x0000100000000041
F1 = bytes(range(16))
F2 = bytes(range(16, 32))
FF = b"\xff" * 16
ACCESS_DENIED, PENDING, MORE = 0xC0000022, 0x00000103, 0xC0000016
PIPE_TRANSCEIVE = 0x0011C017
GUID_C = "11111111-1111-1111-1111-111111111111"
GUID_S = "22222222-2222-2222-2222-222222222222"


def req(command: int, mid: int, body: bytes, **kw: Any) -> bytes:
    return smb2(command, mid, body, session_id=kw.pop("session_id", SID), **kw)


def resp(command: int, mid: int, body: bytes, **kw: Any) -> bytes:
    return smb2(command, mid, body, response=True, session_id=kw.pop("session_id", SID), **kw)


NEG_CONTEXTS = (negotiate_context(1, struct.pack("<HHH", 1, 32, 1) + b"\x00" * 32)  # preauth
                + negotiate_context(2, struct.pack("<HHH", 2, 2, 1))  # ciphers GCM, CCM
                + negotiate_context(3, struct.pack("<HHIH", 1, 0, 0, 2))  # compression LZ77
                + negotiate_context(5, utf16("FILESRV")))  # netname


# The golden conversation: (from_client, NBSS payload).
CONVERSATION: list[tuple[bool, bytes]] = [
    # SMB1 multi-protocol negotiate answered in SMB2 (wildcard dialect 2.???)
    (True, smb1_negotiate_req(["NT LM 0.12", "SMB 2.002", "SMB 2.???"])),
    (False, smb2(SMB2_NEGOTIATE, 0, negotiate_resp(0x02FF), response=True)),
    # SMB2 negotiate with 3.1.1 contexts
    (True, smb2(SMB2_NEGOTIATE, 1, negotiate_req([0x202, 0x210, 0x300, 0x302, 0x311],
                                                 contexts=NEG_CONTEXTS, context_count=4))),
    (False, smb2(SMB2_NEGOTIATE, 1, negotiate_resp(0x0311), response=True)),
    # NTLM: negotiate -> challenge -> authenticate
    (True, req(SMB2_SESSION_SETUP, 2, session_setup_req(spnego(ntlm_negotiate("PLANT", "ENG-WS1"))),
               session_id=0)),
    (False, resp(SMB2_SESSION_SETUP, 2, session_setup_resp(spnego(ntlm_challenge(
        "FILESRV", "PLANT", "filesrv.plant.local", "plant.local"))), status=MORE)),
    (True, req(SMB2_SESSION_SETUP, 3, session_setup_req(spnego(ntlm_authenticate(
        "jdoe", "PLANT", "ENG-WS1"))))),
    (False, resp(SMB2_SESSION_SETUP, 3, session_setup_resp(b""))),
    # admin share, an executable written
    (True, req(SMB2_TREE_CONNECT, 4, tree_connect_req("\\\\FILESRV\\ADMIN$"))),
    (False, resp(SMB2_TREE_CONNECT, 4, tree_connect_resp(1), tree_id=5)),
    (True, req(SMB2_CREATE, 5, create_req("Windows\\Temp\\payload.exe", 5, 0x0013019F),
               tree_id=5)),
    (False, resp(SMB2_CREATE, 5, create_resp(F1, 2), tree_id=5)),
    (True, req(SMB2_WRITE, 6, write_req(F1, 0, b"MZ" + b"\x90" * 4094), tree_id=5)),
    (False, resp(SMB2_WRITE, 6, write_resp(4096), tree_id=5)),
    (True, req(SMB2_WRITE, 7, write_req(F1, 4096, b"\xcc" * 1000), tree_id=5)),
    (False, resp(SMB2_WRITE, 7, write_resp(1000), tree_id=5)),
    (True, req(SMB2_CLOSE, 8, close_req(F1), tree_id=5)),
    (False, resp(SMB2_CLOSE, 8, close_resp(5096), tree_id=5)),
    # the service control manager pipe
    (True, req(SMB2_TREE_CONNECT, 9, tree_connect_req("\\\\FILESRV\\IPC$"))),
    (False, resp(SMB2_TREE_CONNECT, 9, tree_connect_resp(2), tree_id=6)),
    (True, req(SMB2_CREATE, 10, create_req("svcctl", 1, 0x0012019F), tree_id=6)),
    (False, resp(SMB2_CREATE, 10, create_resp(F2, 1), tree_id=6)),
    (True, req(SMB2_IOCTL, 11, ioctl_req(PIPE_TRANSCEIVE, F2, b"\x05\x00\x00\x03" + b"\0" * 12),
               tree_id=6)),
    (False, resp(SMB2_IOCTL, 11, ioctl_resp(PIPE_TRANSCEIVE, F2), tree_id=6)),
    # a compound CREATE + QUERY_INFO + CLOSE (related), all denied
    (True, compound(req(SMB2_CREATE, 12, create_req("secret.txt"), tree_id=5),
                    req(SMB2_QUERY_INFO, 13, query_info_req(FF, 1, 5), tree_id=5, flags=0x4),
                    req(SMB2_CLOSE, 14, close_req(FF), tree_id=5, flags=0x4))),
    (False, compound(resp(SMB2_CREATE, 12, error_resp(), tree_id=5, status=ACCESS_DENIED),
                     resp(SMB2_QUERY_INFO, 13, error_resp(), tree_id=5, status=ACCESS_DENIED,
                          flags=0x4),
                     resp(SMB2_CLOSE, 14, error_resp(), tree_id=5, status=ACCESS_DENIED,
                          flags=0x4))),
    # an asynchronous read: interim STATUS_PENDING, then the data
    (True, req(SMB2_READ, 15, read_req(F2, 0, 1024), tree_id=6)),
    (False, resp(SMB2_READ, 15, error_resp(), status=PENDING, async_id=7)),
    (False, resp(SMB2_READ, 15, read_resp(b"\x05\x00\x02\x03" + b"\0" * 116), async_id=7)),
    # delete-on-close for the pipe handle (a plain request/response pair)
    (True, req(SMB2_SET_INFO, 16, set_info_req(F2, 13, b"\x01"), tree_id=6)),
    (False, resp(SMB2_SET_INFO, 16, simple(2), tree_id=6)),
    (True, req(SMB2_TREE_CONNECT, 17, tree_connect_req("\\\\FILESRV\\C$"))),
    (False, resp(SMB2_TREE_CONNECT, 17, error_resp(), status=ACCESS_DENIED)),
    (True, req(SMB2_LOGOFF, 18, simple())),
    (False, resp(SMB2_LOGOFF, 18, simple())),
    (True, req(0x0D, 19, simple())),  # ECHO, never answered
]

USER = {"user": "jdoe", "domain": "PLANT"}
ADMIN = {"tree_id": 5, "tree": "\\\\FILESRV\\ADMIN$", "share_type": "DISK", **USER}
IPC = {"tree_id": 6, "tree": "\\\\FILESRV\\IPC$", "share_type": "PIPE", **USER}
EXE = {"filename": "Windows\\Temp\\payload.exe", "file_id": F1.hex()}
PIPE = {"filename": "svcctl", "file_id": F2.hex()}
OK = "STATUS_SUCCESS"


def v2(command: str, mid: int, status: str | None = OK, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"version": 2, "command": command}
    if status is not None:
        out["status"] = status
    out["message_id"] = mid
    out["session_id"] = SID
    out.update(fields)
    return out


EXPECTED: list[dict[str, Any]] = [
    {"version": 1, "command": "NEGOTIATE", "status": OK, "message_id": 0,
     "dialects": ["NT LM 0.12", "SMB 2.002", "SMB 2.???"], "dialect": "2.???",
     "signing_required": True, "server_guid": GUID_S},
    {"version": 2, "command": "NEGOTIATE", "status": OK, "message_id": 1,
     "dialects": ["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"], "dialect": "3.1.1",
     "signing_required": True, "client_guid": GUID_C, "server_guid": GUID_S,
     "ciphers": ["AES-128-GCM", "AES-128-CCM"], "compression": ["LZ77"], "netname": "FILESRV"},
    v2("SESSION_SETUP", 2, "STATUS_MORE_PROCESSING_REQUIRED", domain="PLANT",
       workstation="ENG-WS1", auth="ntlmssp", client_os="10.0.19041", server_os="6.1.7601",
       server_name="FILESRV", server_domain="PLANT", server_dns_name="filesrv.plant.local",
       server_dns_domain="plant.local"),
    v2("SESSION_SETUP", 3, user="jdoe", domain="PLANT", workstation="ENG-WS1", auth="ntlmssp",
       ntlm_version="v2", client_os="10.0.19041"),
    v2("TREE_CONNECT", 4, **ADMIN),
    v2("CREATE", 5, **ADMIN, **EXE, disposition="OVERWRITE_IF", desired_access=0x0013019F,
       action="CREATED", end_of_file=0),
    v2("WRITE", 6, **ADMIN, **EXE, offset=0, length=4096, data_length=4096),
    v2("WRITE", 7, **ADMIN, **EXE, offset=4096, length=1000, data_length=1000),
    v2("CLOSE", 8, **ADMIN, **EXE, end_of_file=5096, bytes_written=5096),
    v2("TREE_CONNECT", 9, **IPC),
    v2("CREATE", 10, **IPC, **PIPE, disposition="OPEN", desired_access=0x0012019F,
       action="OPENED", end_of_file=0),
    v2("IOCTL", 11, **IPC, **PIPE, ioctl="FSCTL_PIPE_TRANSCEIVE"),
    v2("CREATE", 12, "STATUS_ACCESS_DENIED", **ADMIN, filename="secret.txt",
       disposition="OPEN", desired_access=0x00120089),
    v2("QUERY_INFO", 13, "STATUS_ACCESS_DENIED", **ADMIN, filename="secret.txt",
       info_type="FILE", info_class="FileStandardInformation"),
    v2("CLOSE", 14, "STATUS_ACCESS_DENIED", **ADMIN, filename="secret.txt"),
    v2("READ", 15, **IPC, **PIPE, offset=0, length=1024, data_length=120),
    v2("SET_INFO", 16, **IPC, **PIPE, info_type="FILE",
       info_class="FileDispositionInformation", delete=True),
    v2("TREE_CONNECT", 17, "STATUS_ACCESS_DENIED", tree="\\\\FILESRV\\C$", **USER),
    v2("LOGOFF", 18, **USER),
    v2("ECHO", 19, None, unanswered=True),
]


def _fix_order(d: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(d.items()))


# -- SMB2 parser -------------------------------------------------------------------------------

def test_smb2_header_and_negotiate_contexts() -> None:
    (m,) = parse_smb2(CONVERSATION[2][1])
    assert (m.command, m.response, m.message_id, m.session_id, m.tree_id) == (0, False, 1, 0, 0)
    assert m.dialects == (0x202, 0x210, 0x300, 0x302, 0x311)
    assert (m.ciphers, m.compression, m.netname) == ((2, 1), (2,), "FILESRV")
    assert m.guid == GUID_C and m.body
    (r,) = parse_smb2(CONVERSATION[3][1])
    assert (r.response, r.dialect, r.signing_required, r.guid) == (True, 0x311, True, GUID_S)


def test_smb2_compound_error_and_async() -> None:
    msgs = parse_smb2(CONVERSATION[24][1])
    assert [(m.command, m.message_id, m.related) for m in msgs] == [
        (5, 12, False), (16, 13, True), (0x06, 14, True)]
    assert msgs[0].filename == "secret.txt" and msgs[1].file_id == FF
    errors = parse_smb2(CONVERSATION[25][1])
    assert [(m.status, m.body) for m in errors] == [(ACCESS_DENIED, False)] * 3
    (interim,) = parse_smb2(CONVERSATION[27][1])
    assert (interim.status, interim.async_id, interim.tree_id, interim.body) == \
        (PENDING, 7, None, False)


def test_smb2_bodies() -> None:
    (w,) = parse_smb2(CONVERSATION[12][1])
    assert (w.command, w.file_id, w.offset, w.length) == (SMB2_WRITE, F1, 0, 4096)
    (c,) = parse_smb2(CONVERSATION[11][1])
    assert (c.action, c.file_id, c.end_of_file) == (2, F1, 0)
    (i,) = parse_smb2(CONVERSATION[22][1])
    assert (i.ctl_code, i.file_id) == (PIPE_TRANSCEIVE, F2)
    wait = struct.pack("<qIBB", -1, len(utf16("MsFteWds")), 1, 0) + utf16("MsFteWds")
    (pw,) = parse_smb2(req(SMB2_IOCTL, 30, ioctl_req(0x00110018, FF, wait)))
    assert pw.filename == "MsFteWds"  # FSCTL_PIPE_WAIT names the pipe
    rename = struct.pack("<B7xQI", 0, 0, len(utf16("new.txt"))) + utf16("new.txt")
    (sr,) = parse_smb2(req(SMB2_SET_INFO, 31, set_info_req(F1, 10, rename)))
    assert (sr.info_class, sr.rename_to) == (10, "new.txt")
    (qd,) = parse_smb2(req(SMB2_QUERY_DIRECTORY, 32, query_directory_req(F1, "*.exe")))
    assert (qd.info_class, qd.filename) == (37, "*.exe")


@pytest.mark.parametrize(("data", "code"), [
    (b"\xfeSMB" + b"\0" * 30, "smb.truncated"),
    (b"\xfeSMB\x40\x00" + b"\0" * 58, "smb.truncated"),                  # no body at all
    (b"\xfeSMB\x20\x00" + b"\0" * 70, "smb.bad_header"),                 # StructureSize 32
    (smb2(SMB2_CREATE, 1, struct.pack("<H", 56) + b"\0" * 60), "smb.bad_structure_size"),
    (smb2(0x0D, 1, simple(), next_command=12) + b"\0" * 80, "smb.bad_compound"),
])
def test_smb2_malformed(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        parse_smb2(data)
    assert exc.value.code == code and code in SPEC.anomaly_codes


def test_transform_and_compression_headers() -> None:
    t = parse_transform(b"\xfdSMB" + b"\x01" * 16 + b"\x02" * 16
                        + struct.pack("<IHHQ", 300, 0, 1, SID) + b"\x99" * 300)
    assert (t.original_size, t.flags, t.session_id) == (300, 1, SID)
    c = parse_compressed(b"\xfcSMB" + struct.pack("<IHHI", 4096, 1, 0, 0xFFFFFFFF))
    assert (c.original_size, c.algorithm, c.flags, c.offset) == (4096, 1, 0, 0xFFFFFFFF)


# -- NTLMSSP -------------------------------------------------------------------------------------

def test_ntlmssp_messages() -> None:
    n = parse_ntlmssp(spnego(ntlm_negotiate("PLANT", "ENG-WS1")))
    assert n is not None and (n.message_type, n.domain, n.workstation, n.os_version) == \
        (1, "PLANT", "ENG-WS1", "10.0.19041")
    c = parse_ntlmssp(ntlm_challenge("FILESRV", "PLANT", "filesrv.plant.local", "plant.local"))
    assert c is not None and (c.nb_computer, c.nb_domain, c.dns_computer, c.dns_domain,
                              c.os_version) == ("FILESRV", "PLANT", "filesrv.plant.local",
                                                "plant.local", "6.1.7601")
    a = parse_ntlmssp(ntlm_authenticate("jdoe", "PLANT", "ENG-WS1"))
    assert a is not None and (a.user, a.domain, a.workstation, a.anonymous, a.ntlm_version) == \
        ("jdoe", "PLANT", "ENG-WS1", False, "v2")
    v1 = parse_ntlmssp(ntlm_authenticate("svc", "PLANT", "HMI", nt_len=24))
    assert v1 is not None and v1.ntlm_version == "v1"
    anon = parse_ntlmssp(ntlm_authenticate("", "", "HMI", nt_len=0, lm_len=1))
    assert anon is not None and anon.anonymous and anon.user is None
    assert parse_ntlmssp(b"no token here") is None
    assert auth_mechanism(spnego(ntlm_negotiate())) == "ntlmssp"
    krb_ap_req = b"\x60\x82\x01\x00\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00\x6e"
    assert auth_mechanism(b"\xa0\x82\x01\x10" + krb_ap_req) == "kerberos"
    assert auth_mechanism(b"\x60\x28\x06\x06\x2b\x06\x01\x05\x05\x02") is None


# -- SMB1 parser ---------------------------------------------------------------------------------

def _session_setup_andx_plaintext() -> bytes:
    """SESSION_SETUP_ANDX (13 words, plain-text password, OEM strings since Unicode is off)
    chained to TREE_CONNECT_ANDX ([MS-CIFS] 2.2.4.53.1, 2.2.4.55.1)."""
    password = b"Plc2024!"
    strings = b"operator\0PLANT\0Unix\0Samba\0"
    first_words = 13
    tc_off = 32 + 1 + 2 * first_words + 2 + len(password) + len(strings)
    words = struct.pack("<BBHHHHIHHII", 0x75, 0, tc_off,  # AndX: TREE_CONNECT_ANDX next
                        4356, 2, 0, 0,                   # max buffer, max mpx, vc, key
                        len(password), 0, 0, 0x10)       # OEM / Unicode password length
    tc_data = b"\0" + b"\\\\HISTORIAN\\DATA\0" + b"A:\0"  # 1-byte password, path, service
    tc_words = struct.pack("<BBHHH", 0xFF, 0, 0, 0x08, 1)
    body = (bytes([first_words]) + words + struct.pack("<H", len(password) + len(strings))
            + password + strings + bytes([4]) + tc_words + struct.pack("<H", len(tc_data))
            + tc_data)
    head = smb1(0x73, b"", b"", flags2=0x4001)[:32]
    return head + body


def test_smb1_negotiate_and_andx_chain() -> None:
    hdr, (neg,) = parse_smb1(smb1_negotiate_req(["NT LM 0.12", "SMB 2.002"]))
    assert (hdr.command, hdr.response, neg.dialects) == (0x72, False, ("NT LM 0.12",
                                                                       "SMB 2.002"))
    hdr, cmds = parse_smb1(_session_setup_andx_plaintext())
    assert [c.command for c in cmds] == [0x73, 0x75]
    ss, tc = cmds
    assert (ss.user, ss.domain, ss.native_os, ss.native_lanman, ss.plaintext_password) == \
        ("operator", "PLANT", "Unix", "Samba", True)
    assert (tc.path, tc.service) == ("\\\\HISTORIAN\\DATA", "A:")


def test_smb1_trans2_and_nt_trans() -> None:
    find = smb1_trans2(0x01, mid=9, params=struct.pack("<HHHHI", 0x16, 100, 6, 0x104, 0)
                       + utf16("\\logs\\*.csv") + b"\0\0")
    hdr, (t,) = parse_smb1(find)
    assert (t.subcommand, t.filename, hdr.mid) == (0x01, "\\logs\\*.csv", 9)
    words = struct.pack("<BHIIIIIIIIBH", 0, 0, 30, 66000, 0, 0, 30, 84, 0, 114, 0, 0)
    _, (nt,) = parse_smb1(smb1(0xA0, words, b"\0" * 30))
    assert (nt.subcommand, nt.total_data_count) == (0, 66000)


def test_smb_string_alignment() -> None:
    msg = b"\0" * 33 + b"\0" + utf16("Windows 10") + b"\0\0"  # pad byte at 33, text at 34
    assert smb_string(msg, 33, len(msg), True) == ("Windows 10", len(msg))
    stray = b"\0" * 34 + b"\0" + utf16("teWRGilg") + b"\0\0"  # a stray pad at an even offset
    assert smb_string(stray, 34, len(stray), True)[0] == "teWRGilg"
    assert smb_string(b"abc\0def", 0, 7, False) == ("abc", 4)


def test_smb1_malformed() -> None:
    with pytest.raises(Malformed) as exc:
        parse_smb1(b"\xffSMB" + b"\0" * 20)
    assert exc.value.code == "smb.truncated"
    with pytest.raises(Malformed):
        parse_smb1(b"\xffSMB" + b"\0" * 28 + b"\x0a")  # 10 words announced, none there


# -- framing -------------------------------------------------------------------------------------

def _feed(stream: NbssStream, data: bytes, step: int) -> list[tuple[int, bytes, int]]:
    out: list[tuple[int, bytes, int]] = []
    for i in range(0, len(data), step):
        out += stream.feed(data[i:i + step])
    return out


def test_framing_small_large_and_one_byte() -> None:
    small = smb2(0x0D, 1, simple())
    big = req(SMB2_WRITE, 2, write_req(F1, 0, b"\x41" * (WHOLE_LIMIT + 5000)))
    data = nbss(small) + nbss(big) + nbss(small)
    for step in (1, 7, 1500, len(data)):
        out = _feed(NbssStream(), data, step)
        units = [u for u in out if u[0] != CONTINUATION]
        assert [(k, len(p), n) for k, p, n in units] == [
            (0, len(small), len(small)), (0, HEAD_BYTES, len(big)), (0, len(small), len(small))]
        assert units[1][1] == big[:HEAD_BYTES]
        # the rest of the large message follows its head, in order, nothing buffered twice
        kinds = [k for k, _, _ in out]
        first, last = kinds.index(CONTINUATION), len(kinds) - 1 - kinds[::-1].index(CONTINUATION)
        assert kinds[1] == 0 and set(kinds[first:last + 1]) == {CONTINUATION}
        assert b"".join(p for k, p, _ in out if k == CONTINUATION) == big[HEAD_BYTES:]


def test_framing_gap_inside_skipped_payload_keeps_sync() -> None:
    big = req(SMB2_WRITE, 2, write_req(F1, 0, b"\x41" * (WHOLE_LIMIT + 5000)))
    s = NbssStream()
    assert [k for k, _, _ in s.feed(nbss(big)[:20000])] == [0, CONTINUATION]
    assert s.gap(1000)  # lost bytes inside the payload being skipped
    rest = nbss(big)[21000:]
    assert [k for k, _, _ in s.feed(rest)] == [CONTINUATION]
    assert [p[:4] for _, p, _ in s.feed(nbss(smb2(0x0D, 3, simple())))] == [b"\xfeSMB"]


def test_framing_resync_after_garbage_and_session_messages() -> None:
    s = NbssStream()
    units = s.feed(b"\x47\x45\x54\x20" + b"junk" * 5 + nbss(smb2(0x0D, 4, simple())))
    assert s.errors and [p[:4] for _, p, _ in units] == [b"\xfeSMB"]
    s2 = NbssStream()
    assert s2.feed(b"\x85\x00\x00\x00") == [(0x85, b"", 0)]  # keep-alive


def test_framing_joined_mid_payload_does_not_trust_the_length() -> None:
    # the tail of a WRITE payload looks like a header announcing 16 MiB: no SMB signature
    # follows, so the stream resynchronises instead of skipping 16 MiB
    s = NbssStream()
    units = s.feed(b"\x00\xff\xff\xff" + b"\x90" * 40 + nbss(smb2(0x0D, 5, simple())))
    assert len(s.errors) == 1 and [p[:4] for _, p, _ in units] == [b"\xfeSMB"]


def test_probe() -> None:
    assert probe(nbss(smb2(0x0D, 1, simple())), True)
    assert probe(nbss(smb1_negotiate_req(["NT LM 0.12"])), True)
    assert not probe(b"GET / HTTP/1.1\r\n", True)


# -- session -------------------------------------------------------------------------------------

def run_session(messages: list[tuple[bool, bytes]], flow: FakeFlow | None = None,
                step: int = 0) -> FakeFlow:
    flow = flow or FakeFlow()
    s = SmbSession(flow)
    for from_client, payload in messages:
        data = nbss(payload)
        flow.step()
        if step:
            for i in range(0, len(data), step):
                s.on_data(data[i:i + step], from_client)
        else:
            s.on_data(data, from_client)
    s.close()
    return flow


def test_session_conversation_in_memory() -> None:
    for step in (0, 1, 13):
        flow = run_session(CONVERSATION, step=step)
        assert [_fix_order(d) for d in strip(flow.events, "smb")] == \
            [_fix_order(d) for d in EXPECTED]
        assert flow.codes() == []


def test_smb1_session_findings() -> None:
    doublepulsar_ping = smb1_trans2(0x0E, mid=0x41, timeout=0x25891A00, params=b"\0" * 12)
    pong = smb1(0x32, b"", b"", reply=True, status=0xC0000002, mid=0x51, tid=0x800, uid=0x800)
    eternal = smb1(0xA0, struct.pack("<BHIIIIIIIIBH", 0, 0, 30, 66512, 30, 0, 30, 84, 0, 114,
                                     0, 0), b"\0" * 30, mid=0x42, tid=0x800, uid=0x800)
    flow = run_session([
        (True, smb1_negotiate_req(["NT LM 0.12"])),
        (False, smb1(0x72, struct.pack("<H", 0) + b"\0" * 32, b"", reply=True)),
        (True, _session_setup_andx_plaintext()),
        (True, doublepulsar_ping),
        (False, pong),
        (True, eternal),
    ])
    assert flow.codes() == ["smb.smb1_used", "smb.cleartext_password",
                            "smb.trans2_unusual_subcommand", "smb.doublepulsar",
                            "smb.nt_trans_unusual_function"]
    events = flow.of("smb")
    assert [(e.command, e.status, e.subcommand) for e in events] == [
        ("NEGOTIATE", "STATUS_SUCCESS", None),
        ("TRANSACTION2", "STATUS_NOT_IMPLEMENTED", "SESSION_SETUP"),
        ("SESSION_SETUP_ANDX", None, None), ("TREE_CONNECT_ANDX", None, None),
        ("NT_TRANSACT", None, "0x00")]
    assert events[0].dialect == "NT LM 0.12"
    setup, tree = events[2], events[3]
    assert (setup.user, setup.domain, setup.client_os, setup.unanswered) == \
        ("operator", "PLANT", "Unix", True)
    assert (tree.tree, tree.share_type) == ("\\\\HISTORIAN\\DATA", "DISK")
    assert events[4].total_data_count == 66512
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


def test_smb3_envelopes_and_smbghost() -> None:
    transform = (b"\xfdSMB" + b"\x01" * 32 + struct.pack("<IHHQ", 200, 0, 1, SID)
                 + b"\x77" * 200)
    ghost = b"\xfcSMB" + struct.pack("<IHHI", 0xFFFFFFFF, 1, 0, 0x10) + b"\x00" * 40
    flow = run_session([(True, transform), (False, transform), (True, ghost)])
    assert [(e.command, e.encrypted, e.compressed, e.original_size) for e in flow.of("smb")] == [
        ("ENCRYPTED", True, None, 200), ("COMPRESSED", None, True, 0xFFFFFFFF)]
    assert flow.codes() == ["smb.bad_compression_header"]


def test_limits_duplicates_orphans_and_cancel() -> None:
    flow = FakeFlow(settings=Settings(max_pending_requests=2))
    run_session([
        (True, req(0x0D, 1, simple())), (True, req(0x0D, 2, simple())),
        (True, req(0x0D, 3, simple())),                       # pushes message 1 out
        (True, req(0x0D, 3, simple())),                       # reuses a pending id
        (False, resp(0x0D, 99, simple())),                    # answers nothing we saw
        (True, req(SMB2_CANCEL, 4, simple())),                # never answered: at once
        (False, resp(0x12, 0xFFFFFFFFFFFFFFFF, struct.pack("<HBBI16s", 24, 0, 0, 0, F1))),
    ], flow)
    assert flow.codes() == ["smb.too_many_pending", "smb.duplicate_message_id"]
    got = [(e.command, e.message_id, e.unanswered, e.status) for e in flow.of("smb")]
    assert got == [("ECHO", 1, True, None), ("ECHO", 3, True, None),
                   ("ECHO", 99, None, "STATUS_SUCCESS"), ("CANCEL", 4, None, None),
                   ("OPLOCK_BREAK", 0xFFFFFFFFFFFFFFFF, None, "STATUS_SUCCESS"),
                   ("ECHO", 2, True, None), ("ECHO", 3, True, None)]


def test_state_tables_are_bounded() -> None:
    messages: list[tuple[bool, bytes]] = []
    for i in range(1030):
        fid = struct.pack("<QQ", i, i)
        messages += [(True, req(SMB2_CREATE, i, create_req(f"f{i}.txt"), tree_id=1)),
                     (False, resp(SMB2_CREATE, i, create_resp(fid, 1), tree_id=1))]
    flow = run_session(messages)
    assert flow.codes() == ["smb.state_limit"]
    assert len(flow.of("smb")) == 1030


def test_nbss_session_request_on_139() -> None:
    from protocols.test_netbios import encode_name
    request = encode_name("HISTORIAN", 0x20) + encode_name("ENG-WS1", 0x00)
    flow = FakeFlow(server=("10.0.0.20", 139))
    s = SmbSession(flow)
    flow.step()
    s.on_data(nbss(request, 0x81), True)
    flow.step()
    s.on_data(b"\x83\x00\x00\x01\x82", False)  # negative: called name not present
    (e,) = flow.of("nbss")
    assert (e.called_name, e.calling_name, e.result, e.error) == (
        "HISTORIAN<20>", "ENG-WS1<00>", "negative", "called name not present")


# -- golden capture and its re-segmented replays -------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    messages = [(fc, nbss(p)) for fc, p in CONVERSATION]
    pcap = write_tcp(tmp_path / "smb.pcap", messages, client=("10.0.0.10", 50123),
                     server=("10.0.0.20", 445))
    events = decode_capture(pcap)
    assert [_fix_order(d) for d in strip(events, "smb")] == [_fix_order(d) for d in EXPECTED]
    assert not anomaly_codes(events)
    smb = [e for e in events if e.__struct_config__.tag == "smb"]
    assert {(e.src_ip, e.dst_port) for e in smb} == {("10.0.0.10", 445)}
    for name, split in (("one", one_byte), ("random", random_sizes(7))):
        out = tmp_path / f"smb_{name}.pcap"
        resegment(pcap, out, split)
        assert without_position(decode_capture(out)) == without_position(events)


def test_golden_large_write_random_segments(tmp_path: Path) -> None:
    big = b"MZ" + b"\x00" * (WHOLE_LIMIT + 20000)
    messages = [(fc, nbss(p)) for fc, p in CONVERSATION[:12]] + [
        (True, nbss(req(SMB2_WRITE, 40, write_req(F1, 0, big), tree_id=5))),
        (False, nbss(resp(SMB2_WRITE, 40, write_resp(len(big)), tree_id=5))),
        (True, nbss(req(SMB2_CLOSE, 41, close_req(F1), tree_id=5))),
        (False, nbss(resp(SMB2_CLOSE, 41, close_resp(len(big)), tree_id=5)))]
    pcap = write_tcp(tmp_path / "big.pcap", messages,
                     split=lambda n: [1460] * (n // 1460 + 1))  # an Ethernet MSS
    events = decode_capture(pcap)
    last = strip(events, "smb")[-2:]
    assert [(d["command"], d.get("length"), d.get("bytes_written")) for d in last] == [
        ("WRITE", len(big), None), ("CLOSE", None, len(big))]
    out = tmp_path / "big_random.pcap"
    resegment(pcap, out, random_sizes(11))
    assert without_position(decode_capture(out)) == without_position(events)


# -- tshark --------------------------------------------------------------------------------------

def _flow_key(a: str, ap: str, b: str, bp: str) -> frozenset[tuple[str, int]]:
    return frozenset({(a, int(ap)), (b, int(bp))})


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("smb")))
def test_tshark_agreement(capture: object) -> None:
    """Every SMB2 (smb2.cmd) and SMB1-over-TCP (smb.cmd) message tshark shows is one of our
    events (same flow, message id, command); the tree of tree-bound SMB2 messages and the file
    name of CREATE/pipe-wait requests agree too. Frames the capture cut short (cap_len < len)
    are left out: tshark shows the header it can read, otshield declares a gap there."""
    from otshield.protocols.smb.constants import SMB1_COMMANDS, SMB2_COMMANDS

    path = capture.path  # type: ignore[attr-defined]
    ours: dict[tuple[Any, int, int, str], Any] = {}
    for e in decoded(path):
        if e.__struct_config__.tag == "smb" and e.message_id is not None:
            key = _flow_key(e.src_ip, str(e.src_port), e.dst_ip, str(e.dst_port))
            ours[(key, e.version, e.message_id, e.command)] = e
    base = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "frame.len", "frame.cap_len"]
    rows2 = tshark_fields(path, [*base, "smb2.cmd", "smb2.msg_id", "smb2.tree",
                                 "smb2.filename"], "smb2 && tcp")
    rows1 = tshark_fields(path, [*base, "smb.cmd", "smb.mid"], "smb && tcp && !smb2")
    total = agree = cut = 0
    for row in rows2:
        _, src, sp, dst, dp, flen, caplen, cmds, mids, trees, names = row
        if flen != caplen:
            cut += 1
            continue
        key = _flow_key(src, sp, dst, dp)
        pairs = list(zip(cmds.split(","), mids.split(","), strict=True))
        for cmd, mid in pairs:
            total += 1
            e = ours.get((key, 2, int(mid), SMB2_COMMANDS.get(int(cmd), "")))
            if e is None and cmd == "0" and mid == "0":
                # an SMB1 multi-protocol NEGOTIATE answered in SMB2: one exchange, one event
                # (version 1, the request's header family)
                e = ours.get((key, 1, 0, "NEGOTIATE"))
            ok = e is not None
            if ok and len(pairs) == 1 and trees and e.tree is not None:
                ok = e.tree == trees
            if ok and len(pairs) == 1 and names and int(cmd) in (5, 11):
                ok = e.filename == names
            agree += ok
            if not ok:
                print("  smb2 mismatch", row[0], cmd, mid, trees, names)
    for row in rows1:
        _, src, sp, dst, dp, flen, caplen, cmds, mids = row
        if flen != caplen:
            cut += 1
            continue
        key = _flow_key(src, sp, dst, dp)
        for cmd in cmds.split(","):
            if cmd == "0xff":
                continue  # tshark exports the AndX chain's "no further command" as smb.cmd
            total += 1
            ok = (key, 1, int(mids.split(",")[0]), SMB1_COMMANDS.get(int(cmd, 0), "")) in ours
            agree += ok
            if not ok:
                print("  smb1 mismatch", row[0], cmd, mids)
    if total == 0 and not cut:
        pytest.skip("SMB only inside NetBIOS datagrams here (browser mailslots, see nbdgm)")
    print(f"smb {path.name}: {agree}/{total} messages agree (flow, id, command, tree, file);"
          f" {cut} cut frames left out")
    assert agree == total


# -- fuzz ----------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_parsers_random(data: bytes) -> None:
    for fn in (parse_smb2, parse_smb1, parse_transform, parse_compressed):
        try:
            fn(data)
        except Malformed as m:
            assert m.code in SPEC.anomaly_codes
    parse_ntlmssp(data)
    parse_ntlmssp(b"NTLMSSP\x00" + data)
    NbssStream().feed(data)


_SAMPLES = [p for _, p in CONVERSATION] + [_session_setup_andx_plaintext(),
                                           smb1_trans2(0x0E, 0x41)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(_SAMPLES),
                          st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)),
                                   max_size=5)), max_size=8),
       st.integers(1, 64))
def test_fuzz_session_mutated_streams(script: list[tuple[bool, bytes, list[tuple[int, int]]]],
                                      step: int) -> None:
    flow = FakeFlow(settings=Settings(max_pending_requests=4))
    s = SmbSession(flow)
    for from_client, payload, flips in script:
        data = bytearray(nbss(payload))
        for pos, value in flips:
            if pos < len(data):
                data[pos] = value
        for i in range(0, len(data), step):
            s.on_data(bytes(data[i:i + step]), from_client)
        if flips and flips[0][0] % 7 == 0:
            s.on_gap(from_client, flips[0][0])
    s.close()
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("smb2")))
def test_corpus_resegmented(capture: object, tmp_path: Path) -> None:
    n, equal = resegmented_events_equal(capture.path, tmp_path,  # type: ignore[attr-defined]
                                        {"smb", "nbss"})
    assert n and equal

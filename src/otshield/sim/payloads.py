"""Payload builders the simulator adds to those of :mod:`otshield.demo`,
:mod:`otshield.demo_grid` and :mod:`otshield.detect.testplant`: the office side of a Windows
domain (Kerberos AS exchange, SMB2 file reads), the server side of TLS 1.3, RDP connection
requests, and the controller protocols' pieces the polling needs (Modbus device
identification, S7comm read-var and SZL, DNP3 objects and events, EtherNet/IP tag reads).

Encodings follow the specifications: Kerberos RFC 4120 section 5 (ASN.1 DER, X.690), SMB2
[MS-SMB2] 2.2.13-2.2.20, TLS 1.3 RFC 8446 section 4.1.3, RDP [MS-RDPBCGR] 2.2.1.1-2.2.1.2,
Modbus application protocol v1.1b3 6.21, DNP3 IEEE 1815-2012 (objects 1, 2, 30, 32, 60), CIP
Vol. 1 (Read Tag service of Logix controllers, 1756-PM020).
"""

from __future__ import annotations

import random
import struct
import time

from otshield.demo import cip_rr, cotp_dt, enip, s7, tpkt
from otshield.detect.testplant import (
    nbss,
    ntlm_authenticate,
    ntlm_challenge,
    ntlm_negotiate,
    session_setup_req,
    session_setup_resp,
)

__all__ = [
    "cip_read_tag",
    "cip_read_tag_reply",
    "dnp3_app",
    "kerberos_as_rep",
    "kerberos_as_req",
    "kerberos_error",
    "modbus_device_id",
    "rdp_connection_confirm",
    "rdp_connection_request",
    "s7_read_var",
    "s7_read_var_reply",
    "s7_setup",
    "s7_szl_read",
    "s7_szl_reply",
    "smb_read_session",
    "tls_application_data",
    "tls_server_hello",
]


# -- Modbus -------------------------------------------------------------------------------------
def modbus_device_id(vendor: str, product: str, revision: str) -> bytes:
    """Read Device Identification response (FC 43 / MEI 14, basic, all objects) PDU."""
    objs = [vendor.encode(), product.encode(), revision.encode()]
    return bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objs)]) + b"".join(
        bytes([i, len(o)]) + o for i, o in enumerate(objs))


# -- S7comm -------------------------------------------------------------------------------------
COTP_CR = b"\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a"
COTP_CC = b"\x11\xd0\x00\x01\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a"


def s7_setup(ref: int, reply: bool) -> bytes:
    """Setup communication job / ack-data (max AMQ 1/1, PDU 480)."""
    if reply:
        return cotp_dt(s7(3, ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0", err=b"\x00\x00"))
    return cotp_dt(s7(1, ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0"))


def s7_read_var(ref: int, db: int, start: int, length: int) -> bytes:
    """Read var job: one item, ``length`` bytes of data block ``db`` from byte ``start``."""
    item = (b"\x12\x0a\x10\x02" + struct.pack("!HH", length, db) + b"\x84"
            + (start * 8).to_bytes(3, "big"))
    return cotp_dt(s7(1, ref, b"\x04\x01" + item))


def s7_read_var_reply(ref: int, data: bytes) -> bytes:
    return cotp_dt(s7(3, ref, b"\x04\x01", b"\xff\x04" + struct.pack("!H", len(data) * 8) + data,
                      err=b"\x00\x00"))


def s7_szl_read(ref: int, szl_id: int, index: int = 0) -> bytes:
    """Userdata request: CPU functions, read SZL."""
    return cotp_dt(s7(7, ref, b"\x00\x01\x12\x04\x11\x44\x01\x00",
                      b"\xff\x09\x00\x04" + struct.pack(">HH", szl_id, index)))


def s7_szl_reply(ref: int, seq: int, szl_id: int, record_length: int,
                 records: list[bytes]) -> bytes:
    answer = struct.pack(">HHHH", szl_id, 0, record_length, len(records)) + b"".join(records)
    param = b"\x00\x01\x12\x08\x12\x84\x01" + bytes([seq & 0xFF]) + b"\x00\x00\x00\x00"
    return cotp_dt(s7(7, ref, param, b"\xff\x09" + struct.pack(">H", len(answer)) + answer))


def s7_cpu_ident(order: str, name: str) -> list[list[bytes]]:
    """Records of SZL 0x0011 (module identification) and 0x001C (component identification)."""
    code = order.encode().ljust(20)[:20]
    return [[struct.pack(">H20sHHH", 1, code, 0xC0, 3, 1),
             struct.pack(">H20sHHH", 7, code, 0xC0, 0x5603, 0x0207)],
            [struct.pack(">H32s", 1, name.encode()[:32]),
             struct.pack(">H32s", 2, b"CPU 315-2 PN/DP")]]


# -- DNP3 ---------------------------------------------------------------------------------------
def dnp3_app(transport_seq: int, app_ctrl: int, function: int, body: bytes,
             iin: bytes | None = None) -> bytes:
    """Transport header (FIR|FIN) + application header (+ IIN on responses) + objects."""
    head = bytes([0xC0 | (transport_seq & 0x3F), app_ctrl, function])
    return head + (iin if iin is not None else b"") + body


# -- EtherNet/IP CIP ----------------------------------------------------------------------------
def cip_read_tag(session: int, context: int, tag: str) -> bytes:
    """SendRRData carrying a Logix Read Tag (service 0x4C) of one element of ``tag``."""
    name = tag.encode()
    path = b"\x91" + bytes([len(name)]) + name + (b"\x00" if len(name) % 2 else b"")
    req = bytes([0x4C, len(path) // 2]) + path + struct.pack("<H", 1)
    return enip(0x6F, session, cip_rr(req), struct.pack("<Q", context))


def cip_read_tag_reply(session: int, context: int, value: float, boolean: bool) -> bytes:
    data = (struct.pack("<HB", 0xC1, 1 if value else 0) if boolean
            else struct.pack("<Hf", 0xCA, value))
    return enip(0x6F, session, cip_rr(bytes([0xCC, 0, 0, 0]) + data), struct.pack("<Q", context))


# -- Kerberos (RFC 4120, DER) -------------------------------------------------------------------
def _der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = b"\x82" + struct.pack("!H", n)
    return bytes([tag]) + length + value


def _int(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)
    return _der(0x02, raw)


def _ctx(n: int, value: bytes) -> bytes:
    return _der(0xA0 + n, value)


def _seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _gstr(s: str) -> bytes:
    return _der(0x1B, s.encode())


def _ktime(ts: float) -> bytes:
    return _der(0x18, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(ts)).encode())


def _principal(kind: int, *names: str) -> bytes:
    return _seq(_ctx(0, _int(kind)), _ctx(1, _seq(*(_gstr(n) for n in names))))


def _encrypted(etype: int, cipher: bytes, kvno: int | None = None) -> bytes:
    parts = [_ctx(0, _int(etype))]
    if kvno is not None:
        parts.append(_ctx(1, _int(kvno)))
    parts.append(_ctx(2, _der(0x04, cipher)))
    return _seq(*parts)


def _req_body(user: str, realm: str, ts: float, nonce: int) -> bytes:
    return _seq(
        _ctx(0, _der(0x03, b"\x00\x40\x81\x00\x10")),  # forwardable renewable canonicalize ...
        _ctx(1, _principal(1, user)),
        _ctx(2, _gstr(realm)),
        _ctx(3, _principal(2, "krbtgt", realm)),
        _ctx(5, _der(0x18, b"20370913024805Z")),
        _ctx(6, _der(0x18, b"20370913024805Z")),
        _ctx(7, _int(nonce)),
        _ctx(8, _seq(_int(18), _int(17), _int(23))))


def kerberos_as_req(user: str, realm: str, ts: float, nonce: int,
                    rnd: random.Random | None = None) -> bytes:
    """AS-REQ; with ``rnd`` it carries PA-ENC-TIMESTAMP (pre-authentication) and PA-PAC."""
    padata: list[bytes] = []
    if rnd is not None:
        cipher = rnd.randbytes(56)
        padata.append(_seq(_ctx(1, _int(2)), _ctx(2, _der(0x04, _encrypted(18, cipher)))))
    padata.append(_seq(_ctx(1, _int(128)), _ctx(2, _der(0x04, _seq(_ctx(0, b"\x01\x01\xff"))))))
    body = _seq(_ctx(1, _int(5)), _ctx(2, _int(10)), _ctx(3, _seq(*padata)),
                _ctx(4, _req_body(user, realm, ts, nonce)))
    return _der(0x6A, body)


def kerberos_error(user: str, realm: str, ts: float, code: int = 25) -> bytes:
    """KRB-ERROR (default KDC_ERR_PREAUTH_REQUIRED) with PA-ETYPE-INFO2 in e-data."""
    salt = (realm + user).encode()
    etype_info = _seq(_seq(_ctx(0, _int(18)), _ctx(1, _der(0x1B, salt))))
    method = _seq(_seq(_ctx(1, _int(19)), _ctx(2, _der(0x04, etype_info))),
                  _seq(_ctx(1, _int(2)), _ctx(2, _der(0x04, b""))))
    body = _seq(_ctx(0, _int(5)), _ctx(1, _int(30)), _ctx(4, _ktime(ts)),
                _ctx(5, _int(int(ts % 1 * 1_000_000))), _ctx(6, _int(code)),
                _ctx(9, _gstr(realm)), _ctx(10, _principal(2, "krbtgt", realm)),
                _ctx(12, _der(0x04, method)))
    return _der(0x7E, body)


def kerberos_as_rep(user: str, realm: str, rnd: random.Random) -> bytes:
    ticket = _der(0x61, _seq(_ctx(0, _int(5)), _ctx(1, _gstr(realm)),
                             _ctx(2, _principal(2, "krbtgt", realm)),
                             _ctx(3, _encrypted(18, rnd.randbytes(200),
                                                kvno=2))))
    body = _seq(_ctx(0, _int(5)), _ctx(1, _int(11)), _ctx(3, _gstr(realm)),
                _ctx(4, _principal(1, user)), _ctx(5, ticket),
                _ctx(6, _encrypted(18, rnd.randbytes(160), kvno=3)))
    return _der(0x6B, body)


# -- TLS 1.3 server side ------------------------------------------------------------------------
def tls_server_hello(rnd: random.Random, session_id: bytes = b"") -> bytes:
    """ServerHello (TLS 1.3 via supported_versions, x25519 key share) and ChangeCipherSpec."""
    key_share = struct.pack("!HHHH", 51, 36, 29, 32) + rnd.randbytes(32)
    versions = struct.pack("!HHH", 43, 2, 0x0304)
    exts = versions + key_share
    body = (b"\x03\x03" + rnd.randbytes(32)
            + bytes([len(session_id)]) + session_id + struct.pack("!HB", 0x1301, 0)
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return (b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
            + b"\x14\x03\x03\x00\x01\x01")


def tls_application_data(rnd: random.Random, size: int) -> bytes:
    """An encrypted TLS 1.3 record (opaque bytes: nothing to decrypt)."""
    return b"\x17\x03\x03" + struct.pack("!H", size) + rnd.randbytes(size)


# -- RDP ----------------------------------------------------------------------------------------
def rdp_connection_request(user: str) -> bytes:
    """X.224 Connection Request with the mstshash cookie and an RDP negotiation request
    (TLS, CredSSP)."""
    cr = f"Cookie: mstshash={user}\r\n".encode() + struct.pack("<BBHI", 1, 0, 8, 0x03)
    return tpkt(bytes([6 + len(cr), 0xE0, 0, 0, 0, 0, 0]) + cr)


def rdp_connection_confirm() -> bytes:
    neg = struct.pack("<BBHI", 2, 0x1F, 8, 0x02)  # CredSSP selected
    return tpkt(bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg)


# -- SMB2 file read -----------------------------------------------------------------------------
class _Smb:
    def __init__(self) -> None:
        self.mid = 0
        self.session = 0x0000_0400_0000_0021
        self.tree = 0

    def header(self, command: int, response: bool, status: int = 0) -> bytes:
        return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, command, 1,
                           0x1 if response else 0, 0, self.mid, 0, self.tree,
                           self.session if command else 0, bytes(16))

    def exchange(self, command: int, request: bytes, response: bytes,
                 status: int = 0) -> tuple[bytes, bytes]:
        out = (nbss(self.header(command, False) + request),
               nbss(self.header(command, True, status) + response))
        self.mid += 1
        return out


def smb_read_session(user: str, domain: str, workstation: str, server: str, share: str,
                     path: str, data: bytes, ts: float,
                     rnd: random.Random) -> list[tuple[bytes, bytes]]:
    """The requests and responses of an SMB 2.1 session reading one file: negotiate, NTLM
    session setup, tree connect, create (open for reading), read, close, tree disconnect,
    logoff."""
    smb = _Smb()
    guid = rnd.randbytes(16)
    out = [smb.exchange(0, struct.pack("<HHHHI16sQ", 36, 2, 1, 0, 0x7F, guid, 0)
                        + struct.pack("<HH", 0x0202, 0x0210),
                        struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0210, 0, bytes(range(16)), 0x7,
                                    1 << 20, 1 << 20, 1 << 20, 0, 0, 128, 0, 0) + b"\0")]
    out.append(smb.exchange(1, session_setup_req(ntlm_negotiate()),
                            session_setup_resp(ntlm_challenge(server)), status=0xC0000016))
    out.append(smb.exchange(1, session_setup_req(ntlm_authenticate(
        user, domain, workstation, server, ts)), session_setup_resp(b"")))
    unc = f"\\\\{server}\\{share}".encode("utf-16-le")
    out.append(smb.exchange(3, struct.pack("<HHHH", 9, 0, 72, len(unc)) + unc,
                            struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x001200A9)))
    smb.tree = 1
    raw = path.encode("utf-16-le")
    file_id = struct.pack("<QQ", 0x51, 0x9000_0051)
    out.append(smb.exchange(5, struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x00120089,
                                           0x80, 0x7, 1, 0x40, 120, len(raw), 0, 0) + raw,
                            struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 1, 0, 0, 0, 0,
                                        len(data), len(data), 0x20, 0, file_id, 0, 0) + b"\0"))
    out.append(smb.exchange(8, struct.pack("<HBBIQ16sIIIHHB", 49, 0x50, 0, len(data), 0,
                                           file_id, 0, 0, 0, 0, 0, 0),
                            struct.pack("<HBBIII", 17, 0x50, 0, len(data), 0, 0) + data))
    out.append(smb.exchange(6, struct.pack("<HHI16s", 24, 0, 0, file_id),
                            struct.pack("<HHIQQQQQQI", 60, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    out.append(smb.exchange(4, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0)))
    smb.tree = 0
    out.append(smb.exchange(2, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0)))
    return out

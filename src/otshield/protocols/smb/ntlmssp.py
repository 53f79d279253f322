"""NTLMSSP messages inside an SMB security blob, and which mechanism a SPNEGO blob carries.

[MS-NLMP] 2.2.1.1 (NEGOTIATE), 2.2.1.2 (CHALLENGE), 2.2.1.3 (AUTHENTICATE), 2.2.2.1 (AV_PAIR),
2.2.2.10 (VERSION). The SPNEGO wrapper (RFC 4178) is not walked: the NTLMSSP signature marks the
token inside it, and the Kerberos mechanism is recognised by its OID followed by the AP-REQ token
id (RFC 4121 section 4.1). Only names are kept: the challenge responses (password proofs) and
session keys are never copied out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["NtlmInfo", "auth_mechanism", "parse_ntlmssp"]

_SIGNATURE = b"NTLMSSP\x00"
_FIELD = struct.Struct("<HHI")  # length, max length, offset ([MS-NLMP] 2.2.1.1 "Fields")
_UNICODE = 0x00000001  # NTLMSSP_NEGOTIATE_UNICODE
_VERSION_FLAG = 0x02000000  # NTLMSSP_NEGOTIATE_VERSION
_KRB5_AP_REQ = (b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00",  # 1.2.840.113554.1.2.2 + 01 00
                b"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02\x01\x00")  # 1.2.840.48018.1.2.2 (MS)
_AV_NAMES = {1: "nb_computer", 2: "nb_domain", 3: "dns_computer", 4: "dns_domain",
             5: "dns_tree"}
_MAX_AV_PAIRS = 32


@dataclass(slots=True)
class NtlmInfo:
    """What an NTLMSSP message says about who is talking (never credentials)."""

    message_type: int
    flags: int = 0
    user: str | None = None
    domain: str | None = None
    workstation: str | None = None
    anonymous: bool = False
    ntlm_version: str | None = None
    """v1 (24-byte NT response: crackable) or v2, from an AUTHENTICATE message."""
    os_version: str | None = None
    nb_computer: str | None = None
    nb_domain: str | None = None
    dns_computer: str | None = None
    dns_domain: str | None = None
    dns_tree: str | None = None


def auth_mechanism(blob: bytes) -> str | None:
    """``ntlmssp``, ``kerberos`` or None (unknown, or a SPNEGO negotiation without a token)."""
    if _SIGNATURE in blob:
        return "ntlmssp"
    if _KRB5_AP_REQ[0] in blob or _KRB5_AP_REQ[1] in blob:
        return "kerberos"
    return None


def _field(msg: bytes, at: int, unicode: bool) -> str | None:
    if at + 8 > len(msg):
        return None
    length, _max, offset = _FIELD.unpack_from(msg, at)
    if length == 0 or offset + length > len(msg):
        return None
    raw = msg[offset:offset + length]
    return raw.decode("utf-16-le", "replace") if unicode else raw.decode("latin-1")


def _length(msg: bytes, at: int) -> int:
    return _FIELD.unpack_from(msg, at)[0] if at + 8 <= len(msg) else 0


def _version(msg: bytes, at: int, flags: int) -> str | None:
    if not flags & _VERSION_FLAG or at + 8 > len(msg):
        return None
    major, minor, build = struct.unpack_from("<BBH", msg, at)
    return f"{major}.{minor}.{build}" if major else None


def parse_ntlmssp(blob: bytes) -> NtlmInfo | None:
    """The NTLMSSP message inside ``blob`` (a raw or SPNEGO-wrapped token), or None."""
    start = blob.find(_SIGNATURE)
    if start < 0 or start + 12 > len(blob):
        return None
    msg = blob[start:]
    mtype = struct.unpack_from("<I", msg, 8)[0]
    if mtype == 1 and len(msg) >= 16:
        flags = struct.unpack_from("<I", msg, 12)[0]
        # NEGOTIATE: the optional domain/workstation are always OEM strings.
        return NtlmInfo(1, flags, domain=_field(msg, 16, False), workstation=_field(msg, 24, False),
                        os_version=_version(msg, 32, flags))
    if mtype == 2 and len(msg) >= 32:
        flags = struct.unpack_from("<I", msg, 20)[0]
        info = NtlmInfo(2, flags, os_version=_version(msg, 48, flags))
        _target_info(msg, info)
        return info
    if mtype == 3 and len(msg) >= 64:
        flags = struct.unpack_from("<I", msg, 60)[0]
        uni = bool(flags & _UNICODE)
        info = NtlmInfo(3, flags, domain=_field(msg, 28, uni), user=_field(msg, 36, uni),
                        workstation=_field(msg, 44, uni), os_version=_version(msg, 64, flags))
        lm_len, nt_len = _length(msg, 12), _length(msg, 20)
        # [MS-NLMP] 3.2.5.1.2: anonymous = empty user and NT response, LM response empty or Z(1).
        info.anonymous = info.user is None and nt_len == 0 and lm_len <= 1
        if nt_len == 24:
            info.ntlm_version = "v1"
        elif nt_len > 24:
            info.ntlm_version = "v2"
        return info
    return NtlmInfo(mtype)


def _target_info(msg: bytes, info: NtlmInfo) -> None:
    """CHALLENGE TargetInfo AV pairs: the server's NetBIOS and DNS names ([MS-NLMP] 2.2.2.1)."""
    length, _max, offset = _FIELD.unpack_from(msg, 40)
    pos, end = offset, min(offset + length, len(msg))
    for _ in range(_MAX_AV_PAIRS):
        if pos + 4 > end:
            return
        av_id, av_len = struct.unpack_from("<HH", msg, pos)
        if av_id == 0:  # MsvAvEOL
            return
        name = _AV_NAMES.get(av_id)
        if name is not None and pos + 4 + av_len <= end:
            setattr(info, name, msg[pos + 4:pos + 4 + av_len].decode("utf-16-le", "replace"))
        pos += 4 + av_len

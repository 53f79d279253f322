"""ANSI C12.22 (metering data over networks; TCP/UDP 1153): framing, probe and first-level
parsing.

A C12.22 message is an ACSE-like ASN.1 BER structure (ANSI C12.22-2008 section 5.3.2, ITU-T
X.227 tags): [APPLICATION 0] containing context-tagged elements: [2] called AP title, [4] called
AP invocation id, [6] calling AP title, [8] calling AP invocation id, [12] calling
authentication value, [30] user information (an EXTERNAL whose [1] octet string is the EPSEM).
AP titles are OBJECT IDENTIFIERs (absolute form) or RELATIVE-OIDs. The EPSEM starts with a
flags byte (bits 2-3 security mode: cleartext, cleartext with authentication, ciphertext with
authentication; bit 4 an ED class follows; bits 0-1 response control) and then, when not
encrypted, length-prefixed service requests whose first byte is the C12.19/C12.22 service code
(0x30 full read, 0x40 full write, 0x50 logon...; codes below 0x20 are response codes). Service
names as Wireshark's packet-c1222.c lists them.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.ber import CLASS_APPLICATION, CLASS_CONTEXT, iter_tlvs, read_tlv
from otshield.protocols.identify import FactValue, Unit

__all__ = ["SERVICES", "frame_size", "oid_text", "parse", "probe"]

SERVICES: dict[int, tuple[str, str]] = {
    0x20: ("identify", "identify"), 0x21: ("terminate", "other"),
    0x22: ("disconnect", "other"), 0x24: ("deregister", "config"),
    0x27: ("resolve", "other"), 0x28: ("trace", "diagnostics"),
    0x29: ("register", "config"), 0x30: ("full_read", "read"),
    0x3E: ("default_read", "read"), 0x3F: ("partial_read_offset", "read"),
    **{code: ("partial_read_index", "read") for code in range(0x31, 0x3A)},
    0x40: ("full_write", "write"), 0x4E: ("default_write", "write"),
    0x4F: ("partial_write_offset", "write"),
    **{code: ("partial_write_index", "write") for code in range(0x41, 0x4A)},
    0x50: ("logon", "security"), 0x51: ("security", "security"), 0x52: ("logoff", "security"),
    0x53: ("authenticate", "security"),
    **{code: ("negotiate", "config") for code in range(0x60, 0x6C)},
    0x70: ("wait", "other"), 0x71: ("timing_setup", "config"),
}
"""EPSEM service code -> (name, function class)."""

SECURITY_MODES = ("cleartext", "cleartext_authenticated", "ciphertext_authenticated",
                  "reserved")
_P = "c1222"


def frame_size(buf: bytes) -> int | None:
    """Tag 0x60 and a BER length (short form or up to 4 length octets)."""
    if len(buf) < 2:
        return None
    if buf[0] != 0x60:
        raise Malformed("c1222.bad_header", f"first byte 0x{buf[0]:02x}, not [APPLICATION 0]")
    n = buf[1]
    if n < 0x80:
        return 2 + n
    count = n & 0x7F
    if not 0 < count <= 4:
        raise Malformed("c1222.ber_bad_length", f"{count} length octets")
    if len(buf) < 2 + count:
        return None
    return 2 + count + int.from_bytes(buf[2:2 + count], "big")


def probe(buf: bytes, from_client: bool) -> bool:
    """[APPLICATION 0] with a definite length whose first element is a constructed
    context-tagged ACSE field ([1] to [30])."""
    if len(buf) < 6 or buf[0] != 0x60:
        return False
    n = buf[1]
    first = 2 if n < 0x80 else 2 + (n & 0x7F)
    if n == 0x80 or (n > 0x80 and n & 0x7F > 4) or first >= len(buf):
        return False
    return 0xA1 <= buf[first] <= 0xBE


def oid_text(raw: bytes, relative: bool) -> str:
    """Dotted text of an OBJECT IDENTIFIER (X.690 8.19) or RELATIVE-OID (8.20)."""
    arcs: list[int] = []
    value = 0
    for b in raw:
        value = value << 7 | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    if relative:
        return "." + ".".join(map(str, arcs))
    if not arcs:
        return ""
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(map(str, head + arcs[1:]))


def _title(frame: bytes, start: int, end: int) -> str:
    cls, _, number, vstart, vend = read_tlv(frame, start, end, _P)
    if cls == 0 and number == 6:
        return oid_text(frame[vstart:vend], False)
    return oid_text(frame[vstart:vend], True)  # RELATIVE-OID (13) or [0] relative form


def parse(frame: bytes, from_client: bool) -> Unit:
    cls, constructed, number, start, end = read_tlv(frame, 0, len(frame), _P)
    if cls != CLASS_APPLICATION or number != 0 or not constructed:
        raise Malformed("c1222.bad_header", f"outer tag 0x{frame[0]:02x}")
    if end != len(frame):
        raise Malformed("c1222.bad_length", f"{len(frame) - end} bytes after the message")
    facts: dict[str, FactValue] = {}
    epsem: bytes | None = None
    for tcls, _, tnum, vstart, vend in iter_tlvs(frame, start, end, _P):
        if tcls != CLASS_CONTEXT:
            continue
        if tnum == 2:
            facts["called_ap_title"] = _title(frame, vstart, vend)
        elif tnum == 6:
            facts["calling_ap_title"] = _title(frame, vstart, vend)
        elif tnum == 12:
            facts["authentication_present"] = True  # the value itself is never kept
        elif tnum == 30:
            for _, _, _, ext_start, ext_end in iter_tlvs(frame, vstart, vend, _P):  # EXTERNAL
                for ecls, _, enum, ostart, oend in iter_tlvs(frame, ext_start, ext_end, _P):
                    if ecls == CLASS_CONTEXT and enum == 1:
                        epsem = frame[ostart:oend]
    if epsem is None:
        return Unit("no_epsem", "other", None, facts)
    if not epsem:
        raise Malformed("c1222.truncated", "empty EPSEM")
    flags = epsem[0]
    mode = flags >> 2 & 0x03
    facts["security_mode"] = SECURITY_MODES[mode]
    if mode == 2:
        return Unit("encrypted", "other", None, facts)
    pos = 1 + (4 if flags & 0x10 else 0)
    if pos + 1 >= len(epsem):
        raise Malformed("c1222.truncated", "EPSEM without a service")
    length = epsem[pos]  # service length: short form; the long form is not expected here
    pos += 1 if length < 0x80 else 1 + (length & 0x7F)
    if pos >= len(epsem):
        raise Malformed("c1222.truncated", "EPSEM service cut short")
    code = epsem[pos]
    if code < 0x20:
        return Unit("response_ok" if code == 0 else "response_error", "other", False, facts)
    name, fclass = SERVICES.get(code, (f"unknown_0x{code:02x}", "other"))
    return Unit(name, fclass, True, facts)

"""A minimal DER walker for X.509 certificates: subject, issuer, serial, validity, subject
alternative names and public key, which is what a network monitor reports.

RFC 5280 section 4.1 (Certificate, TBSCertificate), 4.1.2.4 (Name), 4.1.2.5 (Validity),
4.2.1.6 (subjectAltName); X.690 section 8.1 (DER tag/length); RFC 4514 section 2 (string form
of a distinguished name); RFC 3279 / RFC 5480 (RSA and EC public keys).

Written here because the ``cryptography`` package is not a dependency. Nothing is verified
(signatures, chains): the goal is to describe what was sent, including broken certificates.
Raises only ``Malformed("tls.invalid_certificate")``.
"""

from __future__ import annotations

import hashlib
import socket

import msgspec

from otshield.errors import Malformed

__all__ = ["X509Info", "parse_certificate"]

MAX_ALT_NAMES = 32
"""subjectAltName entries kept per certificate; ``alt_names_truncated`` says when cut."""

# OID (dotted) -> RFC 4514 / OpenSSL short name for attribute types in a Name.
_ATTRIBUTES: dict[str, str] = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.9": "STREET", "2.5.4.5": "serialNumber", "2.5.4.4": "SN",
    "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym",
    "2.5.4.17": "postalCode", "2.5.4.15": "businessCategory",
    "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
}

_KEY_ALGORITHMS: dict[str, str] = {
    "1.2.840.113549.1.1.1": "RSA", "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.2.1": "EC", "1.2.840.10040.4.1": "DSA", "1.2.840.10046.2.1": "DH",
    "1.3.101.110": "X25519", "1.3.101.111": "X448", "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448", "1.2.156.10197.1.301": "SM2",
}

# Named curves: OID -> (name, key size in bits).
_CURVES: dict[str, tuple[str, int]] = {
    "1.2.840.10045.3.1.7": ("prime256v1", 256), "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521), "1.3.132.0.10": ("secp256k1", 256),
    "1.2.840.10045.3.1.1": ("prime192v1", 192), "1.3.132.0.33": ("secp224r1", 224),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
}

_FIXED_KEY_SIZES = {"Ed25519": 256, "Ed448": 456, "X25519": 256, "X448": 448}

_OID_SAN = "2.5.29.17"


class X509Info(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """What one certificate says about itself (nothing here is verified)."""

    subject: str
    issuer: str
    serial: str
    """Hex, upper case, no colons (ECS ``x509.serial_number``)."""
    not_before: str
    """ISO 8601 UTC (``2024-01-31T12:00:00Z``)."""
    not_after: str
    sha256: str
    sha1: str
    version: int = 3
    subject_cn: list[str] = msgspec.field(default_factory=list)
    subject_o: list[str] = msgspec.field(default_factory=list)
    issuer_cn: list[str] = msgspec.field(default_factory=list)
    issuer_o: list[str] = msgspec.field(default_factory=list)
    alt_names: list[str] = msgspec.field(default_factory=list)
    """DNS names, IP addresses, e-mail addresses and URIs of subjectAltName."""
    alt_names_truncated: bool = False
    key_algorithm: str = ""
    key_size: int | None = None
    key_curve: str | None = None
    """Named curve of an EC key; ``explicit`` when the parameters are spelt out (CurveBall)."""
    self_issued: bool = False
    """Subject equals issuer (self-signed, or a root)."""


def _bad(detail: str) -> Malformed:
    return Malformed("tls.invalid_certificate", detail)


def _tlv(buf: bytes, off: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``off`` (X.690 8.1.2-8.1.3)."""
    if off + 2 > end:
        raise _bad(f"element header cut at offset {off}")
    tag = buf[off]
    if tag & 0x1F == 0x1F:
        raise _bad(f"high tag number at offset {off}")
    length = buf[off + 1]
    off += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or off + count > end:
            raise _bad(f"bad length form at offset {off - 2}")
        length = int.from_bytes(buf[off:off + count], "big")
        off += count
    stop = off + length
    if stop > end:
        raise _bad(f"element at offset {off} runs {stop - end} bytes past its parent")
    return tag, off, stop


def _expect(buf: bytes, off: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _tlv(buf, off, end)
    if got != tag:
        raise _bad(f"{what}: tag 0x{got:02x}, expected 0x{tag:02x}")
    return start, stop


def _oid(raw: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets (X.690 8.19)."""
    if not raw:
        raise _bad("empty OID")
    parts: list[int] = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    first = parts[0] if parts else 0
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(p) for p in head + parts[1:])


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if tag == 0x14:  # T61String: in practice Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _escape(value: str) -> str:
    """RFC 4514 section 2.4 escaping of an attribute value."""
    out = []
    for i, c in enumerate(value):
        if c in ',+"\\<>;' or (c == "#" and i == 0) or (c == " " and i in (0, len(value) - 1)):
            out.append("\\" + c)
        elif c == "\0":
            out.append("\\00")
        else:
            out.append(c)
    return "".join(out)


def _name(buf: bytes, start: int, end: int) -> tuple[str, list[str], list[str]]:
    """A Name as an RFC 4514 string (last RDN first), plus its CN and O values."""
    rdns: list[str] = []
    cns: list[str] = []
    orgs: list[str] = []
    off = start
    while off < end:
        set_start, set_end = _expect(buf, off, end, 0x31, "RelativeDistinguishedName")
        off = set_end
        parts: list[str] = []
        inner = set_start
        while inner < set_end:
            seq_start, seq_end = _expect(buf, inner, set_end, 0x30, "AttributeTypeAndValue")
            inner = seq_end
            oid_start, oid_end = _expect(buf, seq_start, seq_end, 0x06, "attribute type")
            oid = _oid(buf[oid_start:oid_end])
            vtag, vstart, vend = _tlv(buf, oid_end, seq_end)
            value = _string(vtag, buf[vstart:vend])
            short = _ATTRIBUTES.get(oid, oid)
            if short == "CN":
                cns.append(value)
            elif short == "O":
                orgs.append(value)
            parts.append(f"{short}={_escape(value)}")
        rdns.append("+".join(parts))
    return ",".join(reversed(rdns)), cns, orgs


def _time(tag: int, raw: bytes) -> str:
    """UTCTime / GeneralizedTime (RFC 5280 4.1.2.5.1-2) as ISO 8601."""
    text = raw.decode("ascii", "replace")
    if tag == 0x17 and len(text) >= 12:
        year = int(text[:2]) if text[:2].isdigit() else 0
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:
        raise _bad(f"validity time with tag 0x{tag:02x}")
    digits = text.rstrip("Z")
    if len(digits) < 12 or not digits[:12].isdigit():
        return text  # not the DER form: show what was sent
    sec = digits[12:14] if len(digits) >= 14 and digits[12:14].isdigit() else "00"
    return (f"{digits[0:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:"
            f"{sec}Z")


def _alt_names(buf: bytes, start: int, end: int) -> tuple[list[str], bool]:
    seq_start, seq_end = _expect(buf, start, end, 0x30, "GeneralNames")
    names: list[str] = []
    truncated = False
    off = seq_start
    while off < seq_end:
        tag, vstart, vend = _tlv(buf, off, seq_end)
        off = vend
        raw = buf[vstart:vend]
        if tag in (0x81, 0x82, 0x86):  # rfc822Name, dNSName, URI (IA5String)
            text = raw.decode("ascii", "backslashreplace")
        elif tag == 0x87 and len(raw) in (4, 16):  # iPAddress
            text = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        else:
            continue
        if len(names) >= MAX_ALT_NAMES:
            truncated = True
            break
        names.append(text)
    return names, truncated


def _public_key(buf: bytes, start: int, end: int) -> tuple[str, int | None, str | None]:
    """(algorithm, size in bits, curve) of a SubjectPublicKeyInfo (RFC 5280 4.1.2.7)."""
    alg_start, alg_end = _expect(buf, start, end, 0x30, "AlgorithmIdentifier")
    oid_start, oid_end = _expect(buf, alg_start, alg_end, 0x06, "key algorithm")
    oid = _oid(buf[oid_start:oid_end])
    algorithm = _KEY_ALGORITHMS.get(oid, oid)
    key_start, key_end = _expect(buf, alg_end, end, 0x03, "subjectPublicKey")
    if algorithm == "EC":
        if oid_end >= alg_end:
            return algorithm, None, None
        ptag, pstart, pend = _tlv(buf, oid_end, alg_end)
        if ptag == 0x06:
            name, size = _CURVES.get(_oid(buf[pstart:pend]), (_oid(buf[pstart:pend]), 0))
            return algorithm, size or None, name
        if ptag == 0x30:
            # SpecifiedECDomain (RFC 3279 2.3.5): explicit curve parameters, forbidden by
            # RFC 5480 section 2.1.1 and the vehicle of CurveBall (CVE-2020-0601).
            return algorithm, None, "explicit"
        return algorithm, None, None
    if algorithm in ("RSA", "RSASSA-PSS") and key_end - key_start > 1:
        # BIT STRING: one "unused bits" octet, then RSAPublicKey SEQUENCE { modulus, exponent }
        rsa_start, rsa_end = _expect(buf, key_start + 1, key_end, 0x30, "RSAPublicKey")
        mod_start, mod_end = _expect(buf, rsa_start, rsa_end, 0x02, "modulus")
        modulus = buf[mod_start:mod_end].lstrip(b"\0")
        bits = (len(modulus) - 1) * 8 + modulus[0].bit_length() if modulus else 0
        return algorithm, bits, None
    return algorithm, _FIXED_KEY_SIZES.get(algorithm), None


def parse_certificate(der: bytes) -> X509Info:
    """Describe one DER certificate."""
    n = len(der)
    cert_start, cert_end = _expect(der, 0, n, 0x30, "Certificate")
    tbs_start, tbs_end = _expect(der, cert_start, cert_end, 0x30, "TBSCertificate")
    off = tbs_start
    version = 1
    tag, start, stop = _tlv(der, off, tbs_end)
    if tag == 0xA0:  # [0] EXPLICIT Version
        vstart, vend = _expect(der, start, stop, 0x02, "version")
        version = int.from_bytes(der[vstart:vend], "big") + 1
        off = stop
    sstart, send = _expect(der, off, tbs_end, 0x02, "serialNumber")
    serial = der[sstart:send].hex().upper()
    _, off = _expect(der, send, tbs_end, 0x30, "signature")
    istart, iend = _expect(der, off, tbs_end, 0x30, "issuer")
    issuer, issuer_cn, issuer_o = _name(der, istart, iend)
    vstart, vend = _expect(der, iend, tbs_end, 0x30, "validity")
    t1, b1, e1 = _tlv(der, vstart, vend)
    t2, b2, e2 = _tlv(der, e1, vend)
    not_before, not_after = _time(t1, der[b1:e1]), _time(t2, der[b2:e2])
    substart, subend = _expect(der, vend, tbs_end, 0x30, "subject")
    subject, subject_cn, subject_o = _name(der, substart, subend)
    kstart, kend = _expect(der, subend, tbs_end, 0x30, "subjectPublicKeyInfo")
    key_algorithm, key_size, key_curve = _public_key(der, kstart, kend)
    alt_names: list[str] = []
    alt_truncated = False
    off = kend
    while off < tbs_end:
        tag, start, stop = _tlv(der, off, tbs_end)
        off = stop
        if tag != 0xA3:  # [1]/[2] unique identifiers are skipped
            continue
        exts_start, exts_end = _expect(der, start, stop, 0x30, "Extensions")
        pos = exts_start
        while pos < exts_end:
            ext_start, ext_end = _expect(der, pos, exts_end, 0x30, "Extension")
            pos = ext_end
            oid_start, oid_end = _expect(der, ext_start, ext_end, 0x06, "extnID")
            if _oid(der[oid_start:oid_end]) != _OID_SAN:
                continue
            vtag, vstart2, vend2 = _tlv(der, oid_end, ext_end)
            if vtag == 0x01:  # critical BOOLEAN
                vtag, vstart2, vend2 = _tlv(der, vend2, ext_end)
            if vtag != 0x04:
                raise _bad("subjectAltName value is not an OCTET STRING")
            alt_names, alt_truncated = _alt_names(der, vstart2, vend2)
    whole = der[:cert_end]
    return X509Info(
        subject=subject, issuer=issuer, serial=serial, not_before=not_before,
        not_after=not_after, sha256=hashlib.sha256(whole).hexdigest(),
        sha1=hashlib.sha1(whole).hexdigest(), version=version, subject_cn=subject_cn,
        subject_o=subject_o, issuer_cn=issuer_cn, issuer_o=issuer_o, alt_names=alt_names,
        alt_names_truncated=alt_truncated, key_algorithm=key_algorithm, key_size=key_size,
        key_curve=key_curve, self_issued=subject == issuer)

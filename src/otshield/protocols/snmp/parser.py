"""Pure SNMP decoder: one UDP datagram in, one :class:`SnmpMessage` out.

Message layouts: RFC 1157 section 4 (v1: version, community, PDU), RFC 1901 section 3 (v2c,
same layout), RFC 3412 section 6 (v3: msgGlobalData, msgSecurityParameters, ScopedPduData) with
the User-based Security Model parameters of RFC 3414 section 2.4. PDUs: RFC 3416 section 3
(request-id, error-status, error-index, variable-bindings) and the v1 Trap-PDU of RFC 1157
section 4.1.6. Raises only ``Malformed``.

The community string is never kept: only whether it is there, its length, and whether it is a
factory default.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.snmp.ber import integer, oid, tlv, unsigned
from otshield.protocols.snmp.constants import DEFAULT_COMMUNITIES, PDU_TYPES, TRAP_V1, VALUE_TYPES

__all__ = ["MAX_VALUE_CHARS", "MAX_VARBINDS", "SnmpMessage", "Varbind", "decode"]

MAX_VARBINDS = 32
"""Variable bindings kept per PDU (a GetBulk response can carry hundreds); the rest are counted."""
MAX_VALUE_CHARS = 256
"""Longer values are cut (the event says so with ``truncated``)."""

_SEQ, _INT, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_IPADDR, _OPAQUE, _NSAP, _COUNTER64 = 0x40, 0x44, 0x45, 0x46
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})


@dataclass(slots=True)
class Varbind:
    """One variable binding: OID, value type name, value as text (None for NULL/exceptions)."""

    oid: str
    type: str
    value: str | None


@dataclass(slots=True)
class SnmpMessage:
    """One decoded SNMP message."""

    version: int
    community_length: int | None = None
    community_default: bool | None = None
    pdu_tag: int | None = None
    """None when an SNMPv3 PDU is encrypted."""
    request_id: int | None = None
    error_status: int | None = None
    error_index: int | None = None
    varbinds: list[Varbind] = field(default_factory=list)
    varbind_count: int = 0
    value_cut: bool = False
    # v1 trap
    enterprise: str | None = None
    agent_addr: str | None = None
    generic_trap: int | None = None
    specific_trap: int | None = None
    timestamp: int | None = None
    # v3
    msg_id: int | None = None
    msg_flags: int | None = None
    security_model: int | None = None
    engine_id: str | None = None
    engine_boots: int | None = None
    engine_time: int | None = None
    user: str | None = None
    context_name: str | None = None
    encrypted: bool = False


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    t, start, stop = tlv(data, pos, end)
    if t != tag:
        raise Malformed("snmp.invalid_ber", f"{what}: tag 0x{t:02x}, expected 0x{tag:02x}")
    return start, stop


def _int_at(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, _INT, what)
    return integer(data, start, stop), stop


def _printable(raw: bytes) -> str | None:
    """Text if the octets are printable UTF-8 (trailing NULs, common in sysDescr, dropped)."""
    try:
        text = raw.decode("utf-8").rstrip("\0")
    except UnicodeDecodeError:
        return None
    if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
        return text
    return None


def _value(data: bytes, tag: int, start: int, stop: int) -> str | None:
    if tag == _INT:
        return str(integer(data, start, stop))
    if tag in _UNSIGNED:
        return str(unsigned(data, start, stop))
    if tag == _OCTETS:
        raw = data[start:stop]
        text = _printable(raw)
        return text if text is not None else raw.hex()
    if tag == _OID:
        return oid(data, start, stop)
    if tag == _IPADDR:
        return socket.inet_ntoa(data[start:stop]) if stop - start == 4 else data[start:stop].hex()
    if tag in (_OPAQUE, _NSAP):
        return data[start:stop].hex()
    return None  # NULL and the v2 exception values carry no content


def decode(data: bytes) -> SnmpMessage:
    """Decode one SNMP datagram."""
    start, end = _expect(data, 0, len(data), _SEQ, "message")
    version, pos = _int_at(data, start, end, "version")
    if version in (0, 1):
        msg = SnmpMessage(version=version)
        cstart, pos = _expect(data, pos, end, _OCTETS, "community")
        msg.community_length = pos - cstart
        msg.community_default = data[cstart:pos] in DEFAULT_COMMUNITIES
        _pdu(data, pos, end, msg)
        return msg
    if version == 3:
        msg = SnmpMessage(version=3)
        _v3(data, pos, end, msg)
        return msg
    raise Malformed("snmp.bad_version", f"version field {version}")


def _v3(data: bytes, pos: int, end: int, msg: SnmpMessage) -> None:
    gstart, pos = _expect(data, pos, end, _SEQ, "msgGlobalData")
    msg.msg_id, g = _int_at(data, gstart, pos, "msgID")
    _max_size, g = _int_at(data, g, pos, "msgMaxSize")
    fstart, g = _expect(data, g, pos, _OCTETS, "msgFlags")
    if g - fstart != 1:
        raise Malformed("snmp.invalid_ber", f"msgFlags of {g - fstart} bytes")
    msg.msg_flags = data[fstart]
    msg.security_model, g = _int_at(data, g, pos, "msgSecurityModel")
    sstart, pos = _expect(data, pos, end, _OCTETS, "msgSecurityParameters")
    if msg.security_model == 3 and pos > sstart:
        _usm(data, sstart, pos, msg)
    tag, dstart, dstop = tlv(data, pos, end)
    if tag == _OCTETS:
        msg.encrypted = True  # RFC 3412 section 6.8: encryptedPDU
        return
    if tag != _SEQ:
        raise Malformed("snmp.invalid_ber", f"ScopedPduData tag 0x{tag:02x}")
    _engine, p = _expect(data, dstart, dstop, _OCTETS, "contextEngineID")
    nstart, p = _expect(data, p, dstop, _OCTETS, "contextName")
    if p > nstart:
        msg.context_name = data[nstart:p].decode("utf-8", "replace")
    _pdu(data, p, dstop, msg)


def _usm(data: bytes, pos: int, end: int, msg: SnmpMessage) -> None:
    """UsmSecurityParameters (RFC 3414 section 2.4): engine id, boots, time, user name, then
    authentication and privacy parameters (skipped: digests and salts)."""
    start, stop = _expect(data, pos, end, _SEQ, "UsmSecurityParameters")
    estart, p = _expect(data, start, stop, _OCTETS, "msgAuthoritativeEngineID")
    if p > estart:
        msg.engine_id = data[estart:p].hex()
    msg.engine_boots, p = _int_at(data, p, stop, "msgAuthoritativeEngineBoots")
    msg.engine_time, p = _int_at(data, p, stop, "msgAuthoritativeEngineTime")
    ustart, p = _expect(data, p, stop, _OCTETS, "msgUserName")
    msg.user = data[ustart:p].decode("utf-8", "replace")


def _pdu(data: bytes, pos: int, end: int, msg: SnmpMessage) -> None:
    tag, start, stop = tlv(data, pos, end)
    if tag not in PDU_TYPES:
        raise Malformed("snmp.unknown_pdu", f"PDU tag 0x{tag:02x}")
    msg.pdu_tag = tag
    if tag == TRAP_V1:
        ostart, p = _expect(data, start, stop, _OID, "enterprise")
        msg.enterprise = oid(data, ostart, p)
        astart, p = _expect(data, p, stop, _IPADDR, "agent-addr")
        if p - astart == 4:
            msg.agent_addr = socket.inet_ntoa(data[astart:p])
        msg.generic_trap, p = _int_at(data, p, stop, "generic-trap")
        msg.specific_trap, p = _int_at(data, p, stop, "specific-trap")
        tstart, p = _expect(data, p, stop, 0x43, "time-stamp")
        msg.timestamp = unsigned(data, tstart, p)
    else:
        msg.request_id, p = _int_at(data, start, stop, "request-id")
        msg.error_status, p = _int_at(data, p, stop, "error-status")
        msg.error_index, p = _int_at(data, p, stop, "error-index")
    _varbinds(data, p, stop, msg)


def _varbinds(data: bytes, pos: int, end: int, msg: SnmpMessage) -> None:
    start, stop = _expect(data, pos, end, _SEQ, "variable-bindings")
    p = start
    kept = msg.varbinds
    count = 0
    while p < stop:
        vstart, vstop = _expect(data, p, stop, _SEQ, "VarBind")
        count += 1
        if len(kept) < MAX_VARBINDS:
            nstart, q = _expect(data, vstart, vstop, _OID, "VarBind name")
            name = oid(data, nstart, q)
            tag, s, e = tlv(data, q, vstop)
            type_name = VALUE_TYPES.get(tag)
            if type_name is None:
                raise Malformed("snmp.invalid_ber", f"value tag 0x{tag:02x} in {name}")
            value = _value(data, tag, s, e)
            if value is not None and len(value) > MAX_VALUE_CHARS:
                value = value[:MAX_VALUE_CHARS]
                msg.value_cut = True
            kept.append(Varbind(name, type_name, value))
        p = vstop
    msg.varbind_count = count

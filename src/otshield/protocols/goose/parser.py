"""Pure parsers of GOOSE and GSE management frames (payload after the Ethertype).

References: IEC 61850-8-1 Ed.2 (2011) Annex A:
``GOOSEpdu ::= CHOICE { gseMngtPdu [APPLICATION 0] GSEMngtPdu, goosePdu [APPLICATION 1]
IECGoosePdu }``; ``IECGoosePdu`` context tags [0] gocbRef, [1] timeAllowedtoLive (ms),
[2] datSet, [3] goID (optional), [4] t (UtcTime), [5] stNum, [6] sqNum, [7] simulation (``test``
in edition 1), [8] confRev, [9] ndsCom, [10] numDatSetEntries, [11] allData, [12] security;
``GSEMngtPdu`` [0] stateID, [1] requests / [2] responses (explicit CHOICE of [0]
gseMngtNotSupported, [1] getGoReference, [2] getGOOSEElementNumber, [3] getGsReference,
[4] getGSSEDataOffset), [3] security. Annex C for the Ethernet header (see ``header``).

The allData contents are kept as raw bytes: the session compares them with the previous
message to tell retransmissions from changes, and decodes values (``data.decode_data``) only
for messages it reports.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from otshield.errors import Malformed
from otshield.protocols.ber import (
    CLASS_APPLICATION,
    CLASS_CONTEXT,
    CLASS_UNIVERSAL,
    integer,
    iter_tlvs,
    read_tlv,
)
from otshield.protocols.goose.constants import GSE_MGMT_SERVICES
from otshield.protocols.goose.header import SIMULATE_BIT, parse_header
from otshield.protocols.goose.tlv import children

__all__ = ["GooseMgmtPdu", "GoosePdu", "GooseReader", "count_entries", "parse_frame"]

_P = "goose"
_MAX_REFERENCES = 64
_REQUIRED = {0: "gocbRef", 1: "timeAllowedtoLive", 2: "datSet", 4: "t", 5: "stNum",
             6: "sqNum", 8: "confRev", 10: "numDatSetEntries", 11: "allData"}
_REQUIRED_MASK = sum(1 << n for n in _REQUIRED)


class GoosePdu(msgspec.Struct, kw_only=True, gc=False):
    """One goosePdu with its header; ``data`` holds the raw allData contents."""

    appid: int
    reserved1: int
    reserved2: int
    gocb_ref: str
    ttl: int
    dat_set: str
    go_id: str
    t: bytes
    """The 8-octet UtcTime as sent."""
    st_num: int
    sq_num: int
    simulation: bool
    conf_rev: int
    nds_com: bool
    num_entries: int
    data: bytes
    security: bool

    @property
    def simulated(self) -> bool:
        """The header's Simulate bit."""
        return bool(self.reserved1 & SIMULATE_BIT)


class GooseMgmtPdu(msgspec.Struct, kw_only=True, gc=False):
    """One GSEMngtPdu with its header."""

    appid: int
    state_id: int
    pdu: str
    service: str
    ident: str = ""
    references: list[str] = []
    conf_rev: int | None = None
    positive: bool | None = None
    error: int | None = None
    security: bool = False


def _text(buf: bytes, s: int, e: int) -> str:
    return buf[s:e].decode("ascii", "replace")


def _u32(buf: bytes, s: int, e: int, name: str) -> int:
    """A 32-bit counter encoded as INTEGER (a leading zero octet keeps it positive)."""
    if not 0 < e - s <= 5:
        raise Malformed(f"{_P}.bad_field", f"{name} of {e - s} octets")
    value = int.from_bytes(buf[s:e], "big")
    if value > 0xFFFFFFFF:
        raise Malformed(f"{_P}.bad_field", f"{name} {value} above 32 bits")
    return value


def _bool(buf: bytes, s: int, e: int, name: str) -> bool:
    if e - s != 1:
        raise Malformed(f"{_P}.bad_field", f"{name} of {e - s} octets")
    return buf[s] != 0


def _int(buf: bytes, s: int, e: int, name: str) -> int:
    if not 0 < e - s <= 5:
        raise Malformed(f"{_P}.bad_field", f"{name} of {e - s} octets")
    return integer(buf, s, e, _P)


def parse_frame(payload: bytes) -> GoosePdu | GooseMgmtPdu:
    """Decode one frame payload (after the Ethertype). Raises only ``Malformed``."""
    return _parse(payload)[0]


class GooseReader:
    """``parse_frame`` for a stream of frames, reusing the previous frame with the same size and
    start (APPID, header, gocbRef): when every octet but the sqNum value is the same, the frame
    is a retransmission of that one and only sqNum is read. A publisher repeats its state every
    few milliseconds after a change and at a heartbeat after that. Results are identical to
    ``parse_frame`` (tested); memory is bounded by ``max_layouts``."""

    __slots__ = ("_layouts", "_max")

    def __init__(self, max_layouts: int = 4096) -> None:
        self._layouts: dict[tuple[int, bytes], tuple[bytes, int, int, GoosePdu]] = {}
        self._max = max_layouts

    def parse(self, payload: bytes) -> GoosePdu | GooseMgmtPdu:
        key = (len(payload), payload[:_KEY_OCTETS])
        layout = self._layouts.get(key)
        if layout is not None:
            prev, s, e, pdu = layout
            if payload[e:] == prev[e:] and payload[:s] == prev[:s]:
                sq = int.from_bytes(payload[s:e], "big")
                if sq <= 0xFFFFFFFF:
                    return replace(pdu, sq_num=sq)
        result, s, e = _parse(payload)
        if isinstance(result, GoosePdu):
            if len(self._layouts) >= self._max:
                self._layouts.clear()
            self._layouts[key] = (payload, s, e, result)
        return result


_KEY_OCTETS = 48  # APPID, header, goosePdu tag and length, most of gocbRef


def _parse(payload: bytes) -> tuple[GoosePdu | GooseMgmtPdu, int, int]:
    """The PDU and, for a goosePdu, where its sqNum value sits."""
    appid, res1, res2, end = parse_header(payload, _P)
    cls, constructed, num, s, e = read_tlv(payload, 8, end, _P)
    if cls == CLASS_APPLICATION and constructed:
        if num == 1:
            return _goose(payload, s, e, appid, res1, res2)
        if num == 0:
            return _mgmt(payload, s, e, appid), 0, 0
    raise Malformed(f"{_P}.unknown_pdu", f"APDU tag class {cls} number {num}")


def _goose(buf: bytes, off: int, end: int, appid: int, res1: int,
           res2: int) -> tuple[GoosePdu, int, int]:
    seen = 0
    sq_at = sq_end = 0
    gocb_ref = dat_set = go_id = ""
    ttl = st_num = sq_num = conf_rev = num_entries = 0
    t = b""
    data = b""
    simulation = nds_com = security = False
    for ident, s, e in children(buf, off, end, _P):
        if ident & 0xC0 != 0x80:
            continue  # not context-specific, not in the grammar: skipped like an extension
        num = ident & 0x1F
        seen |= 1 << num
        if num == 0:
            gocb_ref = _text(buf, s, e)
        elif num == 1:
            ttl = _int(buf, s, e, "timeAllowedtoLive")
        elif num == 2:
            dat_set = _text(buf, s, e)
        elif num == 3:
            go_id = _text(buf, s, e)
        elif num == 4:
            if e - s != 8:
                raise Malformed(f"{_P}.bad_field", f"t of {e - s} octets")
            t = buf[s:e]
        elif num == 5:
            st_num = _u32(buf, s, e, "stNum")
        elif num == 6:
            sq_num = _u32(buf, s, e, "sqNum")
            sq_at, sq_end = s, e
        elif num == 7:
            simulation = _bool(buf, s, e, "simulation")
        elif num == 8:
            conf_rev = _u32(buf, s, e, "confRev")
        elif num == 9:
            nds_com = _bool(buf, s, e, "ndsCom")
        elif num == 10:
            num_entries = _int(buf, s, e, "numDatSetEntries")
        elif num == 11:
            if not ident & 0x20:
                raise Malformed(f"{_P}.bad_field", "allData is not constructed")
            data = buf[s:e]
        elif num == 12:
            security = True
    if seen & _REQUIRED_MASK != _REQUIRED_MASK:
        missing = [name for n, name in _REQUIRED.items() if not seen & (1 << n)]
        raise Malformed(f"{_P}.missing_field", ", ".join(missing))
    return GoosePdu(appid=appid, reserved1=res1, reserved2=res2, gocb_ref=gocb_ref, ttl=ttl,
                    dat_set=dat_set, go_id=go_id, t=t, st_num=st_num, sq_num=sq_num,
                    simulation=simulation, conf_rev=conf_rev, nds_com=nds_com,
                    num_entries=num_entries, data=data, security=security), sq_at, sq_end


def count_entries(data: bytes) -> int:
    """Number of top-level Data values in raw allData contents."""
    return len(children(data, 0, len(data), _P))


def _mgmt(buf: bytes, off: int, end: int, appid: int) -> GooseMgmtPdu:
    state_id: int | None = None
    pdu = service = ""
    security = False
    body: tuple[int, int, int, bool] | None = None
    for cls, constructed, num, s, e in iter_tlvs(buf, off, end, _P):
        if cls != CLASS_CONTEXT:
            continue
        if num == 0:
            state_id = _int(buf, s, e, "stateID")
        elif num in (1, 2) and constructed:
            pdu = "request" if num == 1 else "response"
            cls2, cons2, snum, s2, e2 = read_tlv(buf, s, e, _P)
            if cls2 != CLASS_CONTEXT or snum not in GSE_MGMT_SERVICES or (
                    num == 1 and snum == 0):
                raise Malformed(f"{_P}.bad_field", f"GSE management {pdu} choice [{snum}]")
            service = GSE_MGMT_SERVICES[snum]
            body = (s2, e2, snum, cons2)
        elif num == 3:
            security = True
    if state_id is None or not pdu:
        raise Malformed(f"{_P}.missing_field", "GSEMngtPdu without stateID or request/response")
    out = GooseMgmtPdu(appid=appid, state_id=state_id, pdu=pdu, service=service,
                       security=security)
    if body is not None and body[3]:
        _mgmt_body(buf, body[0], body[1], out)
    return out


def _mgmt_body(buf: bytes, off: int, end: int, out: GooseMgmtPdu) -> None:
    """ident [0]; requests: [1] offsets or references; responses: [1] confRev,
    [2] responsePositive, [3] responseNegative."""
    refs: list[str] = []
    for cls, constructed, num, s, e in iter_tlvs(buf, off, end, _P):
        if cls != CLASS_CONTEXT:
            continue
        if num == 0:
            out.ident = _text(buf, s, e)
        elif num == 1 and constructed:
            for ucls, _c, unum, us, ue in iter_tlvs(buf, s, e, _P):
                if ucls == CLASS_UNIVERSAL and unum == 26 and len(refs) < _MAX_REFERENCES:
                    refs.append(_text(buf, us, ue))  # VisibleString references
        elif num == 1 and out.pdu == "response":
            out.conf_rev = _int(buf, s, e, "confRev")
        elif num == 2 and out.pdu == "response":
            out.positive = True
        elif num == 3 and out.pdu == "response":
            out.positive = False
            out.error = _int(buf, s, e, "responseNegative")
    out.references = refs

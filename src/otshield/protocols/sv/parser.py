"""Pure parser of IEC 61850-9-2 Sampled Values frames (payload after Ethertype 0x88BA).

References: IEC 61850-9-2 Ed.2 (2011) 8.5.2 ``SavPdu ::= SEQUENCE { noASDU [0] INTEGER,
security [1] ANY OPTIONAL, asdu [2] SEQUENCE OF ASDU }`` inside [APPLICATION 0]; ``ASDU ::=
SEQUENCE { svID [0] VisibleString, datSet [1] VisibleString OPTIONAL, smpCnt [2] OCTET STRING
(SIZE(2)), confRev [3] OCTET STRING (SIZE(4)), refrTm [4] UtcTime OPTIONAL, smpSynch [5] OCTET
STRING (SIZE(1)), smpRate [6] OCTET STRING (SIZE(2)) OPTIONAL, sample [7] OCTET STRING,
smpMod [8] OCTET STRING (SIZE(2)) OPTIONAL, gmIdentity [9] OCTET STRING (SIZE(8)) OPTIONAL
(Ed.2.1) }``. The header is IEC 61850-9-2 5.3.3 (see ``goose.header``).

Streams run at 4000 to 14400 frames a second, so TLVs are read with ``goose.tlv.children``
(a fast path for the encodings every merging unit sends, the general BER reader otherwise).
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from otshield.errors import Malformed
from otshield.protocols.ber import integer
from otshield.protocols.goose.header import SIMULATE_BIT, parse_header
from otshield.protocols.goose.tlv import children

__all__ = ["SvAsdu", "SvPdu", "SvReader", "parse_frame"]

_P = "sv"
_REQUIRED = {0x80: "svID", 0x82: "smpCnt", 0x83: "confRev", 0x85: "smpSynch", 0x87: "sample"}


class SvAsdu(msgspec.Struct, kw_only=True, gc=False):
    """One ASDU; ``sample`` holds the raw dataset (value + quality pairs for 9-2LE)."""

    sv_id: str
    dat_set: str = ""
    smp_cnt: int
    conf_rev: int
    refr_tm: bytes | None = None
    smp_synch: int
    smp_rate: int | None = None
    sample: bytes
    smp_mod: int | None = None
    gm_identity: bytes | None = None


class SvPdu(msgspec.Struct, kw_only=True, gc=False):
    """One savPdu with its header."""

    appid: int
    reserved1: int
    reserved2: int
    no_asdu: int
    security: bool
    asdus: list[SvAsdu]

    @property
    def simulated(self) -> bool:
        return bool(self.reserved1 & SIMULATE_BIT)


def _octets(buf: bytes, s: int, e: int, size: int, name: str) -> int:
    if e - s != size:
        raise Malformed(f"{_P}.bad_field", f"{name} of {e - s} octets, {size} expected")
    return int.from_bytes(buf[s:e], "big")


Positions = tuple[int, int, int, int]
"""Where an ASDU's per-sample fields sit in the frame: smpCnt value, sample value start and end,
refrTm value (-1 when absent)."""


def parse_frame(payload: bytes) -> SvPdu:
    """Decode one frame payload (after the Ethertype). Raises only ``Malformed``."""
    return _parse(payload)[0]


class SvReader:
    """``parse_frame`` for a stream of frames, reusing the previous frame of the same APPID and
    size: when every octet outside the per-sample fields (smpCnt, sample, refrTm values) is the
    same as in that frame, the frame has the same TLV structure and the same values elsewhere,
    so only those fields are read. A merging unit sends thousands of such frames a second.
    Results are identical to ``parse_frame`` (tested); memory is bounded by ``max_layouts``."""

    __slots__ = ("_layouts", "_max")

    def __init__(self, max_layouts: int = 4096) -> None:
        self._layouts: dict[tuple[bytes, int], tuple[bytes, list[tuple[int, int]], SvPdu,
                                                     list[Positions]]] = {}
        self._max = max_layouts

    def parse(self, payload: bytes) -> SvPdu:
        key = (payload[:2], len(payload))
        layout = self._layouts.get(key)
        if layout is not None:
            prev, same, pdu, positions = layout
            for a, b in same:
                if payload[a:b] != prev[a:b]:
                    break
            else:
                return replace(pdu, asdus=[
                    replace(asdu, smp_cnt=payload[c] << 8 | payload[c + 1],
                            sample=payload[ss:se],
                            refr_tm=payload[r:r + 8] if r >= 0 else None)
                    for asdu, (c, ss, se, r) in zip(pdu.asdus, positions, strict=True)])
        pdu, positions = _parse(payload)
        variable = sorted([(c, c + 2) for c, _s, _e, _r in positions]
                          + [(ss, se) for _c, ss, se, _r in positions]
                          + [(r, r + 8) for _c, _s, _e, r in positions if r >= 0])
        constant: list[tuple[int, int]] = []
        pos = 0
        for a, b in variable:
            if a > pos:
                constant.append((pos, a))
            pos = b
        constant.append((pos, len(payload)))
        if len(self._layouts) >= self._max:
            self._layouts.clear()
        self._layouts[key] = (payload, constant, pdu, positions)
        return pdu


def _parse(payload: bytes) -> tuple[SvPdu, list[Positions]]:
    appid, res1, res2, end = parse_header(payload, _P)
    top = children(payload, 8, end, _P)
    if not top or top[0][0] != 0x60:
        raise Malformed(f"{_P}.unknown_pdu",
                        f"APDU identifier 0x{top[0][0]:02x}" if top else "empty APDU")
    _tag, s, e = top[0]
    no_asdu = -1
    security = False
    asdus: list[SvAsdu] | None = None
    positions: list[Positions] = []
    for tag, vs, ve in children(payload, s, e, _P):
        if tag == 0x80:
            no_asdu = integer(payload, vs, ve, _P)
        elif tag == 0xA1 or tag == 0x81:
            security = True
        elif tag == 0xA2:
            asdus = []
            positions = []
            for a_tag, a_s, a_e in children(payload, vs, ve, _P):
                if a_tag == 0x30:
                    asdu, where = _asdu(payload, a_s, a_e)
                    asdus.append(asdu)
                    positions.append(where)
    if no_asdu < 0 or asdus is None:
        raise Malformed(f"{_P}.missing_field", "savPdu without noASDU or the ASDU sequence")
    return SvPdu(appid=appid, reserved1=res1, reserved2=res2, no_asdu=no_asdu,
                 security=security, asdus=asdus), positions


def _asdu(buf: bytes, off: int, end: int) -> tuple[SvAsdu, Positions]:
    sv_id: str | None = None
    dat_set = ""
    smp_cnt = conf_rev = smp_synch = -1
    smp_rate: int | None = None
    smp_mod: int | None = None
    refr_tm: bytes | None = None
    gm: bytes | None = None
    sample: bytes | None = None
    cnt_at = sample_at = sample_end = refr_at = -1
    for tag, s, e in children(buf, off, end, _P):
        if tag == 0x87:
            sample = buf[s:e]
            sample_at, sample_end = s, e
        elif tag == 0x82:
            cnt_at = s
            smp_cnt = buf[s] << 8 | buf[s + 1] if e - s == 2 else _octets(buf, s, e, 2,
                                                                          "smpCnt")
        elif tag == 0x80:
            sv_id = buf[s:e].decode("ascii", "replace")
        elif tag == 0x83:
            conf_rev = _octets(buf, s, e, 4, "confRev")
        elif tag == 0x85:
            smp_synch = buf[s] if e - s == 1 else _octets(buf, s, e, 1, "smpSynch")
        elif tag == 0x81:
            dat_set = buf[s:e].decode("ascii", "replace")
        elif tag == 0x84:
            if e - s != 8:
                raise Malformed(f"{_P}.bad_field", f"refrTm of {e - s} octets")
            refr_tm = buf[s:e]
            refr_at = s
        elif tag == 0x86:
            smp_rate = _octets(buf, s, e, 2, "smpRate")
        elif tag == 0x88:
            smp_mod = _octets(buf, s, e, 2, "smpMod")
        elif tag == 0x89:
            if e - s != 8:
                raise Malformed(f"{_P}.bad_field", f"gmIdentity of {e - s} octets")
            gm = buf[s:e]
    if sample is None or smp_cnt < 0 or conf_rev < 0 or smp_synch < 0 or sv_id is None:
        present = {0x80: sv_id is not None, 0x82: smp_cnt >= 0, 0x83: conf_rev >= 0,
                   0x85: smp_synch >= 0, 0x87: sample is not None}
        missing = [name for tag, name in _REQUIRED.items() if not present[tag]]
        raise Malformed(f"{_P}.missing_field", "ASDU without " + ", ".join(missing))
    return SvAsdu(sv_id=sv_id, dat_set=dat_set, smp_cnt=smp_cnt, conf_rev=conf_rev,
                  refr_tm=refr_tm, smp_synch=smp_synch, smp_rate=smp_rate, sample=sample,
                  smp_mod=smp_mod, gm_identity=gm), (cnt_at, sample_at, sample_end, refr_at)

"""The OSI upper layers under MMS: ISO 8327-1 session SPDUs, ISO 8823-1 presentation PPDUs and
ISO 8650-1 ACSE APDUs, down to the byte ranges of the MMS PDUs they carry.

References:
- ISO 8327-1 (ITU-T X.225) section 8.2 (SPDU structure: SI, LI of one octet or 0xFF plus two,
  parameters PI/PGI with the same length rule), 8.3 (SPDUs: CN 13, AC 14, RF 12, FN 9, DN 10,
  NF 8, AB 25, AA 26, GT/DT 1; user data in PI 193, extended user data in PI 194; RF reason
  PI 50 whose value continues with the user data), 7.37 (concatenation: a category 0 SPDU, GT
  or PT, precedes a category 2 SPDU such as DT, whose user information follows its header).
- ISO 8823-1 (ITU-T X.226) section 8.2: CP-type, CPA-PPDU, CPR-PPDU, ARU-PPDU, ARP-PPDU and
  User-data (simply-encoded [APPLICATION 0], fully-encoded [APPLICATION 1] SEQUENCE OF PDV-list:
  optional transfer syntax, presentation-context-identifier, single-ASN1-type [0] /
  octet-aligned [1] / arbitrary [2]).
- ISO 8650-1 (ITU-T X.227) section 9: AARQ [APPLICATION 0], AARE [1], RLRQ [2], RLRE [3],
  ABRT [4] and their members; user-information [30] is a SEQUENCE OF EXTERNAL (X.690 8.18).
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols import ber
from otshield.protocols.mms.constants import (
    ACSE_ABORT_SOURCE,
    ACSE_RESULT,
    ACSE_USER_DIAG,
    PI_EXTENDED_USER_DATA,
    PI_USER_DATA,
    RELEASE_REASON,
    SI_AA,
    SI_AB,
    SI_AC,
    SI_CN,
    SI_DN,
    SI_DT,
    SI_FN,
    SI_NF,
    SI_RF,
    SPDU_NAMES,
)
from otshield.protocols.mms.data import oid

__all__ = ["Acse", "Ppdu", "Spdu", "parse_acse", "parse_ppdu", "parse_spdu"]

Range = tuple[int, int]

_KNOWN_SI = frozenset({SI_DT, 2, SI_FN, SI_DN, SI_NF, SI_RF, SI_CN, SI_AC, SI_AB, SI_AA})


class Spdu:
    """A session unit: its type and where its user data lies (or None)."""

    __slots__ = ("called_selector", "calling_selector", "name", "reason", "si", "user")

    def __init__(self, si: int) -> None:
        self.si = si
        self.calling_selector: str | None = None
        self.called_selector: str | None = None
        """CN: session selectors (PI 51 / 52), hex."""
        self.name = SPDU_NAMES.get(si, str(si))
        self.user: Range | None = None
        self.reason: int | None = None
        """RF reason code, AB transport disconnect flags."""


def _length(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """An ISO 8327 length: one octet, or 0xFF and two octets (8.2.5)."""
    if pos >= end:
        raise Malformed("mms.bad_session", f"{what}: no length octet")
    n = buf[pos]
    if n != 0xFF:
        return n, pos + 1
    if pos + 3 > end:
        raise Malformed("mms.bad_session", f"{what}: extended length truncated")
    return buf[pos + 1] << 8 | buf[pos + 2], pos + 3


def _header(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(SI, start of parameters, end of parameters) of the SPDU at ``pos``."""
    si = buf[pos]
    li, start = _length(buf, pos + 1, end, f"SPDU {si}")
    if start + li > end:
        raise Malformed("mms.bad_session",
                        f"SPDU {SPDU_NAMES.get(si, si)} length {li} exceeds {end - start} bytes")
    return si, start, start + li


def parse_spdu(buf: bytes) -> Spdu:
    """The SPDU(s) of one TSDU. Raises ``Malformed('mms.bad_session')``."""
    end = len(buf)
    if end < 2:
        raise Malformed("mms.bad_session", f"{end} bytes")
    si, pstart, pend = _header(buf, 0, end)
    if si not in _KNOWN_SI:
        raise Malformed("mms.bad_session", f"unknown or unsupported SPDU type {si}")
    if si in (SI_DT, 2):
        if si == 2 or (pend < end and buf[pend] == SI_DT):
            # GT/PT (category 0) first, then the category 2 SPDU (DT) whose user information
            # follows its header; PPDUs never start with 0x01, so a lone DT is unambiguous
            if pend >= end:
                raise Malformed("mms.bad_session", "give/please tokens without a data SPDU")
            si2, _, pend = _header(buf, pend, end)
            if si2 != SI_DT:
                return Spdu(si2)  # activity / synchronisation SPDUs carry no MMS
        spdu = Spdu(SI_DT)
        spdu.user = (pend, end)
        return spdu
    spdu = Spdu(si)
    pos = pstart
    while pos < pend:
        pi = buf[pos]
        plen, vstart = _length(buf, pos + 1, pend, f"parameter {pi}")
        vend = vstart + plen
        if vend > pend:
            raise Malformed("mms.bad_session",
                            f"{spdu.name} parameter {pi} length {plen} overruns the SPDU")
        if pi in (PI_USER_DATA, PI_EXTENDED_USER_DATA):
            spdu.user = (vstart, vend)
        elif pi == 50 and si == SI_RF and plen >= 1:
            # Reason code; with reason 2 the SS-user's refusal data follows it
            spdu.reason = buf[vstart]
            if plen > 1:
                spdu.user = (vstart + 1, vend)
        elif pi == 17 and si == SI_AB and plen >= 1:
            spdu.reason = buf[vstart]
        elif pi == 51:
            spdu.calling_selector = buf[vstart:vend].hex()
        elif pi == 52:
            spdu.called_selector = buf[vstart:vend].hex()
        pos = vend
    if spdu.user is None and pend < end and si in (SI_FN, SI_DN, SI_AB):
        spdu.user = (pend, end)  # some stacks put the user data after the parameters
    return spdu


class Ppdu:
    """A presentation unit: kind, contexts proposed or their results, and the PDVs it carries
    as (presentation context id or None for the default context, value start, value end)."""

    __slots__ = ("called_selector", "calling_selector", "contexts", "kind", "pdvs",
                 "provider_reason", "results")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.contexts: list[tuple[int, str]] = []
        self.results: list[int] = []
        self.pdvs: list[tuple[int | None, int, int]] = []
        self.provider_reason: int | None = None
        self.calling_selector: str | None = None
        self.called_selector: str | None = None


def _user_data(buf: bytes, tlv: ber.Tlv, ppdu: Ppdu) -> None:
    """User-data: simply-encoded [APPLICATION 0] or fully-encoded [APPLICATION 1]."""
    cls, _, tag, start, end = tlv
    if cls != ber.CLASS_APPLICATION or tag > 1:
        raise Malformed("mms.bad_presentation", f"User-data with tag [{tag}] class {cls}")
    if tag == 0:
        ppdu.pdvs.append((None, start, end))
        return
    for pdv in ber.iter_tlvs(buf, start, end, "mms"):
        if not pdv[1]:
            raise Malformed("mms.bad_presentation", "PDV-list is not a SEQUENCE")
        ctx: int | None = None
        value: Range | None = None
        for item in ber.iter_tlvs(buf, pdv[3], pdv[4], "mms"):
            icls, _, itag, istart, iend = item
            if icls == ber.CLASS_UNIVERSAL and itag == 2:
                ctx = ber.unsigned(buf, istart, iend, "mms")
            elif icls == ber.CLASS_CONTEXT and itag in (0, 1):
                value = (istart, iend)
            elif icls == ber.CLASS_CONTEXT and itag == 2:
                value = None  # arbitrary: a bit string, no MMS in it
        if ctx is None:
            raise Malformed("mms.bad_presentation", "PDV-list without a context identifier")
        if value is not None:
            ppdu.pdvs.append((ctx, value[0], value[1]))


def _selector(buf: bytes, tlv: ber.Tlv) -> str:
    return buf[tlv[3]:tlv[4]].hex()


def _normal_mode(buf: bytes, tlv: ber.Tlv, ppdu: Ppdu) -> None:
    for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        cls, constructed, tag, start, end = item
        if cls == ber.CLASS_APPLICATION:
            _user_data(buf, item, ppdu)
        elif cls != ber.CLASS_CONTEXT:
            continue
        elif tag == 1:
            ppdu.calling_selector = _selector(buf, item)
        elif tag in (2, 3):
            ppdu.called_selector = _selector(buf, item)
        elif tag == 4 and constructed:  # presentation-context-definition-list
            for ctx in ber.iter_tlvs(buf, start, end, "mms"):
                members = list(ber.iter_tlvs(buf, ctx[3], ctx[4], "mms"))
                if len(members) < 2 or members[0][2] != 2 or members[1][2] != 6:
                    raise Malformed("mms.bad_presentation", "bad context definition")
                ident = ber.unsigned(buf, members[0][3], members[0][4], "mms")
                ppdu.contexts.append((ident, oid(buf, members[1][3], members[1][4])))
        elif tag == 5 and constructed:  # presentation-context-definition-result-list
            for res in ber.iter_tlvs(buf, start, end, "mms"):
                for member in ber.iter_tlvs(buf, res[3], res[4], "mms"):
                    if member[0] == ber.CLASS_CONTEXT and member[2] == 0:
                        ppdu.results.append(ber.unsigned(buf, member[3], member[4], "mms"))
        elif tag == 10:
            ppdu.provider_reason = ber.unsigned(buf, start, end, "mms")


def parse_ppdu(buf: bytes, start: int, end: int, si: int) -> Ppdu:
    """The PPDU in ``buf[start:end]``, the user data of a session unit of type ``si``.
    Raises ``Malformed('mms.bad_presentation')`` (or a ``mms.ber_*`` code)."""
    if start >= end:
        raise Malformed("mms.bad_presentation", "no presentation data")
    tlv = ber.read_tlv(buf, start, end, "mms")
    cls, constructed, tag = tlv[0], tlv[1], tlv[2]
    if si in (SI_CN, SI_AC):
        if cls != ber.CLASS_UNIVERSAL or tag != 17:
            raise Malformed("mms.bad_presentation",
                            f"{'CP' if si == SI_CN else 'CPA'} PPDU is not a SET")
        ppdu = Ppdu("CP" if si == SI_CN else "CPA")
        for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
            if item[0] == ber.CLASS_CONTEXT and item[2] == 2 and item[1]:
                _normal_mode(buf, item, ppdu)
        return ppdu
    if si == SI_RF:
        ppdu = Ppdu("CPR")
        if constructed and cls == ber.CLASS_UNIVERSAL and tag == 16:
            _normal_mode(buf, tlv, ppdu)
        return ppdu
    if si in (SI_AB, SI_AA):
        if cls == ber.CLASS_CONTEXT and tag == 0 and constructed:  # ARU normal mode
            ppdu = Ppdu("ARU")
            _normal_mode(buf, tlv, ppdu)
            return ppdu
        ppdu = Ppdu("ARP")
        if constructed:
            for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
                if item[0] == ber.CLASS_CONTEXT and item[2] == 0:
                    ppdu.provider_reason = ber.unsigned(buf, item[3], item[4], "mms")
        return ppdu
    ppdu = Ppdu("TD")
    _user_data(buf, tlv, ppdu)
    return ppdu


class Acse:
    """An ACSE APDU: what identifies and authenticates the association, and where the MMS PDU
    it carries (in user-information) lies."""

    __slots__ = ("ap_context", "auth_present", "called_ae", "called_ap", "calling_ae",
                 "calling_ap", "diagnostic", "kind", "mechanism", "mms", "reason",
                 "responding_ap", "result")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ap_context: str | None = None
        self.called_ap: str | None = None
        self.called_ae: int | None = None
        self.calling_ap: str | None = None
        self.calling_ae: int | None = None
        self.responding_ap: str | None = None
        self.mechanism: str | None = None
        self.auth_present = False
        self.result: str | None = None
        self.diagnostic: str | None = None
        self.reason: str | None = None
        self.mms: Range | None = None


_ACSE_KINDS = ("AARQ", "AARE", "RLRQ", "RLRE", "ABRT")


def _inner(buf: bytes, tlv: ber.Tlv) -> ber.Tlv:
    if not tlv[1] or tlv[3] >= tlv[4]:
        raise Malformed("mms.bad_acse", f"[{tlv[2]}] should hold one value")
    return ber.read_tlv(buf, tlv[3], tlv[4], "mms")


def _ap_title(buf: bytes, tlv: ber.Tlv) -> str:
    inner = _inner(buf, tlv)
    if inner[0] == ber.CLASS_UNIVERSAL and inner[2] == 6:  # form 2: an OID
        return oid(buf, inner[3], inner[4])
    return "0x" + buf[inner[3]:inner[4]].hex()  # form 1: a directory name, kept raw


def _ae_qualifier(buf: bytes, tlv: ber.Tlv) -> int | None:
    inner = _inner(buf, tlv)
    if inner[0] == ber.CLASS_UNIVERSAL and inner[2] == 2:  # form 2: an INTEGER
        return ber.integer(buf, inner[3], inner[4], "mms")
    return None


def _user_information(buf: bytes, tlv: ber.Tlv, acse: Acse) -> None:
    """[30] SEQUENCE OF EXTERNAL: the first single-ASN1-type / octet-aligned encoding."""
    for ext in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        if not ext[1]:
            raise Malformed("mms.bad_acse", "user-information entry is not an EXTERNAL")
        for item in ber.iter_tlvs(buf, ext[3], ext[4], "mms"):
            if item[0] == ber.CLASS_CONTEXT and item[2] in (0, 1):
                acse.mms = (item[3], item[4])
                return


def _diagnostic(buf: bytes, tlv: ber.Tlv) -> str:
    """result-source-diagnostic: CHOICE { acse-service-user [1], acse-service-provider [2] },
    each an explicitly tagged INTEGER."""
    choice = _inner(buf, tlv)
    value = _inner(buf, choice)
    code = ber.unsigned(buf, value[3], value[4], "mms")
    if choice[2] == 1:
        return ACSE_USER_DIAG.get(code, f"user-{code}")
    return {0: "null", 1: "no-reason-given",
            2: "no-common-acse-version"}.get(code, f"provider-{code}")


def parse_acse(buf: bytes, start: int, end: int) -> Acse:
    """The ACSE APDU in ``buf[start:end]``. Raises ``Malformed('mms.bad_acse')``."""
    tlv = ber.read_tlv(buf, start, end, "mms")
    cls, constructed, tag = tlv[0], tlv[1], tlv[2]
    if cls != ber.CLASS_APPLICATION or tag > 4 or not constructed:
        raise Malformed("mms.bad_acse", f"APDU tag [{tag}] class {cls}")
    acse = Acse(_ACSE_KINDS[tag])
    for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        icls, _, itag, istart, iend = item
        if icls != ber.CLASS_CONTEXT:
            continue
        if itag == 30:
            _user_information(buf, item, acse)
        elif tag == 0 or tag == 1:
            _associate(buf, item, acse, tag == 0)
        elif itag == 0:  # RLRQ/RLRE reason, ABRT abort-source
            code = ber.unsigned(buf, istart, iend, "mms")
            table = ACSE_ABORT_SOURCE if tag == 4 else RELEASE_REASON
            acse.reason = table.get(code, f"unknown-{code}")
    return acse


def _associate(buf: bytes, item: ber.Tlv, acse: Acse, request: bool) -> None:
    itag = item[2]
    if itag == 1:
        inner = _inner(buf, item)
        acse.ap_context = oid(buf, inner[3], inner[4])
    elif request:
        if itag == 2:
            acse.called_ap = _ap_title(buf, item)
        elif itag == 3:
            acse.called_ae = _ae_qualifier(buf, item)
        elif itag == 6:
            acse.calling_ap = _ap_title(buf, item)
        elif itag == 7:
            acse.calling_ae = _ae_qualifier(buf, item)
        elif itag == 11:
            acse.mechanism = oid(buf, item[3], item[4])
        elif itag == 12:
            acse.auth_present = True  # the value itself (a password) is never kept
    else:
        if itag == 2:
            inner = _inner(buf, item)
            code = ber.unsigned(buf, inner[3], inner[4], "mms")
            acse.result = ACSE_RESULT.get(code, f"unknown-{code}")
        elif itag == 3:
            acse.diagnostic = _diagnostic(buf, item)
        elif itag == 4:
            acse.responding_ap = _ap_title(buf, item)
        elif itag == 9:
            acse.mechanism = oid(buf, item[3], item[4])
        elif itag == 10:
            acse.auth_present = True


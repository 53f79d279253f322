"""MMS PDUs (ISO 9506-2 section 7): the MMSpdu CHOICE, confirmed request / response / error
framing, unconfirmed PDUs, reject, cancel, initiate (section 8) and conclude (section 9).

Pure: ``parse_mms(buf, start, end)`` reads one PDU and returns an :class:`MmsPdu`; it raises only
``Malformed`` (``mms.bad_pdu``, ``mms.bad_data``, ``mms.ber_*``). Service arguments and results
are decoded by :mod:`otshield.protocols.mms.services`.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols import ber
from otshield.protocols.mms.constants import (
    CONFIRMED_SERVICES,
    ERROR_CLASSES,
    ERROR_CODES,
    PARAMETER_CBB,
    PDU_NAMES,
    REJECT_REASONS,
    SERVICES_SUPPORTED,
    UNCONFIRMED_SERVICES,
)
from otshield.protocols.mms.data import Budget, access_results, format_name, text, variable_access
from otshield.protocols.mms.services import REQUESTS, RESPONSES, MmsFields

__all__ = [
    "CANCEL_ERROR",
    "CANCEL_REQUEST",
    "CANCEL_RESPONSE",
    "CONCLUDE_ERROR",
    "CONCLUDE_REQUEST",
    "CONCLUDE_RESPONSE",
    "CONFIRMED_ERROR",
    "CONFIRMED_REQUEST",
    "CONFIRMED_RESPONSE",
    "INITIATE_ERROR",
    "INITIATE_REQUEST",
    "INITIATE_RESPONSE",
    "REJECT",
    "UNCONFIRMED",
    "Initiate",
    "MmsPdu",
    "is_mms_tag",
    "parse_mms",
]

(CONFIRMED_REQUEST, CONFIRMED_RESPONSE, CONFIRMED_ERROR, UNCONFIRMED, REJECT, CANCEL_REQUEST,
 CANCEL_RESPONSE, CANCEL_ERROR, INITIATE_REQUEST, INITIATE_RESPONSE, INITIATE_ERROR,
 CONCLUDE_REQUEST, CONCLUDE_RESPONSE, CONCLUDE_ERROR) = range(14)


def is_mms_tag(first: int) -> bool:
    """Whether an identifier octet can start an MMSpdu: context class [0]..[13]."""
    return first & 0xC0 == 0x80 and (first & 0x1F) <= 13


class Initiate:
    """Initiate-Request / -Response parameters (8.2.1)."""

    __slots__ = ("local_detail", "max_called", "max_calling", "nesting", "parameter_cbb",
                 "services", "version")

    def __init__(self) -> None:
        self.local_detail: int | None = None
        self.max_calling: int | None = None
        self.max_called: int | None = None
        self.nesting: int | None = None
        self.version: int | None = None
        self.parameter_cbb: list[str] | None = None
        self.services: list[str] | None = None


class MmsPdu:
    """One decoded MMS PDU."""

    __slots__ = ("error_class", "error_code", "error_description", "fields", "initiate",
                 "invoke_id", "kind", "reject_reason", "service", "service_code", "truncated",
                 "unknown_service")

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.invoke_id: int | None = None
        self.service: str | None = None
        self.service_code: int | None = None
        self.fields: MmsFields = {}
        self.error_class: str | None = None
        self.error_code: str | None = None
        self.error_description: str | None = None
        self.reject_reason: str | None = None
        self.initiate: Initiate | None = None
        self.truncated = False
        self.unknown_service = False

    @property
    def name(self) -> str:
        return PDU_NAMES.get(self.kind, str(self.kind))


def _bits(buf: bytes, tlv: ber.Tlv, names: tuple[str, ...]) -> list[str]:
    """A BIT STRING of options -> the names of the bits set (unnamed ones as ``bit<n>``)."""
    bits = ber.bit_string(buf, tlv[3], tlv[4], "mms")
    return [names[i] if i < len(names) else f"bit{i}" for i, b in enumerate(bits) if b == "1"]


def _initiate(buf: bytes, tlv: ber.Tlv) -> Initiate:
    init = Initiate()
    for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        tag = item[2]
        if item[0] != ber.CLASS_CONTEXT:
            continue
        if tag == 4 and item[1]:  # mmsInitRequestDetail / mmsInitResponseDetail
            for sub in ber.iter_tlvs(buf, item[3], item[4], "mms"):
                if sub[2] == 0:
                    init.version = ber.integer(buf, sub[3], sub[4], "mms")
                elif sub[2] == 1:
                    init.parameter_cbb = _bits(buf, sub, PARAMETER_CBB)
                elif sub[2] == 2:
                    init.services = _bits(buf, sub, SERVICES_SUPPORTED)
        elif tag <= 3:
            value = ber.integer(buf, item[3], item[4], "mms")
            if tag == 0:
                init.local_detail = value
            elif tag == 1:
                init.max_calling = value
            elif tag == 2:
                init.max_called = value
            else:
                init.nesting = value
    return init


def _service_error(buf: bytes, start: int, end: int, pdu: MmsPdu) -> None:
    """ServiceError (7.4.1): errorClass [0] (a CHOICE of INTEGER codes), additionalCode [1],
    additionalDescription [2]."""
    for item in ber.iter_tlvs(buf, start, end, "mms"):
        if item[0] != ber.CLASS_CONTEXT:
            continue
        if item[2] == 0:
            if not item[1]:
                raise Malformed("mms.bad_pdu", "errorClass should be constructed")
            choice = ber.read_tlv(buf, item[3], item[4], "mms")
            index = choice[2]
            code = ber.integer(buf, choice[3], choice[4], "mms")
            pdu.error_class = ERROR_CLASSES[index] if index < len(ERROR_CLASSES) else str(index)
            codes = ERROR_CODES.get(index, ())
            pdu.error_code = codes[code] if 0 <= code < len(codes) else str(code)
        elif item[2] == 2:
            pdu.error_description = text(buf, item[3], item[4])
    if pdu.error_class is None:
        raise Malformed("mms.bad_pdu", "ServiceError without errorClass")


def _confirmed(buf: bytes, tlv: ber.Tlv, pdu: MmsPdu, budget: Budget) -> None:
    members = ber.iter_tlvs(buf, tlv[3], tlv[4], "mms")
    first = next(members, None)
    if first is None or first[0] != ber.CLASS_UNIVERSAL or first[2] != 2:
        raise Malformed("mms.bad_pdu", f"{pdu.name} without invokeID")
    pdu.invoke_id = ber.unsigned(buf, first[3], first[4], "mms")
    for service in members:
        if service[0] == ber.CLASS_UNIVERSAL:
            continue  # listOfModifier (request only)
        if service[0] != ber.CLASS_CONTEXT or service[2] == 79:
            continue  # service-ext [79]
        code = service[2]
        pdu.service_code = code
        if code >= len(CONFIRMED_SERVICES):
            pdu.service = f"unknown-{code}"
            pdu.unknown_service = True
            return
        pdu.service = CONFIRMED_SERVICES[code]
        table = REQUESTS if pdu.kind == CONFIRMED_REQUEST else RESPONSES
        decoder = table.get(code)
        if decoder is not None:
            pdu.fields = decoder(buf, service, budget)
        return
    raise Malformed("mms.bad_pdu", f"{pdu.name} without a service")


def _unconfirmed(buf: bytes, tlv: ber.Tlv, pdu: MmsPdu, budget: Budget) -> None:
    service = next(ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"), None)
    if service is None or service[0] != ber.CLASS_CONTEXT:
        raise Malformed("mms.bad_pdu", "unconfirmed PDU without a service")
    code = service[2]
    pdu.service_code = code
    name = UNCONFIRMED_SERVICES.get(code)
    if name is None:
        pdu.service = f"unknown-{code}"
        pdu.unknown_service = True
        return
    pdu.service = name
    if code != 0:
        return
    # InformationReport: variableAccessSpecification, listOfAccessResult [0]
    members = list(ber.iter_tlvs(buf, service[3], service[4], "mms"))
    if len(members) < 2 or members[1][2] != 0 or not members[1][1]:
        raise Malformed("mms.bad_pdu", "informationReport without listOfAccessResult")
    spec = variable_access(buf, members[0], budget)
    results, values = access_results(buf, members[1][3], members[1][4], budget)
    fields: MmsFields = {"results": results, "values": values}
    if spec.list_name is not None:
        fields["variable_list"] = spec.list_name
    else:
        fields["variables"] = [format_name(d, i) for d, i in spec.names]
    pdu.fields = fields


def _reject(buf: bytes, tlv: ber.Tlv, pdu: MmsPdu) -> None:
    for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        if item[0] != ber.CLASS_CONTEXT:
            continue
        value = ber.integer(buf, item[3], item[4], "mms")
        if item[2] == 0:
            pdu.invoke_id = value
        elif item[2] in REJECT_REASONS:
            kind, problems = REJECT_REASONS[item[2]]
            pdu.reject_reason = f"{kind}.{problems.get(value, str(value))}"
    if pdu.reject_reason is None:
        raise Malformed("mms.bad_pdu", "reject PDU without a reason")


def parse_mms(buf: bytes, start: int = 0, end: int | None = None) -> MmsPdu:
    """The MMS PDU in ``buf[start:end]``."""
    end = len(buf) if end is None else end
    tlv = ber.read_tlv(buf, start, end, "mms")
    cls, constructed, kind, vstart, vend = tlv
    if cls != ber.CLASS_CONTEXT or kind > 13:
        raise Malformed("mms.bad_pdu", f"MMSpdu tag [{kind}] class {cls}")
    pdu = MmsPdu(kind)
    budget = Budget()
    if kind in (CONFIRMED_REQUEST, CONFIRMED_RESPONSE, UNCONFIRMED, REJECT, INITIATE_REQUEST,
                INITIATE_RESPONSE, CONFIRMED_ERROR, CANCEL_ERROR, INITIATE_ERROR,
                CONCLUDE_ERROR) and not constructed:
        raise Malformed("mms.bad_pdu", f"{pdu.name} should be constructed")
    if kind in (CONFIRMED_REQUEST, CONFIRMED_RESPONSE):
        _confirmed(buf, tlv, pdu, budget)
    elif kind == CONFIRMED_ERROR:
        for item in ber.iter_tlvs(buf, vstart, vend, "mms"):
            if item[0] == ber.CLASS_CONTEXT and item[2] == 0:
                pdu.invoke_id = ber.unsigned(buf, item[3], item[4], "mms")
            elif item[0] == ber.CLASS_CONTEXT and item[2] == 2:
                _service_error(buf, item[3], item[4], pdu)
        if pdu.invoke_id is None or pdu.error_class is None:
            raise Malformed("mms.bad_pdu", "confirmed-error without invokeID or serviceError")
    elif kind == UNCONFIRMED:
        _unconfirmed(buf, tlv, pdu, budget)
    elif kind == REJECT:
        _reject(buf, tlv, pdu)
    elif kind in (CANCEL_REQUEST, CANCEL_RESPONSE):
        if constructed:
            raise Malformed("mms.bad_pdu", f"{pdu.name} should be primitive")
        pdu.invoke_id = ber.unsigned(buf, vstart, vend, "mms")
    elif kind == CANCEL_ERROR:
        for item in ber.iter_tlvs(buf, vstart, vend, "mms"):
            if item[2] == 0:
                pdu.invoke_id = ber.unsigned(buf, item[3], item[4], "mms")
            elif item[2] == 1:
                _service_error(buf, item[3], item[4], pdu)
    elif kind in (INITIATE_REQUEST, INITIATE_RESPONSE):
        pdu.initiate = _initiate(buf, tlv)
    elif kind in (INITIATE_ERROR, CONCLUDE_ERROR):
        _service_error(buf, vstart, vend, pdu)
    elif vend != vstart:  # conclude request / response: NULL
        raise Malformed("mms.bad_pdu", f"{pdu.name} with {vend - vstart} content octets")
    pdu.truncated = budget.truncated
    return pdu

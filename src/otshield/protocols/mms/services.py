"""Argument and result details of MMS confirmed services (ISO 9506-2 sections 10-14 and 17-19,
journal services 20), each a function from the service element to event fields.

Services not listed keep their name only (their arguments are event, semaphore, type and
operator-station management, rarely seen on IEC 61850 networks). Tags are the
ConfirmedServiceRequest / -Response alternatives (7.1); ``IMPLICIT`` means the service element
is the argument itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from otshield.errors import Malformed
from otshield.protocols import ber
from otshield.protocols.mms.constants import (
    BASIC_OBJECT_CLASS,
    DATA_ACCESS_ERROR,
    VMD_LOGICAL_STATUS,
    VMD_PHYSICAL_STATUS,
)
from otshield.protocols.mms.data import (
    Budget,
    access_results,
    data_list,
    explicit,
    format_name,
    object_name,
    text,
    variable_access,
)
from otshield.protocols.mms.events import MmsData

__all__ = ["REQUESTS", "RESPONSES", "MmsFields", "ServiceDecoder", "control_fields"]


class MmsFields(TypedDict, total=False):
    """Service-specific fields of an :class:`~otshield.protocols.mms.events.MmsEvent`."""

    variables: list[str]
    domains: list[str]
    items: list[str]
    variable_list: str
    values: list[MmsData]
    results: list[str]
    control_object: str
    control_action: str
    ctl_val: MmsData
    object_class: str
    object_scope: str
    domain: str
    continue_after: str
    names: list[str]
    more_follows: bool
    vendor: str
    model: str
    revision: str
    vmd_logical_status: str
    vmd_physical_status: str
    program_invocation: str
    execution_argument: str
    file_name: str
    new_file_name: str
    frsm_id: int
    file_size: int
    data_bytes: int
    journal: str
    capabilities: list[str]
    number_matched: int
    number_deleted: int


ServiceDecoder = Callable[[bytes, ber.Tlv, Budget], MmsFields]

_CONTEXT = ber.CLASS_CONTEXT


def _children(buf: bytes, tlv: ber.Tlv) -> dict[int, ber.Tlv]:
    """Context-tagged members of a SEQUENCE by tag number (the first of each)."""
    if not tlv[1]:
        raise Malformed("mms.bad_pdu", f"service [{tlv[2]}] should be constructed")
    out: dict[int, ber.Tlv] = {}
    for sub in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"):
        if sub[0] == _CONTEXT and sub[2] not in out:
            out[sub[2]] = sub
    return out


def _str(buf: bytes, tlv: ber.Tlv) -> str:
    return text(buf, tlv[3], tlv[4])


def _int(buf: bytes, tlv: ber.Tlv) -> int:
    return ber.integer(buf, tlv[3], tlv[4], "mms")


def _bool(buf: bytes, tlv: ber.Tlv) -> bool:
    if tlv[4] - tlv[3] != 1:
        raise Malformed("mms.bad_pdu", f"BOOLEAN of {tlv[4] - tlv[3]} octets")
    return buf[tlv[3]] != 0


def _strings(buf: bytes, tlv: ber.Tlv, budget: Budget) -> list[str]:
    """SEQUENCE OF VisibleString / GraphicString (up to the name budget)."""
    out: list[str] = []
    pos, end = tlv[3], tlv[4]
    while pos < end:
        if not budget.take_name():
            break  # the rest is not walked: bounded work per PDU
        n = buf[pos + 1] if pos + 1 < end else 0x80
        if n < 0x80 and buf[pos] & 0x20 == 0 and pos + 2 + n <= end:
            # primitive string with a short length: the common case, read in place
            out.append(buf[pos + 2:pos + 2 + n].decode("utf-8", "backslashreplace"))
            pos += 2 + n
            continue
        item = next(ber.iter_tlvs(buf, pos, end, "mms"))
        out.append(_str(buf, item))
        pos = item[4]
    return out


def _file_name(buf: bytes, tlv: ber.Tlv) -> str:
    """FileName ::= SEQUENCE OF GraphicString: the parts joined by ``/``."""
    return "/".join(_str(buf, t) for t in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"))


def _name_of(buf: bytes, tlv: ber.Tlv) -> str:
    """An ObjectName wrapped in an explicit tag, formatted ``domain/item``."""
    return format_name(*object_name(buf, explicit(buf, tlv)))


def _set_names(fields: MmsFields, names: list[tuple[str | None, str]]) -> None:
    fields["variables"] = [format_name(d, i) for d, i in names]
    fields["domains"] = [d or "" for d, _ in names]
    fields["items"] = [i for _, i in names]


# -- requests ----------------------------------------------------------------------------------
def _get_name_list(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        cls_tlv = explicit(buf, ch[0])
        if cls_tlv[2] == 0:  # basicObjectClass
            code = _int(buf, cls_tlv)
            out["object_class"] = BASIC_OBJECT_CLASS.get(code, f"unknown-{code}")
        else:
            out["object_class"] = f"cs-{cls_tlv[2]}"
    if 1 in ch:
        scope = explicit(buf, ch[1])
        out["object_scope"] = ("vmd", "domain", "aa")[scope[2]] if scope[2] <= 2 else "unknown"
        if scope[2] == 1:
            out["domain"] = _str(buf, scope)
    if 2 in ch:
        out["continue_after"] = _str(buf, ch[2])
    return out


def _rename(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 1 in ch:
        out["variables"] = [_name_of(buf, ch[1])]
    if 2 in ch:
        out["names"] = [_str(buf, ch[2])]
    return out


def _read(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    if 1 not in ch:
        raise Malformed("mms.bad_pdu", "read request without variableAccessSpecification")
    spec = variable_access(buf, explicit(buf, ch[1]), budget)
    out: MmsFields = {}
    if spec.list_name is not None:
        out["variable_list"] = spec.list_name
    else:
        _set_names(out, spec.names)
    return out


def _write(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    if not tlv[1]:
        raise Malformed("mms.bad_pdu", "write request should be constructed")
    members = list(ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"))
    if len(members) < 2:
        raise Malformed("mms.bad_pdu", "write request without variables or data")
    spec = variable_access(buf, members[0], budget)
    data = members[1]
    if data[0] != _CONTEXT or data[2] != 0 or not data[1]:
        raise Malformed("mms.bad_pdu", "write request listOfData missing")
    out: MmsFields = {"values": data_list(buf, data[3], data[4], budget)}
    if spec.list_name is not None:
        out["variable_list"] = spec.list_name
    else:
        _set_names(out, spec.names)
    return out


def _object_name_request(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    # getVariableAccessAttributes: CHOICE { name [0] ObjectName, address [1] }
    inner = explicit(buf, tlv)
    if inner[2] == 0:
        return {"variables": [_name_of(buf, inner)]}
    return {}


def _define_named_variable(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    first = ber.read_tlv(buf, tlv[3], tlv[4], "mms") if tlv[1] else None
    if first is None:
        raise Malformed("mms.bad_pdu", "defineNamedVariable should be constructed")
    return {"variables": [format_name(*object_name(buf, first))]}


def _define_nvl(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    if not tlv[1]:
        raise Malformed("mms.bad_pdu", "defineNamedVariableList should be constructed")
    members = list(ber.iter_tlvs(buf, tlv[3], tlv[4], "mms"))
    if len(members) < 2:
        raise Malformed("mms.bad_pdu", "defineNamedVariableList without variables")
    out: MmsFields = {"variable_list": format_name(*object_name(buf, members[0]))}
    _set_names(out, variable_access(buf, members[1], budget).names)
    return out


def _get_nvl_attributes(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    return {"variable_list": format_name(*object_name(buf, explicit(buf, tlv)))}


def _delete_nvl(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 1 in ch:
        out["names"] = [format_name(*object_name(buf, t))
                        for t in ber.iter_tlvs(buf, ch[1][3], ch[1][4], "mms")
                        if budget.take_name()]
    if 2 in ch:
        out["domain"] = _str(buf, ch[2])
    return out


def _domain_identifier(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    return {"domain": _str(buf, tlv)}


def _domain_sequence(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    """initiateDownloadSequence, terminateDownloadSequence, request/load/store domain services:
    domainName [0] and, where present, capabilities [1] and a file name."""
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["domain"] = _str(buf, ch[0])
    if tlv[2] in (26, 32, 34) and 1 in ch:
        out["capabilities"] = _strings(buf, ch[1], budget)
    file_tag = {32: 4, 34: 4, 33: 1, 35: 1}.get(tlv[2])
    if file_tag is not None and file_tag in ch:
        out["file_name"] = _file_name(buf, ch[file_tag])
    return out


def _program_identifier(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    return {"program_invocation": _str(buf, tlv)}


def _program_sequence(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    """create/start/stop/resume/reset/kill: programInvocationName [0], start/resume also an
    executionArgument (simpleString [1]), create a list of domains [1]."""
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["program_invocation"] = _str(buf, ch[0])
    if 1 in ch:
        if tlv[2] == 38:
            out["names"] = _strings(buf, ch[1], budget)
        elif tlv[2] in (40, 42) and not ch[1][1]:
            out["execution_argument"] = _str(buf, ch[1])
    return out


def _obtain_file(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 1 in ch:
        out["file_name"] = _file_name(buf, ch[1])
    if 2 in ch:
        out["new_file_name"] = _file_name(buf, ch[2])
    return out


def _journal(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    if tlv[2] == 68:  # reportJournalStatus: the ObjectName itself
        return {"journal": format_name(*object_name(buf, explicit(buf, tlv)))}
    ch = _children(buf, tlv)
    return {"journal": _name_of(buf, ch[0])} if 0 in ch else {}


def _file_open(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    return {"file_name": _file_name(buf, ch[0])} if 0 in ch else {}


def _frsm(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    return {"frsm_id": _int(buf, tlv)}


def _file_rename(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["file_name"] = _file_name(buf, ch[0])
    if 1 in ch:
        out["new_file_name"] = _file_name(buf, ch[1])
    return out


def _file_delete(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    return {"file_name": _file_name(buf, tlv)}


def _file_directory(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["file_name"] = _file_name(buf, ch[0])
    if 1 in ch:
        out["continue_after"] = _file_name(buf, ch[1])
    return out


REQUESTS: dict[int, ServiceDecoder] = {
    1: _get_name_list, 3: _rename, 4: _read, 5: _write, 6: _object_name_request,
    7: _define_named_variable, 11: _define_nvl, 12: _get_nvl_attributes, 13: _delete_nvl,
    26: _domain_sequence, 27: _domain_identifier, 28: _domain_sequence,
    29: _domain_identifier, 32: _domain_sequence, 33: _domain_sequence,
    34: _domain_sequence, 35: _domain_sequence, 36: _domain_identifier,
    37: _domain_identifier, 38: _program_sequence, 39: _program_identifier,
    40: _program_sequence, 41: _program_sequence, 42: _program_sequence,
    43: _program_sequence, 44: _program_sequence, 45: _program_identifier, 46: _obtain_file,
    65: _journal, 66: _journal, 67: _journal, 68: _journal, 69: _journal, 70: _journal,
    72: _file_open, 73: _frsm, 74: _frsm, 75: _file_rename, 76: _file_delete,
    77: _file_directory,
}
"""Confirmed service tag -> request argument decoder."""


# -- responses ---------------------------------------------------------------------------------
def _status_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        code = _int(buf, ch[0])
        out["vmd_logical_status"] = VMD_LOGICAL_STATUS.get(code, f"unknown-{code}")
    if 1 in ch:
        code = _int(buf, ch[1])
        out["vmd_physical_status"] = VMD_PHYSICAL_STATUS.get(code, f"unknown-{code}")
    return out


def _name_list_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {"names": _strings(buf, ch[0], budget) if 0 in ch else [],
                      "more_follows": _bool(buf, ch[1]) if 1 in ch else True}
    return out


def _identify_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["vendor"] = _str(buf, ch[0])
    if 1 in ch:
        out["model"] = _str(buf, ch[1])
    if 2 in ch:
        out["revision"] = _str(buf, ch[2])
    return out


def _read_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    if 1 not in ch:
        raise Malformed("mms.bad_pdu", "read response without listOfAccessResult")
    results, values = access_results(buf, ch[1][3], ch[1][4], budget)
    return {"results": results, "values": values}


def _write_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    results: list[str] = []
    for item in ber.iter_tlvs(buf, tlv[3], tlv[4], "mms") if tlv[1] else ():
        if not budget.take_name():
            break
        if item[2] == 0:
            code = _int(buf, item)
            results.append(DATA_ACCESS_ERROR.get(code, f"unknown-{code}"))
        else:
            results.append("success")
    return {"results": results}


def _nvl_attributes_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 1 in ch:
        listing = (_CONTEXT, True, 0, ch[1][3], ch[1][4])  # same shape as listOfVariable [0]
        _set_names(out, variable_access(buf, listing, budget).names)
    return out


def _delete_nvl_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["number_matched"] = _int(buf, ch[0])
    if 1 in ch:
        out["number_deleted"] = _int(buf, ch[1])
    return out


def _segment_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    # downloadSegment / uploadSegment / fileRead: data [0] (or coded EXTERNAL), moreFollows [1]
    first = ber.read_tlv(buf, tlv[3], tlv[4], "mms") if tlv[1] and tlv[3] < tlv[4] else None
    ch = _children(buf, tlv)
    out: MmsFields = {"more_follows": _bool(buf, ch[1]) if 1 in ch else True}  # DEFAULT TRUE
    if first is not None:
        out["data_bytes"] = first[4] - first[3]
    return out


def _upload_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    return {"capabilities": _strings(buf, ch[1], budget)} if 1 in ch else {}


def _domain_attributes_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["capabilities"] = _strings(buf, ch[0], budget)
    if 4 in ch:
        out["names"] = _strings(buf, ch[4], budget)
    return out


def _file_open_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["frsm_id"] = _int(buf, ch[0])
    if 1 in ch:
        attrs = _children(buf, ch[1])
        if 0 in attrs:
            out["file_size"] = _int(buf, attrs[0])
    return out


def _file_directory_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    names: list[str] = []
    if 0 in ch:
        # listOfDirectoryEntry [0] (explicit in the 1990 module) SEQUENCE OF DirectoryEntry
        listing = ch[0]
        inner = (ber.read_tlv(buf, listing[3], listing[4], "mms")
                 if listing[3] < listing[4] else None)
        if inner is not None and inner[0] == ber.CLASS_UNIVERSAL and inner[2] == 16:
            first = ber.read_tlv(buf, inner[3], inner[4], "mms") if inner[3] < inner[4] else None
            if first is None or first[0] == ber.CLASS_UNIVERSAL:
                listing = inner  # the extra SEQUENCE OF wrapper
        for entry in ber.iter_tlvs(buf, listing[3], listing[4], "mms"):
            members = _children(buf, entry)
            if 0 in members and budget.take_name():
                names.append(_file_name(buf, members[0]))
    return {"names": names, "more_follows": _bool(buf, ch[1]) if 1 in ch else False}


def _capability_response(buf: bytes, tlv: ber.Tlv, budget: Budget) -> MmsFields:
    ch = _children(buf, tlv)
    out: MmsFields = {}
    if 0 in ch:
        out["capabilities"] = _strings(buf, ch[0], budget)
    if 1 in ch:
        out["more_follows"] = _bool(buf, ch[1])
    return out


RESPONSES: dict[int, ServiceDecoder] = {
    0: _status_response, 1: _name_list_response, 2: _identify_response, 4: _read_response,
    5: _write_response, 12: _nvl_attributes_response, 13: _delete_nvl_response,
    27: _segment_response, 29: _upload_response, 30: _segment_response,
    37: _domain_attributes_response, 71: _capability_response, 72: _file_open_response,
    73: _segment_response, 77: _file_directory_response,
}
"""Confirmed service tag -> response result decoder (others carry NULL or are not detailed)."""


_CONTROL_SUFFIXES = ("$Oper", "$SBOw", "$Cancel", "$SBO")


def control_fields(fields: MmsFields, write: bool) -> MmsFields:
    """IEC 61850-8-1 control model: a write (or, for ``$SBO`` select, a read) of a controllable
    object's ``$CO$<DO>$Oper`` / ``$SBOw`` / ``$Cancel`` attribute; any other write under the
    CO functional constraint (a whole control structure) is a control too, without an action."""
    for index, item in enumerate(fields.get("items") or ()):
        if "$CO$" not in item:
            continue
        domain = (fields.get("domains") or [""])[index]
        if write and not item.endswith(_CONTROL_SUFFIXES):
            return {"control_object": f"{domain}/{item}" if domain else item}
        for suffix in _CONTROL_SUFFIXES:
            if item.endswith(suffix) and (write or suffix == "$SBO"):
                obj = item[:-len(suffix)]
                out: MmsFields = {"control_object": f"{domain}/{obj}" if domain else obj,
                                  "control_action": suffix[1:]}
                values = fields.get("values") or []
                if index < len(values) and values[index].items:
                    ctl = values[index].items
                    if ctl:
                        out["ctl_val"] = ctl[0]
                return out
    return {}

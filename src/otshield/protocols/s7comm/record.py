"""Building the events of S7comm and S7comm-plus transactions from their decoded halves.

A transaction's event takes the addresses from the request and the values and results from the
response (for writes: the values from the request, the results from the response). Only the
fields that have a value are passed to the event struct: building a struct from a few keywords
is several times cheaper than from all of them, and this runs once per transaction.
"""

from __future__ import annotations

from otshield.events import CommonFields
from otshield.protocols.s7comm.constants import (
    BLOCK_TRANSFER_FUNCTIONS,
    CPU_MODES,
    ERROR_CLASSES,
    ERROR_CODES,
    FUNC_MODE_TRANSITION,
    FUNC_PLC_STOP,
    FUNC_READ_VAR,
    FUNC_SETUP_COMMUNICATION,
    FUNC_WRITE_VAR,
    FUNCTIONS,
    GROUP_BLOCK,
    GROUP_CPU,
    GROUP_CYCLIC,
    GROUP_DEFAULT_CLASS,
    GROUP_MODE_TRANSITION,
    GROUP_SECURITY,
    GROUP_TIME,
    GROUPS,
    PI_SERVICES,
    PLUS_FUNCTIONS,
    PLUS_OPCODE_NOTIFICATION,
    PLUS_OPCODES,
    PLUS_VERSIONS,
    RETURN_CODES,
    ROSCTR_NAMES,
    ROSCTR_USERDATA,
    SUB_READ_SZL,
    SUBFUNCTIONS,
    SZL_IDENTITY_LISTS,
    SZL_LISTS,
)
from otshield.protocols.s7comm.events import (
    S7commEvent,
    S7commPlusEvent,
    S7EventFields,
    S7Item,
    S7ItemFields,
)
from otshield.protocols.s7comm.pdu import MAX_ITEMS, MAX_LIST, S7Pdu, block_name
from otshield.protocols.s7comm.plus import PlusPdu

__all__ = ["plus_event", "s7_event", "s7_function"]

_EMPTY = S7Pdu(0, 0)
"""Stands for the missing half of a transaction: every attribute None."""


def s7_function(src: S7Pdu) -> tuple[str, str, int | None, str | None]:
    """(function name, function class, function code, what is unknown about it) of a
    transaction."""
    if src.rosctr == ROSCTR_USERDATA:
        if src.function == FUNC_MODE_TRANSITION:
            return "mode_transition", "diagnostics", None, None
        group, sub = src.group, src.subfunction
        subs = SUBFUNCTIONS.get(group if group is not None else -1)
        known = subs.get(sub if sub is not None else -1) if subs is not None else None
        if known is None:
            name = f"unknown_0x{sub or 0:02x}"
            return (name, GROUP_DEFAULT_CLASS.get(group or 0, "other"), sub,
                    f"userdata group 0x{group or 0:02x} subfunction 0x{sub or 0:02x}")
        name, cls = known
        if group == GROUP_CPU and sub == SUB_READ_SZL and src.szl_id is not None \
                and src.szl_id & 0xFF in SZL_IDENTITY_LISTS:
            cls = "identify"
        return name, cls, sub, None
    func = src.function
    if func is None:
        return "none", "other", None, None
    known_func = FUNCTIONS.get(func)
    if known_func is None:
        return f"unknown_0x{func:02x}", "other", func, None
    name, cls = known_func
    return name, cls, func, None


def s7_event(common: CommonFields, req: S7Pdu | None, resp: S7Pdu | None, *,
             answered: bool | None, unsolicited: bool = False
             ) -> tuple[S7commEvent, str | None]:
    """The event of a transaction (either half may be missing), and a description of its
    function when that is unknown (for ``s7comm.unknown_function``)."""
    src = req if req is not None else resp
    assert src is not None
    # the side missing from the transaction reads as an empty PDU (every attribute None)
    r = resp if resp is not None else _EMPTY
    q = req if req is not None else _EMPTY
    # the SZL id of a continuation answer is only in the joined response
    fsrc = r if src.rosctr == ROSCTR_USERDATA and r.szl_id is not None else src
    name, cls, code, unknown = s7_function(fsrc)
    kw: S7EventFields = {}
    if code is not None:
        kw["function_code"] = code
    group = src.group
    if group is not None:
        group_name = GROUPS.get(group)
        if group_name is not None:
            kw["group"] = group_name
        if group != GROUP_MODE_TRANSITION:
            kw["group_code"] = group
    if src.sequence is not None:
        kw["sequence"] = src.sequence
    if answered is not None:
        kw["answered"] = answered
    if unsolicited:
        kw["unsolicited"] = True
    if r.joined:
        kw["fragmented"] = True
    _errors(kw, src, resp)
    _items(kw, req, resp)
    func = src.function
    if src.rosctr != ROSCTR_USERDATA:
        if func == FUNC_SETUP_COMMUNICATION:
            _set_int(kw, "pdu_size", r.pdu_size if r.pdu_size is not None else q.pdu_size)
            _set_int(kw, "pdu_size_requested", q.pdu_size)
            _set_int(kw, "max_amq_calling", r.max_amq_calling if r.max_amq_calling
                     is not None else q.max_amq_calling)
            _set_int(kw, "max_amq_called", r.max_amq_called if r.max_amq_called
                     is not None else q.max_amq_called)
        elif func in BLOCK_TRANSFER_FUNCTIONS:
            _block_transfer(kw, q, r)
        elif src.pi_service is not None:
            kw["pi_service"] = src.pi_service
            if func == FUNC_PLC_STOP:
                kw["pi_action"] = "stop"
            else:
                known_pi = PI_SERVICES.get(src.pi_service)
                if known_pi is not None:
                    kw["pi_action"], cls = known_pi
            if src.pi_arguments is not None:
                kw["pi_arguments"] = src.pi_arguments
            if src.blocks is not None:
                kw["blocks"] = src.blocks
            if src.filesystem is not None:
                kw["filesystem"] = src.filesystem
            if src.password_present is not None:
                kw["password_present"] = src.password_present
    else:
        _userdata_fields(kw, src, q, r)
    if resp is not None and resp.rosctr == ROSCTR_USERDATA and resp.data_unit_ref \
            and not resp.last_data_unit:
        kw["more_data"] = True
    event = S7commEvent(
        **common, rosctr=ROSCTR_NAMES.get(src.rosctr) or str(src.rosctr),
        pdu_ref=src.pdu_ref, function=name, function_class=cls, **kw)
    return event, unknown


def _errors(kw: S7EventFields, src: S7Pdu, resp: S7Pdu | None) -> None:
    error_code: int | None = None
    if resp is not None:
        if resp.error_class:
            kw["error_class"] = (ERROR_CLASSES.get(resp.error_class)
                                 or f"0x{resp.error_class:02x}")
            error_code = (resp.error_class << 8) | (resp.error_code or 0)
        elif resp.ud_error:
            error_code = resp.ud_error
    if error_code is None and src.block_error:
        error_code = src.block_error
    if error_code is not None:
        kw["error_code"] = error_code
        error = ERROR_CODES.get(error_code)
        if error is not None:
            kw["error"] = error

def _block_transfer(kw: S7EventFields, q: S7Pdu, r: S7Pdu) -> None:
    block_type = q.block_type if q.block_type is not None else r.block_type
    block_number = q.block_number if q.block_number is not None else r.block_number
    block = block_name(block_type, block_number)
    if block is not None:
        kw["block"] = block
    if block_type is not None:
        kw["block_type"] = block_type
    if block_number is not None:
        kw["block_number"] = block_number
    if q.filesystem is not None:
        kw["filesystem"] = q.filesystem
    if q.filename is not None:
        kw["filename"] = q.filename
    _set_int(kw, "load_memory_length", q.load_memory_length)
    _set_int(kw, "mc7_length", q.mc7_length)
    _set_int(kw, "upload_id", r.upload_id if r.upload_id is not None else q.upload_id)
    _set_int(kw, "upload_length", r.upload_length)
    _set_int(kw, "data_length", r.data_length)
    if r.more_data is not None:
        kw["more_data"] = r.more_data

def _userdata_fields(kw: S7EventFields, src: S7Pdu, q: S7Pdu, r: S7Pdu) -> None:
    group = src.group
    if group == GROUP_CPU:
        szl_id = r.szl_id if r.szl_id is not None else q.szl_id
        if szl_id is not None:
            kw["szl_id"] = szl_id
            szl_list = SZL_LISTS.get(szl_id & 0xFF)
            if szl_list is not None:
                kw["szl_list"] = szl_list
        _set_int(kw, "szl_index", r.szl_index if r.szl_index is not None else q.szl_index)
        _set_int(kw, "szl_record_count", r.szl_record_count)
        if r.module_identification is not None:
            kw["module_identification"] = r.module_identification
        if r.identity:
            for key, text in r.identity.items():
                kw[key] = text  # type: ignore[literal-required]  # keys: COMPONENT_FIELDS
    elif group == GROUP_BLOCK:
        block_type = q.block_type if q.block_type is not None else r.block_type
        block_number = q.block_number if q.block_number is not None else r.block_number
        block = block_name(block_type, block_number)
        if block is not None:
            kw["block"] = block
        if block_type is not None:
            kw["block_type"] = block_type
        if block_number is not None:
            kw["block_number"] = block_number
        if q.filesystem is not None:
            kw["filesystem"] = q.filesystem
        if r.block_counts is not None:
            kw["block_counts"] = r.block_counts
        if r.block_numbers is not None:
            kw["block_numbers"] = r.block_numbers[:MAX_LIST]
            if len(r.block_numbers) > MAX_LIST:
                kw["block_numbers_truncated"] = True
        if r.block_info is not None:
            kw["block_info"] = r.block_info
    elif group == GROUP_TIME:
        plc_time = r.plc_time if r.plc_time is not None else q.plc_time
        if plc_time is not None:
            kw["plc_time"] = plc_time
    elif group == GROUP_SECURITY:
        if q.password_present is not None:
            kw["password_present"] = q.password_present
    elif group == GROUP_CYCLIC:
        if q.cycle_time is not None:
            kw["cycle_time"] = q.cycle_time
        _set_int(kw, "job_id", r.job_id if r.job_id is not None else q.job_id)
    elif src.cpu_mode is not None:
        kw["cpu_mode"] = CPU_MODES.get(src.cpu_mode) or f"0x{src.cpu_mode:02x}"
        kw["cpu_mode_code"] = src.cpu_mode

def _items(kw: S7EventFields, req: S7Pdu | None, resp: S7Pdu | None) -> None:
    """Addresses from the request, values and results from the response (or, for writes,
    the values from the request and only the results from the response)."""
    specs = req.items if req is not None else None
    if specs is None and resp is not None:
        specs = resp.items
    src = req if req is not None else resp
    assert src is not None
    count = req.item_count if req is not None and req.item_count is not None else (
        resp.item_count if resp is not None else None)
    if count is not None:
        kw["item_count"] = count
        if count > MAX_ITEMS:
            kw["items_truncated"] = True
    write = src.rosctr != ROSCTR_USERDATA and src.function == FUNC_WRITE_VAR
    read = src.rosctr != ROSCTR_USERDATA and src.function == FUNC_READ_VAR
    values = (req.values if req is not None else None) if write else (
        resp.values if resp is not None else None)
    if values is None and not read and not write and req is not None:
        values = req.values
    codes = resp.return_codes if resp is not None else None
    if specs is None and values is None and codes is None:
        return
    n = max(len(specs or ()), len(values or ()), len(codes or ()))
    items: list[S7Item] = []
    for i in range(min(n, MAX_ITEMS)):
        fields: S7ItemFields = {**specs[i]} if specs is not None and i < len(specs) else {}
        ret: int | None = None
        if values is not None and i < len(values):
            v = values[i]
            if not write:
                ret = v.return_code
            if v.value is not None:
                fields["value"] = v.value.hex()
                fields["value_length"] = v.length
                if v.length > len(v.value):
                    fields["value_truncated"] = True
        if codes is not None and i < len(codes):
            ret = codes[i]
        if ret is not None:
            fields["return_code"] = ret
            fields["status"] = RETURN_CODES.get(ret) or f"0x{ret:02x}"
        items.append(S7Item(**fields))
    kw["items"] = items


def _set_int(kw: S7EventFields, key: str, value: int | None) -> None:
    """Set an integer field only when it has a value."""
    if value is not None:
        kw[key] = value  # type: ignore[literal-required]


def plus_event(common: CommonFields, req: PlusPdu | None, resp: PlusPdu | None, *,
               answered: bool | None, fragments: int, unsolicited: bool = False
               ) -> tuple[S7commPlusEvent, str | None]:
    """The event of an S7comm-plus transaction, notification or system event, and a
    description of its function code when that is unknown."""
    src = req if req is not None else resp
    assert src is not None
    unknown = None
    if src.opcode is None:
        name, cls, code = "system_event", "other", None
    elif src.opcode == PLUS_OPCODE_NOTIFICATION:
        name, cls, code = "notification", "read", None
    else:
        code = src.function_code
        known = PLUS_FUNCTIONS.get(code if code is not None else -1)
        if known is None:
            unknown = f"function code 0x{code or 0:04x}"
            name, cls = f"unknown_0x{code or 0:04x}", "other"
        else:
            name, cls = known
    strings = dict(req.strings) if req is not None else {}
    if resp is not None:
        strings.update(resp.strings)
    server = strings.get("server_version")
    order = firmware = None
    if server is not None:
        parts = [p.strip() for p in server.split(";")]
        if len(parts) >= 3:
            order = parts[1] or None
            firmware = parts[2] if len(parts[2]) > 1 and parts[2][0] == "V" else None
    event = S7commPlusEvent(
        **common,
        protocol_version=PLUS_VERSIONS.get(src.version, f"0x{src.version:02x}"),
        opcode=PLUS_OPCODES.get(src.opcode, f"0x{src.opcode:02x}")
        if src.opcode is not None else "system_event",
        function=name, function_class=cls, function_code=code, sequence=src.sequence,
        session_id=req.session_id if req is not None else None,
        transport_flags=src.transport_flags,
        integrity=src.integrity, answered=answered, unsolicited=unsolicited,
        return_value=resp.return_value if resp is not None else None,
        new_session_id=resp.new_session_id if resp is not None else None,
        subscription_id=src.subscription_id,
        fragments=fragments if fragments > 1 else None,
        client_user=strings.get("client_user"),
        client_application=strings.get("client_application"),
        client_host=strings.get("client_host"),
        client_comment=strings.get("client_comment"),
        server_version=server, order_number=order, firmware_version=firmware,
        message=src.message,
    )
    return event, unknown

"""What the baseline reads from each kind of event: tables, not if-chains.

- :data:`FUNCTION_FIELDS`: per event type (``event.dataset``), the attribute paths that make the
  function label (``3``, ``90/40``) and its readable name (``READ_HOLDING_REGISTERS``). Paths may
  go into nested records (``umas.code``) and lists (``objects.0.group``); a missing step gives
  nothing, so optional sub-levels (Modbus FC 8 sub-function, UMAS code) are left out when absent.
- :data:`POLL_SUBJECT`: extra fields that split a polling key where one function serves several
  poll loops (a Modbus master reading block 0 and block 100 every second would otherwise show
  intervals of 10 ms and 990 ms alternately).
- :data:`WRITE_EXTRACTORS`: per event type, a function giving the (area, first, last) items an
  event writes: Modbus coils/registers, DNP3 object group and index range, S7 area/DB and byte
  offsets, IEC 104 information object addresses, BACnet object instances, CIP tags/attributes,
  MMS variables, OPC UA nodes. ``first``/``last`` are None for named items (tags, variables).
- :data:`ORIENT_FIELD`: event types whose source is the sender, not the requester, and the
  boolean field that says the sender is the client (DNP3 ``from_master``).

Modbus addresses are 0-based protocol addresses (Modbus Application Protocol V1.1b3, 4.4), not
the 1-based "40001" register numbers of some HMIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from otshield.events import Event

__all__ = [
    "FUNCTION_FIELDS",
    "IT_PROTOCOLS",
    "ORIENT_FIELD",
    "POLL_SUBJECT",
    "QUIET_PROTOCOLS",
    "SKIP_DATASETS",
    "WRITE_CLASSES",
    "WRITE_EXTRACTORS",
    "Getter",
    "WriteItem",
    "compile_path",
]

Getter = Callable[[object], Any]
WriteItem = tuple[str, int | None, int | None]
"""(area, first, last): what one event wrote; first/last None for a named item."""

FUNCTION_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # dataset: (code paths, name paths)
    "modbus": (("function_code", "diagnostic.subfunction", "mei.type", "umas.code"),
               ("function", "diagnostic.name", "mei.name", "umas.function")),
    "dnp3": (("function_code",), ("function",)),
    "dnp3_link": (("function_code",), ("function",)),
    "s7comm": (("group_code", "function_code"), ("group", "function")),
    "s7commplus": (("opcode", "function_code"), ("function",)),
    "enip": (("command",), ("command_name",)),
    "cip": (("service", "class_id"), ("service_name", "class_name")),
    "iec104": (("type_id", "cause"), ("type_name", "cause_name")),
    "iec104_apci": (("function",), ("function",)),
    "bacnet": (("pdu_type", "service_choice"), ("service",)),
    "bacnet_network": (("bvlc_function", "message_type"), ("bvlc_function", "message")),
    "mms": (("pdu", "service"), ("pdu", "service_name")),
    "opcua": (("kind", "request_type_id"), ("kind", "service")),
    "mqtt": (("packet_type",), ("packet_type",)),
    "goose_mgmt": (("service",), ("service",)),
    "profinet_dcp": (("service", "service_type"), ("service", "service_type")),
    "pnio_cm": (("opnum",), ("operation",)),
    "ethercat": (("command",), ("command",)),
    "powerlink": (("message_type", "service", "nmt_command"),
                  ("message_type", "service", "nmt_command")),
    "fins": (("command_code",), ("command_name",)),
    "ads": (("command",), ("command_name",)),
    "ads_discovery": (("service",), ("service_name",)),
    "hartip": (("message_id", "command"), ("message_name", "command_name")),
    "c37118": (("frame_type", "command"), ("frame_type", "command_name")),
    # protocols identified by signature: the message type the decoder named
    "bsap": (("message",), ("message",)),
    "c1222": (("message",), ("message",)),
    "cnip": (("message",), ("message",)),
    "dlms": (("message",), ("message",)),
    "fox": (("message",), ("message",)),
    "genisys": (("message",), ("message",)),
    "melsec": (("message",), ("message",)),
    "rtps": (("message",), ("message",)),
    "sbus": (("message",), ("message",)),
}
"""Event type -> (paths joined with ``/`` into the function code, paths giving its name)."""

POLL_SUBJECT: dict[str, tuple[str, ...]] = {
    "modbus": ("unit_id", "address"),
    "dnp3": ("objects.0.group", "objects.0.variation"),
    "iec104": ("common_address",),
    "bacnet": ("object_type", "object_instance"),
    "cip": ("symbol", "instance"),
}
"""Event type -> fields added to the polling key after the function."""

ORIENT_FIELD: dict[str, str] = {"dnp3": "from_master", "dnp3_link": "from_master"}
"""Event types whose source is the sender of the message: this field is True when the sender
is the client (master)."""

WRITE_CLASSES = frozenset({"write", "control", "config"})
"""Function classes whose events may write values (the extractors decide what exactly)."""

SKIP_DATASETS = frozenset({"alert", "anomaly", "asset", "identity_changed"})
"""Event types that carry nothing for the baseline: detection output, decoder anomalies and
inventory change events (the baseline keeps its own notion of assets)."""

IT_PROTOCOLS = frozenset({"dns", "http", "tls", "ssh", "smb", "rdp", "dhcp", "ntp", "snmp",
                          "telnet", "ftp", "netbios"})
"""Decoded protocols that are not industrial (every other decoder is)."""

QUIET_PROTOCOLS = frozenset({"dns", "ntp", "dhcp", "netbios", "arp"})
"""Infrastructure protocols whose first use by an asset is worth a low alert only."""


def compile_path(path: str) -> Getter:
    """A getter for ``a.b.0.c``: attributes, and list/tuple indexes for numeric steps; None
    as soon as a step is missing."""
    steps = tuple(int(s) if s.isdigit() else s for s in path.split("."))
    if len(steps) == 1 and isinstance(steps[0], str):
        name = steps[0]
        return lambda obj: getattr(obj, name, None)

    def get(obj: object) -> Any:
        cur: Any = obj
        for step in steps:
            if cur is None:
                return None
            if isinstance(step, int):
                cur = cur[step] if isinstance(cur, (list, tuple)) and len(cur) > step else None
            else:
                cur = getattr(cur, step, None)
        return cur

    return get


# -- what a request writes ----------------------------------------------------------------------
_MODBUS_COILS = frozenset({5, 15})
_MODBUS_REGISTERS = frozenset({6, 16, 22})


def _modbus(e: Any) -> Iterator[WriteItem]:
    fc = e.function_code
    unit = e.unit_id
    if fc in _MODBUS_COILS or fc in _MODBUS_REGISTERS:
        if e.address is None:
            return
        table = "coils" if fc in _MODBUS_COILS else "holding registers"
        qty = e.quantity if fc in (15, 16) and e.quantity else 1
        yield f"unit {unit} {table}", e.address, e.address + qty - 1
    elif fc == 23 and e.write_address is not None:
        qty = e.write_quantity or 1
        yield f"unit {unit} holding registers", e.write_address, e.write_address + qty - 1
    elif fc == 21 and e.file_records:
        for rec in e.file_records:
            yield f"unit {unit} file {rec.file}", rec.record, rec.record + max(rec.length, 1) - 1


_DNP3_WRITES = frozenset({2, 3, 4, 5, 6})
"""WRITE, SELECT, OPERATE, DIRECT_OPERATE, DIRECT_OPERATE_NR (IEEE 1815-2012 4.4.2-4.4.5)."""


def _dnp3(e: Any) -> Iterator[WriteItem]:
    if not e.from_master or e.function_code not in _DNP3_WRITES:
        return
    for obj in e.objects:
        area = f"g{obj.group}"
        if obj.start is not None and obj.stop is not None:
            yield area, obj.start, obj.stop
        elif obj.points:
            for point in obj.points:
                yield area, point.index, point.index
        else:
            yield area, None, None


_S7_SIZES = {"BIT": 1, "BYTE": 1, "CHAR": 1, "WORD": 2, "INT": 2, "DWORD": 4, "DINT": 4,
             "REAL": 4, "COUNTER": 2, "TIMER": 2, "DATE": 2, "TOD": 4, "TIME": 4}
"""Bytes per element of the S7ANY transport sizes, to turn a count into a byte range."""


def _s7comm(e: Any) -> Iterator[WriteItem]:
    if e.function != "write_var" or not e.items:
        return
    for item in e.items:
        if item.byte_address is None:
            yield (item.area or item.syntax or "?"), None, None
            continue
        area = f"DB{item.db}" if item.area in ("DB", "DI") and item.db is not None else \
            (item.area or "?")
        length = item.value_length or (item.count or 1) * _S7_SIZES.get(
            item.transport_size or "BYTE", 1)
        yield area, item.byte_address, item.byte_address + max(length, 1) - 1


_IEC104_SYSTEM = frozenset(range(100, 108))
"""Interrogation, counter interrogation, read, clock sync, test, reset process, delay: system
commands that address no process object (IEC 60870-5-101 7.2.1.1)."""


def _iec104(e: Any) -> Iterator[WriteItem]:
    if e.type_id in _IEC104_SYSTEM or e.type_id < 45:
        return
    area = f"CA {e.common_address}"
    for obj in e.objects:
        yield area, obj.ioa, obj.ioa


_BACNET_WRITES = frozenset({"writeProperty", "writePropertyMultiple", "addListElement",
                            "removeListElement", "writeGroup"})


def _bacnet(e: Any) -> Iterator[WriteItem]:
    if e.service not in _BACNET_WRITES:
        return
    if e.properties:
        for prop in e.properties:
            if prop.object_type is not None:
                yield (f"{prop.object_type} {prop.property}", prop.object_instance,
                       prop.object_instance)
    elif e.object_type is not None:
        yield f"{e.object_type} {e.property or ''}".strip(), e.object_instance, \
            e.object_instance


def _cip(e: Any) -> Iterator[WriteItem]:
    if e.function_class != "write" or e.embedded_services:
        return
    if e.symbol:
        yield f"tag {e.symbol}", None, None
    elif e.class_id is not None:
        where = f"class 0x{e.class_id:02x} instance {e.instance if e.instance is not None else '*'}"
        yield where, e.attribute, e.attribute


def _mms(e: Any) -> Iterator[WriteItem]:
    if e.service_name != "write":
        return
    for var in e.variables or ():
        yield f"var {var}", None, None
    if e.variable_list:
        yield f"list {e.variable_list}", None, None


def _opcua(e: Any) -> Iterator[WriteItem]:
    for item in e.writes or ():
        yield f"node {item.node_id} {item.attribute}", None, None


WRITE_EXTRACTORS: dict[str, Callable[[Event], Iterator[WriteItem]]] = {
    "modbus": _modbus,
    "dnp3": _dnp3,
    "s7comm": _s7comm,
    "iec104": _iec104,
    "bacnet": _bacnet,
    "cip": _cip,
    "mms": _mms,
    "opcua": _opcua,
}
"""Event type -> what its write-class requests wrote."""

"""Service parameters of BACnet requests and acknowledgements (clauses 13-17, 21 ASN.1).

Decoded: Who-Is / I-Am (16.10, 16.9), Who-Has / I-Have (16.9), ReadProperty (15.5),
WriteProperty (15.9), ReadPropertyMultiple (15.7), WritePropertyMultiple (15.10),
SubscribeCOV and SubscribeCOVProperty (13.14, 13.15), COV notifications (13.6, 13.7),
event notifications (13.8, 13.9, basic fields), AcknowledgeAlarm (13.5), ReinitializeDevice
(16.4, the password only as "present"), DeviceCommunicationControl (16.1), AtomicReadFile and
AtomicWriteFile (14.1, 14.2: position and size, never the data), TimeSynchronization and
UTCTimeSynchronization (16.7, 16.8), CreateObject / DeleteObject (15.3, 15.4), ReadRange
(15.8), Confirmed/UnconfirmedPrivateTransfer (16.2, 16.3: vendor and service number), and the
Error PDU's error class and code (21, Error and the Error-type wrappers). Other services are
named by the session and not decoded.

Every decoder fills a :class:`Detail` in place, so that what was decoded before a malformed
element is kept; it raises only ``Malformed('bacnet.bad_tag', ...)``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from otshield.errors import Malformed
from otshield.protocols.bacnet.constants import (
    DCC_STATES,
    ERROR_CLASSES,
    ERROR_CODES,
    EVENT_STATES,
    EVENT_TYPES,
    NOTIFY_TYPES,
    PROPERTIES,
    REINIT_STATES,
    SEGMENTATION,
)
from otshield.protocols.bacnet.events import BacnetProperty
from otshield.protocols.bacnet.tags import TagReader, Value, object_type_name

__all__ = [
    "ACK_DECODERS",
    "CONFIRMED_DECODERS",
    "MAX_PROPERTIES",
    "UNCONFIRMED_DECODERS",
    "Decoder",
    "Detail",
    "decode_error",
    "property_name",
]

_I = struct.Struct("!I")

MAX_PROPERTIES = 64
"""Property references kept of one ReadPropertyMultiple / WritePropertyMultiple."""


def property_name(code: int) -> str:
    """Standard name of a property identifier, or its number (proprietary properties)."""
    return PROPERTIES.get(code) or str(code)


def _name(table: dict[int, str], code: int) -> str:
    return table.get(code) or str(code)


class Detail:
    """Service fields decoded from one side of a transaction. Unset fields read as None from
    the class; the instance dictionary holds exactly what was decoded (cheap to create and to
    merge, which matters on the packet path)."""

    array_index: int | None = None
    cancel: bool | None = None
    device_instance: int | None = None
    duration: int | None = None
    end_of_file: bool | None = None
    event_type: str | None = None
    file_access: str | None = None
    file_count: int | None = None
    file_start: int | None = None
    high_limit: int | None = None
    issue_confirmed: bool | None = None
    item_count: int | None = None
    lifetime: int | None = None
    low_limit: int | None = None
    max_apdu: int | None = None
    max_apdu_accepted: int | None = None
    max_segments_accepted: int | None = None
    notification_class: int | None = None
    notify_type: str | None = None
    object_instance: int | None = None
    object_name: str | None = None
    object_type: str | None = None
    password_present: bool | None = None
    priority: int | None = None
    private_service: int | None = None
    process_id: int | None = None
    properties: list[BacnetProperty] | None = None
    properties_truncated: bool | None = None
    property: str | None = None
    range: str | None = None
    segmentation: str | None = None
    state: str | None = None
    time: str | None = None
    to_state: str | None = None
    values: list[Value] | None = None
    values_truncated: bool | None = None
    vendor_id: int | None = None

    def fields(self) -> dict[str, object]:
        """The fields that were decoded (not None), by event attribute name."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def set_object(self, raw: int) -> None:
        self.object_type = object_type_name(raw >> 22)
        self.object_instance = raw & 0x3FFFFF

    def add_property(self, prop: BacnetProperty) -> None:
        props = self.properties
        if props is None:
            props = self.properties = []
        if len(props) < MAX_PROPERTIES:
            props.append(prop)
        else:
            self.properties_truncated = True


Decoder = Callable[[TagReader, Detail], None]


def _values(r: TagReader, number: int) -> tuple[list[Value], bool | None]:
    values, truncated = r.values(number)
    return values, (True if truncated else None)


# -- unconfirmed services -------------------------------------------------------------------
def _who_is(r: TagReader, d: Detail) -> None:
    if r.is_context(0):
        d.low_limit = r.context_unsigned(0)
        d.high_limit = r.context_unsigned(1)


def _i_am(r: TagReader, d: Detail) -> None:
    device = r.app_object()
    d.device_instance = device & 0x3FFFFF
    d.max_apdu = r.app_unsigned()
    d.segmentation = _name(SEGMENTATION, r.app_unsigned(9))
    d.vendor_id = r.app_unsigned()


def _who_has(r: TagReader, d: Detail) -> None:
    if r.is_context(0):
        d.low_limit = r.context_unsigned(0)
        d.high_limit = r.context_unsigned(1)
    if r.is_context(2):
        d.set_object(r.context_object(2))
    else:
        d.object_name = r.context_string(3)


def _i_have(r: TagReader, d: Detail) -> None:
    d.device_instance = r.app_object() & 0x3FFFFF
    d.set_object(r.app_object())
    name = r.application(7)
    assert isinstance(name, str)
    d.object_name = name


def _time_sync(r: TagReader, d: Detail) -> None:
    date = r.application(10)
    time = r.application(11)
    d.time = f"{date} {time}"


def _private(r: TagReader, d: Detail) -> None:
    d.vendor_id = r.context_unsigned(0)
    d.private_service = r.context_unsigned(1)
    if r.is_opening(2):
        r.skip()


def _property_values(r: TagReader, d: Detail, number: int, obj: int | None) -> None:
    """A SEQUENCE OF BACnetPropertyValue inside constructed element ``number``."""
    r.open(number)
    otype = None if obj is None else object_type_name(obj >> 22)
    oinst = None if obj is None else obj & 0x3FFFFF
    while not r.is_closing(number):
        prop = property_name(r.context_unsigned(0))
        index = r.optional_unsigned(1)
        values, truncated = _values(r, 2)
        priority = r.optional_unsigned(3)
        d.add_property(BacnetProperty(object_type=otype, object_instance=oinst, property=prop,
                                      array_index=index, values=values,
                                      values_truncated=bool(truncated), priority=priority))
    r.close(number)


def _cov_notification(r: TagReader, d: Detail) -> None:
    d.process_id = r.context_unsigned(0)
    d.device_instance = r.context_object(1) & 0x3FFFFF
    obj = r.context_object(2)
    d.set_object(obj)
    d.lifetime = r.context_unsigned(3)
    _property_values(r, d, 4, obj)


def _timestamp(r: TagReader, number: int) -> None:
    r.open(number)
    r.skip()  # BACnetTimeStamp: a CHOICE of time, sequence number or date-time
    r.close(number)


def _event_notification(r: TagReader, d: Detail) -> None:
    d.process_id = r.context_unsigned(0)
    d.device_instance = r.context_object(1) & 0x3FFFFF
    d.set_object(r.context_object(2))
    _timestamp(r, 3)
    d.notification_class = r.context_unsigned(4)
    d.priority = r.context_unsigned(5)
    d.event_type = _name(EVENT_TYPES, r.context_unsigned(6))
    if r.is_context(7):
        r.skip()  # message text
    d.notify_type = _name(NOTIFY_TYPES, r.context_unsigned(8))
    if r.is_context(9):
        r.skip()  # ack-required
    if r.is_context(10):
        r.skip()  # from-state
    d.to_state = _name(EVENT_STATES, r.context_unsigned(11))
    if r.is_opening(12):
        r.skip()  # event values


UNCONFIRMED_DECODERS: dict[int, Decoder] = {
    0: _i_am,
    1: _i_have,
    2: _cov_notification,
    3: _event_notification,
    4: _private,
    6: _time_sync,
    7: _who_has,
    8: _who_is,
    9: _time_sync,
}
"""Unconfirmed service choice -> parameter decoder."""


# -- confirmed services ---------------------------------------------------------------------
def _object_property(r: TagReader, d: Detail) -> None:
    buf, pos = r.buf, r.pos
    # fast path for the usual encoding: 0C <object id> 19/1A <property of 1-2 octets>
    if pos + 7 <= r.end and buf[pos] == 0x0C and 0x19 <= buf[pos + 5] <= 0x1A:
        stop = pos + 6 + buf[pos + 5] - 0x18
        if stop <= r.end:
            d.set_object(_I.unpack_from(buf, pos + 1)[0])
            d.property = property_name(int.from_bytes(buf[pos + 6:stop], "big"))
            r.pos = stop
            d.array_index = r.optional_unsigned(2)
            return
    d.set_object(r.context_object(0))
    d.property = property_name(r.context_unsigned(1))
    d.array_index = r.optional_unsigned(2)


def _read_property(r: TagReader, d: Detail) -> None:
    _object_property(r, d)


def _read_property_ack(r: TagReader, d: Detail) -> None:
    _object_property(r, d)
    d.values, d.values_truncated = _values(r, 3)


def _write_property(r: TagReader, d: Detail) -> None:
    _object_property(r, d)
    d.values, d.values_truncated = _values(r, 3)
    d.priority = r.optional_unsigned(4)


def _rpm(r: TagReader, d: Detail) -> None:
    while not r.at_end():
        obj = r.context_object(0)
        otype, oinst = object_type_name(obj >> 22), obj & 0x3FFFFF
        r.open(1)
        while not r.is_closing(1):
            prop = property_name(r.context_unsigned(0))
            index = r.optional_unsigned(1)
            d.add_property(BacnetProperty(object_type=otype, object_instance=oinst,
                                          property=prop, array_index=index))
        r.close(1)


def _error_pair(r: TagReader) -> tuple[str, str]:
    cls = r.app_unsigned(9)
    code = r.app_unsigned(9)
    return _name(ERROR_CLASSES, cls), _name(ERROR_CODES, code)


def _rpm_ack(r: TagReader, d: Detail) -> None:
    while not r.at_end():
        obj = r.context_object(0)
        otype, oinst = object_type_name(obj >> 22), obj & 0x3FFFFF
        r.open(1)
        while not r.is_closing(1):
            prop = property_name(r.context_unsigned(2))
            index = r.optional_unsigned(3)
            if r.is_opening(4):
                values, truncated = r.values(4)
                d.add_property(BacnetProperty(object_type=otype, object_instance=oinst,
                                              property=prop, array_index=index, values=values,
                                              values_truncated=truncated))
            else:
                r.open(5)
                ecls, ecode = _error_pair(r)
                r.close(5)
                d.add_property(BacnetProperty(object_type=otype, object_instance=oinst,
                                              property=prop, array_index=index,
                                              error_class=ecls, error_code=ecode))
        r.close(1)


def _wpm(r: TagReader, d: Detail) -> None:
    while not r.at_end():
        obj = r.context_object(0)
        _property_values(r, d, 1, obj)


def _subscribe_cov(r: TagReader, d: Detail) -> None:
    d.process_id = r.context_unsigned(0)
    d.set_object(r.context_object(1))
    if r.is_context(2):
        d.issue_confirmed = r.context_boolean(2)
    d.lifetime = r.optional_unsigned(3)
    d.cancel = d.issue_confirmed is None and d.lifetime is None


def _subscribe_cov_property(r: TagReader, d: Detail) -> None:
    d.process_id = r.context_unsigned(0)
    d.set_object(r.context_object(1))
    if r.is_context(2):
        d.issue_confirmed = r.context_boolean(2)
    d.lifetime = r.optional_unsigned(3)
    d.cancel = d.issue_confirmed is None and d.lifetime is None
    r.open(4)
    d.property = property_name(r.context_unsigned(0))
    d.array_index = r.optional_unsigned(1)
    r.close(4)
    if r.is_context(5):
        r.skip()  # COV increment


def _acknowledge_alarm(r: TagReader, d: Detail) -> None:
    d.process_id = r.context_unsigned(0)
    d.set_object(r.context_object(1))
    d.state = _name(EVENT_STATES, r.context_unsigned(2))
    _timestamp(r, 3)
    d.object_name = r.context_string(4)  # acknowledgment source
    _timestamp(r, 5)


def _reinitialize(r: TagReader, d: Detail) -> None:
    d.state = _name(REINIT_STATES, r.context_unsigned(0))
    d.password_present = r.is_context(1)
    if d.password_present:
        r.skip()  # the password itself is never kept


def _dcc(r: TagReader, d: Detail) -> None:
    d.duration = r.optional_unsigned(0)
    d.state = _name(DCC_STATES, r.context_unsigned(1))
    d.password_present = r.is_context(2)
    if d.password_present:
        r.skip()


def _octets(r: TagReader) -> int:
    """Consume an application Octet String; its length."""
    r.peek()
    if r.context or r.number != 6:
        raise Malformed("bacnet.bad_tag", "octet string expected")
    r.pos = r.stop
    return r.stop - r.start


def _signed(r: TagReader) -> int:
    value = r.application(3)
    assert isinstance(value, int)
    return value


def _atomic_read(r: TagReader, d: Detail) -> None:
    d.set_object(r.app_object())
    if r.is_opening(0):
        d.file_access = "stream"
        r.open(0)
    else:
        d.file_access = "record"
        r.open(1)
    d.file_start = _signed(r)
    d.file_count = r.app_unsigned()
    r.close(0 if d.file_access == "stream" else 1)


def _file_data(r: TagReader, d: Detail) -> None:
    """The stream ([0]: start, octets) or record ([1]: start, count, records) access of an
    AtomicReadFile-ACK or AtomicWriteFile request (clauses 14.1, 14.2): sizes, never the data."""
    if r.is_opening(0):
        d.file_access = "stream"
        r.open(0)
        d.file_start = _signed(r)
        d.file_count = _octets(r)
        r.close(0)
    else:
        d.file_access = "record"
        r.open(1)
        d.file_start = _signed(r)
        d.file_count = r.app_unsigned()
        while not r.is_closing(1):
            _octets(r)
        r.close(1)


def _atomic_read_ack(r: TagReader, d: Detail) -> None:
    eof = r.application(1)
    d.end_of_file = bool(eof)
    _file_data(r, d)


def _atomic_write(r: TagReader, d: Detail) -> None:
    d.set_object(r.app_object())
    _file_data(r, d)


def _atomic_write_ack(r: TagReader, d: Detail) -> None:
    if r.is_context(0):
        d.file_access = "stream"
        d.file_start = r.context_signed(0)
    else:
        d.file_access = "record"
        d.file_start = r.context_signed(1)


def _create_object(r: TagReader, d: Detail) -> None:
    r.open(0)
    if r.is_context(0):
        d.object_type = object_type_name(r.context_unsigned(0))
    else:
        d.set_object(r.context_object(1))
    r.close(0)
    if r.is_opening(1):
        _property_values(r, d, 1, None)


def _object_only(r: TagReader, d: Detail) -> None:
    d.set_object(r.app_object())


def _read_range(r: TagReader, d: Detail) -> None:
    _object_property(r, d)
    d.range = "all"
    for number, kind in ((3, "position"), (6, "sequence"), (7, "time")):
        if r.is_opening(number):
            d.range = kind
            r.skip()
            break


def _read_range_ack(r: TagReader, d: Detail) -> None:
    _object_property(r, d)
    r.context_bytes(3)  # result flags
    d.item_count = r.context_unsigned(4)
    r.skip()  # item data
    if r.is_context(6):
        r.skip()  # first sequence number


def _private_ack(r: TagReader, d: Detail) -> None:
    d.vendor_id = r.context_unsigned(0)
    d.private_service = r.context_unsigned(1)
    if r.is_opening(2):
        r.skip()


CONFIRMED_DECODERS: dict[int, Decoder] = {
    0: _acknowledge_alarm,
    1: _cov_notification,
    2: _event_notification,
    5: _subscribe_cov,
    6: _atomic_read,
    7: _atomic_write,
    10: _create_object,
    11: _object_only,
    12: _read_property,
    14: _rpm,
    15: _write_property,
    16: _wpm,
    17: _dcc,
    18: _private,
    20: _reinitialize,
    26: _read_range,
    28: _subscribe_cov_property,
}
"""Confirmed service choice -> request parameter decoder."""

ACK_DECODERS: dict[int, Decoder] = {
    6: _atomic_read_ack,
    7: _atomic_write_ack,
    10: _object_only,
    12: _read_property_ack,
    14: _rpm_ack,
    18: _private_ack,
    26: _read_range_ack,
}
"""Confirmed service choice -> ComplexACK parameter decoder."""


def decode_error(r: TagReader) -> tuple[str, str]:
    """Error class and code of an Error PDU: the plain ``Error`` sequence or, for the services
    with an error wrapper (CreateObject, WritePropertyMultiple, list and private transfer
    errors...), the ``Error`` inside its context tag 0 (21)."""
    if r.is_opening(0):
        r.open(0)
        pair = _error_pair(r)
        r.close(0)
        return pair
    return _error_pair(r)

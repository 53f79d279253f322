"""Pure MQTT packet decoding: framing (``frame_size``), detection (``probe``) and ``decode``.

Every control packet is a fixed header (type and flags in one byte, then the remaining length
as a variable byte integer of 1 to 4 bytes: 3.1.1 section 2.2.3, 5.0 section 1.5.5) followed by
a variable header and a payload laid out per packet type (3.1.1 section 3, 5.0 section 3).
MQTT 3.1 (protocol name ``MQIsdp``, level 3) shares the 3.1.1 layout for everything decoded here.

``decode`` raises ``Malformed`` when a packet cannot be read at all (truncated field, bad
variable integer); faults that leave the rest readable (reserved flags, QoS 3, bad UTF-8, bad
properties) are listed in ``MqttPacket.anomalies`` and decoding goes on.
"""

from __future__ import annotations

import msgspec

from otshield.errors import Malformed
from otshield.protocols.mqtt.constants import (
    AUTH,
    BINARY,
    BOOL_PROPERTIES,
    BYTE,
    CONNACK,
    CONNECT,
    DISCONNECT,
    FOUR,
    MAX_TOPICS,
    MAX_USER_PROPERTIES,
    PACKET_NAMES,
    PAIR,
    PREVIEW_BYTES,
    PROPERTIES,
    PROTOCOL_LEVELS,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    REQUIRED_FLAGS,
    SUBACK,
    SUBSCRIBE,
    TWO,
    UNSUBACK,
    UNSUBSCRIBE,
    UTF8,
    VARINT,
)
from otshield.protocols.mqtt.events import MqttProperties, MqttSubscription, MqttUserProperty

__all__ = ["MqttPacket", "decode", "frame_size", "probe"]

MAX_STRING = 1024
"""Characters of a topic, client id or user name kept; longer ones are cut (``truncated``)."""


class MqttPacket:
    """One decoded control packet; fields not carried by its type stay None."""

    __slots__ = (
        "anomalies", "clean_session", "client_id", "codes", "dup", "keep_alive", "level",
        "packet_id", "password_present", "payload_length", "payload_preview", "properties",
        "protocol_name", "qos", "reason_code", "retain", "session_present", "size",
        "subscriptions", "topic", "truncated", "type", "username", "version", "will_payload_length",
        "will_properties", "will_qos", "will_retain", "will_topic",
    )

    def __init__(self, ptype: int, size: int) -> None:
        self.type = ptype
        self.size = size
        self.anomalies: list[tuple[str, str]] | None = None
        self.truncated = False
        self.level: int | None = None  # CONNECT protocol level
        self.version: str | None = None
        self.protocol_name: str | None = None
        self.clean_session: bool | None = None
        self.keep_alive: int | None = None
        self.client_id: str | None = None
        self.username: str | None = None
        self.password_present: bool | None = None
        self.will_topic: str | None = None
        self.will_qos: int | None = None
        self.will_retain: bool | None = None
        self.will_payload_length: int | None = None
        self.will_properties: MqttProperties | None = None
        self.session_present: bool | None = None
        self.reason_code: int | None = None
        self.topic: str | None = None
        self.qos: int | None = None
        self.retain: bool | None = None
        self.dup: bool | None = None
        self.packet_id: int | None = None
        self.payload_length: int | None = None
        self.payload_preview: str | None = None
        self.subscriptions: list[MqttSubscription] | None = None
        self.codes: list[int] | None = None  # SUBACK / v5 UNSUBACK codes
        self.properties: MqttProperties | None = None

    @property
    def name(self) -> str:
        return PACKET_NAMES[self.type]

    def flag(self, code: str, detail: str) -> None:
        if self.anomalies is None:
            self.anomalies = []
        self.anomalies.append((code, detail))


# -- framing -------------------------------------------------------------------------------------
def frame_size(buf: bytes) -> int | None:
    """Length of the packet at the head of ``buf``: 1 byte of type/flags, the remaining length
    (1-4 bytes, 7 bits each, least significant first; 3.1.1 section 2.2.3), and that many bytes."""
    n = len(buf)
    if n < 2:
        return None
    b = buf[1]
    if b < 0x80:
        return 2 + b
    value = b & 0x7F
    shift = 7
    for i in (2, 3, 4):
        if i >= n:
            return None
        b = buf[i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return i + 1 + value
        shift += 7
    raise Malformed("mqtt.bad_remaining_length",
                    f"remaining length continues past 4 bytes: {bytes(buf[:5]).hex()}")


def probe(buf: bytes, from_client: bool) -> bool:
    """A CONNECT opening the connection: type 1 with flags 0, a remaining length, then the
    protocol name ``MQTT`` (level 4 or 5) or ``MQIsdp`` (level 3). A capture that starts after
    the CONNECT is recognised by a 3.1.1 CONNACK alone in the broker's first segment."""
    if len(buf) < 2 or buf[0] != 0x10:
        return (not from_client and len(buf) == 4 and buf[0] == 0x20 and buf[1] == 2
                and buf[2] <= 1 and buf[3] <= 5)
    i = 1
    while i < 5 and i < len(buf) and buf[i] & 0x80:
        i += 1
    i += 1  # first byte after the remaining length
    if i > 5:
        return False
    if buf[i:i + 6] == b"\x00\x04MQTT":
        return len(buf) > i + 6 and buf[i + 6] in (4, 5)
    if buf[i:i + 8] == b"\x00\x06MQIsdp":
        return len(buf) > i + 8 and buf[i + 8] == 3
    return False


# -- field readers -------------------------------------------------------------------------------
def _truncated(what: str, pkt: MqttPacket) -> Malformed:
    return Malformed("mqtt.truncated", f"{pkt.name}: packet ends inside the {what}")


def _u16(buf: bytes, pos: int, end: int, what: str, pkt: MqttPacket) -> int:
    if pos + 2 > end:
        raise _truncated(what, pkt)
    return buf[pos] << 8 | buf[pos + 1]


def _varint(buf: bytes, pos: int, end: int, what: str, pkt: MqttPacket) -> tuple[int, int]:
    value = 0
    shift = 0
    for i in range(pos, min(pos + 4, end)):
        b = buf[i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i + 1
        shift += 7
    if end - pos >= 4:
        raise Malformed("mqtt.bad_property", f"{pkt.name}: {what} variable integer longer "
                                             "than 4 bytes")
    raise _truncated(what, pkt)


def _string(buf: bytes, pos: int, end: int, what: str, pkt: MqttPacket) -> tuple[str, int]:
    """A UTF-8 string with its 2-byte length (3.1.1 section 1.5.3, 5.0 section 1.5.4)."""
    if pos + 2 > end:
        raise _truncated(what, pkt)
    n = buf[pos] << 8 | buf[pos + 1]
    pos += 2
    stop = pos + n
    if stop > end:
        raise _truncated(what, pkt)
    raw = buf[pos:stop]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        pkt.flag("mqtt.bad_utf8", f"{pkt.name}: {what} is not valid UTF-8")
    else:
        if "\x00" in text:
            pkt.flag("mqtt.bad_utf8", f"{pkt.name}: {what} contains U+0000")
    if len(text) > MAX_STRING:
        text = text[:MAX_STRING]
        pkt.truncated = True
    return text, stop


def _binary_length(buf: bytes, pos: int, end: int, what: str, pkt: MqttPacket) -> tuple[int, int]:
    """Binary data with its 2-byte length: the length and the position after the data."""
    n = _u16(buf, pos, end, what, pkt)
    if pos + 2 + n > end:
        raise _truncated(what, pkt)
    return n, pos + 2 + n


PropValue = int | str | bool | tuple[int, ...] | tuple[MqttUserProperty, ...]


def _properties(buf: bytes, pos: int, end: int, pkt: MqttPacket,
                what: str = "properties") -> tuple[MqttProperties | None, int]:
    """A v5 property block: its length (variable integer) then identifier/value pairs
    (5.0 section 2.2.2). Returns the properties (None if empty) and the position after them."""
    length, pos = _varint(buf, pos, end, f"{what} length", pkt)
    stop = pos + length
    if stop > end:
        raise _truncated(what, pkt)
    if length == 0:
        return None, pos
    values: dict[str, PropValue] = {}
    users: list[MqttUserProperty] = []
    sub_ids: list[int] = []
    truncated = False
    while pos < stop:
        pid = buf[pos]
        spec = PROPERTIES.get(pid)
        if spec is None:
            pkt.flag("mqtt.bad_property", f"{pkt.name}: unknown property 0x{pid:02x} in {what}; "
                                          "the rest of the block is skipped")
            break
        field, kind = spec
        pos += 1
        value: PropValue
        if kind == BYTE:
            if pos >= stop:
                raise _truncated(f"property 0x{pid:02x}", pkt)
            raw = buf[pos]
            pos += 1
            if pid in BOOL_PROPERTIES:
                if raw > 1:
                    pkt.flag("mqtt.bad_property", f"{pkt.name}: property {field} = {raw}")
                value = bool(raw)
            else:
                if raw > 2:  # maximum_qos
                    pkt.flag("mqtt.bad_property", f"{pkt.name}: property {field} = {raw}")
                value = raw
        elif kind == TWO:
            value = _u16(buf, pos, stop, f"property {field}", pkt)
            pos += 2
        elif kind == FOUR:
            if pos + 4 > stop:
                raise _truncated(f"property {field}", pkt)
            value = int.from_bytes(buf[pos:pos + 4], "big")
            pos += 4
        elif kind == VARINT:
            sid, pos = _varint(buf, pos, stop, f"property {field}", pkt)
            if sid == 0:
                pkt.flag("mqtt.bad_property", f"{pkt.name}: subscription identifier 0")
            sub_ids.append(sid)
            continue
        elif kind == UTF8:
            value, pos = _string(buf, pos, stop, f"property {field}", pkt)
        elif kind == BINARY:
            n, pos = _binary_length(buf, pos, stop, f"property {field}", pkt)
            value = n if pid == 0x09 else True
        else:
            assert kind == PAIR
            name, pos = _string(buf, pos, stop, "user property name", pkt)
            text, pos = _string(buf, pos, stop, "user property value", pkt)
            if len(users) < MAX_USER_PROPERTIES:
                users.append(MqttUserProperty(name, text))
            else:
                truncated = True
            continue
        if field in values:
            pkt.flag("mqtt.bad_property", f"{pkt.name}: property {field} appears twice")
        values[field] = value
    if users:
        values["user_properties"] = tuple(users)
    if sub_ids:
        values["subscription_identifiers"] = tuple(sub_ids)
    if truncated:
        values["truncated"] = True
        pkt.truncated = True
    return msgspec.convert(values, MqttProperties), stop


def _preview(payload: bytes) -> str | None:
    """The head of a payload when it is printable UTF-8 text (a cut multi-byte character at the
    end is dropped)."""
    head = payload[:PREVIEW_BYTES]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(payload) <= PREVIEW_BYTES or e.start < len(head) - 3:
            return None
        text = head[:e.start].decode("utf-8")
    if not text or not text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return None
    return text


# -- packets -------------------------------------------------------------------------------------
def decode(frame: bytes, level: int) -> MqttPacket:
    """Decode one whole control packet. ``level`` is the protocol level in force on the
    connection (3, 4 or 5; a CONNECT brings its own)."""
    size = frame_size(frame)
    if size is None or size != len(frame):
        raise Malformed("mqtt.truncated", f"{len(frame)} bytes for a packet of {size}")
    first = frame[0]
    ptype = first >> 4
    flags = first & 0x0F
    # start of the variable header: after the type byte and the remaining length bytes
    pos = 2
    while frame[pos - 1] & 0x80:
        pos += 1
    end = size
    pkt = MqttPacket(ptype, size)
    if ptype == 0 or (ptype == AUTH and level < 5):
        raise Malformed("mqtt.unknown_packet_type",
                        f"control packet type {ptype} (reserved) with flags 0x{flags:x}")
    if ptype == PUBLISH:
        _publish(frame, pos, end, flags, level, pkt)
        return pkt
    if flags != REQUIRED_FLAGS[ptype]:
        pkt.flag("mqtt.bad_flags", f"{pkt.name}: fixed header flags 0x{flags:x}, expected "
                                   f"0x{REQUIRED_FLAGS[ptype]:x}")
    if ptype == CONNECT:
        _connect(frame, pos, end, pkt)
    elif ptype == CONNACK:
        _connack(frame, pos, end, level, pkt)
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        pkt.packet_id = _u16(frame, pos, end, "packet identifier", pkt)
        pos += 2
        if level >= 5 and pos < end:
            pkt.reason_code = frame[pos]
            pos += 1
            if pos < end:
                pkt.properties, pos = _properties(frame, pos, end, pkt)
        _rest(pos, end, pkt)
    elif ptype in (SUBSCRIBE, UNSUBSCRIBE):
        _subscribe(frame, pos, end, level, pkt)
    elif ptype in (SUBACK, UNSUBACK):
        pkt.packet_id = _u16(frame, pos, end, "packet identifier", pkt)
        pos += 2
        if level >= 5:
            pkt.properties, pos = _properties(frame, pos, end, pkt)
        if ptype == SUBACK or level >= 5:
            pkt.codes = list(frame[pos:end])
        else:
            _rest(pos, end, pkt)
    elif ptype in (DISCONNECT, AUTH):
        if level >= 5 and pos < end:
            pkt.reason_code = frame[pos]
            pos += 1
            if pos < end:
                pkt.properties, pos = _properties(frame, pos, end, pkt)
        _rest(pos, end, pkt)
    else:  # PINGREQ, PINGRESP: no variable header
        _rest(pos, end, pkt)
    return pkt


def _rest(pos: int, end: int, pkt: MqttPacket) -> None:
    if pos < end:
        pkt.flag("mqtt.trailing_bytes", f"{pkt.name}: {end - pos} bytes after the last field")


def _connect(buf: bytes, pos: int, end: int, pkt: MqttPacket) -> None:
    """CONNECT (3.1.1 section 3.1, 5.0 section 3.1)."""
    name, pos = _string(buf, pos, end, "protocol name", pkt)
    if pos + 4 > end:
        raise _truncated("connect flags", pkt)
    level = buf[pos]
    flags = buf[pos + 1]
    pkt.keep_alive = buf[pos + 2] << 8 | buf[pos + 3]
    pos += 4
    pkt.protocol_name = name
    pkt.level = level
    pkt.version = PROTOCOL_LEVELS.get((name, level))
    if pkt.version is None:
        pkt.flag("mqtt.unknown_protocol", f"protocol name {name!r} level {level}")
    if flags & 0x01:
        pkt.flag("mqtt.bad_flags", "CONNECT: reserved flag bit 0 set")
    pkt.clean_session = bool(flags & 0x02)
    will = bool(flags & 0x04)
    will_qos = flags >> 3 & 0x03
    will_retain = bool(flags & 0x20)
    has_password = bool(flags & 0x40)
    has_username = bool(flags & 0x80)
    pkt.password_present = has_password
    if will:
        pkt.will_qos = will_qos
        pkt.will_retain = will_retain
        if will_qos == 3:
            pkt.flag("mqtt.invalid_qos", "CONNECT: will QoS 3")
    elif will_qos or will_retain:
        pkt.flag("mqtt.bad_flags", "CONNECT: will QoS or retain set without the will flag")
    if has_password and not has_username and level == 4:
        pkt.flag("mqtt.bad_flags", "CONNECT: password flag without user name flag (3.1.2.9)")
    v5 = level == 5  # unknown levels: read as 3.1.1
    if v5:
        pkt.properties, pos = _properties(buf, pos, end, pkt)
    pkt.client_id, pos = _string(buf, pos, end, "client identifier", pkt)
    if will:
        if v5:
            pkt.will_properties, pos = _properties(buf, pos, end, pkt, "will properties")
        pkt.will_topic, pos = _string(buf, pos, end, "will topic", pkt)
        pkt.will_payload_length, pos = _binary_length(buf, pos, end, "will message", pkt)
    if has_username:
        pkt.username, pos = _string(buf, pos, end, "user name", pkt)
    if has_password:
        _, pos = _binary_length(buf, pos, end, "password", pkt)  # never kept
    _rest(pos, end, pkt)


def _connack(buf: bytes, pos: int, end: int, level: int, pkt: MqttPacket) -> None:
    """CONNACK (3.1.1 section 3.2, 5.0 section 3.2)."""
    if pos + 2 > end:
        raise _truncated("return code", pkt)
    ack = buf[pos]
    if ack & 0xFE:
        pkt.flag("mqtt.bad_flags", f"CONNACK: reserved acknowledge flags 0x{ack:02x}")
    pkt.session_present = bool(ack & 0x01)
    pkt.reason_code = buf[pos + 1]
    pos += 2
    if level >= 5 and pos < end:
        pkt.properties, pos = _properties(buf, pos, end, pkt)
    _rest(pos, end, pkt)


def _publish(buf: bytes, pos: int, end: int, flags: int, level: int, pkt: MqttPacket) -> None:
    """PUBLISH (3.1.1 section 3.3, 5.0 section 3.3): flags are DUP, QoS (2 bits), RETAIN."""
    qos = flags >> 1 & 0x03
    pkt.qos = qos
    pkt.retain = bool(flags & 0x01)
    pkt.dup = bool(flags & 0x08)
    if qos == 3:
        pkt.flag("mqtt.invalid_qos", "PUBLISH with QoS 3")
    elif qos == 0 and pkt.dup:
        pkt.flag("mqtt.bad_flags", "PUBLISH: DUP set on a QoS 0 message (3.3.1-2)")
    pkt.topic, pos = _string(buf, pos, end, "topic name", pkt)
    if qos:
        pkt.packet_id = _u16(buf, pos, end, "packet identifier", pkt)
        pos += 2
    if level >= 5:
        pkt.properties, pos = _properties(buf, pos, end, pkt)
    pkt.payload_length = end - pos
    if pos < end:
        pkt.payload_preview = _preview(buf[pos:end])


def _subscribe(buf: bytes, pos: int, end: int, level: int, pkt: MqttPacket) -> None:
    """SUBSCRIBE (3.1.1 section 3.8, 5.0 section 3.8) and UNSUBSCRIBE (3.10): packet id,
    properties (v5), then topic filters (each with an options byte in SUBSCRIBE)."""
    pkt.packet_id = _u16(buf, pos, end, "packet identifier", pkt)
    pos += 2
    if level >= 5:
        pkt.properties, pos = _properties(buf, pos, end, pkt)
    subs: list[MqttSubscription] = []
    sub = pkt.type == SUBSCRIBE
    while pos < end:
        topic, pos = _string(buf, pos, end, "topic filter", pkt)
        if not sub:
            if len(subs) < MAX_TOPICS:
                subs.append(MqttSubscription(topic))
            else:
                pkt.truncated = True
            continue
        if pos >= end:
            raise _truncated("subscription options", pkt)
        opts = buf[pos]
        pos += 1
        qos = opts & 0x03
        if qos == 3:
            pkt.flag("mqtt.invalid_qos", f"SUBSCRIBE: QoS 3 requested for {topic!r}")
        if len(subs) >= MAX_TOPICS:
            pkt.truncated = True
            continue
        if level >= 5:
            if opts & 0xC0 or opts >> 4 & 0x03 == 3:
                pkt.flag("mqtt.bad_flags", f"SUBSCRIBE: options 0x{opts:02x} for {topic!r}")
            subs.append(MqttSubscription(topic, qos, bool(opts & 0x04), bool(opts & 0x08),
                                         opts >> 4 & 0x03))
        else:
            if opts & 0xFC:
                pkt.flag("mqtt.bad_flags", f"SUBSCRIBE: reserved bits 0x{opts:02x} for "
                                           f"{topic!r}")
            subs.append(MqttSubscription(topic, qos))
    if not subs and not pkt.truncated:
        pkt.flag("mqtt.empty_subscription", f"{pkt.name} without a topic filter")
    pkt.subscriptions = subs

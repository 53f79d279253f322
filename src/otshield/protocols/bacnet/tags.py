"""BACnet tag encoding (ANSI/ASHRAE 135-2020 clause 20.2): a cursor over tagged elements.

Every element starts with a tag octet: tag number (bits 7-4, 15 = extended number in the next
octet), class (bit 3: 0 application, 1 context specific) and length/value/type (bits 2-0:
0-4 length, 5 = extended length in 1, 3 or 5 more octets, 6/7 = opening/closing tag of a
constructed context element). An application Boolean carries its value in the LVT bits and
has no content octets (20.2.3).

Application values decode to plain Python values (20.2.2-20.2.14): Null -> None, Boolean,
Unsigned, Signed, Real, Double, Octet String (hex), Character String (decoded by its
character set), Bit String ("0110..."), Enumerated, Date ("2024-01-31", "*" for unspecified
parts), Time ("13:05:00.00"), Object Identifier ("analog-input:3"). Context-tagged primitives
whose type only the ASN.1 of the enclosing production knows are shown as an unsigned integer
(up to 8 octets) or hex.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.bacnet.constants import OBJECT_TYPES

__all__ = [
    "MAX_STRING",
    "MAX_VALUES",
    "TagReader",
    "Value",
    "app_value",
    "object_name",
    "object_type_name",
]

Value = int | float | str | bool | None
"""One decoded primitive value."""

MAX_VALUES = 32
"""Values kept of one property value (a list or array is cut there and flagged)."""
MAX_STRING = 256
"""Characters kept of a character string, octets (as hex) of an octet string, bits of a bit
string."""
MAX_DEPTH = 16
"""Nesting of constructed elements followed before the data is called malformed."""

_F32 = struct.Struct("!f")
_F64 = struct.Struct("!d")
_H = struct.Struct("!H")
_I = struct.Struct("!I")
_CODECS: dict[int, str] = {0: "utf-8", 1: "cp932", 2: "euc_jp", 3: "utf-32-be", 4: "utf-16-be",
                           5: "latin-1"}
"""Python codecs for the character sets of 20.2.9 (DBCS: code page 932 is the one devices use;
JIS X 0208 is decoded as EUC-JP, its usual byte form)."""
_DAYS = ("", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OPEN, _CLOSE = 6, 7
_SHORT_CONTEXT = frozenset({0x08, 0x09, 0x0A, 0x0B, 0x0C})
"""Low nibbles of a context tag octet with a length of 0-4 in the LVT."""


def object_type_name(code: int) -> str:
    """Standard name of an object type, or its number for proprietary types."""
    return OBJECT_TYPES.get(code) or str(code)


def object_name(raw: int) -> str:
    """A BACnetObjectIdentifier (10-bit type, 22-bit instance) as ``type:instance``."""
    return f"{object_type_name(raw >> 22)}:{raw & 0x3FFFFF}"


def _date(b: bytes) -> str:
    if len(b) != 4:
        raise Malformed("bacnet.bad_tag", f"date of {len(b)} octets")
    year = "*" if b[0] == 255 else str(1900 + b[0])
    month = {255: "*", 13: "odd", 14: "even"}.get(b[1], f"{b[1]:02d}")
    day = {255: "*", 32: "last", 33: "odd", 34: "even"}.get(b[2], f"{b[2]:02d}")
    text = f"{year}-{month}-{day}"
    if 1 <= b[3] <= 7:
        text += f" {_DAYS[b[3]]}"
    return text


def _time(b: bytes) -> str:
    if len(b) != 4:
        raise Malformed("bacnet.bad_tag", f"time of {len(b)} octets")
    return ":".join("*" if x == 255 else f"{x:02d}" for x in b[:3]) + (
        ".*" if b[3] == 255 else f".{b[3]:02d}")


def _charstring(b: bytes) -> str:
    if not b:
        raise Malformed("bacnet.bad_tag", "character string without its character set")
    charset = b[0]
    body = b[3:] if charset == 1 else b[1:]  # DBCS carries a 2-octet code page first
    codec = _CODECS.get(charset)
    if codec is None:
        return body[:MAX_STRING].hex()
    return body.decode(codec, errors="replace")[:MAX_STRING]


def _bitstring(b: bytes) -> str:
    if not b:
        raise Malformed("bacnet.bad_tag", "bit string without its unused-bits octet")
    unused = b[0]
    if unused > 7 or (unused and len(b) == 1):
        raise Malformed("bacnet.bad_tag", f"bit string with {unused} unused bits")
    bits = "".join(f"{x:08b}" for x in b[1:1 + MAX_STRING // 8])
    if len(b) - 1 <= MAX_STRING // 8 and unused:
        bits = bits[:-unused]
    return bits


def _unsigned(b: bytes) -> int:
    if not b:
        raise Malformed("bacnet.bad_tag", "unsigned integer of zero octets")
    return int.from_bytes(b, "big")


def app_value(tag: int, lvt: int, b: bytes) -> Value:
    """Decode the content octets ``b`` of an application tag (20.2.2-20.2.14)."""
    if tag == 2 or tag == 9:
        return _unsigned(b)
    if tag == 4:
        if len(b) != 4:
            raise Malformed("bacnet.bad_tag", f"real of {len(b)} octets")
        value: float = _F32.unpack(b)[0]
        return value
    if tag == 12:
        if len(b) != 4:
            raise Malformed("bacnet.bad_tag", f"object identifier of {len(b)} octets")
        return object_name(_I.unpack(b)[0])
    if tag == 7:
        return _charstring(b)
    if tag == 1:
        if lvt > 1:
            raise Malformed("bacnet.bad_tag", f"boolean value {lvt}")
        return lvt == 1
    if tag == 0:
        return None
    if tag == 3:
        if not b:
            raise Malformed("bacnet.bad_tag", "signed integer of zero octets")
        return int.from_bytes(b, "big", signed=True)
    if tag == 5:
        if len(b) != 8:
            raise Malformed("bacnet.bad_tag", f"double of {len(b)} octets")
        double: float = _F64.unpack(b)[0]
        return double
    if tag == 6:
        return b[:MAX_STRING].hex()
    if tag == 8:
        return _bitstring(b)
    if tag == 10:
        return _date(b)
    if tag == 11:
        return _time(b)
    raise Malformed("bacnet.bad_tag", f"reserved application tag {tag}")


class TagReader:
    """A cursor over the tagged elements of ``buf[pos:end]``.

    ``peek`` decodes the tag at the cursor into ``number``, ``context``, ``lvt``, the content
    bounds ``start``/``stop`` and ``kind`` (0 primitive, 6 opening, 7 closing) without moving;
    the ``take_*`` methods consume. Everything raises ``Malformed('bacnet.bad_tag')``."""

    __slots__ = ("buf", "context", "end", "kind", "lvt", "number", "peeked", "pos", "start",
                 "stop")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.peeked = -1  # position the fields below describe
        self.number = self.lvt = self.start = self.stop = self.kind = 0
        self.context = False

    def at_end(self) -> bool:
        return self.pos >= self.end

    def peek(self) -> None:
        pos = self.pos
        if self.peeked == pos:
            return
        buf, end = self.buf, self.end
        if pos >= end:
            raise Malformed("bacnet.bad_tag", "element expected at the end of the data")
        octet = buf[pos]
        number = octet >> 4
        context = bool(octet & 0x08)
        lvt = octet & 0x07
        pos += 1
        if number == 15:
            if pos >= end:
                raise Malformed("bacnet.bad_tag", "extended tag number truncated")
            number = buf[pos]
            pos += 1
        kind = 0
        length = lvt
        if context and lvt >= _OPEN:
            kind = lvt
            length = 0
        elif lvt == 5:
            if pos >= end:
                raise Malformed("bacnet.bad_tag", "extended length truncated")
            length = buf[pos]
            pos += 1
            if length == 254:
                if pos + 2 > end:
                    raise Malformed("bacnet.bad_tag", "extended length truncated")
                length = _H.unpack_from(buf, pos)[0]
                pos += 2
            elif length == 255:
                if pos + 4 > end:
                    raise Malformed("bacnet.bad_tag", "extended length truncated")
                length = _I.unpack_from(buf, pos)[0]
                pos += 4
        elif not context and number == 1:
            length = 0  # application Boolean: the value is the LVT
        elif lvt > 5:
            raise Malformed("bacnet.bad_tag", f"application tag {number} with LVT {lvt}")
        if pos + length > end:
            raise Malformed("bacnet.bad_tag",
                            f"tag {number} declares {length} octets, {end - pos} left")
        self.number, self.context, self.lvt, self.kind = number, context, lvt, kind
        self.start, self.stop = pos, pos + length
        self.peeked = self.pos

    def is_context(self, number: int, kind: int = 0) -> bool:
        """Is the element at the cursor context tag ``number`` of ``kind``? False at the end."""
        pos = self.pos
        if pos >= self.end:
            return False
        octet = self.buf[pos]
        if number < 15 and octet >> 4 == number and octet & 0x08:
            # the one-octet tag forms: decided from the octet alone (extended lengths aside)
            lvt = octet & 0x07
            if kind:
                return lvt == kind
            if lvt < 5:
                return True
        self.peek()
        return self.context and self.number == number and self.kind == kind

    def is_opening(self, number: int) -> bool:
        return self.is_context(number, _OPEN)

    def is_closing(self, number: int) -> bool:
        return self.is_context(number, _CLOSE)

    def _want(self, number: int, kind: int, what: str) -> None:
        self.peek()
        if not (self.context and self.number == number and self.kind == kind):
            raise Malformed("bacnet.bad_tag", f"{what} expected, found {self._describe()}")

    def _describe(self) -> str:
        if self.context:
            return f"context tag {self.number}" + (
                " opening" if self.kind == _OPEN else " closing" if self.kind == _CLOSE else "")
        return f"application tag {self.number}"

    def open(self, number: int) -> None:
        """Consume opening tag ``number``."""
        self._want(number, _OPEN, f"opening tag {number}")
        self.pos = self.stop

    def close(self, number: int) -> None:
        """Consume closing tag ``number``."""
        self._want(number, _CLOSE, f"closing tag {number}")
        self.pos = self.stop

    def context_bytes(self, number: int) -> bytes:
        """Consume context primitive ``number``; its content octets."""
        pos = self.pos
        if pos < self.end:
            octet = self.buf[pos]
            # fast path: one-octet tag of this number, context class, length 0-4
            if octet >> 4 == number and octet & 0x0F in _SHORT_CONTEXT and number < 15:
                stop = pos + 1 + (octet & 0x07)
                if stop <= self.end:
                    self.pos = stop
                    return self.buf[pos + 1:stop]
        self._want(number, 0, f"context tag {number}")
        self.pos = self.stop
        return self.buf[self.start:self.stop]

    def context_unsigned(self, number: int) -> int:
        return _unsigned(self.context_bytes(number))

    def context_signed(self, number: int) -> int:
        b = self.context_bytes(number)
        if not b:
            raise Malformed("bacnet.bad_tag", "signed integer of zero octets")
        return int.from_bytes(b, "big", signed=True)

    def context_object(self, number: int) -> int:
        b = self.context_bytes(number)
        if len(b) != 4:
            raise Malformed("bacnet.bad_tag", f"object identifier of {len(b)} octets")
        value: int = _I.unpack(b)[0]
        return value

    def context_string(self, number: int) -> str:
        return _charstring(self.context_bytes(number))

    def context_boolean(self, number: int) -> bool:
        b = self.context_bytes(number)
        if len(b) != 1 or b[0] > 1:
            raise Malformed("bacnet.bad_tag", "context boolean not one octet of 0 or 1")
        return b[0] == 1

    def optional_unsigned(self, number: int) -> int | None:
        return self.context_unsigned(number) if self.is_context(number) else None

    def application(self, tag: int | None = None) -> Value:
        """Consume one application-tagged value (of application tag ``tag`` if given)."""
        self.peek()
        if self.context:
            raise Malformed("bacnet.bad_tag", f"application tag expected, found "
                                              f"{self._describe()}")
        if tag is not None and self.number != tag:
            raise Malformed("bacnet.bad_tag", f"application tag {tag} expected, found "
                                              f"application tag {self.number}")
        self.pos = self.stop
        return app_value(self.number, self.lvt, self.buf[self.start:self.stop])

    def app_unsigned(self, tag: int = 2) -> int:
        value = self.application(tag)
        assert isinstance(value, int)
        return value

    def app_object(self) -> int:
        self.peek()
        if self.context or self.number != 12 or self.stop - self.start != 4:
            raise Malformed("bacnet.bad_tag", f"object identifier expected, found "
                                              f"{self._describe()}")
        self.pos = self.stop
        value: int = _I.unpack_from(self.buf, self.start)[0]
        return value

    def skip(self) -> None:
        """Consume one element: a primitive, or a constructed element up to its closing tag."""
        self.peek()
        if self.kind == _CLOSE:
            raise Malformed("bacnet.bad_tag", f"unexpected closing tag {self.number}")
        if self.kind != _OPEN:
            self.pos = self.stop
            return
        stack: list[int] = []
        while True:
            self.peek()
            self.pos = self.stop
            if self.kind == _OPEN:
                stack.append(self.number)
                if len(stack) > MAX_DEPTH:
                    raise Malformed("bacnet.bad_tag", f"nesting deeper than {MAX_DEPTH}")
            elif self.kind == _CLOSE:
                if stack.pop() != self.number:
                    raise Malformed("bacnet.bad_tag", f"closing tag {self.number} does not "
                                                      "match the open one")
                if not stack:
                    return

    def values(self, number: int) -> tuple[list[Value], bool]:
        """Consume constructed element ``number`` (opening tag, values, closing tag): the
        primitive values inside, flattened, up to :data:`MAX_VALUES` (True if more)."""
        self.open(number)
        out: list[Value] = []
        truncated = False
        stack = [number]
        buf = self.buf
        while True:
            self.peek()
            self.pos = self.stop
            kind = self.kind
            if kind == _CLOSE:
                if stack.pop() != self.number:
                    raise Malformed("bacnet.bad_tag", f"closing tag {self.number} does not "
                                                      "match the open one")
                if not stack:
                    return out, truncated
                continue
            if kind == _OPEN:
                stack.append(self.number)
                if len(stack) > MAX_DEPTH:
                    raise Malformed("bacnet.bad_tag", f"nesting deeper than {MAX_DEPTH}")
                continue
            if len(out) >= MAX_VALUES:
                truncated = True
                continue
            b = buf[self.start:self.stop]
            if self.context:
                out.append(int.from_bytes(b, "big") if 0 < len(b) <= 8 else b.hex())
            else:
                out.append(app_value(self.number, self.lvt, b))

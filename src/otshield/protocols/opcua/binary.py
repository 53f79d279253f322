"""Pure reader of the OPC UA Binary data encoding (OPC 10000-6, 5.2).

Built-in types (5.2.2): integers and floats little-endian; String and ByteString with an Int32
length (-1 = null); DateTime as 100 ns ticks since 1601-01-01 UTC; Guid as
Data1..Data4; NodeId (5.2.2.9) with an encoding byte selecting the two-byte, four-byte, numeric,
string, guid or opaque form; ExpandedNodeId (5.2.2.10) adding the NamespaceUri (0x80) and
ServerIndex (0x40) flags; DiagnosticInfo (5.2.2.12); QualifiedName, LocalizedText (5.2.2.13-14);
ExtensionObject (5.2.2.15); DataValue (5.2.2.17) and Variant (5.2.2.16). Arrays (5.2.5) have an
Int32 length, -1 for null.

Every read checks its length against the buffer: a short or impossible field raises
``Malformed("opcua.bad_encoding")`` and nothing else.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime

from otshield.errors import Malformed
from otshield.protocols.opcua.constants import BUILTIN_TYPES, status_name
from otshield.protocols.opcua.values import OpcuaDataValue, OpcuaVariant, Scalar

__all__ = ["MAX_ARRAY_VALUES", "MAX_BYTES_HEX", "MAX_TEXT", "Reader", "datetime_text",
           "format_node_id"]

MAX_ARRAY_VALUES = 32
"""Elements of an array kept in an event (the count is always reported)."""
MAX_BYTES_HEX = 64
"""Bytes of a ByteString value shown (hex) in an event; longer ones end with an ellipsis."""
MAX_TEXT = 1024
"""Characters of a String (or XmlElement) value kept in an event; longer ones end with an
ellipsis."""
MAX_DEPTH = 8
"""Nesting of DiagnosticInfo / Variant / DataValue decoded before the body is called bad."""

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I16 = struct.Struct("<h")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_I8 = struct.Struct("<b")
_FOUR_BYTE = struct.Struct("<BH")
_NUMERIC = struct.Struct("<HI")
_GUID_HEAD = struct.Struct("<IHH")
_EPOCH_TICKS = 116444736000000000  # 1601-01-01 -> 1970-01-01 in 100 ns ticks
_MAX_TICKS = 2650467743990000000  # 9999-12-31: larger values mean "no time" (5.2.2.5)

# Fixed-size scalar built-in types: id -> (struct, size)
_FIXED: dict[int, struct.Struct] = {
    1: _U8, 2: _I8, 3: _U8, 4: _I16, 5: _U16, 6: _I32, 7: _U32, 8: _I64, 9: _U64,
    10: _F32, 11: _F64, 19: _U32,
}


_SECOND_TEXT: dict[int, str] = {}
"""Text of recently seen whole seconds: timestamps of one capture cluster, and formatting a
date is the costly part."""


def datetime_text(ticks: int) -> str | None:
    """ISO 8601 UTC text of a DateTime, or None for 0 / the maximum (both mean 'no time')."""
    if ticks <= 0 or ticks >= _MAX_TICKS:
        return None
    seconds, rest = divmod(ticks - _EPOCH_TICKS, 10_000_000)
    prefix = _SECOND_TEXT.get(seconds)
    if prefix is None:
        try:
            prefix = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        except (OverflowError, OSError, ValueError):
            return None
        if len(_SECOND_TEXT) >= 4096:
            _SECOND_TEXT.clear()
        _SECOND_TEXT[seconds] = prefix
    return f"{prefix}.{rest // 10:06d}Z"


def format_node_id(ns: int, kind: str, ident: int | str) -> str:
    """Part 6, 5.3.1.10 text of a node id: ``i=2258``, ``ns=2;s=Pump1``."""
    if ns == 0:
        return f"{kind}={ident}"
    return f"ns={ns};{kind}={ident}"


class Reader:
    """Decodes built-in types from ``buf`` starting at ``pos``; ``pos`` advances."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf)

    def fail(self, what: str) -> Malformed:
        return Malformed("opcua.bad_encoding", f"{what} at offset {self.pos}")

    def remaining(self) -> int:
        return self.end - self.pos

    # -- fixed size -----------------------------------------------------------------------------
    def _fixed(self, st: struct.Struct, what: str) -> int:
        pos = self.pos
        if pos + st.size > self.end:
            raise self.fail(f"{what} truncated")
        self.pos = pos + st.size
        value: int = st.unpack_from(self.buf, pos)[0]
        return value

    def u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.fail("Byte truncated")
        self.pos = pos + 1
        return self.buf[pos]

    def boolean(self) -> bool:
        return self._fixed(_U8, "Boolean") != 0

    def u16(self) -> int:
        return self._fixed(_U16, "UInt16")

    def u32(self) -> int:
        pos = self.pos
        if pos + 4 > self.end:
            raise self.fail("UInt32 truncated")
        self.pos = pos + 4
        value: int = _U32.unpack_from(self.buf, pos)[0]
        return value

    def i32(self) -> int:
        return self._fixed(_I32, "Int32")

    def i64(self) -> int:
        return self._fixed(_I64, "Int64")

    def f64(self) -> float:
        pos = self.pos
        if pos + 8 > self.end:
            raise self.fail("Double truncated")
        self.pos = pos + 8
        value: float = _F64.unpack_from(self.buf, pos)[0]
        return value

    def datetime(self) -> str | None:
        return datetime_text(self._fixed(_I64, "DateTime"))

    def skip(self, size: int, what: str) -> None:
        if self.pos + size > self.end:
            raise self.fail(f"{what} truncated")
        self.pos += size

    # -- length-prefixed ------------------------------------------------------------------------
    def raw_bytes(self) -> bytes | None:
        """A ByteString (or the bytes of a String); None when null (length -1)."""
        pos = self.pos
        if pos + 4 > self.end:
            raise self.fail("length truncated")
        n: int = _I32.unpack_from(self.buf, pos)[0]
        self.pos = pos + 4
        if n < 0:
            if n != -1:
                raise self.fail(f"negative length {n}")
            return None
        pos = self.pos
        if pos + n > self.end:
            raise self.fail(f"length {n} beyond the {self.end - pos} bytes left")
        self.pos = pos + n
        return self.buf[pos:pos + n]

    def string(self) -> str | None:
        raw = self.raw_bytes()
        if raw is None:
            return None
        # Invalid UTF-8 is shown, not fatal: a monitor reports what was sent.
        return raw.decode("utf-8", "replace")

    def count(self, what: str, min_size: int = 1) -> int:
        """An array length: -1 (null) gives 0; more elements than bytes left is impossible."""
        n = self._fixed(_I32, f"{what} length")
        if n < 0:
            if n != -1:
                raise self.fail(f"{what}: negative array length {n}")
            return 0
        if n * min_size > self.end - self.pos:
            raise self.fail(f"{what}: {n} elements in {self.end - self.pos} bytes")
        return n

    def strings(self, what: str, cap: int = MAX_ARRAY_VALUES) -> tuple[str, ...]:
        n = self.count(what, 4)
        out = []
        for i in range(n):
            s = self.string()
            if i < cap and s is not None:
                out.append(s)
        return tuple(out)

    def guid(self) -> str:
        pos = self.pos
        if pos + 16 > self.end:
            raise self.fail("Guid truncated")
        self.pos = pos + 16
        # Data1-3 little-endian, Data4 as bytes (5.2.2.7): the usual text form, built directly
        # (uuid.UUID validates at length and is the slowest part of a request header)
        d1, d2, d3 = _GUID_HEAD.unpack_from(self.buf, pos)
        tail = self.buf[pos + 8:pos + 16].hex()
        return f"{d1:08x}-{d2:04x}-{d3:04x}-{tail[:4]}-{tail[4:]}"

    # -- node ids -------------------------------------------------------------------------------
    def node_id_parts(self, mask_bits: int = 0x3F) -> tuple[int, str, int | str, int]:
        """(namespace, kind letter i/s/g/b, identifier, encoding byte) of a NodeId."""
        enc = self.u8()
        form = enc & mask_bits
        buf = self.buf
        pos = self.pos
        if form == 0:  # two-byte: namespace 0, id < 256
            if pos + 1 > self.end:
                raise self.fail("NodeId truncated")
            self.pos = pos + 1
            return 0, "i", buf[pos], enc
        if form == 1:  # four-byte: namespace < 256, id < 65536
            if pos + 3 > self.end:
                raise self.fail("NodeId truncated")
            self.pos = pos + 3
            ns, ident = _FOUR_BYTE.unpack_from(buf, pos)
            return ns, "i", ident, enc
        if form == 2:
            if pos + 6 > self.end:
                raise self.fail("NodeId truncated")
            self.pos = pos + 6
            ns, ident = _NUMERIC.unpack_from(buf, pos)
            return ns, "i", ident, enc
        if form == 3:
            ns = self.u16()
            return ns, "s", self.string() or "", enc
        if form == 4:
            ns = self.u16()
            return ns, "g", self.guid(), enc
        if form == 5:
            ns = self.u16()
            raw = self.raw_bytes() or b""
            return ns, "b", base64.b64encode(raw).decode("ascii"), enc
        raise self.fail(f"NodeId encoding 0x{enc:02x}")

    def node_id(self) -> str:
        ns, kind, ident, _enc = self.node_id_parts(0xFF)
        return format_node_id(ns, kind, ident)

    def numeric_node_id(self) -> tuple[int, int | None, str]:
        """(namespace, numeric id or None, text) of a NodeId, for type id lookups."""
        ns, kind, ident, _enc = self.node_id_parts(0xFF)
        return ns, ident if isinstance(ident, int) else None, format_node_id(ns, kind, ident)

    def expanded_node_id(self) -> str:
        ns, kind, ident, enc = self.node_id_parts(0x3F)
        text = format_node_id(ns, kind, ident)
        if enc & 0x80:
            uri = self.string()
            text = f"nsu={uri};{kind}={ident}"
        if enc & 0x40:
            text = f"svr={self.u32()};{text}"
        return text

    # -- structures -----------------------------------------------------------------------------
    def qualified_name(self) -> str:
        ns = self.u16()
        name = self.string() or ""
        return f"{ns}:{name}" if ns else name

    def localized_text(self) -> str | None:
        mask = self.u8()
        if mask & 0x01:
            self.string()  # locale
        return self.string() if mask & 0x02 else None

    def diagnostic_info(self, depth: int = 0) -> str | None:
        """Skips a DiagnosticInfo; returns its AdditionalInfo or inner status name, if any."""
        if depth > MAX_DEPTH:
            raise self.fail("DiagnosticInfo nested too deep")
        mask = self.u8()
        text: str | None = None
        # SymbolicId, NamespaceUri, Locale, LocalizedText: Int32 indexes into the string table
        fixed = 4 * ((mask & 1) + (mask >> 1 & 1) + (mask >> 2 & 1) + (mask >> 3 & 1))
        if fixed:
            self.skip(fixed, "DiagnosticInfo")
        if mask & 0x10:
            text = self.string()
        if mask & 0x20:
            inner = self.u32()
            text = text or status_name(inner)
        if mask & 0x40:
            inner_text = self.diagnostic_info(depth + 1)
            text = text or inner_text
        return text

    def diagnostic_infos(self) -> None:
        n = self.count("DiagnosticInfos")
        for _ in range(n):
            self.diagnostic_info()

    def extension_object(self) -> tuple[int | None, str, bytes | None]:
        """(numeric type id in ns 0 or None, type id text, binary body or None)."""
        ns, numeric, text = self.numeric_node_id()
        enc = self.u8()
        if enc == 0:
            return (numeric if ns == 0 else None), text, None
        if enc not in (1, 2):
            raise self.fail(f"ExtensionObject encoding {enc}")
        body = self.raw_bytes()
        if enc == 2:
            return None, text, None  # XML body: kept opaque
        return (numeric if ns == 0 else None), text, body

    def status_code(self) -> int:
        return self._fixed(_U32, "StatusCode")

    def status_codes(self) -> tuple[int, ...]:
        n = self.count("StatusCodes", 4)
        pos = self.pos
        self.pos = pos + 4 * n
        return struct.unpack_from(f"<{n}I", self.buf, pos)

    # -- Variant / DataValue --------------------------------------------------------------------
    def scalar(self, type_id: int, depth: int,
               ext: list[tuple[int | None, bytes | None]] | None) -> Scalar:
        """One value of built-in type ``type_id`` as an event scalar."""
        st = _FIXED.get(type_id)
        if st is not None:
            value = self._fixed(st, BUILTIN_TYPES[type_id])
            if type_id == 1:
                return value != 0
            if type_id == 19:
                return status_name(value)
            return value
        if type_id == 12:
            text = self.string()
            if text is not None and len(text) > MAX_TEXT:
                return text[:MAX_TEXT] + "\u2026"
            return text
        if type_id == 13:
            return self.datetime()
        if type_id == 14:
            return self.guid()
        if type_id in (15, 16):
            raw = self.raw_bytes()
            if raw is None:
                return None
            if type_id == 15:
                return (raw.hex() if len(raw) <= MAX_BYTES_HEX
                        else raw[:MAX_BYTES_HEX].hex() + "\u2026")
            return raw[:MAX_TEXT].decode("utf-8", "replace")
        if type_id == 17:
            return self.node_id()
        if type_id == 18:
            return self.expanded_node_id()
        if type_id == 20:
            return self.qualified_name()
        if type_id == 21:
            return self.localized_text()
        if type_id == 22:
            numeric, text, body = self.extension_object()
            if ext is not None:
                ext.append((numeric, body))
            return f"ExtensionObject({text})"
        if type_id == 23:
            dv = self.data_value(depth + 1)
            inner = dv.value
            return None if inner is None else _summary(inner)
        if type_id == 24:
            return _summary(self.variant(depth + 1))
        if type_id == 25:
            return self.diagnostic_info(depth + 1)
        raise self.fail(f"Variant built-in type {type_id}")

    def variant(self, depth: int = 0,
                ext: list[tuple[int | None, bytes | None]] | None = None) -> OpcuaVariant:
        if depth > MAX_DEPTH:
            raise self.fail("Variant nested too deep")
        mask = self.u8()
        type_id = mask & 0x3F
        name = BUILTIN_TYPES.get(type_id)
        if name is None:
            raise self.fail(f"Variant built-in type {type_id}")
        if not mask & 0x80:
            if type_id == 0:
                return OpcuaVariant(type=name)
            return OpcuaVariant(type=name, value=self.scalar(type_id, depth, ext))
        n = self._fixed(_I32, "Variant array length")
        if n < -1 or n > self.end - self.pos:
            raise self.fail(f"Variant array length {n}")
        values: list[Scalar] = []
        if n > 0:
            if type_id == 0:
                raise self.fail("array of Null variants")
            st = _FIXED.get(type_id)
            if st is not None and type_id not in (1, 19):
                size = st.size
                if self.pos + n * size > self.end:
                    raise self.fail(f"{n} {name} values truncated")
                keep = min(n, MAX_ARRAY_VALUES)
                values.extend(struct.unpack_from(f"<{keep}{st.format[1:]}", self.buf, self.pos))
                self.pos += n * size
            else:
                for i in range(n):
                    value = self.scalar(type_id, depth, ext)
                    if i < MAX_ARRAY_VALUES:
                        values.append(value)
        dims: tuple[int, ...] | None = None
        if mask & 0x40:
            k = self.count("ArrayDimensions", 4)
            dims = struct.unpack_from(f"<{k}i", self.buf, self.pos)
            self.pos += 4 * k
        return OpcuaVariant(type=name, values=tuple(values), array_length=n, dimensions=dims,
                            truncated=n > MAX_ARRAY_VALUES)

    def data_value(self, depth: int = 0,
                   ext: list[tuple[int | None, bytes | None]] | None = None) -> OpcuaDataValue:
        mask = self.u8()
        value = self.variant(depth, ext) if mask & 0x01 else None
        status = self.status_code() if mask & 0x02 else None
        source = self.datetime() if mask & 0x04 else None
        if mask & 0x10:
            self.skip(2, "SourcePicoseconds")
        server = self.datetime() if mask & 0x08 else None
        if mask & 0x20:
            self.skip(2, "ServerPicoseconds")
        return OpcuaDataValue(value=value, status=status,
                              status_name=status_name(status) if status is not None else None,
                              source_timestamp=source, server_timestamp=server)


def _summary(v: OpcuaVariant) -> Scalar:
    """A nested Variant as one scalar: its value, or its array as text."""
    if v.values is None:
        return v.value
    return f"{v.type}[{v.array_length}]"

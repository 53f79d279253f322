"""CIP EPATH (padded) decoding: what a request addresses, in plain terms.

Reference: ODVA CIP Networks Library Volume 1, appendix C-1 (segment types):
- C-1.4.3 port segment (000x xxxx): port id (15 = 16-bit extended port follows), link address
  of one byte or, with bit 4 set, of a given size (an IP address string on EtherNet/IP);
  padded to an even length;
- C-1.4.2 logical segment (001t ttff): class, instance, member, connection point, attribute,
  special (electronic key, 0x34), service id, extended; format 8-bit value, or pad byte then
  16-bit or 32-bit value;
- C-1.4.4 network segment (010x xxxx): one data byte, or (bit 4) a word count and data;
- C-1.4.5 symbolic segment (011s ssss): ASCII name of s bytes, or s = 0 and an extended format;
- C-1.4.6 data segment (100x xxxx): 0x80 simple data (word count, words), 0x91 ANSI extended
  symbol (byte count, characters, pad) - the Logix tag name segment.

A Logix tag name is a sequence of ANSI extended symbol segments (joined with ``.``) where member
segments after a symbol are array subscripts: ``Program:Main.Tag[3]``, ``Matrix[1,2]``.
"""

from __future__ import annotations

import functools
import struct

import msgspec

from otshield.errors import Malformed

__all__ = ["PathInfo", "parse_path"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_KEY = struct.Struct("<HHHBB")
_FIELDS = ("class_id", "instance", "member", "connection_point", "attribute", "", "service_id")


class PathInfo(msgspec.Struct, frozen=True, gc=False):
    """The first class/instance/attribute/member of a path, the tag name, the route (port
    segments) and a text rendering of every segment."""

    class_id: int | None = None
    instance: int | None = None
    attribute: int | None = None
    member: int | None = None
    connection_point: int | None = None
    symbol: str | None = None
    route: str | None = None
    text: str = ""


def _bad(detail: str) -> Malformed:
    return Malformed("cip.bad_path", detail)


def _link_text(raw: bytes) -> str:
    if raw and all(0x20 < b < 0x7F for b in raw):
        return raw.decode("ascii")
    return raw.hex()


@functools.lru_cache(maxsize=4096)
def parse_path(buf: bytes) -> PathInfo:
    """Decode a padded EPATH. Raises ``Malformed("cip.bad_path")`` on a truncated segment or a
    reserved segment type.

    Memoised: plant traffic repeats a few hundred paths endlessly, and the result is an
    immutable record (errors are not cached: they are raised again)."""
    n = len(buf)
    i = 0
    found: dict[str, int] = {}
    parts: list[str] = []
    hops: list[str] = []
    names: list[str] = []  # tag name pieces
    subscripts: list[int] = []  # member segments right after a tag name piece
    in_symbol = False
    while i < n:
        seg = buf[i]
        kind = seg & 0xE0
        if kind == 0x20 and (seg & 0x1C) != 0x14 and (seg & 0x1C) != 0x1C:  # logical, not special
            ltype = (seg >> 2) & 7
            fmt = seg & 3
            if fmt == 0:
                if i + 2 > n:
                    raise _bad("8-bit logical segment truncated")
                value = buf[i + 1]
                i += 2
            elif fmt == 1:
                if i + 4 > n:
                    raise _bad("16-bit logical segment truncated")
                value = _U16.unpack_from(buf, i + 2)[0]
                i += 4
            elif fmt == 2:
                if i + 6 > n:
                    raise _bad("32-bit logical segment truncated")
                value = _U32.unpack_from(buf, i + 2)[0]
                i += 6
            else:
                raise _bad(f"reserved logical format in segment 0x{seg:02x}")
            if ltype == 2 and in_symbol:
                subscripts.append(value)
                continue
            if subscripts:
                names[-1] += "[" + ",".join(map(str, subscripts)) + "]"
                subscripts = []
            in_symbol = False
            name = _FIELDS[ltype]
            if name not in found:
                found[name] = value
            parts.append(f"class:0x{value:02x}" if ltype == 0
                         else f"{name.replace('_id', '')}:{value}")
            continue
        if subscripts:
            names[-1] += "[" + ",".join(map(str, subscripts)) + "]"
            subscripts = []
        if seg == 0x91:  # ANSI extended symbol
            if i + 2 > n:
                raise _bad("symbol segment truncated")
            size = buf[i + 1]
            end = i + 2 + size
            if end > n:
                raise _bad(f"symbol of {size} bytes runs past the path")
            names.append(buf[i + 2:end].decode("latin-1"))
            in_symbol = True
            i = end + (size & 1)
            continue
        in_symbol = False
        if kind == 0x00:  # port segment
            port = seg & 0x0F
            j = i + 1
            size = 1
            if seg & 0x10:
                if j >= n:
                    raise _bad("port segment truncated")
                size = buf[j]
                j += 1
            if port == 15:
                if j + 2 > n:
                    raise _bad("extended port truncated")
                port = _U16.unpack_from(buf, j)[0]
                j += 2
            if j + size > n:
                raise _bad("link address runs past the path")
            link = _link_text(buf[j:j + size]) if seg & 0x10 else str(buf[j])
            j += size
            i = j + ((j - i) & 1)
            hops.append(f"{port}/{link}")
            parts.append(f"port:{port}/{link}")
        elif seg == 0x34:  # electronic key
            if i + 2 > n:
                raise _bad("electronic key truncated")
            key_format = buf[i + 1]
            size = 8 if key_format == 4 else 12 if key_format == 5 else -1
            if size < 0:
                raise _bad(f"electronic key format {key_format}")
            if i + 2 + size > n:
                raise _bad("electronic key truncated")
            vendor, devtype, product, major, minor = _KEY.unpack_from(buf, i + 2)
            compat = " compatible" if major & 0x80 else ""
            parts.append(f"key:vendor={vendor},type={devtype},product={product},"
                         f"rev={major & 0x7F}.{minor}{compat}")
            i += 2 + size
        elif kind == 0x40:  # network segment
            if seg & 0x10:
                if i + 2 > n:
                    raise _bad("network segment truncated")
                end = i + 2 + 2 * buf[i + 1]
            else:
                end = i + 2
            if end > n:
                raise _bad(f"network segment 0x{seg:02x} truncated")
            parts.append(f"network:0x{seg:02x}")
            i = end
        elif kind == 0x60:  # symbolic segment
            size = seg & 0x1F
            if size == 0:
                if i + 2 > n:
                    raise _bad("extended symbolic segment truncated")
                ext = buf[i + 1]
                count = ext & 0x1F
                ext_type = ext & 0xE0
                if ext_type == 0xC0:  # numeric symbol: USINT, UINT or UDINT
                    size = {6: 1, 7: 2, 8: 4}.get(count, -1)
                elif ext_type in (0x20, 0x40):  # double- or triple-byte characters
                    size = count * (2 if ext_type == 0x20 else 3)
                else:
                    size = -1
                if size < 0:
                    raise _bad(f"extended symbol format 0x{ext:02x}")
                end = i + 2 + size
                if end > n:
                    raise _bad("extended symbol truncated")
                raw = buf[i + 2:end]
                text = (str(int.from_bytes(raw, "little")) if ext_type == 0xC0 else raw.hex())
            else:
                end = i + 1 + size
                if end > n:
                    raise _bad(f"symbol of {size} bytes runs past the path")
                text = buf[i + 1:end].decode("latin-1")
            parts.append(f"symbol:{text}")
            i = end + ((end - i) & 1)
        elif seg == 0x80:  # simple data segment
            if i + 2 > n:
                raise _bad("data segment truncated")
            end = i + 2 + 2 * buf[i + 1]
            if end > n:
                raise _bad("data segment runs past the path")
            parts.append(f"data:{end - i - 2}")
            i = end
        else:
            raise _bad(f"unsupported segment type 0x{seg:02x}")
    if subscripts:
        names[-1] += "[" + ",".join(map(str, subscripts)) + "]"
    symbol = ".".join(names) if names else None
    if symbol is not None:
        parts.insert(0, symbol)
    return PathInfo(class_id=found.get("class_id"), instance=found.get("instance"),
                    attribute=found.get("attribute"), member=found.get("member"),
                    connection_point=found.get("connection_point"), symbol=symbol,
                    route="/".join(hops) if hops else None, text="/".join(parts))

"""Build capture files byte by byte for the reader tests: pcap in every variant and pcapng with
any mix of blocks and options. Written from the format drafts, independently of
``otshield.capture``, so the tests compare two implementations, not one with itself."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# -- pcap (draft-ietf-opsawg-pcap §4, §5) ------------------------------------------------------

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
MAGIC_KUZNETZOV = 0xA1B2CD34


@dataclass
class PcapRec:
    sec: int
    frac: int  # micro- or nanoseconds, as the file's magic says
    data: bytes
    orig_len: int | None = None
    caplen: int | None = None  # override the captured length field (corruption tests)


def pcap_bytes(records: Iterable[PcapRec], *, endian: str = "<", magic: int = MAGIC_MICRO,
               linktype_field: int = 1, snaplen: int = 262144) -> bytes:
    """A whole pcap file. ``linktype_field`` is written as is (FCS bits included)."""
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype_field)]
    for r in records:
        caplen = len(r.data) if r.caplen is None else r.caplen
        orig = len(r.data) if r.orig_len is None else r.orig_len
        out.append(struct.pack(endian + "IIII", r.sec, r.frac, caplen, orig))
        if magic == MAGIC_KUZNETZOV:
            out.append(struct.pack(endian + "IHBB", 7, 0x0800, 0, 0))  # ifindex, proto, type, pad
        out.append(r.data)
    return b"".join(out)


def record_offsets(records: Sequence[PcapRec], magic: int = MAGIC_MICRO) -> list[int]:
    """File offset of every record header (and, last, of the end of the file)."""
    hlen = 24 if magic == MAGIC_KUZNETZOV else 16
    offs = [24]
    for r in records:
        offs.append(offs[-1] + hlen + len(r.data))
    return offs


# -- pcapng (draft-ietf-opsawg-pcapng §3.1, §3.5, §4, Appendix A) ------------------------------


def pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


@dataclass
class Ng:
    """Accumulates pcapng blocks in one byte order (switch with ``shb(endian=...)``)."""

    endian: str = "<"
    parts: list[bytes] = field(default_factory=list)

    def _u(self, fmt: str, *v: int) -> bytes:
        return struct.pack(self.endian + fmt, *v)

    def options(self, opts: Sequence[tuple[int, bytes]], end: bool = True) -> bytes:
        body = b"".join(self._u("HH", code, len(val)) + pad4(val) for code, val in opts)
        return body + (self._u("HH", 0, 0) if opts and end else b"")

    def block(self, btype: int, body: bytes, *, length: int | None = None,
              trailer: int | None = None) -> Ng:
        body = pad4(body)
        total = 12 + len(body)
        self.parts.append(self._u("II", btype, total if length is None else length) + body
                          + self._u("I", total if trailer is None else trailer))
        return self

    def shb(self, endian: str | None = None, major: int = 1, minor: int = 0,
            opts: Sequence[tuple[int, bytes]] = ()) -> Ng:
        if endian:
            self.endian = endian
        body = self._u("IHHq", 0x1A2B3C4D, major, minor, -1) + self.options(opts)
        return self.block(0x0A0D0D0A, body)

    def idb(self, linktype: int = 1, snaplen: int = 0, tsresol: int | None = None,
            tsoffset: int | None = None, fcslen: int | None = None,
            extra: Sequence[tuple[int, bytes]] = ()) -> Ng:
        opts: list[tuple[int, bytes]] = [(2, b"eth-test")]  # if_name
        if tsresol is not None:
            opts.append((9, bytes([tsresol])))
        if tsoffset is not None:
            opts.append((14, struct.pack(self.endian + "q", tsoffset)))
        if fcslen is not None:
            opts.append((13, bytes([fcslen])))
        opts.extend(extra)
        return self.block(1, self._u("HHI", linktype, 0, snaplen) + self.options(opts))

    def epb(self, iface: int, ticks: int, data: bytes, orig_len: int | None = None,
            caplen: int | None = None, opts: Sequence[tuple[int, bytes]] = ()) -> Ng:
        body = self._u("IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF,
                       len(data) if caplen is None else caplen,
                       len(data) if orig_len is None else orig_len)
        return self.block(6, body + pad4(data) + self.options(opts))

    def spb(self, data: bytes, orig_len: int | None = None) -> Ng:
        return self.block(3, self._u("I", len(data) if orig_len is None else orig_len) + data)

    def pb(self, iface: int, ticks: int, data: bytes, drops: int = 0) -> Ng:
        body = self._u("HHIIII", iface, drops, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                       len(data))
        return self.block(2, body + pad4(data))

    def nrb(self) -> Ng:
        rec = self._u("HH", 1, 4 + 9) + pad4(bytes([10, 0, 0, 1]) + b"plc1.lan\0")
        return self.block(4, rec + self._u("HH", 0, 0))

    def isb(self, iface: int = 0) -> Ng:
        return self.block(5, self._u("IIII", iface, 0, 0, 0)
                          + self.options([(4, self._u("Q", 12))]))  # isb_ifrecv

    def dsb(self) -> Ng:
        secret = b"CLIENT_RANDOM 00 11\n"
        return self.block(0x0000000A, self._u("II", 0x544C534B, len(secret)) + pad4(secret))

    def custom(self) -> Ng:
        return self.block(0x00000BAD, self._u("I", 32473) + b"vendor data")

    def unknown(self, btype: int = 0x0000_0F00) -> Ng:
        return self.block(btype, b"\x01\x02\x03\x04")

    def raw(self, data: bytes) -> Ng:
        self.parts.append(data)
        return self

    def bytes(self) -> bytes:
        return b"".join(self.parts)

    def offsets(self) -> list[int]:
        """File offset of every block added so far (and of the end of the file, last)."""
        offs = [0]
        for p in self.parts:
            offs.append(offs[-1] + len(p))
        return offs


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def frame(i: int, size: int = 60) -> bytes:
    """A recognisable frame: a 2-byte index, then a pattern, ``size`` bytes in total."""
    body = struct.pack("!H", i & 0xFFFF) + bytes((i * 7 + k) & 0xFF for k in range(size))
    return body[:size]

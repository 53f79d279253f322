"""Capture files: pcap and pcapng, plain or gzip-compressed, read as a stream of frames.

``open_capture(path)`` looks at the first bytes, raises :class:`~otshield.errors.NotACaptureError`
when the file is not a capture and returns a :class:`CaptureReader`: an iterator (once) over
``(ts, linktype, frame)`` where ``ts`` is packet time in epoch seconds. Memory stays flat: the file
is read in 1 MiB chunks with a rolling buffer, gzip is decompressed as it is read, and nothing
bounds the file size. A damaged file never raises out of iteration: every complete record before
the damage is yielded, then ``error`` (and for a short file ``truncated``) says what happened.

Formats (section numbers of the IETF OPSAWG drafts):

* pcap, draft-ietf-opsawg-pcap §4 File Header, §5 Packet Record: magic 0xA1B2C3D4
  (microseconds) or 0xA1B23C4D (nanoseconds) in either byte order; the LinkType field carries the
  FCS length in its upper bits (§4: FCS len = 16-bit words, P = "FCS length present"), which is
  masked off, and that many bytes of frame check sequence are cut off every frame. The
  Kuznetzov "modified pcap" variant (magic 0xA1B2CD34, 24-byte record header) is read too.
* pcapng, draft-ietf-opsawg-pcapng §3.1 General Block Structure, §4.1 Section Header Block
  (several sections, each with its own byte order and interfaces), §4.2 Interface Description
  Block (link type, snap length, options if_tsresol, if_tsoffset, if_fcslen), §4.3 Enhanced
  Packet Block (option epb_flags for a per-packet FCS length), §4.4 Simple Packet Block
  (interface 0, no time stamp: the last time stamp seen is used), Appendix A obsolete Packet
  Block. Name resolution, interface statistics, decryption secrets, custom and unknown blocks are
  skipped.

Time stamps are the exact capture time rounded once to a float (about 0.24 us resolution
around the present epoch, so nanosecond files lose their last digits). A pcap record whose
captured length exceeds the file's snap length (or 256 KiB) is treated as corruption, which is
stricter than Wireshark but is what tells a damaged file from a valid one.

The record loop is the hot path of offline analysis: records are parsed with precompiled
``struct.Struct.unpack_from`` straight out of the chunk and handed out in batches of one 32 KiB
window through ``itertools.chain``, so the consumer's ``next()`` runs in C (about 1.5 million
records per second on one core for pcap, 1 million for pcapng).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import operator
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

from otshield.errors import CaptureError, NotACaptureError

__all__ = [
    "MAX_BLOCK_BYTES",
    "MAX_RECORD_BYTES",
    "CaptureReader",
    "Record",
    "describe_head",
    "open_capture",
]

Record = tuple[float, int, bytes]
"""``(ts, linktype, frame)``: packet time in epoch seconds, LINKTYPE_* value, captured bytes."""

MAX_RECORD_BYTES = 262_144
"""Largest captured length accepted (libpcap's maximum snap length); more means corruption."""
MAX_BLOCK_BYTES = 16 * 1024 * 1024
"""Largest pcapng block accepted (name resolution and secrets blocks can exceed one packet)."""

_CHUNK = 1 << 20  # read size; also bounds how much is held besides one oversized block
_WINDOW = 1 << 15  # bytes of records per handed-out batch
_EMPTY: Iterator[Record] = iter(())

# pcap (draft-ietf-opsawg-pcap §4): first four bytes -> (byte order, nanoseconds?, record
# header size)
_PCAP_MAGIC: dict[bytes, tuple[str, bool, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24),  # Kuznetzov: + ifindex, protocol, pkt_type, pad
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}
_PCAP_HEADER_LEN = 24
_LT_FCS_PRESENT = 0x04000000  # "P" bit of the LinkType field
_LT_FCS_SHIFT = 28  # "FCS len" (4 bits, in 16-bit words) sits in the top nibble

# pcapng block types (draft-ietf-opsawg-pcapng §3.2, §4, Appendix A)
_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_PB = 0x00000002
_SPB = 0x00000003
_EPB = 0x00000006
_BLOCK_NAMES: dict[int, str] = {
    _SHB: "section header", _IDB: "interface description", _PB: "packet",
    _SPB: "simple packet", 0x00000004: "name resolution", 0x00000005: "interface statistics",
    _EPB: "enhanced packet", 0x00000009: "systemd journal export",
    0x0000000A: "decryption secrets", 0x00000BAD: "custom", 0x40000BAD: "custom",
}
_BOM = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}  # byte-order magic 0x1A2B3C4D
_OPT_EPB_FLAGS, _OPT_IF_TSRESOL, _OPT_IF_FCSLEN, _OPT_IF_TSOFFSET = 2, 9, 13, 14

# What else a file might be, for the "not a capture" message: leading bytes -> description.
_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"GMBU", "a Microsoft Network Monitor 2.x capture (not supported; convert with editcap)"),
    (b"RTSS", "a Microsoft Network Monitor 1.x capture (not supported; convert with editcap)"),
    (b"snoop\0\0\0", "a Sun snoop capture (not supported; convert with editcap)"),
    (b"XCP\0", "a NetXRay/Sniffer capture (not supported; convert with editcap)"),
    (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"BZh", "bzip2-compressed data (decompress it first)"),
    (b"\xfd7zXZ\0", "xz-compressed data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first)"),
    (b"\x04\x22\x4d\x18", "lz4-compressed data (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first)"),
    (b"\x7fELF", "an ELF executable"),
    (b"%PDF", "a PDF document"),
)

_Reader = Callable[[int], bytes]
_PACKET_BLOCKS = frozenset((_EPB, _PB, _SPB))
_TIMED_BLOCKS = frozenset((_EPB, _PB))


class _Closable(Protocol):
    def close(self) -> None: ...


class CaptureReader:
    """Frames of one capture file, iterable once: ``for ts, linktype, frame in reader``.

    After iteration ``error`` is None when the file was read to its end cleanly; otherwise it
    says why reading stopped early, and ``truncated`` tells a file cut short (the usual case
    for a capture copied while still being written) from a corrupt one.
    """

    path: Path
    format: str
    """``pcap`` or ``pcapng``, with ``+gzip`` when the file is gzip-compressed."""
    truncated: bool
    """The file (or the compressed stream) ended inside a record; the partial one is dropped."""
    error: str | None
    """Why reading stopped before the end of the file; None when it did not."""

    def __init__(self, path: Path, fmt: str, read: _Reader, head: bytes,
                 closers: tuple[_Closable, ...], tell: Callable[[], int] | None = None) -> None:
        self.path = path
        self.format = fmt
        self.truncated = False
        self.error = None
        self._read = read
        self._head = head
        self._closers = closers
        self._tell = tell  # position in the file on disk when it differs from bytes consumed
        self._consumed = len(head)
        self._done = 0  # records in batches already handed out completely
        self._cur_len = 0
        self._cur: Iterator[Record] = _EMPTY
        self._stream_error: str | None = None
        self._stream_truncated = False
        self._iter: Iterator[Record] = itertools.chain.from_iterable(self._batches())

    # -- the iteration contract ---------------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        return self._iter

    def __next__(self) -> Record:
        return next(self._iter)

    @property
    def packets(self) -> int:
        """Records yielded so far."""
        return self._done + self._cur_len - operator.length_hint(self._cur)

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for gzip), for progress."""
        if self._tell is None:
            return self._consumed
        try:
            return self._tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Release the file; iteration after this ends (with ``error`` set if records remained)."""
        for fh in self._closers:
            # closing a damaged gzip stream can complain; the file is released anyway
            with contextlib.suppress(OSError, ValueError, EOFError, zlib.error):
                fh.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<CaptureReader {self.format} {str(self.path)!r} packets={self.packets}"
                f"{' error=' + repr(self.error) if self.error else ''}>")

    # -- helpers for the format loops ----------------------------------------------------------
    def _batches(self) -> Iterator[Iterator[Record]]:
        raise NotImplementedError

    def _hand_out(self, batch: list[Record]) -> Iterator[Record]:
        """Make ``batch`` the current one (``packets`` counts into it as it is consumed)."""
        self._done += self._cur_len
        self._cur_len = len(batch)
        self._cur = it = iter(batch)
        return it

    def _finish(self) -> None:
        self._done += self._cur_len
        self._cur_len = 0
        self._cur = _EMPTY

    def _more(self, leftover: bytes, need: int) -> bytes:
        """``leftover`` plus at least ``need`` bytes in total if the file has them, reading in
        chunks and joining once (so a big block costs one copy, not one per chunk)."""
        parts = [leftover]
        have = len(leftover)
        while True:
            chunk = self._read_chunk(max(_CHUNK, need - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
            if have >= need:
                break
        return b"".join(parts) if len(parts) > 1 else leftover

    def _read_chunk(self, size: int) -> bytes:
        if self._stream_error is not None:
            return b""
        try:
            data = self._read(size)
        except EOFError:
            self._stream_error = "the gzip stream ends before its end marker"
            self._stream_truncated = True
            return b""
        except (OSError, ValueError, zlib.error) as exc:
            # BadGzipFile (CRC, trailing garbage) is an OSError; ValueError: read after close()
            reason = "the file was closed" if isinstance(exc, ValueError) else str(exc)
            self._stream_error = f"read error: {reason}"
            return b""
        self._consumed += len(data)
        return data

    def _end(self, leftover_at: int | None, what: str) -> None:
        """The input ended; ``leftover_at`` is the offset of an incomplete record, if any."""
        self._finish()
        stream_error = self._stream_error
        if stream_error is not None and not self._stream_truncated:
            # reading failed (I/O error, corrupt gzip data): the file is damaged, not short
            self.error = stream_error if leftover_at is None else (
                f"{stream_error} (inside {what} at offset {leftover_at})")
        elif leftover_at is not None:
            self.truncated = True
            msg = f"file ends inside {what} at offset {leftover_at}"
            self.error = f"{msg} ({stream_error})" if stream_error else msg
        elif stream_error is not None:
            self.truncated = True
            self.error = stream_error

    def _corrupt(self, offset: int, detail: str) -> None:
        self._finish()
        self.error = f"corrupt record at offset {offset}: {detail}"


class _PcapReader(CaptureReader):
    """Classic pcap (and its Kuznetzov variant)."""

    def __init__(self, path: Path, fmt: str, read: _Reader, head: bytes,
                 closers: tuple[_Closable, ...], tell: Callable[[], int] | None = None) -> None:
        super().__init__(path, fmt, read, head, closers, tell)
        order, nano, self._hlen = _PCAP_MAGIC[head[:4]]
        _, _, _, _, snaplen, lt_field = struct.unpack_from(order + "HHiIII", head, 4)
        self.snaplen: int = snaplen
        self.linktype: int = lt_field & 0xFFFF
        self.nanosecond: bool = nano
        # FCS bytes at the end of every frame (the FCS length is counted in 16-bit words)
        self.fcs_bytes: int = ((lt_field >> _LT_FCS_SHIFT) & 0xF) * 2 \
            if lt_field & _LT_FCS_PRESENT else 0
        # The fraction is read signed, as Wireshark ends up reading it: a few writers store a
        # negative sub-second part (malcolm-pcap/it/DHCP.pcap frame 72: -268432 us), which is
        # a moment just before ``sec``, not 71 minutes after it.
        self._rec = struct.Struct(order + "IiII")
        # ts = sec + frac / 1e6 (or 1e9) is the correctly rounded float of the exact time even
        # though it rounds twice: frac/1e6 is off by at most 2**-54, while for sec >= 2**20
        # (any date after 13 January 1970) the exact time lies either on a rounding midpoint
        # (then frac/1e6 is exact) or at least 512/(1e9 * 2**33) > 2**-54 away from it (the
        # numerator of a 6- or 9-digit decimal minus a midpoint is a multiple of 64 or 512), so
        # the second rounding cannot flip. Tests check it against exact fractions.
        self._div = 1e9 if nano else 1e6
        # A snap length of 0 (or an absurd one) from some writers means "no limit"
        self._limit = snaplen if 0 < snaplen < MAX_RECORD_BYTES else MAX_RECORD_BYTES

    def _batches(self) -> Iterator[Iterator[Record]]:
        unpack = self._rec.unpack_from
        hlen, div, lt, limit = self._hlen, self._div, self.linktype, self._limit
        fcs = self.fcs_bytes
        buf = self._head[_PCAP_HEADER_LEN:]
        self._head = b""
        base = _PCAP_HEADER_LEN  # file offset of buf[0]
        while True:
            n = len(buf)
            last = n - hlen  # the last offset where a whole record header fits
            off = 0
            caplen = -1  # >= 0 after the loop: the record at ``off`` is incomplete or corrupt
            while True:
                # Hand records out a window at a time: short-lived batches keep the garbage
                # collector's young generation small (measured: ~2x faster than 1 MiB batches).
                stop = off + _WINDOW if off + _WINDOW < last else last
                batch: list[Record] = []
                append = batch.append
                if fcs:
                    while off <= stop:
                        sec, frac, caplen, orig = unpack(buf, off)
                        start = off + hlen
                        end = start + caplen
                        if end > n or caplen > limit:
                            break
                        append((sec + frac / div, lt,
                                buf[start:start + _without_fcs(caplen, orig, fcs)]))
                        off = end
                        caplen = -1
                else:
                    while off <= stop:
                        sec, frac, caplen, _ = unpack(buf, off)
                        start = off + hlen
                        end = start + caplen
                        if end > n or caplen > limit:
                            break
                        append((sec + frac / div, lt, buf[start:end]))
                        off = end
                        caplen = -1
                if batch:
                    yield self._hand_out(batch)
                if caplen >= 0 or off > last:
                    break
            if caplen > limit:
                why = (f"captured length {caplen} exceeds the snap length {self.snaplen}"
                       if caplen <= MAX_RECORD_BYTES else
                       f"captured length {caplen} exceeds {MAX_RECORD_BYTES}")
                self._corrupt(base + off, f"record {self._done + self._cur_len + 1}: {why}")
                return
            need = hlen + caplen if caplen >= 0 else hlen
            leftover = buf[off:] if off else buf
            base += off
            buf = self._more(leftover, need)
            if len(buf) == len(leftover):  # nothing more to read
                self._end(base if leftover else None,
                          f"record {self._done + self._cur_len + 1}")
                return


class _Interface:
    """What a pcapng Interface Description Block says about the packets that name it."""

    __slots__ = ("div", "fcs", "linktype", "snaplen", "tsoffset_ticks")

    def __init__(self, linktype: int, snaplen: int) -> None:
        self.linktype = linktype
        self.snaplen = snaplen
        self.div = 1_000_000  # if_tsresol default: microseconds (§4.2)
        self.tsoffset_ticks = 0  # if_tsoffset (seconds) in ticks, so one division stays exact
        self.fcs = 0


class _PcapngReader(CaptureReader):
    """pcapng: sections, interfaces, packet blocks."""

    def __init__(self, path: Path, fmt: str, read: _Reader, head: bytes,
                 closers: tuple[_Closable, ...], tell: Callable[[], int] | None = None) -> None:
        super().__init__(path, fmt, read, head, closers, tell)
        self.sections = 0
        """Section header blocks seen."""
        self.interfaces = 0
        """Interfaces described, over all sections."""

    def _batches(self) -> Iterator[Iterator[Record]]:
        buf = self._head
        self._head = b""
        base = 0  # file offset of buf[0]
        ifaces: list[_Interface] = []
        fast: list[tuple[int, int, int, int]] = []  # per interface: linktype, div, offset, fcs
        nif = 0  # len(fast), kept in a local for the fast path
        order = _BOM[buf[8:12]]  # open_capture checked the first section header
        hdr, u32, epb, pb = _ng_structs(order)
        epb_whole = struct.Struct(order + "IIIIIII")  # block header + EPB fixed part at once
        last_ts = 0.0
        count = 0  # records put in batches so far
        while True:
            n = len(buf)
            last = n - 12  # the last offset where a block header and its trailer could fit
            off = 0
            need = 12
            bad: str | None = None
            while True:  # one window of blocks per batch (see _PcapReader)
                stop = off + _WINDOW if off + _WINDOW < last else last
                batch: list[Record] = []
                append = batch.append
                while off <= stop:
                    # Fast path: an enhanced packet block on a known interface, all sane. The
                    # general path below repeats these checks to say what is wrong.
                    if off + 28 <= n:
                        btype, blen, iid, hi, lo, caplen, orig = epb_whole.unpack_from(buf, off)
                        if btype == _EPB and iid < nif:
                            end = off + blen
                            room = blen - 32 - ((caplen + 3) & ~3)  # bytes of options
                            if (room >= 0 and end <= n and not blen & 3
                                    and caplen <= MAX_RECORD_BYTES and blen <= MAX_BLOCK_BYTES
                                    and u32.unpack_from(buf, end - 4)[0] == blen):
                                lt, div, tsoff, fcs = fast[iid]
                                if room:  # options: epb_flags may give an FCS length
                                    fcs = _flags_fcs(buf, end - 4 - room, end - 4, order) or fcs
                                if fcs:
                                    caplen = _without_fcs(caplen, orig, fcs)
                                # one correctly rounded division of exact integers
                                last_ts = ts = (hi * 4294967296 + lo + tsoff) / div
                                append((ts, lt, buf[off + 28:off + 28 + caplen]))
                                count += 1
                                off = end
                                continue
                    # General path: every other block, and the checks that name what is wrong.
                    btype, blen = hdr.unpack_from(buf, off)
                    if btype == _SHB:
                        # the type is a palindrome; the byte-order magic decides how to read
                        # the length, and every block of the section
                        bo = _BOM.get(buf[off + 8:off + 12])
                        if bo is None:
                            bad = "section header block with an invalid byte-order magic"
                            break
                        if bo != order:
                            order = bo
                            hdr, u32, epb, pb = _ng_structs(order)
                            epb_whole = struct.Struct(order + "IIIIIII")
                            blen = u32.unpack_from(buf, off + 4)[0]
                    if blen < 12 or blen & 3 or blen > MAX_BLOCK_BYTES:
                        bad = f"{_block_name(btype)} block: length {blen} is " + (
                            "below 12" if blen < 12 else f"above {MAX_BLOCK_BYTES}"
                            if blen > MAX_BLOCK_BYTES else "not a multiple of 4")
                        break
                    end = off + blen
                    if end > n:
                        need = blen
                        break
                    trailer = u32.unpack_from(buf, end - 4)[0]
                    if trailer != blen:
                        bad = (f"{_block_name(btype)} block: trailing length {trailer} differs "
                               f"from the leading {blen}")
                        break
                    if btype in _TIMED_BLOCKS:
                        rec_or_why = _timed_packet(buf, off, blen, btype, epb, pb, ifaces, order)
                        if isinstance(rec_or_why, str):
                            bad = f"record {count + 1}: {rec_or_why}"
                            break
                        last_ts = rec_or_why[0]
                        append(rec_or_why)
                        count += 1
                    elif btype == _SPB:
                        rec_or_why = _simple_packet(buf, off, blen, u32, ifaces, last_ts)
                        if isinstance(rec_or_why, str):
                            bad = f"record {count + 1}: {rec_or_why}"
                            break
                        append(rec_or_why)
                        count += 1
                    elif btype == _IDB:
                        itf_or_why = _parse_idb(buf, off, end, order)
                        if isinstance(itf_or_why, str):
                            bad = itf_or_why
                            break
                        ifaces.append(itf_or_why)
                        fast.append((itf_or_why.linktype, itf_or_why.div,
                                     itf_or_why.tsoffset_ticks, itf_or_why.fcs))
                        nif += 1
                        self.interfaces += 1
                    elif btype == _SHB:
                        if blen < 28:
                            bad = f"section header block of {blen} bytes is too short"
                            break
                        major, minor = struct.unpack_from(order + "HH", buf, off + 12)
                        if major != 1:
                            bad = f"unsupported pcapng version {major}.{minor}"
                            break
                        ifaces = []  # interface ids count from 0 again in every section (§4.1)
                        fast = []
                        nif = 0
                        self.sections += 1
                    # every other block (name resolution, statistics, secrets, custom, unknown)
                    # is skipped whole, as §3.1 asks of readers
                    off = end
                if batch:
                    yield self._hand_out(batch)
                if bad is not None or need > 12 or off > last:
                    break
            if bad is not None:
                self._corrupt(base + off, bad)
                return
            leftover = buf[off:] if off else buf
            base += off
            buf = self._more(leftover, need)
            if len(buf) == len(leftover):
                if len(leftover) >= 8:
                    btype = hdr.unpack_from(leftover, 0)[0]
                    kind = _block_name(btype)
                    what = (f"record {count + 1}" if btype in _PACKET_BLOCKS else
                            f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} block "
                            f"(after record {count})")
                else:
                    what = f"a block header (after record {count})"
                self._end(base if leftover else None, what)
                return


def _timed_packet(buf: bytes, off: int, blen: int, btype: int, epb: struct.Struct,
                  pb: struct.Struct, ifaces: list[_Interface], order: str) -> Record | str:
    """An enhanced (§4.3) or obsolete (Appendix A) packet block, or why it is corrupt."""
    if blen < 32:
        return f"{_block_name(btype)} block of {blen} bytes"
    if btype == _EPB:
        iid, hi, lo, caplen, orig = epb.unpack_from(buf, off + 8)
    else:
        iid, _drops, hi, lo, caplen, orig = pb.unpack_from(buf, off + 8)
    padded = (caplen + 3) & ~3
    if 32 + padded > blen:
        return f"captured length {caplen} does not fit its {blen}-byte block"
    if caplen > MAX_RECORD_BYTES:
        return f"captured length {caplen} exceeds {MAX_RECORD_BYTES}"
    if iid >= len(ifaces):
        return f"names interface {iid} but the section describes {len(ifaces)}"
    itf = ifaces[iid]
    start = off + 28
    fcs = itf.fcs
    if 32 + padded < blen:  # options: epb_flags / pack_flags may give an FCS length
        fcs = _flags_fcs(buf, start + padded, off + blen - 4, order) or fcs
    if fcs:
        caplen = _without_fcs(caplen, orig, fcs)
    ts = (((hi << 32) | lo) + itf.tsoffset_ticks) / itf.div
    return (ts, itf.linktype, buf[start:start + caplen])


def _simple_packet(buf: bytes, off: int, blen: int, u32: struct.Struct,
                   ifaces: list[_Interface], last_ts: float) -> Record | str:
    """A simple packet block (§4.4): interface 0, no time stamp (the last one seen is used)."""
    if blen < 16:
        return f"simple packet block of {blen} bytes"
    if not ifaces:
        return "simple packet block before any interface description"
    itf = ifaces[0]
    orig = u32.unpack_from(buf, off + 8)[0]
    # no captured length field: the smallest of the original length, the room in the block
    # and the interface's snap length
    caplen = min(orig, blen - 16, itf.snaplen or MAX_RECORD_BYTES)
    if itf.fcs:
        caplen = _without_fcs(caplen, orig, itf.fcs)
    return (last_ts, itf.linktype, buf[off + 12:off + 12 + caplen])


def _ng_structs(order: str) -> tuple[struct.Struct, struct.Struct, struct.Struct, struct.Struct]:
    """Block header, u32, EPB fixed part, obsolete PB fixed part, in one section's byte order."""
    return (struct.Struct(order + "II"), struct.Struct(order + "I"),
            struct.Struct(order + "IIIII"), struct.Struct(order + "HHIIII"))


def _block_name(btype: int) -> str:
    return _BLOCK_NAMES.get(btype, f"unknown (type 0x{btype:08x})")


def _without_fcs(caplen: int, orig: int, fcs: int) -> int:
    """Captured bytes that remain once the FCS (the last ``fcs`` bytes of the original frame)
    is cut off; a snapped frame may have lost the FCS already."""
    keep = orig - fcs
    return caplen if caplen <= keep else max(keep, 0)


def _parse_idb(buf: bytes, off: int, end: int, order: str) -> _Interface | str:
    """An Interface Description Block (§4.2) or the reason it is corrupt."""
    if end - off < 20:
        return f"interface description block of {end - off} bytes is too short"
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, off + 8)
    itf = _Interface(linktype, snaplen)
    tsoffset = 0
    opts = _options(buf, off + 16, end - 4, order)
    if isinstance(opts, str):
        return f"interface description block: {opts}"
    for code, value in opts:
        if code == _OPT_IF_TSRESOL and value:
            # MSB clear: 10^-n seconds per tick; MSB set: 2^-n (§4.2 if_tsresol)
            exp = value[0] & 0x7F
            if value[0] & 0x80:
                itf.div = 1 << exp
            elif exp <= 19:  # 10^19 ticks/s already exceeds what 64 bits of ticks can use
                itf.div = 10 ** exp
            else:
                return f"interface description block: if_tsresol 10^-{exp} is not usable"
        elif code == _OPT_IF_TSOFFSET and len(value) == 8:
            tsoffset = struct.unpack_from(order + "q", value)[0]
        elif code == _OPT_IF_FCSLEN and value:
            itf.fcs = value[0]  # octets; the opsawg drafts settled on bytes for if_fcslen
    itf.tsoffset_ticks = tsoffset * itf.div  # options may come in any order
    return itf


def _options(buf: bytes, off: int, end: int, order: str) -> list[tuple[int, bytes]] | str:
    """The options between ``off`` and ``end`` (§3.5): (code, value) until opt_endofopt."""
    out: list[tuple[int, bytes]] = []
    head = struct.Struct(order + "HH")
    while off + 4 <= end:
        code, length = head.unpack_from(buf, off)
        if code == 0:
            break
        vstart = off + 4
        if vstart + length > end:
            return f"option {code} of {length} bytes runs past the end of its block"
        out.append((code, buf[vstart:vstart + length]))
        off = vstart + ((length + 3) & ~3)
    return out


def _flags_fcs(buf: bytes, off: int, end: int, order: str) -> int:
    """FCS length in octets from the epb_flags (or obsolete pack_flags) option (§4.3.1, bits
    5-8); 0 when absent."""
    opts = _options(buf, off, end, order)
    if isinstance(opts, str):
        return 0  # unreadable options do not make the packet unreadable
    for code, value in opts:
        if code == _OPT_EPB_FLAGS and len(value) == 4:
            flags: int = struct.unpack_from(order + "I", value)[0]
            return (flags >> 5) & 0xF
    return 0


def open_capture(path: Path | str) -> CaptureReader:
    """Open a pcap or pcapng file (optionally gzip-compressed) for reading.

    Raises :class:`NotACaptureError` when the file is not a capture (the message names the file
    and what its first bytes look like) and :class:`CaptureError` when it cannot be opened.
    """
    path = Path(path)
    try:
        raw: BinaryIO = open(path, "rb", buffering=0)  # noqa: SIM115 - the reader owns it
    except FileNotFoundError:
        raise CaptureError(f"cannot open capture {path}: no such file") from None
    except PermissionError:
        raise CaptureError(f"cannot open capture {path}: permission denied") from None
    except IsADirectoryError:
        raise CaptureError(f"cannot open capture {path}: it is a directory") from None
    except OSError as exc:
        raise CaptureError(f"cannot open capture {path}: {exc.strerror or exc}") from None
    try:
        return _open(path, raw)
    except BaseException:
        raw.close()
        raise


def _open(path: Path, raw: BinaryIO) -> CaptureReader:
    try:
        head = _read_at_least(raw.read, 64)
    except OSError as exc:
        raise CaptureError(f"cannot read capture {path}: {exc.strerror or exc}") from None
    closers: tuple[_Closable, ...] = (raw,)
    read: _Reader = raw.read
    tell: Callable[[], int] | None = None
    suffix = ""
    if head[:2] == b"\x1f\x8b":
        # decompress as we go; the sniffed bytes are put back in front (works on pipes too)
        gz = gzip.GzipFile(fileobj=_Prefixed(head, raw), mode="rb")
        read = gz.read1  # one decompression step per call: nothing is lost if the stream breaks
        try:
            head = _read_at_least(read, 64)
        except (OSError, EOFError, zlib.error) as exc:
            gz.close()
            raise NotACaptureError(
                f"{path}: gzip-compressed, but it does not decompress ({exc})") from None
        closers = (gz, raw)
        tell = raw.tell
        suffix = "+gzip"
    magic = head[:4]
    if magic in _PCAP_MAGIC:
        if len(head) < _PCAP_HEADER_LEN:
            return _Stub(path, "pcap" + suffix, closers,
                         f"file ends inside the pcap file header ({len(head)} of 24 bytes)")
        return _PcapReader(path, "pcap" + suffix, read, head, closers, tell)
    if magic == b"\x0a\x0d\x0d\x0a":
        if len(head) < 12:
            return _Stub(path, "pcapng" + suffix, closers,
                         f"file ends inside the pcapng section header ({len(head)} bytes)")
        if head[8:12] not in _BOM:
            raise NotACaptureError(
                f"{path}: starts like pcapng but its section header has no valid byte-order "
                f"magic (bytes 8-11: {head[8:12].hex(' ')}), so it is not a pcapng capture")
        return _PcapngReader(path, "pcapng" + suffix, read, head, closers, tell)
    if suffix:
        for c in closers:
            c.close()
        inner = "another gzip layer" if head[:2] == b"\x1f\x8b" else describe_head(head)
        raise NotACaptureError(
            f"{path}: gzip-compressed, but the content is not a pcap or pcapng capture ({inner})")
    raise NotACaptureError(f"{path}: not a pcap or pcapng capture ({describe_head(head)})")


def describe_head(head: bytes) -> str:
    """A short human description of what a file's first bytes look like."""
    if not head:
        return "the file is empty"
    shown = head[:16].hex(" ")
    for magic, desc in _OTHER_FORMATS:
        if head.startswith(magic):
            return f"looks like {desc}; first bytes {shown}"
    sample = head[:64]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sample still leaves text
        text = sample[:exc.start].decode("utf-8") if exc.start >= len(sample) - 3 else ""
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.strip().splitlines()[0] if text.strip() else text
        return f"looks like text: {first[:40]!r}"
    return f"binary data; first bytes {shown}"


def _read_at_least(read: _Reader, n: int) -> bytes:
    parts: list[bytes] = []
    have = 0
    while have < n:
        chunk = read(n - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


class _Prefixed:
    """A stream with the bytes already sniffed put back in front (no seeking: pipes work)."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = (self._head, b"") if n < 0 or n >= len(self._head) \
                else (self._head[:n], self._head[n:])
            return out
        return self._raw.read(n)

    def seek(self, n: int) -> object:
        raise OSError("a capture is read front to back")  # gzip only seeks to rewind

    def close(self) -> None:
        self._raw.close()


class _Stub(CaptureReader):
    """A capture whose header itself is cut short: no records, the reason in ``error``."""

    def __init__(self, path: Path, fmt: str, closers: tuple[_Closable, ...], why: str) -> None:
        super().__init__(path, fmt, lambda n: b"", b"", closers)
        self.truncated = True
        self.error = why

    def _batches(self) -> Iterator[Iterator[Record]]:
        return iter(())

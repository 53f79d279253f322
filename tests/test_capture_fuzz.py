"""Hypothesis fuzzing of the capture readers: random and mutated files may make ``open_capture``
raise only the CaptureError family, and iteration never raises (it sets ``error`` instead)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture_build import (
    MAGIC_KUZNETZOV,
    MAGIC_MICRO,
    MAGIC_NANO,
    Ng,
    PcapRec,
    frame,
    gz,
    pcap_bytes,
    record_offsets,
)
from otshield import capture
from otshield.capture import open_capture
from otshield.errors import CaptureError

T0 = 1_700_000_000
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _pcapng(endian: str) -> tuple[bytes, list[tuple[int, int]]]:
    ng = Ng(endian).shb().idb(1, snaplen=80).idb(101, tsresol=9, fcslen=2)
    ng.epb(0, T0 * 10**6, frame(1)).nrb().epb(1, T0 * 10**9, frame(2, 30))
    ng.spb(frame(3, 90)).isb().pb(1, T0 * 10**9 + 5, frame(4, 17))
    ng.epb(0, T0 * 10**6 + 1, frame(5), opts=[(2, b"\x40\0\0\0"), (1, b"hi")])
    ng.shb(endian=">" if endian == "<" else "<").idb(113).epb(0, 7, frame(6))
    # (end offset of every block, records complete up to there)
    ends, n = [], 0
    for part, end in zip(ng.parts, ng.offsets()[1:], strict=True):
        n += part[:4] in (b"\x06\0\0\0", b"\0\0\0\x06", b"\x03\0\0\0", b"\0\0\0\x03",
                          b"\x02\0\0\0", b"\0\0\0\x02")
        ends.append((end, n))
    return ng.bytes(), ends


def _pcap(endian: str, magic: int, lt: int = 1) -> tuple[bytes, list[tuple[int, int]]]:
    recs = [PcapRec(T0 + i, i * 1000, frame(i, 20 + 13 * i)) for i in range(6)]
    offs = record_offsets(recs, magic)
    return (pcap_bytes(recs, endian=endian, magic=magic, linktype_field=lt, snaplen=200),
            [(o, i) for i, o in enumerate(offs)])


PLAIN = [
    _pcap("<", MAGIC_MICRO), _pcap(">", MAGIC_NANO), _pcap("<", MAGIC_KUZNETZOV),
    _pcap(">", MAGIC_MICRO, (1 << 28) | 0x04000000 | 1), _pcapng("<"), _pcapng(">"),
]
BASES = [b for b, _ in PLAIN] + [gz(b) for b, _ in PLAIN[:2] + PLAIN[4:5]]


@contextlib.contextmanager
def as_file(data: bytes) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(suffix=".cap")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


def drain(data: bytes) -> tuple[list[tuple[float, int, bytes]], capture.CaptureReader | None]:
    """Open and read ``data``; only CaptureError may come out of open, nothing out of reading."""
    with as_file(data) as p:
        try:
            r = open_capture(p)
        except CaptureError:
            return [], None
        with r:
            recs = list(r)
    assert r.packets == len(recs)
    assert r.error is None or isinstance(r.error, str)
    assert not r.truncated or r.error
    for ts, lt, frm in recs:
        assert isinstance(ts, float) and isinstance(lt, int) and isinstance(frm, bytes)
        assert 0 <= lt <= 0xFFFF and len(frm) <= capture.MAX_RECORD_BYTES
    return recs, r


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
    drain(data)


@FUZZ
@given(st.sampled_from([b[:4] for b in BASES[:6]] + [b"\x1f\x8b"]), st.binary(max_size=3000))
def test_random_bytes_behind_a_valid_magic(magic: bytes, rest: bytes) -> None:
    drain(magic + rest)


@FUZZ
@given(st.sampled_from(range(len(BASES))), st.data())
def test_mutated_valid_files(which: int, data: st.DataObject) -> None:
    raw = bytearray(BASES[which])
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set" and raw:
            raw[pos] = data.draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del raw[pos:pos + data.draw(st.integers(1, 16))]
        elif kind == "cut":
            del raw[pos:]
    drain(bytes(raw))


def check_cut(which: int, cut: int) -> None:
    """A file cut at ``cut`` gives the first records of the whole file; an uncompressed one
    ends cleanly exactly when the cut falls on a record or block boundary."""
    base = BASES[which]
    full, _ = drain(base)
    part, r = drain(base[:cut])
    assert part == full[:len(part)]
    if which >= len(PLAIN):  # gzip: any cut loses at least the trailer
        assert r is None or (r.truncated and r.error) or cut == len(base)
        return
    ends = dict(PLAIN[which][1])
    if cut < 4:
        assert r is None  # not even a whole magic number: not a capture
    elif cut in ends:
        assert r is not None and r.error is None and len(part) == ends[cut]
    else:
        assert r is not None and r.truncated and r.error is not None
        assert r.error.startswith("file ends inside")
        assert len(part) == max([n for e, n in ends.items() if e < cut], default=0)


@FUZZ
@given(st.sampled_from(range(len(BASES))), st.integers(0, 10**6), st.integers(1, 64))
def test_cut_files_yield_a_prefix(which: int, cut_seed: int, chunk: int) -> None:
    """Any cut, whatever the read size."""
    old = capture._CHUNK
    capture._CHUNK = chunk
    try:
        check_cut(which, cut_seed % (len(BASES[which]) + 1))
    finally:
        capture._CHUNK = old


@pytest.mark.parametrize("which", range(len(BASES)))
def test_every_single_byte_cut_and_flip(which: int) -> None:
    """Exhaustive over positions: every cut, and every position with its top bit flipped."""
    base = BASES[which]
    for cut in range(len(base) + 1):
        check_cut(which, cut)
    for pos in range(len(base)):
        raw = bytearray(base)
        raw[pos] ^= 0x80
        drain(bytes(raw))

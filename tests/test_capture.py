"""Capture file readers: pcap, pcapng and gzip fixtures built byte by byte (tests/capture_build.py),
damaged files, files that are not captures. The expected values come from the format drafts:
timestamps are the exact time rounded once to a float (computed with Fraction here)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest

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
from otshield.capture import MAX_RECORD_BYTES, CaptureReader, open_capture
from otshield.errors import CaptureError, NotACaptureError

T0 = 1_700_000_000


def exact(sec: int, frac: int, units: int) -> float:
    """The float nearest to sec + frac/units (what the reader promises)."""
    return float(Fraction(sec) + Fraction(frac, units))


def write(tmp_path: Path, data: bytes, name: str = "c.pcap") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def read_all(path: Path) -> tuple[CaptureReader, list[tuple[float, int, bytes]]]:
    r = open_capture(path)
    recs = list(r)
    r.close()
    return r, recs


# -- pcap --------------------------------------------------------------------------------------

RECS = [
    PcapRec(T0, 0, frame(0, 60)),
    PcapRec(T0, 999_999, frame(1, 1514)),  # last microsecond of the second
    PcapRec(T0 + 1, 123_456, frame(2, 1)),  # a one-byte frame
    PcapRec(T0 + 1, 123_457, b""),  # an empty record is legal
    PcapRec(T0 + 5, 500_000, frame(4, 9000)),  # jumbo
]


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("magic", [MAGIC_MICRO, MAGIC_NANO, MAGIC_KUZNETZOV])
def test_pcap_variants(tmp_path: Path, endian: str, magic: int) -> None:
    recs = [PcapRec(r.sec, r.frac * (1000 if magic == MAGIC_NANO else 1) + (
        7 if magic == MAGIC_NANO else 0), r.data) for r in RECS]
    p = write(tmp_path, pcap_bytes(recs, endian=endian, magic=magic, linktype_field=1))
    r, got = read_all(p)
    units = 1_000_000_000 if magic == MAGIC_NANO else 1_000_000
    assert got == [(exact(x.sec, x.frac, units), 1, x.data) for x in recs]
    assert r.format == "pcap" and r.error is None and not r.truncated
    assert r.packets == len(recs)
    assert r.linktype == 1 and r.snaplen == 262144


def test_pcap_linktype_from_header(tmp_path: Path) -> None:
    p = write(tmp_path, pcap_bytes(RECS[:2], linktype_field=113))  # Linux cooked capture
    _, got = read_all(p)
    assert [lt for _, lt, _ in got] == [113, 113]


def test_pcap_timestamp_rounding_is_exact(tmp_path: Path) -> None:
    # every microsecond of a second, and nanoseconds near the float resolution
    micro = [PcapRec(T0 + 86_400 * 365, us, b"x") for us in range(0, 1_000_000, 997)]
    micro += [PcapRec(random.Random(us).randrange(2**20, 2**32), us, b"")
              for us in range(0, 1_000_000, 331)]
    _, got = read_all(write(tmp_path, pcap_bytes(micro)))
    assert [ts for ts, _, _ in got] == [exact(r.sec, r.frac, 10**6) for r in micro]
    rng = random.Random(5)
    nano = [PcapRec(4_000_000_000, ns, b"x") for ns in (0, 1, 119, 120, 121, 999_999_999)]
    nano += [PcapRec(rng.randrange(2**20, 2**32), rng.randrange(10**9), b"") for _ in range(3000)]
    _, got = read_all(write(tmp_path, pcap_bytes(nano, magic=MAGIC_NANO), "n.pcap"))
    assert [ts for ts, _, _ in got] == [exact(r.sec, r.frac, 10**9) for r in nano]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_fcs_bits_masked_and_fcs_stripped(tmp_path: Path, endian: str) -> None:
    body = [frame(i, 64) for i in range(3)]
    fcs = b"\xde\xad\xbe\xef"
    recs = [
        PcapRec(T0, 1, body[0] + fcs),  # whole frame with its 4-byte FCS
        PcapRec(T0, 2, (body[1] + fcs)[:40], orig_len=68),  # snapped: FCS never captured
        PcapRec(T0, 3, (body[2] + fcs)[:66], orig_len=68),  # snapped inside the FCS
    ]
    # LinkType field: FCS len = 2 (16-bit words = 4 bytes) in the top nibble, P bit, Ethernet
    field = (2 << 28) | 0x04000000 | 1
    r, got = read_all(write(tmp_path, pcap_bytes(recs, endian=endian, linktype_field=field)))
    assert r.linktype == 1 and r.fcs_bytes == 4
    assert [f for _, _, f in got] == [body[0], body[1][:40], body[2]]
    assert {lt for _, lt, _ in got} == {1}


def test_pcap_fcs_length_without_p_bit_is_ignored(tmp_path: Path) -> None:
    field = (2 << 28) | 1  # FCS length bits but "present" not set: no FCS information
    _, got = read_all(write(tmp_path, pcap_bytes(RECS[:1], linktype_field=field)))
    assert got[0][1:] == (1, RECS[0].data)


def test_pcap_caplen_above_snaplen_is_corrupt(tmp_path: Path) -> None:
    recs = [PcapRec(T0, i, frame(i, 100)) for i in range(3)]
    recs.append(PcapRec(T0, 3, frame(3, 200)))  # 200 > snaplen 128
    recs.append(PcapRec(T0, 4, frame(4, 100)))
    p = write(tmp_path, pcap_bytes(recs, snaplen=128))
    r, got = read_all(p)
    assert len(got) == 3 and r.packets == 3
    off = record_offsets(recs)[3]
    assert r.error is not None and r.error.startswith(f"corrupt record at offset {off}")
    assert "record 4" in r.error and "snap length 128" in r.error
    assert not r.truncated


def test_pcap_caplen_above_256k_is_corrupt_even_without_snaplen(tmp_path: Path) -> None:
    good = PcapRec(T0, 0, frame(0, 60))
    data = pcap_bytes([good, PcapRec(T0, 1, b"", caplen=MAX_RECORD_BYTES + 1)], snaplen=0)
    r, got = read_all(write(tmp_path, data + b"\0" * 300_000))
    assert [f for _, _, f in got] == [good.data]
    assert r.error == (f"corrupt record at offset {24 + 16 + 60}: record 2: captured length "
                       f"{MAX_RECORD_BYTES + 1} exceeds {MAX_RECORD_BYTES}")


def test_pcap_snaplen_zero_means_no_limit_below_256k(tmp_path: Path) -> None:
    recs = [PcapRec(T0, 0, frame(0, MAX_RECORD_BYTES)), PcapRec(T0, 1, frame(1, 70_000))]
    r, got = read_all(write(tmp_path, pcap_bytes(recs, snaplen=0)))
    assert r.error is None and [f for _, _, f in got] == [x.data for x in recs]


@pytest.mark.parametrize("magic", [MAGIC_MICRO, MAGIC_KUZNETZOV])
def test_pcap_truncated_at_every_kind_of_cut(tmp_path: Path, magic: int) -> None:
    recs = [PcapRec(T0, i, frame(i, 50 + i)) for i in range(4)]
    data = pcap_bytes(recs, magic=magic)
    offs = record_offsets(recs, magic)
    hlen = 24 if magic == MAGIC_KUZNETZOV else 16
    cuts = {
        offs[2] + 1: 2,  # one byte of the third record header
        offs[2] + hlen - 1: 2,  # all but one byte of the header
        offs[2] + hlen: 2,  # header, no data
        offs[3] - 1: 2,  # all but the last data byte
        offs[3]: 3,  # exactly at a record boundary: clean, three records
        len(data) - 1: 3,  # inside the last record
    }
    for cut, complete in cuts.items():
        r, got = read_all(write(tmp_path, data[:cut], f"cut{cut}.pcap"))
        assert [f for _, _, f in got] == [x.data for x in recs[:complete]], cut
        assert r.packets == complete
        if cut in offs:
            assert r.error is None and not r.truncated
        else:
            assert r.truncated, cut
            assert r.error == f"file ends inside record {complete + 1} at offset {offs[complete]}"


@pytest.mark.parametrize("cut", [4, 10, 23])
def test_pcap_truncated_inside_file_header(tmp_path: Path, cut: int) -> None:
    r, got = read_all(write(tmp_path, pcap_bytes(RECS)[:cut]))
    assert got == [] and r.truncated and r.error is not None
    assert "file header" in r.error


def test_records_across_chunks_and_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    recs = [PcapRec(T0 + i // 1000, i % 1000, frame(i, rng.choice([0, 1, 59, 60, 1514, 4000])))
            for i in range(4000)]
    recs.insert(1500, PcapRec(T0 + 9, 0, frame(99, MAX_RECORD_BYTES)))  # larger than a window
    data = pcap_bytes(recs)
    assert len(data) > 3 * 2**20  # several 1 MiB chunks
    expected = [(exact(x.sec, x.frac, 10**6), 1, x.data) for x in recs]
    p = write(tmp_path, data)
    assert read_all(p)[1] == expected
    # tiny chunks and windows: every record straddles a read boundary somewhere
    monkeypatch.setattr(capture, "_CHUNK", 13)
    monkeypatch.setattr(capture, "_WINDOW", 50)
    r, got = read_all(p)
    assert got == expected and r.error is None
    # the same through gzip (read1 hands back arbitrary piece sizes)
    r, got = read_all(write(tmp_path, gz(data), "c.pcap.gz"))
    assert got == expected and r.error is None and r.format == "pcap+gzip"


def test_packets_counts_what_was_yielded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "_WINDOW", 1000)  # many batches
    recs = [PcapRec(T0, i, frame(i, 100)) for i in range(200)]
    r = open_capture(write(tmp_path, pcap_bytes(recs)))
    assert r.packets == 0
    for i, _ in enumerate(r, 1):
        assert r.packets == i
    assert r.packets == 200 and r.position == len(pcap_bytes(recs))


def test_iterable_once_and_context_manager(tmp_path: Path) -> None:
    with open_capture(write(tmp_path, pcap_bytes(RECS))) as r:
        assert len(list(r)) == len(RECS)
        assert list(r) == []  # exhausted, like any iterator
        assert iter(r) is iter(r)


def test_close_mid_iteration_stops_without_raising(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "_CHUNK", 4096)
    monkeypatch.setattr(capture, "_WINDOW", 1024)
    recs = [PcapRec(T0, i, frame(i, 500)) for i in range(100)]
    r = open_capture(write(tmp_path, pcap_bytes(recs)))
    it = iter(r)
    next(it)
    r.close()
    rest = list(it)  # what was already read in memory may still come out
    assert 1 + len(rest) < 100
    assert r.error is not None and r.error.startswith("read error: the file was closed")
    assert not r.truncated


def test_memory_stays_flat_on_a_big_file(tmp_path: Path) -> None:
    recs = [PcapRec(T0, i % 10**6, frame(i, 1400)) for i in range(300)]
    p = tmp_path / "big.pcap"
    with p.open("wb") as fh:
        fh.write(pcap_bytes([]))
        one = pcap_bytes(recs)[24:]
        for _ in range(80):  # ~34 MB
            fh.write(one)
    tracemalloc.start()
    try:
        n = 0
        for _ in open_capture(p):
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 24_000
    assert peak < 6 * 2**20, f"peak {peak} bytes while reading a {p.stat().st_size}-byte file"


# -- pcapng ------------------------------------------------------------------------------------


def two_interface_capture(endian: str = "<") -> tuple[bytes, list[tuple[float, int, bytes]]]:
    """SHB; IDB 0 Ethernet (default microseconds, snaplen 100); IDB 1 raw IP with nanosecond
    resolution and a time offset; IDB 2 Ethernet with 2^-20 s ticks; then every packet block
    kind, with skipped blocks in between."""
    ng = Ng(endian).shb(opts=[(4, b"otshield tests")])  # shb_userappl
    ng.idb(1, snaplen=100)
    ng.idb(101, tsresol=9, tsoffset=-3600)
    ng.idb(1, tsresol=0x80 | 20)
    exp: list[tuple[float, int, bytes]] = []
    t_us = T0 * 10**6 + 250_001
    ng.epb(0, t_us, frame(1, 60))
    exp.append((exact(T0, 250_001, 10**6), 1, frame(1, 60)))
    ng.nrb().isb(0).dsb().custom().unknown()
    t_ns = T0 * 10**9 + 123_456_789
    ng.epb(1, t_ns, frame(2, 40), opts=[(1, b"a comment")])  # opt_comment: not the FCS
    exp.append((float(Fraction(t_ns, 10**9) - 3600), 101, frame(2, 40)))
    t_b = (T0 << 20) + 3  # 3 * 2^-20 s after T0
    ng.epb(2, t_b, frame(3, 70))
    exp.append((float(Fraction(t_b, 2**20)), 1, frame(3, 70)))
    # simple packet block: interface 0 (snaplen 100), no time stamp: the last one seen
    ng.spb(frame(4, 150), orig_len=150)
    exp.append((exp[-1][0], 1, frame(4, 150)[:100]))
    ng.spb(frame(5, 61))  # 61 bytes, padded to 64 in the block: orig length wins
    exp.append((exp[-1][0], 1, frame(5, 61)))
    # obsolete packet block (Appendix A) on interface 1
    ng.pb(1, t_ns + 1, frame(6, 33), drops=2)
    exp.append((float(Fraction(t_ns + 1, 10**9) - 3600), 101, frame(6, 33)))
    return ng.bytes(), exp


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_interfaces_resolutions_and_block_kinds(tmp_path: Path, endian: str) -> None:
    data, exp = two_interface_capture(endian)
    r, got = read_all(write(tmp_path, data, "c.pcapng"))
    assert r.format == "pcapng" and r.error is None and not r.truncated
    assert got == exp
    assert r.interfaces == 3 and r.sections == 1


def test_pcapng_sections_have_their_own_byte_order_and_interfaces(tmp_path: Path) -> None:
    ng = Ng("<").shb().idb(1).epb(0, T0 * 10**6, frame(1))
    ng.shb(endian=">").idb(113, tsresol=3).idb(1).epb(0, T0 * 1000 + 5, frame(2))
    ng.epb(1, T0 * 10**6 + 7, frame(3))
    ng.shb(endian="<").idb(105).epb(0, T0 * 10**6 + 9, frame(4))
    r, got = read_all(write(tmp_path, ng.bytes(), "c.pcapng"))
    assert r.error is None and r.sections == 3
    assert got == [
        (float(T0), 1, frame(1)),
        (exact(T0, 5, 1000), 113, frame(2)),  # interface 0 of section 2 is another one
        (exact(T0, 7, 10**6), 1, frame(3)),
        (exact(T0, 9, 10**6), 105, frame(4)),
    ]


def test_pcapng_interface_from_an_earlier_section_is_gone(tmp_path: Path) -> None:
    ng = Ng().shb().idb(1).idb(1).epb(1, T0 * 10**6, frame(1))
    ng.shb().idb(1).epb(1, T0 * 10**6, frame(2))  # section 2 has only interface 0
    r, got = read_all(write(tmp_path, ng.bytes(), "c.pcapng"))
    assert [f for _, _, f in got] == [frame(1)]
    off = ng.offsets()[-2]
    assert r.error == (f"corrupt record at offset {off}: record 2: names interface 1 but the "
                       "section describes 1")


def test_pcapng_fcs_from_if_fcslen_and_epb_flags(tmp_path: Path) -> None:
    fcs4, fcs2 = b"\x11\x22\x33\x44", b"\x55\x66"
    ng = Ng().shb().idb(1, fcslen=4).idb(1)
    ng.epb(0, 1, frame(1) + fcs4)  # interface says 4 octets of FCS
    ng.epb(1, 2, frame(2) + fcs2, opts=[(2, (2 << 5 | 1).to_bytes(4, "little"))])  # flags: 2
    ng.epb(1, 3, frame(3))  # no FCS information: nothing cut
    ng.spb(frame(4) + fcs4)  # interface 0: FCS cut here too
    _, got = read_all(write(tmp_path, ng.bytes(), "c.pcapng"))
    assert [f for _, _, f in got] == [frame(1), frame(2), frame(3), frame(4)]


def corrupt_cases() -> list[tuple[str, bytes, int, str]]:
    """(name, file, records before the damage, expected error)."""
    cases = []
    good = Ng().shb().idb(1).epb(0, T0 * 10**6, frame(1))
    base = good.bytes()
    at = len(base)

    def case(name: str, tail: Ng, why: str, before: int = 1) -> None:
        cases.append((name, base + tail.bytes(), before, f"corrupt record at offset {at}: {why}"))

    case("length not a multiple of 4", Ng().raw(b"\x06\0\0\0\x22\0\0\0" + b"\0" * 30),
         "enhanced packet block: length 34 is not a multiple of 4")
    case("length below 12", Ng().raw(b"\x06\0\0\0\x08\0\0\0" + b"\0" * 30),
         "enhanced packet block: length 8 is below 12")
    bad_trailer = Ng().block(6, b"\0" * 20 + b"\0" * 8, trailer=36)
    case("trailing length differs", bad_trailer,
         "enhanced packet block: trailing length 36 differs from the leading 40")
    case("unknown interface", Ng().epb(5, 0, frame(2)),
         "record 2: names interface 5 but the section describes 1")
    case("captured length beyond block", Ng().epb(0, 0, frame(2, 60), caplen=61),
         "record 2: captured length 61 does not fit its 92-byte block")
    case("bad byte-order magic in a later section",
         Ng().raw(b"\x0a\x0d\x0d\x0a\x1c\0\0\0" + b"\x01\x02\x03\x04" + b"\0" * 16),
         "section header block with an invalid byte-order magic")
    case("unsupported version", Ng().shb(major=2),
         "unsupported pcapng version 2.0")
    case("block above the size limit", Ng().raw(b"\x05\0\0\0\x00\x00\x00\x10"),
         f"interface statistics block: length {2**28} is above {capture.MAX_BLOCK_BYTES}")
    case("option runs past its block", Ng().block(1, b"\x01\0\0\0\0\0\0\0" + b"\x09\0\x40\0"),
         "interface description block: option 9 of 64 bytes runs past the end of its block")
    spb_first = Ng().shb().spb(frame(1))
    cases.append(("simple packet before an interface", spb_first.bytes(), 0,
                  f"corrupt record at offset {spb_first.offsets()[1]}: record 1: simple packet "
                  "block before any interface description"))
    return cases


@pytest.mark.parametrize("case", corrupt_cases(), ids=lambda c: c[0])
def test_pcapng_corruption_sets_error(tmp_path: Path, case: tuple[str, bytes, int, str]) -> None:
    _, data, before, why = case
    r, got = read_all(write(tmp_path, data + Ng().epb(0, 0, frame(9)).bytes(), "c.pcapng"))
    assert len(got) == before and r.packets == before
    assert r.error == why
    assert not r.truncated


def test_pcapng_truncated_at_several_points(tmp_path: Path) -> None:
    ng = Ng().shb().idb(1).epb(0, 1, frame(1)).isb().epb(0, 2, frame(2, 100))
    data = ng.bytes()
    offs = ng.offsets()  # SHB, IDB, EPB1, ISB, EPB2, end
    expect = {
        offs[1] + 3: (0, f"file ends inside a block header (after record 0) at offset {offs[1]}"),
        offs[1] + 20: (0, f"file ends inside an interface description block (after record 0)"
                          f" at offset {offs[1]}"),
        offs[2] + 40: (0, f"file ends inside record 1 at offset {offs[2]}"),
        offs[3] + 10: (1, f"file ends inside an interface statistics block (after record 1)"
                          f" at offset {offs[3]}"),
        offs[5] - 1: (1, f"file ends inside record 2 at offset {offs[4]}"),
    }
    for cut, (n, why) in expect.items():
        r, got = read_all(write(tmp_path, data[:cut], f"cut{cut}.pcapng"))
        assert len(got) == n, cut
        assert r.truncated and r.error == why
    for clean in offs[2:]:
        r, got = read_all(write(tmp_path, data[:clean], f"clean{clean}.pcapng"))
        assert r.error is None and not r.truncated


def test_pcapng_first_header_too_short(tmp_path: Path) -> None:
    r, got = read_all(write(tmp_path, b"\x0a\x0d\x0d\x0a\x1c\0\0", "c.pcapng"))
    assert got == [] and r.truncated and "section header" in (r.error or "")


# -- gzip --------------------------------------------------------------------------------------


def test_gzip_pcapng(tmp_path: Path) -> None:
    data, exp = two_interface_capture()
    r, got = read_all(write(tmp_path, gz(data), "c.pcapng.gz"))
    assert got == exp and r.format == "pcapng+gzip" and r.error is None


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    r, got = read_all(write(tmp_path, gz(pcap_bytes(RECS)), "capture.bin"))
    assert r.format == "pcap+gzip" and len(got) == len(RECS)


def test_gzip_truncated_stream(tmp_path: Path) -> None:
    recs = [PcapRec(T0, i, random.Random(i).randbytes(1000)) for i in range(300)]
    data = pcap_bytes(recs)
    packed = gz(data)
    r, got = read_all(write(tmp_path, packed[: len(packed) // 2], "c.pcap.gz"))
    assert 0 < len(got) < 300
    assert [f for _, _, f in got] == [x.data for x in recs[:len(got)]]
    assert r.truncated and r.error is not None
    assert r.error.startswith(f"file ends inside record {len(got) + 1} at offset ")
    assert "gzip stream ends before its end marker" in r.error


def test_gzip_missing_only_the_trailer(tmp_path: Path) -> None:
    packed = gz(pcap_bytes(RECS))
    r, got = read_all(write(tmp_path, packed[:-8], "c.pcap.gz"))  # CRC32 + ISIZE cut off
    assert len(got) == len(RECS)
    assert r.truncated and r.error == "the gzip stream ends before its end marker"


def test_gzip_corrupt_stream(tmp_path: Path) -> None:
    recs = [PcapRec(T0, i, random.Random(i).randbytes(1000)) for i in range(300)]
    packed = bytearray(gz(pcap_bytes(recs)))
    packed[len(packed) // 2] ^= 0xFF
    r, got = read_all(write(tmp_path, bytes(packed), "c.pcap.gz"))
    assert r.error is not None  # stops at the damage (or the CRC check), never raises
    assert not r.truncated
    assert [f for _, _, f in got[:10]] == [x.data for x in recs[:10]]


def test_gzip_of_something_else(tmp_path: Path) -> None:
    with pytest.raises(NotACaptureError, match=r"gzip-compressed, but the content is not a pcap "
                                                r"or pcapng capture \(looks like text: 'hello"):
        open_capture(write(tmp_path, gz(b"hello world\n"), "x.gz"))
    with pytest.raises(NotACaptureError, match="another gzip layer"):
        open_capture(write(tmp_path, gz(gz(pcap_bytes(RECS))), "x2.gz"))
    with pytest.raises(NotACaptureError, match="does not decompress"):
        open_capture(write(tmp_path, b"\x1f\x8b\x08\x00garbage-garbage-garbage", "x3.gz"))


@pytest.mark.parametrize("compress", [False, True])
def test_reads_from_a_pipe(tmp_path: Path, compress: bool) -> None:
    data, exp = two_interface_capture()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = gz(data) if compress else data

    def feed() -> None:
        with fifo.open("wb") as fh:
            for i in range(0, len(payload), 7):  # dribble it in
                fh.write(payload[i:i + 7])

    t = threading.Thread(target=feed)
    t.start()
    try:
        r, got = read_all(fifo)
    finally:
        t.join(10)
    assert got == exp and r.error is None


# -- not a capture, cannot open ----------------------------------------------------------------

NOT_CAPTURES = [
    ("empty", b"", "the file is empty"),
    ("text", b"timestamp,src,dst\n1,2,3\n", "looks like text: 'timestamp,src,dst'"),
    ("utf8 cut", b"a" + "é".encode() * 40, "looks like text: 'aéé"),
    ("random", bytes(random.Random(1).randbytes(100)), "binary data; first bytes "),
    ("zip", b"PK\x03\x04" + b"\0" * 40, "looks like a ZIP archive"),
    ("netmon", b"GMBU\x00\x02" + b"\0" * 40, "Microsoft Network Monitor 2.x"),
    ("pcapng bad bom", b"\x0a\x0d\x0d\x0a\x1c\0\0\0" + b"\xff" * 20, "no valid byte-order magic"),
]


@pytest.mark.parametrize("case", NOT_CAPTURES, ids=lambda c: c[0])
def test_not_a_capture(tmp_path: Path, case: tuple[str, bytes, str]) -> None:
    _, data, fragment = case
    p = write(tmp_path, data, "thing.pcap")
    with pytest.raises(NotACaptureError) as info:
        open_capture(p)
    assert str(p) in str(info.value) and fragment in str(info.value)
    assert isinstance(info.value, CaptureError)


def test_random_bytes_message_shows_them(tmp_path: Path) -> None:
    data = bytes(range(200, 216))
    with pytest.raises(NotACaptureError, match=data.hex(" ")):
        open_capture(write(tmp_path, data))


def test_cannot_open(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file") as info:
        open_capture(tmp_path / "missing.pcap")
    assert not isinstance(info.value, NotACaptureError)
    with pytest.raises(CaptureError, match="is a directory"):
        open_capture(tmp_path)


def test_permission_denied(tmp_path: Path) -> None:
    p = write(tmp_path, pcap_bytes(RECS))
    p.chmod(0)
    # everything is imported first: a dropped-privilege process may not read the interpreter's
    # own files any more
    code = ("import os, sys\nfrom otshield.capture import open_capture\n"
            "from otshield.errors import CaptureError, NotACaptureError\n"
            "if os.geteuid() == 0:\n    os.setgid(65534)\n    os.setuid(65534)\n"
            "try:\n    open_capture(sys.argv[1])\n"
            "except NotACaptureError:\n    print('wrong')\n"
            "except CaptureError as e:\n    print(e)\n")
    if os.geteuid() == 0:  # root reads anything: the child drops to nobody for the attempt
        tmp_path.chmod(0o755)
    cmd = [sys.executable, "-c", code, str(p)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip() == f"cannot open capture {p}: permission denied", out.stderr


def test_gzip_crc_error_is_reported_and_close_is_quiet(tmp_path: Path) -> None:
    # the CRC is only checked at the very end; closing the damaged stream must not raise
    packed = bytearray(gz(pcap_bytes(RECS)))
    packed[-6] ^= 0xFF  # CRC mismatch is only seen at the very end
    r = open_capture(write(tmp_path, bytes(packed), "c.gz"))
    got = list(r)
    r.close()
    assert len(got) == len(RECS)
    assert r.error is not None and "CRC" in r.error and not r.truncated

"""TCP stream reassembly: ordering, overlaps, gaps, sequence wrap-around, bounds."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.reassembly import MASK, TcpStream


def deliver(stream: TcpStream, segments: list[tuple[int, bytes]], limit: int = 1 << 20
            ) -> list[bytes | int]:
    out: list[bytes | int] = []
    for seq, data in segments:
        out += stream.add(seq, data, limit)
    return out


def test_in_order_across_sequence_wrap() -> None:
    s = TcpStream()
    s.next_seq = MASK - 2
    out = deliver(s, [(MASK - 2, b"abc"), (0, b"def")])
    assert b"".join(x for x in out if isinstance(x, bytes)) == b"abcdef"
    assert s.next_seq == 3


def test_out_of_order_held_then_drained() -> None:
    s = TcpStream()
    s.next_seq = 100
    assert deliver(s, [(106, b"ghi"), (103, b"def")]) == []
    assert s.ooo_bytes == 6
    assert deliver(s, [(100, b"abc")]) == [b"abc", b"def", b"ghi"]
    assert s.ooo_bytes == 0 and s.next_seq == 109


def test_retransmission_and_partial_overlap_trimmed() -> None:
    s = TcpStream()
    s.next_seq = 0
    out = deliver(s, [(0, b"abcd"), (0, b"abcd"), (2, b"cdefg")])
    assert out == [b"abcd", b"efg"]


def test_held_segment_overlapping_next_is_trimmed() -> None:
    s = TcpStream()
    s.next_seq = 0
    out = deliver(s, [(3, b"defgh"), (0, b"abcde")])
    assert b"".join(x for x in out if isinstance(x, bytes)) == b"abcdefgh"


def test_gap_by_ack_and_by_limit_and_flush() -> None:
    s = TcpStream()
    s.next_seq = 0
    deliver(s, [(10, b"xyz")])
    out: list[bytes | int] = []
    s.ack_beyond(5, out)     # ack does not reach held data yet: still hoping
    assert out == []
    s.ack_beyond(13, out)
    assert out == [10, b"xyz"] and s.gaps == 1
    s2 = TcpStream()
    s2.next_seq = 0
    # over the limit: the first hole is given up, what follows it still waits
    assert deliver(s2, [(5, b"a" * 10), (20, b"b" * 10)], limit=15) == [5, b"a" * 10]
    assert s2.ooo_bytes == 10
    s3 = TcpStream()
    s3.next_seq = 0
    deliver(s3, [(4, b"tail")])
    assert s3.flush() == [4, b"tail"]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.integers(0, MASK), st.randoms())
def test_any_permutation_with_duplicates_reassembles(data: bytes, isn: int,
                                                     rnd: random.Random) -> None:
    cuts = sorted({rnd.randrange(1, len(data)) for _ in range(rnd.randrange(0, 20))}
                  ) if len(data) > 1 else []
    bounds = [0, *cuts, len(data)]
    segs = [((isn + a) & MASK, data[a:b]) for a, b in itertools.pairwise(bounds)]
    segs += rnd.sample(segs, k=min(len(segs), 3))  # retransmissions
    rnd.shuffle(segs)
    s = TcpStream()
    s.next_seq = isn
    out = deliver(s, segs) + s.flush()
    assert b"".join(x for x in out if isinstance(x, bytes)) == data
    assert not any(isinstance(x, int) for x in out)

"""The tshark check that every project-made capture passes must be able to fail: a frame with a
broken TCP checksum is reported."""

from __future__ import annotations

from pathlib import Path

from otshield.pcapwriter import PcapWriter, ethernet, ipv4, tcp_segment
from support import tshark_dissection


def test_a_bad_tcp_checksum_is_a_problem(tmp_path: Path) -> None:
    seg = bytearray(tcp_segment("10.0.0.1", "10.0.0.2", 40000, 502, 1, 0, 0x02, b""))
    good = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                    ipv4("10.0.0.1", "10.0.0.2", 6, bytes(seg)))
    seg[16] ^= 0xFF  # the TCP checksum
    bad = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                   ipv4("10.0.0.1", "10.0.0.2", 6, bytes(seg)))
    path = tmp_path / "two.pcap"
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        w.write(1.0, good)
        w.write(2.0, bad)
    problems, seen = tshark_dissection(path)
    assert [n for n, _, _ in problems] == [2]
    assert "tcp" in seen

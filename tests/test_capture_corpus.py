"""The capture readers on every third-party capture of the corpus, with tshark as the oracle.

For every frame: the captured length, the MD5 of the captured bytes (tshark's
``frame.md5_hash``) and the time stamp (tshark prints it exactly, to the nanosecond, so the
reader's float must be that value rounded once). The record count must equal the MANIFEST's
``packets`` column and tshark's count.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from otshield.capture import open_capture
from otshield.errors import NotACaptureError
from support import PCAPS, CorpusFile, corpus, corpus_params, tshark_fields

CAPTURES = list(corpus())
# The ground-truth CSV and log files that sit next to the captures.
NOT_CAPTURES = [CorpusFile(p, "", "labels", 0, "") for p in sorted(PCAPS.glob("*/*"))
                if p.suffix in (".csv", ".log")] if PCAPS.exists() else []
# tshark only needs the frame layer here; skipping the big dissectors makes it ~3x faster
FAST = ["-o", "frame.generate_md5_hash:TRUE"] + [
    a for p in ("eth", "sll", "null", "wpan", "ip", "ipv6") for a in ("--disable-protocol", p)]


@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(CAPTURES))
def test_corpus_capture_reads_completely(cf: CorpusFile) -> None:
    with open_capture(cf.path) as r:
        n = sum(1 for _ in r)
    assert r.error is None and not r.truncated
    assert n == r.packets == cf.packets, f"MANIFEST says {cf.packets} packets"


@pytest.mark.corpus
@pytest.mark.tshark
@pytest.mark.parametrize("cf", corpus_params(CAPTURES))
def test_corpus_frames_match_tshark(cf: CorpusFile) -> None:
    rows = tshark_fields(cf.path, ["frame.time_epoch", "frame.cap_len", "frame.md5_hash"],
                         extra=FAST)
    with open_capture(cf.path) as r:
        ours = list(r)
    assert len(rows) == len(ours), f"tshark reads {len(rows)} frames, we read {len(ours)}"
    agree = {"time": 0, "caplen": 0, "bytes": 0}
    first_bad: dict[str, str] = {}
    negative_fraction = 0
    for (num, t_epoch, caplen, md5), (ts, _lt, data) in zip(rows, ours, strict=True):
        tshark_time = Fraction(t_epoch)
        if tshark_time < 0 < ts:
            # A record whose sub-second field is negative (as a signed 32-bit number; seen in
            # malcolm-pcap/it/DHCP.pcap frame 72). Wireshark keeps it as a negative nanosecond
            # part, so the time is sec - |fraction|, but prints it as "-<sec>.<|fraction|>".
            sec, _, frac = t_epoch[1:].partition(".")
            tshark_time = Fraction(sec) - Fraction("0." + frac)
            negative_fraction += 1
        checks = {
            "time": ts == float(tshark_time),
            "caplen": len(data) == int(caplen),
            "bytes": hashlib.md5(data).hexdigest() == md5,
        }
        for k, ok in checks.items():
            agree[k] += ok
            if not ok and k not in first_bad:
                first_bad[k] = f"frame {num}: tshark {t_epoch} {caplen} {md5}, ours {ts!r} " \
                               f"{len(data)} {hashlib.md5(data).hexdigest()}"
    n = len(ours)
    print(f"\n{cf.path.relative_to(PCAPS)} [{r.format}]: {n} frames; agreement "
          + ", ".join(f"{k} {v}/{n}" for k, v in agree.items())
          + (f" ({negative_fraction} with a negative sub-second field)"
             if negative_fraction else ""))
    assert all(v == n for v in agree.values()), first_bad


@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(NOT_CAPTURES))
def test_corpus_label_files_are_not_captures(cf: CorpusFile) -> None:
    with pytest.raises(NotACaptureError, match=r"looks like text|the file is empty"):
        open_capture(cf.path)



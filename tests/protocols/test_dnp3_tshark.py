"""Differential tests of the DNP3 decoder against tshark on every DNP3 capture of the corpus.

Both decoders' application fragments are lined up per direction (a sequence alignment of
(function, application sequence) in frame order, so that a fragment delivered one packet later
by our TCP reassembly still meets its tshark counterpart). Compared: fragment presence and
function, link source/destination, object headers (group/variation), range start/stop, IIN,
link-layer service functions, and CRC verdicts.

Every disagreement must fall in one of the explained classes below (EXPLAINED); anything else
fails the test. Run with ``-s`` to see the per-capture agreement lines.
"""

from __future__ import annotations

import collections
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from protocols.dnp3_build import decode_dnp3, of
from support import PCAPS, CorpusFile, corpus_files, corpus_params, require_tshark, tshark_fields

FIELDS = [
    "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "dnp3.src", "dnp3.dst", "dnp3.ctl.prifunc", "dnp3.ctl.secfunc", "dnp3.al.func",
    "dnp3.al.seq", "dnp3.al.obj", "dnp3.al.range.start", "dnp3.al.range.stop", "dnp3.al.iin",
    "dnp.data_chunk.CRC.status", "dnp.hdr.CRC.status", "_ws.malformed", "_ws.expert.message",
    "dnp3.tr.fir", "dnp3.tr.seq", "dnp3.al.fragment.overlap",
    "dnp3.al.fragment.reassembled.length", "tcp.analysis.retransmission",
    "tcp.analysis.lost_segment", "tcp.analysis.out_of_order",
    "dnp3.al.ana.int", "dnp3.al.ana.float", "dnp3.al.ana.double", "dnp3.al.anaout.int",
    "dnp3.al.anaout.float", "dnp3.al.anaout.double", "dnp3.al.cnt",
]
# Point values tshark reports under one field name per kind (its 16- and 32-bit variants share
# the name): (field, our groups, value type). Floats are compared as float32 or float64.
VALUE_FIELDS = [
    ("dnp3.al.ana.int", {30, 31, 32, 33, 34}, int),
    ("dnp3.al.ana.float", {30, 31, 32, 33, 34}, "f32"),
    ("dnp3.al.ana.double", {30, 31, 32, 33, 34}, "f64"),
    ("dnp3.al.anaout.int", {40, 41, 42, 43}, int),
    ("dnp3.al.anaout.float", {40, 41, 42, 43}, "f32"),
    ("dnp3.al.anaout.double", {40, 41, 42, 43}, "f64"),
    ("dnp3.al.cnt", {20, 21, 22, 23}, int),
]
FILTER = "dnp3 or tcp.port == 20000 or udp.port == 20000"

# Functions whose object headers tshark 4.0's DNP3 dissector decodes (packet-dnp.c only walks
# objects for these; e.g. ASSIGN_CLASS, COLD/WARM_RESTART, RECORD_CURRENT_TIME, STOP_APPL,
# AUTHENTICATE_REQ and AUTHENTICATE_RESP bodies are not dissected at all).
TSHARK_OBJECT_FUNCTIONS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 25, 26, 27, 129, 130}
MAX_FRAGMENT = 2048
# The value type of the floating-point variations (float32 "f" or float64 "d").
OBJECT_FORMATS = {(g, v): f for g, v, f in (
    (30, 5, "f"), (30, 6, "d"), (31, 7, "f"), (31, 8, "d"), (32, 5, "f"), (32, 6, "d"),
    (32, 7, "f"), (32, 8, "d"), (33, 5, "f"), (33, 6, "d"), (33, 7, "f"), (33, 8, "d"),
    (34, 3, "f"), (40, 3, "f"), (40, 4, "d"), (41, 3, "f"), (41, 4, "d"), (42, 5, "f"),
    (42, 6, "d"), (42, 7, "f"), (42, 8, "d"), (43, 5, "f"), (43, 6, "d"), (43, 7, "f"),
    (43, 8, "d"))}

EXPLAINED = {
    "tshark_reassembly": "tshark 4.0 keys DNP3 reassembly by addresses and an extended transport "
                         "sequence: after SEQ wraps from 63 to 0, or when a new TCP connection "
                         "reuses the DNP3 addresses, it drops the fragment or mixes in segments "
                         "of another one (flagged as fragment overlap); we reassemble per flow "
                         "and direction, SEQ modulo 64, as IEEE 1815 §8.2 says.",
    "fragment_too_large": "the fragment is larger than our 2048-octet reassembly limit: we report "
                          "dnp3.fragment_too_large and drop it; tshark has no such limit.",
    "tshark_retransmission": "a retransmitted TCP segment carries new bytes beyond the original; "
                             "tshark does not dissect retransmissions, our stream reassembly "
                             "delivers the new bytes.",
    "tcp_irregular": "the same fragment, decoded by us at a later packet: after a hole in the "
                     "TCP stream our engine holds the bytes that follow until the hole is filled "
                     "(retransmission) or declared lost; tshark dissects each segment at once.",
    "tshark_port": "DNP3 on a port other than 20000 (found by our probe; tshark's DNP3 heuristic "
                   "is off by default), or on 20000 facing a lower port whose dissector tshark "
                   "prefers (e.g. HTTP on 80).",
    "objects_not_decoded_by_tshark": "tshark 4.0 does not walk the objects of this function.",
    "tshark_unknown_object": "tshark 4.0 does not know the object (e.g. secure authentication "
                             "g120, g0 variation 0) and stops; our decode goes on.",
    "we_stopped": "we stopped at an object we report as malformed (reserved qualifier, bad range, "
                  "unsizable or truncated object); tshark guessed on and listed more.",
}

@dataclass
class Tally:
    ok: collections.Counter[str] = field(default_factory=collections.Counter)
    total: collections.Counter[str] = field(default_factory=collections.Counter)
    explained: collections.Counter[str] = field(default_factory=collections.Counter)
    unexplained: list[str] = field(default_factory=list)

    def check(self, name: str, good: bool, detail: str = "") -> None:
        self.total[name] += 1
        if good:
            self.ok[name] += 1
        else:
            self.unexplained.append(f"{name}: {detail}")

    def excuse(self, name: str, reason: str) -> None:
        """A disagreement counted as agreement because it falls in an explained class."""
        self.total[name] += 1
        self.ok[name] += 1
        self.explained[reason] += 1

    def line(self) -> str:
        parts = [f"{k}={self.ok[k]}/{self.total[k]}" for k in
                 ("fragments", "addresses", "objects", "ranges", "values", "iin", "link",
                  "crc")]
        pct = 100.0 * sum(self.ok.values()) / max(1, sum(self.total.values()))
        return f"{pct:6.2f}% " + " ".join(parts) + (
            f" explained={dict(self.explained)}" if self.explained else "")


def _rows(path: Path) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {}
    for row in tshark_fields(path, FIELDS, FILTER):
        cells = row + [""] * (len(FIELDS) + 1 - len(row))
        out[int(cells[0])] = {f: [x for x in c.split(",") if x]
                              for f, c in zip(FIELDS, cells[1:], strict=True)}
    return out


def _direction(row: dict[str, list[str]]) -> tuple[str, str, str, str]:
    sport = row["tcp.srcport"] or row["udp.srcport"]
    dport = row["tcp.dstport"] or row["udp.dstport"]
    return (row["ip.src"][0] if row["ip.src"] else "", sport[0] if sport else "",
            row["ip.dst"][0] if row["ip.dst"] else "", dport[0] if dport else "")


def _object_code(group: int, variation: int) -> int:
    # tshark reports octet strings (g110/g111, variation = length) as variation 0.
    return group << 8 if group in (110, 111) else group << 8 | variation


def _prefix_ok(mine: list[Any], theirs: list[Any], we_stopped: bool, they_unknown: bool,
               tally: Tally, name: str, detail: str) -> None:
    if mine == theirs:
        tally.check(name, True)
    elif they_unknown and mine[:len(theirs)] == theirs:
        tally.excuse(name, "tshark_unknown_object")
    elif we_stopped and theirs[:len(mine)] == mine:
        tally.excuse(name, "we_stopped")
    else:
        tally.check(name, False, detail)


def compare(capture: CorpusFile) -> Tally:
    events = decode_dnp3(capture.path)
    rows = _rows(capture.path)
    empty: dict[str, list[str]] = {f: [] for f in FIELDS}
    tally = Tally()

    problems: dict[int, set[str]] = collections.defaultdict(set)
    too_large_flows: set[int] = set()
    for a in of(events, "anomaly"):
        problems[a.frame].add(a.code)
        if a.code == "dnp3.fragment_too_large":
            too_large_flows.add(a.flow_id)

    # -- fragments: align per direction --------------------------------------------------------
    ours: dict[tuple[str, str, str, str], list[Any]] = collections.defaultdict(list)
    for e in of(events, "dnp3"):
        ours[(e.src_ip, str(e.src_port), e.dst_ip, str(e.dst_port))].append(e)
    theirs: dict[tuple[str, str, str, str], list[tuple[int, int, int]]] = \
        collections.defaultdict(list)
    for frame, row in sorted(rows.items()):
        for i, func in enumerate(row["dnp3.al.func"]):
            seqs = row["dnp3.al.seq"]
            seq = int(seqs[i]) if i < len(seqs) else -1
            theirs[_direction(row)].append((frame, int(func), seq))

    matched: dict[int, list[Any]] = collections.defaultdict(list)  # tshark frame -> our events
    for key in set(ours) | set(theirs):
        mine = ours.get(key, [])
        tsk = theirs.get(key, [])
        # First pass: the same fragment at the same packet.
        left_mine: list[Any] = []
        left_theirs: list[tuple[int, int, int]] = []
        for tag, i1, i2, j1, j2 in _align(mine, tsk, with_frame=True):
            if tag == "equal":
                for k in range(i2 - i1):
                    tally.check("fragments", True)
                    matched[tsk[j1 + k][0]].append(mine[i1 + k])
            else:
                left_mine += mine[i1:i2]
                left_theirs += tsk[j1:j2]
        # Second pass: the same fragments, decoded by us at a later packet (our TCP reassembly
        # holds bytes that follow a hole until it is filled or declared lost).
        late_mine: list[Any] = []
        late_theirs: list[tuple[int, int, int]] = []
        for tag, i1, i2, j1, j2 in _align(left_mine, left_theirs):
            if tag == "equal" and all(left_mine[i1 + k].frame > left_theirs[j1 + k][0]
                                      for k in range(i2 - i1)):
                for k in range(i2 - i1):
                    tally.excuse("fragments", "tcp_irregular")
                    matched[left_theirs[j1 + k][0]].append(left_mine[i1 + k])
            else:
                late_mine += left_mine[i1:i2]
                late_theirs += left_theirs[j1:j2]
        for e in late_mine:
            _unmatched_ours(tally, e, rows.get(e.frame, empty))
        for t_frame, t_func, t_seq in late_theirs:
            row = rows.get(t_frame, empty)
            lengths = [int(x) for x in row["dnp3.al.fragment.reassembled.length"]]
            if row["dnp3.al.fragment.overlap"]:
                tally.excuse("fragments", "tshark_reassembly")
            elif too_large_flows and any(n > MAX_FRAGMENT for n in lengths):
                tally.excuse("fragments", "fragment_too_large")
            else:
                tally.check("fragments", False,
                            f"function {t_func} seq {t_seq} at frame {t_frame} not decoded by us")

    # -- content of matched fragments, per tshark frame -----------------------------------------
    for frame, evs in sorted(matched.items()):
        row = rows[frame]
        pairs = list(zip(row["dnp3.src"], row["dnp3.dst"], strict=False))
        for e in evs:
            tally.check("addresses", (str(e.link_src), str(e.link_dst)) in pairs,
                        f"frame {frame}: link {e.link_src}->{e.link_dst} not in {pairs}")
        if len(evs) != len(row["dnp3.al.func"]):
            continue  # a frame holding fragments we matched elsewhere: content not comparable
        mine_iin = sorted(e.iin for e in evs if e.function_code in (129, 130))
        tally.check("iin", mine_iin == sorted(int(x, 16) for x in row["dnp3.al.iin"]),
                    f"frame {frame}: iin {mine_iin} vs {row['dnp3.al.iin']}")
        if not all(e.function_code in TSHARK_OBJECT_FUNCTIONS for e in evs):
            tally.explained["objects_not_decoded_by_tshark"] += 1
            continue
        here = problems.get(evs[-1].frame, set())
        we_stopped = bool(here & {"dnp3.truncated_object", "dnp3.bad_qualifier",
                                  "dnp3.unknown_object"})
        they_unknown = any("Unknown" in m for m in row["_ws.expert.message"])
        mine_objs = [_object_code(o.group, o.variation) for e in evs for o in e.objects]
        their_objs = [int(x, 16) for x in row["dnp3.al.obj"]]
        _prefix_ok(mine_objs, their_objs, we_stopped, they_unknown, tally, "objects",
                   f"frame {frame}: objects {[hex(x) for x in mine_objs]} vs "
                   f"{[hex(x) for x in their_objs]}")
        if mine_objs == their_objs and not we_stopped and not row["_ws.malformed"] \
                and not any(e.truncated for e in evs):
            _compare_values(tally, frame, evs, row)
        mine_ranges = [(o.start, o.stop) for e in evs for o in e.objects
                       if o.qualifier & 0x0F <= 2]
        their_ranges = list(zip((int(x) for x in row["dnp3.al.range.start"]),
                                (int(x) for x in row["dnp3.al.range.stop"]), strict=False))
        _prefix_ok(mine_ranges, their_ranges, we_stopped, they_unknown, tally, "ranges",
                   f"frame {frame}: ranges {mine_ranges} vs {their_ranges}")

    # -- link-layer service frames ---------------------------------------------------------------
    for e in of(events, "dnp3_link"):
        row = rows.get(e.frame, empty)
        column = row["dnp3.ctl.prifunc"] if e.primary else row["dnp3.ctl.secfunc"]
        tally.check("link", str(e.function_code) in column,
                    f"frame {e.frame}: link function {e.function_code} vs {column}")

    # -- CRC verdicts: tshark checksum status 0 = bad ---------------------------------------------
    bad_theirs = {f for f, r in rows.items()
                  if "0" in r["dnp.data_chunk.CRC.status"] or "0" in r["dnp.hdr.CRC.status"]}
    bad_ours = {f for f, codes in problems.items() if "dnp3.bad_crc" in codes}
    for frame in sorted(bad_theirs | bad_ours):
        tally.check("crc", (frame in bad_theirs) == (frame in bad_ours),
                    f"frame {frame}: bad CRC ours={frame in bad_ours} "
                    f"tshark={frame in bad_theirs}")
    return tally


def _compare_values(tally: Tally, frame: int, evs: list[Any], row: dict[str, list[str]]) -> None:
    """Point values of the kinds tshark names, in object order, against tshark's."""
    for name, groups, kind in VALUE_FIELDS:
        mine: list[float] = []
        for e in evs:
            for o in e.objects:
                if o.group not in groups:
                    continue
                fmt = OBJECT_FORMATS.get((o.group, o.variation))
                for p in o.points:
                    if p.value is None:
                        continue
                    k = int if isinstance(p.value, int) else ("f32" if fmt == "f" else "f64")
                    if k == kind:
                        mine.append(p.value)
        theirs = [float(x) for x in row[name]]
        if not mine and not theirs:
            continue
        if kind is int:
            good = [float(v) for v in mine] == theirs
        else:
            rel = 1e-6 if kind == "f32" else 1e-12
            good = len(mine) == len(theirs) and all(
                math.isclose(a, b, rel_tol=rel, abs_tol=1e-30) or (math.isnan(a) and math.isnan(b))
                for a, b in zip(mine, theirs, strict=True))
        tally.check("values", good, f"frame {frame}: {name} {mine[:8]} vs {theirs[:8]}")


def _align(mine: list[Any], theirs: list[tuple[int, int, int]],
           with_frame: bool = False) -> list[Any]:
    """difflib opcodes lining up our fragments with tshark's by (function, sequence) and, in
    the first pass, packet number."""
    a = [(e.function_code, e.seq, e.frame if with_frame else 0) for e in mine]
    b = [(f, s, frame if with_frame else 0) for frame, f, s in theirs]
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _unmatched_ours(tally: Tally, e: Any, row: dict[str, list[str]]) -> None:
    ports = (e.src_port, e.dst_port)
    other = e.dst_port if e.src_port == 20000 else e.src_port
    if row["dnp3.al.fragment.overlap"] or ("0" in row["dnp3.tr.seq"]
                                             and "0" in row["dnp3.tr.fir"]):
        tally.excuse("fragments", "tshark_reassembly")
    elif row["tcp.analysis.retransmission"]:
        tally.excuse("fragments", "tshark_retransmission")
    elif not row["dnp3.src"] and (20000 not in ports or other < 20000):
        tally.excuse("fragments", "tshark_port")
    else:
        tally.check("fragments", False,
                    f"{e.function} seq {e.seq} at frame {e.frame} not in tshark")


DNP3_CAPTURES = [c for c in corpus_files("DNP3") if c.label != "labels"]


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(DNP3_CAPTURES))
def test_agrees_with_tshark(capture: CorpusFile) -> None:
    require_tshark()
    tally = compare(capture)
    print(f"\n{capture.path.relative_to(PCAPS)}: {tally.line()}")
    for line in tally.unexplained[:20]:
        print("   UNEXPLAINED", line)
    assert not tally.unexplained, f"{len(tally.unexplained)} unexplained disagreements"

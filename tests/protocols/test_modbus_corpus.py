"""Modbus on the third-party corpus: every capture decodes without an internal error, and the
fields both otshield and tshark decode agree, frame by frame.

Compared (tshark 4.x field names): mbtcp.trans_id, mbtcp.unit_id, modbus.func_code,
modbus.exception_code, modbus.request_frame (pairing), modbus.reference_num (start address),
modbus.word_cnt / bit_cnt (quantity; FIFO count), modbus.regval_uint16 (registers of FC 3/4
responses and FC 16 requests), modbus.bitval (FC 1/2 responses), modbus.data (FC 5/6 values,
FC 15 packed coils, FC 23 values), the FC 23 read/write references and counts, FC 22 masks,
modbus.diagnostic_code, modbus.mei, modbus.read_device_id, modbus.object_str_value.

tshark aggregates the fields of all ADUs in a frame, so each field is compared per frame as a
multiset. tshark decides request vs response by port 502, as otshield does when one side is on
502. Every disagreement must match one of the explanations in ``EXPLANATIONS``.
"""

from __future__ import annotations

import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from otshield.events import Event
from support import CorpusFile, corpus_files, corpus_params, decode, require_tshark, tshark_fields

MODBUS_CAPTURES = sorted(
    {c.path: c for c in corpus_files(protocol="Modbus") + corpus_files(dissected="mbtcp")
     if c.path.suffix in (".pcap", ".pcapng", ".cap")}.values(), key=lambda c: str(c.path))

FIELDS = [
    "mbtcp.trans_id", "mbtcp.unit_id", "modbus.func_code", "modbus.exception_code",
    "modbus.request_frame", "modbus.reference_num", "modbus.word_cnt", "modbus.bit_cnt",
    "modbus.regval_uint16", "modbus.bitval", "modbus.data", "modbus.read_reference_num",
    "modbus.write_reference_num", "modbus.read_word_cnt", "modbus.write_word_cnt",
    "modbus.and_mask", "modbus.or_mask", "modbus.diagnostic_code", "modbus.mei",
    "modbus.read_device_id", "modbus.object_str_value",
]
SEP = "\x1f"  # object strings may hold commas
RETRANSMISSION = "tcp.analysis.retransmission || tcp.analysis.spurious_retransmission"


# -- the two views -------------------------------------------------------------------------------
Units = dict[int, dict[str, list[str]]]
"""frame -> tshark field -> values of all ADUs of the frame."""


def tshark_units(capture: CorpusFile) -> Units:
    out: Units = {}
    for row in tshark_fields(capture.path, FIELDS, "mbtcp", extra=["-E", f"aggregator={SEP}"]):
        values = {name: sorted(cell.split(SEP)) for name, cell in zip(FIELDS, row[1:],
                                                                      strict=False) if cell}
        out[int(row[0])] = values
    return out


@dataclass
class Ours:
    units: Units = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    anomalies: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    request_tids: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    """frame -> transaction ids of the requests we saw in it."""
    resynchronised: set[int] = field(default_factory=set)
    """Frames where a run of skipped bytes ended at a unit."""


def _packed(coils: tuple[bool, ...]) -> str:
    out = bytearray((len(coils) + 7) // 8)
    for i, bit in enumerate(coils):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return out.hex()


def _side(put: Callable[[str, Any], None], e: Any, request: bool) -> None:
    """What tshark shows of one ADU of the transaction ``e`` (request or response side)."""
    fc = e.function_code
    put("mbtcp.trans_id", e.transaction_id)
    put("mbtcp.unit_id", e.unit_id)
    put("modbus.func_code", fc)
    if not request:
        if e.exception_code is not None:
            put("modbus.exception_code", e.exception_code)
            return
        if e.request_frame is not None:
            put("modbus.request_frame", e.request_frame)
    if fc in (1, 2, 3, 4) and request:
        put("modbus.reference_num", e.address)
        put("modbus.bit_cnt" if fc < 3 else "modbus.word_cnt", e.quantity)
    elif fc in (1, 2) and e.coils is not None:
        for bit in e.coils:
            put("modbus.bitval", int(bit))
    elif fc in (3, 4) and e.registers is not None:
        for value in e.registers:
            put("modbus.regval_uint16", value)
    elif fc in (5, 6):
        put("modbus.reference_num", e.address)
        if fc == 5 and e.coils:
            put("modbus.data", "ff00" if e.coils[0] else "0000")
        if fc == 6 and e.registers:
            put("modbus.data", f"{e.registers[0]:04x}")
    elif fc in (15, 16):
        put("modbus.reference_num", e.address)
        put("modbus.bit_cnt" if fc == 15 else "modbus.word_cnt", e.quantity)
        if request and fc == 16 and e.registers is not None:
            for value in e.registers:
                put("modbus.regval_uint16", value)
        if request and fc == 15 and e.coils is not None:
            put("modbus.data", _packed(e.coils))
    elif fc == 22:
        put("modbus.reference_num", e.address)
        if e.and_mask is not None and e.or_mask is not None:
            put("modbus.and_mask", f"0x{e.and_mask:04x}")
            put("modbus.or_mask", f"0x{e.or_mask:04x}")
    elif fc == 23 and request:
        put("modbus.read_reference_num", e.address)
        put("modbus.read_word_cnt", e.quantity)
        put("modbus.write_reference_num", e.write_address)
        put("modbus.write_word_cnt", e.write_quantity)
        if e.write_registers is not None:
            put("modbus.data", "".join(f"{v:04x}" for v in e.write_registers))
    elif fc == 23 and e.registers is not None:
        put("modbus.data", "".join(f"{v:04x}" for v in e.registers))
    elif fc == 24:
        put("modbus.reference_num" if request else "modbus.word_cnt",
            e.address if request else e.fifo_count)
    elif fc == 8 and e.diagnostic is not None:
        put("modbus.diagnostic_code", e.diagnostic.subfunction)
    elif fc == 43 and e.mei is not None:
        put("modbus.mei", e.mei.type)
        put("modbus.read_device_id", e.mei.device_id_code)
        if not request and e.mei.objects:
            for obj in e.mei.objects:
                put("modbus.object_str_value", obj.value)


def our_units(events: list[Event]) -> Ours:
    ours = Ours()
    for e in events:
        tag = e.__struct_config__.tag
        if tag == "anomaly":
            ours.anomalies[e.frame].add(e.code)  # type: ignore[attr-defined]
            if "bytes skipped to the next Modbus header" in e.detail:  # type: ignore[attr-defined]
                ours.resynchronised.add(e.frame)
        if tag != "modbus":
            continue
        m: Any = e
        sides = []
        if m.request_frame is not None:
            sides.append((True, m.request_frame))
            ours.request_tids[m.request_frame].add(m.transaction_id)
        if m.status != "unanswered":
            sides.append((False, m.frame))
        for request, frame in sides:
            def put(name: str, value: Any, frame: int = frame) -> None:
                if value is not None:
                    ours.units[frame][name].append(str(value))
            _side(put, m, request)
    return ours


# -- explanations ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Disagreement:
    frame: int
    field: str  # "*" when a whole frame is on one side only
    theirs: list[str] | None
    ours: list[str] | None


@dataclass
class Context:
    ours: Ours
    theirs: Units
    retransmissions: set[int] = field(default_factory=set)
    moved: dict[int, int] = field(default_factory=dict)
    """tshark frame -> the later frame where otshield reports the same units."""


def find_moved(ours: Ours, theirs: Units) -> dict[int, int]:
    """Frames whose units otshield reports in a later frame (with the units of that frame)."""
    moved: dict[int, int] = {}
    for frame, fields in sorted(theirs.items()):
        if ours.units.get(frame):
            continue
        tids = Counter(fields.get("mbtcp.trans_id", ()))
        for later in range(frame + 1, frame + 200):
            mine = Counter(ours.units.get(later, {}).get("mbtcp.trans_id", ()))
            if tids and not tids - mine and mine.total() > len(
                    theirs.get(later, {}).get("mbtcp.trans_id", ())):
                moved[frame] = later
                break
    return moved


Check = Callable[[Disagreement, Context], bool]

_ECHO_FIELDS = {"modbus.reference_num", "modbus.data", "modbus.and_mask", "modbus.or_mask",
                "modbus.bit_cnt", "modbus.word_cnt", "modbus.diagnostic_code"}


def _echo_differs(d: Disagreement, c: Context) -> bool:
    return d.field in _ECHO_FIELDS and "modbus.response_mismatch" in c.ours.anomalies[d.frame]


def _byte_count(d: Disagreement, c: Context) -> bool:
    return (d.field in ("modbus.data", "modbus.regval_uint16", "modbus.bitval")
            and "modbus.byte_count_mismatch" in c.ours.anomalies[d.frame])


def _reused_id(d: Disagreement, c: Context) -> bool:
    if d.field != "modbus.request_frame" or not d.theirs or not d.ours:
        return False
    tids = set(c.theirs[d.frame].get("mbtcp.trans_id", ()))
    their_req, our_req = int(d.theirs[0]), int(d.ours[0])
    shared = c.ours.request_tids[their_req] & c.ours.request_tids[our_req]
    return our_req < their_req and any(str(t) in tids for t in shared)


def _moved(d: Disagreement, c: Context) -> bool:
    """Units reported in a later frame than tshark's, and what that shifts."""
    if d.field == "*" and d.ours is None:
        return d.frame in c.moved
    if d.frame in c.moved.values():
        return True
    if d.field == "modbus.request_frame" and d.theirs and d.ours:
        return sorted(str(c.moved.get(int(t), int(t))) for t in d.theirs) == d.ours
    return False


def _after_gap(d: Disagreement, c: Context) -> bool:
    later = c.moved.get(d.frame, d.frame)
    return _moved(d, c) and "tcp.gap" in c.ours.anomalies[later]


def _resynchronised(d: Disagreement, c: Context) -> bool:
    return d.field == "*" and d.theirs is None and d.frame in c.ours.resynchronised


def _retransmission(d: Disagreement, c: Context) -> bool:
    return d.field == "*" and d.theirs is None and d.frame in c.retransmissions


EXPLANATIONS: dict[str, Check] = {
    # The response does not echo its request (modbus-mask-write-register.pcap answers other
    # masks): the event keeps the request's values and the anomaly quotes the response's.
    "echo differs from the request (modbus.response_mismatch)": _echo_differs,
    # A byte count disagreeing with the bytes present (4SICS FC 23 garbage): tshark shows every
    # byte, the decoder keeps what the byte count declares.
    "byte count disagrees with the data (modbus.byte_count_mismatch)": _byte_count,
    # modbus_test.pcap frames 68-72: three pipelined writes reuse transaction id 504; tshark
    # pairs a response with the latest request of that id, otshield in order and by content.
    "transaction id reused: tshark pairs with the latest request": _reused_id,
    # After a TCP hole the engine holds later bytes until the gap is declared, so their units
    # carry the frame that released them (fuzz-1011.pcap).
    "units after a TCP gap carry the releasing frame": _after_gap,
    # The probe only accepts anomaly-free units; on port 502 a flow opening with a broken or
    # crafted unit (fuzz-1011, 4SICS, quickdraw) is claimed a few payloads later and the engine
    # replays the held payloads with the frame number of the packet that completed detection
    # (an engine limitation, reported to the lead: held payloads should keep their frame).
    "flow claimed late: held payloads replayed with the claiming frame": _moved,
    # quickdraw frames 111/113 each carry an ADU plus 3 stray bytes: tshark takes the stray
    # bytes for the start of a 262-byte unit and decodes nothing more; otshield skips them to
    # the next plausible header (one modbus.invalid_protocol_id) and decodes the frame-113 ADU.
    "otshield resynchronised after skipped bytes, tshark did not": _resynchronised,
    # modbusBig.pcap frame 3150 repeats a segment whose original was never captured; tshark
    # takes it for a retransmission and does not dissect it, the engine had not seen the bytes.
    "tshark skips a retransmission of an uncaptured segment": _retransmission,
}


_SHIFTS = {"units after a TCP gap carry the releasing frame",
           "flow claimed late: held payloads replayed with the claiming frame"}


def compare(capture: CorpusFile) -> tuple[Counter[str], list[tuple[Disagreement, str | None]]]:
    theirs = tshark_units(capture)
    ours = our_units(decode(capture.path))
    ctx = Context(ours, theirs, moved=find_moved(ours, theirs))
    stats: Counter[str] = Counter(moved_frames=len(ctx.moved))
    found: list[Disagreement] = []
    for frame, fields in sorted(theirs.items()):
        mine = ours.units.get(frame)
        if not mine:
            stats["tshark_only_frames"] += 1
            found.append(Disagreement(frame, "*", fields.get("mbtcp.trans_id", []), None))
            continue
        for name, values in fields.items():
            if name not in mine:
                continue
            stats["compared"] += 1
            if sorted(mine[name]) == values:
                stats["agree"] += 1
            else:
                found.append(Disagreement(frame, name, values, sorted(mine[name])))
    extra = [f for f in ours.units if f not in theirs]
    if extra:
        ctx.retransmissions = {int(row[0]) for row in tshark_fields(capture.path, [],
                                                                    RETRANSMISSION)}
    for frame in sorted(extra):
        stats["otshield_only_frames"] += 1
        found.append(Disagreement(frame, "*", None, ours.units[frame].get("mbtcp.trans_id")))
    judged = []
    for d in found:
        reason = next((why for why, check in EXPLANATIONS.items() if check(d, ctx)), None)
        judged.append((d, reason))
    return stats, judged


# -- tests ---------------------------------------------------------------------------------------
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(MODBUS_CAPTURES))
def test_corpus_capture_decodes_cleanly(capture: CorpusFile) -> None:
    events = decode(capture.path)
    internal = [e for e in events if e.__struct_config__.tag == "anomaly"
                and e.code.startswith("internal.")]  # type: ignore[attr-defined]
    assert internal == []
    for event in events:
        msgspec.json.encode(event)
    assert [e for e in events if e.__struct_config__.tag == "modbus"]


@pytest.mark.corpus
@pytest.mark.tshark
@pytest.mark.parametrize("capture", corpus_params(MODBUS_CAPTURES))
def test_tshark_agreement(capture: CorpusFile) -> None:
    require_tshark()
    stats, judged = compare(capture)
    explained = Counter(reason for _, reason in judged if reason is not None)
    unexplained = [d for d, reason in judged if reason is None]
    compared, agree = stats["compared"], stats["agree"]
    print(f"modbus vs tshark {capture.path.name}: {agree}/{compared} fields agree "
          f"({100.0 * agree / max(compared, 1):.3f}%), tshark-only frames "
          f"{stats['tshark_only_frames']}, otshield-only frames {stats['otshield_only_frames']}, "
          f"explained {sum(explained.values())} {dict(explained)}, unexplained "
          f"{len(unexplained)}")
    assert compared > 0
    assert unexplained == [], unexplained[:10]
    # Explanations cover oddities of a few units, never a systematic difference: a handful of
    # field differences, and a handful of frames whose units are reported later.
    assert sum(n for why, n in explained.items() if why not in _SHIFTS) <= max(5, compared // 1000)
    assert stats["moved_frames"] <= 10


def test_views_detect_a_difference() -> None:
    """The comparison can fail: a changed register value is a disagreement."""
    ours = Ours()
    ours.units[5]["modbus.regval_uint16"] = ["1", "2"]
    d = Disagreement(5, "modbus.regval_uint16", ["1", "3"], ["1", "2"])
    ctx = Context(ours, {5: {"modbus.regval_uint16": ["1", "3"]}})
    assert not any(check(d, ctx) for check in EXPLANATIONS.values())


@pytest.mark.corpus
@pytest.mark.tshark
def test_tshark_sees_modbus_where_the_manifest_says() -> None:
    """The capture list is not empty and tshark agrees they carry Modbus (a sanity check of the
    oracle itself)."""
    if not MODBUS_CAPTURES:
        pytest.skip("third-party corpus not found")
    exe = require_tshark()
    capture = next(c for c in MODBUS_CAPTURES if c.path.name == "modbus_example.pcap")
    out = subprocess.run([exe, "-n", "-r", str(capture.path), "-Y", "mbtcp"],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    assert len(out.splitlines()) == 48

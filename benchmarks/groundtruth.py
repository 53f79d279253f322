"""Ground truth and scoring for the detection evaluation (``evaluate_detection.py``).

Pure functions only (no capture is read here), so every figure the evaluation prints can be
checked by unit tests with synthetic input (``tests/detect/test_evaluation.py``):

* :func:`parse_manifest`: the Files table of ``../shared/data/pcaps/MANIFEST.md``;
* :func:`expected_techniques`: the ATT&CK for ICS techniques a capture's *described behaviour*
  calls for, from :data:`BEHAVIOUR_TECHNIQUES` (a documented keyword table);
* :func:`parse_lemay_labels`, :func:`flagged_frames`, :func:`score_packets`: per-packet
  precision and recall on the Lemay & Fernandez Modbus captures (CSET 2016);
* :func:`parse_qut_log`, :func:`score_windows`, :func:`score_types`: per attack window
  detection and time to detect on the QUT 2017 DNP3 captures.

An alert occurrence is reduced to an :class:`Occurrence` (what scoring needs, picklable, so
worker processes can send it back).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "BEHAVIOUR_TECHNIQUES",
    "AttackWindow",
    "FlowSpan",
    "ManifestEntry",
    "Occurrence",
    "PacketKey",
    "PacketScore",
    "TypeResult",
    "WindowResult",
    "attack_type",
    "canonical_key",
    "expected_techniques",
    "fitting",
    "flagged_frames",
    "normalise_description",
    "normalise_name",
    "outside_windows",
    "parse_lemay_labels",
    "parse_manifest",
    "parse_qut_log",
    "score_packets",
    "score_types",
    "score_windows",
]


# -- MANIFEST.md --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestEntry:
    """One capture row of the MANIFEST Files table."""

    path: str
    """Relative to the corpus directory (``qut-dnp3/Replay_testing_frequent_attacker.pcap``)."""
    protocol: str
    label: str
    """normal, suspicious, attack, malformed or mixed."""
    packets: int
    notes: str


def parse_manifest(text: str) -> list[ManifestEntry]:
    """The captures of the MANIFEST Files table (rows whose packet count is a number; label
    files, logs and licences have ``-`` there and are skipped).

    The table is the one whose header starts ``| path | protocol | label | packets``; its last
    cell is the notes. Cells never contain ``|`` in this manifest (checked: the notes use ``;``
    and ``/``)."""
    out: list[ManifestEntry] = []
    in_files = False
    for line in text.splitlines():
        if line.startswith("| path | protocol | label | packets"):
            in_files = True
            continue
        if in_files and not line.startswith("|"):
            if out:
                break
            continue
        if not in_files or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[3].isdigit():
            continue
        out.append(ManifestEntry(path=cells[0].strip("`"), protocol=cells[1], label=cells[2],
                                 packets=int(cells[3]), notes=cells[-1]))
    return out


# -- expected techniques ------------------------------------------------------------------------
BEHAVIOUR_TECHNIQUES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (what the capture does, pattern over its normalised description, fitting techniques)
    ("operating mode change: PLC stop/start, stop program invocation",
     r"\b(stop|start|run mode|mode change|operating mode)\b",
     ("T0858", "T0881", "T0816")),  # Change Operating Mode, Service Stop, Device Restart/Shutdown
    ("program transfer: download, upload, online edit, block or configuration download, "
     "copy RAM to ROM",
     # "uploading an executable" (a tool sent to a host) is not a program transfer
     r"\b(download|upload(?!ing (an )?exe)|program|block|online edit|hw config|"
     r"hardware config|ram to rom|software)\b",
     # Program Download, Program Upload, Modify Program, Scripting, Project File Infection
     ("T0843", "T0845", "T0889", "T0853", "T0873")),
    # System Firmware, Activate Firmware Update Mode, Module Firmware
    ("firmware change", r"\bfirmware\b", ("T0857", "T0800", "T0839")),
    ("commands and writes to outputs, setpoints and points",
     r"\b(write|writes|setpoint|analog output|binary output|select|operate|"
     r"command(?! and control)|commands|coil|set attribute|force|freeze|push)\b",
     # Unauthorized Command Message, Modify Parameter, Manipulation of Control, Brute Force I/O
     ("T0855", "T0836", "T0831", "T0806")),
    ("device restart, reset, reboot, reinitialise", r"\b(restart|reset|reboot|reinitiali[sz]e)",
     ("T0816",)),
    ("scanning, discovery, enumeration, device identification",
     r"\b(scan|scans|scanning|discovery|enumeration|identify|identification|nmap|recon|"
     r"reconnaissance|characterization|who is|sweep)\b",
     # Remote System Discovery, Remote System Information Discovery, Network Connection
     # Enumeration, Point & Tag Identification
     ("T0846", "T0888", "T0840", "T0861")),
    ("physical identification command (flash the device's LED)", r"\bflash led\b",
     ("T0855", "T0888")),
    ("flooding and denial of service", r"\b(flood|flooding|dos|denial)\b",
     ("T0814", "T0813", "T0815")),  # Denial of Service, Denial of Control, Denial of View
    ("exploit of a known vulnerability", r"\b(exploit|cve \d{4} \d+|rce|poc|path traversal|"
     r"ripple20|log4shell|jndi)\b",
     # Exploitation of Remote Services, Exploit Public-Facing Application, Exploitation for
     # Privilege Escalation
     ("T0866", "T0819", "T0890")),
    ("evasion of an HTTP inspection (exploit delivery)", r"\b(evasion|evader)\b",
     ("T0819", "T0866")),
    ("man in the middle, spoofing, replay, masquerading, injection, hijacking",
     r"\b(mitm|spoof|spoofed|spoofing|replay|masquerad\w*|injection|inject|hijack\w*)\b",
     # Adversary-in-the-Middle, Spoof Reporting Message, Rogue Master, Masquerading,
     # Unauthorized Command Message, Manipulation of Control
     ("T0830", "T0856", "T0848", "T0849", "T0855", "T0831")),
    ("time or date set", r"\b(time set|set time|clock|change time|change date|date set)\b",
     ("T0836", "T0855")),
    ("device or network configuration change (IP address, port, protocol, route)",
     r"\b(set ip|change ip|port configuration|protocol change|configuration|add route|"
     r"set attribute)\b",
     ("T0836", "T0855", "T0886")),
    # a file written to a device carries content onto it (configuration, program, tool):
    # Program Download, Lateral Tool Transfer
    ("file transfer onto a device", r"\bfile (write|writes|transfer|upload|download)\b",
     ("T0843", "T0867")),
    # Data Destruction, Indicator Removal on Host, Unauthorized Command Message
    ("file deletion on a device", r"\bdelete\b", ("T0809", "T0872", "T0855")),
    ("covert channel inside an industrial protocol", r"\bcovert channel\b",
     ("T0869", "T0885")),  # Standard Application Layer Protocol, Commonly Used Port
    ("lateral movement and file transfer over SMB", r"\b(lateral|smb|moving|file transfer)\b",
     ("T0867", "T0886", "T0866")),  # Lateral Tool Transfer, Remote Services, Exploitation
    ("command and control, tool or executable upload",
     r"\b(c ?& ?c|cnc|command and control|executable|exe)\b",
     ("T0867", "T0869", "T0885")),  # Lateral Tool Transfer, Std App Layer Protocol, Port
    ("IDS signature test data (Digital Bond Quickdraw): restart, mode, write, scan, "
     "diagnostics and flood signatures",
     r"\bids signature test data\b",
     ("T0816", "T0855", "T0836", "T0858", "T0881", "T0888", "T0846", "T0814", "T0856")),
)
"""What a capture's MANIFEST description says it does -> the ATT&CK for ICS techniques an
alert about that behaviour may carry. It is about the behaviour, never about which rule
otshield happens to have: e.g. "restart" calls for Device Restart/Shutdown (T0816) whichever
protocol carries it. Patterns run over :func:`normalise_description` (lower case, words split,
``_``/``-`` as spaces); every matching row adds its techniques."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9&]+")
_CUTS = ("Identical copy also in", "DERIVED", "per-packet labels in", "labels =")
_COMPILED = tuple((name, re.compile(pattern), techs)
                  for name, pattern, techs in BEHAVIOUR_TECHNIQUES)


def _words(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", _CAMEL.sub(" ", text).lower()).split())


def normalise_description(entry: ManifestEntry) -> str:
    """The capture's MANIFEST notes as lower-case words, cut where they stop describing the
    traffic ("Identical copy also in", "DERIVED", "per-packet labels in", "labels =": file
    names of copies, labels and how a file was made are not behaviour). CamelCase is split
    (``initiateDownloadSequence``) and ``_``/``-`` are spaces."""
    notes = entry.notes
    for cut in _CUTS:
        if cut in notes:
            notes = notes[:notes.index(cut)]
    return _words(notes)


def normalise_name(entry: ManifestEntry) -> str:
    """The capture's file name (without extension) as lower-case words."""
    return _words(entry.path.rsplit("/", 1)[-1].rsplit(".", 1)[0])


def _match(text: str) -> tuple[set[str], list[str]]:
    techs: set[str] = set()
    matched: list[str] = []
    for name, pattern, row in _COMPILED:
        if pattern.search(text):
            techs.update(row)
            matched.append(name)
    return techs, matched


def expected_techniques(entry: ManifestEntry) -> tuple[frozenset[str], tuple[str, ...]]:
    """The techniques fitting the capture's described behaviour, and the behaviours matched
    (for the report).

    The notes decide; the file name is read only when the notes match no row, because some
    notes are generic ("function-specific capture recorded for firewall parser tests") while
    the name says what the file holds (``warm_restart_and_response``), and because names also
    describe background (``..._6RTU_with_operate``: the testbed's routine operator commands,
    not the attack the notes describe). Empty when neither matches: the evaluation then counts
    the capture as a miss, and the table needs a row."""
    techs, matched = _match(normalise_description(entry))
    if not techs:
        techs, matched = _match(normalise_name(entry))
    return frozenset(techs), tuple(matched)


# -- alert occurrences --------------------------------------------------------------------------
@dataclass(frozen=True)
class Occurrence:
    """One alert occurrence (before merging), as scoring needs it."""

    ts: float
    frame: int
    rule_id: str
    severity: str
    techniques: tuple[str, ...] = ()
    flow_id: int = 0
    frames: tuple[int, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)
    """Every IP address the alert names (endpoints, asset refs, evidence)."""
    key: str = ""


def fitting(occurrences: Iterable[Occurrence], expected: frozenset[str]) -> dict[str, set[str]]:
    """Rule id -> the expected techniques it raised (rules raising none are left out)."""
    out: dict[str, set[str]] = {}
    for occ in occurrences:
        hit = expected.intersection(occ.techniques)
        if hit:
            out.setdefault(occ.rule_id, set()).update(hit)
    return out


# -- Lemay Modbus: per-packet scoring -----------------------------------------------------------
def parse_lemay_labels(text: str, origin: str = "labels") -> dict[int, bool]:
    """``frame_number;label`` lines (1-based frames, ``1`` = malicious, ``0`` = normal; CRLF
    line ends as published) -> frame -> malicious. A malformed line raises ValueError naming
    ``origin`` and the line number."""
    out: dict[int, bool] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(";")
        if len(parts) != 2 or not parts[0].strip().isdigit() or parts[1].strip() not in "01" \
                or not parts[1].strip():
            raise ValueError(f"{origin}:{lineno}: expected 'frame;0|1', got {line[:60]!r}")
        out[int(parts[0])] = parts[1].strip() == "1"
    return out


FlowKeyT = tuple[str, int, str, int, int]


def canonical_key(src: str, sport: int, dst: str, dport: int, proto: int) -> FlowKeyT:
    """Direction-free 5-tuple: both directions of a conversation give the same key."""
    if (src, sport) > (dst, dport):
        src, sport, dst, dport = dst, dport, src, sport
    return (src, sport, dst, dport, proto)


@dataclass(frozen=True)
class PacketKey:
    """Where a packet of the capture belongs: its frame, time and 5-tuple (None: not IP)."""

    frame: int
    ts: float
    key: FlowKeyT | None


@dataclass(frozen=True)
class FlowSpan:
    """One flow as the engine tracked it (its flow record): id, 5-tuple, first and last
    packet time."""

    flow_id: int
    key: FlowKeyT
    start: float
    end: float


def flagged_frames(packets: Sequence[PacketKey], flows: Iterable[FlowSpan],
                   occurrences: Iterable[Occurrence]) -> tuple[set[int], set[int]]:
    """The frames alerts point at, in two readings: (by flow, by frame).

    * by frame (strict): the frames the occurrences list (``frame`` and ``frames``);
    * by flow (what an analyst opens): those, plus every packet of each flow an occurrence was
      raised on: same 5-tuple (either direction) and within that flow's first and last packet
      time, so a 5-tuple reused by a later connection is not condemned with it. Occurrences
      without a flow (ARP, inventory changes) flag their frames only."""
    by_frame: set[int] = set()
    alerted: set[int] = set()
    for occ in occurrences:
        if occ.frame:
            by_frame.add(occ.frame)
        by_frame.update(f for f in occ.frames if f)
        if occ.flow_id:
            alerted.add(occ.flow_id)
    spans: dict[FlowKeyT, list[tuple[float, float]]] = {}
    for flow in flows:
        if flow.flow_id in alerted:
            spans.setdefault(flow.key, []).append((flow.start, flow.end))
    by_flow = set(by_frame)
    if spans:
        for p in packets:
            if p.key is None:
                continue
            for start, end in spans.get(p.key, ()):
                if start <= p.ts <= end:
                    by_flow.add(p.frame)
                    break
    return by_flow, by_frame


@dataclass(frozen=True)
class PacketScore:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        """None when nothing was flagged (precision undefined)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """None when the file has no malicious packet."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def score_packets(labels: dict[int, bool], flagged: set[int]) -> PacketScore:
    """Confusion counts over the labelled frames (flagged frames without a label are ignored:
    the labels cover every frame of the published files)."""
    tp = fp = fn = tn = 0
    for frame, malicious in labels.items():
        hit = frame in flagged
        if malicious:
            tp, fn = tp + hit, fn + (not hit)
        else:
            fp, tn = fp + hit, tn + (not hit)
    return PacketScore(tp=tp, fp=fp, fn=fn, tn=tn)


# -- QUT DNP3: attack windows -------------------------------------------------------------------
@dataclass(frozen=True)
class AttackWindow:
    name: str
    """As logged (``injection_WarmRestart``)."""
    start: float
    """Epoch seconds (UTC)."""
    end: float
    hosts: tuple[str, ...] = ()
    """IP addresses logged with the attack (its targets); empty for nmap."""
    closed: bool = True
    """False when the log has no END for it (end = start then)."""


_LOG_LINE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) (\S+)((?: \d{1,3}(?:\.\d{1,3}){3})*)"
    r" (START|END)\s*$")


def _epoch(day: str, clock: str, utc_offset_hours: float) -> float:
    when = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S.%f" if "." in clock
                             else "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(when.timetuple()) + when.microsecond / 1e6 - utc_offset_hours * 3600


def parse_qut_log(text: str, utc_offset_hours: float = 10.0,
                  origin: str = "log") -> list[AttackWindow]:
    """``YYYY-MM-DD HH:MM:SS.ffffff name [ip ...] START|END`` lines (local time,
    ``utc_offset_hours`` ahead of UTC: UTC+10 for QUT) -> windows in START order. A START is
    closed by the next END with the same name and hosts. Malformed lines raise ValueError
    naming ``origin`` and the line."""
    windows: list[AttackWindow] = []
    open_: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = _LOG_LINE.match(line)
        if m is None:
            raise ValueError(f"{origin}:{lineno}: not 'date time name [ip...] START|END': "
                             f"{line[:80]!r}")
        day, clock, name, ips, what = m.groups()
        hosts = tuple(ips.split())
        ts = _epoch(day, clock, utc_offset_hours)
        if what == "START":
            open_.setdefault((name, hosts), []).append(len(windows))
            windows.append(AttackWindow(name=name, start=ts, end=ts, hosts=hosts, closed=False))
            continue
        pending = open_.get((name, hosts))
        if not pending:
            raise ValueError(f"{origin}:{lineno}: END of {name} without a START")
        i = pending.pop(0)
        w = windows[i]
        windows[i] = AttackWindow(name=w.name, start=w.start, end=max(ts, w.start),
                                  hosts=w.hosts, closed=True)
    return windows


_NUMBERING = re.compile(r"[_-]?\d+$")


def attack_type(name: str) -> str:
    """The attack name without a trailing run number (``master_flooding_2`` ->
    ``master_flooding``); QUT's names carry none today."""
    return _NUMBERING.sub("", name) or name


@dataclass(frozen=True)
class WindowResult:
    window: AttackWindow
    detected: bool
    rules: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    ttd: float | None = None
    """Time to detect: first qualifying occurrence minus the window start (seconds)."""
    occurrences: int = 0


def score_windows(windows: Sequence[AttackWindow], occurrences: Sequence[Occurrence],
                  grace: float = 60.0, lead: float = 0.0) -> list[WindowResult]:
    """Per window: detected when an occurrence falls in [start - lead, end + grace] and, when
    the window lists hosts, names one of them. ``grace`` covers alerts that need the end of a
    burst (rates, flow ends) and the log/capture clock offset (the capture runs about 2 s
    behind the log)."""
    ordered = sorted(occurrences, key=lambda o: o.ts)
    times = [o.ts for o in ordered]
    from bisect import bisect_left, bisect_right

    out: list[WindowResult] = []
    for w in windows:
        lo = bisect_left(times, w.start - lead)
        hi = bisect_right(times, w.end + grace)
        wanted = set(w.hosts)
        hits = [o for o in ordered[lo:hi] if not wanted or wanted & o.hosts]
        if not hits:
            out.append(WindowResult(window=w, detected=False))
            continue
        out.append(WindowResult(
            window=w, detected=True, rules=tuple(sorted({o.rule_id for o in hits})),
            techniques=tuple(sorted({t for o in hits for t in o.techniques})),
            ttd=hits[0].ts - w.start, occurrences=len(hits)))
    return out


def outside_windows(windows: Sequence[AttackWindow], occurrences: Iterable[Occurrence],
                    grace: float = 60.0) -> list[Occurrence]:
    """Occurrences in no window's [start, end + grace]: alerts while no attack was logged
    (false alarms, or attack effects that outlast the window)."""
    spans = [(w.start, w.end + grace) for w in windows]  # a few dozen per run: a plain scan
    return [o for o in occurrences if not any(a <= o.ts <= b for a, b in spans)]


@dataclass(frozen=True)
class TypeResult:
    name: str
    windows: int
    detected: int
    median_ttd: float | None
    techniques: tuple[str, ...]


def score_types(results: Iterable[WindowResult]) -> list[TypeResult]:
    """Per attack type: windows, windows detected, median time to detect, techniques seen."""
    groups: dict[str, list[WindowResult]] = {}
    for r in results:
        groups.setdefault(attack_type(r.window.name), []).append(r)
    out = []
    for name in sorted(groups):
        rs = groups[name]
        ttds = sorted(r.ttd for r in rs if r.ttd is not None)
        median = None
        if ttds:
            mid = len(ttds) // 2
            median = ttds[mid] if len(ttds) % 2 else (ttds[mid - 1] + ttds[mid]) / 2
        out.append(TypeResult(name=name, windows=len(rs), detected=sum(r.detected for r in rs),
                              median_ttd=median,
                              techniques=tuple(sorted({t for r in rs for t in r.techniques}))))
    return out

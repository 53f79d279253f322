"""Shared helpers for tests: the third-party corpus, tshark as an oracle, decoding shortcuts."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.config import Settings
from otshield.engine import Engine, decode_file, run_capture
from otshield.events import Event
from otshield.protocols.base import ProtocolSpec
from otshield.protocols.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PCAPS = SHARED / "data" / "pcaps"
MANIFEST = PCAPS / "MANIFEST.md"


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    protocol: str
    label: str
    packets: int
    main_protocols: str


@functools.cache
def corpus() -> tuple[CorpusFile, ...]:
    """Every capture listed in ../shared/data/pcaps/MANIFEST.md (empty if absent)."""
    if not MANIFEST.exists():
        return ()
    rows: list[CorpusFile] = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rel = cells[0].strip("`")
        if cells[3] == "-" or not (PCAPS / rel).is_file():
            continue  # label files, logs and licences have no packet count
        packets = int(cells[3]) if cells[3].isdigit() else 0
        rows.append(CorpusFile(PCAPS / rel, cells[1], cells[2], packets, cells[5]))
    return tuple(rows)


def corpus_files(protocol: str | None = None, label: str | None = None,
                 dissected: str | None = None) -> list[CorpusFile]:
    """Corpus captures filtered by MANIFEST protocol (substring, case-insensitive), label, or a
    tshark layer name appearing in the 'main protocols' column."""
    out = []
    for c in corpus():
        if protocol and protocol.lower() not in c.protocol.lower():
            continue
        if label and c.label != label:
            continue
        if dissected and dissected not in c.main_protocols:
            continue
        out.append(c)
    return out


def corpus_params(files: Iterable[CorpusFile]) -> list[Any]:
    """pytest params named by the capture's path relative to the corpus; a single skip param
    with the reason when the corpus is absent."""
    files = list(files)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"third-party corpus not found at {PCAPS} (tests read it from ../shared)"))]
    return [pytest.param(f, id=str(f.path.relative_to(PCAPS))) for f in files]


def require_tshark() -> str:
    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark is not installed (apt-get install tshark); .ci/run installs it")
    return exe


def tshark_dissection(path: Path) -> tuple[list[tuple[int, str, str]], set[str]]:
    """How tshark sees a capture the project wrote: the packets it finds malformed or with an
    expert warning or error (number, protocols, severities), and every protocol layer seen.
    Chat (0x200000) and note (0x400000) expert items are fine; warning and error are not.
    IP, TCP and UDP checksums are verified (tshark leaves them unchecked by default), so a bad
    checksum is an expert error here."""
    exe = require_tshark()
    checks = [arg for proto in ("ip", "tcp", "udp")
              for arg in ("-o", f"{proto}.check_checksum:TRUE")]
    out = subprocess.run([exe, "-n", "-r", str(path), *checks, "-T", "fields",
                          "-e", "frame.protocols",
                          "-e", "_ws.expert.severity", "-e", "_ws.malformed"],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    seen: set[str] = set()
    problems: list[tuple[int, str, str]] = []
    for number, line in enumerate(out.splitlines(), 1):
        protocols, severity, malformed = [*line.split("\t"), "", ""][:3]
        seen.update(protocols.split(":"))
        levels = {int(s, 0) for s in severity.split(",") if s}
        if malformed or any(level >= 0x00600000 for level in levels):
            problems.append((number, protocols, severity))
    return problems, seen


def tshark_fields(path: Path, fields: list[str], display_filter: str = "",
                  extra: list[str] | None = None) -> list[list[str]]:
    """Run tshark -T fields and return one row (list of field strings) per displayed packet.
    The first column is always frame.number. Multi-valued fields are joined with ','."""
    exe = require_tshark()
    cmd = [exe, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += extra or []
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    return [line.split("\t") for line in res.stdout.splitlines() if line]


def decode(path: Path | str) -> list[Event]:
    """All events otshield emits for a capture file."""
    return decode_file(Path(path))


def decode_only(path: Path | str, *specs: ProtocolSpec,
                settings: Settings | None = None) -> list[Event]:
    """All events for a capture with only ``specs`` registered: a decoder's tests then see
    neither the other decoders' claims nor their events."""
    events: list[Event] = []
    engine = Engine(events.append, settings, registry=Registry(list(specs)))
    with open_capture(Path(path)) as reader:
        run_capture(reader, engine)
    engine.finish()
    return events


def of_type(events: Iterable[Event], dataset: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == dataset]


def without_position(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Events as dicts minus packet-position fields (ts, frame, flow counters), for comparing
    a capture with its re-segmented replay."""
    import msgspec

    drop = {"ts", "frame", "@timestamp", "start", "packets_to_server", "packets_to_client",
            "request_frame", "response_frame", "first_frame"}
    out = []
    for e in events:
        d = msgspec.to_builtins(e)
        out.append({k: v for k, v in d.items() if k not in drop})
    return out

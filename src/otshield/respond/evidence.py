"""Evidence for a case: the packets of the flows an incident involves, cut out of the captures.

A responder, a forensic firm or the authorities want the traffic that shows the attack, not a
day of plant polling. ``extract_flows`` keeps the packets between the incident's attackers and
the assets they touched (either direction, any port), within the incident's time span plus a
margin, and writes them to a new pcap with its SHA-256, so the file can be handed over with a
chain of custody.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import msgspec

from otshield.capture import open_capture
from otshield.netstack import Packet, decode, format_ip
from otshield.pcapwriter import PcapWriter
from otshield.respond.incident import Incident

__all__ = ["Extract", "extract_flows", "incident_pairs"]


class Extract(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    packets: int
    sha256: str
    pairs: tuple[tuple[str, str], ...]
    start: float
    end: float


def incident_pairs(incident: Incident) -> set[frozenset[str]]:
    """Address pairs worth keeping: each attacker with every other asset of the incident (and,
    with no attacker identified, every pair of the incident's assets)."""
    ips = [a.ip for a in incident.assets]
    attackers = [a.ip for a in incident.attackers] or ips
    return {frozenset((a, b)) for a in attackers for b in ips if a != b}


def extract_flows(captures: Iterable[Path], incident: Incident, out: Path,
                  margin: float = 60.0) -> Extract:
    """Write the incident's packets from ``captures`` to ``out`` (pcap, written atomically)."""
    pairs = incident_pairs(incident)
    start, end = incident.first_seen - margin, incident.last_seen + margin
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    written = 0
    linktype: int | None = None
    p = Packet()
    try:
        with tmp.open("wb") as fh:
            writer: PcapWriter | None = None
            for path in captures:
                with open_capture(path) as reader:
                    for ts, lt, frame in reader:
                        if not start <= ts <= end:
                            continue
                        p.src = p.dst = b""
                        if decode(lt, frame, p) == "":
                            continue  # not IP
                        if not p.src or frozenset((format_ip(p.src), format_ip(p.dst))) \
                                not in pairs:
                            continue
                        if writer is None:
                            linktype = lt
                            writer = PcapWriter(fh, linktype=lt)
                        if lt != linktype:
                            continue  # one link type per pcap file
                        writer.write(ts, frame)
                        written += 1
            if writer is None:
                PcapWriter(fh)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Extract(path=str(out), packets=written, sha256=digest,
                   pairs=tuple(sorted((min(pr), max(pr)) for pr in pairs)),
                   start=start, end=end)

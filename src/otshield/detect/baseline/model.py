"""The baseline: what normal traffic looks like, per site and per zone, as a versioned file.

One :class:`Baseline` holds a :class:`ZoneModel` per zone of the site file (``""`` when there
is none). A zone model lists

- ``assets``: addresses (IP, or MAC for link-layer protocols) seen sending, with the protocols
  each serves and uses;
- ``pairs``: talker pairs, keyed ``client server protocol`` (the protocol is the decoder's name,
  or ``tcp/8080`` when nothing decoded the flow); per pair the functions used (code -> name and
  class), the areas written with their address ranges, and the polling statistics per function.

A pair belongs to the zone of its server (the asset acted upon), an asset to its own zone.

The file is JSON (``format: otshield-baseline``, ``version``), written atomically (temporary
file, then ``os.replace``) so a crash never leaves half a baseline; loading checks the format
marker and version and names the file and the problem, never a traceback. Sets are written
sorted so two runs over the same capture give the same file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from otshield.errors import ConfigError

__all__ = [
    "FORMAT",
    "VERSION",
    "AssetModel",
    "Baseline",
    "FunctionModel",
    "LearningSettings",
    "Limits",
    "MaintenanceWindow",
    "PairModel",
    "PollModel",
    "ZoneModel",
    "load_baseline",
    "merge_interval",
    "pair_key",
    "save_baseline",
    "split_pair_key",
]

FORMAT = "otshield-baseline"
VERSION = 1


class AssetModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    first_seen: float = 0.0
    last_seen: float = 0.0
    serves: set[str] = msgspec.field(default_factory=set)
    """Protocols the asset answered as a server."""
    uses: set[str] = msgspec.field(default_factory=set)
    """Protocols the asset used as a client (or sent, for publish/subscribe protocols)."""


class FunctionModel(msgspec.Struct, kw_only=True, omit_defaults=True, array_like=False):
    name: str = ""
    function_class: str = ""
    count: int = 0


class PollModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Intervals between consecutive requests of one kind, and their robust statistics."""

    name: str = ""
    samples: list[float] = msgspec.field(default_factory=list)
    """The last intervals learnt (seconds, bounded: :attr:`Limits.poll_samples`)."""
    count: int = 0
    """Intervals learnt in all (``samples`` keeps the newest)."""
    median: float = 0.0
    mad: float = 0.0
    """Median absolute deviation of ``samples`` around ``median``."""
    low: float = 0.0
    high: float = 0.0
    """5th and 95th percentiles of ``samples``: the band of periods seen while learning (a loop
    that reads in bursts has short and long intervals, both normal)."""


class PairModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    first_seen: float = 0.0
    last_seen: float = 0.0
    ports: set[int] = msgspec.field(default_factory=set)
    """Server ports seen for the pair."""
    functions: dict[str, FunctionModel] = msgspec.field(default_factory=dict)
    """Function code (``3``, ``90/40``) -> what it is."""
    writes: dict[str, list[tuple[int, int]]] = msgspec.field(default_factory=dict)
    """Area (``unit 1 holding registers``, ``g12``, ``DB5``) -> written ranges, merged,
    sorted; an empty list for areas of named items (tags, variables)."""
    polls: dict[str, PollModel] = msgspec.field(default_factory=dict)
    """Function (and subject) -> polling period."""


class ZoneModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    assets: dict[str, AssetModel] = msgspec.field(default_factory=dict)
    pairs: dict[str, PairModel] = msgspec.field(default_factory=dict)
    events: int = 0
    """Events learnt in this zone."""
    first_ts: float = 0.0
    last_ts: float = 0.0
    """Packet time of the first and last events learnt."""


class LearningSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How ``auto`` mode learns before protecting."""

    scope: Literal["site", "zone"] = "site"
    """``site``: one learning period for the whole site; ``zone``: one per zone."""
    seconds: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    """Learn for this many seconds of packet time from the first event (0: no time limit)."""
    events: Annotated[int, msgspec.Meta(ge=0)] = 0
    """...or for this many events (0: no event limit); whichever limit is reached first."""
    mature_seconds: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    mature_events: Annotated[int, msgspec.Meta(ge=0)] = 500
    """A baseline learnt over less packet time or fewer events than these is immature: it has
    not seen a full cycle of the plant, so what it calls new often is not, and its alerts are
    capped at low severity and confidence (the alert says so). 0 turns the check off."""


_Cap = Annotated[int, msgspec.Meta(ge=1)]


class Limits(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Caps that bound memory; reaching one gives a single ``baseline.capacity`` alert."""

    assets: _Cap = 20_000
    """Assets per zone."""
    pairs: _Cap = 50_000
    """Talker pairs per zone."""
    functions: _Cap = 256
    """Functions per pair."""
    areas: _Cap = 256
    """Write areas per pair."""
    ranges: _Cap = 64
    """Ranges per write area (beyond it the closest ranges are merged)."""
    polls: _Cap = 64
    """Polling keys per pair."""
    poll_samples: _Cap = 256
    """Intervals kept per polling key."""
    new_items: _Cap = 100_000
    """New items remembered while protecting (so each alerts once)."""


class MaintenanceWindow(msgspec.Struct, kw_only=True, omit_defaults=True,
                        forbid_unknown_fields=True):
    """A time range during which deviations are not alerted (``suppress``) or are learnt into
    the baseline (``relearn``), optionally only for some zones or assets."""

    start: datetime
    end: datetime
    action: Literal["suppress", "relearn"] = "suppress"
    zones: list[str] = msgspec.field(default_factory=list)
    assets: list[str] = msgspec.field(default_factory=list)
    note: str = ""


class Baseline(msgspec.Struct, kw_only=True, omit_defaults=False):
    format: str = FORMAT
    version: int = VERSION
    site: str = ""
    created: str = ""
    """Wall-clock time the file was first written (ISO 8601), for the reader only."""
    updated: str = ""
    learning: LearningSettings = msgspec.field(default_factory=LearningSettings)
    limits: Limits = msgspec.field(default_factory=Limits)
    maintenance: list[MaintenanceWindow] = msgspec.field(default_factory=list)
    zones: dict[str, ZoneModel] = msgspec.field(default_factory=dict)

    def zone(self, name: str) -> ZoneModel:
        model = self.zones.get(name)
        if model is None:
            model = self.zones[name] = ZoneModel()
        return model


def pair_key(client: str, server: str, protocol: str) -> str:
    return f"{client} {server} {protocol}"


def split_pair_key(key: str) -> tuple[str, str, str]:
    client, server, protocol = key.split(" ", 2)
    return client, server, protocol


def merge_interval(ranges: list[tuple[int, int]], first: int, last: int, cap: int) -> None:
    """Add [first, last] to sorted, merged ``ranges`` in place (adjacent ranges join). Past
    ``cap`` ranges the two closest neighbours are joined: the table stays bounded and only
    loses precision, never an address that was written."""
    lo, hi = (first, last) if first <= last else (last, first)
    out: list[tuple[int, int]] = []
    placed = False
    for a, b in ranges:
        if b + 1 < lo:
            out.append((a, b))
        elif hi + 1 < a:
            if not placed:
                out.append((lo, hi))
                placed = True
            out.append((a, b))
        else:
            lo, hi = min(lo, a), max(hi, b)
    if not placed:
        out.append((lo, hi))
        out.sort()
    while len(out) > max(cap, 1):
        gaps = [(out[i + 1][0] - out[i][1], i) for i in range(len(out) - 1)]
        _, i = min(gaps)
        out[i:i + 2] = [(out[i][0], out[i + 1][1])]
    ranges[:] = out


# -- persistence ----------------------------------------------------------------------------------
_encoder = msgspec.json.Encoder(order="deterministic")


def save_baseline(baseline: Baseline, path: Path) -> None:
    """Write ``baseline`` to ``path`` atomically (a crash leaves the old file or the new one)."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    baseline.updated = now
    if not baseline.created:
        baseline.created = now
    data = msgspec.json.format(_encoder.encode(baseline), indent=1)
    directory = path.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the baseline: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.write(b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigError(f"{path}: cannot write the baseline: {exc.strerror}") from None


class _Header(msgspec.Struct):
    format: str = ""
    version: int = 0


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; a missing, corrupt, foreign or newer file is a ConfigError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    try:
        header = msgspec.json.decode(data, type=_Header)
    except msgspec.ValidationError:
        raise ConfigError(f"{path}: not a baseline file (expected a JSON object with "
                          f"format {FORMAT!r})") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not a baseline file (not valid JSON: {exc})") from None
    if header.format != FORMAT:
        raise ConfigError(f"{path}: not a baseline file (format is {header.format!r}, "
                          f"expected {FORMAT!r})")
    if header.version != VERSION:
        raise ConfigError(f"{path}: baseline version {header.version} is not supported "
                          f"(this otshield reads version {VERSION})")
    try:
        return msgspec.json.decode(data, type=Baseline)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: invalid baseline: {exc}") from None

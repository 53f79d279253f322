"""Reviewing and editing a baseline by hand: allow what is expected, forget what should alert.

Entries are written ``KIND:FIELD,FIELD,...``:

==========  ==============================================  ===================================
kind        fields                                          allow / forget
==========  ==============================================  ===================================
asset       ADDRESS                                         the asset (forget: and its pairs)
talker      CLIENT,SERVER,PROTOCOL                          the talker pair (and the protocol
                                                            on both assets)
function    CLIENT,SERVER,PROTOCOL,CODE[,NAME]              one function code of the pair
write       CLIENT,SERVER,PROTOCOL,AREA[,FIRST-LAST]        a written range (forget without a
                                                            range: the whole area)
poll        CLIENT,SERVER,PROTOCOL,KEY                      forget only: a polling period
                                                            (``*``: all of the pair's)
==========  ==============================================  ===================================

``PROTOCOL`` is the label the baseline shows (``modbus``, ``tcp/8080``); ``CODE`` the function
code it shows (``16``, ``90/40``). The zone is the one holding the entry, or ``--zone``.
"""

from __future__ import annotations

from dataclasses import dataclass

from otshield.detect.baseline.model import (
    AssetModel,
    Baseline,
    FunctionModel,
    PairModel,
    ZoneModel,
    merge_interval,
    pair_key,
)
from otshield.errors import ConfigError

__all__ = ["KINDS", "Entry", "allow", "forget", "parse_entry"]

KINDS: dict[str, tuple[int, int]] = {
    "asset": (1, 1), "talker": (3, 3), "function": (4, 5), "write": (4, 5), "poll": (4, 4)}
"""Kind -> (least, most) fields."""


@dataclass(frozen=True)
class Entry:
    kind: str
    fields: tuple[str, ...]

    def pair(self) -> str:
        return pair_key(*self.fields[:3])

    def __str__(self) -> str:
        return f"{self.kind}:{','.join(self.fields)}"


def parse_entry(text: str) -> Entry:
    """``talker:10.0.0.9,10.0.0.2,modbus`` -> Entry (errors say what is expected)."""
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS:
        raise ConfigError(f"{text!r}: expected KIND:FIELDS with KIND one of "
                          f"{', '.join(KINDS)} (e.g. talker:10.0.0.9,10.0.0.2,modbus)")
    fields = tuple(f.strip() for f in rest.split(","))
    least, most = KINDS[kind]
    if not least <= len(fields) <= most or any(not f for f in fields[:least]):
        raise ConfigError(f"{text!r}: {kind} takes {least}" + (f" to {most}" if most > least
                                                                 else "") + " fields")
    if any(" " in f for f in fields[:3]):
        raise ConfigError(f"{text!r}: addresses and protocols contain no spaces")
    return Entry(kind, fields)


def _range(text: str, where: Entry) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    try:
        lo = int(first, 0)
        hi = int(last, 0) if sep else lo
    except ValueError:
        raise ConfigError(f"{where}: range {text!r} is not FIRST-LAST (e.g. 100-120)") from None
    if lo < 0 or hi < 0:
        raise ConfigError(f"{where}: range {text!r} must not be negative")
    return (lo, hi) if lo <= hi else (hi, lo)


def _holding(baseline: Baseline, entry: Entry, zone: str | None) -> list[tuple[str, ZoneModel]]:
    """The zones holding the entry's pair or asset (``zone`` when given)."""
    if zone is not None:
        model = baseline.zones.get(zone)
        return [(zone, model)] if model is not None else []
    key = entry.fields[0] if entry.kind == "asset" else entry.pair()
    return [(name, z) for name, z in baseline.zones.items()
            if key in (z.assets if entry.kind == "asset" else z.pairs)]


def _target_zone(baseline: Baseline, entry: Entry, zone: str | None) -> str:
    if zone is not None:
        return zone
    found = _holding(baseline, entry, None)
    if found:
        return found[0][0]
    if entry.kind != "asset":  # the server's zone, when the server is a known asset
        server = entry.fields[1]
        for name, z in baseline.zones.items():
            if server in z.assets:
                return name
    return next(iter(baseline.zones), "")


def allow(baseline: Baseline, entry: Entry, zone: str | None = None) -> str:
    """Add ``entry`` to the baseline so it stops alerting; returns what was done."""
    target = _target_zone(baseline, entry, zone)
    model = baseline.zone(target)
    where = f"zone {target!r}" if target else "the site"
    if entry.kind == "asset":
        model.assets.setdefault(entry.fields[0], AssetModel())
        return f"allowed asset {entry.fields[0]} in {where}"
    if entry.kind == "poll":
        raise ConfigError(f"{entry}: polling periods are learnt, not allowed (forget one to "
                          "stop judging it, or relearn it in a maintenance window)")
    client, server, protocol = entry.fields[:3]
    pair = model.pairs.setdefault(entry.pair(), PairModel())
    model.assets.setdefault(client, AssetModel()).uses.add(protocol)
    model.assets.setdefault(server, AssetModel()).serves.add(protocol)
    if entry.kind == "talker":
        return f"allowed talker {client} -> {server} {protocol} in {where}"
    if entry.kind == "function":
        code = entry.fields[3]
        name = entry.fields[4] if len(entry.fields) > 4 else ""
        pair.functions.setdefault(code, FunctionModel(name=name, function_class="allowed"))
        return f"allowed function {code} for {client} -> {server} {protocol} in {where}"
    area = entry.fields[3]
    ranges = pair.writes.setdefault(area, [])
    if len(entry.fields) > 4 and entry.fields[4]:
        lo, hi = _range(entry.fields[4], entry)
        merge_interval(ranges, lo, hi, baseline.limits.ranges)
        return f"allowed writes {area} {lo}-{hi} for {client} -> {server} {protocol} in {where}"
    return f"allowed writes to {area} for {client} -> {server} {protocol} in {where}"


def forget(baseline: Baseline, entry: Entry, zone: str | None = None) -> str:
    """Remove ``entry`` from the baseline so it alerts again; returns what was done."""
    found = _holding(baseline, entry, zone)
    if entry.kind == "asset":
        addr = entry.fields[0]
        hits = [(n, z) for n, z in found if addr in z.assets]
        if not hits:
            raise ConfigError(f"{entry}: no such asset in the baseline")
        pairs = 0
        for _, z in baseline.zones.items():
            for key in [k for k in z.pairs if addr in k.split(" ", 2)[:2]]:
                del z.pairs[key]
                pairs += 1
        for _, z in hits:
            del z.assets[addr]
        return f"forgot asset {addr} and {pairs} talker pair(s) involving it"
    key = entry.pair()
    hits = [(n, z) for n, z in found if key in z.pairs]
    if not hits:
        raise ConfigError(f"{entry}: no such talker pair in the baseline")
    done = 0
    for _, z in hits:
        pair = z.pairs[key]
        if entry.kind == "talker":
            del z.pairs[key]
            done += 1
        elif entry.kind == "function":
            done += pair.functions.pop(entry.fields[3], None) is not None
        elif entry.kind == "poll":
            if entry.fields[3] == "*":
                done += len(pair.polls)
                pair.polls.clear()
            else:
                done += pair.polls.pop(entry.fields[3], None) is not None
        else:
            area = entry.fields[3]
            if area not in pair.writes:
                continue
            if len(entry.fields) > 4 and entry.fields[4]:
                lo, hi = _range(entry.fields[4], entry)
                pair.writes[area] = _subtract(pair.writes[area], lo, hi)
            else:
                del pair.writes[area]
            done += 1
    if not done:
        raise ConfigError(f"{entry}: not in the baseline")
    return f"forgot {entry}"


def _subtract(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if b < lo or a > hi:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo - 1))
        if b > hi:
            out.append((hi + 1, b))
    return out

"""Plain indicator lists: CSV with ``type,value[,name,severity,description]`` per line.

``type`` is one of ip, cidr, domain, url, md5, sha1, sha256; ``severity`` one of info, low,
medium, high, critical (empty: the default for the type). A first row ``type,value,...`` is
a header and skipped; empty lines and lines starting with ``#`` are ignored; fields may be
quoted as in RFC 4180 (a description with commas). Each entry is cited as ``file:line``, and
each bad line is reported as ``file:line: message``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from otshield.detect.alert import SEVERITIES
from otshield.detect.intel import normalize
from otshield.detect.intel.model import KINDS, Indicator, IndicatorSet, Term
from otshield.detect.rules.suggest import did_you_mean
from otshield.errors import ConfigError

__all__ = ["load_csv", "term_for"]

_MAX_FIELD = 4096


def term_for(indicator: Indicator, kind: str, value: str) -> Term:
    """The term for a typed value; ``ValueError`` when the value does not fit the type."""
    if kind == "ip":
        return Term(indicator, "ip", normalize.ip(value))
    if kind == "cidr":
        net_kind, canonical = normalize.network(value)
        return Term(indicator, net_kind, canonical)
    if kind == "domain":
        return Term(indicator, "domain", normalize.domain(value))
    if kind == "url":
        return Term(indicator, "url", normalize.url(value))
    return Term(indicator, kind, normalize.file_hash(kind, value))


def load_csv(path: Path, into: IndicatorSet) -> None:
    """Index the entries of one CSV list; bad lines go to ``into.errors``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    origin = str(path)
    csv.field_size_limit(1 << 20)
    reader = csv.reader(text.splitlines(), strict=True)
    first = True
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            into.errors.append(f"{origin}:{start}: {exc}")
            break  # the reader cannot go on after a quoting error
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first:
            first = False
            if cells[0].lower() == "type":
                continue  # header
        where = f"{origin}:{line}"
        if len(cells) < 2 or not cells[1]:
            into.errors.append(f"{where}: expected 'type,value[,name,severity,description]'")
            continue
        if len(cells) > 5:
            into.errors.append(f"{where}: {len(cells)} fields, at most 5 "
                               "(type,value,name,severity,description; quote commas)")
            continue
        kind = cells[0].lower()
        if kind not in KINDS:
            into.errors.append(f"{where}: unknown indicator type '{cells[0]}' (one of "
                               f"{', '.join(KINDS)}){did_you_mean(kind, KINDS)}")
            continue
        name = cells[2] if len(cells) > 2 else ""
        severity = (cells[3].lower() if len(cells) > 3 else "") or None
        if severity is not None and severity not in SEVERITIES:
            into.errors.append(f"{where}: severity '{cells[3]}' is not one of "
                               f"{', '.join(SEVERITIES)}{did_you_mean(severity, SEVERITIES)}")
            continue
        description = cells[4] if len(cells) > 4 else ""
        indicator = Indicator(ref=where, origin=origin, name=name[:_MAX_FIELD],
                              description=description[:_MAX_FIELD], severity=severity)
        try:
            term = term_for(indicator, kind, cells[1])
        except ValueError as exc:
            into.errors.append(f"{where}: {exc}")
            continue
        into.add(indicator, [term])

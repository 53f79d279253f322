"""The playbook library: otshield's built-in OT playbooks plus a site's own, and which of them an
incident calls for.

Built-ins are authored in ``respond/playbooks/*.yaml`` and compiled to CACAO at load (see
:mod:`otshield.respond.author`); a site adds CACAO JSON (or authored YAML) files in a folder.
A playbook fits an incident when the incident's severity reaches the playbook's floor and one of
its techniques, tactics or rule patterns matches; the reasons are returned so the console can say
why a playbook is proposed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import msgspec

from otshield.detect.alert import severity_rank
from otshield.errors import ConfigError
from otshield.respond.author import compile_playbook
from otshield.respond.cacao.model import Playbook, load_playbook_file, parse_playbook
from otshield.respond.incident import Incident
from otshield.yamlsource import load_yaml

__all__ = ["Proposal", "builtin_playbooks", "find", "load_library", "propose"]


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    playbook_id: str
    name: str
    reasons: tuple[str, ...]
    auto_start: bool
    score: int
    """How many trigger items matched (more specific playbooks first)."""


def builtin_playbooks() -> list[Playbook]:
    """The built-in library, compiled and validated (sorted by name)."""
    out = []
    folder = resources.files("otshield.respond") / "playbooks"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            origin = f"built-in playbook {entry.name}"
            src = load_yaml(entry.read_text(encoding="utf-8"), origin)
            out.append(parse_playbook(compile_playbook(src, origin), origin))
    return sorted(out, key=lambda p: p.name)


def load_library(folders: Iterable[Path] = (), builtin: bool = True) -> list[Playbook]:
    """Built-ins plus every ``*.json``/``*.yaml`` playbook in ``folders``; a site playbook with
    the id of a built-in replaces it. Any invalid file is an error naming it."""
    by_id: dict[str, Playbook] = {p.id: p for p in builtin_playbooks()} if builtin else {}
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a folder of playbooks")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".json", ".yaml", ".yml"):
                pb = load_playbook_file(path)
                by_id[pb.id] = pb
    return sorted(by_id.values(), key=lambda p: p.name)


def find(library: Iterable[Playbook], ref: str) -> Playbook:
    """A playbook by id, by the slug its id was made from, or by (case-insensitive) name."""
    books = list(library)
    for pb in books:
        if ref in (pb.id, pb.name) or pb.name.lower() == ref.lower():
            return pb
    from otshield.respond.author import uid
    for pb in books:
        if pb.id == uid("playbook", ref):
            return pb
    names = ", ".join(p.name for p in books)
    raise ConfigError(f"no playbook {ref!r} (known: {names})")


def propose(incident: Incident, library: Iterable[Playbook]) -> list[Proposal]:
    """The playbooks that fit ``incident``, best first, each with why."""
    out: list[Proposal] = []
    for pb in library:
        trig = pb.triggers
        if severity_rank(incident.severity) < severity_rank(trig.min_severity):
            continue
        reasons: list[str] = []
        for t in trig.techniques:
            if t in incident.techniques:
                reasons.append(f"technique {t}")
        for t in trig.tactics:
            if t in incident.tactics:
                reasons.append(f"tactic {t}")
        for pattern in trig.rules:
            hits = [r for r in incident.rules if fnmatch.fnmatchcase(r, pattern)]
            if hits:
                reasons.append(f"rule {hits[0]} matches {pattern}")
        if reasons:
            out.append(Proposal(playbook_id=pb.id, name=pb.name, reasons=tuple(reasons),
                                auto_start=pb.auto_start, score=len(reasons)))
    return sorted(out, key=lambda p: (-p.score, p.name))

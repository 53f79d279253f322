"""MITRE ATT&CK for ICS: the technique table alerts are tagged from.

The project ships a compact table (``data/attack-ics.json``: technique id, name, tactics, URL;
tactics in the matrix's order) generated from MITRE's official STIX 2.1 bundle by
``scripts/gen_attack_table.py``, with MITRE's licence beside it (``data/attack-ics.LICENSE.txt``:
its terms require the notice to travel with any copy). A user with a newer bundle loads it
directly (``--attack-bundle ics-attack.json``): it is read with the ``stix2`` library, revoked
and deprecated techniques left out.

Rules are checked against this table: a technique id that does not exist (or no longer exists)
is a loading error, and an alert's tactics always come from the table, never from the rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from otshield.errors import ConfigError

__all__ = ["AttackTable", "Tactic", "Technique", "load_attack_table", "table_from_bundle"]

DATA = Path(__file__).resolve().parent.parent / "data" / "attack-ics.json"
_KILL_CHAIN = "mitre-ics-attack"


class Technique(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    tactics: tuple[str, ...]
    """Tactic short names (``inhibit-response-function``), in matrix order."""
    url: str = ""


class Tactic(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    """``TA0107``."""
    shortname: str
    name: str


class AttackTable(msgspec.Struct, frozen=True, kw_only=True):
    """The techniques and tactics of one ATT&CK for ICS release."""

    version: str
    modified: str = ""
    source: str = ""
    tactics: tuple[Tactic, ...] = ()
    """In the order of the ICS matrix (initial access ... impact)."""
    techniques: dict[str, Technique] = msgspec.field(default_factory=dict)

    def get(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id)

    def tactic_order(self, shortname: str) -> int:
        """Position of a tactic in the matrix (for kill-chain progression); -1 if unknown."""
        for i, tactic in enumerate(self.tactics):
            if tactic.shortname == shortname:
                return i
        return -1

    def tactics_of(self, technique_ids: Iterable[str]) -> tuple[str, ...]:
        """The tactics of these techniques, each once, in matrix order."""
        found = {t for tid in technique_ids if (tech := self.techniques.get(tid))
                 for t in tech.tactics}
        return tuple(sorted(found, key=lambda s: (self.tactic_order(s), s)))


def _external_id(obj: Any) -> tuple[str, str]:
    for ref in obj.get("external_references", ()) or ():
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"]), str(ref.get("url", ""))
    return "", ""


def table_from_bundle(path: Path) -> AttackTable:
    """Build the table from an ATT&CK for ICS STIX 2.1 bundle (parsed with ``stix2``)."""
    import stix2
    from stix2 import Filter

    try:
        raw = json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the ATT&CK bundle: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: the ATT&CK bundle is not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("type") != "bundle":
        raise ConfigError(f"{path}: not a STIX bundle (no \"type\": \"bundle\")")
    try:
        store = stix2.MemoryStore(stix_data=raw, allow_custom=True)
    except Exception as exc:  # stix2 raises many types for invalid content
        raise ConfigError(f"{path}: invalid STIX content: {exc}") from None

    def live(obj: Any) -> bool:
        return not obj.get("revoked", False) and not obj.get("x_mitre_deprecated", False)

    tactic_objs = {t["id"]: t for t in store.query([Filter("type", "=", "x-mitre-tactic")])}
    matrices = store.query([Filter("type", "=", "x-mitre-matrix")])
    order = list(matrices[0]["tactic_refs"]) if matrices else sorted(tactic_objs)
    tactics: list[Tactic] = []
    for ref in order:
        obj = tactic_objs.get(ref)
        if obj is None or not live(obj):
            continue
        tid, _ = _external_id(obj)
        tactics.append(Tactic(id=tid, shortname=str(obj["x_mitre_shortname"]),
                              name=str(obj["name"])))
    rank = {t.shortname: i for i, t in enumerate(tactics)}
    techniques: dict[str, Technique] = {}
    for obj in store.query([Filter("type", "=", "attack-pattern")]):
        tid, url = _external_id(obj)
        if not tid or not live(obj):
            continue
        phases = sorted({p["phase_name"] for p in obj.get("kill_chain_phases", ())
                         if p.get("kill_chain_name") == _KILL_CHAIN},
                        key=lambda s: (rank.get(s, 99), s))
        techniques[tid] = Technique(id=tid, name=str(obj["name"]), tactics=tuple(phases),
                                    url=url)
    if not techniques:
        raise ConfigError(f"{path}: no ATT&CK for ICS techniques in this bundle")
    collections = store.query([Filter("type", "=", "x-mitre-collection")])
    version = str(collections[0].get("x_mitre_version", "")) if collections else ""
    modified = str(collections[0].get("modified", "")) if collections else ""
    return AttackTable(version=version, modified=modified, source=path.name,
                       tactics=tuple(tactics),
                       techniques=dict(sorted(techniques.items())))


@cache
def _builtin() -> AttackTable:
    try:
        return msgspec.json.decode(DATA.read_bytes(), type=AttackTable)
    except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(f"{DATA}: the shipped ATT&CK table is missing or damaged: "
                          f"{exc}") from None


def load_attack_table(bundle: Path | None = None) -> AttackTable:
    """The shipped table, or one built from a (newer) STIX bundle the user gives."""
    return table_from_bundle(bundle) if bundle is not None else _builtin()

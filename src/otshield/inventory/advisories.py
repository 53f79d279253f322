"""Vulnerability exposure: match the inventory's identities against security advisories in
CSAF 2.0 JSON (the format CISA publishes its ICS advisories in, and most PSIRTs: Siemens,
Schneider Electric, Rockwell...).

From an advisory this reads the product tree (vendor / product name / version or version range
branches, full product names with their model numbers and CPEs) and the vulnerabilities (CVE,
title, known-affected products, CVSS v3 score, remediations). An asset matches a product when
the vendor agrees and the product name or a model number agrees with what the asset told us
(Modbus identification, CIP identity, S7 SZL order number...), and the version is inside the
range. When the asset's version is unknown the match is kept as ``version unknown``: for an OT
team "this PLC model has an advisory, check its firmware" is actionable.

Version ranges are read in the ``vers:`` syntax (``vers:intdot/>=2.0|<2.4.1``, ``vers:all/*``)
and in the free forms advisories also use (``<V3.2.17``, ``<=5.1``, ``All versions``).
Versions compare as sequences of numbers (``V2.4.1``, ``4.03``, ``20.11`` all work).
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from otshield.errors import ConfigError
from otshield.inventory.model import AdvisoryMatch, AssetRecord

__all__ = ["Advisory", "AdvisoryProduct", "load_advisories", "match_assets", "version_in"]

_MAX_FILE = 32 * 1024 * 1024


class AdvisoryProduct(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    vendor: str
    product: str
    version_spec: str = ""
    """Exact version (``product_version``) or range (``product_version_range``); empty: all."""
    exact: bool = False
    model_numbers: tuple[str, ...] = ()
    cpe: str = ""


class AdvisoryVulnerability(msgspec.Struct, frozen=True, kw_only=True):
    cve: str
    title: str
    affected: frozenset[str]
    score: float | None = None
    severity: str = ""
    remediation: str = ""


class Advisory(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    publisher: str
    source: str
    products: tuple[AdvisoryProduct, ...]
    vulnerabilities: tuple[AdvisoryVulnerability, ...]


# -- reading ---------------------------------------------------------------------------------
def load_advisories(paths: Iterable[Path]) -> list[Advisory]:
    """Advisories from CSAF files, or from every ``*.json`` of a directory."""
    out: list[Advisory] = []
    for path in paths:
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for f in files:
            out.append(_load(f))
    return out


def _load(path: Path) -> Advisory:
    try:
        if path.stat().st_size > _MAX_FILE:
            raise ConfigError(f"{path}: larger than {_MAX_FILE // 2**20} MiB, not an advisory")
        raw = msgspec.json.decode(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the advisory: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from None
    return parse_csaf(raw, str(path))


def _need(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ConfigError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}")
    return value


def parse_csaf(raw: Any, origin: str) -> Advisory:
    """An advisory from a decoded CSAF 2.0 document; ConfigError naming the path if it is not."""
    doc = _need(raw, "document", dict, origin)
    version = doc.get("csaf_version")
    if version != "2.0":
        raise ConfigError(f"{origin}: document.csaf_version is {version!r}, expected '2.0'")
    tracking = _need(doc, "tracking", dict, f"{origin}: document")
    adv_id = str(_need(tracking, "id", str, f"{origin}: document.tracking"))
    title = str(_need(doc, "title", str, f"{origin}: document"))
    publisher = str(doc.get("publisher", {}).get("name", "")) if isinstance(
        doc.get("publisher"), dict) else ""
    tree = raw.get("product_tree", {})
    if not isinstance(tree, dict):
        raise ConfigError(f"{origin}: product_tree: expected object")
    products = tuple(_walk(tree.get("branches", []), {}, f"{origin}: product_tree.branches"))
    vulns = []
    for i, v in enumerate(raw.get("vulnerabilities", []) or []):
        where = f"{origin}: vulnerabilities[{i}]"
        if not isinstance(v, dict):
            raise ConfigError(f"{where}: expected object")
        status = v.get("product_status", {}) or {}
        affected = frozenset(str(p) for key in ("known_affected", "first_affected",
                                                "last_affected", "under_investigation")
                             for p in status.get(key, []) or [])
        score, severity = None, ""
        for s in v.get("scores", []) or []:
            cvss = s.get("cvss_v3") if isinstance(s, dict) else None
            base = cvss.get("baseScore") if isinstance(cvss, dict) else None
            if isinstance(base, int | float) and (score is None or base > score):
                assert isinstance(cvss, dict)
                score, severity = float(base), str(cvss.get("baseSeverity", ""))
        remediation = next((str(r.get("details", "")) for r in v.get("remediations", []) or []
                            if isinstance(r, dict) and r.get("details")), "")
        vulns.append(AdvisoryVulnerability(
            cve=str(v.get("cve", "")), title=str(v.get("title", "")), affected=affected,
            score=score, severity=severity, remediation=remediation[:300]))
    return Advisory(id=adv_id, title=title, publisher=publisher, source=origin,
                    products=products, vulnerabilities=tuple(vulns))


def _walk(branches: Any, ctx: dict[str, str], where: str) -> Iterator[AdvisoryProduct]:
    if not isinstance(branches, list):
        raise ConfigError(f"{where}: expected array")
    for i, b in enumerate(branches):
        here = f"{where}[{i}]"
        if not isinstance(b, dict):
            raise ConfigError(f"{here}: expected object")
        category = str(_need(b, "category", str, here))
        name = str(_need(b, "name", str, here))
        sub = dict(ctx)
        if category in ("vendor", "product_name", "product_family"):
            key = "vendor" if category == "vendor" else "product"
            sub[key] = name if category != "product_family" or key not in sub else sub[key]
        elif category in ("product_version", "product_version_range"):
            sub["version"] = name
            sub["exact"] = "1" if category == "product_version" else ""
        if "product" in b:
            yield _product(b["product"], sub, f"{here}.product")
        if "branches" in b:
            yield from _walk(b["branches"], sub, f"{here}.branches")


def _product(full: Any, ctx: dict[str, str], where: str) -> AdvisoryProduct:
    pid = str(_need(full, "product_id", str, where))
    helper = full.get("product_identification_helper", {}) or {}
    models = tuple(str(m) for m in helper.get("model_numbers", []) or [])
    return AdvisoryProduct(product_id=pid, vendor=ctx.get("vendor", ""),
                           product=ctx.get("product", str(full.get("name", ""))),
                           version_spec=ctx.get("version", ""), exact=bool(ctx.get("exact")),
                           model_numbers=models, cpe=str(helper.get("cpe", "")))


# -- versions --------------------------------------------------------------------------------
_NUM = re.compile(r"\d+")
_CMP = re.compile(r"^\s*(>=|<=|!=|>|<|=)?\s*(.+?)\s*$")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _NUM.findall(version)) or (-1,)


def _holds(op: str, v: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    return {"<": v < bound, "<=": v <= bound, ">": v > bound, ">=": v >= bound,
            "=": v == bound, "!=": v != bound}[op]


def version_in(version: str, spec: str, exact: bool = False) -> bool:
    """Is ``version`` inside ``spec`` (a ``vers:`` range, a comparator form, or one version)?"""
    text = spec.strip()
    if not text or text.lower() in ("*", "all", "all versions", "vers:all/*"):
        return True
    v = _key(version)
    if exact:
        return v == _key(text)
    if text.lower().startswith("vers:"):
        text = text.split("/", 1)[1] if "/" in text else ""
        if text.strip() == "*":
            return True
    constraints = []
    for part in text.split("|"):
        m = _CMP.match(part)
        if not m or not _NUM.search(m.group(2)):
            continue
        constraints.append((m.group(1) or "=", _key(m.group(2))))
    if not constraints:
        return False
    if any(op == "=" and v == b for op, b in constraints):
        return True
    if any(op == "!=" and v == b for op, b in constraints):
        return False
    ranges = sorted(((op, b) for op, b in constraints if op in ("<", "<=", ">", ">=")),
                    key=lambda c: c[1])
    if not ranges:
        return False
    # vers semantics: an upper bound first, a lower bound last, or lower-upper pairs between
    first_op, first_bound = ranges[0]
    if first_op in ("<", "<=") and _holds(first_op, v, first_bound):
        return True
    if ranges[-1][0] in (">", ">=") and _holds(ranges[-1][0], v, ranges[-1][1]):
        return True
    for (op1, b1), (op2, b2) in itertools.pairwise(ranges):
        if op1 in (">", ">=") and op2 in ("<", "<=") and _holds(op1, v, b1) and _holds(
                op2, v, b2):
            return True
    return False


# -- matching --------------------------------------------------------------------------------
_SUFFIXES = {"ag", "inc", "gmbh", "co", "corp", "corporation", "ltd", "llc", "sa", "se", "kg",
             "company", "the", "plc"}


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in _SUFFIXES}


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _vendor_ok(asset_vendors: list[str], vendor: str) -> bool:
    want = _tokens(vendor)
    if not want:
        return False
    return any(want <= _tokens(v) or (_tokens(v) and _tokens(v) <= want) for v in asset_vendors)


def _product_ok(names: list[str], models: list[str], p: AdvisoryProduct) -> str:
    """Why the asset is this product ('' if it is not)."""
    target = _compact(p.product)
    for n in names:
        c = _compact(n)
        if len(c) >= 4 and len(target) >= 4 and (target in c or c in target):
            return f"product {n!r} ~ {p.product!r}"
    for pattern in p.model_numbers:
        pat = "*".join(_compact(part) for part in pattern.split("*"))
        for m in models:
            if fnmatch.fnmatchcase(_compact(m), pat):
                return f"order number {m!r} matches {pattern!r}"
    return ""


def match_assets(assets: list[AssetRecord],
                 advisories: list[Advisory]) -> dict[str, list[AdvisoryMatch]]:
    """Asset id -> the advisory vulnerabilities that concern it."""
    out: dict[str, list[AdvisoryMatch]] = {}
    for a in assets:
        vendors = [f.value for f in a.facts if f.name == "vendor"]
        names = [f.value for f in a.facts if f.name in ("product", "model", "product_code",
                                                         "device_type")]
        # catalogue numbers also hide in product names ("1756-L71/B LOGIX5571")
        models = [f.value for f in a.facts if f.name in ("order_number", "model",
                                                          "product_code", "product")]
        versions = [f.value for f in a.facts if f.name in ("firmware", "version")]
        if not vendors or not (names or models):
            continue
        for adv in advisories:
            for p in adv.products:
                if not _vendor_ok(vendors, p.vendor):
                    continue
                why = _product_ok(names, models, p)
                if not why:
                    continue
                if versions:
                    hit = [v for v in versions if version_in(v, p.version_spec, p.exact)]
                    if not hit:
                        continue
                    confidence = "affected"
                    why += f"; version {hit[0]!r} in {p.version_spec or 'all versions'!r}"
                else:
                    confidence = "version unknown"
                    why += f"; version unknown, affected: {p.version_spec or 'all versions'!r}"
                for vuln in adv.vulnerabilities:
                    if p.product_id in vuln.affected:
                        out.setdefault(a.id, []).append(AdvisoryMatch(
                            advisory=adv.id, cve=vuln.cve, title=vuln.title or adv.title,
                            score=vuln.score, severity=vuln.severity, product=p.product,
                            confidence=confidence, reason=why, remediation=vuln.remediation))
    for aid, matches in out.items():
        unique: dict[tuple[str, str], AdvisoryMatch] = {}
        for m in matches:  # one line per advisory and CVE, however many products matched
            unique.setdefault((m.advisory, m.cve), m)
        out[aid] = sorted(unique.values(), key=lambda m: (-(m.score or 0.0), m.advisory, m.cve))
    return out

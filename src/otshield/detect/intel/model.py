"""Indicators and the index that matches observed values against them.

An :class:`Indicator` is one entry of a feed (a STIX ``indicator`` object or a CSV line): who
says what about which values, how sure, until when. A STIX pattern can name several values
(``[ipv4-addr:value = 'a' OR domain-name:value = 'b']``): each becomes a :class:`Term` pointing
at the same indicator. :class:`IndicatorSet` indexes the terms so that every look-up costs a
few dictionary probes whatever the number of indicators:

- exact IP addresses: one dict;
- networks (CIDR): one dict per (IP version, prefix length) keyed by the masked address, so an
  address costs one probe per distinct prefix length present (a feed uses a handful);
- domain names: one dict, probed with the name and each parent (``a.b.evil.com``,
  ``b.evil.com``, ``evil.com``, ``com``), since an indicator for a domain covers its subdomains;
- URLs (normalised, see normalize.py) and file digests: one dict per kind.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from otshield.detect.intel import normalize

__all__ = ["KINDS", "Indicator", "IndicatorSet", "Skipped", "Term"]

KINDS = ("ip", "cidr", "domain", "url", "md5", "sha1", "sha256")
"""Indicator value types, as written in CSV lists and in alert rule ids (``intel.ip_match``)."""
HASH_KINDS = ("md5", "sha1", "sha256")
_NONE: list[Term] = []  # shared empty result: never mutated (results are concatenated)


class Indicator(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Who says what: the cited source of one or more :class:`Term`."""

    ref: str
    """The STIX id (``indicator--...``) or ``file:line`` of a CSV entry."""
    origin: str
    """The file it was loaded from."""
    name: str = ""
    description: str = ""
    severity: str | None = None
    """As the feed states it; None: the default for the kind of value matched."""
    confidence: str | None = None
    """low / medium / high (STIX 0-100 mapped on the STIX 2.1 appendix A scale); None: medium."""
    valid_from: float | None = None
    """Epoch seconds; the indicator matches traffic seen from then on."""
    valid_until: float | None = None
    """Epoch seconds; traffic seen from then on no longer matches."""
    pattern: str = ""
    """The STIX pattern, for the alert."""
    labels: tuple[str, ...] = ()
    """STIX ``indicator_types`` and ``labels``."""

    def valid_at(self, ts: float) -> bool:
        return (self.valid_from is None or ts >= self.valid_from) and (
            self.valid_until is None or ts < self.valid_until)


class Term(msgspec.Struct, frozen=True, gc=False):
    """One value an indicator names."""

    indicator: Indicator
    kind: str
    """One of :data:`KINDS`."""
    value: str
    """Canonical form (``10.0.0.0/8`` for a network)."""
    side: str = ""
    """``src`` / ``dst`` when the pattern names one end of the traffic
    (``network-traffic:dst_ref.value``); empty: either end."""
    also: tuple[tuple[str, str], ...] = ()
    """Further digests the same file must have (``file:hashes.MD5 = .. AND
    file:hashes.'SHA-256' = ..``)."""


class Skipped(msgspec.Struct, frozen=True, gc=False):
    """An indicator that was read but cannot be evaluated on traffic."""

    ref: str
    origin: str
    reason: str


class IndicatorSet:
    """Loaded indicators, indexed for matching. Build with :func:`load_indicators`."""

    def __init__(self) -> None:
        self.indicators: list[Indicator] = []
        self.skipped: list[Skipped] = []
        self.errors: list[str] = []
        """``file:line: message`` for each entry that could not be read."""
        self.files: list[str] = []
        self._ips: dict[str, list[Term]] = {}
        self._nets: dict[tuple[int, int], dict[int, list[Term]]] = {}
        self._net_keys: dict[int, list[int]] = {4: [], 6: []}  # prefix lengths, longest first
        self._domains: dict[str, list[Term]] = {}
        self._urls: dict[str, list[Term]] = {}
        self._hashes: dict[str, dict[str, list[Term]]] = {k: {} for k in HASH_KINDS}
        self._counts: dict[str, int] = dict.fromkeys(KINDS, 0)

    # -- building ----------------------------------------------------------------------------
    def add(self, indicator: Indicator, terms: list[Term]) -> None:
        """Index an indicator under its terms (values already canonical)."""
        self.indicators.append(indicator)
        for term in terms:
            self._counts[term.kind] += 1
            kind = term.kind
            if kind == "ip":
                self._ips.setdefault(term.value, []).append(term)
            elif kind == "cidr":
                base, _, prefix = term.value.partition("/")
                parsed = normalize.ip_int(base)
                if parsed is None or not prefix.isdigit():
                    raise ValueError(f"network term {term.value!r} is not canonical")
                (version, net), plen = parsed, int(prefix)
                width = 32 if version == 4 else 128
                table = self._nets.get((version, plen))
                if table is None:
                    table = self._nets[(version, plen)] = {}
                    self._net_keys[version] = sorted((p for v, p in self._nets if v == version),
                                                     reverse=True)
                table.setdefault(net >> (width - plen), []).append(term)
            elif kind == "domain":
                self._domains.setdefault(term.value, []).append(term)
            elif kind == "url":
                self._urls.setdefault(term.value, []).append(term)
            else:
                self._hashes[kind].setdefault(term.value, []).append(term)

    def counts(self) -> dict[str, int]:
        """Terms indexed per kind."""
        return dict(self._counts)

    def __len__(self) -> int:
        return len(self.indicators)

    @property
    def has_ips(self) -> bool:
        return bool(self._ips) or bool(self._nets)

    @property
    def has_domains(self) -> bool:
        return bool(self._domains)

    @property
    def has_urls(self) -> bool:
        return bool(self._urls)

    @property
    def has_hashes(self) -> bool:
        return any(self._hashes.values())

    # -- matching ----------------------------------------------------------------------------
    def match_ip(self, address: str) -> list[Term]:
        """Terms naming ``address`` exactly or a network containing it (usually none: the
        common path is one or two dictionary probes and no allocation)."""
        found = self._ips.get(address)
        out: list[Term] = found if found is not None else _NONE
        if not self._nets:
            return out
        parsed = normalize.ip_int(address)
        if parsed is None:
            return out
        version, number = parsed
        width = 32 if version == 4 else 128
        nets = self._nets
        for plen in self._net_keys[version]:
            hit = nets[(version, plen)].get(number >> (width - plen))
            if hit is not None:
                out = out + hit
        return out

    def match_domain(self, name: str) -> list[Term]:
        """Terms naming ``name`` or one of its parent domains."""
        domains = self._domains
        out = _NONE
        if not domains or not name:
            return out
        name = name.lower().rstrip(".")
        while True:
            found = domains.get(name)
            if found is not None:
                out = out + found
            dot = name.find(".")
            if dot < 0:
                return out
            name = name[dot + 1:]

    def match_url(self, canonical: str) -> list[Term]:
        return self._urls.get(canonical, [])

    def match_hashes(self, digests: dict[str, str]) -> Iterator[Term]:
        """Terms naming one of ``digests`` (kind -> lower-case hex) whose other required
        digests, if any, are among them too."""
        for kind, value in digests.items():
            found = self._hashes[kind].get(value)
            if found is None:
                continue
            for term in found:
                if all(digests.get(k) == v for k, v in term.also):
                    yield term

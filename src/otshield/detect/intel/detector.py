"""The threat-intelligence detector: observed addresses, names, URLs and file digests against
the loaded indicators; each match is an alert citing the indicator.

What is looked at (only the kinds the loaded indicators name cost anything):

- the source and destination IP of every event, once per flow (a flow's addresses do not
  change; a flow id of 0, e.g. a UDP datagram outside any session, is keyed by its address
  pair); network indicators can be limited to one end (STIX ``network-traffic:dst_ref``);
- DNS: the query name, the CNAME targets and the addresses of the answers;
- TLS: the server name (SNI) of the ClientHello;
- HTTP: the Host (a name, or an IP literal), the full URL (``http://host[:port]/path?query``
  in the canonical form of normalize.py; absolute-form request targets as sent), and the
  digests of request and response bodies;
- SMB: the digests of files read or written whole (``smb_file`` events).

An indicator matches only traffic seen (packet time) within its ``valid_from`` ..
``valid_until``; ``ignore_validity`` matches old captures against today's feed regardless
(retro-hunting; expect more false positives from reassigned addresses).

Alerts: rule id ``intel.<type>_match`` (ip, cidr, domain, url, md5, sha1, sha256), category
``intel``; severity from the indicator, else high for file digests and medium otherwise;
confidence from the indicator (STIX ``confidence``), else medium; techniques by what matched
(T0869 Standard Application Layer Protocol for addresses, names and URLs; T0867 Lateral Tool
Transfer for files, with T0869 when over HTTP). Repeats merge per indicator and address pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import msgspec

from otshield.detect.alert import Alert, AlertSink, AssetRef, make_alert
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.detect.context import AssetContext
from otshield.detect.intel import normalize
from otshield.detect.intel.model import IndicatorSet, Term
from otshield.events import Event
from otshield.protocols.dns.events import DnsEvent
from otshield.protocols.http.events import HttpEvent
from otshield.protocols.smb.events import SmbFileEvent
from otshield.protocols.tls.events import TlsEvent

__all__ = ["KIND_INFO", "IntelDetector"]


class KindInfo(msgspec.Struct, frozen=True):
    label: str
    severity: str
    response: str


_ADDRESS_RESPONSE = (
    "Find which process on the internal host made the connection (EDR, host logs) and whether "
    "it has a business reason; if not, block the address at the OT boundary firewall, isolate "
    "the host for investigation and look for other hosts that reached the same address.")
_NAME_RESPONSE = (
    "Find the process that resolved or contacted the name on the internal host; sinkhole or "
    "block the domain at the site resolver and the boundary proxy, and check the host and "
    "every other host that resolved it for compromise.")
_FILE_RESPONSE = (
    "Locate the file on the receiving host (the SMB path or the HTTP download) and quarantine "
    "it before it runs; treat the sending host as compromised until checked, and search for "
    "the same digest elsewhere in the plant.")

KIND_INFO: dict[str, KindInfo] = {
    "ip": KindInfo("IP address", "medium", _ADDRESS_RESPONSE),
    "cidr": KindInfo("IP network", "medium", _ADDRESS_RESPONSE),
    "domain": KindInfo("domain name", "medium", _NAME_RESPONSE),
    "url": KindInfo("URL", "medium", _NAME_RESPONSE),
    "md5": KindInfo("file MD5", "high", _FILE_RESPONSE),
    "sha1": KindInfo("file SHA-1", "high", _FILE_RESPONSE),
    "sha256": KindInfo("file SHA-256", "high", _FILE_RESPONSE),
}
"""Per indicator type: what to call it, its default severity and what to do."""

_NETWORK_TECHNIQUES: tuple[str, ...] = ("T0869",)
_SMB_FILE_TECHNIQUES: tuple[str, ...] = ("T0867",)
_HTTP_FILE_TECHNIQUES: tuple[str, ...] = ("T0867", "T0869")
_MAX_SEEN = 1 << 18
"""Flows whose addresses were checked; past this the memory is cleared (a re-check is cheap
and a repeated alert merges)."""


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace(
        "+00:00", "Z")


class IntelDetector:
    """Matches events against an :class:`IndicatorSet` and reports through ``sink``."""

    name = "intel"

    def __init__(self, indicators: IndicatorSet, context: AssetContext | None,
                 sink: AlertSink, *, ignore_validity: bool = False,
                 attack: AttackTable | None = None) -> None:
        self.indicators = indicators
        self.context = context
        self.sink = sink
        self.ignore_validity = ignore_validity
        self.matches = 0
        table = attack or load_attack_table()
        self._tactics: dict[tuple[str, ...], tuple[str, ...]] = {
            t: table.tactics_of(t) for t in (
                _NETWORK_TECHNIQUES, _SMB_FILE_TECHNIQUES, _HTTP_FILE_TECHNIQUES)}
        self._seen: set[int | tuple[str, str]] = set()
        self._check_ips = indicators.has_ips
        handlers: dict[type[Event], Callable[[Event], None]] = {}
        if indicators.has_domains or indicators.has_ips:
            handlers[DnsEvent] = self._dns  # type: ignore[assignment]
        if indicators.has_domains:
            handlers[TlsEvent] = self._tls  # type: ignore[assignment]
        if indicators.has_domains or indicators.has_ips or indicators.has_urls \
                or indicators.has_hashes:
            handlers[HttpEvent] = self._http  # type: ignore[assignment]
        if indicators.has_hashes:
            handlers[SmbFileEvent] = self._smb_file  # type: ignore[assignment]
        self._handlers = handlers

    # -- Detector ----------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        if self._check_ips:
            src, dst = event.src_ip, event.dst_ip
            if src or dst:
                key: int | tuple[str, str] = event.flow_id or (src, dst)
                seen = self._seen
                if key not in seen:
                    if len(seen) >= _MAX_SEEN:
                        seen.clear()
                    seen.add(key)
                    self._addresses(event, src, dst)
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def finish(self) -> None:
        """Nothing is pending: every match is reported when seen."""

    # -- per event type ----------------------------------------------------------------------
    def _addresses(self, event: Event, src: str, dst: str) -> None:
        ind = self.indicators
        for side, address, field in (("src", src, "source.ip"), ("dst", dst, "destination.ip")):
            if not address:
                continue
            terms = ind.match_ip(address)
            if terms:
                self._report(event, [t for t in terms if not t.side or t.side == side],
                             field, address, _NETWORK_TECHNIQUES)

    def _dns(self, event: DnsEvent) -> None:
        ind = self.indicators
        if event.query:
            terms = ind.match_domain(event.query)
            if terms:
                self._report(event, terms, "dns.question.name", event.query,
                             _NETWORK_TECHNIQUES)
        for answer in event.answers:
            if answer.type == "CNAME" and answer.data:
                terms = ind.match_domain(answer.data)
                if terms:
                    self._report(event, terms, "dns.answers.data", answer.data,
                                 _NETWORK_TECHNIQUES)
        for address in event.resolved_ip:
            terms = ind.match_ip(address)
            if terms:
                self._report(event, terms, "dns.resolved_ip", address, _NETWORK_TECHNIQUES)

    def _tls(self, event: TlsEvent) -> None:
        if event.sni:
            terms = self.indicators.match_domain(event.sni)
            if terms:
                self._report(event, terms, "tls.client.server_name", event.sni,
                             _NETWORK_TECHNIQUES)

    def _http(self, event: HttpEvent) -> None:
        ind = self.indicators
        host = event.host
        if host:
            if normalize.ip_int(host) is not None:
                self._report(event, ind.match_ip(host), "url.domain", host,
                             _NETWORK_TECHNIQUES)
            else:
                self._report(event, ind.match_domain(host), "url.domain", host,
                             _NETWORK_TECHNIQUES)
        if ind.has_urls and event.uri:
            url = self._url(event)
            if url is not None:
                self._report(event, ind.match_url(url), "url.full", url, _NETWORK_TECHNIQUES)
        if ind.has_hashes:
            for prefix, md5, sha1, sha256 in (
                    ("http.request.body", event.request_body_md5, event.request_body_sha1,
                     event.request_body_sha256),
                    ("http.response.body", event.response_body_md5, event.response_body_sha1,
                     event.response_body_sha256)):
                if sha256 is not None:
                    self._digests(event, prefix, md5, sha1, sha256, _HTTP_FILE_TECHNIQUES)

    def _smb_file(self, event: SmbFileEvent) -> None:
        if event.sha256 is not None:
            self._digests(event, "file", event.md5, event.sha1, event.sha256,
                          _SMB_FILE_TECHNIQUES)

    def _digests(self, event: Event, prefix: str, md5: str | None, sha1: str | None,
                 sha256: str, techniques: tuple[str, ...]) -> None:
        digests = {"sha256": sha256}
        if md5 is not None:
            digests["md5"] = md5
        if sha1 is not None:
            digests["sha1"] = sha1
        for term in self.indicators.match_hashes(digests):
            self._report(event, (term,), f"{prefix}.hash.{term.kind}", digests[term.kind],
                         techniques)

    @staticmethod
    def _url(event: HttpEvent) -> str | None:
        """The request's URL in canonical form, or None (``*``, authority-form, junk)."""
        uri = event.uri or ""
        try:
            if uri[:7].lower() == "http://" or uri[:8].lower() == "https://":
                return normalize.url(uri)
            if not uri.startswith("/"):
                return None
            path, _, query = uri.partition("?")
            query = query.partition("#")[0]
            path = path.partition("#")[0]
            if event.host:
                return normalize.url_of("http", event.host, event.host_port, path, query)
            return normalize.url_of("http", event.dst_ip, event.dst_port, path, query)
        except ValueError:
            return None

    # -- the alert ---------------------------------------------------------------------------
    def _report(self, event: Event, terms: Iterable[Term], field: str, observed: str,
                techniques: tuple[str, ...]) -> None:
        done: set[str] = set()
        for term in terms:
            indicator = term.indicator
            if indicator.ref in done:
                continue
            if not self.ignore_validity and not indicator.valid_at(event.ts):
                continue
            done.add(indicator.ref)
            self.matches += 1
            self.sink(self._alert(event, term, field, observed, techniques))

    def _alert(self, event: Event, term: Term, field: str, observed: str,
               techniques: tuple[str, ...]) -> Alert:
        indicator = term.indicator
        info = KIND_INFO[term.kind]
        rule_id = f"intel.{term.kind}_match"
        cited = f"'{indicator.name}' ({indicator.ref})" if indicator.name else indicator.ref
        src = event.src_ip or getattr(event, "src_mac", "")
        dst = event.dst_ip or getattr(event, "dst_mac", "")
        dataset = str(type(event).__struct_config__.tag or "")
        description = (f"{info.label} {observed} ({dataset} {field}, {src} -> {dst}) matches "
                       f"threat-intelligence indicator {cited}")
        if indicator.description:
            description += f": {indicator.description[:300]}"
        details = {
            "indicator": indicator.ref,
            "indicator_type": term.kind,
            "indicator_value": term.value,
            "indicator_source": indicator.origin,
            "matched_field": field,
            "matched_value": observed,
        }
        optional = {"indicator_name": indicator.name, "pattern": indicator.pattern,
                    "labels": ", ".join(indicator.labels),
                    "valid_from": _iso(indicator.valid_from),
                    "valid_until": _iso(indicator.valid_until), "side": term.side}
        details.update({k: v for k, v in optional.items() if v})
        context = self.context
        source: AssetRef | None = None
        destination: AssetRef | None = None
        if context is not None:
            source = context.ref(event.src_ip) if event.src_ip else None
            destination = context.ref(event.dst_ip) if event.dst_ip else None
        return make_alert(
            event, rule_id=rule_id, title=f"Threat-intelligence {info.label} match",
            severity=indicator.severity or info.severity,
            confidence=indicator.confidence or "medium", category="intel",
            description=description, response=info.response, techniques=techniques,
            tactics=self._tactics[techniques], source=source, destination=destination,
            key=f"{rule_id}|{indicator.ref}|{event.src_ip}|{event.dst_ip}", details=details)

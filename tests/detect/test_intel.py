"""Threat intelligence: STIX 2.1 bundles (written with the stix2 library here) and CSV lists,
every indicator type matched and not matched, parent domains, networks, digests of an HTTP
download and an SMB write computed here independently, validity and revocation, broken files
cited by file and line, patterns that cannot be evaluated reported, the alerts, the CLI."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import stix2
from rich.console import Console

from otshield.detect.alert import Alert
from otshield.detect.attack import load_attack_table
from otshield.detect.context import AssetContext
from otshield.detect.intel import IndicatorSet, IntelDetector, load_indicators
from otshield.detect.intel.cli import match_captures, register
from otshield.detect.intel.detector import KIND_INFO
from otshield.errors import ConfigError
from otshield.events import Event, FlowEvent
from otshield.protocols.dns.events import DnsAnswer, DnsEvent
from otshield.protocols.http.events import HttpEvent
from otshield.protocols.smb.events import SmbFileEvent
from otshield.protocols.tls.events import TlsEvent

T = 1_700_000_000.0  # 2023-11-14T22:13:20Z: the synthetic traffic's time
BEFORE = "2023-01-01T00:00:00Z"
AFTER = "2024-01-01T00:00:00Z"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"%%EOF\n"
MD5, SHA1 = hashlib.md5(PDF).hexdigest(), hashlib.sha1(PDF).hexdigest()  # computed here


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def indicator(pattern: str, **kw: Any) -> stix2.v21.Indicator:
    kw.setdefault("valid_from", BEFORE)
    return stix2.v21.Indicator(pattern=pattern, pattern_type="stix", **kw)


def bundle(tmp_path: Path, *objects: Any, name: str = "feed.json") -> Path:
    path = tmp_path / name
    path.write_text(stix2.v21.Bundle(objects=list(objects), allow_custom=True).serialize())
    return path


def csv_file(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class Run:
    """An IntelDetector with a list for a sink."""

    def __init__(self, indicators: IndicatorSet, **kw: Any) -> None:
        self.alerts: list[Alert] = []
        self.detector = IntelDetector(indicators, AssetContext(), self.alerts.append, **kw)

    def __call__(self, *events: Event) -> list[tuple[str, str]]:
        """(rule id, matched value) of the alerts the events raise."""
        start = len(self.alerts)
        for event in events:
            self.detector.observe(event)
        return [(a.rule_id, a.details["matched_value"]) for a in self.alerts[start:]]


_FLOW_IDS = iter(range(1, 1_000_000))


def flow(src: str, dst: str, ts: float = T) -> FlowEvent:
    return FlowEvent(ts=ts, frame=1, start=ts, flow_id=next(_FLOW_IDS), src_ip=src, dst_ip=dst,
                     src_port=50000, dst_port=443, transport="tcp")


def dns(query: str, answers: list[DnsAnswer] | None = None,
        resolved: list[str] | None = None) -> DnsEvent:
    return DnsEvent(ts=T, frame=2, flow_id=next(_FLOW_IDS), src_ip="10.1.1.5",
                    dst_ip="10.1.1.53", trans_id=7, kind="query", service="dns",
                    opcode="query", query=query, answers=answers or [],
                    resolved_ip=resolved or [])


def tls(sni: str) -> TlsEvent:
    return TlsEvent(ts=T, frame=3, flow_id=next(_FLOW_IDS), src_ip="10.1.1.5",
                    dst_ip="192.0.2.80", sni=sni)


def http(host: str | None, uri: str, port: int | None = None, **kw: Any) -> HttpEvent:
    return HttpEvent(ts=T, frame=4, flow_id=next(_FLOW_IDS), src_ip="10.1.1.5",
                     dst_ip="192.0.2.80", dst_port=8080, method="GET", host=host,
                     host_port=port, uri=uri, **kw)


# -- STIX ----------------------------------------------------------------------------------------

def test_stix_each_type_matched_and_not(tmp_path: Path) -> None:
    feed = bundle(
        tmp_path,
        indicator("[ipv4-addr:value = '198.51.100.1']", name="C2 server"),
        indicator("[ipv4-addr:value ISSUBSET '203.0.113.0/24']", name="bad net"),
        indicator("[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']"),
        indicator("[domain-name:value = 'Evil.EXAMPLE.']"),
        indicator("[url:value = 'HTTP://Drop.example.net:80/payload.exe']"),
        indicator(f"[file:hashes.'SHA-256' = '{sha256(PDF).upper()}']", name="dropper"),
        indicator(f"[file:hashes.MD5 = '{hashlib.md5(PDF).hexdigest()}']"),
        indicator("[ipv4-addr:value = '192.0.2.200' OR domain-name:value = 'c2.example.org']"))
    ind = load_indicators([feed])
    assert ind.counts() == {"ip": 2, "cidr": 2, "domain": 2, "url": 1, "md5": 1, "sha1": 0,
                            "sha256": 1}
    assert ind.skipped == [] and ind.errors == []
    run = Run(ind)
    assert run(flow("10.1.1.5", "198.51.100.1")) == [("intel.ip_match", "198.51.100.1")]
    assert run(flow("10.1.1.5", "198.51.100.2")) == []
    assert run(flow("203.0.113.77", "10.1.1.5")) == [("intel.cidr_match", "203.0.113.77")]
    assert run(flow("203.0.114.1", "10.1.1.5")) == []
    assert run(flow("2001:db8:bad:1::5", "2001:db8:1::1")) == [
        ("intel.cidr_match", "2001:db8:bad:1::5")]
    assert run(flow("2001:db8:bae::5", "2001:db8:1::1")) == []
    assert run(dns("www.evil.example")) == [("intel.domain_match", "www.evil.example")]
    assert run(dns("evil.example.com"), dns("notevil.example")) == []
    assert run(http("drop.example.net", "/payload.exe")) == [
        ("intel.url_match", "http://drop.example.net/payload.exe")]
    assert run(http("drop.example.net", "/payload.exe?x=1"),
               http("drop.example.net", "/payload.exe", port=8080)) == []
    assert run(flow("10.1.1.6", "192.0.2.200"), tls("c2.example.org")) == [
        ("intel.ip_match", "192.0.2.200"), ("intel.domain_match", "c2.example.org")]
    file_event = SmbFileEvent(ts=T, frame=9, flow_id=next(_FLOW_IDS), src_ip="10.1.1.5",
                              dst_ip="10.1.2.9", version=2, path="x\\a.pdf", name="a.pdf",
                              direction="write", bytes_transferred=len(PDF), complete=True,
                              md5=hashlib.md5(PDF).hexdigest(),
                              sha1=hashlib.sha1(PDF).hexdigest(), sha256=sha256(PDF))
    assert sorted(run(file_event)) == [("intel.md5_match", hashlib.md5(PDF).hexdigest()),
                                       ("intel.sha256_match", sha256(PDF))]


def test_stix_alert_cites_the_indicator(tmp_path: Path) -> None:
    ioc = indicator("[ipv4-addr:value = '198.51.100.1']", name="C2 server", confidence=85,
                    description="Operator of the 2023 campaign",
                    indicator_types=["malicious-activity"])
    hash_ioc = indicator(f"[file:hashes.'SHA-256' = '{sha256(PDF)}']", confidence=10,
                         custom_properties={"x_severity": "critical"})
    run = Run(load_indicators([bundle(tmp_path, ioc, hash_ioc)]))
    run(flow("10.1.1.5", "198.51.100.1"))
    run(http("files.example", "/a.pdf", response_body_md5=hashlib.md5(PDF).hexdigest(),
             response_body_sha1=hashlib.sha1(PDF).hexdigest(), response_body_sha256=sha256(PDF)))
    ip_alert, hash_alert = run.alerts
    assert (ip_alert.rule_id, ip_alert.category, ip_alert.severity, ip_alert.confidence) == (
        "intel.ip_match", "intel", "medium", "high")
    assert ip_alert.details["indicator"] == ioc.id
    assert ip_alert.details["indicator_name"] == "C2 server"
    assert ip_alert.details["labels"] == "malicious-activity"
    assert ip_alert.details["matched_field"] == "destination.ip"
    assert ioc.id in ip_alert.description and "C2 server" in ip_alert.description
    assert "Operator of the 2023 campaign" in ip_alert.description
    assert ip_alert.techniques == ("T0869",) and ip_alert.tactics == ("command-and-control",)
    assert (hash_alert.rule_id, hash_alert.severity, hash_alert.confidence) == (
        "intel.sha256_match", "critical", "low")
    assert hash_alert.details["matched_field"] == "http.response.body.hash.sha256"
    assert hash_alert.techniques == ("T0867", "T0869")
    assert hash_alert.response == KIND_INFO["sha256"].response


def test_every_technique_exists_in_the_attack_table() -> None:
    from otshield.detect.intel import detector
    table = load_attack_table()
    for techniques in (detector._NETWORK_TECHNIQUES, detector._SMB_FILE_TECHNIQUES,
                       detector._HTTP_FILE_TECHNIQUES):
        assert all(table.get(t) is not None for t in techniques)


def test_default_severities() -> None:
    assert {k: v.severity for k, v in KIND_INFO.items()} == {
        "ip": "medium", "cidr": "medium", "domain": "medium", "url": "medium", "md5": "high",
        "sha1": "high", "sha256": "high"}


def test_stix_validity_revocation_and_versions(tmp_path: Path) -> None:
    expired = indicator("[ipv4-addr:value = '198.51.100.1']", valid_until="2023-06-01T00:00:00Z")
    future = indicator("[ipv4-addr:value = '198.51.100.2']", valid_from=AFTER)
    revoked = indicator("[ipv4-addr:value = '198.51.100.3']", revoked=True)
    old = indicator("[ipv4-addr:value = '198.51.100.4']", modified="2023-02-01T00:00:00Z",
                    created="2023-01-01T00:00:00Z")
    new = old.new_version(pattern="[ipv4-addr:value = '198.51.100.5']",
                          modified="2023-03-01T00:00:00Z")
    # the newer version wins wherever it is (here: in the first file)
    ind = load_indicators([bundle(tmp_path, expired, future, revoked, new),
                           bundle(tmp_path, old, name="older.json")])
    assert [(s.ref, s.reason) for s in ind.skipped] == [(revoked.id, "revoked")]
    run = Run(ind)
    assert run(*(flow("10.1.1.5", f"198.51.100.{i}") for i in range(1, 6))) == [
        ("intel.ip_match", "198.51.100.5")]
    retro = Run(ind, ignore_validity=True)
    assert retro(*(flow("10.1.1.5", f"198.51.100.{i}") for i in range(1, 6))) == [
        ("intel.ip_match", "198.51.100.1"), ("intel.ip_match", "198.51.100.2"),
        ("intel.ip_match", "198.51.100.5")]
    assert run(flow("10.1.1.5", "198.51.100.1", ts=1_680_000_000.0)) == [
        ("intel.ip_match", "198.51.100.1")]  # 2023-03-28: after valid_from, before it expired


def test_stix_unsupported_patterns_are_reported(tmp_path: Path) -> None:
    across = indicator("[ipv4-addr:value = '198.51.100.1'] AND [domain-name:value = 'a.example']")
    within = indicator("[ipv4-addr:value = '198.51.100.1'] REPEATS 5 TIMES WITHIN 10 SECONDS")
    like = indicator("[domain-name:value LIKE '%.evil.example']")
    other = indicator("[email-addr:value = 'ceo@example.com']")
    sha512 = indicator("[file:hashes.'SHA-512' = '" + "a" * 128 + "']")
    partly = indicator("[domain-name:value = 'ok.example' OR email-addr:value = 'x@y.example']")
    same_file = indicator(f"[file:hashes.MD5 = '{hashlib.md5(PDF).hexdigest()}' AND "
                          f"file:hashes.'SHA-256' = '{sha256(PDF)}']")
    snort = stix2.v21.Indicator(pattern="alert tcp any any -> any 80 (msg:\"x\";)",
                                pattern_type="snort", valid_from=BEFORE)
    ind = load_indicators([bundle(tmp_path, across, within, like, other, sha512, partly,
                                  same_file, snort)])
    reasons = {s.ref: s.reason for s in ind.skipped}
    assert reasons == {
        across.id: "AND between observations (a correlation over time)",
        within.id: "a temporal qualifier (WITHIN, REPEATS, START/STOP)",
        like.id: "operator LIKE",
        other.id: "object path email-addr:value (not observed by otshield)",
        sha512.id: "file hash SHA-512 (only MD5, SHA-1, SHA-256 are computed)",
        partly.id: "partly evaluated, left out: object path email-addr:value (not observed "
                   "by otshield)",
        snort.id: "pattern_type 'snort' (only STIX patterns are evaluated)",
    }
    assert len(ind) == 2  # partly and same_file
    run = Run(ind)
    assert run(dns("ok.example")) == [("intel.domain_match", "ok.example")]
    both = SmbFileEvent(ts=T, frame=9, src_ip="10.1.1.5", dst_ip="10.1.2.9", version=2,
                        path="a", name="a", direction="read", bytes_transferred=1,
                        complete=True, sha256=sha256(PDF), md5=MD5, sha1=SHA1)
    assert run(both) == [("intel.md5_match", MD5)]
    # the AND needs both digests to agree: a file with the MD5 but another SHA-256 is not it
    other_file = SmbFileEvent(ts=T, frame=9, src_ip="10.1.1.5", dst_ip="10.1.2.9", version=2,
                              path="a", name="a", direction="read", bytes_transferred=1,
                              complete=True, md5=MD5, sha256="0" * 64)
    assert run(other_file) == []


def test_stix_broken_files(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"type": "bundle",\n "objects": [\n {"type": }]}')
    with pytest.raises(ConfigError, match=r"bad\.json:3: not JSON"):
        load_indicators([bad_json])
    not_bundle = tmp_path / "list.json"
    not_bundle.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a STIX bundle"):
        load_indicators([not_bundle])
    with pytest.raises(ConfigError, match="no such indicator file"):
        load_indicators([tmp_path / "missing.json"])
    raw = {"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000001",
         "pattern": "[ipv4-addr:value = '1.2.3.4'", "valid_from": BEFORE},
        {"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000002",
         "valid_from": BEFORE},
        {"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000003",
         "pattern": "[ipv4-addr:value = 'not-an-ip']", "valid_from": "yesterday"},
        {"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000004",
         "pattern": "[ipv4-addr:value = 'not-an-ip']", "valid_from": BEFORE},
        {"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000005",
         "pattern": "[ipv4-addr:value = '1.2.3.5']", "valid_from": BEFORE},
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000006"}]}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="3 bad indicator entries"):
        load_indicators([path])
    ind = load_indicators([path], strict=False)
    assert len(ind) == 1
    where = f"{path}: objects"
    assert ind.errors[0].startswith(f"{where}[0] (indicator--00000000-0000-4000-8000-"
                                    "000000000001): invalid STIX pattern:")
    assert ind.errors[1:] == [
        f"{where}[1] (indicator--00000000-0000-4000-8000-000000000002): indicator without "
        "a pattern",
        f"{where}[2] (indicator--00000000-0000-4000-8000-000000000003): timestamp "
        "'yesterday' is not RFC 3339"]
    # an address that is not one: the indicator is skipped with the reason, not lost silently
    assert [(s.ref[-1], s.reason) for s in ind.skipped] == [
        ("4", "'not-an-ip' is not an IP address")]


# -- CSV ---------------------------------------------------------------------------------------

CSV = f"""type,value,name,severity,description
# a comment, then an empty line

ip,198.51.100.9,Scanner,low,
cidr,203.0.113.5/24,Bad hosting range
domain,*.evil.example,,high,"wildcard, written as a parent"
url,drop.example.net/a.exe?id=1,dropper URL
md5,{MD5.upper()},
sha1,{SHA1}
sha256,{sha256(PDF)},,critical,the PDF
cidr,192.0.2.7/32
"""


def test_csv_each_type(tmp_path: Path) -> None:
    path = csv_file(tmp_path, CSV)
    ind = load_indicators([path])
    assert ind.counts() == {"ip": 2, "cidr": 1, "domain": 1, "url": 1, "md5": 1, "sha1": 1,
                            "sha256": 1}
    run = Run(ind)
    assert run(flow("198.51.100.9", "10.1.1.5")) == [("intel.ip_match", "198.51.100.9")]
    assert run(flow("203.0.113.200", "10.1.1.5")) == [("intel.cidr_match", "203.0.113.200")]
    assert run(flow("192.0.2.7", "10.1.1.5")) == [("intel.ip_match", "192.0.2.7")]
    assert run(flow("192.0.2.8", "10.1.1.5"), flow("198.51.100.10", "10.1.1.5")) == []
    assert run(tls("a.b.evil.example"), tls("evil.example")) == [
        ("intel.domain_match", "a.b.evil.example"), ("intel.domain_match", "evil.example")]
    assert run(tls("evil.example.org"), tls("devil.example")) == []
    assert run(http("DROP.example.net", "/a.exe?id=1"),
               http(None, "http://drop.example.net/a.exe?id=1#frag"),
               http("drop.example.net", "/a.exe?id=2")) == [
        ("intel.url_match", "http://drop.example.net/a.exe?id=1"),
        ("intel.url_match", "http://drop.example.net/a.exe?id=1")]
    alerts = run.alerts
    first = alerts[0]
    assert (first.details["indicator"], first.details["indicator_name"], first.severity) == (
        f"{path}:4", "Scanner", "low")
    assert f"{path}:4" in first.description
    upload = http("files.example", "/up", request_body_md5=hashlib.md5(PDF).hexdigest(),
                  request_body_sha1=hashlib.sha1(PDF).hexdigest(),
                  request_body_sha256=sha256(PDF))
    got = run(upload)
    assert sorted(got) == [("intel.md5_match", hashlib.md5(PDF).hexdigest()),
                           ("intel.sha1_match", hashlib.sha1(PDF).hexdigest()),
                           ("intel.sha256_match", sha256(PDF))]
    severities = {a.rule_id: a.severity for a in run.alerts[-3:]}
    assert severities == {"intel.md5_match": "high", "intel.sha1_match": "high",
                          "intel.sha256_match": "critical"}


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "ip,10.0.0.1\nipp,10.0.0.2\nip,10.0.0.300\ncidr,10.0.0.0/33\n"
                    "md5,abc\ndomain,bad domain\nip,10.0.0.3,n,severe\nip\n"
                    "url,http://ok.example/,a,b,c,d\nsha256," + "0" * 64 + "\n")
    with pytest.raises(ConfigError) as info:
        load_indicators([path])
    assert f"{path}:2: unknown indicator type 'ipp'" in str(info.value)
    ind = load_indicators([path], strict=False)
    assert ind.errors == [
        f"{path}:2: unknown indicator type 'ipp' (one of ip, cidr, domain, url, md5, sha1, "
        "sha256) (did you mean 'ip'?)",
        f"{path}:3: '10.0.0.300' is not an IP address",
        f"{path}:4: '10.0.0.0/33' is not an IP network",
        f"{path}:5: 'abc' is not a MD5 digest (32 hex digits)",
        f"{path}:6: 'bad domain' is not a domain name",
        f"{path}:7: severity 'severe' is not one of info, low, medium, high, critical",
        f"{path}:8: expected 'type,value[,name,severity,description]'",
        f"{path}:9: 6 fields, at most 5 (type,value,name,severity,description; quote commas)"]
    assert len(ind) == 2


def test_csv_quoting_error_and_encoding(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 'ip,10.0.0.1\ndomain,"unterminated\n')
    ind = load_indicators([path], strict=False)
    assert len(ind) == 1 and ind.errors and ind.errors[0].startswith(f"{path}:2:")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"ip,10.0.0.1\n\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_indicators([binary])


# -- matching details ----------------------------------------------------------------------

def test_addresses_checked_once_per_flow_and_by_side(tmp_path: Path) -> None:
    feed = bundle(tmp_path, indicator("[network-traffic:dst_ref.value = '198.51.100.1']"),
                  indicator("[ipv4-addr:value = '198.51.100.2']"))
    run = Run(load_indicators([feed]))
    first = flow("10.1.1.5", "198.51.100.2")
    again = FlowEvent(ts=T + 5, frame=7, start=T, flow_id=first.flow_id, src_ip="10.1.1.5",
                      dst_ip="198.51.100.2")
    assert run(first, again) == [("intel.ip_match", "198.51.100.2")]
    # the network-traffic indicator names the destination only
    assert run(flow("10.1.1.5", "198.51.100.1")) == [("intel.ip_match", "198.51.100.1")]
    assert run(flow("198.51.100.1", "10.1.1.5")) == []
    assert run.alerts[-1].details["side"] == "dst"


def test_dns_answers_and_http_host_literal(tmp_path: Path) -> None:
    ind = load_indicators([csv_file(tmp_path, "domain,cdn.evil.example\nip,198.51.100.7\n")])
    run = Run(ind)
    event = dns("innocent.example", answers=[
        DnsAnswer(name="innocent.example", type="CNAME", rclass="IN", ttl=60,
                  data="x.cdn.evil.example"),
        DnsAnswer(name="x.cdn.evil.example", type="A", rclass="IN", ttl=60,
                  data="198.51.100.7")], resolved=["198.51.100.7"])
    assert run(event) == [("intel.domain_match", "x.cdn.evil.example"),
                          ("intel.ip_match", "198.51.100.7")]
    assert [a.details["matched_field"] for a in run.alerts] == ["dns.answers.data",
                                                                "dns.resolved_ip"]
    assert run(http("198.51.100.7", "/")) == [("intel.ip_match", "198.51.100.7")]


def test_no_indicators_of_a_kind_costs_nothing(tmp_path: Path) -> None:
    run = Run(load_indicators([csv_file(tmp_path, "sha256," + "1" * 64 + "\n")]))
    assert set(run.detector._handlers) == {HttpEvent, SmbFileEvent}
    assert not run.detector._check_ips


# -- digests from decoded traffic ----------------------------------------------------------

def test_http_download_and_smb_write_digests(tmp_path: Path) -> None:
    from protocols.it_a_build import write_tcp as write_tcp_a
    from protocols.it_b_build import (
        SMB2_CLOSE,
        SMB2_CREATE,
        SMB2_TREE_CONNECT,
        SMB2_WRITE,
        close_req,
        close_resp,
        create_req,
        create_resp,
        nbss,
        smb2,
        tree_connect_req,
        tree_connect_resp,
        write_req,
        write_resp,
    )
    from protocols.it_b_build import write_tcp as write_tcp_b

    exe = b"MZ" + bytes(range(256)) * 100
    http_pcap = write_tcp_a(tmp_path / "http.pcap", ("192.0.2.80", 80), [
        (True, b"GET /tools/x.exe HTTP/1.1\r\nHost: files.example\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"".join(b"%x\r\n%s\r\n" % (len(exe[i:i + 5000]), exe[i:i + 5000])
                           for i in range(0, len(exe), 5000)) + b"0\r\n\r\n")])
    fid = bytes(range(16))
    sid = 0x41

    def c(cmd: int, mid: int, body: bytes, tree: int = 5) -> bytes:
        return nbss(smb2(cmd, mid, body, session_id=sid, tree_id=tree))

    def r(cmd: int, mid: int, body: bytes, tree: int = 5) -> bytes:
        return nbss(smb2(cmd, mid, body, response=True, session_id=sid, tree_id=tree))

    smb_pcap = write_tcp_b(tmp_path / "smb.pcap", [
        (True, c(SMB2_TREE_CONNECT, 1, tree_connect_req("\\\\PLC-ENG\\C$"), 0)),
        (False, r(SMB2_TREE_CONNECT, 1, tree_connect_resp(1))),
        (True, c(SMB2_CREATE, 2, create_req("Temp\\x.exe", 5, 0x0013019F))),
        (False, r(SMB2_CREATE, 2, create_resp(fid, 2))),
        (True, c(SMB2_WRITE, 3, write_req(fid, 0, exe[:20000]))),
        (False, r(SMB2_WRITE, 3, write_resp(20000))),
        (True, c(SMB2_WRITE, 4, write_req(fid, 20000, exe[20000:]))),
        (False, r(SMB2_WRITE, 4, write_resp(len(exe) - 20000))),
        (True, c(SMB2_CLOSE, 5, close_req(fid))),
        (False, r(SMB2_CLOSE, 5, close_resp(len(exe))))],
        client=("10.1.1.5", 50123), server=("10.1.2.9", 445))
    feed = csv_file(tmp_path, f"sha256,{sha256(exe)},x.exe tool,,\n")
    alerts, problems = match_captures([http_pcap, smb_pcap], load_indicators([feed]))
    assert problems == []
    got = sorted((a.rule_id, a.details["matched_field"], a.src_ip, a.dst_ip) for a in alerts)
    assert got == [
        ("intel.sha256_match", "file.hash.sha256", "10.1.1.5", "10.1.2.9"),
        ("intel.sha256_match", "http.response.body.hash.sha256", "10.0.0.10", "192.0.2.80")]
    by_field = {a.details["matched_field"]: a for a in alerts}
    assert by_field["file.hash.sha256"].techniques == ("T0867",)
    assert by_field["file.hash.sha256"].severity == "high"


# -- CLI -----------------------------------------------------------------------------------------

def _cli(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    rc = args.func(args, Console(file=out, width=300), Console(file=err, width=300))
    return rc, out.getvalue(), err.getvalue()


def test_cli_check(tmp_path: Path) -> None:
    good = csv_file(tmp_path, CSV)
    feed = bundle(tmp_path, indicator("[ipv4-addr:value = '1.2.3.4'] AND "
                                      "[ipv4-addr:value = '1.2.3.5']"))
    rc, out, err = _cli(["intel", "check", str(good), str(feed)])
    assert rc == 0, err
    assert "8 indicators from 2 file(s); values: 2 ip, 1 cidr, 1 domain, 1 url, 1 md5, " \
           "1 sha1, 1 sha256" in out
    assert "AND between observations" in out
    bad = csv_file(tmp_path, "ip,1.2.3.4\nip,nope\n", name="bad.csv")
    rc, out, err = _cli(["intel", "check", str(bad)])
    assert rc == 2 and f"{bad}:2: 'nope' is not an IP address" in err


def test_cli_match(tmp_path: Path) -> None:
    from protocols.it_a_build import write_tcp as write_tcp_a

    pcap = write_tcp_a(tmp_path / "c.pcap", ("192.0.2.80", 80), [
        (True, b"GET / HTTP/1.1\r\nHost: c2.example\r\n\r\n"),
        (False, b"HTTP/1.1 204 No Content\r\n\r\n")])
    feed = csv_file(tmp_path, "domain,example\n")
    rc, out, err = _cli(["intel", "match", str(pcap), "--intel", str(feed)])
    assert rc == 3 and "intel.domain_match" in out and "c2.example" in out
    rc, out, _ = _cli(["intel", "match", str(pcap), "--intel", str(feed), "--format", "json"])
    (line,) = out.strip().splitlines()
    assert json.loads(line)["rule.id"] == "intel.domain_match"
    quiet = csv_file(tmp_path, "domain,other.example\n", name="q.csv")
    assert _cli(["intel", "match", str(pcap), "--intel", str(quiet)])[0] == 0
    broken = csv_file(tmp_path, "dom,x\n", name="b.csv")
    rc, _, err = _cli(["intel", "match", str(pcap), "--intel", str(broken)])
    assert rc == 2 and "b.csv:1: unknown indicator type 'dom'" in err


# -- corpus and cost -----------------------------------------------------------------------------

@pytest.mark.corpus
def test_corpus_smb_file_digest_match(tmp_path: Path) -> None:
    from support import PCAPS

    pcap = PCAPS / "zeek" / "it" / "smb2.pcap"
    if not pcap.exists():
        pytest.skip("corpus not available")
    # the digest tshark --export-objects smb gives for WP_SMBPlugin.pdf
    digest = "bfd6c1e37163061efa56555df55911dcab8a5bbb332c47e4ebac3ac11e6f6c5c"
    feed = csv_file(tmp_path, f"sha256,{digest},lab file\n")
    alerts, _ = match_captures([pcap], load_indicators([feed]))
    assert [(a.rule_id, a.details["matched_field"]) for a in alerts] == [
        ("intel.sha256_match", "file.hash.sha256")]


def test_matching_cost_with_100k_indicators(tmp_path: Path) -> None:
    """Prints load time and per-event cost with 100,000 indicators; asserts only results."""
    lines = []
    for i in range(40_000):
        lines.append(f"ip,10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}")
    for i in range(20_000):
        lines.append(f"domain,host{i}.bad{i % 500}.example")
    for i in range(20_000):
        lines.append(f"sha256,{hashlib.sha256(b'%d' % i).hexdigest()}")
    for i in range(20_000):
        lines.append(f"cidr,172.{16 + i // 4096}.{i // 16 % 256}.{i % 16 * 16}/28")
    csv_path = csv_file(tmp_path, "\n".join(lines) + "\n", name="big.csv")
    started = time.perf_counter()
    ind = load_indicators([csv_path])
    csv_seconds = time.perf_counter() - started
    objects = [{"type": "indicator", "spec_version": "2.1",
                "id": f"indicator--00000000-0000-4000-8000-{i:012d}",
                "created": BEFORE, "modified": BEFORE, "valid_from": BEFORE,
                "pattern_type": "stix",
                "pattern": f"[ipv4-addr:value = '198.{18 + i // 65536}.{(i // 256) % 256}."
                           f"{i % 256}']"} for i in range(100_000)]
    stix_path = tmp_path / "big.json"
    stix_path.write_text(json.dumps({"type": "bundle", "id": "bundle--x", "objects": objects}))
    started = time.perf_counter()
    stix_ind = load_indicators([stix_path])
    stix_seconds = time.perf_counter() - started
    assert len(ind) == 100_000 and len(stix_ind) == 100_000
    run = Run(ind)
    events: list[Event] = []
    for i in range(20_000):
        events.append(flow(f"10.1.{i // 256 % 256}.{i % 256}", "10.200.0.1"))
        events.append(dns(f"www{i}.benign{i % 97}.example"))
        events.append(tls(f"api{i}.cloud.example"))
    events.append(flow("10.1.1.1", "10.100.0.7"))
    events.append(flow("10.1.1.1", "172.20.0.9"))
    events.append(dns("x.host7.bad7.example"))
    started = time.perf_counter()
    got = run(*events)
    per_event = (time.perf_counter() - started) / len(events) * 1e6
    assert got == [("intel.ip_match", "10.100.0.7"), ("intel.cidr_match", "172.20.0.9"),
                   ("intel.domain_match", "x.host7.bad7.example")]
    print(f"\nintel: 100k CSV indicators loaded in {csv_seconds:.2f} s, 100k STIX indicators in "
          f"{stix_seconds:.2f} s; matching {per_event:.2f} us/event over {len(events)} events "
          "(flow, DNS, TLS mix)")


def test_normal_forms() -> None:
    from otshield.detect.intel import normalize

    assert normalize.url("HTTPS://Evil.example:443") == "https://evil.example/"
    assert normalize.url("http://[2001:DB8::1]:8080/a?b#frag") == "http://[2001:db8::1]:8080/a?b"
    assert normalize.url("evil.example/A?Q=1") == "http://evil.example/A?Q=1"
    assert normalize.domain("*.Bücher.Example.") == "xn--bcher-kva.example"
    assert normalize.ip("2001:DB8:0:0::1") == "2001:db8::1"
    assert normalize.network("10.1.2.3/8") == ("cidr", "10.0.0.0/8")
    assert normalize.network("10.1.2.3/32") == ("ip", "10.1.2.3")
    for bad in ("10.1", "010.1.1.1", "1.2.3.4/8"):
        with pytest.raises(ValueError):
            normalize.ip(bad)

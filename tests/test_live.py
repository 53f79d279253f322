"""Live capture (otshield.live) on a veth pair between two network namespaces made for the test.

A real pymodbus server runs in namespace A and a pymodbus client in namespace B; LiveCapture
runs inside A (a subprocess under ``ip netns exec`` that prints JSON) with the filter
"tcp port 502", next to tcpdump with the same filter as the oracle: both must see the same
frames with the same kernel time stamps. Traffic never leaves the two namespaces (addresses in
10.250.7.0/24, nothing routed), and the namespaces are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.errors import CaptureError, ConfigError
from otshield.live import LiveCapture, compile_filter
from otshield.pcapwriter import PcapWriter, ethernet, ipv4, udp_datagram

SERVER_IP, CLIENT_IP = "10.250.7.1", "10.250.7.2"
PY = sys.executable

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="AF_PACKET capture needs root or CAP_NET_RAW")

# -- scripts run inside the namespaces ---------------------------------------------------------

CAPTURE = r"""
import json, sys, threading, time
from otshield.live import LiveCapture
iface, flt, timeout = sys.argv[1], sys.argv[2] or None, float(sys.argv[3])
def promisc():
    try:
        with open(f"/sys/class/net/{iface}/flags") as fh:
            return bool(int(fh.read(), 16) & 0x100)
    except FileNotFoundError:  # the interface is gone
        return None
cap = LiveCapture(iface, flt, timeout=timeout)
recs = []
def run():
    for ts, lt, data in cap:
        recs.append([ts, lt, data.hex()])
t = threading.Thread(target=run)
t.start()
was_promisc = promisc()
print("READY", flush=True)
sys.stdin.readline()
time.sleep(0.3)  # let the last packets arrive
t0 = time.monotonic()
cap.stop()
t.join(10)
latency = time.monotonic() - t0
stats = cap.stats()
cap.close()
print(json.dumps({"records": recs, "promisc": was_promisc, "promisc_after": promisc(),
                  "stop_latency": latency, "alive": t.is_alive(), "error": cap.error,
                  "linktype": cap.linktype,
                  "stats": [stats.received, stats.dropped, stats.if_dropped, stats.captured]}))
"""

SERVER = r"""
import sys
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartTcpServer
device = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, list(range(100, 200))))
StartTcpServer(context=ModbusServerContext(devices=device, single=True), address=(sys.argv[1], 502))
"""

CLIENT = r"""
import json, sys, time
from pymodbus.client import ModbusTcpClient
client = ModbusTcpClient(sys.argv[1], port=502, timeout=3)
for _ in range(100):
    if client.connect():
        break
    time.sleep(0.1)
regs = client.read_holding_registers(0, count=5, device_id=1).registers
client.write_register(3, 777, device_id=1)
after = client.read_holding_registers(3, count=1, device_id=1).registers
client.close()
print(json.dumps({"regs": regs, "after": after}))
"""

NOISE = r"""
import socket, struct, sys
dst = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    u.sendto(b"not modbus %d" % i, (dst, 9999))
# an ICMP echo request (type 8) with its checksum
body = struct.pack("!BBHHH", 8, 0, 0, 0x4F54, 1) + b"otshield"
s = sum(struct.unpack("!%dH" % (len(body) // 2), body))
s = (s & 0xFFFF) + (s >> 16)
body = body[:2] + struct.pack("!H", ~s & 0xFFFF) + body[4:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
r.sendto(body, (dst, 0))
t = socket.socket()
t.settimeout(1)
try:
    t.connect((dst, 8080))  # refused: a SYN and a RST on another port
except OSError:
    pass
print("SENT", flush=True)
"""

INJECT = r"""
import socket, sys
iface = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for frame in sys.argv[2:]:
    s.send(bytes.fromhex(frame))
print("SENT", flush=True)
"""


# -- namespace fixture -------------------------------------------------------------------------


@dataclass
class Netns:
    a: str
    b: str
    if_a: str = "otsveth-a"
    if_b: str = "otsveth-b"

    def run(self, ns: str, script: str, *args: str, timeout: float = 60) -> str:
        out = subprocess.run(["ip", "netns", "exec", ns, PY, "-c", script, *args],
                             capture_output=True, text=True, timeout=timeout, check=False)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def popen(self, ns: str, cmd: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def netns() -> Iterator[Netns]:
    if os.geteuid() != 0:
        pytest.skip("live capture tests need root (network namespaces and AF_PACKET sockets)")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 ('ip') is not installed")
    tag = f"otsh{os.getpid()}"
    ns = Netns(f"{tag}a", f"{tag}b")
    created: list[str] = []
    try:
        for name in (ns.a, ns.b):
            res = _ip("netns", "add", name)
            if res.returncode:
                pytest.skip(f"'ip netns add' is not permitted here: {res.stderr.strip()}")
            created.append(name)
        # the veth pair is created straight inside the two namespaces: nothing in the host's
        for cmd in (
            ["link", "add", ns.if_a, "netns", ns.a, "type", "veth", "peer", "name", ns.if_b,
             "netns", ns.b],
            ["-n", ns.a, "addr", "add", f"{SERVER_IP}/24", "dev", ns.if_a],
            ["-n", ns.b, "addr", "add", f"{CLIENT_IP}/24", "dev", ns.if_b],
            ["-n", ns.a, "link", "set", ns.if_a, "up"],
            ["-n", ns.b, "link", "set", ns.if_b, "up"],
            ["-n", ns.a, "link", "set", "lo", "up"],
            ["-n", ns.b, "link", "set", "lo", "up"],
        ):
            res = _ip(*cmd)
            if res.returncode:
                pytest.skip(f"cannot build the test network (ip {' '.join(cmd)}): "
                            f"{res.stderr.strip()}")
        yield ns
    finally:
        for name in created:
            _ip("netns", "del", name)


def _wait_line(proc: subprocess.Popen[str], want: str, timeout: float = 30) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if want in line:
                return line
            if not line and proc.poll() is not None:
                break
    raise AssertionError(f"no {want!r} from {proc.args}: "
                         f"{proc.stderr.read() if proc.stderr and proc.poll() is not None else ''}")


@dataclass
class Captured:
    result: dict[str, Any]
    tcpdump: list[tuple[float, int, bytes]] | None
    frames: list[tuple[float, int, bytes]]


def capture_while(ns: Netns, flt: str, action: Any, tmp_path: Path,
                  timeout: float = 0.2, iface: str | None = None) -> Captured:
    """Run LiveCapture (and tcpdump, if installed) in namespace A on its veth (or ``iface``)
    while ``action()`` makes traffic; return what both saw."""
    iface = iface or ns.if_a
    cap = ns.popen(ns.a, [PY, "-c", CAPTURE, iface, flt, str(timeout)])
    dump = None
    dump_file = tmp_path / "tcpdump.pcap"
    try:
        _wait_line(cap, "READY")
        if shutil.which("tcpdump"):
            # -p: tcpdump must not make the interface promiscuous itself; -Z root: keep the
            # rights to write where pytest's tmp_path is
            dump = ns.popen(ns.a, ["tcpdump", "-n", "-U", "--immediate-mode", "-p", "-Z", "root",
                                   "-i", iface, "-w",
                                   str(dump_file), *([flt] if flt else [])])
            assert dump.stderr is not None
            line = ""
            deadline = time.monotonic() + 20
            while "listening on" not in line and time.monotonic() < deadline:
                line = dump.stderr.readline()
                if not line and dump.poll() is not None:
                    raise AssertionError("tcpdump did not start")
        action()
        time.sleep(0.5)  # both captures get the last packets before they are stopped
        assert cap.stdin is not None
        cap.stdin.write("stop\n")
        cap.stdin.flush()
        out, err = cap.communicate(timeout=60)
        assert cap.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
    finally:
        for p in (cap, dump):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)
    theirs = None
    if dump is not None:
        time.sleep(0.2)
        with open_capture(dump_file) as r:
            theirs = list(r)
    frames = [(ts, lt, bytes.fromhex(h)) for ts, lt, h in result["records"]]
    return Captured(result, theirs, frames)


def tcp_of(frame: bytes) -> tuple[str, str, int, int, bytes] | None:
    """(src, dst, sport, dport, payload) of an Ethernet/IPv4/TCP frame, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack_from("!H", frame, 16)[0]
    tcp = 14 + ihl
    doff = (frame[tcp + 12] >> 4) * 4
    sport, dport = struct.unpack_from("!HH", frame, tcp)
    return (socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), sport, dport,
            frame[tcp + doff:14 + total])


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.live
def test_modbus_session_captured_and_filtered(netns: Netns, tmp_path: Path) -> None:
    server = netns.popen(netns.a, [PY, "-c", SERVER, SERVER_IP])
    client_out: dict[str, Any] = {}
    started = time.time()

    def traffic() -> None:
        client_out.update(json.loads(netns.run(netns.b, CLIENT, SERVER_IP)))
        netns.run(netns.b, NOISE, SERVER_IP)

    try:
        # timeout 5 s: stop() must still end the capture at once (the wake-up pipe)
        got = capture_while(netns, "tcp port 502", traffic, tmp_path, timeout=5.0)
    finally:
        server.terminate()
        server.wait(10)
    ended = time.time()
    res = got.result
    assert client_out == {"regs": [100, 101, 102, 103, 104], "after": [777]}
    assert res["error"] is None and not res["alive"] and res["stop_latency"] < 1.0
    assert res["promisc"] and not res["promisc_after"]  # promiscuous only while capturing
    assert res["linktype"] == 1
    frames = got.frames
    assert frames, "nothing captured"
    # the filter: only TCP port 502 (no UDP 9999, no ICMP echo, no SYN to 8080)
    parsed = [tcp_of(f) for _, _, f in frames]
    assert all(p is not None and 502 in (p[2], p[3]) for p in parsed), parsed
    # MBAP (Modbus Application Protocol header, Modbus/TCP spec 3.1.3) of the requests/replies
    pdus = []
    for p in parsed:
        assert p is not None
        src, _, _, _, payload = p
        if len(payload) >= 8:
            _tid, proto, length, _unit = struct.unpack_from("!HHHB", payload)
            assert proto == 0 and length == len(payload) - 6
            pdus.append((src, payload[7:]))
    assert (CLIENT_IP, bytes.fromhex("03 0000 0005")) in pdus  # read 5 holding registers at 0
    assert (SERVER_IP, bytes.fromhex("03 0a 0064 0065 0066 0067 0068")) in pdus  # 100..104
    assert (CLIENT_IP, bytes.fromhex("06 0003 0309")) in pdus  # write register 3 := 777
    # kernel time stamps, in order, within the test's wall-clock window
    stamps = [ts for ts, _, _ in frames]
    assert stamps == sorted(stamps) and started - 1 < stamps[0] and stamps[-1] < ended + 1
    received, dropped, if_dropped, captured = res["stats"]
    assert captured == len(frames) and received >= captured and dropped == 0
    assert if_dropped in (0, None)
    # tcpdump (libpcap), same filter, same interface: the same frames with the same times
    if got.tcpdump is not None:
        assert [f for _, _, f in got.tcpdump] == [f for _, _, f in frames]
        # Time stamps: for TCP the kernel stamps each packet socket's copy when it is handed
        # to that socket (the skb carries a monotonic departure time until then; af_packet
        # replaces it with the real time on delivery), so two captures differ by the few
        # microseconds between the two deliveries; tcpdump's file has microsecond resolution.
        diffs = sorted(abs(a[0] - b[0]) for a, b in zip(got.tcpdump, frames, strict=True))
        assert diffs[len(diffs) // 2] < 100e-6 and diffs[-1] < 5e-3, diffs
    # and through the engine
    pcap = tmp_path / "live.pcap"
    with pcap.open("wb") as fh, PcapWriter(fh, nanosecond=True) as w:
        for ts, _, f in frames:
            w.write(ts, f)
    from otshield.engine import decode_file

    events = decode_file(pcap)
    modbus = [e for e in events if e.__struct_config__.tag == "modbus"]
    assert {getattr(e, "function_code", None) for e in modbus} >= {3, 6}, events


@pytest.mark.live
@pytest.mark.parametrize("flt", ["", "udp port 4001", "vlan"])
def test_vlan_tags_are_put_back(netns: Netns, tmp_path: Path, flt: str) -> None:
    """The receiving kernel moves 802.1Q/802.1ad tags out of the frame into metadata; the
    frames must come out exactly as they were sent, tags included. The filter runs on the
    frame without its outer tag: "udp port 4001" matches the singly tagged frame (not the
    double-tagged one, whose inner tag is still there), ``vlan`` only the double-tagged one
    (documented in otshield.live)."""
    udp = udp_datagram("10.250.100.2", "10.250.100.1", 4000, 4001, b"otshield-vlan")
    pkt = ipv4("10.250.100.2", "10.250.100.1", 17, udp)
    plain = ethernet("02:00:00:00:00:0b", "ff:ff:ff:ff:ff:ff", 0x0800, pkt)
    tagged = plain[:12] + struct.pack("!HH", 0x8100, (5 << 13) | 100) + plain[12:]  # PCP 5
    qinq = plain[:12] + struct.pack("!HHHH", 0x88A8, 200, 0x8100, 300) + plain[12:]
    sent = [tagged, qinq, plain]

    def inject() -> None:
        netns.run(netns.b, INJECT, netns.if_b, *(f.hex() for f in sent))

    got = capture_while(netns, flt, inject, tmp_path)
    ours = [f for _, _, f in got.frames if f.endswith(b"otshield-vlan")]
    if flt == "vlan":
        assert ours == [qinq]
        return  # libpcap's own live handles match outer tags too: tcpdump is no oracle here
    expected = sent if not flt else [tagged, plain]
    assert ours == expected
    if got.tcpdump is not None:
        assert [f for _, _, f in got.tcpdump if f.endswith(b"otshield-vlan")] == expected


@pytest.mark.live
def test_loopback_packets_are_seen_once(netns: Netns, tmp_path: Path) -> None:
    """On loopback every packet passes the tap twice (out, then in); one copy is kept."""
    send = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(3):\n    s.sendto(b'loop %d' % i, ('127.0.0.1', 4444))\n")
    got = capture_while(netns, "udp port 4444", lambda: netns.run(netns.a, send), tmp_path,
                        iface="lo")
    assert got.result["linktype"] == 1 and got.result["error"] is None
    assert [f[-6:] for _, _, f in got.frames] == [b"loop 0", b"loop 1", b"loop 2"]
    if got.tcpdump is not None:
        assert [f for _, _, f in got.tcpdump] == [f for _, _, f in got.frames]


@pytest.mark.live
def test_interface_that_disappears_ends_the_capture_with_an_error(netns: Netns,
                                                                   tmp_path: Path) -> None:
    res = _ip("-n", netns.a, "link", "add", "otsgone0", "type", "veth", "peer", "name",
              "otsgone1")
    assert res.returncode == 0, res.stderr
    _ip("-n", netns.a, "link", "set", "otsgone0", "up")

    def remove() -> None:
        assert _ip("-n", netns.a, "link", "del", "otsgone0").returncode == 0
        time.sleep(0.5)

    got = capture_while(netns, "", remove, tmp_path, iface="otsgone0", timeout=5.0)
    assert got.result["error"] == "capture on 'otsgone0' failed: the interface disappeared"
    assert not got.result["alive"]


@pytest.mark.live
@needs_root
def test_stop_wakes_an_idle_capture_at_once() -> None:
    # a filter nothing matches (an unassigned local experimental EtherType): nothing is read
    cap = LiveCapture("lo", "ether proto 0x88b5", timeout=5.0)
    seen: list[tuple[float, int, bytes]] = []
    t = threading.Thread(target=lambda: seen.extend(cap))
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    cap.stop()
    t.join(3)
    assert not t.is_alive() and time.monotonic() - t0 < 1.0
    assert seen == [] and cap.error is None
    s = cap.stats()
    assert (s.received, s.dropped, s.captured) == (0, 0, 0)
    cap.close()
    cap.close()  # idempotent
    assert cap.stats().captured == 0  # readable after close
    assert list(cap) == []  # iterable once


@pytest.mark.live
@needs_root
def test_close_from_another_thread_ends_iteration() -> None:
    cap = LiveCapture("lo", "ether proto 0x88b5", timeout=5.0)
    t = threading.Thread(target=lambda: list(cap))
    t.start()
    time.sleep(0.3)
    cap.close()
    t.join(3)
    assert not t.is_alive()
    assert cap._sock.fileno() == -1  # released by the iterating thread on its way out


@pytest.mark.live
@needs_root
def test_unknown_interface() -> None:
    with pytest.raises(CaptureError, match="'otsh-nope0': no such interface"):
        LiveCapture("otsh-nope0")


@pytest.mark.live
@needs_root
def test_invalid_filter_is_a_config_error_with_libpcaps_message() -> None:
    with pytest.raises(ConfigError, match=r"invalid capture filter 'tcp prot 502': .*syntax"):
        LiveCapture("lo", "tcp prot 502")


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError):
        LiveCapture("lo", snaplen=0)
    with pytest.raises(ConfigError):
        LiveCapture("lo", timeout=0)


@pytest.mark.live
def test_without_privileges_the_message_says_what_is_needed() -> None:
    code = ("import os\nfrom otshield.live import LiveCapture\n"
            "from otshield.errors import CaptureError\n"
            "if os.geteuid() == 0:\n    os.setgid(65534)\n    os.setuid(65534)\n"
            "try:\n    LiveCapture('lo')\nexcept CaptureError as e:\n    print(e)\n")
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert "needs root or the CAP_NET_RAW capability" in out.stdout, out.stderr


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("expr", ["tcp port 502", "udp and (port 20000 or port 2404)",
                                  "host 10.250.7.1 and not icmp", "vlan 100 and tcp",
                                  "ether proto 0x88b8", ""])
def test_compiled_filter_matches_tcpdump(tmp_path: Path, expr: str) -> None:
    """Our ctypes route to pcap_compile gives the program tcpdump -ddd prints for Ethernet."""
    empty = tmp_path / "e.pcap"
    with empty.open("wb") as fh:
        PcapWriter(fh)  # header only: linktype Ethernet, snaplen 262144
    out = subprocess.run(["tcpdump", "-ddd", "-r", str(empty), *([expr] if expr else [])],
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    count, numbers = int(out[0]), [int(x) for x in out[1:]]
    theirs = [tuple(numbers[i:i + 4]) for i in range(0, len(numbers), 4)]
    assert len(theirs) == count
    assert compile_filter(expr) == theirs


def test_compile_filter_errors() -> None:
    with pytest.raises(ConfigError, match="invalid capture filter 'port 99999'"):
        compile_filter("port 99999")
    with pytest.raises(ConfigError, match="invalid IPv4 address"):
        compile_filter("host 999.1.1.1")

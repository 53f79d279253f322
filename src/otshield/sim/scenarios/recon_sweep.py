"""Reconnaissance of the control system from a compromised office PC.

The story (the discovery phase of most ICS intrusions; the probing modules of Industroyer2's
companions, PIPEDREAM's scanners and plain nmap with the ICS NSE scripts): the attacker holds
an office PC and maps what it can reach. First the local subnet with ARP, then a TCP connect
sweep of the industrial ports (S7 102, Modbus 502, IEC 104 2404, DNP3 20000, EtherNet/IP 44818)
across the control and field subnets, then the protocols themselves: a Modbus unit id sweep of
the intake PLC with device identification requests, EtherNet/IP ListIdentity to every control
address, and S7 system status list reads that name the treatment PLC's CPU and serial number.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from otshield.sim.payloads import modbus_device_id
from otshield.sim.scenario import ScenarioContext, SimAsset, StageSpec
from otshield.sim.scenarios.base import LibraryScenario, after, gateway_mac, plant_of
from otshield.sim.scenarios.wire_it import arp_reply, arp_request, tcp_frame, udp_frame
from otshield.sim.scenarios.wire_ot import (
    ModbusClient,
    list_identity_reply,
    list_identity_request,
    s7_connect,
    s7_read_szl,
    szl_records_identity,
)

__all__ = ["ReconSweep"]

OT_PORTS = (102, 502, 2404, 20000, 44818)
"""The industrial services a sweep looks for."""
_FIN, _SYN, _ACK = 0x01, 0x02, 0x10


class ReconSweep(LibraryScenario):
    id = "recon_sweep"
    title = "Reconnaissance sweep from a compromised office PC"
    summary = (
        "An office PC ARP-sweeps its subnet, sweeps the OT ports across the control and field "
        "subnets, sweeps Modbus unit ids, sends ListIdentity to every control address and "
        "reads the S7 PLC's identity.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="arp_sweep", title="ARP sweep of the office subnet",
                  techniques=("T0846",), rule="net.scan.arp_sweep",
                  description="OFFICE-PC-12 asks for every address of 10.10.10.0/24 in a few "
                  "seconds; the live hosts answer."),
        StageSpec(name="ot_port_sweep", title="TCP connect sweep of the industrial ports",
                  techniques=("T0846", "T0840"), rule="net.scan.tcp_host_sweep",
                  description="SYNs to ports 102, 502, 2404, 20000 and 44818 of 10.10.30.1-60 "
                  "and 10.10.40.1-30; open ports complete the handshake and are closed at "
                  "once, closed ports and absent hosts do not answer."),
        StageSpec(name="modbus_unit_sweep", title="Modbus unit id sweep with device "
                  "identification", techniques=("T0846", "T0888"),
                  rule="ot.modbus.unit_id_sweep",
                  description="Read Device Identification to unit ids 1-32 of PLC-INTAKE; only "
                  "its own unit answers, the others are refused."),
        StageSpec(name="enip_list_identity", title="EtherNet/IP ListIdentity to every control "
                  "address", techniques=("T0846", "T0888"), rule="ot.enip.list_identity_sweep",
                  description="ListIdentity over UDP to 10.10.30.1-40; PLC-DIST answers with "
                  "its product name and serial number."),
        StageSpec(name="s7_identification", title="S7 system status lists read",
                  techniques=("T0888", "T0868"), rule="ot.s7.identity_read",
                  description="SZL 0x0011, 0x001C and 0x0424 of PLC-TREAT: order number, "
                  "names, serial number and operating mode."),
    )

    requires = ("OFFICE-PC-12", "PLC-INTAKE", "PLC-DIST", "PLC-TREAT")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        pc = ctx.asset("OFFICE-PC-12")
        plant = plant_of(ctx)
        known = {a.ip: ctx.asset(a.name) for a in plant.assets.values()}
        gw = gateway_mac(ctx)

        office = ipaddress.IPv4Network(plant.zones[pc.zone].subnet)
        hosts = [str(h) for h in office.hosts()]
        first = known.get(hosts[0]) or SimAsset(name="gw", ip=hosts[0], mac=gw)
        with self.stage(ctx, "arp_sweep", pc, first):
            t = ctx.now
            for ip in hosts:
                if ip == pc.ip:
                    continue
                ctx.frame(t, arp_request(pc, ip))
                host = known.get(ip)
                if host is not None:
                    ctx.frame(t + 0.0004, arp_reply(host.mac, host.ip, pc))
                t += 0.025 + rnd.random() * 0.01
        yield after(ctx, t, 40.0)

        targets = [f"10.10.30.{i}" for i in range(1, 61)] + [f"10.10.40.{i}" for i in range(1, 31)]
        listening = {(a.ip, port) for a in plant.assets.values() for port in OT_PORTS
                     if _serves(a.protocols, port)}
        first = known.get(targets[0]) or SimAsset(name="absent", ip=targets[0], mac=gw)
        with self.stage(ctx, "ot_port_sweep", pc, first):
            t = ctx.now
            sport = 40000 + rnd.randrange(20000)
            for ip in targets:
                host = known.get(ip)
                dst = host or SimAsset(name="absent", ip=ip, mac=gw)
                for port in OT_PORTS:
                    isn = rnd.getrandbits(32)
                    ctx.frame(t, tcp_frame(pc, dst, sport, port, isn, 0, _SYN, window=1024))
                    if host is not None and (ip, port) in listening:
                        _connect_and_close(ctx, t, pc, host, sport, port, isn,
                                           rnd.getrandbits(32))
                    # closed ports and absent hosts: no answer (the controllers drop probes)
                    t += 0.004
                t += 0.02
        yield after(ctx, t, 45.0)

        plc = ctx.asset("PLC-INTAKE")
        spec = plant.assets[plc.name]
        with self.stage(ctx, "modbus_unit_sweep", pc, plc):
            conv = ctx.tcp(pc, plc, 502)
            mb = ModbusClient(conv, spec.unit, tid=rnd.getrandbits(8))
            request = bytes([0x2B, 0x0E, 0x01, 0x00])  # read device id, basic, from object 0
            for unit in range(1, 33):
                if unit == spec.unit:
                    mb.exchange(request, modbus_device_id(spec.vendor, spec.model, spec.firmware),
                                unit=unit)
                else:  # not a gateway: other unit ids are refused
                    mb.exception(request, 0x0B, unit=unit)
                conv.ts += 0.05
            conv.close()
        yield after(ctx, conv, 30.0)

        logix = plant.assets["PLC-DIST"]
        with self.stage(ctx, "enip_list_identity", pc, ctx.asset(logix.name)):
            sport = 50000 + rnd.randrange(10000)
            t = ctx.now
            for i in range(1, 41):
                ip = f"10.10.30.{i}"
                host = known.get(ip)
                dst = host or SimAsset(name=f"absent-{i}", ip=ip, mac=gw)
                ctx.frame(t, udp_frame(pc, dst, sport, 44818, list_identity_request()))
                if host is not None and ip == logix.ip:
                    ctx.frame(t + 0.003, udp_frame(host, pc, 44818, sport, list_identity_reply(
                        ip, 1, 14, 54, (20, 11), 0x00C0FFEE, logix.model)))
                t += 0.03
        yield after(ctx, t, 30.0)

        treat = ctx.asset("PLC-TREAT")
        with self.stage(ctx, "s7_identification", pc, treat):
            conv = ctx.tcp(pc, treat, 102)
            s7_connect(conv)
            answers = szl_records_identity("6ES7 315-2EH14-0AB0", treat.name, "S C-X4U219372")
            for seq, (szl_id, (length, records)) in enumerate(answers.items(), start=1):
                s7_read_szl(conv, seq, szl_id, length, records)
                conv.ts += 0.2
            conv.close()
        yield after(ctx, conv, 5.0)


def _serves(protocols: list[str], port: int) -> bool:
    names = {102: "s7comm", 502: "modbus", 2404: "iec104", 20000: "dnp3", 44818: "enip"}
    return names[port] in protocols


def _connect_and_close(ctx: ScenarioContext, t: float, pc: SimAsset, host: SimAsset,
                       sport: int, port: int, isn: int, their: int) -> None:
    """An open port: the handshake completes and the scanner closes at once (a connect scan:
    the answer proves the service is there)."""
    steps = [(host, pc, their, isn + 1, _SYN | _ACK), (pc, host, isn + 1, their + 1, _ACK),
             (pc, host, isn + 1, their + 1, _FIN | _ACK),
             (host, pc, their + 1, isn + 2, _FIN | _ACK), (pc, host, isn + 2, their + 2, _ACK)]
    for i, (a, b, seq, ack, flags) in enumerate(steps, start=1):
        a_port, b_port = (sport, port) if a is pc else (port, sport)
        ctx.frame(t + 0.0004 * i, tcp_frame(a, b, a_port, b_port, seq, ack, flags))

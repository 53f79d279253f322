"""Spoofed process values hide the true state while the attacker changes it.

The story (Stuxnet's replay of recorded sensor values to the operators; the adversary-in-the-
middle tools Ettercap and Bettercap against Modbus in many red-team reports): a small computer
hidden in the control cabinet poisons the ARP caches of the HMI and the intake PLC so that
their traffic passes through it. It relays the HMI's polls to the PLC and rewrites the answers
with values recorded before the attack (a replay: the tank level, the pump state and flows
freeze on the HMI). Under that cover it raises the pump setpoints and forces the pump on: the
real raw water tank rises towards its trip while the HMI shows a calm plant. Only the safety
system, polled separately, still tells the truth.

On a mirror port this looks like: ARP replies that move the PLC's and the HMI's addresses to a
new MAC; every poll twice (HMI to the middle, middle to the PLC) and every answer twice with the
same TCP sequence numbers but different bytes (the true one from the PLC, the forged one from
the middle); then Modbus writes from the middle's own address.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from otshield.demo import modbus
from otshield.pcapwriter import TcpConversation
from otshield.sim.scenario import ScenarioContext, SimAsset, StageSpec
from otshield.sim.scenarios.base import (
    LibraryScenario,
    after,
    ephemeral_port,
    plant_of,
    point,
    process_of,
    resume,
)
from otshield.sim.scenarios.wire_it import arp_announce
from otshield.sim.scenarios.wire_ot import ModbusClient

__all__ = ["SpoofedValues"]

IMPLANT_IP = "10.10.30.250"
IMPLANT_MAC = "b8:27:eb:5e:00:fa"
"""A Raspberry Pi (Raspberry Pi Foundation OUI) nobody declared."""
FROZEN = ("T1.level", "P1.running", "P1.flow", "T1.inflow", "T1.outflow", "P1.start_level",
          "P1.stop_level", "P1.auto", "P1.command")
"""Tags whose reported values the replay freezes."""
POLLS = 75
"""HMI polls relayed and rewritten by the middle (one a second)."""
REPOISON = 2.0
"""Seconds between two rounds of forged ARP replies (arpspoof's and Bettercap's pace)."""


class _FrameSink:
    """Frames of a hand-driven conversation go to the simulator as raw frames."""

    def __init__(self, ctx: ScenarioContext) -> None:
        self.ctx = ctx

    def write(self, ts: float, frame: bytes, orig_len: int | None = None) -> None:
        self.ctx.frame(ts, frame)


class SpoofedValues(LibraryScenario):
    id = "spoofed_values"
    title = "Replayed values hide the true process state (adversary in the " \
        "middle)"
    summary = (
        "An implant poisons the ARP caches of the HMI and the intake PLC, rewrites the PLC's "
        "answers with replayed values, and under that cover forces the well pump on.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="arp_poisoning", title="ARP caches of the HMI and the PLC poisoned",
                  techniques=("T0830",), rule="net.arp.one_mac_many_ips",
                  description="The implant sends gratuitous ARP replies telling HMI-01 that "
                  "PLC-INTAKE's address is at its MAC, and PLC-INTAKE the same of HMI-01's, "
                  "every two seconds."),
        StageSpec(name="replayed_responses", title="PLC answers rewritten with replayed values",
                  techniques=("T0830", "T0856", "T0832"),
                  rule="net.arp.one_mac_many_ips",
                  description="For 75 s the HMI's Modbus polls pass through the implant, which "
                  "forwards them and rewrites each answer with the values recorded before the "
                  "attack (same TCP sequence numbers, different bytes); it keeps re-poisoning "
                  "the ARP caches."),
        StageSpec(name="hidden_manipulation", title="Pump forced on while the HMI shows frozen "
                  "values", techniques=("T0855", "T0836", "T0831"),
                  rule="ot.modbus.write_unauthorised",
                  description="The implant writes P1's setpoints and forces it on in manual "
                  "from its own address; T1 rises while the HMI shows the replayed level."),
    )

    requires = ("HMI-01", "PLC-INTAKE")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        hmi = ctx.asset("HMI-01")
        plc = ctx.asset("PLC-INTAKE")
        implant = ctx.add_host(SimAsset(name="CABINET-IMPLANT", ip=IMPLANT_IP, mac=IMPLANT_MAC,
                                        zone="Control", level=1, kind="laptop",
                                        vendor="Raspberry Pi"))
        process = process_of(ctx)
        spec = plant_of(ctx).assets[plc.name]

        with self.stage(ctx, "arp_poisoning", implant, plc):
            t = ctx.now
            for _ in range(5):
                _poison(ctx, t, implant, hmi, plc)
                t += REPOISON
        yield after(ctx, t, 1.0)

        # The replay starts: what the PLC reports is frozen (the simulator's own polls show it
        # too), while the true values move on.
        fake = _registers(ctx, plc.name, 10, process.reported)
        process.freeze(FROZEN, asset=plc.name)
        with self.stage(ctx, "replayed_responses", implant, hmi):
            conv = TcpConversation(_FrameSink(ctx), (hmi.ip, ephemeral_port(ctx, hmi)),
                                   (plc.ip, 502), hmi.mac, implant.mac, start=ctx.now,
                                   isn=(rnd.getrandbits(32), rnd.getrandbits(32)))
            conv.handshake()
            tid = rnd.getrandbits(12)
            next_poison = ctx.now + REPOISON
            for _ in range(POLLS):
                if ctx.now >= next_poison:  # the tool keeps the caches poisoned
                    _poison(ctx, ctx.now, implant, hmi, plc)
                    next_poison += REPOISON
                tid = (tid + 1) & 0xFFFF
                request = modbus(tid, spec.unit, struct.pack(">BHH", 3, 0, 10))
                conv.macs = (hmi.mac, implant.mac)          # HMI -> the middle
                conv.send(True, request, ack=False, gap_after=0.0002)
                conv.macs = (implant.mac, plc.mac)          # the middle -> the PLC
                conv.send_raw(True, request, -len(request))
                conv.ts += 0.004
                true = _registers(ctx, plc.name, 10, process.read)
                answer = bytes([3, 20])
                conv.send_raw(False, modbus(tid, spec.unit, answer + struct.pack(">10H", *true)),
                              0)                            # the PLC -> the middle
                conv.ts += 0.0003
                conv.macs = (hmi.mac, implant.mac)          # the middle -> HMI, rewritten
                conv.send(False, modbus(tid, spec.unit, answer + struct.pack(">10H", *fake)))
                conv.ts += 1.0 + rnd.random() * 0.02
                yield after(ctx, conv, 0.0)
                resume(ctx, conv)
        yield 10.0

        with self.stage(ctx, "hidden_manipulation", implant, plc):
            own = ctx.tcp(implant, plc, 502)
            mb = ModbusClient(own, spec.unit, tid=rnd.getrandbits(12))
            start = point(ctx, plc.name, "P1.start_level", "holding")
            auto = point(ctx, plc.name, "P1.auto", "holding")
            coil = point(ctx, plc.name, "P1.command", "coil")
            mb.write_registers(start.address,
                               [round(4.70 * start.scale), round(4.95 * start.scale)])
            process.write("P1.stop_level", 4.95)
            process.write("P1.start_level", 4.70)
            mb.write_register(auto.address, 0)
            process.write("P1.auto", 0)
            mb.write_coil(coil.address, True)
            process.write("P1.command", 1)
            own.close()
        yield after(ctx, own, 20.0)
        # The relayed connection ends; the replay goes on in what the PLC reports.
        resume(ctx, conv)
        conv.macs = (hmi.mac, implant.mac)
        conv.close()
        yield after(ctx, conv, 1.0)


def _poison(ctx: ScenarioContext, t: float, implant: SimAsset, hmi: SimAsset,
            plc: SimAsset) -> None:
    """One round: the PLC learns the HMI's address at the implant, the HMI the PLC's."""
    ctx.frame(t, arp_announce(implant.mac, hmi.ip, plc.mac))
    ctx.frame(t + 0.001, arp_announce(implant.mac, plc.ip, hmi.mac))


def _raw(value: float, scale: float) -> int:
    return max(0, min(0xFFFF, round(value * scale)))


def _registers(ctx: ScenarioContext, asset: str, count: int,
               value: Callable[[str], float]) -> list[int]:
    """The first ``count`` holding registers of ``asset`` as the PLC encodes ``value`` of
    their tags (a register without a point reads 0)."""
    by_address = {p.address: p for p in plant_of(ctx).assets[asset].points
                  if p.space == "holding"}
    return [_raw(value(p.tag), p.scale) if (p := by_address.get(i)) is not None else 0
            for i in range(count)]

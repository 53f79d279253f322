"""An IEC 104 command sequence in the style of Industroyer.

The story (Industroyer/CrashOverride's IEC 104 payload against Ukrenergo, December 2016, and
Industroyer2 in April 2022): the attackers run their own IEC 60870-5-104 client on a host they
hold inside the plant, here the jump host, which is not the SCADA master. It opens a link to
the substation RTU (STARTDT), asks for a general interrogation to learn the points, then walks
a range of information object addresses with select-before-operate single commands (most
addresses do not exist and are refused), and finally opens the feeder breakers of both pumps
with double commands, again and again. The pumps lose power.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from otshield.demo_grid import Iec104Link, apci_u, asdu, ioa
from otshield.sim.scenario import ScenarioContext, StageSpec
from otshield.sim.scenarios.base import LibraryScenario, after, plant_of, process_of, resume
from otshield.sim.scenarios.wire_ot import iec104_command

__all__ = ["Industroyer104"]

SWEEP = range(3101, 3125)
"""Single-command addresses walked (none exists on the RTU)."""
BREAKERS = {3001: "P1", 3002: "P2"}
"""Double-command addresses of the pump feeder breakers -> the pump they feed."""
_C_SC_NA_1, _C_DC_NA_1 = 45, 46
_DCS_OFF = 0x01


class Industroyer104(LibraryScenario):
    id = "industroyer_iec104"
    title = "IEC 104 command sequence in the style of Industroyer"
    summary = (
        "The compromised jump host opens an IEC 104 link to the substation RTU, interrogates "
        "it, walks single commands over an address range and opens the pump feeder breakers "
        "with double commands.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="startdt_interrogation", title="Link started and station interrogated "
                  "by a host that is not the SCADA master",
                  techniques=("T0848", "T0801", "T0846"), rule="ot.iec104.unknown_master",
                  description="JUMP-01 sends STARTDT and a general interrogation (C_IC_NA_1) to "
                  "RTU-SUB and receives every point."),
        StageSpec(name="single_command_sweep", title="Single commands walked over an address "
                  "range", techniques=("T0855", "T0831", "T0806"),
                  rule="ot.iec104.command_unauthorised",
                  description=f"Select-before-operate C_SC_NA_1 to IOAs {SWEEP.start}-"
                  f"{SWEEP.stop - 1}; the RTU refuses each (unknown address)."),
        StageSpec(name="breaker_open", title="Pump feeder breakers opened with double commands",
                  techniques=("T0855", "T0831", "T0806"),
                  rule="ot.iec104.command_unauthorised",
                  description="Select and execute C_DC_NA_1 OFF to IOAs 3001 and 3002, three "
                  "rounds: both pumps stop."),
    )

    requires = ("JUMP-01", "RTU-SUB")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        jump = ctx.asset("JUMP-01")
        rtu = ctx.asset("RTU-SUB")
        spec = plant_of(ctx).assets[rtu.name]
        ca = spec.unit
        process = process_of(ctx)

        with self.stage(ctx, "startdt_interrogation", jump, rtu):
            conv = ctx.tcp(jump, rtu, 2404)
            conv.send(True, apci_u(0x07))   # STARTDT act
            conv.send(False, apci_u(0x0B))  # STARTDT con
            link = Iec104Link(conv)
            qoi = [ioa(0) + b"\x14"]        # station interrogation
            link.send(True, asdu(100, 6, qoi, ca=ca))
            link.send(False, asdu(100, 7, qoi, ca=ca))
            singles = [ioa(p.address) + bytes([int(process.reported(p.tag) >= 0.5)])
                       for p in spec.points if p.space == "single"]
            floats = [ioa(p.address) + struct.pack("<f", process.reported(p.tag)) + b"\x00"
                      for p in spec.points if p.space == "float"]
            if singles:
                link.send(False, asdu(1, 20, singles, ca=ca))
            if floats:
                link.send(False, asdu(13, 20, floats, ca=ca))
            link.send(False, asdu(100, 10, qoi, ca=ca))
            link.ack()
        yield after(ctx, conv, 25.0 + rnd.random() * 5)

        with self.stage(ctx, "single_command_sweep", jump, rtu):
            resume(ctx, conv)
            for address in SWEEP:
                iec104_command(link, _C_SC_NA_1, address, 1, ca, known=False)
                conv.ts += 0.1
            link.ack()
        yield after(ctx, conv, 20.0)

        with self.stage(ctx, "breaker_open", jump, rtu):
            resume(ctx, conv)
            for _ in range(3):
                for address, pump in BREAKERS.items():
                    iec104_command(link, _C_DC_NA_1, address, _DCS_OFF, ca)
                    process.write(f"{pump}.auto", 0)
                    process.write(f"{pump}.command", 0)
                    conv.ts += 0.2
                link.ack()
                conv.ts += 1.0
            conv.send(True, apci_u(0x13))   # STOPDT act
            conv.send(False, apci_u(0x23))  # STOPDT con
            conv.close()
        yield after(ctx, conv, 5.0)

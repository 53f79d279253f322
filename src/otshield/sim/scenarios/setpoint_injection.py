"""Setpoint and command injection that changes the process.

The story (the 2021 Oldsmar water plant intrusion and the Modbus manipulation of the FrostyGoop
malware, 2024): an attacker on an office PC finds that the plant firewall lets the office reach
the control network, so a Modbus tool on that PC can talk to the intake PLC directly. It
enumerates the holding registers one by one to find the tags, raises the well pump's level
setpoints above the high-high trip, switches the pump to manual and forces it on, and closes
the treatment valve with an S7 write. The HMI's next polls show it all: the new setpoints, the
pump in manual and running, the valve at 0 %, the raw water tank rising towards the trip.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from otshield.sim.scenario import ScenarioContext, StageSpec
from otshield.sim.scenarios.base import LibraryScenario, after, plant_of, point, process_of, resume
from otshield.sim.scenarios.wire_ot import ModbusClient, s7_connect, s7_write_real

__all__ = ["SetpointInjection"]

_REGISTERS = 10
"""Holding registers PLC-INTAKE has (0-9); reads beyond them are refused (exception 2)."""


class SetpointInjection(LibraryScenario):
    id = "setpoint_injection"
    title = "Setpoint and command injection from an office PC"
    summary = (
        "An office PC reaches the intake PLC over Modbus through a permissive firewall, "
        "enumerates its registers, raises the pump setpoints, forces the pump on and closes "
        "the treatment valve over S7: the polled values show the tank rising.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="register_enumeration", title="Holding registers read one by one",
                  techniques=("T0861", "T0801", "T0888"), rule="ot.modbus.register_sweep",
                  description="OFFICE-PC-11 reads holding registers 0-119 of PLC-INTAKE one at "
                  "a time; addresses from 10 on are refused."),
        StageSpec(name="setpoint_change", title="Pump level setpoints raised above the trip",
                  techniques=("T0836", "T0855"), rule="ot.modbus.write_unauthorised",
                  description="Write Multiple Registers sets P1's start level to 4.70 m and "
                  "its stop level to 4.95 m (the high-high trip is at 4.60 m)."),
        StageSpec(name="pump_forced_on", title="Well pump switched to manual and forced on",
                  techniques=("T0855", "T0831", "T0836"), rule="ot.modbus.write_unauthorised",
                  description="P1.auto written 0, then the command coil written ON: the pump "
                  "runs whatever the level."),
        StageSpec(name="valve_closed", title="Treatment valve closed with an S7 write",
                  techniques=("T0855", "T0836", "T0831"), rule="ot.s7.write_unauthorised",
                  description="OFFICE-PC-11 writes 0.0 to V1.position in DB1 of PLC-TREAT: "
                  "nothing leaves the raw water tank."),
    )

    requires = ("OFFICE-PC-11", "PLC-INTAKE", "PLC-TREAT")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        pc = ctx.asset("OFFICE-PC-11")
        plc = ctx.asset("PLC-INTAKE")
        treat = ctx.asset("PLC-TREAT")
        process = process_of(ctx)
        start = point(ctx, plc.name, "P1.start_level", "holding")
        stop = point(ctx, plc.name, "P1.stop_level", "holding")
        auto = point(ctx, plc.name, "P1.auto", "holding")
        coil = point(ctx, plc.name, "P1.command", "coil")
        valve = point(ctx, treat.name, "V1.position", "db")

        with self.stage(ctx, "register_enumeration", pc, plc):
            conv = ctx.tcp(pc, plc, 502)
            mb = ModbusClient(conv, plant_of(ctx).assets[plc.name].unit,
                              tid=ctx.rnd.getrandbits(12))
            for address in range(120):
                if address < _REGISTERS:
                    mb.read_holding(address, [_register(ctx, plc.name, address)])
                else:
                    mb.exception(struct.pack(">BHH", 3, address, 1), 2)
                conv.ts += 0.02
        yield after(ctx, conv, 30.0)

        with self.stage(ctx, "setpoint_change", pc, plc):
            resume(ctx, conv)
            lo, hi = 4.70, 4.95
            mb.write_registers(start.address, [round(lo * start.scale), round(hi * stop.scale)])
            process.write("P1.stop_level", hi)
            process.write("P1.start_level", lo)
        yield after(ctx, conv, 20.0)

        with self.stage(ctx, "pump_forced_on", pc, plc):
            resume(ctx, conv)
            mb.write_register(auto.address, 0)
            process.write("P1.auto", 0)
            conv.ts += 0.5
            mb.write_coil(coil.address, True)
            process.write("P1.command", 1)
            conv.close()
        yield after(ctx, conv, 25.0)

        with self.stage(ctx, "valve_closed", pc, treat):
            conv = ctx.tcp(pc, treat, 102)
            s7_connect(conv)
            s7_write_real(conv, 0x0301, valve.db, valve.address, 0.0)
            process.write("V1.position", 0.0)
            conv.close()
        yield after(ctx, conv, 5.0)


def _register(ctx: ScenarioContext, asset: str, address: int) -> int:
    """What the PLC answers for a holding register: the scaled value the process reports."""
    for p in plant_of(ctx).assets[asset].points:
        if p.space == "holding" and p.address == address:
            value = process_of(ctx).reported(p.tag) * p.scale
            return max(0, min(0xFFFF, round(value)))
    return 0

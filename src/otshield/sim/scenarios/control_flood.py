"""Denial of service on the control network from a compromised historian.

The story (Industroyer's SIPROTEC denial-of-service module, the 2015 and 2016 Ukrainian grid
attacks, and the many PLCs whose Ethernet modules lock up under load): the attacker holds the
historian, which may talk to the intake PLC. It first floods the PLC's Modbus port with
connection attempts until its connection backlog is full, then opens one connection and fires
Modbus requests back to back, far faster than any poll; the PLC answers "server busy" once its
queue overflows. Operators lose their view of the intake while it lasts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from otshield.sim.scenario import ScenarioContext, StageSpec
from otshield.sim.scenarios.base import LibraryScenario, after, plant_of
from otshield.sim.scenarios.wire_it import tcp_frame
from otshield.sim.scenarios.wire_ot import ModbusClient

__all__ = ["ControlFlood"]

_SYN, _ACK = 0x02, 0x10
SYNS = 1500
"""Connection attempts of the SYN flood (in about three seconds)."""
BACKLOG = 128
"""Half-open connections the PLC answers before its backlog is full."""
REQUESTS = 700
"""Modbus requests of the request flood (in about a second and a half)."""
ANSWERED = 250
"""Requests the PLC answers before it reports busy (exception 6)."""


class ControlFlood(LibraryScenario):
    id = "control_flood"
    title = "Flood on the control network"
    summary = (
        "The compromised historian floods the intake PLC's Modbus port with SYNs, then with "
        "back-to-back Modbus requests until the PLC reports busy.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="syn_flood", title="TCP SYN flood against the intake PLC",
                  techniques=("T0814",), rule="net.flood.tcp_syn",
                  description=f"{SYNS} connection attempts to port 502 of PLC-INTAKE in about "
                  f"three seconds from HIST-01 (a flooding tool that never completes a "
                  f"handshake); the PLC answers the first {BACKLOG}, then nothing."),
        StageSpec(name="modbus_request_flood", title="Modbus request flood",
                  techniques=("T0814",), rule="ot.modbus.request_flood",
                  description=f"{REQUESTS} read requests on one connection in about a second "
                  f"and a half; after {ANSWERED} the PLC answers exception 6 (server busy)."),
    )

    requires = ("HIST-01", "PLC-INTAKE")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        hist = ctx.asset("HIST-01")
        plc = ctx.asset("PLC-INTAKE")

        with self.stage(ctx, "syn_flood", hist, plc):
            t = ctx.now
            # below the ephemeral range, so no SYN lands on the historian's own poll connection
            ports = rnd.sample(range(1024, 49152), SYNS)
            for i, sport in enumerate(ports):
                isn = rnd.getrandbits(32)
                ctx.frame(t, tcp_frame(hist, plc, sport, 502, isn, 0, _SYN))
                if i < BACKLOG:  # answered until the backlog is full; never completed
                    ctx.frame(t + 0.0003, tcp_frame(plc, hist, 502, sport, rnd.getrandbits(32),
                                                    isn + 1, _SYN | _ACK))
                t += 0.002
        yield after(ctx, t, 40.0)

        with self.stage(ctx, "modbus_request_flood", hist, plc):
            conv = ctx.tcp(hist, plc, 502)
            mb = ModbusClient(conv, plant_of(ctx).assets[plc.name].unit,
                              tid=rnd.getrandbits(12))
            for i in range(REQUESTS):
                request = struct.pack(">BHH", 3, 0, 10)
                if i < ANSWERED:
                    mb.exchange(request, bytes([3, 20]) + rnd.randbytes(20), gap=0.0003)
                else:
                    mb.exception(request, 0x06)
            conv.close()
        yield after(ctx, conv, 5.0)


"""A rogue engineering laptop on the control network downloads a modified program.

The story (Stuxnet's delivery without the USB stick; the 2017 TRITON intrusion's engineering
session): a contractor's laptop carrying the attacker's project is plugged into a spare port of
the control switch. Its engineering software goes online with the treatment PLC: connects,
reads the CPU's identity and mode (SZL), puts it into STOP, downloads a modified OB1 and
activates it, and starts the CPU again. The new logic opens the treatment valve wide: the raw
water tank drains into the clear well.
"""

from __future__ import annotations

from collections.abc import Iterator

from otshield.sim.scenario import ScenarioContext, SimAsset, StageSpec
from otshield.sim.scenarios.base import LibraryScenario, after, plant_of, process_of, resume
from otshield.sim.scenarios.wire_it import arp_request
from otshield.sim.scenarios.wire_ot import (
    s7_connect,
    s7_download,
    s7_read_szl,
    s7_start,
    s7_stop,
    szl_records_identity,
)

__all__ = ["RogueEngineeringLaptop"]

LAPTOP_IP = "10.10.30.201"
LAPTOP_MAC = "54:e1:ad:3c:00:c9"
"""A Lenovo laptop (LCFC OUI) that nobody declared."""


class RogueEngineeringLaptop(LibraryScenario):
    id = "rogue_engineering_laptop"
    title = "Rogue engineering laptop downloads a modified PLC program"
    summary = (
        "An undeclared laptop on the control network identifies the treatment PLC, stops it, "
        "downloads and activates a modified OB1 and restarts it; the valve opens wide.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="connect_identify", title="Laptop connects and reads the PLC's identity",
                  techniques=("T0888", "T0868", "T0846"), rule="ot.s7.identity_read",
                  description="The laptop opens an S7 connection to PLC-TREAT and reads the "
                  "system status lists: module identification, component names and the mode."),
        StageSpec(name="plc_stop", title="PLC put into STOP for the download",
                  techniques=("T0858", "T0881"), rule="ot.s7.cpu_stop",
                  description="S7 PLC STOP from the laptop; the treatment valve holds."),
        StageSpec(name="program_download", title="Modified OB1 downloaded and activated",
                  techniques=("T0843", "T0889"), rule="ot.s7.program_download",
                  description="Request download, the PLC fetches the block, download ended, "
                  "then PI _INSE activates the new OB1."),
        StageSpec(name="plc_start", title="PLC restarted with the modified logic",
                  techniques=("T0858",), rule="ot.s7.cpu_start",
                  description="PI service P_PROGRAM puts the CPU back into RUN; the new logic "
                  "drives the treatment valve to 100 %."),
    )

    requires = ("PLC-TREAT",)

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        laptop = ctx.add_host(SimAsset(name="ROGUE-LAPTOP", ip=LAPTOP_IP, mac=LAPTOP_MAC,
                                       zone="Control", level=1, kind="laptop",
                                       vendor="Lenovo", protocols=("s7comm",)))
        plc = ctx.asset("PLC-TREAT")
        process = process_of(ctx)

        with self.stage(ctx, "connect_identify", laptop, plc):
            ctx.frame(ctx.now, arp_request(laptop, plc.ip))
            conv = ctx.tcp(laptop, plc, 102)
            s7_connect(conv)
            answers = szl_records_identity("6ES7 315-2EH14-0AB0", "PLC-TREAT",
                                           "S C-X4U21937" + str(rnd.randrange(10)))
            for seq, (szl_id, (length, records)) in enumerate(answers.items(), start=1):
                s7_read_szl(conv, seq, szl_id, length, records)
                conv.ts += 0.3
        yield after(ctx, conv, 20.0)

        with self.stage(ctx, "plc_stop", laptop, plc):
            resume(ctx, conv)
            s7_stop(conv, 0x0201)
            process.stop_controller(plc.name)
        yield after(ctx, conv, 15.0)

        with self.stage(ctx, "program_download", laptop, plc):
            resume(ctx, conv)
            s7_download(conv, rnd, 0x0210, "OB", 1, size=680)
        yield after(ctx, conv, 10.0)

        with self.stage(ctx, "plc_start", laptop, plc):
            resume(ctx, conv)
            s7_start(conv, 0x0220)
            conv.close()
            process.start_controller(plc.name)
            process.write("V1.position", 100.0)
        yield after(ctx, conv, 5.0)

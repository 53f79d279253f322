"""Vendor remote access from the internet that bypasses the jump host.

The story (the 2021 Oldsmar water plant's TeamViewer, and the integrators' port forwards that
CISA advisories keep finding): a system integrator, tired of the jump host, has left a remote
support tool on the engineering workstation and a firewall port forward to its RDP port. The
support tool phones home to its cloud service; then someone (the vendor, or whoever stole the
vendor's password) logs in over RDP straight from the internet, and from the workstation reads
the treatment PLC's program out: OB1, the function and the data block.
"""

from __future__ import annotations

from collections.abc import Iterator

from otshield.demo import dns_answer, dns_query, tls_client_hello
from otshield.sim.payloads import tls_application_data, tls_server_hello
from otshield.sim.scenario import ScenarioContext, StageSpec
from otshield.sim.scenarios.base import (
    LibraryScenario,
    after,
    ephemeral_port,
    internet_host,
    plant_of,
    resume,
)
from otshield.sim.scenarios.wire_it import dns_exchange, rdp_connect
from otshield.sim.scenarios.wire_ot import s7_connect, s7_upload

__all__ = ["VendorRemoteAccess"]

_TOOL = "router11.teamviewer.com"


class VendorRemoteAccess(LibraryScenario):
    id = "vendor_remote_access"
    title = "Vendor remote access from the internet, bypassing the jump host"
    summary = (
        "A remote support tool on the engineering workstation calls its cloud service, an "
        "internet address logs in over RDP through a port forward, and the PLC's program is "
        "read out from the workstation.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="remote_tool_contact", title="Remote support tool calls its cloud "
                  "service", techniques=("T0822", "T0869", "T0885", "T0883"),
                  rule="it.remote.access_tool",
                  description=f"EWS-01 resolves {_TOOL} and opens a TLS session to it."),
        StageSpec(name="rdp_from_internet", title="RDP login from an internet address",
                  techniques=("T0822", "T0883", "T0886"),
                  rule="it.remote.session_from_internet",
                  description="An internet address connects to EWS-01's RDP port through a "
                  "firewall port forward: not through JUMP-01."),
        StageSpec(name="program_upload", title="PLC program read out from the workstation",
                  techniques=("T0845",), rule="ot.s7.program_upload",
                  description="From the remote session EWS-01 uploads OB1, FC1 and DB1 from "
                  "PLC-TREAT."),
    )

    requires = ("EWS-01", "DC-01", "PLC-TREAT")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        ews = ctx.asset("EWS-01")
        dc = ctx.asset("DC-01")
        cloud = internet_host(ctx, "remote-tool-cloud", "37.252.227.51")
        vendor = internet_host(ctx, "vendor", "62.159.92.45")
        plc = ctx.asset("PLC-TREAT")

        with self.stage(ctx, "remote_tool_contact", ews, cloud):
            qid, sport = rnd.getrandbits(16), ephemeral_port(ctx, ews)
            dns_exchange(ctx, ews, dc, sport, dns_query(qid, _TOOL),
                         dns_answer(qid, _TOOL, cloud.ip))
            conv = ctx.tcp(ews, cloud, 443)
            conv.send(True, tls_client_hello(_TOOL, rnd))
            conv.send(False, tls_server_hello(rnd))
            for _ in range(3):
                conv.send(True, tls_application_data(rnd, 120))
                conv.send(False, tls_application_data(rnd, 300))
                conv.ts += 1.0
            conv.close()
        yield after(ctx, conv, 60.0)

        with self.stage(ctx, "rdp_from_internet", vendor, ews):
            conv = ctx.tcp(vendor, ews, 3389)
            rdp_connect(conv, "integrator")
            conv.ts += 30.0  # the session (TLS) goes on
        yield after(ctx, conv, 20.0)

        with self.stage(ctx, "program_upload", ews, plc):
            s7 = ctx.tcp(ews, plc, 102)
            s7_connect(s7)
            ref = 0x0500
            for block, number in (("OB", 1), ("FC", 1), ("DB", 1)):
                ref = s7_upload(s7, rnd, ref, block, number, size=420)
                s7.ts += 0.5
            s7.close()
        yield after(ctx, s7, 10.0)
        resume(ctx, conv)
        conv.close()
        yield after(ctx, conv, 1.0)

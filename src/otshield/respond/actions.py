"""The automated actions of playbook steps: notifications (queued in the outbox, delivered with
retries) and firewall rules proposed for review.

Firewall rules are never applied by otshield: on an OT network a wrong drop rule stops a
process as surely as the attacker would. The nftables proposal is written beside the run for an
engineer to review (``nft -c -f`` checks it) and apply through the plant's change process.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from otshield.errors import OtshieldError
from otshield.respond.cacao.model import Step
from otshield.respond.incident import Incident
from otshield.respond.notify.message import new_notification
from otshield.respond.notify.outbox import Outbox
from otshield.respond.runner import Run, describe_assets

__all__ = ["ResponseExecutor", "nftables_block_rules", "render"]

_PLACEHOLDER = re.compile(r"\{(incident_id|incident_title|assets|severity|playbook|step)\}")


def render(template: str, run: Run, step: Step) -> str:
    """Fill ``{incident_id}``, ``{incident_title}``, ``{assets}``, ``{severity}``,
    ``{playbook}``, ``{step}`` (nothing else is interpreted)."""
    inc = run.incident
    values = {"incident_id": inc.id, "incident_title": inc.title,
              "assets": describe_assets(inc.assets), "severity": inc.severity,
              "playbook": run.playbook_name, "step": step.name}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def nftables_block_rules(incident: Incident, run_id: str) -> str:
    """An nftables table dropping the incident's attackers in forwarding, for review."""
    v4: list[str] = []
    v6: list[str] = []
    for a in incident.attackers:
        try:
            addr = ipaddress.ip_address(a.ip)
        except ValueError:
            continue
        (v4 if addr.version == 4 else v6).append(str(addr))
    if not v4 and not v6:
        raise OtshieldError("the incident names no attacker address to block")
    table = "otshield_" + re.sub(r"[^a-z0-9_]", "_", incident.id.lower())[:40]
    lines = [
        f"# Proposed by otshield for incident {incident.id} (run {run_id}); REVIEW before use.",
        f"# {incident.title}",
        "# Apply on the zone firewall with: nft -f <this file>   (check first: nft -c -f)",
        f"table inet {table} {{",
        "  chain forward {",
        "    type filter hook forward priority -10; policy accept;",
    ]
    for fam, addrs in (("ip", v4), ("ip6", v6)):
        if addrs:
            group = ", ".join(addrs)
            lines.append(f"    {fam} saddr {{ {group} }} counter drop comment \"incident "
                         f"{incident.id}: from attacker\"")
            lines.append(f"    {fam} daddr {{ {group} }} counter drop comment \"incident "
                         f"{incident.id}: to attacker\"")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


class ResponseExecutor:
    """Executes automated steps: queues notifications, writes firewall proposals."""

    def __init__(self, outbox: Outbox, out_dir: Path | None = None) -> None:
        self.outbox = outbox
        self.out_dir = out_dir

    def page(self, run: Run, step: Step, role: str) -> str:
        """Escalation: e-mail the role that must now take over an unacknowledged step."""
        n = new_notification(
            "email", f"ESCALATION: '{step.name}' not acknowledged ({run.incident.id})",
            f"Incident {run.incident.id}: {run.incident.title}\nPlaybook: {run.playbook_name}\n"
            f"Step '{step.name}' has not been acknowledged in time. Take it over or assign it.",
            severity="critical", to_role=role, incident_id=run.incident.id, run_id=run.id,
            step=step.id)
        self.outbox.enqueue(n)
        return f"email notification {n.id} queued"

    def execute(self, run: Run, step: Step) -> str:
        action = step.action
        if action is None:
            raise OtshieldError(f"{step.name!r} has no automated action")
        if action.kind in ("email", "webhook", "syslog"):
            n = new_notification(
                action.kind, render(action.subject or step.name, run, step),
                render(action.message or run.incident.title, run, step),
                severity=action.severity, to_role=action.to_role,
                incident_id=run.incident.id, run_id=run.id, step=step.id)
            self.outbox.enqueue(n)
            return f"{action.kind} notification {n.id} queued"
        if action.kind == "nftables":
            rules = nftables_block_rules(run.incident, run.id)
            if self.out_dir is None:
                return rules
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / f"{run.id}-block.nft"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(rules, encoding="utf-8")
            tmp.replace(path)
            return f"firewall proposal for review: {path}"
        raise OtshieldError(f"unknown action kind {action.kind!r}")

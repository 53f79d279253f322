"""``otshield policy check|propose|firewall``: the zones-and-conduits policy on the command line.

    otshield policy check plant.yaml                      errors and warnings with lines
    otshield policy propose day1.pcap [--site plant.yaml] -o policy.yaml
    otshield policy firewall policy.yaml -o rules.nft      nftables rules for review

Exit status: ``check`` 2 when the policy has errors, else 0; the others 0 on success and 2
on usage or configuration errors (the CLI's usual handling of ``OtshieldError``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from otshield.errors import ConfigError

__all__ = ["register", "write_atomically"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "policy", help="zones-and-conduits policy (IEC 62443-3-2): check, propose, firewall",
        description="The zones-and-conduits policy is the site file with conduits: which zone "
        "may talk to which, over which protocols and function classes. `check` lints it, "
        "`propose` writes one from captures, `firewall` turns one into nftables rules.")
    verbs = p.add_subparsers(dest="policy_verb", metavar="VERB", required=True)

    c = verbs.add_parser("check", help="lint a policy: errors and warnings with file:line",
                         description="Check a policy (site) file. Exit 2 when it has errors, "
                         "0 otherwise (warnings included).")
    c.add_argument("file", metavar="FILE", help="policy (site) YAML file")
    c.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    c.set_defaults(func=_cmd_check)

    r = verbs.add_parser("propose", help="write a policy from observed traffic",
                         description="Decode captures and write a policy allowing what they "
                         "show: zones from the site file (or proposed per subnet and Purdue "
                         "level), one conduit per zone pair and function-class set, with "
                         "comments counting the flows and requests behind each entry. Review "
                         "it before use: it describes what the network did, not what it "
                         "should do.")
    r.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap/pcapng (.gz) files")
    r.add_argument("--site", metavar="FILE", help="site file giving the zones (recommended)")
    r.add_argument("-o", "--output", metavar="FILE", default="-",
                   help="where to write the policy (default: standard output)")
    r.set_defaults(func=_cmd_propose)

    f = verbs.add_parser("firewall", help="turn a policy into firewall rules for review",
                         description="Write the policy as an nftables ruleset: zone address "
                         "sets, one accept rule group per conduit (the protocols' server "
                         "ports), established/related accepted, everything else counted, "
                         "logged and dropped. For review; function classes cannot be "
                         "enforced by a port filter.")
    f.add_argument("file", metavar="FILE", help="policy (site) YAML file")
    f.add_argument("--format", choices=("nftables",), default="nftables")
    f.add_argument("-o", "--output", metavar="FILE", default="-",
                   help="where to write the rules (default: standard output)")
    f.set_defaults(func=_cmd_firewall)


def write_atomically(target: str, text: str, out: Console) -> None:
    """Write ``text`` to ``target`` (``-``: standard output) through a temporary file in the
    same directory, so an existing file is replaced whole or not at all."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.policy.loader import lint_policy

    findings = lint_policy(Path(args.file))
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    for finding in findings:
        if args.quiet and finding.severity != "error":
            continue
        colour = "red" if finding.severity == "error" else "yellow"
        out.print(f"{escape(finding.origin)}:{finding.line}: [{colour}]{finding.severity}[/]: "
                  f"{escape(finding.message)}", highlight=False, soft_wrap=True)
    summary = (f"{args.file}: {len(errors)} error{'s' if len(errors) != 1 else ''}, "
               f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}")
    if not errors:
        from otshield.policy.loader import load_policy

        policy = load_policy(Path(args.file))
        summary += (f"; {len(policy.zones)} zones, {len(policy.conduits)} conduits, "
                    f"{len(policy.jump_hosts)} jump hosts")
    err.print(escape(summary), highlight=False)
    return 2 if errors else 0


def _cmd_propose(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.policy.propose import propose_policy

    for capture in args.captures:
        if not Path(capture).is_file():
            raise ConfigError(f"{capture}: no such capture file")
    proposal = propose_policy([Path(c) for c in args.captures],
                              Path(args.site) if args.site else None)
    write_atomically(args.output, proposal.text, out)
    for problem in proposal.problems:
        err.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    where = "" if args.output == "-" else f" to {args.output}"
    err.print(escape(f"wrote a policy{where}: {proposal.zones} zones ({proposal.proposed_zones} "
                     f"proposed), {proposal.conduits} conduits from {proposal.flows:,} flows "
                     f"in {proposal.packets:,} packets; review it before use"), highlight=False)
    return 0


def _cmd_firewall(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.policy.firewall import render_firewall
    from otshield.policy.loader import load_policy

    policy = load_policy(Path(args.file))
    write_atomically(args.output, render_firewall(policy, args.format), out)
    if args.output != "-":
        err.print(escape(f"wrote {args.format} rules for {len(policy.conduits)} conduits to "
                         f"{args.output}: review and test before loading (nft -c -f "
                         f"{args.output})"), highlight=False)
    return 0

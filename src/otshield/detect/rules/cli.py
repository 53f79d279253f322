"""``otshield rules list|check|test``: see, lint and test detection rules.

    otshield rules list [--rules P] [--format table|json|markdown]
    otshield rules check [--rules P]     # exit 0 fine, 2 problems (each printed file:line)
    otshield rules test [--rules P]      # run every rule's examples; exit 1 when one fails

``list --format markdown`` prints the rule catalogue (description, response, ATT&CK techniques
with their names), the source of docs/rule-pack.md.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from otshield.detect.alert import SEVERITIES, severity_rank
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.detect.rules.loader import BUILTIN_DIR, load_rules
from otshield.detect.rules.model import Rule, RuleSet

__all__ = ["catalogue_markdown", "register", "rules_json"]


def register(sub: Any) -> None:
    """Add ``rules`` and its verbs to the ``otshield`` sub-parsers."""
    rules = sub.add_parser("rules", help="list, check and test detection rules",
                           description="Detection rules: the built-in pack and your own "
                           "files (docs/rules.md). 'list' shows them, 'check' loads and lints "
                           "them (exit 2 on problems), 'test' runs every rule's examples "
                           "(exit 1 when one fails).")
    verbs = rules.add_subparsers(dest="rules_verb", metavar="VERB", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rules", action="append", default=[], metavar="PATH",
                       help="rule file or directory, added to the built-in pack (repeatable)")
        p.add_argument("--no-builtin", action="store_true",
                       help="only the rules given with --rules")

    lister = verbs.add_parser("list", help="list the rules (id, severity, techniques, title)")
    common(lister)
    lister.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                        help="markdown: the rule catalogue with descriptions and responses")
    lister.set_defaults(func=_cmd_list)
    checker = verbs.add_parser("check", help="load and lint rules; print every problem "
                               "(file:line)")
    common(checker)
    checker.set_defaults(func=_cmd_check)
    tester = verbs.add_parser("test", help="run every rule's examples")
    common(tester)
    tester.add_argument("--rule", action="append", default=[], metavar="ID",
                        help="only rules whose id starts with this (repeatable)")
    tester.set_defaults(func=_cmd_test)


def _load(args: argparse.Namespace, strict: bool) -> RuleSet:
    return load_rules([Path(p) for p in args.rules], builtin=not args.no_builtin,
                      strict=strict)


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _cmd_list(args: argparse.Namespace, out: Console, err: Console) -> int:
    ruleset = _load(args, strict=False)  # unreadable paths: main() reports them, exit 2
    for problem in ruleset.errors:
        _say(err, problem)
    rules = sorted(ruleset, key=lambda r: (-severity_rank(r.severity), r.id))
    if args.format == "json":
        out.print_json(json.dumps(rules_json(rules)))
    elif args.format == "markdown":
        _say(out, catalogue_markdown(sorted(ruleset, key=lambda r: r.id)))
    else:
        table = Table(show_header=True, header_style="bold")
        for column in ("id", "severity", "techniques", "title"):
            table.add_column(column)
        for rule in rules:
            table.add_row(rule.id + ("" if rule.enabled else " (disabled)"), rule.severity,
                          ", ".join(rule.techniques), rule.title)
        out.print(table)
        _say(err, f"{len(rules)} rules")
    return 2 if ruleset.errors else 0


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    ruleset = _load(args, strict=False)  # unreadable paths: main() reports them, exit 2
    for problem in ruleset.errors:
        _say(out, problem)
    files = len(ruleset.files)
    if ruleset.errors:
        _say(err, f"{len(ruleset.errors)} problem(s); {len(ruleset)} rules in {files} file(s) "
                  "loaded without problems")
        return 2
    _say(err, f"{len(ruleset)} rules in {files} file(s): no problems")
    return 0


def _cmd_test(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.detect.rules.examples import run_examples

    ruleset = _load(args, strict=False)  # unreadable paths: main() reports them, exit 2
    for problem in ruleset.errors:
        _say(out, problem)
    rules = [r for r in ruleset if not args.rule or r.id.startswith(tuple(args.rule))]
    failures = run_examples(rules)
    for failure in failures:
        _say(out, str(failure))
    examples = sum(len(r.examples) for r in rules)
    _say(err, f"{len(rules)} rules, {examples} examples: {examples - len(failures)} passed, "
              f"{len(failures)} failed" + (f"; {len(ruleset.errors)} rule file problem(s)"
                                           if ruleset.errors else ""))
    if ruleset.errors:
        return 2
    return 1 if failures else 0


# -- output forms ----------------------------------------------------------------------------------

def rules_json(rules: list[Rule]) -> list[dict[str, Any]]:
    return [{
        "id": r.id, "title": r.title, "severity": r.severity, "confidence": r.confidence,
        "techniques": list(r.techniques), "tactics": list(r.tactics),
        "datasets": list(r.datasets), "kind": r.kind, "tags": list(r.tags),
        "enabled": r.enabled, "builtin": r.builtin, "file": _shown_path(r.origin),
        "line": r.line, "description": r.description, "response": r.response,
    } for r in rules]


def _shown_path(origin: str) -> str:
    try:
        return str(Path(origin).resolve().relative_to(BUILTIN_DIR.parent.parent.parent.parent))
    except ValueError:
        return origin


def _oneline(text: str) -> str:
    return " ".join(text.split())


def _kind_text(rule: Rule) -> str:
    if rule.threshold is not None:
        t = rule.threshold
        what = f"{t.count} distinct `{t.distinct}`" if t.distinct else f"{t.count} events"
        by = f" per {', '.join(f'`{b}`' for b in t.by)}" if t.by else ""
        return f"threshold: {what} within {_seconds(t.window)}{by}"
    if rule.sequence is not None:
        s = rule.sequence
        steps = " then ".join(", ".join(_datasets(step.match)) for step in s.steps)
        return f"sequence: {steps} within {_seconds(s.within)} on the same asset"
    return "alerts on each matching event"


def _datasets(block: dict[str, Any]) -> list[str]:
    value = block.get("dataset")
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _seconds(value: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{unit}"
    return f"{value:g}s"


def catalogue_markdown(rules: list[Rule], attack: AttackTable | None = None) -> str:
    """The rule catalogue in Markdown: a summary table, then each rule with why it matters and
    what to do."""
    table = attack if attack is not None else load_attack_table()
    lines = ["# Rule catalogue", "",
             "Generated by `otshield rules list --format markdown` from the rule files; do not "
             "edit by hand. The rule language is described in [rules.md](rules.md).", ""]
    counts = Counter(r.severity for r in rules)
    lines.append(f"{len(rules)} rules: " + ", ".join(
        f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]) + ".")
    lines += ["", "| id | severity | techniques | title |", "|---|---|---|---|"]
    for r in rules:
        lines.append(f"| [`{r.id}`](#{_anchor(r.id)}) | {r.severity} | "
                     f"{', '.join(r.techniques) or '-'} | {_cell(r.title)} |")
    groups: dict[str, list[Rule]] = {}
    for r in rules:
        groups.setdefault(".".join(r.id.split(".")[:2]), []).append(r)
    for group, members in groups.items():
        lines += ["", f"## {group}"]
        for r in members:
            lines += ["", f"### {r.id}", "", f"**{_cell(r.title)}**", ""]
            facts = [f"severity **{r.severity}**", f"confidence {r.confidence}",
                     f"events: {', '.join(f'`{d}`' for d in r.datasets)}", _kind_text(r)]
            if r.tags:
                facts.append("tags: " + ", ".join(r.tags))
            if not r.enabled:
                facts.append("**disabled by default**")
            lines.append("- " + "\n- ".join(facts))
            if r.techniques:
                names = []
                for tid in r.techniques:
                    tech = table.get(tid)
                    names.append(f"[{tid} {tech.name}]({tech.url})" if tech and tech.url
                                 else tid)
                lines.append("- ATT&CK for ICS: " + ", ".join(names)
                             + (f" (tactics: {', '.join(r.tactics)})" if r.tactics else ""))
            lines += ["", f"*Why it matters.* {_oneline(r.description)}", "",
                      f"*What to do.* {_oneline(r.response)}"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return _oneline(text).replace("|", "\\|")


def _anchor(rule_id: str) -> str:
    """GitHub's heading anchor of ``### <rule id>``."""
    return "".join(c for c in rule_id.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")

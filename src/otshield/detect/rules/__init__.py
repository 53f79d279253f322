"""YAML detection rules: the language (docs/rules.md), its loader and the engine running it.

    ruleset = load_rules([Path("site-rules.yaml")])     # built-in pack + the user's files
    engine = RuleEngine(ruleset, context, sink)          # a Detector for the pipeline
    failures = run_examples(ruleset)                     # every rule's own examples
      (from otshield.detect.rules.examples; not imported here so that
       ``python -m otshield.detect.rules.examples`` runs it cleanly)
"""

from __future__ import annotations

from otshield.detect.rules.engine import RuleEngine
from otshield.detect.rules.loader import (
    BUILTIN_DIR,
    RuleLoadError,
    forget_loaded_rules,
    load_rules,
    parse_rules,
)
from otshield.detect.rules.model import Rule, RuleSet

__all__ = ["BUILTIN_DIR", "Rule", "RuleEngine", "RuleLoadError", "RuleSet",
           "forget_loaded_rules", "load_rules", "parse_rules"]

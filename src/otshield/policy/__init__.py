"""Zones-and-conduits policy (IEC 62443-3-2): load and lint it, check traffic against it,
propose one from observed traffic, and turn one into firewall rules for review.

    policy = load_policy(Path("plant.yaml"))
    detector = PolicyDetector(policy, context, pipeline.alert_sink)

The policy file is the site file (:mod:`otshield.inventory.site`) with ``conduits``,
``remote_access`` and ``defaults`` added; :mod:`otshield.policy.model` describes the format.
"""

from __future__ import annotations

from otshield.policy.detector import RULES, PolicyDetector, Violation
from otshield.policy.loader import lint_policy, lint_text, load_policy, parse_policy
from otshield.policy.model import FUNCTION_CLASSES, Conduit, Finding, Policy

__all__ = [
    "FUNCTION_CLASSES",
    "RULES",
    "Conduit",
    "Finding",
    "Policy",
    "PolicyDetector",
    "Violation",
    "lint_policy",
    "lint_text",
    "load_policy",
    "parse_policy",
]

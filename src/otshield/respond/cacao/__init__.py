"""OASIS CACAO Security Playbooks v2.0: validation, a typed view for the runner, export."""

from otshield.respond.cacao.validate import Problem, validate_playbook

__all__ = ["Problem", "validate_playbook"]

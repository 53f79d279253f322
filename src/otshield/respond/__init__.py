"""Incident response: alerts correlated into incidents, cases, OASIS CACAO v2.0 playbooks with
OT safety gates, and notifications."""

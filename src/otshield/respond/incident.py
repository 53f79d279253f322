"""The incident as response sees it: what happened (alerts, techniques, tactics in order), to
which assets (with their Purdue level and safety tag), who the attackers are, and why these
alerts were joined. Correlation (:mod:`otshield.respond.correlate`) builds them; playbooks,
cases and notifications read them."""

from __future__ import annotations

import msgspec

__all__ = ["Incident", "IncidentAsset"]


class IncidentAsset(msgspec.Struct, frozen=True, kw_only=True):
    ip: str
    name: str = ""
    zone: str = ""
    level: int | None = None
    roles: tuple[str, ...] = ()
    safety: bool = False
    attacker: bool = False
    """The asset acted as the source of the incident's alerts (and never as a target)."""

    @property
    def is_ot(self) -> bool:
        """Purdue level 0-2 or safety-tagged: actions on it pass the OT safety gate."""
        return self.safety or (self.level is not None and self.level <= 2)


class Incident(msgspec.Struct, kw_only=True):
    id: str
    title: str
    severity: str
    score: float = 0.0
    """0-100: alert severity weighed by OT impact (see correlate)."""
    status: str = "open"
    first_seen: float = 0.0
    last_seen: float = 0.0
    alert_ids: list[str] = []
    rules: list[str] = []
    techniques: list[str] = []
    tactics: list[str] = []
    """ATT&CK for ICS tactics in the order the incident progressed through them."""
    assets: list[IncidentAsset] = []
    explanation: list[str] = []
    """Why the alerts were joined ("joined because ..."), one line per join."""

    @property
    def ot_assets(self) -> list[IncidentAsset]:
        return [a for a in self.assets if a.is_ot and not a.attacker]

    @property
    def attackers(self) -> list[IncidentAsset]:
        return [a for a in self.assets if a.attacker]

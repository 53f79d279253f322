"""The C12.22 record: one when the flow's first message is seen, one summary at its end."""

from __future__ import annotations

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import IdentifyEvent, Summary, Unit, fact_str, identify_fields

__all__ = ["C1222Event", "build"]


class C1222Event(IdentifyEvent, frozen=True, tag="c1222", rename=ecs()):
    """ANSI C12.22 on a flow; ``message`` is the EPSEM service (``full_read``, ``logon``...),
    ``response_ok`` / ``response_error``, or ``encrypted``."""

    called_ap_title: str | None = None
    calling_ap_title: str | None = None
    """AP titles of the first message (dotted OID; relative ones start with a dot)."""
    security_mode: str | None = None
    authentication_present: bool = False
    """A calling authentication value was sent (its content is not kept)."""


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> C1222Event:
    facts = summary.client or summary.server
    return C1222Event(**fields, **identify_fields(phase, first, summary),
                      called_ap_title=fact_str(facts, "called_ap_title"),
                      calling_ap_title=fact_str(facts, "calling_ap_title"),
                      security_mode=fact_str(facts, "security_mode"),
                      authentication_present=facts.get("authentication_present") is True)

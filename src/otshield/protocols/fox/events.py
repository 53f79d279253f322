"""The Niagara Fox record: one when the flow's first message is seen, one summary at its end.
``client`` and ``server`` are what each side's hello said about itself."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from otshield.events import CommonFields, ecs
from otshield.protocols.identify import (
    FactValue,
    IdentifyEvent,
    Summary,
    Unit,
    fact_str,
    identify_fields,
)

__all__ = ["FoxEvent", "FoxHost", "build"]


class FoxHost(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """The fingerprint one side gave in its ``fox hello``."""

    fox_version: str | None = None
    host_name: str | None = None
    host_address: str | None = None
    app_name: str | None = None
    """``Workbench`` (engineering client) or ``Station`` (the controller)..."""
    app_version: str | None = None
    vm_name: str | None = None
    vm_version: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    station_name: str | None = None
    brand_id: str | None = None
    host_id: str | None = None
    language: str | None = None
    time_zone: str | None = None
    auth_method: str | None = None
    """From a ``fox challenge`` (``digest-md5``...)."""
    username: str | None = None


class FoxEvent(IdentifyEvent, frozen=True, tag="fox", rename=ecs()):
    """Niagara Fox on a flow."""

    client: FoxHost | None = None
    server: FoxHost | None = None


def _host(facts: Mapping[str, FactValue]) -> FoxHost | None:
    if not facts:
        return None
    return FoxHost(**{k: fact_str(facts, k) for k in FoxHost.__struct_fields__})


def build(fields: CommonFields, phase: str, first: Unit, summary: Summary) -> FoxEvent:
    return FoxEvent(**fields, **identify_fields(phase, first, summary),
                    client=_host(summary.client), server=_host(summary.server))

"""The ``powerlink`` event: an NMT command or request, a node's identity (IdentResponse), an
NMT state change of a node, or at the end a per-node, per-message-type summary."""

from __future__ import annotations

from otshield.events import LinkEvent, ecs

__all__ = ["PowerlinkEvent"]


class PowerlinkEvent(LinkEvent, frozen=True, tag="powerlink",
                     rename=ecs(kind="event.kind", function_class="event.action")):
    """``kind``: ``nmt_command``, ``nmt_request``, ``ident_response``, ``nmt_state_change``,
    ``summary``. Node ids: 240 is the managing node (MN), 255 broadcast."""

    kind: str
    message_type: str
    src_node: int
    dst_node: int | None = None
    """None in summaries and state changes (which are about the source node)."""
    function_class: str = "other"
    service: str | None = None
    nmt_command: str | None = None
    nmt_state: str | None = None
    previous_nmt_state: str | None = None
    device_type: int | None = None
    device_profile: str | None = None
    vendor_id: int | None = None
    product_code: int | None = None
    revision: int | None = None
    serial_number: int | None = None
    epl_version: str | None = None
    feature_flags: int | None = None
    mtu: int | None = None
    ip: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    host_name: str | None = None
    services: tuple[str, ...] = ()
    """Summary of SoA/ASnd frames: ``<requested or sent service>:<count>``."""
    frames: int = 0
    bytes: int = 0
    first_ts: float | None = None

"""The ``pnio_cm`` event: one PROFINET IO context-manager call (DCE/RPC request + response)."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["PnioCmEvent"]


class PnioCmEvent(Event, frozen=True, tag="pnio_cm",
                  rename=ecs(function_class="event.action", result="event.outcome")):
    """src is the caller (IO controller for Connect/Read/Write, the device for
    ApplicationReady). ``result``: ``ok``, ``error`` (see ``pnio_status``), ``fault``,
    ``reject``, ``nocall`` or ``unanswered``."""

    operation: str
    """``connect``, ``release``, ``read``, ``write``, ``control``, ``read_implicit`` (or
    ``epm_lookup``..., ``opnum_<n>``)."""
    opnum: int
    interface: str
    """``device``, ``controller``, ``supervisor``, ``parameter_server``, ``epmap`` or the UUID."""
    activity_uuid: str
    sequence: int
    function_class: str
    result: str
    object_vendor_id: int | None = None
    """Vendor id, device id and instance from the RPC object UUID (DEA00000-6C97-11D1-8271-
    IIIIDDDDVVVV): who the device says it is."""
    object_device_id: int | None = None
    object_instance: int | None = None
    pnio_status: str | None = None
    """PNIOStatus of the answer when not zero, as hex (``0xdb814004``)."""
    pnio_error: str | None = None
    """The same by name: ``connect/pnio code1=0x40 code2=0x04``."""
    ar_type: str | None = None
    ar_uuid: str | None = None
    session_key: int | None = None
    cm_initiator_mac: str | None = None
    station_name: str | None = None
    iocr_count: int | None = None
    api: int | None = None
    slot: int | None = None
    subslot: int | None = None
    index: int | None = None
    index_name: str | None = None
    record_length: int | None = None
    """Requested (read) or written (write) length; the response's for a read."""
    control_command: tuple[str, ...] | None = None
    im_vendor_id: int | None = None
    im_order_id: str | None = None
    im_serial_number: str | None = None
    im_hardware_revision: int | None = None
    im_software_revision: str | None = None
    im_profile_id: int | None = None
    response_frame: int | None = None

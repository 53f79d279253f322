"""The ``ethercat`` event: an AL Control write (a requested state change of slaves) or, at the
end of input, a summary of the datagrams of one command sent by one MAC."""

from __future__ import annotations

from otshield.events import LinkEvent, ecs

__all__ = ["EthercatEvent"]


class EthercatEvent(LinkEvent, frozen=True, tag="ethercat",
                    rename=ecs(kind="event.kind", function_class="event.action")):
    """``kind``: ``al_control`` or ``summary``."""

    kind: str
    command: str
    """APRD, FPWR, LRW...; ``frame_type_<n>`` in a summary of non-command frames."""
    function_class: str
    datagram_index: int | None = None
    address_mode: str | None = None
    """``position`` (auto-increment ADP), ``station`` (configured address), ``broadcast``."""
    adp: int | None = None
    ado: int | None = None
    requested_state: str | None = None
    """AL Control: INIT, PREOP, BOOT, SAFEOP, OP (or ``state_<n>``)."""
    error_ack: bool | None = None
    working_counter: int | None = None
    """On the returned frame: how many slaves executed the write; None if not seen."""
    result: str | None = None
    """``acknowledged`` (wkc > 0), ``not_acknowledged`` (returned with wkc 0), ``unconfirmed``
    (return frame never seen)."""
    datagrams: int = 0
    bytes: int = 0
    zero_wkc: int = 0
    """Summary: datagrams seen with working counter 0."""
    first_ts: float | None = None

"""GOOSE event records.

- ``goose``: one message that starts a new state (new stNum), the first message of a publisher,
  or a message that broke the retransmission rules (its ``anomalies`` say which). Plain
  retransmissions (same stNum, next sqNum, same data) are only counted: a publisher repeats its
  state every few milliseconds after a change and every few seconds at rest.
- ``goose_publisher``: per publisher (source MAC, APPID, gocbRef), at the end of input, when
  it is evicted, and every ``REPORT_INTERVAL`` seconds while it runs: counters of messages,
  retransmissions, state changes and anomalies.
- ``goose_mgmt``: one GSE management request or response (Ethertype 0x88B9).

``function_class`` of a ``goose`` event is "write": a GOOSE state change is a value pushed to
subscribers that act on it (breaker trips, interlocks), which is what "write" means for the
rule engine; telling trips ("control") from other datasets needs the substation configuration
(SCL), which a passive decoder does not have.
"""

from __future__ import annotations

import msgspec

from otshield.events import LinkEvent, ecs

__all__ = ["GooseEvent", "GooseMgmtEvent", "GoosePublisherEvent", "GooseValue"]


class GooseValue(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One allData entry. ``path`` is its position (``"3"``, or ``"3.1"`` inside the structure
    at 3); ``type`` the MMS Data type; ``value`` the value: bool, int, float, a ``"0101"`` bit
    string, hexadecimal for octet strings, ISO 8601 for times, the member count for a structure
    or array."""

    path: str
    type: str
    value: bool | int | float | str | None = None


class GooseEvent(LinkEvent, frozen=True, kw_only=True, tag="goose", rename=ecs()):
    """A GOOSE message that changed state, was the first of its publisher, or broke a rule."""

    appid: int
    gocb_ref: str
    time_allowed_to_live: int
    """Milliseconds a subscriber waits for the next message before declaring the stream lost."""
    dat_set: str
    go_id: str = ""
    t: str
    """Time of the last state change (ISO 8601, UTC)."""
    t_epoch: float
    t_quality: int = 0
    """UtcTime quality octet: 0x80 leap seconds known, 0x40 clock failure, 0x20 clock not
    synchronised, low 5 bits the accuracy."""
    st_num: int
    sq_num: int
    simulation: bool = False
    """The PDU's simulation flag (``test`` in edition 1)."""
    simulated: bool = False
    """The header's Simulate bit (Reserved 1, bit 15)."""
    reserved1: int = 0
    reserved2: int = 0
    conf_rev: int
    nds_com: bool = False
    """Needs commissioning: the control block's configuration is incomplete."""
    num_dat_set_entries: int
    data_entries: int
    """Entries actually in allData (compare with num_dat_set_entries)."""
    values: list[GooseValue] = []
    values_truncated: bool = False
    security: bool = False
    """A security extension (IEC 62351-6 signature) is present."""
    reason: str
    """"first" (first message of the publisher), "state_change" (stNum advanced), "anomaly"."""
    anomalies: list[str] = []
    data_changed: bool | None = None
    """Whether allData differs from the publisher's previous message (None for the first)."""
    previous_st_num: int | None = None
    previous_sq_num: int | None = None
    function_class: str


class GoosePublisherEvent(LinkEvent, frozen=True, kw_only=True, tag="goose_publisher",
                          rename=ecs()):
    """Counters of one GOOSE publisher (source MAC, APPID, gocbRef)."""

    appid: int
    gocb_ref: str
    dat_set: str
    go_id: str = ""
    first_seen: float
    last_seen: float
    messages: int
    retransmissions: int
    """Messages that repeated the current state (same stNum)."""
    duplicates: int = 0
    """Identical copies seen within ``DUPLICATE_WINDOW`` (PRP/HSR twins, two mirror ports);
    included in ``messages``, not in ``retransmissions``."""
    state_changes: int
    """Messages that started a new state (stNum changed), not counting the first."""
    first_st_num: int
    last_st_num: int
    last_sq_num: int
    conf_rev: int
    time_allowed_to_live: int
    max_interval: float
    """Longest time between two consecutive messages, seconds of packet time."""
    simulation: bool = False
    """Some message carried the simulation/test flag or the Simulate bit."""
    anomaly_count: int = 0
    anomaly_codes: list[str] = []
    """Distinct anomaly codes raised for this publisher, sorted."""
    end_reason: str
    """"end" (end of input), "evicted" (publisher table full) or "interim" (periodic report)."""


class GooseMgmtEvent(LinkEvent, frozen=True, kw_only=True, tag="goose_mgmt", rename=ecs()):
    """A GSE management message (IEC 61850-8-1 Annex A GSEMngtPdu): a subscriber asking which
    control block carries a dataset member, or the publisher's answer."""

    appid: int
    state_id: int
    pdu: str
    """"request" or "response"."""
    service: str
    ident: str = ""
    references: list[str] = []
    """Requested member references (getGOOSEElementNumber), at most 64."""
    conf_rev: int | None = None
    positive: bool | None = None
    """Responses: True for responsePositive, False for responseNegative."""
    error: int | None = None
    """responseNegative GlbErrors code."""
    security: bool = False
    function_class: str

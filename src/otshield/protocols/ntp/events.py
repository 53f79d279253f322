"""The NTP event: one per datagram (requests and replies are separate events, as in Zeek's
ntp.log: a time server's replies are the facts of interest, and broadcast/symmetric modes have
no request to pair with)."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["NtpEvent"]


class NtpEvent(Event, tag="ntp", rename=ecs(), frozen=True):
    """One NTP message. Times are Unix epoch seconds (None when the field is zero, "unset")."""

    version: int
    mode: str
    """client, server, broadcast, symmetric_active, symmetric_passive, control, private."""
    leap: str | None = None
    stratum: int | None = None
    poll: int | None = None
    """log2 of the poll interval in seconds."""
    precision: int | None = None
    """log2 of the clock precision in seconds."""
    root_delay: float | None = None
    root_dispersion: float | None = None
    ref_id: str | None = None
    """Clock source (stratum 1), upstream IPv4 address (stratum >= 2) or kiss code (stratum 0)."""
    kiss_code: str | None = None
    """Set when a stratum-0 message carries a kiss-o'-death code (RATE, DENY, RSTR...)."""
    ref_time: float | None = None
    org_time: float | None = None
    rec_time: float | None = None
    xmt_time: float | None = None
    key_id: int | None = None
    """Key identifier of a legacy MAC (symmetric-key authentication)."""
    extensions: int | None = None
    nts: bool | None = None
    """Network Time Security extension fields present (RFC 8915)."""
    response: bool | None = None
    """Mode 6/7: the message is a response."""
    error: bool | None = None
    more: bool | None = None
    sequence: int | None = None
    opcode: str | None = None
    """Mode 6 operation (read_variables, read_mru, configure...)."""
    status: int | None = None
    assoc_id: int | None = None
    data_length: int | None = None
    implementation: str | None = None
    """Mode 7 implementation number (xntpd...)."""
    request: str | None = None
    """Mode 7 request code (mon_getlist_1 is "monlist")."""
    error_code: int | None = None
    item_count: int | None = None
    item_size: int | None = None

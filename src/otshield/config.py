"""One typed settings object for the engine; every limit that bounds memory lives here.

Memory is bounded by these numbers, never by the length of a capture.
"""

from __future__ import annotations

import msgspec

__all__ = ["Settings"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Engine limits and timeouts. All times are in seconds of packet time."""

    max_flows: int = 200_000
    """Flows tracked at once; the least recently active flow is evicted beyond this."""
    tcp_idle_timeout: float = 3600.0
    """A TCP flow with no packet for this long is closed (established flows)."""
    udp_idle_timeout: float = 120.0
    """A UDP or other flow with no packet for this long is closed."""
    closed_linger: float = 30.0
    """A TCP flow that saw FIN/RST from both sides (or RST) is closed after this long."""
    sweep_interval: float = 10.0
    """How often (packet time) idle flows are looked for."""
    tcp_max_ooo_bytes_per_direction: int = 256 * 1024
    """Out-of-order bytes held for one direction of one flow before a gap is declared."""
    tcp_max_ooo_bytes_total: int = 64 * 1024 * 1024
    """Out-of-order bytes held across all flows before the largest holder is flushed as a gap."""
    max_frame_bytes: int = 1024 * 1024
    """Upper bound for one protocol unit; a larger declared length is malformed."""
    max_stream_buffer: int = 2 * 1024 * 1024
    """Undecoded stream bytes kept per direction before the decoder is resynchronised."""
    max_pending_requests: int = 256
    """Unanswered requests a session keeps for pairing before it reports ``*.too_many_pending``."""
    request_timeout: float = 60.0
    """A request unanswered for this long is reported (``*.unanswered_request``) and dropped."""
    max_fragment_trains: int = 8192
    """IP datagrams being reassembled at once."""
    fragment_timeout: float = 30.0
    """A fragmented datagram not complete after this long is dropped with an anomaly."""
    max_fragment_bytes: int = 65535 + 60
    """Largest reassembled IP datagram."""

"""IEEE C37.118.2-2011 synchrophasor decoder (TCP 4712, UDP 4712/4713): command, header and
configuration frames as ``c37118`` events; data frames decoded with their stream's
configuration and reported per PMU on STAT changes and as a summary (``c37118_data``).
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.c37118.events import C37118DataEvent, C37118Event
from otshield.protocols.c37118.parser import frame_size, probe
from otshield.protocols.c37118.session import C37118Session

__all__ = ["SPEC", "C37118Session"]


def _session(flow: FlowContext) -> Session:
    return C37118Session(flow)


SPEC = ProtocolSpec(
    name="c37118",
    title="IEEE C37.118 synchrophasor",
    session_factory=_session,
    tcp_ports=frozenset({4712}),
    udp_ports=frozenset({4712, 4713}),
    probe=probe,
    frame_size=frame_size,
    event_types=(C37118Event, C37118DataEvent),
    anomaly_codes={
        "c37118.bad_sync": "frame not starting with the SYNC byte 0xAA (or reserved bit set)",
        "c37118.bad_length": "FRAMESIZE impossible or disagreeing with the frame, or a "
                             "command frame without CMD",
        "c37118.bad_crc": "CHK is not the CRC-CCITT of the frame; the frame is ignored",
        "c37118.unknown_frame_type": "SYNC frame type 6 or 7 (reserved)",
        "c37118.unknown_command": "command frame CMD in the reserved range",
        "c37118.bad_config": "configuration frame truncated or with an impossible PMU count",
        "c37118.config_mismatch": "data frame size differs from what its configuration needs",
        "c37118.data_before_config": "data frames of a stream whose configuration frame was not "
                                     "seen: they cannot be decoded (once per stream)",
        "c37118.stat_flags": "a PMU's STAT word turned to data error, not in sync, trigger or "
                             "configuration change",
        "c37118.too_many_streams": "more configured streams on one flow than are tracked (64)",
    },
)

"""DNP3 (IEEE 1815-2012) over TCP and UDP port 20000: link frames (CRC-checked), transport
reassembly, application fragments with their object headers and point values.

Modules: :mod:`.crc` (link CRC), :mod:`.link` (framing, IEEE 1815-2012 clause 9),
:mod:`.transport` (clause 8), :mod:`.parser` (application layer, clause 4), :mod:`.objects`
(data object library), :mod:`.values` (object values),
:mod:`.constants` (code tables), :mod:`.session` (per-flow state), :mod:`.events`.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec
from otshield.protocols.dnp3.events import Dnp3Event, Dnp3LinkEvent
from otshield.protocols.dnp3.link import frame_size, probe
from otshield.protocols.dnp3.session import Dnp3Session

__all__ = ["ANOMALY_CODES", "SPEC"]

ANOMALY_CODES: dict[str, str] = {
    "dnp3.bad_start": "Octets where a link frame should start are not 0x05 0x64: they are "
                      "skipped up to the next frame start (reported once per run).",
    "dnp3.invalid_length": "A length is impossible: link LENGTH below 5, a datagram or frame "
                           "shorter than its LENGTH, user data on a link function that carries "
                           "none (or none on a user data frame), or an application fragment "
                           "too short for its header.",
    "dnp3.bad_crc": "A link header or user data block CRC does not match: the frame is dropped "
                    "(after a bad header, octets are skipped up to the next frame start).",
    "dnp3.unknown_link_function": "A link control octet holds an undefined function code.",
    "dnp3.transport_sequence": "A transport segment is out of sequence or has no first segment: "
                               "the fragment in progress is discarded.",
    "dnp3.incomplete_fragment": "A fragment in reassembly was abandoned: a new first segment "
                                "arrived, the stream had a gap, or the flow ended.",
    "dnp3.fragment_too_large": "An application fragment grew beyond the reassembly limit "
                               "(2048 octets): discarded.",
    "dnp3.unknown_function": "An application function code is not defined by IEEE 1815.",
    "dnp3.unknown_object": "An object group/variation is not in the object library, or a "
                           "variation 0 (any variation) header announces objects where data must "
                           "follow; when the objects cannot be sized, the rest of the fragment "
                           "is not decoded.",
    "dnp3.bad_qualifier": "An object header uses a reserved qualifier code, a range whose stop "
                          "is below its start, or no size for a variable-size object.",
    "dnp3.truncated_object": "The fragment ends inside an object header, prefix or value.",
    "dnp3.too_many_pending": "A per-flow limit was hit (unanswered requests, multi-fragment "
                             "responses or fragments in reassembly): the oldest is forgotten.",
}


def _session(flow: FlowContext) -> Dnp3Session:
    return Dnp3Session(flow)


SPEC = ProtocolSpec(
    name="dnp3",
    title="DNP3",
    session_factory=_session,
    tcp_ports=frozenset({20000}),
    udp_ports=frozenset({20000}),
    probe=probe,
    frame_size=frame_size,
    event_types=(Dnp3Event, Dnp3LinkEvent),
    anomaly_codes=ANOMALY_CODES,
)

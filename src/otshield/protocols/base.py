"""The protocol interface: what a decoder gives the engine and what the engine gives a decoder.

A protocol package (``otshield/protocols/<name>/``) exports ``SPEC``, a :class:`ProtocolSpec`.
The engine finds the protocol of a flow by port and ``probe``, cuts the reassembled byte stream
into protocol units with ``frame_size`` (every industrial protocol here is length-prefixed, so one
framer serves them all and parsers never see partial input), and hands each unit to the flow's
:class:`Session`. A session pairs requests with responses, keeps bounded state, and emits typed
events through ``flow.emit``. Pure parsers raise only :class:`~otshield.errors.Malformed`; the
session turns that into an anomaly with ``flow.anomaly(code, detail, from_client)`` and keeps going.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from otshield.config import Settings
from otshield.events import CommonFields, Event, LinkFields

__all__ = [
    "Depth",
    "FlowContext",
    "FrameSize",
    "LinkContext",
    "LinkSession",
    "Probe",
    "ProtocolSpec",
    "Session",
]

Buffer = bytes | bytearray | memoryview
Depth = Literal["identify", "function", "full"]
FrameSize = Callable[[bytes], "int | None"]
"""Length of the unit at the head of ``buf`` (header included), or None if more bytes are needed.
Raising ``Malformed`` reports the anomaly and drops the buffered bytes: framing restarts at the
next segment. A decoder that can find its next unit itself (Modbus, DNP3 scan for a valid header)
returns the length of the junk instead, so results do not depend on segmentation, and its session
reports the skipped bytes."""
Probe = Callable[[bytes, bool], bool]
"""``probe(first_payload, from_client)``: does this look like my protocol?"""


class FlowContext(Protocol):
    """What a session may use of its flow. Implemented by ``otshield.flows.Flow``."""

    id: int
    community_id: str
    transport: str
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    ts: float
    """Packet time of the packet being processed."""
    frame: int
    """1-based number of the packet being processed."""
    settings: Settings
    opened_by_client: bool
    """True when the connection's start was seen (SYN from the client); False for a flow
    picked up mid-stream, whose sequence numbers and state start unknown."""

    def fields(self, from_client: bool) -> CommonFields:
        """Common event fields; ``from_client`` True makes the client the event's source."""
        ...

    def emit(self, event: Event) -> None:
        """Publish an event to every consumer."""
        ...

    def shared(self) -> dict[Any, Any]:
        """State shared by every session of this protocol in one engine, for protocols whose
        conversation spans flows (a PROFINET IO CM answer comes back from another UDP port).
        The decoder keeps it bounded and removes what it no longer needs."""
        ...

    def anomaly(self, code: str, detail: str, from_client: bool) -> None:
        """Publish a named anomaly (``proto.snake_case``) about this flow."""
        ...


class Session(Protocol):
    """Per-flow decoder state. Built by ``ProtocolSpec.session_factory(flow)``."""

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """One whole protocol unit (TCP, framed by ``frame_size``) or one datagram (UDP)."""
        ...

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Raw in-order stream bytes, for protocols without ``frame_size`` (HTTP, FTP...)."""
        ...

    def on_gap(self, from_client: bool, size: int) -> None:
        """``size`` bytes of the stream in this direction were lost (capture loss, overflow)."""
        ...

    def close(self) -> None:
        """The flow ended: report what is still pending (unanswered requests...)."""
        ...


class LinkContext(Protocol):
    """What a link-layer decoder (GOOSE, PROFINET DCP...) may use: the frame being processed and
    the engine's outputs. Implemented by the engine, one per link-layer protocol."""

    ts: float
    frame: int
    src_mac: str
    dst_mac: str
    vlan: int | None
    settings: Settings

    def fields(self) -> LinkFields:
        """Common fields of a link-layer event (time, frame, MAC addresses, VLAN)."""
        ...

    def emit(self, event: Event) -> None:
        """Publish an event to every consumer."""
        ...

    def anomaly(self, code: str, detail: str) -> None:
        """Publish a named anomaly about the frame being processed."""
        ...


class LinkSession(Protocol):
    """State of a link-layer decoder, one per engine (it keys its own state, bounded, by
    publisher, e.g. GOOSE control block or DCP transaction). Built by
    ``ProtocolSpec.link_session_factory(context)``."""

    def on_frame(self, payload: bytes) -> None:
        """One frame's payload after the Ethertype (VLAN tags removed) or, for an LLC protocol,
        from the LLC header (DSAP) on."""
        ...

    def close(self) -> None:
        """End of input: report what is still pending or counted."""
        ...


@dataclass(frozen=True)
class ProtocolSpec:
    """Everything the engine needs to know about one protocol decoder."""

    name: str
    """Short lower-case name, also the event namespace (``modbus``)."""
    title: str
    """Human name (``Modbus/TCP``)."""
    session_factory: Callable[[FlowContext], Session]
    tcp_ports: frozenset[int] = frozenset()
    udp_ports: frozenset[int] = frozenset()
    probe: Probe | None = None
    """Confirms the protocol from the first payload; needed to claim flows on other ports."""
    frame_size: FrameSize | None = None
    """Length-prefixed framing for TCP; None means the session takes raw stream data."""
    event_types: tuple[type[Event], ...] = ()
    anomaly_codes: dict[str, str] = field(default_factory=dict)
    """Every anomaly code the decoder can emit -> what it means."""
    depth: Depth = "full"
    """identify only / function level / full values."""
    port_only_claim: bool = True
    """On its own ports, claim the flow without a successful probe (then Malformed shows up)."""
    ethertypes: frozenset[int] = frozenset()
    """Ethertypes of a protocol carried directly in Ethernet frames (IEC 61850 GOOSE 0x88B8)."""
    llc_saps: frozenset[int] = frozenset()
    """IEEE 802.2 LLC destination SAPs of a protocol carried in 802.3 frames (BACnet 0x82)."""
    link_session_factory: Callable[[LinkContext], LinkSession] | None = None
    """Builds the link-layer decoder; required with ``ethertypes`` or ``llc_saps``."""

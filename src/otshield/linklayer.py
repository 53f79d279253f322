"""Dispatch of frames that carry no IP: industrial protocols that ride directly on Ethernet
(IEC 61850 GOOSE and Sampled Values, PROFINET DCP and RT, EtherCAT...) or on IEEE 802.2 LLC
(BACnet/Ethernet).

Each such protocol declares ``ethertypes`` or ``llc_saps`` in its spec; the engine hands every
matching frame to one :class:`LinkSession` per protocol, built on first use. There are no flows
here: a link-layer decoder keys its own state (publisher, control block, transaction), bounded.
MAC addresses are formatted only for frames that a decoder takes, so unclaimed ones stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable

from otshield.config import Settings
from otshield.errors import describe_bug
from otshield.events import AnomalyEvent, Event, LinkFields
from otshield.netstack import Packet, format_mac
from otshield.protocols.base import LinkSession, ProtocolSpec
from otshield.protocols.registry import Registry

__all__ = ["LinkLayer"]

_MAX_DECODER_ERRORS = 8  # then the protocol's decoder is detached, as for a flow


class _Link:
    """The :class:`~otshield.protocols.base.LinkContext` of one link-layer protocol."""

    def __init__(self, spec: ProtocolSpec, settings: Settings,
                 emit: Callable[[Event], None]) -> None:
        self.spec = spec
        self.settings = settings
        self.emit = emit
        self.ts = 0.0
        self.frame = 0
        self.src_mac = ""
        self.dst_mac = ""
        self.vlan: int | None = None
        self.errors = 0
        self.session: LinkSession | None = None

    def fields(self) -> LinkFields:
        return {"ts": self.ts, "frame": self.frame, "src_mac": self.src_mac,
                "dst_mac": self.dst_mac, "vlan": self.vlan}

    def anomaly(self, code: str, detail: str) -> None:
        self.emit(AnomalyEvent(ts=self.ts, frame=self.frame, code=code, detail=detail,
                               protocol=self.spec.name, src_mac=self.src_mac,
                               dst_mac=self.dst_mac, vlan=self.vlan))


class LinkLayer:
    """Routes non-IP frames to the link-layer decoders of the registry."""

    def __init__(self, registry: Registry, settings: Settings,
                 emit: Callable[[Event], None]) -> None:
        self._by_type = registry.ethertypes
        self._by_sap = registry.llc_saps
        self._settings = settings
        self._emit = emit
        self._links: dict[str, _Link] = {}

    def handle(self, ts: float, frame: int, p: Packet) -> None:
        """Decode the frame in ``p`` if a protocol claims its Ethertype or LLC SAP."""
        et = p.ethertype
        if et:
            spec = self._by_type.get(et)
        else:
            spec = self._by_sap.get(p.l2_payload[0]) if p.l2_payload else None
        if spec is None:
            return
        link = self._links.get(spec.name)
        if link is None:
            link = self._links[spec.name] = _Link(spec, self._settings, self._emit)
            assert spec.link_session_factory is not None  # the registry checks it
            try:
                link.session = spec.link_session_factory(link)
            except Exception as exc:
                link.ts, link.frame = ts, frame
                self._error(link, exc)
                link.session = None
        session = link.session
        if session is None:
            return
        link.ts = ts
        link.frame = frame
        link.src_mac = format_mac(p.src_mac) if p.src_mac else ""
        link.dst_mac = format_mac(p.dst_mac) if p.dst_mac else ""
        link.vlan = p.vlan
        try:
            session.on_frame(p.l2_payload)
        except Exception as exc:  # a decoder bug: contain it like the flow path does
            self._error(link, exc)

    def close(self) -> None:
        """End of input: let every decoder report what it still holds."""
        for link in self._links.values():
            if link.session is not None:
                try:
                    link.session.close()
                except Exception as exc:
                    self._error(link, exc)

    def _error(self, link: _Link, exc: Exception) -> None:
        link.errors += 1
        link.anomaly("internal.decoder_error", describe_bug(exc))
        if link.errors >= _MAX_DECODER_ERRORS:
            link.session = None

"""BACnet sessions: BACnet/IP on a UDP flow (Annex J) and BACnet/Ethernet on the link layer
(clause 7). Both hand NPDUs to :class:`~otshield.protocols.bacnet.core.BacnetCore`.

- :class:`BacnetIpSession`: one per UDP flow; decodes the BVLL header, emits the BVLC
  management functions (J.2) as ``bacnet_network`` events and passes NPDUs on. Requests and
  replies of one transaction travel on the same flow (unicast); broadcasts (Who-Is, I-Am)
  make their own flows and are unconfirmed anyway.
- :class:`BacnetLinkSession`: one per engine for LLC frames with DSAP 0x82; transactions are
  keyed by the MAC addresses of requester and responder.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.events import CommonFields, Event
from otshield.protocols.bacnet.constants import (
    BVLC_FUNCTION_CLASS,
    BVLC_FUNCTIONS,
    BVLC_RESULTS,
)
from otshield.protocols.bacnet.core import BacnetCore, MacFields, Side
from otshield.protocols.bacnet.events import BacnetNetworkEvent
from otshield.protocols.bacnet.parser import parse_bvlc, parse_llc
from otshield.protocols.base import FlowContext, LinkContext

__all__ = ["BacnetIpSession", "BacnetLinkSession"]

_H = struct.Struct("!H")
_ORIGINAL = {0x0A: BVLC_FUNCTIONS[0x0A], 0x0B: BVLC_FUNCTIONS[0x0B]}

class BacnetIpSession(BacnetCore):
    """BACnet/IP on one UDP flow."""

    medium = "ip"

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow.settings)
        self.flow = flow
        self.from_client = True

    def where(self, side: Side) -> tuple[CommonFields, MacFields]:
        assert isinstance(side, bool)
        return self.flow.fields(side), {"src_mac": "", "dst_mac": "", "vlan": None}

    def anomaly(self, code: str, detail: str) -> None:
        self.flow.anomaly(code, detail, self.from_client)

    def emit(self, event: Event) -> None:
        self.flow.emit(event)

    def now(self) -> float:
        return self.flow.ts

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        self.from_client = from_client
        if (len(frame) > 4 and frame[0] == 0x81 and frame[1] in _ORIGINAL
                and _H.unpack_from(frame, 2)[0] == len(frame)):
            # the common case, Original-Unicast/Broadcast-NPDU, without building a record
            self.npdu(frame, 4, from_client, not from_client, _ORIGINAL[frame[1]], None)
            return
        try:
            bvlc = parse_bvlc(frame)
        except Malformed as m:
            self.anomaly(m.code, m.detail)
            return
        function = bvlc.function
        name = BVLC_FUNCTIONS.get(function) or str(function)
        if bvlc.npdu_offset:
            self.npdu(frame, bvlc.npdu_offset, from_client, not from_client, name, bvlc.origin)
            return
        result = bvlc.result
        self.emit(BacnetNetworkEvent(
            **self.flow.fields(from_client), medium="ip",
            function_class=BVLC_FUNCTION_CLASS.get(function, "other"), bvlc_function=name,
            bvlc_result=(BVLC_RESULTS.get(result) or str(result)) if result is not None
            else None, bvlc_result_code=result, ttl=bvlc.ttl, address=bvlc.origin,
            entries=bvlc.entries))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """UDP: every datagram arrives through :meth:`on_frame`."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """UDP has no stream gaps."""

    def close(self) -> None:
        self.finish()


class BacnetLinkSession(BacnetCore):
    """BACnet/Ethernet: every LLC frame with DSAP 0x82 seen by the engine."""

    medium = "ethernet"

    def __init__(self, ctx: LinkContext) -> None:
        super().__init__(ctx.settings)
        self.ctx = ctx

    def where(self, side: Side) -> tuple[CommonFields, MacFields]:
        assert isinstance(side, tuple)
        ctx = self.ctx
        common: CommonFields = {"ts": ctx.ts, "frame": ctx.frame, "flow_id": 0,
                                "community_id": "", "src_ip": "", "src_port": 0, "dst_ip": "",
                                "dst_port": 0, "transport": ""}
        return common, {"src_mac": side[0], "dst_mac": side[1], "vlan": ctx.vlan}

    def anomaly(self, code: str, detail: str) -> None:
        self.ctx.anomaly(code, detail)

    def emit(self, event: Event) -> None:
        self.ctx.emit(event)

    def now(self) -> float:
        return self.ctx.ts

    def on_frame(self, payload: bytes) -> None:
        ctx = self.ctx
        try:
            pos = parse_llc(payload)
        except Malformed as m:
            self.anomaly(m.code, m.detail)
            return
        self.npdu(payload, pos, (ctx.src_mac, ctx.dst_mac), (ctx.dst_mac, ctx.src_mac), None,
                  None)

    def close(self) -> None:
        self.finish()

"""RDP per-flow session: reads the first TPKT units of each direction (X.224 Connection
Request/Confirm, then, for standard RDP security, the MCS Connect Initial/Response), emits one
:class:`RdpEvent`, then ignores the rest of the connection (TLS, or RDP-encrypted PDUs).

The session frames TPKT itself (instead of the engine's ``frame_size``) because after the
X.224 exchange the stream is TLS or fast-path PDUs, which are not TPKT.
"""

from __future__ import annotations

from typing import Any

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.rdp.constants import (
    ENCRYPTION_LEVELS,
    ENCRYPTION_METHODS,
    FAILURE_CODES,
    NEG_REQ_FLAGS,
    NEG_RSP_FLAGS,
    PROTOCOLS,
    X224_CR,
    bits,
    protocol_name,
)
from otshield.protocols.rdp.events import RdpEvent
from otshield.protocols.rdp.parser import (
    parse_confirm,
    parse_connect_initial,
    parse_connect_response,
    parse_request,
    tpkt_length,
)

__all__ = ["MAX_PDU", "RdpSession"]

MAX_PDU = 16 * 1024
"""Largest connection-sequence PDU buffered (an MCS Connect Initial is well under 1 KiB)."""
_BLUEKEEP_CHANNEL = "ms_t120"  # CVE-2019-0708: clients never request this internal channel
# what each direction expects next
_WANT_CR, _WANT_MCS, _DONE = 0, 1, 2


class RdpSession:
    """Connection-sequence state of one RDP connection."""

    __slots__ = ("bufs", "emitted", "fields", "flow", "req_ts", "state")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.bufs = (bytearray(), bytearray())
        self.state = [_WANT_CR, _WANT_CR]  # client: CR then MCS CI; server: CC then MCS CR
        self.fields: dict[str, Any] = {}
        self.emitted = False
        self.req_ts: tuple[float, int] | None = None

    def on_data(self, data: bytes, from_client: bool) -> None:
        d = 0 if from_client else 1
        if self.state[d] == _DONE:
            return
        buf = self.bufs[d]
        buf += data
        while self.state[d] != _DONE and buf:
            try:
                size = tpkt_length(bytes(buf[:4])) if buf[0] == 3 else -1
            except Malformed as m:
                self._stop(d, m.code, m.detail, from_client)
                return
            if size == -1:
                self._not_tpkt(d, buf[0], from_client)
                return
            if size is None:
                return
            if size > MAX_PDU:
                self._stop(d, "rdp.invalid_tpkt", f"TPKT of {size} bytes", from_client)
                return
            if len(buf) < size:
                return
            pdu = bytes(buf[:size])
            del buf[:size]
            try:
                self._pdu(d, pdu, from_client)
            except Malformed as m:
                self._stop(d, m.code, m.detail, from_client)

    def _not_tpkt(self, d: int, first: int, from_client: bool) -> None:
        """Not TPKT: TLS records or fast-path PDUs (the connection was joined late, or the
        sequence is over); anything else on an RDP port is reported once."""
        if not (0x14 <= first <= 0x17 or first & 0x03 == 0):
            self.flow.anomaly("rdp.not_rdp", f"stream starts 0x{first:02x}", from_client)
        self._finish(d)

    def _stop(self, d: int, code: str, detail: str, from_client: bool) -> None:
        self.flow.anomaly(code, detail, from_client)
        self._finish(d)

    def _finish(self, d: int) -> None:
        self.state[d] = _DONE
        self.bufs[d].clear()
        if self.state == [_DONE, _DONE]:
            self._emit()

    def _pdu(self, d: int, pdu: bytes, from_client: bool) -> None:
        f = self.fields
        if self.state[d] == _WANT_CR:
            if from_client:
                if len(pdu) < 6 or pdu[5] & 0xF0 != X224_CR:
                    self._finish(0)  # joined after the connection sequence
                    return
                req = parse_request(pdu)
                self.req_ts = (self.flow.ts, self.flow.frame)
                f["cookie"], f["routing_token"] = req.cookie, req.routing_token
                f["correlation_id"] = req.correlation_id
                if req.requested_protocols is not None:
                    f["requested_protocols"] = bits(req.requested_protocols, PROTOCOLS)
                    f["request_flags"] = bits(req.neg_flags, NEG_REQ_FLAGS) or None
                self.state[0] = _WANT_MCS
                return
            cc = parse_confirm(pdu)
            if cc.failure_code is not None:
                f["result"] = "failure"
                f["failure"] = FAILURE_CODES.get(cc.failure_code, str(cc.failure_code))
                self._finish(1)
                self._finish(0)
                return
            if cc.selected_protocol is None:
                f["result"] = "legacy"  # an old server: standard RDP security, no negotiation
                f["selected_protocol"] = "RDP"
            else:
                f["result"] = "success"
                f["selected_protocol"] = protocol_name(cc.selected_protocol)
                f["response_flags"] = bits(cc.neg_flags, NEG_RSP_FLAGS) or None
            if cc.selected_protocol:  # TLS/CredSSP: everything after this is encrypted
                self._finish(1)
                self._finish(0)
                return
            self.state[1] = _WANT_MCS
            return
        # MCS Connect Initial (client) / Connect Response (server) under standard security
        if from_client:
            cd = parse_connect_initial(pdu)
            f["client_name"], f["client_build"] = cd.client_name, cd.client_build
            if cd.version is not None:
                f["client_version"] = f"{cd.version >> 16}.{cd.version & 0xFFFF}"
            f["keyboard_layout"] = cd.keyboard_layout
            f["desktop_width"], f["desktop_height"] = cd.desktop_width, cd.desktop_height
            f["channels"] = tuple(cd.channels) or None
            if cd.encryption_methods is not None:
                f["client_encryption_methods"] = bits(cd.encryption_methods, ENCRYPTION_METHODS)
            if any(c.lower() == _BLUEKEEP_CHANNEL for c in cd.channels):
                self.flow.anomaly("rdp.ms_t120_channel",
                                  "client asked for the MS_T120 channel (BlueKeep)", True)
            self._finish(0)
            return
        sd = parse_connect_response(pdu)
        if sd.encryption_method is not None:
            names = bits(sd.encryption_method, ENCRYPTION_METHODS)
            f["encryption_method"] = names[0] if names else "NONE"
        if sd.encryption_level is not None:
            f["encryption_level"] = ENCRYPTION_LEVELS.get(sd.encryption_level,
                                                          str(sd.encryption_level))
        self._finish(1)

    def _emit(self) -> None:
        if self.emitted or self.req_ts is None:
            return
        self.emitted = True
        f = self.fields
        if "result" not in f:
            f["result"] = "no_response"
        common = self.flow.fields(True)
        if f["result"] == "no_response":
            common["ts"], common["frame"] = self.req_ts
        self.flow.emit(RdpEvent(**common, **{k: v for k, v in f.items() if v is not None}))

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used (the session frames TPKT itself); kept for the Session interface."""
        self.on_data(frame, from_client)

    def on_gap(self, from_client: bool, size: int) -> None:
        # A hole in the connection sequence: report what was seen, decode no further.
        self._finish(0 if from_client else 1)

    def close(self) -> None:
        self._emit()

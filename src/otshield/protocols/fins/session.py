"""Per-flow Omron FINS state (UDP 9600 datagrams, TCP 9600 FINS/TCP units).

Pairing (W227 3-2): a response copies the command's SID and swaps the source and destination
addresses, so a command waits under (SID, command code, requester network/node/unit) and the
response looks itself up under (SID, command code, its destination). Nodes that answer with
other unit numbers (a gateway, DA2 0) are paired by (SID, command code) alone, oldest first.
A command reusing a pending key means the requester gave up on the first: that one is reported
unanswered. The pending map is bounded by ``Settings.max_pending_requests``.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.fins.constants import (
    COMMANDS,
    END_MAIN,
    END_SUB,
    TCP_COMMANDS,
    TCP_ERRORS,
)
from otshield.protocols.fins.events import FinsEvent
from otshield.protocols.fins.parser import (
    FinsDetail,
    FinsFrame,
    area_name,
    decode_command,
    decode_frame,
    decode_response,
    decode_tcp,
)
from otshield.protocols.pending import pop_expired

__all__ = ["FinsSession"]

Key = tuple[int, int, int, int, int]


class _Pending:
    __slots__ = ("detail", "frame", "from_client", "msg", "ts")

    def __init__(self, msg: FinsFrame, detail: FinsDetail, ts: float, frame: int,
                 from_client: bool) -> None:
        self.msg = msg
        self.detail = detail
        self.ts = ts
        self.frame = frame
        self.from_client = from_client


class FinsSession:
    """FINS decoder state for one flow (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.tcp = flow.transport == "tcp"
        self.pending: dict[Key, _Pending] = {}
        self.limit = max(1, flow.settings.max_pending_requests)
        self.timeout = flow.settings.request_timeout
        self.saturated = False
        self.node_request: tuple[int, float, int] | None = None  # client node, ts, frame

    # -- Session interface --------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        if not self.tcp:
            self._fins(frame, from_client)
            return
        try:
            hdr = decode_tcp(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if hdr.command == 2:
            if hdr.error:
                flow.anomaly("fins.tcp_error", f"FINS frame send with error code "
                             f"0x{hdr.error:x}", from_client)
            self._fins(hdr.payload, from_client)
        elif hdr.command == 0:
            self.node_request = (hdr.client_node or 0, flow.ts, flow.frame)
        elif hdr.command in TCP_COMMANDS:
            req = self.node_request
            self.node_request = None
            fields = flow.fields(hdr.command != 1 or not from_client)
            flow.emit(FinsEvent(
                **fields, command_name=TCP_COMMANDS[hdr.command], function_class="other",
                answered=True if hdr.command == 1 else None,
                request_missing=hdr.command == 1 and req is None,
                response_time=(flow.ts - req[1]) if req is not None else None,
                tcp_command=TCP_COMMANDS[hdr.command], tcp_error=hdr.error or None,
                tcp_error_name=TCP_ERRORS.get(hdr.error) if hdr.error else None,
                client_node=hdr.client_node if hdr.command == 1 else None,
                server_node=hdr.server_node))
        else:
            flow.anomaly("fins.unknown_command", f"FINS/TCP command {hdr.command}", from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: FINS/TCP is framed by ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: the framer restarts at the next "FINS" unit."""

    def close(self) -> None:
        if self.node_request is not None:
            node, ts, frame = self.node_request
            fields = self.flow.fields(True)
            fields["ts"], fields["frame"] = ts, frame
            self.flow.emit(FinsEvent(**fields, command_name=TCP_COMMANDS[0], answered=False,
                                     tcp_command=TCP_COMMANDS[0], client_node=node))
            self.node_request = None
        for entry in list(self.pending.values()):
            self._emit(entry, None, None)
        if self.pending:
            self.flow.anomaly("fins.unanswered_request",
                              f"{len(self.pending)} FINS commands without a response", True)
        self.pending.clear()

    # -- FINS frames ----------------------------------------------------------------------------
    def _fins(self, data: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            msg = decode_frame(data)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if msg.code not in COMMANDS:
            flow.anomaly("fins.unknown_command", f"command code 0x{msg.code:04x}", from_client)
        if msg.is_response:
            self._response(msg, from_client)
            return
        try:
            detail = decode_command(msg.code, msg.data)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            detail = FinsDetail()
        if self.pending:
            self._expire()
        entry = _Pending(msg, detail, flow.ts, flow.frame, from_client)
        if not msg.response_required:
            self._emit(entry, None, None, one_way=True)
            return
        key: Key = (msg.sid, msg.code, msg.sna, msg.sa1, msg.sa2)
        old = self.pending.pop(key, None)
        if old is not None:
            self._emit(old, None, None)
        if len(self.pending) >= self.limit:
            if not self.saturated:
                self.saturated = True
                flow.anomaly("fins.too_many_pending",
                             f"more than {self.limit} FINS commands awaiting a response",
                             from_client)
            self._emit(self.pending.pop(next(iter(self.pending))), None, None)
        elif len(self.pending) < self.limit // 2:
            self.saturated = False
        self.pending[key] = entry

    def _response(self, msg: FinsFrame, from_client: bool) -> None:
        entry = self.pending.pop((msg.sid, msg.code, msg.dna, msg.da1, msg.da2), None)
        if entry is None:
            for key, cand in self.pending.items():
                if key[0] == msg.sid and key[1] == msg.code:
                    entry = cand
                    del self.pending[key]
                    break
        self._emit(entry, msg, from_client)

    def _expire(self) -> None:
        for entry in pop_expired(self.pending, self.flow.ts - self.timeout):
            self._emit(entry, None, None)
            self.flow.anomaly("fins.unanswered_request",
                              f"command 0x{entry.msg.code:04x} SID {entry.msg.sid} unanswered "
                              f"for {self.timeout:g} s", entry.from_client)

    def _emit(self, req: _Pending | None, resp: FinsFrame | None, resp_from_client: bool | None,
              one_way: bool = False) -> None:
        flow = self.flow
        if req is not None:
            fields = flow.fields(req.from_client)
            if resp is None:
                fields["ts"], fields["frame"] = req.ts, req.frame
            head = req.msg
            detail = req.detail
        else:
            assert resp is not None and resp_from_client is not None
            fields = flow.fields(not resp_from_client)
            # the command's addresses are the response's, swapped
            head = FinsFrame(resp.icf & ~0x41, resp.sna, resp.sa1, resp.sa2, resp.dna, resp.da1,
                             resp.da2, resp.sid, resp.code, None, b"")
            detail = FinsDetail()
        end = name = None
        relay = fatal = nonfatal = False
        if resp is not None and resp.end_code is not None:
            raw = resp.end_code
            relay, fatal, nonfatal = bool(raw & 0x8000), bool(raw & 0x0080), bool(raw & 0x0040)
            end = raw & 0x7F3F
            name = END_SUB.get(end) or END_MAIN.get(end >> 8)
            decode_response(resp.code, resp.data, detail)
        code = head.code
        cname, fclass = COMMANDS.get(code, (f"0x{code:04x}", "other"))
        area = detail.memory_area
        flow.emit(FinsEvent(
            **fields, command_code=code, command_name=cname, function_class=fclass,
            answered=None if one_way else resp is not None, request_missing=req is None,
            request_frame=req.frame if req is not None else None,
            icf=head.icf, gateway=head.gateway, dna=head.dna, da1=head.da1, da2=head.da2,
            sna=head.sna, sa1=head.sa1, sa2=head.sa2, sid=head.sid, end_code=end,
            end_code_name=name, relay_error=relay, fatal_cpu_error=fatal,
            nonfatal_cpu_error=nonfatal,
            response_time=(flow.ts - req.ts) if req is not None and resp is not None else None,
            memory_area=area, memory_area_name=area_name(area) if area is not None else None,
            address=detail.address, bit=detail.bit, count=detail.count,
            dest_area=detail.dest_area, dest_address=detail.dest_address, areas=detail.areas,
            items_truncated=detail.items_truncated, parameter_area=detail.parameter_area,
            program_number=detail.program_number, cpu_mode=detail.cpu_mode,
            cpu_status=detail.cpu_status, controller_model=detail.controller_model,
            controller_version=detail.controller_version, clock=detail.clock,
            password_present=detail.password_present, data_size=detail.data_size,
            values=detail.values))

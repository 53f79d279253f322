"""Per-flow Beckhoff ADS state: AMS over TCP 48898 and UDP 48899, AMS/UDP discovery on 48899.

Pairing (TE1000 2.2): a response carries the request's invoke id and command id with the
target and source swapped; requests wait under (invoke id, command id, requester AMS Net ID
and port). Device notifications are never answered and are reported at once. The pending map
is bounded by ``Settings.max_pending_requests``; requests unanswered after
``Settings.request_timeout`` or at the end of the flow are reported unanswered.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.ads.constants import (
    ADS_STATES,
    COMMANDS,
    ERRORS,
    INDEX_GROUPS,
    PORTS,
    READ_GROUPS,
    UDP_SERVICES,
)
from otshield.protocols.ads.events import AdsDiscoveryEvent, AdsEvent
from otshield.protocols.ads.parser import (
    UDP_MAGIC,
    AdsDetail,
    AmsHeader,
    Discovery,
    decode_ams,
    decode_discovery,
    decode_request,
    decode_response,
    net_id,
    tag_name,
)
from otshield.protocols.base import FlowContext
from otshield.protocols.pending import pop_expired

__all__ = ["AdsSession"]

Key = tuple[int, int, str, int]
_PLATFORMS = {0: "Win32s", 1: "Windows 9x", 2: "Windows NT", 3: "Windows CE"}


class _Pending:
    __slots__ = ("detail", "frame", "from_client", "hdr", "ts")

    def __init__(self, hdr: AmsHeader, detail: AdsDetail, ts: float, frame: int,
                 from_client: bool) -> None:
        self.hdr = hdr
        self.detail = detail
        self.ts = ts
        self.frame = frame
        self.from_client = from_client


class _Notes:
    """Device notifications from one AMS address to another since the last report."""

    __slots__ = ("count", "first_frame", "from_client", "hdr", "samples", "start")

    def __init__(self, hdr: AmsHeader, ts: float, frame: int, from_client: bool) -> None:
        self.hdr = hdr
        self.start = ts
        self.first_frame = frame
        self.from_client = from_client
        self.count = 0
        self.samples = 0


class _Probe:
    __slots__ = ("frame", "from_client", "msg", "ts")

    def __init__(self, msg: Discovery, ts: float, frame: int, from_client: bool) -> None:
        self.msg = msg
        self.ts = ts
        self.frame = frame
        self.from_client = from_client


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


class AdsSession:
    """ADS decoder state for one flow (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.tcp = flow.transport == "tcp"
        self.pending: dict[Key, _Pending] = {}
        self.discovery: dict[tuple[int, int], _Probe] = {}
        self.limit = max(1, flow.settings.max_pending_requests)
        self.timeout = flow.settings.request_timeout
        self.saturated = False
        self.notes: dict[tuple[str, int, str, int], _Notes] = {}
        # symbol handles a device gave out (0xF003 answers): (AMS Net ID, port, handle) -> name
        self.handles: dict[tuple[str, int, int], str] = {}

    # -- Session interface --------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        if self.tcp:
            if struct.unpack_from("<H", frame)[0] != 0:
                return  # AMS/TCP router commands (port connect...) carry no ADS
            self._ams(frame[6:], from_client)
        elif frame[:4] == UDP_MAGIC:
            self._discovery(frame, from_client)
        else:
            self._ams(frame, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: AMS/TCP is framed by ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: pending requests are reported when the flow ends."""

    def close(self) -> None:
        for notes in self.notes.values():
            self._emit_notes(notes)
        self.notes.clear()
        if self.pending:
            self.flow.anomaly("ads.unanswered_request",
                              f"{len(self.pending)} ADS requests without a response", True)
        for entry in list(self.pending.values()):
            self._emit(entry, None)
        self.pending.clear()
        for probe in list(self.discovery.values()):
            self._emit_discovery(probe, None, probe.from_client)
        self.discovery.clear()

    # -- AMS ------------------------------------------------------------------------------------
    def _ams(self, data: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            hdr = decode_ams(data)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if hdr.command not in COMMANDS or hdr.command == 0:
            flow.anomaly("ads.unknown_command", f"ADS command id {hdr.command}", from_client)
            return
        if hdr.is_response:
            self._response(hdr, from_client)
            return
        try:
            detail = decode_request(hdr.command, hdr.data)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            detail = AdsDetail()
        entry = _Pending(hdr, detail, flow.ts, flow.frame, from_client)
        if hdr.command == 8:
            self._notification(hdr, detail, from_client)
            return
        if hdr.flags & 0x0002:  # "no return": the sender expects no response
            self._emit(entry, None, one_way=True)
            return
        if self.pending:
            self._expire()
        key: Key = (hdr.invoke, hdr.command, hdr.source, hdr.source_port)
        old = self.pending.pop(key, None)
        if old is not None:
            self._emit(old, None)
        if len(self.pending) >= self.limit:
            if not self.saturated:
                self.saturated = True
                flow.anomaly("ads.too_many_pending",
                             f"more than {self.limit} ADS requests awaiting a response",
                             from_client)
            self._emit(self.pending.pop(next(iter(self.pending))), None)
        elif len(self.pending) < self.limit // 2:
            self.saturated = False
        self.pending[key] = entry

    def _notification(self, hdr: AmsHeader, detail: AdsDetail, from_client: bool) -> None:
        """Device notifications are cyclic data (TE1000 2.3.8): counted per pair of AMS
        addresses and reported when the flow ends, not one event each."""
        key = (hdr.source, hdr.source_port, hdr.target, hdr.target_port)
        notes = self.notes.get(key)
        if notes is None:
            if len(self.notes) >= self.limit:
                self.flow.anomaly("ads.too_many_pending",
                                  f"more than {self.limit} device notification streams",
                                  from_client)
                self._emit_notes(self.notes.pop(next(iter(self.notes))))
            notes = self.notes[key] = _Notes(hdr, self.flow.ts, self.flow.frame, from_client)
        notes.count += 1
        notes.samples += detail.notification_samples or 0

    def _emit_notes(self, notes: _Notes) -> None:
        flow = self.flow
        head = notes.hdr
        flow.emit(AdsEvent(
            **flow.fields(notes.from_client), command=8, command_name=COMMANDS[8][0],
            function_class=COMMANDS[8][1], invoke_id=head.invoke, target_net_id=head.target,
            target_port=head.target_port, target_port_name=PORTS.get(head.target_port),
            source_net_id=head.source, source_port=head.source_port, state_flags=head.flags,
            request_frame=notes.first_frame, notifications=notes.count,
            notification_samples=notes.samples, start=notes.start))

    def _learn_handle(self, net: str, port: int, handle: int, symbol: str) -> None:
        handles = self.handles
        key = (net, port, handle)
        if key not in handles and len(handles) >= self.limit:
            del handles[next(iter(handles))]  # oldest first: handles are usually short-lived
        handles[key] = symbol

    def _response(self, hdr: AmsHeader, from_client: bool) -> None:
        entry = self.pending.pop((hdr.invoke, hdr.command, hdr.target, hdr.target_port), None)
        if entry is None:
            self._emit(None, hdr, resp_from_client=from_client)
        else:
            self._emit(entry, hdr)

    def _expire(self) -> None:
        for entry in pop_expired(self.pending, self.flow.ts - self.timeout):
            self.flow.anomaly("ads.unanswered_request",
                              f"{COMMANDS[entry.hdr.command][0]} invoke id {entry.hdr.invoke} "
                              f"unanswered for {self.timeout:g} s", entry.from_client)
            self._emit(entry, None)

    def _emit(self, req: _Pending | None, resp: AmsHeader | None, one_way: bool = False,
              resp_from_client: bool = False) -> None:
        flow = self.flow
        if req is not None:
            fields = flow.fields(req.from_client)
            if resp is None:
                fields["ts"], fields["frame"] = req.ts, req.frame
            head = req.hdr
            detail = req.detail
            target, tport, source, sport = head.target, head.target_port, head.source, \
                head.source_port
        else:
            assert resp is not None
            fields = flow.fields(not resp_from_client)
            head = resp
            detail = AdsDetail()
            target, tport, source, sport = resp.source, resp.source_port, resp.target, \
                resp.target_port
        if resp is not None and not resp.error:
            try:
                decode_response(resp.command, resp.data, detail)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, not req.from_client if req else resp_from_client)
        cmd = head.command
        name, fclass = COMMANDS[cmd]
        group = detail.index_group
        if group == 0xF003 and detail.handle is not None and detail.symbol:
            self._learn_handle(head.target, head.target_port, detail.handle, detail.symbol)
        elif group in (0xF005, 0xF006) and detail.symbol is None:
            # by-handle access: name the symbol the handle was obtained for (0xF006 release
            # writes the handle as its data, 0xF005 uses it as the index offset)
            handle = detail.handle if group == 0xF006 else detail.index_offset
            if handle is not None:
                detail.symbol = self.handles.get((target, tport, handle))
        if cmd == 9 and group in READ_GROUPS:
            fclass = "read"
        elif cmd == 3 and group == 0xF006:
            fclass = "other"  # releasing a symbol handle
        ams_error = resp.error if resp is not None else None
        code = ams_error or detail.result
        state = detail.ads_state
        flow.emit(AdsEvent(
            **fields, command=cmd, command_name=name, function_class=fclass,
            invoke_id=head.invoke, target_net_id=target, target_port=tport,
            target_port_name=PORTS.get(tport), source_net_id=source, source_port=sport,
            state_flags=head.flags, answered=None if one_way else resp is not None,
            request_missing=req is None, request_frame=req.frame if req is not None else None,
            ams_error=ams_error, result=detail.result,
            error_name=ERRORS.get(code, f"0x{code:x}") if code else None,
            response_time=(flow.ts - req.ts) if req is not None and resp is not None else None,
            index_group=group, index_group_name=INDEX_GROUPS.get(group) if group is not None
            else None, index_offset=detail.index_offset, length=detail.length,
            read_length=detail.read_length, write_length=detail.write_length,
            response_length=detail.response_length, symbol=detail.symbol,
            sub_requests=detail.sub_requests, handle=detail.handle,
            ads_state=state, ads_state_name=ADS_STATES.get(state) if state is not None else None,
            device_state=detail.device_state, transmission_mode=detail.transmission_mode,
            cycle_time=detail.cycle_time, notification_stamps=detail.notification_stamps,
            notification_samples=detail.notification_samples, version=detail.version,
            device_name=detail.device_name))

    # -- AMS/UDP discovery --------------------------------------------------------------------
    def _discovery(self, data: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            msg = decode_discovery(data)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if msg.service not in UDP_SERVICES:
            flow.anomaly("ads.unknown_command", f"AMS/UDP service {msg.service}", from_client)
        key = (msg.invoke, msg.service)
        if msg.is_response:
            probe = self.discovery.pop(key, None)
            if probe is None:
                self._emit_discovery(None, msg, not from_client)
            else:
                self._emit_discovery(probe, msg, probe.from_client)
            return
        old = self.discovery.pop(key, None)
        if old is not None:
            self._emit_discovery(old, None, old.from_client)
        if len(self.discovery) >= self.limit:
            flow.anomaly("ads.too_many_pending",
                         f"more than {self.limit} AMS/UDP requests awaiting a response",
                         from_client)
            first = self.discovery.pop(next(iter(self.discovery)))
            self._emit_discovery(first, None, first.from_client)
        self.discovery[key] = _Probe(msg, flow.ts, flow.frame, from_client)

    def _emit_discovery(self, req: _Probe | None, resp: Discovery | None,
                        req_from_client: bool) -> None:
        flow = self.flow
        fields = flow.fields(req_from_client)
        if req is not None and resp is None:
            fields["ts"], fields["frame"] = req.ts, req.frame
        head = req.msg if req is not None else resp
        assert head is not None
        values: dict[str, str | int | bool] = {}
        names: list[str] = []
        for msg in (req.msg if req is not None else None, resp):
            if msg is None:
                continue
            for tag, raw in msg.tags:
                names.append(tag_name(tag))
                if tag == 2:
                    values["password_present"] = bool(raw.strip(b"\0"))
                elif tag == 1 and len(raw) >= 4:
                    values["status"] = struct.unpack_from("<I", raw)[0]
                elif tag == 3 and len(raw) >= 4:
                    major, minor, build = struct.unpack_from("<BBH", raw)
                    values["twincat_version"] = f"{major}.{minor}.{build}"
                elif tag == 4 and len(raw) >= 20:
                    major, minor, build, platform = struct.unpack_from("<IIII", raw, 4)
                    values["os_version"] = (f"{_PLATFORMS.get(platform, f'platform {platform}')}"
                                            f" {major}.{minor}.{build}")
                elif tag == 5:
                    values["host_name"] = _text(raw)
                elif tag == 7 and len(raw) == 6:
                    values["route_net_id"] = net_id(raw)
                elif tag == 12:
                    values["route_name"] = _text(raw)
                elif tag == 13:
                    values["user_name"] = _text(raw)
        name, fclass = UDP_SERVICES.get(head.service, (f"service_{head.service}", "other"))
        status = values.get("status")
        flow.emit(AdsDiscoveryEvent(
            **fields, service=head.service, service_name=name, function_class=fclass,
            invoke_id=head.invoke, answered=resp is not None, request_missing=req is None,
            request_frame=req.frame if req is not None else None,
            net_id=req.msg.net_id if req is not None else None,
            responder_net_id=resp.net_id if resp is not None else None,
            host_name=_str(values.get("host_name")), route_name=_str(values.get("route_name")),
            route_net_id=_str(values.get("route_net_id")),
            user_name=_str(values.get("user_name")),
            password_present=values.get("password_present") is True if "password_present"
            in values else None,
            twincat_version=_str(values.get("twincat_version")),
            os_version=_str(values.get("os_version")),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            error_name=ERRORS.get(status, f"0x{status:x}") if isinstance(status, int)
            and status else None,
            tags=names or None,
            response_time=(flow.ts - req.ts) if req is not None and resp is not None else None))


def _str(value: str | int | bool | None) -> str | None:
    return value if isinstance(value, str) else None

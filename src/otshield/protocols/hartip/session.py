"""Per-flow HART-IP state (UDP and TCP 5094).

Pairing (HCF_SPEC-085 10.2.1): a response repeats the request's sequence number and message
id. Publish (burst) messages have their own sequence and are reported one by one. The pending
map is bounded by ``Settings.max_pending_requests``; requests unanswered after
``Settings.request_timeout`` or at flow end are reported unanswered.
"""

from __future__ import annotations

import math
import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.hartip.constants import (
    COMMANDS,
    DEVICE_STATUS_BITS,
    MESSAGE_IDS,
    MESSAGE_TYPES,
    RESPONSE_CODES,
    UNITS,
)
from otshield.protocols.hartip.events import HartIpEvent, HartVariable
from otshield.protocols.hartip.parser import (
    HartHeader,
    HartPdu,
    decode_direct,
    decode_header,
    decode_pdu,
)
from otshield.protocols.pending import pop_expired

__all__ = ["HartIpSession"]


class _Pending:
    __slots__ = ("frame", "from_client", "hdr", "pdu", "ts")

    def __init__(self, hdr: HartHeader, pdu: HartPdu | None, ts: float, frame: int,
                 from_client: bool) -> None:
        self.hdr = hdr
        self.pdu = pdu
        self.ts = ts
        self.frame = frame
        self.from_client = from_client


def _num(x: float | None) -> float | None:
    """NaN / infinity (HART's "not a number" values) are not JSON: reported as absent."""
    return x if x is not None and math.isfinite(x) else None


class HartIpSession:
    """HART-IP decoder state for one flow."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.pending: dict[tuple[int, int], _Pending] = {}
        self.limit = max(1, flow.settings.max_pending_requests)
        self.timeout = flow.settings.request_timeout
        self.saturated = False

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            hdr = decode_header(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if hdr.message_type not in MESSAGE_TYPES:
            flow.anomaly("hartip.bad_header", f"message type {hdr.message_type}", from_client)
            return
        if hdr.message_id not in MESSAGE_IDS:
            flow.anomaly("hartip.unknown_message", f"message id {hdr.message_id}", from_client)
        pdu: HartPdu | None = None
        if hdr.message_id in (3, 4) and hdr.body and hdr.message_type in (0, 1, 2):
            try:
                pdu = (decode_pdu(hdr.body) if hdr.message_id == 3
                       else decode_direct(hdr.body, hdr.message_type != 0))
            except Malformed as m:
                flow.anomaly(m.code, m.detail, from_client)
            else:
                if pdu.bad_checksum:
                    flow.anomaly("hartip.bad_checksum",
                                 f"command {pdu.command}: longitudinal parity mismatch",
                                 from_client)
        if hdr.message_type == 0:
            self._request(hdr, pdu, from_client)
        elif hdr.message_type == 2:
            self._emit(None, hdr, pdu, from_client, publish=True)
        else:
            entry = self.pending.pop((hdr.sequence, hdr.message_id), None)
            self._emit(entry, hdr, pdu, entry.from_client if entry else not from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: HART-IP over TCP is framed by ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: pending requests are reported when the flow ends."""

    def close(self) -> None:
        if self.pending:
            self.flow.anomaly("hartip.unanswered_request",
                              f"{len(self.pending)} HART-IP requests without a response", True)
        for entry in list(self.pending.values()):
            self._emit(entry, None, None, entry.from_client)
        self.pending.clear()

    def _request(self, hdr: HartHeader, pdu: HartPdu | None, from_client: bool) -> None:
        flow = self.flow
        if self.pending:
            self._expire()
        key = (hdr.sequence, hdr.message_id)
        old = self.pending.pop(key, None)
        if old is not None:
            self._emit(old, None, None, old.from_client)
        if len(self.pending) >= self.limit:
            if not self.saturated:
                self.saturated = True
                flow.anomaly("hartip.too_many_pending",
                             f"more than {self.limit} HART-IP requests awaiting a response",
                             from_client)
            first = self.pending.pop(next(iter(self.pending)))
            self._emit(first, None, None, first.from_client)
        elif len(self.pending) < self.limit // 2:
            self.saturated = False
        self.pending[key] = _Pending(hdr, pdu, flow.ts, flow.frame, from_client)

    def _expire(self) -> None:
        for entry in pop_expired(self.pending, self.flow.ts - self.timeout):
            self.flow.anomaly("hartip.unanswered_request",
                              f"sequence {entry.hdr.sequence} unanswered for "
                              f"{self.timeout:g} s", entry.from_client)
            self._emit(entry, None, None, entry.from_client)

    def _emit(self, req: _Pending | None, resp: HartHeader | None, rpdu: HartPdu | None,
              req_from_client: bool, publish: bool = False) -> None:
        flow = self.flow
        fields = flow.fields(req_from_client)
        if req is not None and resp is None:
            fields["ts"], fields["frame"] = req.ts, req.frame
        head = req.hdr if req is not None else resp
        assert head is not None
        qpdu = req.pdu if req is not None else None
        pdu = rpdu or qpdu
        mname, mclass = MESSAGE_IDS.get(head.message_id, (f"0x{head.message_id:02x}", "other"))
        mtype = MESSAGE_TYPES.get(head.message_type, str(head.message_type))
        master = timer = None
        body = req.hdr.body if req is not None else (resp.body if resp is not None else b"")
        if head.message_id == 0 and len(body) >= 5:
            master, timer = struct.unpack_from(">BI", body)
        fclass = mclass
        if pdu is not None:
            fclass = COMMANDS.get((qpdu or pdu).command, ("", "other"))[1]
        event = HartIpEvent(
            **fields, version=head.version, message_type="publish" if publish else (
                "request" if req is not None else mtype),
            message_id=head.message_id, message_name=mname, function_class=fclass,
            sequence=head.sequence, answered=None if publish else resp is not None,
            request_missing=req is None and not publish,
            request_frame=req.frame if req is not None else None,
            status=resp.status if resp is not None else None,
            response_time=(flow.ts - req.ts) if req is not None and resp is not None else None,
            master_type=master, inactivity_close_timer=timer)
        if pdu is not None:
            event = _with_pdu(event, qpdu, rpdu, pdu)
        flow.emit(event)


def _with_pdu(event: HartIpEvent, qpdu: HartPdu | None, rpdu: HartPdu | None,
              pdu: HartPdu) -> HartIpEvent:
    """The event completed with what the request and response PDUs say."""
    addr_pdu = qpdu or pdu
    cmd = addr_pdu.command
    v = rpdu.values if rpdu is not None else pdu.values
    rc = rpdu.response_code if rpdu is not None else None
    ds = rpdu.device_status if rpdu is not None else None
    comm = rc is not None and bool(rc & 0x80)
    variables = None
    if v.variables is not None:
        variables = [HartVariable(code=c, units=u, units_name=UNITS.get(u), value=val)
                     for c, u, val in v.variables if math.isfinite(val)]
    polling = v.polling_address
    if polling is None and qpdu is not None:
        polling = qpdu.values.polling_address
    flags = None
    if ds is not None and not comm:
        flags = [name for bit, name in DEVICE_STATUS_BITS if ds & bit] or None
    return msgspec.structs.replace(
        event, command=cmd, command_name=COMMANDS.get(cmd, (f"command_{cmd}", ""))[0],
        frame_type=pdu.frame_type, address=addr_pdu.address, device_type=addr_pdu.device_type,
        device_id=v.device_id if v.device_id is not None else addr_pdu.device_id,
        response_code=rc, response_name=None if rc is None or comm else RESPONSE_CODES.get(rc),
        communication_error=comm, device_status=ds, device_status_flags=flags,
        bad_checksum=bool(rpdu and rpdu.bad_checksum) or bool(qpdu and qpdu.bad_checksum),
        manufacturer_id=v.manufacturer_id, expanded_device_type=v.expanded_device_type,
        universal_revision=v.universal_revision, device_revision=v.device_revision,
        software_revision=v.software_revision, hardware_revision=v.hardware_revision,
        config_change_counter=v.config_change_counter, tag=v.tag, polling_address=polling,
        pv=_num(v.pv), pv_units=v.pv_units,
        pv_units_name=UNITS.get(v.pv_units) if v.pv_units is not None else None,
        loop_current=_num(v.loop_current), percent_of_range=_num(v.percent_of_range),
        variables=variables)

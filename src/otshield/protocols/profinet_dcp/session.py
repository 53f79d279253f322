"""PROFINET DCP transaction tracking, driven by the ``profinet_rt`` link session (DCP has no
Ethertype of its own: it rides on 0x8892 with FrameIDs 0xFEFC-0xFEFF).

Identify requests/responses and Hello are emitted as they come; Get and Set requests wait
(bounded by ``Settings.max_pending_requests`` and ``Settings.request_timeout``) for the response
with the same Xid between the same two MACs, so a Set event carries what was written and whether
the device accepted it.
"""

from __future__ import annotations

from collections import OrderedDict

from otshield.errors import Malformed
from otshield.events import LinkFields
from otshield.protocols.base import LinkContext
from otshield.protocols.profinet_dcp.constants import (
    RESET_SUBOPTIONS,
    SERVICE_GET,
    SERVICE_SET,
    SIGNAL_SUBOPTION,
    TRANSACTION_SUBOPTIONS,
)
from otshield.protocols.profinet_dcp.events import ProfinetDcpEvent
from otshield.protocols.profinet_dcp.parser import DcpPdu, block_name, parse

__all__ = ["DcpTracker", "function_class"]

_Key = tuple[int, str, str]  # xid, requester MAC, responder MAC


def function_class(pdu: DcpPdu) -> str:
    """identify (Identify/Hello/Get), control (factory reset), diagnostics (Signal), config."""
    if pdu.service_id != SERVICE_SET:
        return "identify"
    blocks = set(pdu.blocks)
    if blocks & RESET_SUBOPTIONS:
        return "control"
    if blocks - TRANSACTION_SUBOPTIONS - {SIGNAL_SUBOPTION}:
        return "config"
    return "diagnostics" if SIGNAL_SUBOPTION in blocks else "config"


def _values(pdu: DcpPdu) -> dict[str, object]:
    return {
        "response_delay": pdu.response_delay, "station_name": pdu.station_name,
        "alias_name": pdu.alias_name, "vendor_name": pdu.vendor_name,
        "vendor_id": pdu.vendor_id, "device_id": pdu.device_id,
        "oem_vendor_id": pdu.oem_vendor_id, "oem_device_id": pdu.oem_device_id,
        "device_instance": pdu.device_instance, "device_roles": pdu.device_roles,
        "device_options": pdu.device_options, "ip": pdu.ip, "netmask": pdu.netmask,
        "gateway": pdu.gateway, "dns_servers": pdu.dns, "ip_state": pdu.ip_state,
        "mac": pdu.mac, "dhcp": pdu.dhcp, "signal_value": pdu.signal_value,
        "reset_mode": pdu.reset_mode, "initiative": pdu.initiative,
    }


class _Pending:
    __slots__ = ("fields", "pdu")

    def __init__(self, fields: LinkFields, pdu: DcpPdu) -> None:
        self.fields = fields
        self.pdu = pdu


class DcpTracker:
    """Decodes DCP PDUs for one engine and pairs Get/Set transactions."""

    def __init__(self, link: LinkContext) -> None:
        self.link = link
        self._pending: OrderedDict[_Key, _Pending] = OrderedDict()
        self._limit = max(1, link.settings.max_pending_requests)
        self._overflow_reported = False

    def on_pdu(self, data: bytes) -> None:
        """``data``: the DCP PDU after the FrameID."""
        link = self.link
        try:
            pdu = parse(data)
        except Malformed as exc:
            link.anomaly(exc.code, exc.detail)
            return
        if pdu.truncated_blocks:
            link.anomaly("profinet_dcp.too_many_blocks", f"more than {len(pdu.blocks)} blocks")
        if pdu.ip_conflict:
            link.anomaly("profinet_dcp.ip_conflict",
                         f"device reports an address conflict on {pdu.ip}")
        if pdu.service_id in (SERVICE_GET, SERVICE_SET):
            if pdu.is_request:
                self._request(pdu)
            else:
                self._response(pdu)
            return
        self._emit(link.fields(), pdu, None, None)

    def _request(self, pdu: DcpPdu) -> None:
        link = self.link
        key = (pdu.xid, link.src_mac, link.dst_mac)
        old = self._pending.pop(key, None)
        if old is not None:  # a retransmission (same Xid): report the first as unanswered
            self._emit(old.fields, old.pdu, None, "unanswered")
        self._expire()
        if len(self._pending) >= self._limit:
            if not self._overflow_reported:
                self._overflow_reported = True
                link.anomaly("profinet_dcp.too_many_pending",
                             f"more than {self._limit} Get/Set requests awaiting a response")
            _, oldest = self._pending.popitem(last=False)
            self._emit(oldest.fields, oldest.pdu, None, "unanswered")
        self._pending[key] = _Pending(link.fields(), pdu)

    def _expire(self) -> None:
        """Report requests older than ``Settings.request_timeout`` as unanswered."""
        limit = self.link.ts - self.link.settings.request_timeout
        pending = self._pending
        while pending:
            first = next(iter(pending.values()))
            if first.fields["ts"] >= limit:
                break
            pending.popitem(last=False)
            self._emit(first.fields, first.pdu, None, "unanswered")

    def _response(self, resp: DcpPdu) -> None:
        link = self.link
        req = self._pending.pop((resp.xid, link.dst_mac, link.src_mac), None)
        errors = tuple(f"{b}:{e}" for b, e in resp.block_errors)
        if resp.service_type == "response_not_supported":
            result = "not_supported"
        elif any(e != "ok" for _, e in resp.block_errors):
            result = "error"
        else:
            result = "ok"
        if req is None:
            # Response without its request: describe it from the device's side.
            self._emit(link.fields(), resp, None, result, errors)
            return
        fields = req.fields
        fields["ts"], fields["frame"] = link.ts, link.frame
        self._emit(fields, req.pdu, resp, result, errors)

    def _emit(self, fields: LinkFields, pdu: DcpPdu, resp: DcpPdu | None, result: str | None,
              errors: tuple[str, ...] = ()) -> None:
        values = _values(pdu)
        if resp is not None:  # a Get answer carries the values; keep the request's otherwise
            for k, v in _values(resp).items():
                if v is not None:
                    values[k] = v
        qualifier = None
        if pdu.qualifier is not None and pdu.service_id == SERVICE_SET:
            qualifier = "permanent" if pdu.qualifier & 1 else "temporary"
        blocks = tuple(block_name(o, s) for o, s in pdu.blocks)
        self.link.emit(ProfinetDcpEvent(
            **fields, service=pdu.service,
            service_type=resp.service_type if resp is not None else pdu.service_type,
            xid=pdu.xid, function_class=function_class(pdu), blocks=blocks,
            qualifier=qualifier, result=result, block_errors=errors,
            response_frame=self.link.frame if resp is not None else None,
            **values))  # type: ignore[arg-type]

    def close(self) -> None:
        for p in self._pending.values():
            self._emit(p.fields, p.pdu, None, "unanswered")
        self._pending.clear()

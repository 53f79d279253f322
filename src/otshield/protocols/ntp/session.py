"""NTP per-flow session: decode each datagram, emit one :class:`NtpEvent`, flag the
management modes attackers use for reconnaissance and amplification (mode 6 control, mode 7
private, above all the mode 7 "monlist" query of CVE-2013-5211)."""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.ntp.constants import (
    CONTROL_OPCODES,
    LEAP,
    MODES,
    MONLIST_REQUESTS,
    PRIVATE_IMPLEMENTATIONS,
    PRIVATE_REQUESTS,
)
from otshield.protocols.ntp.events import NtpEvent
from otshield.protocols.ntp.parser import NtpMessage, decode

__all__ = ["NtpSession"]


class NtpSession:
    """Stateless apart from which management-mode anomalies this flow already raised: one of
    each per flow is enough signal (every message still gets its event)."""

    __slots__ = ("flagged", "flow")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.flagged: set[str] = set()

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            msg = decode(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if msg.trailer_error is not None:
            flow.anomaly("ntp.bad_trailer", msg.trailer_error, from_client)
        flow.emit(_event(flow, msg, from_client))
        if msg.mode == 6:
            self._flag("ntp.control_message",
                       f"mode 6 {CONTROL_OPCODES.get(msg.opcode or 0, msg.opcode)}", from_client)
        elif msg.mode == 7:
            req = msg.request_code or 0
            code = "ntp.monlist" if req in MONLIST_REQUESTS else "ntp.private_message"
            self._flag(code, f"mode 7 {PRIVATE_REQUESTS.get(req, req)}"
                       f" {'response' if msg.response else 'request'}", from_client)

    def _flag(self, code: str, detail: str, from_client: bool) -> None:
        if code not in self.flagged:
            self.flagged.add(code)
            self.flow.anomaly(code, detail, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """NTP is datagram-only (RFC 5905 runs over UDP)."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Datagrams have no gaps."""

    def close(self) -> None:
        """Nothing is held between datagrams."""


def _event(flow: FlowContext, m: NtpMessage, from_client: bool) -> NtpEvent:
    common = flow.fields(from_client)
    if m.mode == 6:
        return NtpEvent(**common, version=m.version, mode="control", leap=LEAP[m.leap],
                        response=m.response, error=m.error, more=m.more, sequence=m.sequence,
                        opcode=CONTROL_OPCODES.get(m.opcode or 0, str(m.opcode)),
                        status=m.status, assoc_id=m.assoc_id, data_length=m.data_length)
    if m.mode == 7:
        impl = m.implementation or 0
        req = m.request_code or 0
        return NtpEvent(**common, version=m.version, mode="private", response=m.response,
                        more=m.more, sequence=m.sequence,
                        implementation=PRIVATE_IMPLEMENTATIONS.get(impl, str(impl)),
                        request=PRIVATE_REQUESTS.get(req, str(req)), error_code=m.error_code,
                        item_count=m.item_count, item_size=m.item_size)
    return NtpEvent(**common, version=m.version, mode=MODES[m.mode], leap=LEAP[m.leap],
                    stratum=m.stratum, poll=m.poll, precision=m.precision,
                    root_delay=m.root_delay, root_dispersion=m.root_dispersion,
                    ref_id=m.ref_id, kiss_code=m.kiss_code, ref_time=m.ref_time,
                    org_time=m.org_time, rec_time=m.rec_time, xmt_time=m.xmt_time,
                    key_id=m.key_id, extensions=m.extensions or None, nts=m.nts or None)

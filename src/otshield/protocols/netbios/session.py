"""NetBIOS per-flow session: UDP 137 packets are name service, UDP 138 datagram service; one
event per packet, decoding problems as ``nbns.*`` / ``nbdgm.*`` anomalies."""

from __future__ import annotations

from typing import Any

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.netbios.constants import (
    BROWSER_OPCODES,
    DGM_ERRORS,
    DGM_TYPES,
    NODE_TYPES,
    NS_OPCODES,
    NS_RCODES,
    RR_TYPES,
    SERVER_TYPES,
)
from otshield.protocols.netbios.events import NbdgmEvent, NbnsEvent
from otshield.protocols.netbios.names import SUFFIXES
from otshield.protocols.netbios.parser import decode_browser, decode_dgm, decode_ns
from otshield.protocols.smb.smb1 import parse_smb1

__all__ = ["NetbiosSession"]

_SMB1_TRANSACTION = 0x25


class NetbiosSession:
    """Stateless per packet; the flow's ports say which service it is."""

    __slots__ = ("flow", "ns")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.ns = 137 in (flow.server_port, flow.client_port)

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        try:
            if self.ns:
                self._ns(frame, from_client)
            else:
                self._dgm(frame, from_client)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)

    def _ns(self, frame: bytes, from_client: bool) -> None:
        m = decode_ns(frame)
        self.flow.emit(NbnsEvent(
            **self.flow.fields(from_client), transaction_id=m.transaction_id,
            opcode=NS_OPCODES.get(m.opcode, str(m.opcode)), response=m.response,
            name=m.display_name,
            name_type=SUFFIXES.get(m.suffix) if m.suffix is not None else None,
            query_type=RR_TYPES.get(m.qtype or m.rr_type or 0),
            rcode=NS_RCODES.get(m.rcode, str(m.rcode)) if m.response else None,
            broadcast=m.broadcast or None, addresses=tuple(m.addresses) or None, ttl=m.ttl,
            group=m.group,
            node_type=NODE_TYPES[m.node_type] if m.node_type is not None else None,
            node_names=tuple(m.node_names) or None, mac=m.mac, truncated=m.truncated or None))

    def _dgm(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        m = decode_dgm(frame)
        fields: dict[str, Any] = {}
        if m.user_data:
            try:
                hdr, cmds = parse_smb1(m.user_data) if m.user_data[:4] == b"\xffSMB" \
                    else (None, [])
            except Malformed as exc:
                flow.anomaly("nbdgm.bad_smb", exc.detail, from_client)
                hdr, cmds = None, []
            if hdr is not None and cmds and cmds[0].command == _SMB1_TRANSACTION:
                t = cmds[0]
                fields["mailslot"] = t.trans_name
                if t.trans_name is not None and t.trans_name.upper() == "\\MAILSLOT\\BROWSE" \
                        and t.trans_data:
                    _browser(t.trans_data, fields)
        flow.emit(NbdgmEvent(
            **flow.fields(from_client), msg_type=DGM_TYPES.get(m.msg_type, str(m.msg_type)),
            datagram_id=m.datagram_id, source_ip=m.source_ip, source_port=m.source_port,
            source_name=m.source_name, destination_name=m.destination_name,
            error=DGM_ERRORS.get(m.error_code, str(m.error_code))
            if m.error_code is not None else None,
            **{k: v for k, v in fields.items() if v is not None}))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """The name and datagram services are datagram-only here (TCP 137 is unused)."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Datagrams have no gaps."""

    def close(self) -> None:
        """Nothing is held between packets."""


def _browser(data: bytes, fields: dict[str, Any]) -> None:
    b = decode_browser(data)
    if b is None:
        return
    fields["browser_command"] = BROWSER_OPCODES.get(b.opcode, f"0x{b.opcode:02x}")
    if b.opcode == 0x0C:  # DomainAnnouncement: the "server name" is the workgroup/domain
        fields["domain"] = b.server_name
    else:
        fields["host_name"] = b.server_name
    if b.os_major is not None:
        fields["os_version"] = f"{b.os_major}.{b.os_minor}"
    if b.server_type is not None:
        fields["server_type"] = tuple(n for bit, n in SERVER_TYPES if b.server_type & bit)
    fields["browser_version"] = b.browser_version
    fields["comment"] = b.comment
    fields["election_criteria"] = b.criteria

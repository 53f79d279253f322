"""Per-flow EtherNet/IP session (TCP and UDP 44818): encapsulation commands, CIP transactions.

Pairing (Vol. 2, 2-3.1 and 2-4.7/2-4.8):
- encapsulation commands (ListIdentity, RegisterSession...) by command and sender context;
- unconnected CIP (SendRRData) by session handle and sender context, first in first out;
- connected CIP (SendUnitData) by connection id and CIP sequence count. Requests carry the
  O->T connection id and replies the T->O one: the mapping is learnt from Forward_Open replies
  seen on the flow, or else from the first reply whose sequence count matches a single
  pending request.

Pending requests are bounded by ``Settings.max_pending_requests`` (the oldest is reported
unanswered, with one ``enip.too_many_pending`` anomaly per flow) and by
``Settings.request_timeout`` seconds of packet time.

A CIP reply without a pending request is held for :data:`EARLY_REPLY_HOLD` seconds before it
is reported with ``request_missing``: after capture loss the engine delivers a direction's held
segments only when it declares the gap, so a request can reach the session after its reply.
"""

from __future__ import annotations

import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.enip.cip import parse_response
from otshield.protocols.enip.constants import ENCAP_COMMANDS, ENCAP_STATUS
from otshield.protocols.enip.encap import (
    HEADER_SIZE,
    EncapHeader,
    parse_cpf,
    parse_header,
    parse_list_identity,
    parse_list_services,
    parse_register_session,
    parse_rr_data,
    sockaddr,
)
from otshield.protocols.enip.events import EnipEvent, EnipIdentity, EnipService
from otshield.protocols.enip.records import (
    CipTransaction,
    EarlyReply,
    EncapRequest,
    ReplyInfo,
    cip_event,
)
from otshield.protocols.enip.services import decode_reply, split_multiple
from otshield.protocols.enip.transaction import Node, build_orphan, build_request

__all__ = ["EARLY_REPLY_HOLD", "EnipSession"]

EARLY_REPLY_HOLD = 5.0
"""Seconds (packet time) a reply without a request waits for a late request."""

_LIST_COMMANDS = frozenset({0x0004, 0x0063, 0x0064})
_ONE_WAY = frozenset({0x0000, 0x0066, 0x0072, 0x0073, 0x00C8})
_CIP_COMMANDS = frozenset({0x006F, 0x0070})
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

Key = tuple[int, int, bytes | int]
"""(kind, session handle or command or connection id, sender context or sequence count)."""
_ENCAP, _UNCONNECTED, _CONNECTED = 0, 1, 2


class EnipSession:
    """Decodes one TCP connection (or UDP flow) on port 44818."""

    __slots__ = ("conn_map", "count", "early", "early_count", "flagged", "flow", "limit",
                 "next_check", "pending", "timeout", "udp")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.timeout = flow.settings.request_timeout
        self.limit = max(1, flow.settings.max_pending_requests)
        self.udp = flow.transport == "udp"
        self.pending: dict[Key, list[EncapRequest | CipTransaction]] = {}
        self.count = 0
        self.conn_map: dict[int, int] = {}  # T->O connection id -> O->T connection id
        self.early: dict[Key, list[EarlyReply]] = {}
        self.early_count = 0
        self.flagged: set[str] = set()
        self.next_check = 0.0

    # -- Session protocol ---------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            hdr = parse_header(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if (self.count or self.early_count) and flow.ts >= self.next_check:
            self._expire(flow.ts)
        end = HEADER_SIZE + hdr.length
        if end != len(frame):
            flow.anomaly("enip.invalid_length",
                         f"{len(frame) - end} bytes after the {hdr.length} declared", from_client)
        if hdr.options:
            self._flag("enip.nonzero_options", f"options 0x{hdr.options:08x} (must be 0)",
                       from_client)
        data = frame[HEADER_SIZE:end]
        command = hdr.command
        if command in _CIP_COMMANDS:
            self._rr(hdr, data, from_client)
        elif command in _LIST_COMMANDS:
            if hdr.length or hdr.status or not from_client:
                self._encap_reply(hdr, data, from_client)
            else:
                self._add((_ENCAP, command, hdr.context),
                          EncapRequest(hdr, flow.ts, flow.frame, from_client), from_client)
        elif command in _ONE_WAY:
            self._one_way(hdr, from_client)
        else:
            if command not in ENCAP_COMMANDS and from_client:
                flow.anomaly("enip.unknown_command", f"command 0x{command:04x}", from_client)
            if from_client:
                req = EncapRequest(hdr, flow.ts, flow.frame, from_client)
                if command == 0x0065:
                    try:
                        req.version, req.options = parse_register_session(data)
                    except Malformed as m:
                        flow.anomaly(m.code, m.detail, from_client)
                self._add((_ENCAP, command, hdr.context), req, from_client)
            else:
                self._encap_reply(hdr, data, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Framed protocol: the engine delivers whole messages to :meth:`on_frame`."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Requests whose replies were lost are reported unanswered when they time out."""

    def close(self) -> None:
        for held in self.early.values():
            for early in held:
                self._orphan(early)
        self.early.clear()
        self.early_count = 0
        unanswered_cip = unanswered_encap = 0
        for entries in self.pending.values():
            for entry in entries:
                if isinstance(entry, CipTransaction):
                    unanswered_cip += 1
                else:
                    unanswered_encap += 1
                self._unanswered(entry)
        self.pending.clear()
        self.count = 0
        # UDP List* requests go to broadcast addresses: their replies arrive on other flows
        if unanswered_cip:
            self.flow.anomaly("cip.unanswered_request",
                              f"{unanswered_cip} CIP requests without a reply", True)
        if unanswered_encap and not self.udp:
            self.flow.anomaly("enip.unanswered_request",
                              f"{unanswered_encap} encapsulation requests without a reply", True)

    # -- pending requests ---------------------------------------------------------------------
    def _add(self, key: Key, entry: EncapRequest | CipTransaction, from_client: bool) -> None:
        if self.count >= self.limit:
            self._flag("enip.too_many_pending",
                       f"more than {self.limit} requests await replies; the oldest are "
                       "reported unanswered", from_client)
            self._evict()
        bucket = self.pending.get(key)
        if bucket is None:
            self.pending[key] = [entry]
        else:
            bucket.append(entry)
        self.count += 1
        if self.count == 1 and not self.early_count:
            self.next_check = entry.ts + self.timeout

    def _take(self, key: Key) -> EncapRequest | CipTransaction | None:
        bucket = self.pending.get(key)
        if bucket is None:
            return None
        entry = bucket.pop(0)
        if not bucket:
            del self.pending[key]
        self.count -= 1
        return entry

    def _evict(self) -> None:
        key = next(iter(self.pending))
        entry = self._take(key)
        if entry is not None:
            self._unanswered(entry)

    def _expire(self, now: float) -> None:
        limit = now - self.timeout
        next_check = now + self.timeout
        while self.pending:
            key = next(iter(self.pending))
            first = self.pending[key][0]
            if first.ts > limit:
                next_check = first.ts + self.timeout
                break
            self._take(key)
            self._unanswered(first)
        limit = now - EARLY_REPLY_HOLD
        while self.early:
            key = next(iter(self.early))
            early = self.early[key][0]
            if early.ts > limit:
                next_check = min(next_check, early.ts + EARLY_REPLY_HOLD)
                break
            self._take_early(key)
            self._orphan(early)
        self.next_check = next_check

    def _hold(self, key: Key, early: EarlyReply) -> None:
        if self.early_count >= self.limit:
            oldest = self._take_early(next(iter(self.early)))
            if oldest is not None:
                self._orphan(oldest)
        self.early.setdefault(key, []).append(early)
        self.early_count += 1
        if self.early_count == 1 and not self.count:
            self.next_check = early.ts + EARLY_REPLY_HOLD
        else:
            self.next_check = min(self.next_check, early.ts + EARLY_REPLY_HOLD)

    def _take_early(self, key: Key) -> EarlyReply | None:
        held = self.early.get(key)
        if held is None:
            return None
        early = held.pop(0)
        if not held:
            del self.early[key]
        self.early_count -= 1
        return early

    def _early_for(self, connected: bool, session: int, context: bytes, o2t: int,
                   seq: int) -> EarlyReply | None:
        """A held reply that answers the request being added."""
        if not connected:
            return self._take_early((_UNCONNECTED, session, context))
        mapped_o2t = set(self.conn_map.values())
        for key in self.early:
            if key[0] != _CONNECTED or key[2] != seq:
                continue
            known = self.conn_map.get(key[1])
            if known == o2t or (known is None and o2t not in mapped_o2t):
                if known is None:
                    self._learn(key[1], o2t)
                return self._take_early(key)
        return None

    def _orphan(self, early: EarlyReply) -> None:
        tx = CipTransaction(early.command, early.session, early.context, early.conn_id, early.seq,
                  build_orphan(early.message), early.ts, early.frame, not early.from_client)
        self._emit_tree(tx, tx.node, early.message, early.reply, True, None, False, orphan=True)

    def _unanswered(self, entry: EncapRequest | CipTransaction) -> None:
        if isinstance(entry, CipTransaction):
            self._emit_tree(entry, entry.node, None, None, False, entry.node.route,
                            entry.node.ucs)
        else:
            self._emit_encap(entry, None, None, entry.from_client, False)

    def _flag(self, code: str, detail: str, from_client: bool) -> None:
        if code not in self.flagged:
            self.flagged.add(code)
            self.flow.anomaly(code, detail, from_client)

    # -- encapsulation commands ---------------------------------------------------------------
    def _one_way(self, hdr: EncapHeader, from_client: bool) -> None:
        flow = self.flow
        flow.emit(EnipEvent(
            **flow.fields(from_client), command=hdr.command,
            command_name=ENCAP_COMMANDS.get(hdr.command, f"0x{hdr.command:04x}"),
            function_class="other", session_handle=hdr.session, sender_context=hdr.context.hex(),
            status=hdr.status or None,
            status_name=ENCAP_STATUS.get(hdr.status) if hdr.status else None))

    def _encap_reply(self, hdr: EncapHeader, data: bytes, from_client: bool) -> None:
        entry = self._take((_ENCAP, hdr.command, hdr.context))
        req = entry if isinstance(entry, EncapRequest) else None
        self._emit_encap(req, hdr, data, from_client, True)

    def _emit_encap(self, req: EncapRequest | None, hdr: EncapHeader | None, data: bytes | None,
                    reply_from_client: bool, answered: bool) -> None:
        flow = self.flow
        fields = flow.fields(req.from_client if req is not None else not reply_from_client)
        if not answered and req is not None:
            fields["ts"] = req.ts
            fields["frame"] = req.frame
        base = req if req is not None else hdr
        assert base is not None
        command = base.command
        identity: EnipIdentity | None = None
        services: list[EnipService] | None = None
        items: int | None = None
        version = req.version if req is not None else None
        options = req.options if req is not None else None
        status: int | None = None
        session = base.session
        if hdr is not None and data is not None:
            status = hdr.status
            session = hdr.session
            try:
                if command == 0x0063 and data:
                    items, identities = parse_list_identity(data)
                    identity = identities[0] if identities else None
                elif command == 0x0004 and data:
                    items, services = parse_list_services(data)
                elif command == 0x0064 and data:
                    items = len(parse_cpf(data))
                elif command == 0x0065 and data:
                    version, options = parse_register_session(data)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, reply_from_client)
        flow.emit(EnipEvent(
            **fields, command=command,
            command_name=ENCAP_COMMANDS.get(command, f"0x{command:04x}"),
            function_class="identify" if command in _LIST_COMMANDS else "other",
            session_handle=session, sender_context=base.context.hex(), answered=answered,
            status=status, status_name=ENCAP_STATUS.get(status) if status is not None else None,
            response_time=(flow.ts - req.ts) if answered and req is not None else None,
            protocol_version=version, options=options, items=items, identity=identity,
            services=services, request_missing=req is None))

    # -- CIP over SendRRData / SendUnitData ---------------------------------------------------
    def _rr(self, hdr: EncapHeader, data: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            _handle, _timeout, items = parse_rr_data(data)
        except Malformed as m:
            if hdr.status and not data:  # an encapsulation error reply carries no data
                self._encap_error(hdr, from_client)
            else:
                flow.anomaly(m.code, m.detail, from_client)
            return
        conn_id: int | None = None
        seq: int | None = None
        message: bytes | None = None
        connected = False
        sockets: dict[int, str] | None = None
        for type_id, item in items:
            if type_id == 0x00A1:
                if len(item) != 4:
                    flow.anomaly("enip.bad_cpf", f"connected address item of {len(item)} bytes",
                                 from_client)
                    return
                conn_id = _U32.unpack_from(item)[0]
            elif type_id == 0x00B1:
                if len(item) < 2:
                    flow.anomaly("enip.bad_cpf", "connected data item without a sequence count",
                                 from_client)
                    return
                seq = _U16.unpack_from(item)[0]
                message = item[2:]
                connected = True
            elif type_id == 0x00B2:
                message = item
            elif type_id in (0x8000, 0x8001):
                try:
                    ip, port = sockaddr(item)
                except Malformed as m:
                    flow.anomaly(m.code, m.detail, from_client)
                else:
                    sockets = sockets or {}
                    sockets[type_id] = f"{ip}:{port}"
        if message is None:
            if hdr.status:
                self._encap_error(hdr, from_client)
            else:
                flow.anomaly("enip.bad_cpf", "no CIP data item", from_client)
            return
        if connected and conn_id is None:
            flow.anomaly("enip.bad_cpf", "connected data without a connected address", from_client)
            return
        if not message:
            flow.anomaly("cip.invalid_length", "empty CIP message", from_client)
            return
        command = ENCAP_COMMANDS[hdr.command]
        if message[0] & 0x80:
            self._cip_reply(hdr, command, conn_id, seq, message, from_client, sockets)
            return
        node = build_request(message)
        self._report(node, from_client)
        context = None if connected else hdr.context.hex()
        entry = CipTransaction(command, hdr.session, context, conn_id, seq, node, flow.ts,
                               flow.frame, from_client)
        entry.sockets = sockets
        if self.early_count:
            early = self._early_for(connected, hdr.session, hdr.context, conn_id or 0, seq or 0)
            if early is not None:
                self._emit_tree(entry, node, early.message, early.reply, True, node.route,
                                node.ucs)
                return
        key: Key = ((_CONNECTED, conn_id or 0, seq or 0) if connected
                    else (_UNCONNECTED, hdr.session, hdr.context))
        self._add(key, entry, from_client)

    def _encap_error(self, hdr: EncapHeader, from_client: bool) -> None:
        """A SendRRData/SendUnitData reply with an encapsulation error and no CIP data."""
        entry = self._take((_UNCONNECTED, hdr.session, hdr.context))
        if isinstance(entry, CipTransaction):
            self._emit_tree(entry, entry.node, None, ReplyInfo(hdr.status, self.flow.ts), True,
                            entry.node.route, entry.node.ucs)
            return
        flow = self.flow
        flow.emit(EnipEvent(
            **flow.fields(not from_client), command=hdr.command,
            command_name=ENCAP_COMMANDS.get(hdr.command, f"0x{hdr.command:04x}"),
            function_class="other", session_handle=hdr.session, sender_context=hdr.context.hex(),
            answered=True, status=hdr.status, status_name=ENCAP_STATUS.get(hdr.status),
            request_missing=True))

    def _cip_reply(self, hdr: EncapHeader, command: str, conn_id: int | None, seq: int | None,
                   message: bytes, from_client: bool, sockets: dict[int, str] | None) -> None:
        flow = self.flow
        entry: EncapRequest | CipTransaction | None
        if conn_id is not None and seq is not None:
            entry = self._take_connected(conn_id, seq)
        else:
            entry = self._take((_UNCONNECTED, hdr.session, hdr.context))
        reply = ReplyInfo(hdr.status, flow.ts, sockets)
        if isinstance(entry, CipTransaction):
            self._emit_tree(entry, entry.node, message, reply, True, entry.node.route,
                            entry.node.ucs)
            return
        early = EarlyReply(command, hdr.session, None if conn_id is not None else hdr.context.hex(),
                       conn_id, seq, message, reply, flow.frame, from_client)
        key: Key = ((_CONNECTED, conn_id, seq) if conn_id is not None and seq is not None
                    else (_UNCONNECTED, hdr.session, hdr.context))
        self._hold(key, early)

    def _take_connected(self, t2o: int, seq: int) -> EncapRequest | CipTransaction | None:
        o2t = self.conn_map.get(t2o)
        if o2t is not None:
            return self._take((_CONNECTED, o2t, seq))
        # Mapping not known yet: the oldest pending connected request with this sequence count
        # on a connection id not already mapped.
        mapped = set(self.conn_map.values())
        for key in self.pending:
            if key[0] == _CONNECTED and key[2] == seq and key[1] not in mapped:
                self._learn(t2o, key[1])
                return self._take(key)
        return None

    def _learn(self, t2o: int, o2t: int) -> None:
        conn_map = self.conn_map
        if t2o not in conn_map and len(conn_map) >= self.limit:
            del conn_map[next(iter(conn_map))]
        conn_map[t2o] = o2t

    # -- events -------------------------------------------------------------------------------
    def _report(self, node: Node, from_client: bool) -> None:
        """Anomalies found while decoding a request tree (or a reply into it)."""
        if node.errors:
            for code, detail in node.errors:
                self.flow.anomaly(code, detail, from_client)
            node.errors.clear()
        if node.children:
            for child in node.children:
                self._report(child, from_client)

    def _emit_tree(self, tx: CipTransaction, node: Node, message: bytes | None,
                   reply: ReplyInfo | None, answered: bool, route: str | None, ucs: bool,
                   index: int | None = None, orphan: bool = False) -> None:
        """One event for ``node`` (paired with the reply ``message``), then its children."""
        flow = self.flow
        resp = None
        if message is not None:
            try:
                resp = parse_response(message)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, not tx.from_client)
        reply_service: int | None = None
        detail = node.detail
        if resp is not None:
            if resp.service != node.service:
                reply_service = resp.service
                if not (ucs and resp.service == 0x52) and not orphan:
                    flow.anomaly("cip.reply_mismatch",
                                 f"reply to service 0x{node.service:02x} has service "
                                 f"0x{resp.service:02x}", not tx.from_client)
            else:
                detail = decode_reply(node.name, node.class_id, detail, resp.status, resp.data,
                                      node.path.instance)
                self._report(node, not tx.from_client)
                conn = detail.connection
                if (resp.status == 0 and conn is not None and node.name in
                        ("Forward_Open", "Large_Forward_Open")
                        and conn.t2o_connection_id is not None
                        and conn.o2t_connection_id is not None):
                    self._learn(conn.t2o_connection_id, conn.o2t_connection_id)
        conn = detail.connection
        if conn is not None and (tx.sockets or (reply is not None and reply.sockets)):
            found = {**(tx.sockets or {}), **((reply.sockets if reply else None) or {})}
            detail.connection = msgspec.structs.replace(
                conn, o2t_socket=found.get(0x8000), t2o_socket=found.get(0x8001))
        children = node.children
        fields = flow.fields(tx.from_client)
        if reply is None or orphan:  # reported later than the packet that completed it
            fields["ts"] = tx.ts
            fields["frame"] = tx.frame
        flow.emit(cip_event(fields, tx, node, detail, resp, reply, answered, route, ucs, index,
                            reply_service, orphan))
        if not children:
            return
        messages: list[bytes] = []
        if resp is not None and reply_service is None and resp.service == 0x0A and resp.data:
            try:
                messages, declared = split_multiple(resp.data)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, not tx.from_client)
            else:
                if declared != node.declared and not orphan:
                    flow.anomaly("cip.multiple_count_mismatch",
                                 f"{node.declared} services requested, {declared} replies",
                                 not tx.from_client)
        for i, child in enumerate(children):
            sub = messages[i] if i < len(messages) else None
            self._emit_tree(tx, child, sub, reply, answered and sub is not None,
                            child.route or route, child.ucs or ucs, i, orphan=orphan)

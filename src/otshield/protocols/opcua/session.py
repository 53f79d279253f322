"""Per-connection OPC UA state: Hello/Acknowledge, secure channels, chunk reassembly, pairing.

OPC 10000-6: 7.1 (UA Connection Protocol), 6.7.2 (chunks: MessageChunks of one message share
a RequestId; ``C`` intermediate, ``F`` final, ``A`` abort, 6.7.3), 6.7.2.4 (sequence numbers
increase by one per chunk in each direction of a channel, wrapping only above
4294966271 to a value below 1024), 6.7.4-6.7.6 (OpenSecureChannel messages are signed and
encrypted under any policy other than None; MSG bodies are encrypted only in
SignAndEncrypt mode).

Pairing: a response answers the request with the same secure channel id and request id
(OpenSecureChannel by request id alone: the request of a new channel carries id 0). Pending
requests are bounded by ``Settings.max_pending_requests`` and expire after
``Settings.request_timeout`` (or the request's TimeoutHint if longer); Publish requests, which
servers hold on purpose until there is something to send, do not expire and are not reported as
an anomaly when left unanswered.

The OPC UA client is the side that sends Hello; with ReverseHello (7.1.2.6) the server opens
the TCP connection, so roles are taken from the messages, not from the TCP handshake.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.opcua.constants import POLICY_SIGNATURE_SIZE, status_name
from otshield.protocols.opcua.events import OpcuaEvent, OpcuaHello
from otshield.protocols.opcua.record import Message, build_event
from otshield.protocols.opcua.services import Body, decode_body, looks_plain
from otshield.protocols.opcua.transport import (
    HEADER_SIZE,
    Hello,
    frame_size,
    parse_acknowledge,
    parse_asymmetric,
    parse_error,
    parse_hello,
    parse_reverse_hello,
)

__all__ = ["OpcuaSession"]

MAX_CHUNKS = 4096
"""Chunks of one message accepted when the Hello/Acknowledge set no MaxChunkCount."""
_SYM = struct.Struct("<IIII")  # SecureChannelId, TokenId, SequenceNumber, RequestId
_SCID = struct.Struct("<I")
_NEVER = float("inf")
_OPN_KEY = -1  # pending OpenSecureChannel requests are keyed (-1, request id)
_WRAP_FROM = 4294966271  # UInt32.MaxValue - 1024 (Part 6, 6.7.2.4)


@dataclass(slots=True)
class _Channel:
    policy: str | None = None
    policy_uri: str | None = None
    mode: str | None = None
    """None / Sign / SignAndEncrypt when known (read or inferred)."""
    plaintext: bool | None = None
    """Bodies proved readable (True) or not (False); None until a body was tried."""


@dataclass(slots=True)
class _Partial:
    bodies: list[bytes] = field(default_factory=list)
    size: int = 0
    chunks: int = 0


class OpcuaSession:
    """Decodes one OPC UA binary TCP connection (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        settings = flow.settings
        self.timeout = settings.request_timeout
        self.limit = max(1, settings.max_pending_requests)
        self.max_bytes = settings.max_stream_buffer
        self.max_chunks = MAX_CHUNKS
        self.client_is_tcp_client = True
        self.roles_known = False
        self.hello: tuple[Hello, float, int] | None = None
        self.hello_seen = False
        self.gap = False
        self.channels: dict[int, _Channel] = {}
        self.pending: dict[tuple[int, int], Message] = {}
        self.partial: dict[tuple[bool, int, int], _Partial] = {}
        self.last_seq: dict[bool, int] = {}
        self.issue_pending = False
        self.flagged: set[str] = set()
        self.next_expiry = _NEVER

    # -- Session protocol -----------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        try:
            size = frame_size(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if size is None or size != len(frame):
            flow.anomaly("opcua.bad_header", f"message size {size} for a unit of {len(frame)} "
                         "bytes", from_client)
            return
        if flow.ts >= self.next_expiry:
            self._expire(flow.ts)
        mtype = frame[:3]
        chunk = frame[3]
        if mtype in (b"MSG", b"OPN", b"CLO"):
            if not self.roles_known:
                self._roles(mtype, from_client, frame)
            self._secure(mtype, chunk, frame, from_client)
            return
        if chunk != 0x46:  # connection messages are never chunked (7.1.2.2)
            flow.anomaly("opcua.bad_chunk", f"{mtype.decode()} with chunk type "
                         f"{chr(chunk)!r} (must be F)", from_client)
            return
        try:
            if mtype == b"HEL":
                self._hello(frame, from_client)
            elif mtype == b"ACK":
                self._acknowledge(frame, from_client)
            elif mtype == b"ERR":
                self._error(frame, from_client)
            else:
                self._reverse_hello(frame, from_client)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Framed protocol: the engine delivers whole messages to :meth:`on_frame`."""

    def on_gap(self, from_client: bool, size: int) -> None:
        # Chunks of this direction were lost: partial messages cannot complete and the
        # sequence number restarts from whatever comes next.
        self.gap = True
        ua_client = from_client == self.client_is_tcp_client
        self.last_seq.pop(ua_client, None)
        for key in [k for k in self.partial if k[0] == ua_client]:
            del self.partial[key]

    def close(self) -> None:
        if self.hello is not None:
            self._emit_hello(None, None, "unanswered")
        for key, part in self.partial.items():
            self.flow.anomaly("opcua.bad_chunk", f"message with request id {key[2]} ended after "
                              f"{part.chunks} chunks without a final chunk", key[0] ==
                              self.client_is_tcp_client)
        self.partial.clear()
        pending, self.pending = self.pending, {}
        for msg in pending.values():
            self._unanswered(msg, "no response before the connection ended")

    # -- roles ----------------------------------------------------------------------------------
    def _roles(self, mtype: bytes, from_client: bool, frame: bytes) -> None:
        """A connection seen from its middle: the side sending requests is the client. An OPN
        or MSG request carries a request header; guess from OPN/CLO (client only) or the
        first MSG's body type when readable."""
        self.roles_known = True
        if mtype == b"CLO":
            self.client_is_tcp_client = from_client
        elif mtype == b"OPN":
            # The client's OPN of a new channel has SecureChannelId 0.
            if len(frame) >= 12 and _SCID.unpack_from(frame, 8)[0] == 0:
                self.client_is_tcp_client = from_client
        elif len(frame) >= 26:
            try:
                body = decode_body(frame, 24)
            except Malformed:
                return
            self.client_is_tcp_client = from_client == body.is_request

    # -- connection messages (7.1.2) ------------------------------------------------------------
    def _hello(self, frame: bytes, from_client: bool) -> None:
        hello = parse_hello(frame)
        if not self.roles_known:
            self.roles_known = True
            self.client_is_tcp_client = from_client
        if self.hello is not None:
            self._emit_hello(None, None, "unanswered")
        self.hello = (hello, self.flow.ts, self.flow.frame)
        self.hello_seen = True
        if hello.max_chunk_count:
            self.max_chunks = min(MAX_CHUNKS, hello.max_chunk_count)

    def _acknowledge(self, frame: bytes, from_client: bool) -> None:
        ack = parse_acknowledge(frame)
        if ack.max_chunk_count:
            self.max_chunks = min(self.max_chunks, ack.max_chunk_count)
        self._emit_hello(ack, None, "ok")

    def _error(self, frame: bytes, from_client: bool) -> None:
        code, reason = parse_error(frame)
        if self.hello is not None:
            self._emit_hello(None, (code, reason), "bad")
            return
        flow = self.flow
        if self.pending:
            # The server gives up on the connection (7.1.2.5), answering the request it was
            # processing: the newest pending one.
            req = self.pending.pop(next(reversed(self.pending)))
            flow.emit(build_event(flow.fields(self.client_is_tcp_client), req, None,
                                  status="bad", error=(code, reason)))
            return
        flow.emit(OpcuaEvent(
            **flow.fields(self.client_is_tcp_client), kind="error", function_class="other",
            status="bad", error_code=code, error_name=status_name(code), reason=reason))

    def _reverse_hello(self, frame: bytes, from_client: bool) -> None:
        server_uri, url = parse_reverse_hello(frame)
        if not self.roles_known:
            # The server sends ReverseHello: the other side is the OPC UA client.
            self.roles_known = True
            self.client_is_tcp_client = not from_client
        flow = self.flow
        flow.emit(OpcuaEvent(
            **flow.fields(self.client_is_tcp_client), kind="reverse_hello",
            function_class="other", status="ok",
            hello=OpcuaHello(server_uri=server_uri, endpoint_url=url)))

    def _emit_hello(self, ack: Hello | None, error: tuple[int, str | None] | None,
                    status: str) -> None:
        flow = self.flow
        fields = flow.fields(self.client_is_tcp_client)
        hello: Hello | None = None
        request_frame: int | None = None
        response_time: float | None = None
        if self.hello is not None:
            hello, ts, frame = self.hello
            self.hello = None
            request_frame = frame
            if status == "unanswered":
                fields["ts"] = ts
                fields["frame"] = frame
            else:
                response_time = flow.ts - ts
        record = OpcuaHello(
            endpoint_url=hello.endpoint_url if hello else None,
            protocol_version=hello.protocol_version if hello else None,
            receive_buffer_size=hello.receive_buffer_size if hello else None,
            send_buffer_size=hello.send_buffer_size if hello else None,
            max_message_size=hello.max_message_size if hello else None,
            max_chunk_count=hello.max_chunk_count if hello else None,
            server_protocol_version=ack.protocol_version if ack else None,
            server_receive_buffer_size=ack.receive_buffer_size if ack else None,
            server_send_buffer_size=ack.send_buffer_size if ack else None,
            server_max_message_size=ack.max_message_size if ack else None,
            server_max_chunk_count=ack.max_chunk_count if ack else None)
        flow.emit(OpcuaEvent(
            **fields, kind="hello", function_class="other", status=status,
            request_frame=request_frame, response_time=response_time,
            error_code=error[0] if error else None,
            error_name=status_name(error[0]) if error else None,
            reason=error[1] if error else None, hello=record,
            request_missing=hello is None))

    # -- secure conversation (6.7) --------------------------------------------------------------
    def _secure(self, mtype: bytes, chunk: int, frame: bytes, from_client: bool) -> None:
        flow = self.flow
        ua_client = from_client == self.client_is_tcp_client
        if mtype == b"OPN":
            if chunk != 0x46:
                flow.anomaly("opcua.bad_chunk", f"OPN chunk type {chr(chunk)!r} (must be F)",
                             from_client)
                return
            self._open(frame, from_client, ua_client)
            return
        if len(frame) < 24:
            flow.anomaly("opcua.bad_chunk", f"{mtype.decode()} chunk of {len(frame)} bytes "
                         "without its security and sequence headers", from_client)
            return
        scid, token, seq, rid = _SYM.unpack_from(frame, HEADER_SIZE)
        channel = self.channels.get(scid)
        if channel is None:
            channel = self._new_channel(scid, _Channel())
        if channel.plaintext is None:
            # First chunk of a channel whose OpenSecureChannel was encrypted or not seen:
            # a readable body starts with a service type id, an encrypted one does not.
            channel.plaintext = looks_plain(frame, 24)
            if channel.policy not in (None, "None"):
                channel.mode = "Sign" if channel.plaintext else "SignAndEncrypt"
        opaque = not channel.plaintext
        if opaque:
            # Encryption covers the sequence header: its numbers are noise.
            seq = rid = 0
        else:
            self._check_sequence(ua_client, seq, from_client, False)
        if mtype == b"CLO":
            if chunk != 0x46:
                flow.anomaly("opcua.bad_chunk", f"CLO chunk type {chr(chunk)!r} (must be F)",
                             from_client)
                return
            self.channels.pop(scid, None)
            msg = self._message("close_secure_channel", frame, 24, scid, token, seq, rid, 1,
                                len(frame), channel, from_client)
            flow.emit(build_event(flow.fields(self.client_is_tcp_client), msg, None,
                                  status="encrypted" if opaque else "ok"))
            return
        key = (ua_client, scid, rid)
        body_part = frame[24:]
        sig = self._signature_size(channel)
        if sig and len(body_part) >= sig:
            body_part = body_part[:len(body_part) - sig]
        if chunk == 0x43:  # intermediate
            part = self.partial.get(key)
            if part is None:
                if len(self.partial) >= self.limit:
                    self._flag("opcua.too_many_pending",
                               f"more than {self.limit} messages being reassembled",
                               from_client)
                    del self.partial[next(iter(self.partial))]
                part = self.partial[key] = _Partial()
            part.bodies.append(body_part)
            part.size += len(frame)
            part.chunks += 1
            if part.chunks > self.max_chunks or part.size > self.max_bytes:
                del self.partial[key]
                flow.anomaly("opcua.too_many_chunks",
                             f"message with request id {rid}: {part.chunks} chunks, "
                             f"{part.size} bytes (limits {self.max_chunks} chunks, "
                             f"{self.max_bytes} bytes)", from_client)
            return
        part = self.partial.pop(key, None)
        if chunk == 0x41:  # abort
            self._abort(frame, scid, token, seq, rid, channel, from_client, ua_client, part)
            return
        chunks = 1
        size = len(frame)
        whole = frame
        offset = 24
        if part is not None:
            part.bodies.append(body_part)
            whole = b"".join(part.bodies)
            offset = 0
            chunks = part.chunks + 1
            size += part.size
        msg = self._message("service", whole, offset, scid, token, seq, rid, chunks, size,
                            channel, from_client)
        if opaque:
            # Nothing pairs encrypted messages (request ids are hidden): one event each.
            fields = flow.fields(self.client_is_tcp_client)
            flow.emit(build_event(fields, msg if ua_client else None,
                                  None if ua_client else msg, status="encrypted"))
            return
        if ua_client:
            self._request(msg, from_client)
        else:
            self._response(msg, from_client)

    def _open(self, frame: bytes, from_client: bool, ua_client: bool) -> None:
        flow = self.flow
        if len(frame) < 12:
            flow.anomaly("opcua.bad_chunk", "OPN without a SecureChannelId", from_client)
            return
        scid = _SCID.unpack_from(frame, HEADER_SIZE)[0]
        try:
            hdr = parse_asymmetric(frame)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if hdr.policy == "unknown":
            self._flag("opcua.unknown_policy", f"security policy {hdr.policy_uri!r}",
                       from_client)
        encrypted = hdr.policy != "None"
        seq: int | None = hdr.sequence_number
        rid: int | None = hdr.request_id
        if encrypted:
            seq = rid = None  # the sequence header is encrypted with the body (6.7.4)
        else:
            # A new channel (Issue, SecureChannelId 0) starts new sequences both ways.
            issue = scid == 0 if ua_client else self.issue_pending
            self.issue_pending = ua_client and scid == 0
            self._check_sequence(ua_client, hdr.sequence_number, from_client, issue)
        body: Body | None = None
        if not encrypted:
            try:
                body = decode_body(frame, hdr.body_offset)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, from_client)
            else:
                if body.error is not None:
                    flow.anomaly(body.error.code, body.error.detail, from_client)
        msg = Message("open_secure_channel", flow.ts, flow.frame, scid, None, rid, seq,
                      len(frame), 1, body, encrypted, hdr.policy,
                      hdr.policy_uri, "None" if not encrypted else None,
                      certificate=hdr.certificate_thumbprint,
                      receiver=hdr.receiver_thumbprint)
        if ua_client:
            msg.expires = flow.ts + self.timeout
            self._add((_OPN_KEY, rid or 0), msg, from_client)
            return
        req = self.pending.pop((_OPN_KEY, rid or 0), None)
        if req is None and encrypted:
            # request ids are hidden: the oldest OpenSecureChannel request is answered
            key = next((k for k in self.pending if k[0] == _OPN_KEY), None)
            req = self.pending.pop(key) if key is not None else None
        channel_id = scid
        if body is not None and body.channel is not None and body.channel.channel_id:
            channel_id = body.channel.channel_id
        mode = req.body.security_mode if req is not None and req.body is not None else None
        if not encrypted:
            mode = mode or "None"
        msg.mode = mode
        self._new_channel(channel_id, _Channel(hdr.policy, hdr.policy_uri, mode,
                                               True if not encrypted else None))
        self._pair_checks(req, msg, from_client)
        flow.emit(build_event(flow.fields(self.client_is_tcp_client), req, msg))

    def _abort(self, frame: bytes, scid: int, token: int, seq: int, rid: int,
               channel: _Channel | None, from_client: bool, ua_client: bool,
               part: _Partial | None) -> None:
        flow = self.flow
        error: tuple[int, str | None] | None = None
        if channel is None or channel.plaintext is not False:
            try:
                error = parse_error(frame, 24)
            except Malformed:
                error = None
        detail = (f"{status_name(error[0])}: {error[1]}" if error is not None
                  else "reason not readable")
        flow.anomaly("opcua.message_aborted", f"request id {rid} aborted after "
                     f"{part.chunks if part else 0} chunks ({detail})", from_client)
        req = self.pending.pop((scid, rid), None) if not ua_client else None
        opaque = channel is not None and channel.plaintext is False
        msg = Message("service", flow.ts, flow.frame, scid, token, None if opaque else rid,
                      None if opaque else seq, len(frame) + (part.size if part else 0),
                      (part.chunks if part else 0) + 1, None, opaque,
                      channel.policy if channel else None,
                      channel.policy_uri if channel else None, channel.mode if channel else None)
        if ua_client:
            flow.emit(build_event(flow.fields(self.client_is_tcp_client), msg, None,
                                  status="aborted", error=error))
        else:
            flow.emit(build_event(flow.fields(self.client_is_tcp_client), req, msg,
                                  status="aborted", error=error))

    def _message(self, kind: str, buf: bytes, offset: int, scid: int, token: int, seq: int,
                 rid: int, chunks: int, size: int, channel: _Channel,
                 from_client: bool) -> Message:
        """Decode a reassembled MSG/CLO body as far as the channel's security allows."""
        flow = self.flow
        body: Body | None = None
        encrypted = not channel.plaintext
        if not encrypted:
            try:
                body = decode_body(buf, offset)
            except Malformed as m:
                flow.anomaly(m.code, m.detail, from_client)
            else:
                if body.error is not None:
                    flow.anomaly(body.error.code, body.error.detail, from_client)
        if encrypted:
            return Message(kind, flow.ts, flow.frame, scid, token, None, None, size, chunks,
                           None, True, channel.policy, channel.policy_uri, channel.mode)
        return Message(kind, flow.ts, flow.frame, scid, token, rid, seq, size, chunks, body,
                       encrypted, channel.policy, channel.policy_uri, channel.mode)

    def _new_channel(self, scid: int, channel: _Channel) -> _Channel:
        channels = self.channels
        channels.pop(scid, None)
        if len(channels) >= self.limit:
            del channels[next(iter(channels))]
        channels[scid] = channel
        return channel

    def _signature_size(self, channel: _Channel | None) -> int:
        if channel is None or channel.mode != "Sign" or channel.policy is None:
            return 0
        return POLICY_SIGNATURE_SIZE.get(channel.policy, 0)

    def _check_sequence(self, ua_client: bool, seq: int, from_client: bool,
                        restart: bool) -> None:
        last = self.last_seq.get(ua_client)
        self.last_seq[ua_client] = seq
        if last is None or restart:
            return
        if seq != last + 1 and not (last > _WRAP_FROM and seq < 1024):
            self.flow.anomaly("opcua.bad_sequence",
                              f"sequence number {seq} after {last}", from_client)

    # -- pairing --------------------------------------------------------------------------------
    def _request(self, msg: Message, from_client: bool) -> None:
        body = msg.body
        timeout = self.timeout
        if body is not None:
            if not body.is_request:
                self.flow.anomaly("opcua.response_mismatch",
                                  f"{body.service} response sent by the client", from_client)
            if body.service == "Publish":
                timeout = _NEVER
            elif body.timeout_hint:
                timeout = max(timeout, body.timeout_hint / 1000.0)
        msg.expires = msg.ts + timeout
        self._add((msg.channel_id, msg.request_id or 0), msg, from_client)

    def _response(self, msg: Message, from_client: bool) -> None:
        flow = self.flow
        req = self.pending.pop((msg.channel_id, msg.request_id or 0), None)
        if req is None and self.hello_seen and not self.gap:
            flow.anomaly("opcua.unmatched_response",
                         f"no request with id {msg.request_id} on channel {msg.channel_id}",
                         from_client)
        self._pair_checks(req, msg, from_client)
        flow.emit(build_event(flow.fields(self.client_is_tcp_client), req, msg))

    def _pair_checks(self, req: Message | None, resp: Message, from_client: bool) -> None:
        if req is None or req.body is None or resp.body is None:
            return
        q, r = req.body, resp.body
        if r.is_request:
            self.flow.anomaly("opcua.response_mismatch",
                              f"{r.service} request sent by the server", from_client)
        elif r.service not in (q.service, "ServiceFault"):
            self.flow.anomaly("opcua.response_mismatch",
                              f"{r.service} response to a {q.service} request", from_client)
        elif q.request_handle != r.request_handle:
            self.flow.anomaly("opcua.response_mismatch",
                              f"request handle {r.request_handle} answers {q.request_handle}",
                              from_client)

    def _add(self, key: tuple[int, int], msg: Message, from_client: bool) -> None:
        pending = self.pending
        old = pending.pop(key, None)
        if old is not None:
            self._unanswered(old, "its request id was reused")
        if len(pending) >= self.limit:
            self._flag("opcua.too_many_pending",
                       f"more than {self.limit} requests await responses; the oldest are "
                       "reported unanswered", from_client)
            self._unanswered(pending.pop(next(iter(pending))), "", report=False)
        pending[key] = msg
        self.next_expiry = min(self.next_expiry, msg.expires)

    def _expire(self, now: float) -> None:
        next_expiry = _NEVER
        for key in [k for k, m in self.pending.items() if m.expires <= now]:
            self._unanswered(self.pending.pop(key), "no response in time")
        for m in self.pending.values():
            next_expiry = min(next_expiry, m.expires)
        self.next_expiry = next_expiry

    def _unanswered(self, msg: Message, why: str, report: bool = True) -> None:
        flow = self.flow
        fields = flow.fields(self.client_is_tcp_client)
        fields["ts"] = msg.ts
        fields["frame"] = msg.frame
        flow.emit(build_event(fields, msg, None))
        body = msg.body
        if report and not (body is not None and body.service == "Publish"):
            what = body.service if body is not None else msg.kind
            flow.anomaly("opcua.unanswered_request",
                         f"{what} request id {msg.request_id} on channel {msg.channel_id}: "
                         f"{why}" + (" (stream gap seen)" if self.gap else ""),
                         self.client_is_tcp_client)

    def _flag(self, code: str, detail: str, from_client: bool) -> None:
        if code not in self.flagged:
            self.flagged.add(code)
            self.flow.anomaly(code, detail, from_client)

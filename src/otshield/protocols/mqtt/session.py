"""Per-flow MQTT state: pairs packets with their acknowledgements and emits one event per
transaction (Zeek-style), counting keep-alives instead of reporting each.

Transactions (3.1.1 section 4.3 and 3.x, 5.0 section 4.3): CONNECT -> CONNACK; PUBLISH QoS 0
alone; QoS 1 -> PUBACK; QoS 2 -> PUBREC -> PUBREL -> PUBCOMP; SUBSCRIBE -> SUBACK;
UNSUBSCRIBE -> UNSUBACK. Packet identifiers are per sender (a broker numbers its own PUBLISHes),
so the pairing key is (sender, publish or subscribe, packet id). The pending map is bounded by
``Settings.max_pending_requests``; a packet unacknowledged for ``Settings.request_timeout``
seconds of packet time, or when the flow ends, is emitted ``unanswered``.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.mqtt.constants import (
    AUTH,
    CONNACK,
    CONNACK_RETURN_CODES,
    CONNECT,
    DISCONNECT,
    PACKET_NAMES,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    REASON_CODES,
    SUBACK,
    SUBACK_V3,
    SUBSCRIBE,
    UNSUBACK,
    UNSUBSCRIBE,
    ZERO_REASON,
)
from otshield.protocols.mqtt.events import MqttEvent, MqttSubscription
from otshield.protocols.mqtt.parser import MqttPacket, decode

__all__ = ["MQTT_PORT", "MqttSession"]

MQTT_PORT = 1883
_NEVER = float("inf")
_CLIENT_ONLY = frozenset({CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ})
_SERVER_ONLY = frozenset({CONNACK, SUBACK, UNSUBACK, PINGRESP})
_SUB_KEY = 1 << 16  # subscribe/unsubscribe keys are apart from publish keys
_CONNECT_KEY = -1
_V3_LENGTH = {CONNACK: 2, PUBACK: 2, PUBREC: 2, PUBREL: 2, PUBCOMP: 2, UNSUBACK: 2,
              DISCONNECT: 0}
"""Remaining length of packets whose 3.1.1 form is fixed (3.1.1 sections 3.2, 3.4-3.7, 3.11,
3.14)."""
_ACKED_BY = {CONNACK: CONNECT, PUBACK: PUBLISH, PUBREC: PUBLISH, PUBREL: PUBLISH,
             PUBCOMP: PUBLISH, SUBACK: SUBSCRIBE, UNSUBACK: UNSUBSCRIBE}


def reason_name(ptype: int, code: int, level: int) -> str:
    """Name of an acknowledgement's code: CONNACK 3.x return codes, v5 reason codes."""
    if ptype == CONNACK and level < 5:
        return CONNACK_RETURN_CODES.get(code, f"reserved_{code}")
    if code == 0:
        return ZERO_REASON.get(ptype, "success")
    return REASON_CODES.get(code, f"unknown_0x{code:02x}")


class _Pending:
    __slots__ = ("ack", "frame", "from_client", "pkt", "released", "ts")

    def __init__(self, pkt: MqttPacket, from_client: bool, ts: float, frame: int) -> None:
        self.pkt = pkt
        self.from_client = from_client
        self.ts = ts
        self.frame = frame
        self.ack: MqttPacket | None = None  # PUBREC of a QoS 2 PUBLISH
        self.released = False  # PUBREL seen


class MqttSession:
    """MQTT decoder state for one flow (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self._flow = flow
        # Which side is the MQTT client until a CONNECT says: the side not on port 1883.
        self._client = not (flow.client_port == MQTT_PORT and flow.server_port != MQTT_PORT)
        self._level = 4  # decode as 3.1.1 until a CONNECT says otherwise
        self._version: str | None = None
        self._connected = False  # a CONNECT was seen
        self._missing_reported = False
        self._pending: dict[int, _Pending] = {}
        self._max_pending = max(1, flow.settings.max_pending_requests)
        self._saturated = False
        self._timeout = flow.settings.request_timeout
        self._expire_at = _NEVER
        self._pings = 0
        self._pongs = 0

    # -- Session interface -------------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self._flow
        if not self._connected and self._level == 4 and frame:
            self._infer_level(frame)
        try:
            pkt = decode(frame, self._level)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if pkt.anomalies is not None:
            for code, detail in pkt.anomalies:
                flow.anomaly(code, detail, from_client)
        if flow.ts > self._expire_at:
            self._expire(flow.ts)
        ptype = pkt.type
        if ptype == CONNECT:
            self._on_connect(pkt, from_client)
            return
        if not self._connected and not self._missing_reported:
            self._missing_reported = True
            flow.anomaly("mqtt.missing_connect",
                         f"{pkt.name} before any CONNECT on this connection", from_client)
        sent_by_client = from_client == self._client
        if (ptype in _SERVER_ONLY and sent_by_client) or (
                ptype in _CLIENT_ONLY and not sent_by_client) or (
                ptype == DISCONNECT and not sent_by_client and self._level < 5):
            flow.anomaly("mqtt.unexpected_direction",
                         f"{pkt.name} sent by the {'client' if sent_by_client else 'broker'}",
                         from_client)
        if ptype == PUBLISH:
            self._on_publish(pkt, from_client)
        elif ptype == PINGREQ:
            self._pings += 1
        elif ptype == PINGRESP:
            self._pongs += 1
        elif ptype in (SUBSCRIBE, UNSUBSCRIBE):
            assert pkt.packet_id is not None
            self._add(_SUB_KEY | pkt.packet_id | (1 << 17 if from_client else 0), pkt,
                      from_client)
        elif ptype in (DISCONNECT, AUTH):
            flow.emit(self._event(pkt, from_client, None, None, "ok" if (
                pkt.reason_code or 0) < 0x80 else "error"))
        else:
            self._on_ack(pkt, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: the engine frames MQTT with ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        """Nothing to resynchronise: framing restarts at the next segment."""

    def close(self) -> None:
        pending, self._pending = self._pending, {}
        for entry in sorted(pending.values(), key=lambda e: e.frame):
            self._unanswered(entry, "no acknowledgement before the flow ended")
        if self._pings or self._pongs:
            flow = self._flow
            fields = flow.fields(self._client)
            flow.emit(MqttEvent(**fields, packet_type="PINGREQ", function_class="diagnostics",
                                status="ok" if self._pongs >= self._pings else "unanswered",
                                protocol_version=self._version, ping_requests=self._pings,
                                ping_responses=self._pongs))

    def _infer_level(self, frame: bytes) -> None:
        """Without the CONNECT, an acknowledgement longer than MQTT 3.1.1 allows shows 5.0
        (reason codes and properties follow the 3.1.1 fields)."""
        ptype = frame[0] >> 4
        limit = _V3_LENGTH.get(ptype)
        if limit is None:
            return
        head = 2
        while head < len(frame) and frame[head - 1] & 0x80:
            head += 1
        if len(frame) - head > limit:
            self._level = 5

    # -- packets -----------------------------------------------------------------------------------
    def _on_connect(self, pkt: MqttPacket, from_client: bool) -> None:
        flow = self._flow
        if self._connected:
            flow.anomaly("mqtt.duplicate_connect", "a second CONNECT on the connection",
                         from_client)
        elif not self._missing_reported:
            self._client = from_client  # the side that connects is the client, whatever ports
        if from_client != self._client:
            flow.anomaly("mqtt.unexpected_direction", "CONNECT sent by the broker", from_client)
        self._connected = True
        if pkt.version is not None and pkt.level is not None:
            self._level = pkt.level
            self._version = pkt.version
        self._add(_CONNECT_KEY, pkt, from_client)

    def _on_publish(self, pkt: MqttPacket, from_client: bool) -> None:
        if pkt.qos not in (1, 2) or pkt.packet_id is None:  # QoS 0 (and 3, reported) alone
            self._flow.emit(self._event(pkt, from_client, None, None, "ok"))
            return
        self._add(pkt.packet_id | (1 << 17 if from_client else 0), pkt, from_client)

    def _on_ack(self, ack: MqttPacket, from_client: bool) -> None:
        flow = self._flow
        ptype = ack.type
        if ptype == CONNACK:
            key = _CONNECT_KEY
        else:
            assert ack.packet_id is not None
            # PUBREL comes from the publisher; every other acknowledgement from its peer
            sender = from_client if ptype == PUBREL else not from_client
            key = ack.packet_id | (1 << 17 if sender else 0) | (
                _SUB_KEY if ptype in (SUBACK, UNSUBACK) else 0)
        entry = self._pending.get(key)
        if entry is not None and entry.pkt.type != _ACKED_BY[ptype]:
            entry = None
        if entry is None:
            flow.emit(self._event(ack, not from_client, None, ack, "unmatched"))
            if self._connected:
                flow.anomaly("mqtt.unmatched_response",
                             f"{ack.name} with packet id {ack.packet_id} answers nothing pending",
                             from_client)
            return
        code = ack.reason_code or 0
        if ptype == PUBREC:
            if code < 0x80 and entry.pkt.qos == 2:
                entry.ack = ack
                return  # the handshake goes on with PUBREL / PUBCOMP
        elif ptype == PUBREL:
            entry.released = True
            return
        del self._pending[key]
        if self._saturated and len(self._pending) <= self._max_pending // 2:
            self._saturated = False
        if ptype == CONNACK:
            status = "ok" if code == 0 else "refused"
        elif ptype in (SUBACK, UNSUBACK):
            codes = ack.codes or []
            bad = sum(1 for c in codes if c >= 0x80)
            status = "ok" if not bad else "error" if bad == len(codes) else "partial"
        else:
            status = "ok" if code < 0x80 else "error"
        flow.emit(self._event(entry.pkt, entry.from_client, entry, ack, status))

    # -- pending map -------------------------------------------------------------------------------
    def _add(self, key: int, pkt: MqttPacket, from_client: bool) -> None:
        flow = self._flow
        old = self._pending.pop(key, None)
        if old is not None:  # identifier reused before its acknowledgement: the old one is lost
            self._unanswered(old, f"packet id reused by a later {pkt.name}")
        if len(self._pending) >= self._max_pending:
            if not self._saturated:
                self._saturated = True
                flow.anomaly("mqtt.too_many_pending",
                             f"{len(self._pending)} packets without an acknowledgement; the "
                             "oldest are reported unanswered to make room", from_client)
            oldest = next(iter(self._pending))
            self._unanswered(self._pending.pop(oldest), "", report=False)
        if not self._pending:
            self._expire_at = flow.ts + self._timeout
        self._pending[key] = _Pending(pkt, from_client, flow.ts, flow.frame)

    def _expire(self, now: float) -> None:
        limit = now - self._timeout
        pending = self._pending
        while pending:
            key = next(iter(pending))
            entry = pending[key]
            if entry.ts >= limit:
                self._expire_at = entry.ts + self._timeout
                return
            del pending[key]
            self._unanswered(entry, f"no acknowledgement within {self._timeout:g} s")
        self._expire_at = _NEVER

    def _unanswered(self, entry: _Pending, why: str, report: bool = True) -> None:
        flow = self._flow
        status = "incomplete" if entry.ack is not None else "unanswered"
        flow.emit(self._event(entry.pkt, entry.from_client, entry, entry.ack, status,
                              at_request=True))
        if report:
            pkt = entry.pkt
            what = f"{pkt.name}" + (f" packet id {pkt.packet_id}" if pkt.packet_id is not None
                                    else "")
            flow.anomaly("mqtt.unanswered_request", f"{what}: {why}", entry.from_client)

    # -- events ------------------------------------------------------------------------------------
    def _event(self, pkt: MqttPacket, from_client: bool, entry: _Pending | None,
               ack: MqttPacket | None, status: str, at_request: bool = False) -> MqttEvent:
        """The record of ``pkt`` (the transaction's first packet, or an acknowledgement that
        answered nothing: then ``pkt is ack``) with what ``ack`` said."""
        flow = self._flow
        fields = flow.fields(from_client)
        if at_request and entry is not None:
            fields["ts"] = entry.ts
            fields["frame"] = entry.frame
        ptype = pkt.type
        sent_by_client = from_client == self._client
        if ptype in (CONNECT, AUTH):
            fclass = "security"
        elif ptype == PUBLISH:
            fclass = "write" if sent_by_client else "read"
        elif ptype in (SUBSCRIBE, UNSUBSCRIBE, SUBACK, UNSUBACK):
            fclass = "read"
        elif ptype == CONNACK:
            fclass = "security"
        elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            fclass = "write" if sent_by_client else "read"
        else:
            fclass = "other"
        level = self._level
        reason_code: int | None = None
        reason: str | None = None
        subs = pkt.subscriptions
        response_props = None
        if ack is not None:
            response_props = ack.properties if ack is not pkt else None
            if ack.reason_code is not None:
                reason_code = ack.reason_code
                reason = reason_name(ack.type, reason_code, level)
            elif level >= 5 and ack.type in (PUBACK, PUBREC, PUBCOMP) and ack is not pkt:
                reason_code, reason = 0, "success"
            if ack.codes is not None:
                subs = _with_results(subs, ack.codes, ack.type, level)
        elif pkt.reason_code is not None:  # DISCONNECT, AUTH
            reason_code = pkt.reason_code
            reason = reason_name(ptype, reason_code, level)
        elif ptype == DISCONNECT and level >= 5:
            reason_code, reason = 0, "normal_disconnection"
        resp_time = None
        request_frame = None
        if entry is not None:
            request_frame = entry.frame
            if not at_request:
                resp_time = round(flow.ts - entry.ts, 6)
        truncated = pkt.truncated or (ack is not None and ack.truncated)
        return MqttEvent(
            **fields, packet_type=PACKET_NAMES[ptype], function_class=fclass, status=status,
            protocol_version=pkt.version or self._version, request_frame=request_frame,
            response_time=resp_time, protocol_name=pkt.protocol_name, client_id=pkt.client_id,
            username=pkt.username, password_present=pkt.password_present,
            clean_session=pkt.clean_session, keep_alive=pkt.keep_alive,
            will_topic=pkt.will_topic, will_qos=pkt.will_qos, will_retain=pkt.will_retain,
            will_payload_length=pkt.will_payload_length, will_properties=pkt.will_properties,
            session_present=ack.session_present if ack is not None else None,
            reason_code=reason_code, reason=reason, topic=pkt.topic, qos=pkt.qos,
            retain=pkt.retain, dup=pkt.dup, packet_id=pkt.packet_id,
            payload_length=pkt.payload_length, payload_preview=pkt.payload_preview,
            subscriptions=tuple(subs) if subs is not None else None,
            properties=pkt.properties if ack is not pkt else None,
            response_properties=response_props if ack is not pkt else pkt.properties,
            truncated=truncated)


def _with_results(subs: list[MqttSubscription] | None, codes: list[int], ack_type: int,
                  level: int) -> list[MqttSubscription]:
    """The subscriptions with the SUBACK / UNSUBACK code at the same index (an acknowledgement
    with no request seen gets one entry per code, with an empty topic)."""
    out = []
    base = subs if subs is not None else [MqttSubscription("") for _ in codes]
    for i, sub in enumerate(base):
        if i >= len(codes):
            out.append(sub)
            continue
        code = codes[i]
        name = (SUBACK_V3.get(code, f"reserved_{code}") if ack_type == SUBACK and level < 5
                else reason_name(ack_type, code, level))
        out.append(MqttSubscription(sub.topic, sub.qos, sub.no_local, sub.retain_as_published,
                                    sub.retain_handling, code, name))
    return out

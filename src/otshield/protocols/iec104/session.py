"""Per-connection IEC 60870-5-104 state: sequence numbers, data transfer state, and commands
paired with their confirmations.

- Sequence numbers (104 section 5.1): each side numbers its I-format APDUs N(S) = 0, 1, ...
  modulo 2^15; N(R) acknowledges every I-format APDU of the other side numbered below it.
  A gap, a repeat or a step back of N(S) and an N(R) beyond what the other side has sent are
  reported. Numbers are known from the connection's first APDU when the TCP handshake was
  seen (they start at 0), otherwise from the first I-format APDU of each side; a stream gap
  forgets them.
- Data transfer (104 section 5.3): I-format APDUs are allowed only between STARTDT con and
  STOPDT con. Whether it is started is known when the handshake or a STARTDT/STOPDT was seen.
- Commands (101 7.2.3, 7.4): an ASDU with cause activation (6) or deactivation (8) waits for
  the other side's confirmation (7, 9, or the negative replies 44-47) with the same type id,
  common address and first object address; one event carries both. Unconfirmed commands are
  reported after ``Settings.request_timeout`` seconds of packet time or at the end; at most
  ``Settings.max_pending_requests`` wait.
- Roles: the controlling station is the TCP client, unless only the server side is not on port
  2404 (a connection seen from the middle, or opened by the outstation).
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.iec104.constants import (
    CAUSE_ACT,
    CAUSE_ACTCON,
    CAUSE_ACTTERM,
    CAUSE_DEACT,
    CAUSE_DEACTCON,
    CAUSE_FIRST_UNKNOWN,
    CAUSE_LAST_UNKNOWN,
    CAUSES,
    FILE_SINK_TYPES,
    FILE_SOURCE_TYPES,
    IEC104_PORT,
    PROGRAM,
    READ,
)
from otshield.protocols.iec104.events import (
    Iec104ApciEvent,
    Iec104ConnectionEvent,
    Iec104Event,
)
from otshield.protocols.iec104.parser import Asdu, decode_apci, decode_asdu, junk_problem

__all__ = ["Iec104Session"]

_MOD = 0x8000  # sequence numbers are 15 bits
_HALF = 0x4000  # ahead by less than half the space: a gap; otherwise behind: a duplicate
_NEVER = float("inf")
_DELETE_FILE = 4  # SCQ select-and-call qualifier: delete file

Key = tuple[bool, int, int, int, bool]
"""(sent by the flow's client, type id, common address, first object address, deactivation)."""


class _Pending:
    __slots__ = ("asdu", "cls", "frame", "from_client", "recv_seq", "send_seq", "ts")

    def __init__(self, asdu: Asdu, cls: str, from_client: bool, send_seq: int | None,
                 recv_seq: int | None, ts: float, frame: int) -> None:
        self.asdu = asdu
        self.cls = cls
        self.from_client = from_client
        self.send_seq = send_seq
        self.recv_seq = recv_seq
        self.ts = ts
        self.frame = frame


def _event(fields: CommonFields, a: Asdu, cls: str, send_seq: int | None,
           recv_seq: int | None, result: str | None = None, request_frame: int | None = None,
           response_time: float | None = None, reply: Asdu | None = None) -> Iec104Event:
    """The event of ``a``; for a command, ``reply`` is its confirmation."""
    return Iec104Event(**fields, type_id=a.type_id, type_name=a.type_name, function_class=cls,
                       cause=a.cause, cause_name=a.cause_name, common_address=a.common_address,
                       num_objects=a.num_objects, negative=a.negative, test=a.test,
                       originator=a.originator, sq=a.sq, objects=a.objects,
                       truncated=a.truncated, send_seq=send_seq, recv_seq=recv_seq,
                       result=result, response_cause=reply.cause if reply else None,
                       response_negative=reply.negative if reply else False,
                       request_frame=request_frame, response_time=response_time)


class Iec104Session:
    """IEC 104 decoder state for one connection (see the module docstring)."""

    def __init__(self, flow: FlowContext) -> None:
        self._flow = flow
        self._client = not (flow.client_port == IEC104_PORT and flow.server_port != IEC104_PORT)
        # Handshake seen: both sides start numbering at 0 with data transfer stopped.
        from_start = flow.opened_by_client
        self._next_ns: list[int | None] = [0, 0] if from_start else [None, None]
        self._transfer = "stopped" if from_start else "unknown"
        self._stopped_reported = False
        self._counts = [[0, 0, 0], [0, 0, 0]]  # per direction (0: flow client): I, S, U
        self._sequence_errors = 0
        self._timeout = flow.settings.request_timeout
        self._max_pending = max(1, flow.settings.max_pending_requests)
        self._pending: dict[Key, list[_Pending]] = {}
        # Confirmed activations that may still be terminated (cause 10): key -> command frame;
        # bounded like the pending map (the oldest are forgotten).
        self._confirmed: dict[Key, int] = {}
        self._count = 0
        self._saturated = False
        self._expire_at = _NEVER
        self._junk = [0, 0]
        self._junk_head = [b"", b""]
        # Per side: an unconfirmed acknowledgement of its APDUs beyond those seen, (N(R), its
        # sent count then, frame, acknowledging side is the flow's client).
        self._claims: list[tuple[int, int, int, bool] | None] = [None, None]
        self._gap = False

    # -- Session interface ---------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        flow = self._flow
        d = 0 if from_client else 1
        try:
            apci = decode_apci(frame)
        except Malformed:
            # a run of bytes frame_size skipped (or one that cannot be an APDU): reported once
            # when the run ends, whatever the segmentation
            if len(self._junk_head[d]) < 6:
                self._junk_head[d] += frame[:6 - len(self._junk_head[d])]
            self._junk[d] += len(frame)
            return
        if self._junk[d]:
            self._end_junk(from_client)
        if flow.ts > self._expire_at:
            self._expire(flow.ts)
        fmt = apci.format
        if fmt == "I":
            self._counts[d][0] += 1
            assert apci.send_seq is not None and apci.recv_seq is not None
            self._check_send(d, apci.send_seq, from_client)
            self._check_ack(d, apci.recv_seq, from_client)
            if self._transfer == "stopped" and not self._stopped_reported:
                self._stopped_reported = True
                flow.anomaly("iec104.data_before_startdt",
                             f"I-format APDU N(S)={apci.send_seq} while data transfer is not "
                             "started (no STARTDT con)", from_client)
            self._asdu(apci.asdu, from_client, apci.send_seq, apci.recv_seq)
        elif fmt == "S":
            self._counts[d][1] += 1
            assert apci.recv_seq is not None
            self._check_ack(d, apci.recv_seq, from_client)
        else:
            self._counts[d][2] += 1
            function = apci.u_function
            assert function is not None
            if function == "STARTDT_CON":
                self._transfer = "started"
                self._stopped_reported = False
            elif function == "STOPDT_CON" or (function == "STARTDT_ACT"
                                              and self._transfer == "unknown"):
                self._transfer = "stopped"  # (a STARTDT act says it was not started)
            flow.emit(Iec104ApciEvent(**flow.fields(from_client), function=function))

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: the engine frames IEC 104 with ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        d = 0 if from_client else 1
        if self._junk[d]:
            self._end_junk(from_client)
        self._next_ns[d] = None  # APDUs were lost: relearn the numbering
        self._claims[d] = None  # acknowledged APDUs may have been in the hole
        self._gap = True

    def close(self) -> None:
        flow = self._flow
        for from_client in (True, False):
            if self._junk[0 if from_client else 1]:
                self._end_junk(from_client)
        for o in (0, 1):
            if self._claims[o] is not None:
                self._settle_claim(o, None)
        entries = sorted((e for chain in self._pending.values() for e in chain),
                         key=lambda e: e.frame)
        self._pending = {}
        self._count = 0
        for entry in entries:
            self._unanswered(entry, "no confirmation before the connection ended")
        c = 0 if self._client else 1
        (i_s, s_s, u_s), (i_d, s_d, u_d) = self._counts[c], self._counts[1 - c]
        flow.emit(Iec104ConnectionEvent(
            **flow.fields(self._client), i_frames_src=i_s, i_frames_dst=i_d, s_frames_src=s_s,
            s_frames_dst=s_d, u_frames_src=u_s, u_frames_dst=u_d,
            sequence_errors=self._sequence_errors, data_transfer=self._transfer))

    # -- APCI checks ---------------------------------------------------------------------------
    def _end_junk(self, from_client: bool) -> None:
        d = 0 if from_client else 1
        code, detail = junk_problem(self._junk_head[d])
        self._flow.anomaly(code, f"{detail}: {self._junk[d]} bytes skipped to the next APDU",
                           from_client)
        self._junk[d] = 0
        self._junk_head[d] = b""

    def _check_send(self, d: int, ns: int, from_client: bool) -> None:
        if self._claims[d] is not None:
            self._settle_claim(d, ns)
        expected = self._next_ns[d]
        self._next_ns[d] = (ns + 1) % _MOD
        if expected is None or ns == expected:
            return
        self._sequence_errors += 1
        ahead = (ns - expected) % _MOD
        if ahead < _HALF:
            self._flow.anomaly("iec104.sequence_gap", f"N(S) {ns}, expected {expected}: "
                               f"{ahead} I-format APDUs missing", from_client)
        else:
            self._flow.anomaly("iec104.sequence_duplicate", f"N(S) {ns}, expected {expected}: "
                               f"{_MOD - ahead} behind", from_client)

    def _check_ack(self, d: int, nr: int, from_client: bool) -> None:
        """An N(R) beyond the other side's sent APDUs is only held as a claim: the APDUs may be
        on the wire but missing from the capture, which shows only when that side sends again
        (a stream gap clears the claim). Its next I-format APDU, or the end, confirms it."""
        o = 1 - d
        sent = self._next_ns[o]  # the other side's next N(S) = how many it has sent
        if sent is None or nr == sent or (nr - sent) % _MOD >= _HALF:
            return
        if self._claims[o] is None:
            self._claims[o] = (nr, sent, self._flow.frame, from_client)

    def _settle_claim(self, o: int, next_ns: int | None) -> None:
        """Report the claim on side ``o``'s APDUs unless ``next_ns`` (its next N(S)) shows
        they were sent after all."""
        claim = self._claims[o]
        self._claims[o] = None
        assert claim is not None
        nr, sent, frame, from_client = claim
        if next_ns is not None and (next_ns - nr) % _MOD < _HALF:
            return  # side o has sent them: lost from the capture, not from the connection
        self._sequence_errors += 1
        has_sent = f"up to {(sent - 1) % _MOD}" if sent else "none"
        self._flow.anomaly("iec104.ack_beyond_sent", f"N(R) {nr} in frame {frame} acknowledges "
                           f"I-format APDUs up to {(nr - 1) % _MOD}, the other side had sent "
                           f"{has_sent}", from_client)

    # -- ASDUs ---------------------------------------------------------------------------------
    def _asdu(self, data: bytes, from_client: bool, ns: int, nr: int) -> None:
        flow = self._flow
        try:
            a = decode_asdu(data, flow.ts)
        except Malformed as m:
            flow.anomaly(m.code, m.detail, from_client)
            return
        if a.anomalies is not None:
            for code, detail in a.anomalies:
                flow.anomaly(code, detail, from_client)
        cls = a.function_class
        tid = a.type_id
        if tid >= 120 and a.type_name != "UNKNOWN":
            cls = self._file_class(a, from_client)
        cause = a.cause
        ioa = a.objects[0].ioa if a.objects else 0
        if cause in (CAUSE_ACT, CAUSE_DEACT):
            self._command(_key(from_client, a, ioa, cause == CAUSE_DEACT), a, cls,
                          from_client, ns, nr)
            return
        if cause in (CAUSE_ACTCON, CAUSE_DEACTCON) or (
                CAUSE_FIRST_UNKNOWN <= cause <= CAUSE_LAST_UNKNOWN):
            if self._confirm(a, from_client, ioa):
                return
            flow.emit(_event(flow.fields(from_client), a, cls, ns, nr, result="unmatched"))
            flow.anomaly("iec104.unmatched_confirmation",
                         f"{a.type_name} cause {a.cause_name} common address "
                         f"{a.common_address} address {ioa}: no pending command", from_client)
            return
        if cause == CAUSE_ACTTERM:
            # the end of a confirmed activation (interrogation, command with return information)
            frame = self._confirmed.pop(_key(not from_client, a, ioa, False), None)
            if frame is not None:
                flow.emit(_event(flow.fields(from_client), a, cls, ns, nr, result="terminated",
                                 request_frame=frame))
                return
        flow.emit(_event(flow.fields(from_client), a, cls, ns, nr))

    def _file_class(self, a: Asdu, from_client: bool) -> str:
        """File transfer towards the controlled station is ``program``, from it ``read``:
        the sender of ready/segment/last-section ASDUs is the file's source, the sender of
        call/select and acknowledgements its sink (101 7.4.11). Deleting a file is ``program``."""
        controlling = from_client == self._client
        tid = a.type_id
        if tid in FILE_SOURCE_TYPES:
            return PROGRAM if controlling else READ
        if tid in FILE_SINK_TYPES:
            if tid == 122 and a.objects and (a.objects[0].qualifier or 0) & 0x0F == _DELETE_FILE:
                return PROGRAM
            return READ if controlling else PROGRAM
        return READ

    def _command(self, key: Key, a: Asdu, cls: str, from_client: bool, ns: int, nr: int) -> None:
        flow = self._flow
        if self._count >= self._max_pending:
            if not self._saturated:
                self._saturated = True
                flow.anomaly("iec104.too_many_pending",
                             f"{self._count} commands without a confirmation; the oldest are "
                             "reported unanswered to make room", from_client)
            self._unanswered(self._pop_oldest(), "", report=False)
        if not self._count:
            self._expire_at = flow.ts + self._timeout
        entry = _Pending(a, cls, from_client, ns, nr, flow.ts, flow.frame)
        chain = self._pending.get(key)
        if chain is None:
            self._pending[key] = [entry]
        else:
            chain.append(entry)
        self._count += 1

    def _confirm(self, a: Asdu, from_client: bool, ioa: int) -> bool:
        """Emit the command ``a`` confirms, if one is pending; False if none is."""
        cause = a.cause
        sender = not from_client  # the command came from the other side
        if cause == CAUSE_ACTCON:
            keys: tuple[bool, ...] = (False,)
        elif cause == CAUSE_DEACTCON:
            keys = (True,)
        else:  # unknown type/cause/address replies answer either
            keys = (False, True)
        for deact in keys:
            key = _key(sender, a, ioa, deact)
            chain = self._pending.get(key)
            if chain:
                entry = chain.pop(0)
                if not chain:
                    del self._pending[key]
                self._count -= 1
                if self._saturated and self._count <= self._max_pending // 2:
                    self._saturated = False
                if cause in (CAUSE_ACTCON, CAUSE_DEACTCON):
                    result = "negative" if a.negative else "confirmed"
                    if result == "confirmed" and cause == CAUSE_ACTCON:
                        confirmed = self._confirmed
                        confirmed.pop(key, None)
                        if len(confirmed) >= self._max_pending:
                            del confirmed[next(iter(confirmed))]
                        confirmed[key] = entry.frame
                else:
                    result = CAUSES[cause]
                flow = self._flow
                flow.emit(_event(flow.fields(entry.from_client), entry.asdu, entry.cls,
                                 entry.send_seq, entry.recv_seq, result=result,
                                 request_frame=entry.frame,
                                 response_time=round(flow.ts - entry.ts, 6), reply=a))
                return True
        return False

    def _pop_oldest(self) -> _Pending:
        key = min(self._pending, key=lambda k: self._pending[k][0].frame)
        chain = self._pending[key]
        entry = chain.pop(0)
        if not chain:
            del self._pending[key]
        self._count -= 1
        return entry

    def _expire(self, now: float) -> None:
        limit = now - self._timeout
        while self._pending:
            oldest = min(chain[0].ts for chain in self._pending.values())
            if oldest >= limit:
                self._expire_at = oldest + self._timeout
                return
            self._unanswered(self._pop_oldest(), f"no confirmation within {self._timeout:g} s")
        self._expire_at = _NEVER

    def _unanswered(self, entry: _Pending, why: str, report: bool = True) -> None:
        flow = self._flow
        fields = flow.fields(entry.from_client)
        fields["ts"] = entry.ts
        fields["frame"] = entry.frame
        a = entry.asdu
        flow.emit(_event(fields, a, entry.cls, entry.send_seq, entry.recv_seq,
                         result="unanswered", request_frame=entry.frame))
        if report:
            ioa = a.objects[0].ioa if a.objects else 0
            flow.anomaly("iec104.unanswered_command",
                         f"{a.type_name} {a.cause_name} common address {a.common_address} "
                         f"address {ioa}: {why}" + (" (stream gap seen)" if self._gap else ""),
                         entry.from_client)


def _key(from_client: bool, a: Asdu, ioa: int, deact: bool) -> Key:
    """Pairing key of a command or of the command a confirmation answers."""
    return (from_client, a.type_id, a.common_address, ioa, deact)

"""Per-flow DNP3 state: link frames -> transport reassembly -> application fragments -> events.

Works the same over TCP (``on_frame`` gets one unit cut by ``frame_size``: a link frame, or a
run of junk up to the next frame start) and UDP (``on_frame`` gets a datagram, which may hold
several link frames: DNP3 over IP carries frames unchanged).

Requests are remembered per (master address, outstation address) so that a response can name
the request it answers (clause 4: a solicited response carries the sequence number of the
request; further fragments of a multi-fragment response count on from it). A master keeps at
most one request outstanding per outstation, so a newer request replaces an unanswered one.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.dnp3.constants import (
    BROADCAST_ADDRESSES,
    FUNCTION_CLASSES,
    FUNCTIONS_NO_RESPONSE,
    LINK_PRIMARY,
    LINK_SECONDARY,
    RESPONSE_FUNCTIONS,
    iin_names,
)
from otshield.protocols.dnp3.events import Dnp3Event, Dnp3LinkEvent
from otshield.protocols.dnp3.link import (
    HEADER_SIZE,
    LinkFrame,
    frame_length,
    header_ok,
    parse_link,
    scan,
)
from otshield.protocols.dnp3.parser import Fragment, parse_fragment
from otshield.protocols.dnp3.transport import Reassembler

__all__ = ["Dnp3Session"]

_USER_DATA = {3: "CONFIRMED_USER_DATA", 4: "UNCONFIRMED_USER_DATA"}
_RESPONSE, _AUTH_RESPONSE = 129, 131

Pair = tuple[int, int]
"""(master address, outstation address)."""


def _junk_problem(unit: bytes) -> tuple[str, str]:
    """The anomaly of a junk unit from ``frame_size``: it starts with 0x05 0x64 only when a
    whole header was in view and its LENGTH (< 5) or CRC failed; the LENGTH octet is in the unit
    unless the unit is just 0x05 0x64, in which case LENGTH was 0x05 and the CRC failed. A lone
    0x05 was cut because the next frame start followed it: its second octet was 0x05."""
    if len(unit) == 1 and unit[0] == 0x05:
        unit = b"\x05\x05"
    if unit[0] != 0x05 or unit[1] != 0x64:
        return scan(unit[:2] + b"\x00", 0).problem or ("dnp3.bad_start", "")
    if len(unit) > 2 and unit[2] < 5:
        return ("dnp3.invalid_length",
                f"link LENGTH {unit[2]} < 5: skipped up to the next frame start")
    return ("dnp3.bad_crc", "link header CRC mismatch: skipped up to the next frame start")


class Dnp3Session:
    """Decoder state of one DNP3 flow."""

    __slots__ = ("_continuing", "_junk", "_pending", "_reassembler", "_udp", "flow",
                 "max_pending")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.max_pending = flow.settings.max_pending_requests
        self._reassembler = Reassembler()
        self._pending: dict[Pair, tuple[int, str]] = {}
        """Unanswered request per (master, outstation): (application sequence, function)."""
        self._continuing: dict[Pair, str] = {}
        """Request function of a multi-fragment response whose final fragment is still due."""
        self._junk = [False, False]
        """Per direction (client, server): inside a run of octets that are not link frames."""
        self._udp = flow.transport == "udp"

    # ------------------------------------------------------------------ Session interface
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """One unit cut by ``frame_size`` (TCP: a link frame, or junk up to the next frame
        start) or one datagram (UDP: any number of link frames, maybe with junk)."""
        if self._udp:
            self._junk[0 if from_client else 1] = False  # each datagram stands alone
            self._scan_all(frame, from_client)
            return
        n = len(frame)
        # The usual unit: one whole frame (parse_link checks its block CRCs). A unit of that
        # length whose header CRC fails is junk that frame_size cut at the next frame start.
        if n >= HEADER_SIZE and frame[0] == 0x05 and frame[1] == 0x64 and frame[2] >= 5 \
                and frame_length(frame[2]) == n and header_ok(frame):
            self._junk[0 if from_client else 1] = False
            self._on_link_frame(frame, from_client)
            return
        size, problem = scan(frame, 0)
        if problem is None and size is not None and size < n:
            self._scan_all(frame, from_client)  # several frames in one unit (not from the engine)
            return
        # A junk unit. frame_size decided it with more octets in view than the unit may hold,
        # so its kind is read from what every junk unit is sure to contain (see link.scan).
        d = 0 if from_client else 1
        if not self._junk[d]:
            self._junk[d] = True
            self.flow.anomaly(*_junk_problem(frame), from_client)

    def _scan_all(self, data: bytes, from_client: bool) -> None:
        d = 0 if from_client else 1
        junk = self._junk
        n = len(data)
        pos = 0
        while pos < n:
            size, problem = scan(data, pos)
            if size is None or pos + size > n:
                if not junk[d]:
                    self.flow.anomaly("dnp3.invalid_length",
                                      f"{n - pos} trailing octets hold no whole link frame",
                                      from_client)
                return
            if problem is not None:
                if not junk[d]:  # junk is reported once per run
                    junk[d] = True
                    self.flow.anomaly(problem[0], problem[1], from_client)
            else:
                junk[d] = False
                self._on_link_frame(data if size == n else data[pos:pos + size], from_client)
            pos += size

    def _on_link_frame(self, frame: bytes, from_client: bool) -> None:
        try:
            link = parse_link(frame)
        except Malformed as exc:
            # A bad user data CRC: the frame is dropped (clause 9), the next one is intact.
            self.flow.anomaly(exc.code, exc.detail, from_client)
            return
        self._on_link(link, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        """Unused: the engine frames DNP3 with ``frame_size``."""

    def on_gap(self, from_client: bool, size: int) -> None:
        self._junk[0 if from_client else 1] = False
        for key, octets in self._reassembler.drop(from_client):
            self.flow.anomaly("dnp3.incomplete_fragment",
                              f"{octets} octets of a fragment from link {key[1]} to {key[2]} "
                              f"lost at a {size}-octet stream gap", from_client)

    def close(self) -> None:
        for key, octets in self._reassembler.drop():
            self.flow.anomaly("dnp3.incomplete_fragment",
                              f"flow ended with {octets} octets of an unfinished fragment from "
                              f"link {key[1]} to {key[2]}", key[0])

    # ------------------------------------------------------------------ layers
    def _on_link(self, link: LinkFrame, from_client: bool) -> None:
        control = link.control
        code = control & 0x0F
        primary = bool(control & 0x40)
        if primary and code in _USER_DATA:
            if not link.data:
                self.flow.anomaly("dnp3.invalid_length",
                                  f"{_USER_DATA[code]} frame without a transport header",
                                  from_client)
                return
            self._on_segment(link, from_client, _USER_DATA[code])
            return
        if link.data:
            self.flow.anomaly("dnp3.invalid_length",
                              f"link function {code} ({'primary' if primary else 'secondary'}) "
                              f"carries {len(link.data)} user data octets", from_client)
        if not primary and code == 0:
            return  # ACK: routine confirmation, not logged
        name = (LINK_PRIMARY if primary else LINK_SECONDARY).get(code)
        if name is None:
            self.flow.anomaly("dnp3.unknown_link_function",
                              f"{'primary' if primary else 'secondary'} link function {code}",
                              from_client)
            name = f"UNKNOWN_{code}"
        self.flow.emit(Dnp3LinkEvent(
            **self.flow.fields(from_client), link_src=link.source, link_dst=link.destination,
            from_master=bool(control & 0x80), primary=primary, function=name,
            function_code=code, control=control))

    def _on_segment(self, link: LinkFrame, from_client: bool, link_function: str) -> None:
        fragment, segments, problems = self._reassembler.push(
            (from_client, link.source, link.destination), link.data)
        for code, detail in problems:
            self.flow.anomaly(code, detail, from_client)
        if fragment is None:
            return
        try:
            parsed = parse_fragment(fragment)
        except Malformed as exc:
            self.flow.anomaly(exc.code, exc.detail, from_client)
            return
        for code, detail in parsed.problems:
            self.flow.anomaly(code, detail, from_client)
        self._on_fragment(link, parsed, len(fragment), segments, from_client, link_function)

    def _on_fragment(self, link: LinkFrame, f: Fragment, size: int, segments: int,
                     from_client: bool, link_function: str) -> None:
        control = f.control
        seq = control & 0x0F
        fir = bool(control & 0x80)
        fin = bool(control & 0x40)
        code = f.function_code
        request_function: str | None = None
        if code in RESPONSE_FUNCTIONS:
            if code in (_RESPONSE, _AUTH_RESPONSE):
                request_function = self._answer((link.destination, link.source), seq, fir, fin,
                                                code == _RESPONSE, from_client)
        elif (code not in FUNCTIONS_NO_RESPONSE and not f.function.startswith("UNKNOWN")
              and link.destination not in BROADCAST_ADDRESSES):
            self._remember((link.source, link.destination), seq, f.function, from_client)
        iin = f.iin
        self.flow.emit(Dnp3Event(
            **self.flow.fields(from_client),
            link_src=link.source,
            link_dst=link.destination,
            from_master=bool(link.control & 0x80),
            link_function=link_function,
            function=f.function,
            function_class=FUNCTION_CLASSES.get(request_function or f.function, "other"),
            function_code=code,
            seq=seq,
            fir=fir,
            fin=fin,
            con=bool(control & 0x20),
            uns=bool(control & 0x10),
            unsolicited=code == 130,
            iin=iin,
            iin_flags=iin_names(iin) if iin is not None else (),
            request_function=request_function,
            objects=f.objects,
            object_count=f.object_count,
            truncated=f.truncated,
            device_time=f.device_time,
            delay_ms=f.delay_ms,
            files=f.files,
            fragment_size=size,
            segments=segments,
        ))

    # ------------------------------------------------------------------ pairing
    def _remember(self, pair: Pair, seq: int, function: str, from_client: bool) -> None:
        pending = self._pending
        if pair in pending:
            del pending[pair]  # an unanswered earlier request is superseded (kept in order)
        elif len(pending) >= self.max_pending:
            old = next(iter(pending))
            del pending[old]
            self.flow.anomaly("dnp3.too_many_pending",
                              f"more than {self.max_pending} master/outstation pairs with an "
                              f"unanswered request: forgot the one of {old[0]} -> {old[1]}",
                              from_client)
        pending[pair] = (seq, function)

    def _answer(self, pair: Pair, seq: int, fir: bool, fin: bool, final_answer: bool,
                from_client: bool) -> str | None:
        """The request function a response fragment answers, if known."""
        if not fir:
            function = self._continuing.get(pair)
            if fin and function is not None:
                del self._continuing[pair]
            return function
        entry = self._pending.get(pair)
        if entry is None or entry[0] != seq:
            return None
        if not final_answer:
            return entry[1]  # an authentication challenge: the request stays outstanding
        del self._pending[pair]
        if not fin:
            continuing = self._continuing
            if pair not in continuing and len(continuing) >= self.max_pending:
                old = next(iter(continuing))
                del continuing[old]
                self.flow.anomaly("dnp3.too_many_pending",
                                  f"more than {self.max_pending} multi-fragment responses in "
                                  f"progress: forgot the one of {old[1]} -> {old[0]}",
                                  from_client)
            continuing[pair] = entry[1]
        return entry[1]

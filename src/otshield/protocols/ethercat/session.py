"""The EtherCAT link session: counts datagrams per (src MAC, command), reports AL Control
(register 0x0120) writes as state-change requests.

An EtherCAT frame passes the slaves and comes back: a capture at the master sees each frame
twice, first with working counters 0, then with the counts the slaves added (and, on most
segments, the source MAC's locally-administered bit set by the first slave). An AL Control
write is held (bounded by ``Settings.max_pending_requests``) until its return is seen, so one
event carries the requested state and how many slaves acknowledged it.
"""

from __future__ import annotations

from collections import OrderedDict

from otshield.errors import Malformed
from otshield.events import LinkFields
from otshield.protocols.base import LinkContext
from otshield.protocols.ethercat.constants import (
    AL_CONTROL,
    AL_STATES,
    COMMANDS,
    POSITION,
    REGISTER_WRITES,
    STATION,
)
from otshield.protocols.ethercat.events import EthercatEvent
from otshield.protocols.ethercat.parser import parse

__all__ = ["MAX_COUNTERS", "EthercatSession"]

MAX_COUNTERS = 4096
"""(src MAC, command) counters kept; more is ``ethercat.too_many_counters``."""


class _Count:
    __slots__ = ("datagrams", "first_ts", "frame", "nbytes", "ts", "vlan", "zero_wkc")

    def __init__(self, ts: float, vlan: int | None) -> None:
        self.first_ts = ts
        self.ts = ts
        self.frame = 0
        self.vlan = vlan
        self.datagrams = 0
        self.nbytes = 0
        self.zero_wkc = 0


class _Write:
    __slots__ = ("adp", "fields", "value", "wkc")

    def __init__(self, fields: LinkFields, adp: int, value: int, wkc: int) -> None:
        self.fields = fields
        self.adp = adp
        self.value = value
        self.wkc = wkc


def _mode(cmd: int) -> str:
    return "position" if cmd in POSITION else "station" if cmd in STATION else "broadcast"


class EthercatSession:
    """One per engine (see ``LinkSession``)."""

    def __init__(self, link: LinkContext) -> None:
        self.link = link
        self._counts: dict[tuple[str, int], _Count] = {}
        self._pending: OrderedDict[tuple[int, int, int], _Write] = OrderedDict()
        self._limit = max(1, link.settings.max_pending_requests)
        self._reported: set[str] = set()

    def _once(self, code: str, detail: str) -> None:
        if code not in self._reported:
            self._reported.add(code)
            self.link.anomaly(code, detail)

    def on_frame(self, payload: bytes) -> None:
        link = self.link
        try:
            ftype, datagrams = parse(payload)
        except Malformed as exc:
            link.anomaly(exc.code, exc.detail)
            return
        src = link.src_mac
        counts = self._counts
        if not datagrams:
            self._count(src, -ftype, len(payload), 1)
            return
        for cmd, idx, adp, ado, dlen, wkc, data_off in datagrams:
            c = counts.get((src, cmd))
            if c is None:
                c = self._count(src, cmd, 0, 0)
            if c is not None:
                c.datagrams += 1
                c.nbytes += dlen
                c.ts = link.ts
                c.frame = link.frame
                if not wkc:
                    c.zero_wkc += 1
            if cmd in REGISTER_WRITES and ado <= AL_CONTROL < ado + dlen:
                self._al_control(cmd, idx, adp, ado, wkc, payload[data_off + AL_CONTROL - ado])

    def _count(self, src: str, cmd: int, nbytes: int, n: int) -> _Count | None:
        key = (src, cmd)
        c = self._counts.get(key)
        if c is None:
            if len(self._counts) >= MAX_COUNTERS:
                self._once("ethercat.too_many_counters",
                           f"more than {MAX_COUNTERS} (MAC, command) counters")
                return None
            c = self._counts[key] = _Count(self.link.ts, self.link.vlan)
        c.datagrams += n
        c.nbytes += nbytes
        c.ts = self.link.ts
        c.frame = self.link.frame
        return c

    def _al_control(self, cmd: int, idx: int, adp: int, ado: int, wkc: int, value: int) -> None:
        link = self.link
        key = (idx, cmd, ado)
        pend = self._pending.pop(key, None)
        if pend is not None and pend.value == value and (
                pend.fields["src_mac"] != link.src_mac or pend.wkc != wkc):
            # the same datagram back from the ring: the write is complete
            self._emit(pend, cmd, idx, ado, wkc, "acknowledged" if wkc else "not_acknowledged")
            if not wkc:
                link.anomaly("ethercat.al_control_not_acknowledged",
                             f"{COMMANDS[cmd][0]} AL Control := 0x{value:02x} returned with "
                             "working counter 0: no slave took the state request")
            return
        if pend is not None:
            self._emit(pend, cmd, idx, ado, None, "unconfirmed")
        if len(self._pending) >= self._limit:
            self._once("ethercat.too_many_pending",
                       f"more than {self._limit} AL Control writes awaiting their return")
            (o_idx, o_cmd, o_ado), old = self._pending.popitem(last=False)
            self._emit(old, o_cmd, o_idx, o_ado, None, "unconfirmed")
        self._pending[key] = _Write(link.fields(), adp, value, wkc)

    def _emit(self, w: _Write, cmd: int, idx: int, ado: int, wkc: int | None,
              result: str) -> None:
        fields = w.fields
        if wkc is not None:
            fields["ts"], fields["frame"] = self.link.ts, self.link.frame
        state = w.value & 0x0F
        self.link.emit(EthercatEvent(
            **fields, kind="al_control", command=COMMANDS[cmd][0], function_class="control",
            datagram_index=idx, address_mode=_mode(cmd), adp=w.adp, ado=ado,
            requested_state=AL_STATES.get(state, f"state_{state}"),
            error_ack=bool(w.value & 0x10), working_counter=wkc, result=result))

    def close(self) -> None:
        for (idx, cmd, ado), w in self._pending.items():
            self._emit(w, cmd, idx, ado, None, "unconfirmed")
        self._pending.clear()
        for (src, cmd), c in self._counts.items():
            if cmd < 0:
                name, fclass = f"frame_type_{-cmd}", "other"
            else:
                name, fclass = COMMANDS.get(cmd, (f"cmd_{cmd}", "other"))
            self.link.emit(EthercatEvent(
                ts=c.ts, frame=c.frame, src_mac=src, vlan=c.vlan, kind="summary",
                command=name, function_class=fclass, datagrams=c.datagrams, bytes=c.nbytes,
                zero_wkc=c.zero_wkc, first_ts=c.first_ts))
        self._counts.clear()

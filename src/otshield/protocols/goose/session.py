"""GOOSE publisher tracking: the retransmission rules of IEC 61850-8-1 checked per publisher.

Reference: IEC 61850-8-1 Ed.2 (2011) 18.1.2.5 and Table 60 / IEC 61850-7-2 Ed.2 15.2.3.3: a
publisher sends its dataset on every change with stNum raised by one and sqNum reset to 0, then
repeats the unchanged message (sqNum raised by one each time) at growing intervals up to a
heartbeat; every message says how long to wait for the next (timeAllowedtoLive) and carries the
time of the last change (t). So, per publisher:

- same stNum, next sqNum, same data: a retransmission, counted only;
- next stNum, sqNum 0: a new state, reported (``goose`` event, ``data_changed`` says whether
  allData really changed);
- anything else is reported with an anomaly: stNum skipping (``goose.stnum_jump``) or going back
  (``goose.stnum_decrease``), a repeated or older sqNum (``goose.replay``), skipped sqNums
  (``goose.sqnum_gap``), data changed without a new stNum
  (``goose.data_changed_without_stnum``), a new confRev, a late message
  (``goose.ttl_expired``), t going back, the test flag turning on.

An identical message repeated within ``DUPLICATE_WINDOW`` is a network duplicate (PRP/HSR
redundancy, IEC 62439-3, sends every frame twice; two mirror ports do the same) and only
counted. A publisher is its source MAC, APPID and gocbRef. The table is bounded (``MAX_PUBLISHERS``,
least recently seen evicted with its summary); all times are packet time.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import LinkContext
from otshield.protocols.goose.constants import DUPLICATE_WINDOW, MAX_PUBLISHERS, REPORT_INTERVAL
from otshield.protocols.goose.data import decode_data, utc_time
from otshield.protocols.goose.events import (
    GooseEvent,
    GooseMgmtEvent,
    GoosePublisherEvent,
    GooseValue,
)
from otshield.protocols.goose.parser import GooseMgmtPdu, GoosePdu, GooseReader, count_entries

__all__ = ["GooseSession"]

_U32 = 0xFFFFFFFF


def _next(n: int) -> int:
    """The counter after ``n``: stNum and sqNum roll over from 2**32-1 to 1 (Ed.2 keeps 0 for
    the first message after start-up / a state change)."""
    return 1 if n == _U32 else n + 1


class _Publisher:
    __slots__ = (
        "anomaly_count",
        "appid",
        "base",
        "codes",
        "conf_rev",
        "dat_set",
        "data",
        "dst_mac",
        "duplicates",
        "first_st",
        "first_ts",
        "frame",
        "go_id",
        "gocb_ref",
        "max_interval",
        "messages",
        "report_ts",
        "retransmissions",
        "sim_mismatch",
        "sim_seen",
        "simulation",
        "sq",
        "src_mac",
        "st",
        "state_changes",
        "t",
        "ts",
        "ttl",
        "vlan",
    )

    def __init__(self, pdu: GoosePdu, ctx: LinkContext) -> None:
        self.base = ctx.fields()  # addresses of the publisher (MACs, or IPs for R-GOOSE)
        self.src_mac, self.dst_mac, self.vlan = ctx.src_mac, ctx.dst_mac, ctx.vlan
        self.appid, self.gocb_ref = pdu.appid, pdu.gocb_ref
        self.dat_set, self.go_id = pdu.dat_set, pdu.go_id
        self.first_ts = self.ts = self.report_ts = ctx.ts
        self.frame = ctx.frame
        self.messages = 1
        self.retransmissions = self.state_changes = self.anomaly_count = self.duplicates = 0
        self.codes: set[str] = set()
        self.first_st = self.st = pdu.st_num
        self.sq = pdu.sq_num
        self.ttl = pdu.ttl
        self.t = pdu.t
        self.data = pdu.data
        self.conf_rev = pdu.conf_rev
        self.simulation = pdu.simulation or pdu.simulated
        self.sim_seen = self.simulation
        self.sim_mismatch = False
        self.max_interval = 0.0


class GooseSession:
    """The link-layer session of GOOSE and GSE management (one per engine)."""

    __slots__ = ("ctx", "full_reported", "pubs", "reader")

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx
        self.reader = GooseReader(MAX_PUBLISHERS)
        self.pubs: dict[tuple[str, int, str], _Publisher] = {}
        self.full_reported = False

    def on_frame(self, payload: bytes) -> None:
        ctx = self.ctx
        try:
            pdu = self.reader.parse(payload)
        except Malformed as m:
            ctx.anomaly(m.code, m.detail)
            return
        if isinstance(pdu, GooseMgmtPdu):
            self._mgmt(pdu)
            return
        key = (ctx.src_mac, pdu.appid, pdu.gocb_ref)
        pub = self.pubs.pop(key, None)
        if pub is None:
            self._first(key, pdu)
            return
        self.pubs[key] = pub  # re-inserted last: the dict's order is least recently seen first
        self._follow(pub, pdu)

    def close(self) -> None:
        for pub in self.pubs.values():
            self._summary(pub, "end")
        self.pubs.clear()

    # -- per message ---------------------------------------------------------------------

    def _first(self, key: tuple[str, int, str], pdu: GoosePdu) -> None:
        ctx = self.ctx
        if len(self.pubs) >= MAX_PUBLISHERS:
            oldest = next(iter(self.pubs))
            self._summary(self.pubs.pop(oldest), "evicted")
            if not self.full_reported:
                self.full_reported = True
                ctx.anomaly("goose.too_many_publishers",
                            f"more than {MAX_PUBLISHERS} publishers; the least recently seen "
                            "are reported and forgotten")
        pub = self.pubs[key] = _Publisher(pdu, ctx)
        codes = self._content_checks(pub, pdu, True)
        self._report(pub, pdu, "first", codes, None, None, None)

    def _follow(self, pub: _Publisher, pdu: GoosePdu) -> None:
        ctx = self.ctx
        ts = ctx.ts
        codes: list[str] = []
        details: list[str] = []
        interval = ts - pub.ts
        if interval > pub.max_interval:
            pub.max_interval = interval
        if (interval <= DUPLICATE_WINDOW and pdu.sq_num == pub.sq and pdu.st_num == pub.st
                and pdu.data == pub.data and pdu.t == pub.t and pdu.conf_rev == pub.conf_rev):
            # the same message again at once: a PRP/HSR twin or a second mirror port, not a
            # replay (which comes later than any network path skew)
            pub.duplicates += 1
            pub.messages += 1
            pub.ts, pub.frame = ts, ctx.frame
            return
        if pub.ttl > 0 and interval * 1000.0 > pub.ttl:
            codes.append("goose.ttl_expired")
            details.append(f"{interval * 1000.0:.0f} ms since the previous message, "
                           f"timeAllowedtoLive {pub.ttl} ms")
        same_data = pdu.data == pub.data
        st, sq = pdu.st_num, pdu.sq_num
        new_state = False
        if st == pub.st:
            pub.retransmissions += 1
            if sq == _next(pub.sq) or (sq == 0 and pub.sq == _U32):
                pass
            elif sq > pub.sq:
                codes.append("goose.sqnum_gap")
                details.append(f"sqNum {pub.sq} -> {sq}")
            else:
                codes.append("goose.replay")
                details.append(f"stNum {st} sqNum {sq} after sqNum {pub.sq}")
            if not same_data:
                codes.append("goose.data_changed_without_stnum")
                details.append(f"allData changed at stNum {st} sqNum {sq}")
        else:
            new_state = True
            pub.state_changes += 1
            if st == _next(pub.st) or (st == 0 and pub.st == _U32):
                pass
            elif st > pub.st:
                codes.append("goose.stnum_jump")
                details.append(f"stNum {pub.st} -> {st}")
            else:
                codes.append("goose.stnum_decrease")
                details.append(f"stNum {pub.st} -> {st} (device restart or replay)")
            if sq != 0 and st > pub.st:
                codes.append("goose.sqnum_gap")
                details.append(f"new state stNum {st} starts at sqNum {sq}")
        if pdu.conf_rev != pub.conf_rev:
            codes.append("goose.confrev_changed")
            details.append(f"confRev {pub.conf_rev} -> {pdu.conf_rev}")
        if pdu.t[:7] < pub.t[:7]:
            codes.append("goose.time_regression")
            details.append(f"t {utc_time(pdu.t)[0]} before {utc_time(pub.t)[0]}")
        simulation = pdu.simulation or pdu.simulated
        if simulation and not pub.simulation:
            codes.append("goose.test_flag")
            details.append("simulation/test flag set on a publisher that sent without it")
        content = self._content_checks(pub, pdu, not same_data)
        for code, detail in zip(codes, details, strict=True):
            ctx.anomaly(code, f"{pub.gocb_ref}: {detail}")
        codes.extend(content)
        prev_st, prev_sq = pub.st, pub.sq
        pub.messages += 1
        pub.ts = ts
        pub.frame = ctx.frame
        pub.dst_mac = ctx.dst_mac
        pub.vlan = ctx.vlan
        pub.st, pub.sq, pub.ttl, pub.t = st, sq, pdu.ttl, pdu.t
        pub.data = pdu.data
        pub.conf_rev = pdu.conf_rev
        pub.simulation = simulation
        pub.sim_seen = pub.sim_seen or simulation
        pub.dat_set, pub.go_id = pdu.dat_set, pdu.go_id
        if new_state or codes:
            self._report(pub, pdu, "state_change" if new_state and not codes else "anomaly",
                         codes, not same_data, prev_st, prev_sq)
        if ts - pub.report_ts >= REPORT_INTERVAL:
            self._summary(pub, "interim")
            pub.report_ts = ts

    def _content_checks(self, pub: _Publisher, pdu: GoosePdu, data_new: bool) -> list[str]:
        """Checks of one message on its own, reported once per occurrence rather than once per
        retransmission: the entry count when the data is new, the Simulate bit when it first
        disagrees with the simulation flag."""
        ctx = self.ctx
        codes: list[str] = []
        if data_new:
            try:
                count = count_entries(pdu.data)
            except Malformed:
                count = -1  # reported with the values when the event is built
            if count >= 0 and count != pdu.num_entries:
                codes.append("goose.numdatsetentries_mismatch")
                ctx.anomaly("goose.numdatsetentries_mismatch",
                            f"{pdu.gocb_ref}: numDatSetEntries {pdu.num_entries}, allData "
                            f"holds {count}")
        mismatch = pdu.simulated and not pdu.simulation
        if mismatch and not pub.sim_mismatch:
            codes.append("goose.simulation_mismatch")
            ctx.anomaly("goose.simulation_mismatch",
                        f"{pdu.gocb_ref}: Simulate bit set, simulation flag false")
        pub.sim_mismatch = mismatch
        return codes

    # -- output --------------------------------------------------------------------------

    def _report(self, pub: _Publisher, pdu: GoosePdu, reason: str, codes: list[str],
                data_changed: bool | None, prev_st: int | None, prev_sq: int | None) -> None:
        ctx = self.ctx
        if codes:
            pub.anomaly_count += len(codes)
            pub.codes.update(codes)
        values: list[GooseValue] = []
        truncated = False
        entries = -1
        try:
            entries = count_entries(pdu.data)
            values, truncated = decode_data(pdu.data, 0, len(pdu.data))
        except Malformed as m:
            ctx.anomaly(m.code, f"{pdu.gocb_ref}: {m.detail}")
            pub.anomaly_count += 1
            pub.codes.add(m.code)
            codes = [*codes, m.code]
            truncated = True
        t_text, t_epoch, t_quality = utc_time(pdu.t)
        ctx.emit(GooseEvent(
            **ctx.fields(), appid=pdu.appid, gocb_ref=pdu.gocb_ref, time_allowed_to_live=pdu.ttl,
            dat_set=pdu.dat_set, go_id=pdu.go_id, t=t_text, t_epoch=t_epoch, t_quality=t_quality,
            st_num=pdu.st_num, sq_num=pdu.sq_num, simulation=pdu.simulation,
            simulated=pdu.simulated, reserved1=pdu.reserved1, reserved2=pdu.reserved2,
            conf_rev=pdu.conf_rev, nds_com=pdu.nds_com, num_dat_set_entries=pdu.num_entries,
            data_entries=max(entries, 0),
            values=values, values_truncated=truncated, security=pdu.security, reason=reason,
            anomalies=codes, data_changed=data_changed, previous_st_num=prev_st,
            previous_sq_num=prev_sq, function_class="write"))

    def _summary(self, pub: _Publisher, reason: str) -> None:
        where = pub.base.copy()
        where["ts"], where["frame"], where["dst_mac"], where["vlan"] = (
            pub.ts, pub.frame, pub.dst_mac, pub.vlan)
        self.ctx.emit(GoosePublisherEvent(
            **where, appid=pub.appid, gocb_ref=pub.gocb_ref, dat_set=pub.dat_set, go_id=pub.go_id,
            first_seen=pub.first_ts, last_seen=pub.ts, messages=pub.messages,
            retransmissions=pub.retransmissions, duplicates=pub.duplicates,
            state_changes=pub.state_changes,
            first_st_num=pub.first_st, last_st_num=pub.st, last_sq_num=pub.sq,
            conf_rev=pub.conf_rev, time_allowed_to_live=pub.ttl,
            max_interval=round(pub.max_interval, 6), simulation=pub.sim_seen,
            anomaly_count=pub.anomaly_count, anomaly_codes=sorted(pub.codes), end_reason=reason))

    def _mgmt(self, pdu: GooseMgmtPdu) -> None:
        ctx = self.ctx
        ctx.emit(GooseMgmtEvent(
            **ctx.fields(), appid=pdu.appid, state_id=pdu.state_id, pdu=pdu.pdu,
            service=pdu.service, ident=pdu.ident, references=pdu.references,
            conf_rev=pdu.conf_rev, positive=pdu.positive, error=pdu.error,
            security=pdu.security, function_class="read"))

"""The baseline detector: learns what normal looks like, then alerts on what departs from it.

Modes:

- ``learn``: every event is learnt, nothing is alerted;
- ``protect``: nothing is learnt; deviations from the baseline are alerted;
- ``auto``: learns for the baseline's learning period (``learning.seconds`` of packet time and/or
  ``learning.events`` events, per site or per zone), then protects. :meth:`start_protecting`
  ends learning at once (``otshield analyze`` learns on the first N packets of a capture).

Alerts (category ``baseline``): ``baseline.new_asset``, ``baseline.new_talker``,
``baseline.new_protocol``, ``baseline.new_function``, ``baseline.new_write_range``,
``baseline.polling_change`` and ``baseline.capacity`` (a table is full). Each new item alerts
once per run; the alert says what is new and what was learnt instead.

Speed: the detector sees every event. The kind of each event class is decided once; per event
the work is a handful of dict look-ups (the asset, the flow's cached talker pair, the function
code, the polling key). Everything that builds strings, consults the zone model or makes an
alert happens only when something is not in the baseline (the rare path).

Polling periods use robust statistics (median and median absolute deviation, MAD, of the
intervals between consecutive requests of one kind): a recent window's median period is unusual
when it differs from the learnt median by more than ``k`` scaled MADs and by more than a minimum
relative change, and only once enough intervals were learnt.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from otshield.detect.alert import AlertSink
from otshield.detect.baseline.alerts import BaselineAlerts
from otshield.detect.baseline.fields import WRITE_CLASSES
from otshield.detect.baseline.maintenance import ActiveWindows
from otshield.detect.baseline.model import (
    AssetModel,
    Baseline,
    FunctionModel,
    MaintenanceWindow,
    PairModel,
    PollModel,
    ZoneModel,
    merge_interval,
    pair_key,
    save_baseline,
)
from otshield.detect.baseline.state import (
    ARP,
    FLOW,
    FLOW_CACHE,
    MAX_CODES,
    PROTO,
    EventInfo,
    FlowState,
    PairState,
    Phase,
    PollSettings,
    PollState,
    ZoneState,
    covered,
    is_mac,
    is_unicast,
    join_values,
    poll_stats,
)
from otshield.errors import ConfigError
from otshield.events import ArpEvent, Event, FlowEvent

if TYPE_CHECKING:
    from otshield.detect.context import AssetContext

__all__ = ["MODES", "BaselineDetector", "PollSettings", "poll_stats"]

MODES = ("learn", "protect", "auto")
_MAX_RANGE_ALERTS = 16
"""Distinct new regions alerted per pair and area; growth of an alerted region is folded."""


class BaselineDetector(BaselineAlerts):
    """Learns and/or protects a :class:`Baseline` (see the module docstring)."""

    name = "baseline"

    def __init__(self, baseline: Baseline, context: AssetContext, sink: AlertSink, *,
                 mode: str = "auto", learn_seconds: float | None = None,
                 learn_events: int | None = None, scope: str | None = None,
                 windows: Sequence[MaintenanceWindow] = (),
                 poll: PollSettings | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"baseline mode must be one of {', '.join(MODES)}, not {mode!r}")
        if learn_seconds is not None:
            baseline.learning.seconds = float(learn_seconds)
        if learn_events is not None:
            baseline.learning.events = int(learn_events)
        if scope is not None:
            if scope not in ("site", "zone"):
                raise ConfigError(f"baseline learning scope must be site or zone, not "
                                  f"{scope!r}")
            baseline.learning.scope = "site" if scope == "site" else "zone"
        if baseline.learning.seconds < 0 or baseline.learning.events < 0:
            raise ConfigError("baseline learning seconds and events must not be negative")
        if context.site is not None and not baseline.site:
            baseline.site = context.site[0].site
        self.baseline = baseline
        self.context = context
        self.sink = sink
        self.mode = mode
        self.poll = poll or PollSettings()
        self.limits = baseline.limits
        self.windows = ActiveWindows([*baseline.maintenance, *windows])
        self._info: dict[type[Event], EventInfo] = {}
        self._zones: dict[str, ZoneState] = {}
        self._site_phase = self._new_phase(None)
        self._assets: dict[str, AssetModel | None] = {}
        """Every address known: the baseline's, and those alerted as new (detached models);
        None for addresses that name no single host."""
        self._pairs: dict[str, PairState] = {}
        self._by_server: dict[str, list[tuple[str, PairModel]]] = {}
        """``server protocol`` -> the learnt pairs serving it (what any client may do)."""
        self._flows: dict[int, FlowState] = {}
        self._links: dict[tuple[str, str, str], FlowState] = {}
        self._marks: set[str] = set()
        """New protocols alerted while protecting."""
        self._new_count = 0
        self._capacity: set[str] = set()
        self._dirty_polls: list[PollState] = []
        for zone_name, zone in baseline.zones.items():
            zr = self._zone(zone_name)
            for addr, asset in zone.assets.items():
                self._assets[addr] = asset
            for key, pair in zone.pairs.items():
                client, server, protocol = key.split(" ", 2)
                self._by_server.setdefault(f"{server} {protocol}", []).append((client, pair))
            del zr

    # -- phases ----------------------------------------------------------------------------------
    def _new_phase(self, zone: ZoneModel | None) -> Phase:
        if self.mode == "learn":
            return Phase(True, False)
        if self.mode == "protect":
            return Phase(False, False)
        phase = Phase(True, True)
        # progress already learnt (a baseline file being completed)
        models = [zone] if zone is not None else list(self.baseline.zones.values())
        phase.events = sum(m.events for m in models)
        firsts = [m.first_ts for m in models if m.events]
        phase.first_ts = min(firsts) if firsts else None
        last = max((m.last_ts for m in models if m.events), default=None)
        if last is not None and self._limit_reached(phase, last):
            phase.learning = False
            phase.since = last
        return phase

    def _limit_reached(self, phase: Phase, ts: float) -> bool:
        learning = self.baseline.learning
        if learning.events and phase.events >= learning.events:
            return True
        return bool(learning.seconds and phase.first_ts is not None
                    and ts - phase.first_ts >= learning.seconds)

    def _tick(self, zone: ZoneState, ts: float) -> bool:
        """Count one event learnt in ``zone``; False once the learning period is over."""
        phase = zone.phase
        if phase.limited:
            if phase.first_ts is None:
                phase.first_ts = ts
            if self._limit_reached(phase, ts):
                self._end_learning(phase, ts)
                return False
            phase.events += 1
        model = zone.model
        if not model.events:
            model.first_ts = ts
        model.events += 1
        model.last_ts = ts
        return True

    def _end_learning(self, phase: Phase, ts: float) -> None:
        phase.learning = False
        phase.since = ts
        self._finalize_polls()

    def start_protecting(self) -> None:
        """End learning now, everywhere: what follows is compared with what was learnt."""
        self.mode = "protect"
        last = max((z.model.last_ts for z in self._zones.values()), default=0.0)
        for phase in [self._site_phase, *(z.phase for z in self._zones.values())]:
            if phase.learning:
                phase.learning = False
                phase.limited = False
                phase.since = last
        self._finalize_polls()

    @property
    def learning(self) -> bool:
        """True while any part of the site is still learning."""
        if self.baseline.learning.scope == "site" or not self._zones:
            return self._site_phase.learning
        return any(z.phase.learning for z in self._zones.values())

    def _zone(self, name: str) -> ZoneState:
        zone = self._zones.get(name)
        if zone is None:
            model = self.baseline.zone(name)
            phase = (self._site_phase if self.baseline.learning.scope == "site"
                     else self._new_phase(model))
            zone = self._zones[name] = ZoneState(name, model, phase)
        return zone

    # -- the hot path ----------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        info = self._info.get(type(event))
        if info is None:
            info = self._info[type(event)] = EventInfo(type(event))
        kind = info.kind
        if kind == PROTO:
            self._on_proto(event, info)
        elif kind == FLOW:
            self._on_flow(event)  # type: ignore[arg-type]
        elif kind == ARP:
            self._on_arp(event)  # type: ignore[arg-type]

    def _on_proto(self, e: Any, info: EventInfo) -> None:
        src: str = e.src_ip
        link = not src
        if link:
            src = getattr(e, "src_mac", "")
            if not src:
                return
        # the server port decides; a direction bit only when ports do not (spoofed DNP3
        # requests carry DIR=0, so the bit alone would hide them)
        ports = info.ports
        from_port = e.src_port in ports
        if from_port != (e.dst_port in ports):
            swapped = from_port
        else:
            swapped = bool(info.orient) and not getattr(e, info.orient)
        if src not in self._assets:
            self._asset_seen(e, src, info.industrial and not swapped)
        flow: FlowState | None
        if link or not e.flow_id:
            dst = e.dst_ip or getattr(e, "dst_mac", "")
            lkey = (src, dst, info.tag) if not swapped else (dst, src, info.tag)
            flow = self._links.get(lkey)
            if flow is None:
                if len(self._links) >= FLOW_CACHE:
                    self._links.clear()
                flow = self._links[lkey] = FlowState(lkey[0])
            index = 0
        else:
            flow = self._flows.get(e.flow_id)
            if flow is None:
                if len(self._flows) >= FLOW_CACHE:
                    self._flows.clear()
                flow = self._flows[e.flow_id] = FlowState(src)
            index = 0 if (src == flow.a) != swapped else 1
        pair = flow.pairs[index]
        if pair is None:
            pair = flow.pairs[index] = self._resolve(e, info, swapped, link, None)
            if pair is None:
                return
        zone = pair.zone
        ts = e.ts
        learning = zone.phase.learning and self._tick(zone, ts)
        if learning:
            pair.model.last_seen = ts
        if info.code_key is None or swapped:
            return  # responses and reports: the request's function was judged already
        raw = info.code_key(e)
        try:
            code = info.codes.get(raw)
        except TypeError:  # a sub-record holding a list: not hashable, label it directly
            raw, code = None, None
        if code is None:
            code = join_values(info.code, e)
            if raw is not None and len(info.codes) < MAX_CODES:
                info.codes[raw] = code
        fm = pair.model.functions.get(code)
        if fm is None:
            if code not in pair.new_functions:
                self._function_seen(e, info, pair, code, learning)
        elif learning:
            fm.count += 1
        if info.writes is not None and e.function_class in WRITE_CLASSES:
            for item in info.writes(e):
                if item != pair.last_write:  # the same registers again: known already
                    self._write_seen(e, pair, *item, learning)
        rkey = (code, info.subject_key(e) if info.subject_key is not None else None)
        poll = pair.polls.get(rkey)
        if poll is None:
            poll = self._poll_for(e, pair, rkey, info, learning)
            if poll is None:
                return
        prev = poll.last
        poll.last = ts
        if prev is None:
            return
        interval = ts - prev
        if learning:
            model = poll.model
            if model is None:
                return
            cap = self.limits.poll_samples
            if len(model.samples) < cap:
                model.samples.append(interval)
            else:
                model.samples[model.count % cap] = interval
            model.count += 1
            if not poll.dirty:
                poll.dirty = True
                self._dirty_polls.append(poll)
        elif poll.model is not None:
            poll.recent.append(interval)
            if len(poll.recent) >= self.poll.window:
                self._judge_poll(e, pair, poll)

    def _on_flow(self, e: FlowEvent) -> None:
        src, dst = e.src_ip, e.dst_ip
        if not src:
            return
        if src not in self._assets:
            self._asset_seen(e, src, False)
        if e.packets_to_client and dst and dst not in self._assets:
            self._asset_seen(e, dst, False)
        flow = self._flows.pop(e.flow_id, None)
        if flow is not None and (flow.pairs[0] is not None or flow.pairs[1] is not None):
            return  # its decoded events already placed the pair
        self._resolve(e, None, False, False, e.start)

    def _on_arp(self, e: ArpEvent) -> None:
        ip = e.sender_ip
        if ip and ip not in self._assets and ip != "0.0.0.0":
            self._asset_seen(e, ip, False)

    # -- the rare path: something not (yet) in the baseline ---------------------------------------
    def _window(self, ts: float, zone: str, assets: Sequence[str]) -> str:
        return self.windows.action(ts, zone, assets) if self.windows else ""

    def _learns(self, ts: float, zone: str, assets: Sequence[str], learning: bool
                ) -> bool | None:
        """Whether this deviation is learnt (the learning phase, or a ``relearn`` maintenance
        window) or judged; None when a ``suppress`` window covers it (nothing to do)."""
        if learning:
            return True
        action = self._window(ts, zone, assets)
        return None if action == "suppress" else action == "relearn"

    def _room_for_new(self, e: Event, zone: str) -> bool:
        """Bound on the items remembered as alerted while protecting."""
        if self._new_count < self.limits.new_items:
            self._new_count += 1
            return True
        self._capacity_alert(e, zone, "new items alerted", self.limits.new_items)
        return False

    def _asset_seen(self, e: Event, addr: str, rogue: bool) -> None:
        """``addr`` sent something and is not in the baseline; ``rogue``: it did so as the
        client of an industrial protocol."""
        if not is_unicast(addr):
            if len(self._assets) < 4 * self.limits.assets:
                self._assets[addr] = None
            return
        zone = self._zone_of_asset(addr, e)
        learns = self._learns(e.ts, zone.name, (addr,), zone.phase.learning)
        if learns is None:
            return
        if not learns:
            if self._room_for_new(e, zone.name):
                self._assets[addr] = AssetModel(first_seen=e.ts)
                self._alert_new_asset(e, zone.name, addr, rogue)
            return
        assets = zone.model.assets
        if len(assets) >= self.limits.assets:
            self._capacity_alert(e, zone.name, "assets", self.limits.assets)
            return
        self._assets[addr] = assets[addr] = AssetModel(first_seen=e.ts, last_seen=e.ts)

    def _label(self, e: Any, info: EventInfo | None, swapped: bool) -> tuple[str, int]:
        """Protocol label of a flow or event, and the server port."""
        if info is not None:
            return info.protocol, (e.src_port if swapped else e.dst_port)
        protocol = e.protocol
        port = e.dst_port
        if protocol and not protocol.startswith("guess:"):
            return protocol, port
        transport = e.transport or "ip"
        if not port:
            return transport, port
        return (f"{transport}/{port}" if port < 32768 else f"{transport}/dynamic"), port

    def _resolve(self, e: Any, info: EventInfo | None, swapped: bool, link: bool,
                 flow_start: float | None) -> PairState | None:
        """The talker pair of an event (first event of a flow) or of a flow record."""
        if link:
            src, dst = e.src_mac, e.dst_mac
        else:
            src, dst = e.src_ip, e.dst_ip
        client, server = (dst, src) if swapped else (src, dst)
        if not client or not server:
            return None
        protocol, port = self._label(e, info, swapped)
        key = pair_key(client, server, protocol)
        pair = self._pairs.get(key)
        if pair is not None:
            if port and port not in pair.model.ports and pair.zone.phase.learning:
                pair.model.ports.add(port)
            return pair
        vlan = getattr(e, "vlan", None)
        zone = self._zone(self.context.zone_name("" if link else server, vlan)
                          or self.context.zone_name("" if link else client, vlan))
        model = zone.model.pairs.get(key)
        learning = zone.phase.learning or (flow_start is not None
                                           and flow_start < zone.phase.since)
        if model is not None:
            pair = PairState(key, client, server, protocol, zone, model, True)
        else:
            if not learning:
                action = self._window(e.ts, zone.name, (client, server))
                learning = action == "relearn"
                if action == "suppress":
                    return PairState(key, client, server, protocol, zone,
                                 PairModel(first_seen=e.ts), False)
            if learning:
                model = self._learn_pair(e, zone, key, client, server, protocol, port)
                if model is None:
                    return None
                pair = PairState(key, client, server, protocol, zone, model, True)
            else:
                if not self._room_for_new(e, zone.name):
                    return None
                pair = PairState(key, client, server, protocol, zone,
                             PairModel(first_seen=e.ts, ports={port} if port else set()),
                             False)
                self._alert_new_talker(e, pair, info)
        if len(self._pairs) >= 4 * self.limits.pairs:
            self._pairs.clear()
        self._pairs[key] = pair
        return pair

    def _learn_pair(self, e: Event, zone: ZoneState, key: str, client: str, server: str,
                    protocol: str, port: int) -> PairModel | None:
        pairs = zone.model.pairs
        if len(pairs) >= self.limits.pairs:
            self._capacity_alert(e, zone.name, "talker pairs", self.limits.pairs)
            return None
        model = pairs[key] = PairModel(first_seen=e.ts, last_seen=e.ts,
                                       ports={port} if port else set())
        self._by_server.setdefault(f"{server} {protocol}", []).append((client, model))
        answered = not isinstance(e, FlowEvent) or e.bytes_to_client > 0
        for addr, role in ((server, "serves"), (client, "uses")):
            if role == "serves" and not answered:
                continue
            owner = self._zone_of_asset(addr, e)
            asset = owner.model.assets.get(addr)
            if asset is None:
                if len(owner.model.assets) >= self.limits.assets or not is_unicast(addr):
                    continue
                asset = owner.model.assets[addr] = AssetModel(first_seen=e.ts, last_seen=e.ts)
                self._assets[addr] = asset
            getattr(asset, role).add(protocol)
        return model

    def _zone_of_asset(self, addr: str, e: Event) -> ZoneState:
        vlan = getattr(e, "vlan", None)
        return self._zone(self.context.zone_name("" if is_mac(addr) else addr, vlan))

    def _function_seen(self, e: Any, info: EventInfo, pair: PairState, code: str,
                       learning: bool) -> None:
        fclass = str(getattr(e, "function_class", "") or "other")
        name = join_values(info.name, e)
        learns = self._learns(e.ts, pair.zone.name, (pair.client, pair.server), learning)
        if learns is None:
            return
        learning = learns
        if learning or not pair.known:
            functions = pair.model.functions
            if len(functions) >= self.limits.functions:
                self._capacity_alert(e, pair.zone.name, "functions per pair",
                                     self.limits.functions)
                return
            functions[code] = FunctionModel(name=name, function_class=fclass, count=1)
            if learning:
                return
            # a pair first seen while protecting: judged against what the server was seen
            # doing for any client
            peers = self._by_server.get(f"{pair.server} {pair.protocol}", ())
            if any(code in p.functions for _, p in peers):
                return
        else:
            if len(pair.new_functions) >= self.limits.functions:
                return
            pair.new_functions.add(code)
            if not pair.model.functions and any(  # an allowed talker: like the others
                    code in p.functions
                    for _, p in self._by_server.get(f"{pair.server} {pair.protocol}", ())):
                return
        self._alert_new_function(e, pair, code, name, fclass)

    def _write_seen(self, e: Event, pair: PairState, area: str, first: int | None,
                    last: int | None, learning: bool) -> None:
        ranges = pair.model.writes.get(area)
        if ranges is not None and (first is None or last is None or covered(ranges, first,
                                                                             last)):
            if pair.known:
                pair.last_write = (area, first, last)
            return
        learns = self._learns(e.ts, pair.zone.name, (pair.client, pair.server), learning)
        if learns is None:
            return
        learning = learns
        if learning or not pair.known:
            writes = pair.model.writes
            if ranges is None:
                if len(writes) >= self.limits.areas:
                    self._capacity_alert(e, pair.zone.name, "write areas per pair",
                                         self.limits.areas)
                    return
                ranges = writes[area] = []
            if first is not None and last is not None:
                merge_interval(ranges, first, last, self.limits.ranges)
            if learning:
                return
            peers = self._by_server.get(f"{pair.server} {pair.protocol}", ())
            known_ranges: list[tuple[int, int]] = []
            for _, peer in peers:
                for a, b in peer.writes.get(area, ()):
                    merge_interval(known_ranges, a, b, 1 << 20)
            area_known = any(area in p.writes for _, p in peers)
            if area_known and (first is None or last is None
                               or covered(known_ranges, first, last)):
                return
            learnt = known_ranges if area_known else None
        else:
            learnt = ranges
        # fold growth of a region already alerted (a sweep) into that alert
        alerted = pair.new_writes.get(area)
        if alerted is not None:
            if first is None or last is None or learnt is None:
                return  # the whole area is new: its first alert said so
            touching = any(a - 1 <= last and first <= b + 1 for a, b in alerted)
            merge_interval(alerted, first, last, _MAX_RANGE_ALERTS)
            if touching or len(alerted) >= _MAX_RANGE_ALERTS:
                return
        else:
            if len(pair.new_writes) >= self.limits.areas:
                return
            alerted = pair.new_writes[area] = []
            if first is not None and last is not None:
                merge_interval(alerted, first, last, _MAX_RANGE_ALERTS)
        self._alert_new_write(e, pair, area, first, last, learnt)

    def _poll_for(self, e: Event, pair: PairState, rkey: tuple[str, Hashable], info: EventInfo,
                  learning: bool) -> PollState | None:
        pkey = rkey[0] if not info.subject else f"{rkey[0]}@{join_values(info.subject, e)}"
        polls = pair.model.polls
        model = polls.get(pkey)
        if model is None and learning and pair.known:
            if len(polls) >= self.limits.polls:
                self._capacity_alert(e, pair.zone.name, "polling keys per pair",
                                     self.limits.polls)
                return None
            model = polls[pkey] = PollModel(name=join_values(info.name, e))
        if len(pair.polls) >= 4 * self.limits.polls:
            return None
        poll = pair.polls[rkey] = PollState(pkey, model)
        return poll

    def _judge_poll(self, e: Event, pair: PairState, poll: PollState) -> None:
        recent = median(poll.recent)
        poll.recent.clear()
        model = poll.model
        if model is None or model.count < self.poll.min_samples:
            return
        settings = self.poll
        deviation = abs(recent - model.median)
        rel = 1.0 + settings.min_relative
        unusual = (deviation > settings.k * 1.4826 * model.mad
                   and deviation > settings.min_relative * model.median
                   and deviation > settings.min_absolute
                   and (recent < model.low / rel - settings.min_absolute
                        or recent > model.high * rel + settings.min_absolute))
        if not unusual:
            poll.alerted = False
            poll.strikes = 0
            return
        poll.strikes += 1
        if poll.alerted or poll.strikes < settings.confirm:
            return
        action = self._window(e.ts, pair.zone.name, (pair.client, pair.server))
        if action == "suppress":
            return
        if action == "relearn":
            model.samples.extend([recent] * settings.window)
            del model.samples[:max(0, len(model.samples) - self.limits.poll_samples)]
            model.count += settings.window
            model.median, model.mad, model.low, model.high = poll_stats(model.samples)
            return
        poll.alerted = True
        self._alert_polling(e, pair, poll.key, model, recent)

    def _finalize_polls(self) -> None:
        for poll in self._dirty_polls:
            model = poll.model
            poll.dirty = False
            if model is not None:
                model.median, model.mad, model.low, model.high = poll_stats(model.samples)
        self._dirty_polls.clear()

    def finish(self) -> None:
        self._finalize_polls()

    def save(self, path: Path | str) -> None:
        """Write the baseline (what was learnt; never what was only alerted) to ``path``."""
        self._finalize_polls()
        save_baseline(self.baseline, Path(path))

"""The simulated plant's physical process: tanks, pumps and valves whose values evolve in time.

Why a process at all: the values the HMI polls, the setpoints an attacker writes and the
readings a spoofing attack freezes must hang together, or a drill teaches nothing. The model is
small and exact:

* a **tank** holds water; its level (m) changes at ``(inflow - outflow) / area`` (flows in
  m3/h, area in m2), bounded by 0 (empty: nothing flows out of it) and its height (full: the
  inflow above the outflow spills over);
* a **pump** moves ``flow_m3h`` from one tank (or the source outside the plant) to another (or
  the sink) while it runs. In ``auto`` it follows its control tank's level with hysteresis:
  when ``start_level < stop_level`` it fills (starts at or below ``start_level``, stops at or
  above ``stop_level``), otherwise it drains (starts at or above ``start_level``, stops at or
  below ``stop_level``). In manual (``auto`` 0) it follows ``command``;
* a **valve** passes ``max_flow_m3h * position / 100`` from one tank to the next;
* a **trip** of the safety instrumented system latches when its tank reaches ``level``: the
  pumps it names stop and stay stopped until the trip is reset (``<trip>.reset`` written 1
  once the level is back below);
* a **controller** (a PLC) runs the pumps and valves assigned to it; a stopped controller's
  outputs go to their safe state (its pumps stop, its valves hold their position).

Between two discrete changes every flow is constant, so :meth:`Process.advance` integrates
exactly: it finds the next moment a level crosses a threshold (hysteresis, trip, empty, full),
moves every tank there, switches, and goes on. No time step, no drift, values derivable by hand.

Tags (what scenarios read and write, and what the PLC points map to)::

    <tank>.level            m          <pump>.running     0/1     <valve>.position  %
    <tank>.inflow           m3/h       <pump>.flow        m3/h    <valve>.flow      m3/h
    <tank>.outflow          m3/h       <pump>.auto        0/1     <trip>.tripped    0/1
    <pump>.start_level      m          <pump>.command     0/1     <trip>.reset      write 1
    <pump>.stop_level       m          <controller>.running  0/1

Interface for scenarios (``ctx.process``): :meth:`Process.read` (the true value),
:meth:`Process.reported` (what a PLC reports: the true value unless spoofed),
:meth:`Process.write` (a write as the PLC applies it: setpoints, manual commands, valve
positions; unknown or read-only tags raise ``KeyError``), :meth:`Process.override` /
:meth:`Process.freeze` / :meth:`Process.release` (make the PLCs, or one named PLC, report a
fixed value: spoofing and replay; another controller mapping the same tag, such as a safety
system, keeps reporting the truth when the override is scoped to one asset),
:meth:`Process.stop_controller` / :meth:`Process.start_controller` (a PLC put into
STOP or RUN). The simulator calls :meth:`Process.advance` before every poll.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping

import msgspec

__all__ = ["Process", "PumpSpec", "TankSpec", "TripSpec", "ValveSpec"]

_EPS = 1e-9
_Cache = tuple[dict[str, float], dict[str, float], dict[str, float], float]


class TankSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    area_m2: float
    height_m: float
    level_m: float
    """Level at the start of the run."""
    controller: str = ""
    description: str = ""


class PumpSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    flow_m3h: float
    tank: str
    """The tank whose level the pump follows in auto."""
    start_level: float
    stop_level: float
    source: str = ""
    """Tank drained ("": the supply outside the plant)."""
    target: str = ""
    """Tank filled ("": the distribution network)."""
    controller: str = ""
    running: bool = False
    description: str = ""


class ValveSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    max_flow_m3h: float
    position: float
    """Opening in percent at the start."""
    source: str = ""
    target: str = ""
    controller: str = ""
    description: str = ""


class TripSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    tank: str
    level: float
    """High-high level (m) at which the trip latches."""
    stops: list[str] = msgspec.field(default_factory=list)
    """Pumps the trip stops."""
    controller: str = ""
    """The safety controller."""
    description: str = ""


class _Pump:
    __slots__ = ("auto", "command", "controller", "flow", "name", "running", "source",
                 "start", "stop", "tank", "target")

    def __init__(self, spec: PumpSpec) -> None:
        self.name, self.flow, self.tank = spec.name, spec.flow_m3h, spec.tank
        self.source, self.target, self.controller = spec.source, spec.target, spec.controller
        self.start, self.stop = spec.start_level, spec.stop_level
        self.running = spec.running
        self.auto = True
        self.command = spec.running

    @property
    def fills(self) -> bool:
        return self.start < self.stop


class Process:
    """The state of the plant's process at plant time ``t`` (epoch seconds)."""

    def __init__(self, tanks: Iterable[TankSpec], pumps: Iterable[PumpSpec],
                 valves: Iterable[ValveSpec], trips: Iterable[TripSpec], start: float,
                 controllers: Iterable[str] = ()) -> None:
        self.t = start
        self._tanks = {t.name: t for t in tanks}
        self._level = {name: t.level_m for name, t in self._tanks.items()}
        self._pumps = {p.name: _Pump(p) for p in pumps}
        self._valves = {v.name: v for v in valves}
        self._position = {v.name: v.position for v in self._valves.values()}
        self._trips = {t.name: t for t in trips}
        self._tripped = dict.fromkeys(self._trips, False)
        names = {*controllers, *(p.controller for p in self._pumps.values()),
                 *(v.controller for v in self._valves.values()),
                 *(t.controller for t in self._trips.values())}
        self._controller_running = {c: True for c in names if c}
        self._overrides: dict[tuple[str, str], float] = {}
        """(asset, tag) -> reported value; asset "" applies to every controller."""
        self._cache: _Cache | None = None
        """Inflows, outflows, level rates and the next crossing: constant until a discrete
        change (cleared by :meth:`_switch`)."""
        self._check()
        self._getters = self._make_getters()
        self._switch()

    def _check(self) -> None:
        tanks = set(self._tanks)
        for p in self._pumps.values():
            for what in (p.tank, p.source, p.target):
                if what and what not in tanks:
                    raise KeyError(f"pump {p.name}: unknown tank {what!r}")
        for v in self._valves.values():
            for what in (v.source, v.target):
                if what and what not in tanks:
                    raise KeyError(f"valve {v.name}: unknown tank {what!r}")
        for t in self._trips.values():
            if t.tank not in tanks:
                raise KeyError(f"trip {t.name}: unknown tank {t.tank!r}")
            for pump in t.stops:
                if pump not in self._pumps:
                    raise KeyError(f"trip {t.name}: unknown pump {pump!r}")

    # -- flows ------------------------------------------------------------------------------
    def _pump_flow(self, p: _Pump) -> float:
        if not p.running or (p.source and self._level[p.source] <= _EPS):
            return 0.0
        return p.flow

    def _valve_flow(self, name: str) -> float:
        v = self._valves[name]
        if v.source and self._level[v.source] <= _EPS:
            return 0.0
        return v.max_flow_m3h * self._position[name] / 100.0

    def _flows(self) -> tuple[dict[str, float], dict[str, float]]:
        cache = self._cache or self._fill_cache()
        return cache[0], cache[1]

    def _fill_cache(self) -> _Cache:
        """Flows, level rates (m/s; spill and emptiness taken into account) and the time of
        the next threshold crossing, all constant until something switches."""
        inflow = dict.fromkeys(self._tanks, 0.0)
        outflow = dict.fromkeys(self._tanks, 0.0)
        for p in self._pumps.values():
            q = self._pump_flow(p)
            if p.source:
                outflow[p.source] += q
            if p.target:
                inflow[p.target] += q
        for name, v in self._valves.items():
            q = self._valve_flow(name)
            if v.source:
                outflow[v.source] += q
            if v.target:
                inflow[v.target] += q
        rates: dict[str, float] = {}
        wait = math.inf
        for name, tank in self._tanks.items():
            rate = (inflow[name] - outflow[name]) / 3600.0 / tank.area_m2
            level = self._level[name]
            if (rate > 0 and level >= tank.height_m - _EPS) or (rate < 0 and level <= _EPS):
                rate = 0.0
            rates[name] = rate
            if rate:
                for th in self._thresholds(name):
                    gap = th - level
                    if gap * rate > _EPS * abs(rate):  # ahead in the direction of travel
                        wait = min(wait, gap / rate)
        self._cache = (inflow, outflow, rates, self.t + wait)
        return self._cache

    def _rates(self) -> dict[str, float]:
        return (self._cache or self._fill_cache())[2]

    # -- discrete logic ----------------------------------------------------------------------
    def _switch(self) -> None:
        """Apply trips and hysteresis for the current levels; the flows are computed anew."""
        self._cache = None
        for name, trip in self._trips.items():
            if (self._level[trip.tank] >= trip.level - _EPS
                    and self._controller_running.get(trip.controller, True)):
                self._tripped[name] = True
        blocked = {p for name, t in self._trips.items() if self._tripped[name] for p in t.stops}
        for p in self._pumps.values():
            if p.name in blocked or not self._controller_running.get(p.controller, True):
                p.running = False
                continue
            if not p.auto:
                p.running = p.command
                continue
            level = self._level[p.tank]
            if p.fills:
                if level <= p.start + _EPS:
                    p.running = True
                elif level >= p.stop - _EPS:
                    p.running = False
            elif level >= p.start - _EPS:
                p.running = True
            elif level <= p.stop + _EPS:
                p.running = False

    def _thresholds(self, tank: str) -> list[float]:
        out = [0.0, self._tanks[tank].height_m]
        for p in self._pumps.values():
            if p.tank == tank and p.auto:
                out += [p.start, p.stop]
        for name, t in self._trips.items():
            if t.tank == tank and not self._tripped[name]:
                out.append(t.level)
        return out

    def advance(self, to: float) -> None:
        """Move the process on to plant time ``to`` (earlier times are ignored): levels move
        linearly up to the next threshold crossing, where pumps and trips switch."""
        for _ in range(100_000):  # bounded: every pass ends at ``to`` or at a crossing
            if to <= self.t:
                return
            _, _, rates, crossing = self._cache or self._fill_cache()
            until = min(to, crossing)
            dt = until - self.t
            for name, rate in rates.items():
                if rate:
                    level = self._level[name] + rate * dt
                    self._level[name] = min(max(level, 0.0), self._tanks[name].height_m)
            self.t = until
            if until >= crossing:
                self._switch()
        self.t = to

    # -- the interface for scenarios and the PLCs --------------------------------------------
    def tags(self) -> list[str]:
        """Every readable tag, in a stable order."""
        out: list[str] = []
        for t in self._tanks:
            out += [f"{t}.level", f"{t}.inflow", f"{t}.outflow"]
        for p in self._pumps:
            out += [f"{p}.running", f"{p}.flow", f"{p}.auto", f"{p}.command", f"{p}.start_level",
                    f"{p}.stop_level"]
        for v in self._valves:
            out += [f"{v}.position", f"{v}.flow"]
        out += [f"{t}.tripped" for t in self._trips]
        out += [f"{c}.running" for c in sorted(self._controller_running)]
        return out

    def _make_getters(self) -> dict[str, Callable[[], float]]:
        g: dict[str, Callable[[], float]] = {}
        for tag in self.tags():
            g[tag] = functools.partial(self._read, tag)
        for name in self._tanks:
            g[f"{name}.level"] = functools.partial(self._level.__getitem__, name)
        return g

    def read(self, tag: str) -> float:
        """The true value of ``tag`` now (KeyError naming the tag when unknown)."""
        getter = self._getters.get(tag)
        if getter is None:
            raise KeyError(f"unknown process tag {tag!r}")
        return getter()

    def _read(self, tag: str) -> float:
        obj, _, attr = tag.rpartition(".")
        if obj in self._tanks:
            if attr == "level":
                return self._level[obj]
            if attr in ("inflow", "outflow"):
                inflow, outflow = self._flows()
                return (inflow if attr == "inflow" else outflow)[obj]
        elif obj in self._pumps:
            p = self._pumps[obj]
            values = {"running": float(p.running), "flow": self._pump_flow(p),
                      "auto": float(p.auto), "command": float(p.command),
                      "start_level": p.start, "stop_level": p.stop}
            if attr in values:
                return values[attr]
        elif obj in self._valves:
            if attr == "position":
                return self._position[obj]
            if attr == "flow":
                return self._valve_flow(obj)
        elif obj in self._trips and attr == "tripped":
            return float(self._tripped[obj])
        elif obj in self._controller_running and attr == "running":
            return float(self._controller_running[obj])
        raise KeyError(f"unknown process tag {tag!r}")

    def reported(self, tag: str, asset: str = "") -> float:
        """What controller ``asset`` reports for ``tag``: an override scoped to it, else an
        unscoped override, else the truth."""
        if self._overrides:
            value = self._overrides.get((asset, tag)) if asset else None
            if value is None:
                value = self._overrides.get(("", tag))
            if value is not None:
                return value
        return self.read(tag)

    def snapshot(self) -> dict[str, float]:
        """Every tag's true value now."""
        return {tag: self.read(tag) for tag in self.tags()}

    def write(self, tag: str, value: float) -> None:
        """Apply a write as the controller would (takes effect at once)."""
        obj, _, attr = tag.rpartition(".")
        if obj in self._pumps and attr in ("auto", "command", "start_level", "stop_level"):
            p = self._pumps[obj]
            if attr == "auto":
                p.auto = bool(value)
            elif attr == "command":
                p.command = bool(value)
            elif attr == "start_level":
                p.start = float(value)
            else:
                p.stop = float(value)
        elif obj in self._valves and attr == "position":
            if self._controller_running.get(self._valves[obj].controller, True):
                self._position[obj] = min(max(float(value), 0.0), 100.0)
        elif obj in self._trips and attr == "reset":
            trip = self._trips[obj]
            if value and self._level[trip.tank] < trip.level - _EPS:
                self._tripped[obj] = False
        else:
            raise KeyError(f"process tag {tag!r} cannot be written")
        self._switch()

    def override(self, tag: str, value: float, asset: str | None = None) -> None:
        """Make the controllers report ``value`` for ``tag`` until released (spoofing);
        with ``asset`` only that controller does (the others report the truth)."""
        self.read(tag)  # unknown tags fail here
        self._overrides[(asset or "", tag)] = float(value)

    def freeze(self, tags: Iterable[str], asset: str | None = None) -> None:
        """Make the controllers (or only ``asset``) keep reporting the current values of
        ``tags`` (replay)."""
        for tag in tags:
            self.override(tag, self.read(tag), asset)

    def release(self, tags: Iterable[str] | None = None, asset: str | None = None) -> None:
        """Report the truth again for ``tags`` (None: every overridden tag), in every scope or,
        with ``asset``, in that controller's only."""
        wanted = None if tags is None else set(tags)
        for key in list(self._overrides):
            scope, tag = key
            if (wanted is None or tag in wanted) and (asset is None or scope == asset):
                del self._overrides[key]

    @property
    def overrides(self) -> Mapping[str, float]:
        """Overrides in force: ``tag`` for unscoped ones, ``asset:tag`` for scoped ones."""
        return {(f"{scope}:{tag}" if scope else tag): value
                for (scope, tag), value in self._overrides.items()}

    def stop_controller(self, name: str) -> None:
        """The controller goes to STOP: its pumps stop, its valves hold, its trips go dead."""
        if name not in self._controller_running:
            raise KeyError(f"unknown controller {name!r}")
        self._controller_running[name] = False
        self._switch()

    def start_controller(self, name: str) -> None:
        if name not in self._controller_running:
            raise KeyError(f"unknown controller {name!r}")
        self._controller_running[name] = True
        self._switch()

    def time_to(self, tag: str, value: float) -> float:
        """Seconds until a tank level reaches ``value`` at the current rates (inf: never)."""
        obj, _, attr = tag.rpartition(".")
        if obj not in self._tanks or attr != "level":
            raise KeyError(f"{tag!r} is not a tank level")
        rate = self._rates()[obj]
        gap = value - self._level[obj]
        if rate == 0.0 or gap * rate < 0:
            return 0.0 if abs(gap) <= _EPS else math.inf
        return gap / rate

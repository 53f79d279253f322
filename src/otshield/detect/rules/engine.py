"""The rule engine: a detector running loaded rules over the event stream.

Rules are indexed by event class: the first event of a class builds the list of handlers that
concern it (one per rule, or per sequence step, reading that class), so an event costs only the
rules of its dataset, and each costs one compiled predicate call. Rules testing a plain field
for equality are grouped by it; the handlers for each combination of grouped values are
remembered as one generated function, with the predicates that read nothing but those values
(and context facts constant for the run, such as declared roles when the site declares none)
decided once for the combination instead of per event. Match rules alert at once;
threshold rules count per key in bounded sliding windows and alert when the threshold is crossed,
then at most once per window per key; sequence rules keep bounded per-asset chains and alert on
the last step within ``within`` of the first.

Alerts are built with :func:`~otshield.detect.alert.make_alert` (the aggregator downstream
merges repeats on the key): techniques and tactics from the rule (tactics from the ATT&CK
table), the message template rendered from the event, the source and destination as the asset
context knows them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from operator import attrgetter
from typing import Any

import msgspec

from otshield.detect.alert import Alert, AlertSink, make_alert
from otshield.detect.context import AssetContext
from otshield.detect.rules.conditions import (
    Predicate,
    fields_read,
    forget_memos,
    inline_read,
    prefilter,
)
from otshield.detect.rules.context_fields import CONTEXT_FIELDS, CONTEXT_PREFIXES, RuleContext
from otshield.detect.rules.fields import resolve_field
from otshield.detect.rules.model import Rule, RuleSet
from otshield.detect.rules.windows import SequenceSteps, ThresholdWindows
from otshield.events import Event

__all__ = ["STATE_LIMIT_RULE", "RuleEngine"]

Action = Callable[[Event], None]
Handler = tuple[Predicate | None, Action]
"""A rule's part for one event class: its predicate (None: always) and what to do when it
holds. The dispatcher tests the predicate itself, so an event failing it costs one call."""
_Groups = tuple[tuple[Callable[[Any], Any], dict[Any, tuple[Handler, ...]]], ...]
_Entry = tuple[tuple[Handler, ...], _Groups]

DEFAULT_MAX_KEYS = 50_000
"""Keys per threshold rule and pending chains per sequence step."""
_MAX_TIMESTAMPS = 2_000_000
"""Timestamps kept per threshold rule at most (count x keys): large counts get fewer keys."""
_FULL_DETAIL = 20
"""Full alerts per key; later ones are light copies. The aggregator keeps the frames of the
first 20 occurrences and 3 sample events per key, so nothing it would keep is lost."""
_DISPATCH_MEMO = 4096
"""Combinations of grouped field values remembered per event class."""
STATE_LIMIT_RULE = "otshield.rules.state_limit"
"""Alert raised (once per rule) when a stateful rule drops keys because its state is full."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(sorted(str(v) for v in value))
    return str(value)


def _tuple_reader(cls: type, paths: tuple[str, ...], reads: tuple[Callable[[Any], Any], ...]
                  ) -> Callable[[Any], tuple[Any, ...]]:
    """One function reading the grouped fields of ``cls`` as a tuple: top-level attributes
    read directly, the others through their getters (generated once per class; only names
    and attribute names of the event class go into the source)."""
    env: dict[str, Any] = {}
    parts = []
    for i, (path, read) in enumerate(zip(paths, reads, strict=True)):
        fp = resolve_field(cls, path)
        inline = inline_read(fp, "e", env) if fp is not None and fp.getter is read else None
        if inline is not None:
            parts.append(inline)
        else:
            env[f"r{i}"] = read
            parts.append(f"r{i}(e)")
    names = sorted(env)
    code = f"def _make({', '.join(names)}):\n    return lambda e: ({', '.join(parts)},)\n"
    scope: dict[str, Any] = {}
    exec(compile(code, "<otshield rule dispatch>", "exec"),  # names and attributes only
         {"__builtins__": {}}, scope)
    reader: Callable[[Any], tuple[Any, ...]] = scope["_make"](**env)
    return reader


_RUNNER_INLINE = 64
"""Handlers per generated runner at most (longer lists run in a loop)."""


def _runner(handlers: tuple[Handler, ...], ctx: RuleContext) -> Action:
    """One function running ``handlers`` in order on an event: each predicate tested and its
    action called, as straight-line code (generated once per distinct list: a few per event
    class), so no loop, unpacking or test for a missing predicate is left per event. Only
    generated names go into the source; the functions are bound as arguments."""
    if len(handlers) > _RUNNER_INLINE:
        def loop(event: Event) -> None:
            for pred, act in handlers:
                if pred is None or pred(event, ctx):
                    act(event)
        return loop
    env: dict[str, Any] = {"c": ctx}
    lines = []
    for i, (pred, act) in enumerate(handlers):
        env[f"a{i}"] = act
        if pred is None:
            lines.append(f"        a{i}(e)")
        else:
            env[f"p{i}"] = pred
            lines.append(f"        if p{i}(e, c):\n            a{i}(e)")
    body = "\n".join(lines) if lines else "        return None"
    code = f"def _make({', '.join(env)}):\n    def run(e):\n{body}\n    return run\n"
    scope: dict[str, Any] = {}
    exec(compile(code, "<otshield rule runner>", "exec"),  # generated names only
         {"__builtins__": {}}, scope)
    run: Action = scope["_make"](**env)
    return run


class RuleEngine:
    """Runs a :class:`RuleSet` (the Detector protocol: ``name``, ``observe``, ``finish``)."""

    name = "rules"

    def __init__(self, rules: RuleSet, context: AssetContext | None, sink: AlertSink, *,
                 max_keys: int = DEFAULT_MAX_KEYS) -> None:
        forget_memos()
        self.rules = [r for r in rules if r.enabled]
        self.context = RuleContext(context)
        self.sink = sink
        self.max_keys = max_keys
        self.fired: dict[str, int] = {}
        """Alerts raised per rule id (before merging)."""
        self._by_class: dict[type, _Entry] = {}
        self._dispatch: dict[type, Action] = {}
        self._group_paths: dict[type, tuple[str, ...]] = {}
        self._foldable: dict[type, frozenset[Handler]] = {}
        """Per class, the handlers whose predicate reads only grouped fields (see
        ``_dispatcher``)."""
        self._thresholds: dict[str, ThresholdWindows] = {}
        self._sequences: dict[str, SequenceSteps] = {}
        self._limit_reported: set[str] = set()
        self._repeats: dict[str, tuple[Alert, int]] = {}
        """Alert key -> its first alert and how many were raised (see ``_fire``)."""
        for rule in self.rules:
            if rule.threshold is not None:
                t = rule.threshold
                keys = min(max_keys, max(1_000, _MAX_TIMESTAMPS // t.count))
                self._thresholds[rule.id] = ThresholdWindows(
                    t.window, t.count, t.distinct is not None, keys,
                    on_evict=self._evicted(rule, keys))
            elif rule.sequence is not None:
                self._sequences[rule.id] = SequenceSteps(len(rule.sequence.steps),
                                                         rule.sequence.within, max_keys)

    # -- the hot path ----------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        dispatch = self._dispatch.get(type(event))
        if dispatch is None:
            dispatch = self._dispatcher(type(event))
        dispatch(event)

    def _dispatcher(self, cls: type) -> Action:
        """The per-class entry point: the plain handlers, then those of each group whose
        field has a listed value, in that order. The grouped fields are read as one tuple and
        the handlers to run are remembered per tuple (a plant polls with a few function codes,
        so one read and one look-up replace a look-up per group)."""
        plain, groups = self._by_class.get(cls) or self._build(cls)
        ctx = self.context
        dispatch: Action
        if not groups:
            dispatch = _runner(plain, ctx)
        else:
            read_all = _tuple_reader(cls, self._group_paths[cls],
                                     tuple(read for read, _table in groups))
            tables = tuple(table for _read, table in groups)
            memo: dict[Any, Action] = {}
            runners: dict[tuple[Handler, ...], Action] = {}
            foldable = self._foldable.get(cls, frozenset())

            def resolve(values: tuple[Any, ...], event: Event) -> Action:
                found = list(plain)
                for value, table in zip(values, tables, strict=True):
                    found.extend(table.get(value, ()))
                # A predicate reading only grouped fields holds for every event with these
                # values: decided once here, it is not called per event.
                if foldable:
                    kept: list[Handler] = []
                    for handler in found:
                        pred, act = handler
                        if pred is None or handler not in foldable:
                            kept.append(handler)
                        elif pred(event, ctx):
                            kept.append((None, act))
                    found = kept
                handlers = tuple(found)
                run = runners.get(handlers)
                if run is None:
                    if len(runners) >= _DISPATCH_MEMO:
                        runners.clear()
                    run = runners[handlers] = _runner(handlers, ctx)
                if len(memo) >= _DISPATCH_MEMO:
                    memo.clear()
                memo[values] = run
                return run

            def dispatch(event: Event) -> None:
                values = read_all(event)
                run = memo.get(values)
                if run is None:
                    run = resolve(values, event)
                run(event)
        self._dispatch[cls] = dispatch
        return dispatch

    def finish(self) -> None:
        """Nothing is held back: alerts fire when their condition holds. Pending windows and
        chains are dropped (an unfinished sequence is not a finding)."""
        for windows in self._thresholds.values():
            windows.clear()
        for chains in self._sequences.values():
            chains.clear()

    def _build(self, cls: type) -> _Entry:
        """The handlers of the rules reading ``cls``. Rules whose block starts with an equality
        on a plain field are grouped by that field: one read and one dict look-up find the few
        worth running (most events concern none)."""
        plain: list[Handler] = []
        groups: dict[str, tuple[Callable[[Any], Any], dict[Any, list[Handler]]]] = {}
        reads: dict[Handler, frozenset[tuple[str, ...]] | None] = {}
        """Handler -> the event fields its predicate reads (None: not only plain fields)."""
        constant = self.context.constant_fields()
        for rule in self.rules:
            if rule.sequence is not None:
                steps = rule.sequence.steps
                # last step first: one event must not advance a chain through two steps
                for k in range(len(steps) - 1, -1, -1):
                    if cls in steps[k].predicates:
                        handler = self._sequence_handler(rule, k, cls)
                        reads[handler] = fields_read(steps[k].match, cls, constant)
                        plain.append(handler)
                continue
            if cls not in rule.predicates:
                continue
            if rule.threshold is not None:
                handler = self._threshold_handler(rule, cls)
            else:
                handler = self._match_handler(rule, cls, rule.predicates[cls])
            reads[handler] = (fields_read(rule.match, cls, constant) if rule.match is not None
                              else None)
            found = prefilter(rule.match, cls) if rule.match is not None else None
            if found is None:
                plain.append(handler)
                continue
            path, read, values = found
            table = groups.setdefault(path, (read, {}))[1]
            for value in values:
                table.setdefault(value, []).append(handler)
        entry: _Entry = (tuple(plain), tuple(
            (read, {v: tuple(hs) for v, hs in table.items()}) for read, table in groups.values()))
        self._by_class[cls] = entry
        self._group_paths[cls] = tuple(groups)
        grouped = set()
        for path in groups:
            fp = resolve_field(cls, path)
            if fp is not None:
                grouped.add(fp.attrs)
        self._foldable[cls] = frozenset(
            h for h, attrs in reads.items() if attrs is not None and attrs <= grouped)
        return entry

    def candidates(self, cls: type) -> int:
        """How many handlers events of ``cls`` may reach (for tests and benchmarks)."""
        plain, groups = self._by_class.get(cls) or self._build(cls)
        return len(plain) + len({h for _r, table in groups for hs in table.values()
                                 for h in hs})

    def _match_handler(self, rule: Rule, cls: type, pred: Predicate | None) -> Handler:
        fire = self._fire
        return pred, lambda e: fire(rule, e, None, None)

    def _threshold_handler(self, rule: Rule, cls: type) -> Handler:
        pred = rule.predicates[cls]
        t = rule.threshold
        assert t is not None
        add = self._thresholds[rule.id].adder()
        key_of = self._key_function(rule, cls)
        window_key = self._window_key(rule, cls) or key_of
        fire = self._fire
        distinct = self._distinct_reader(rule, cls) if t.distinct else None
        if distinct is None:
            def handle(event: Event) -> None:
                fired = add(window_key(event), event.ts, event, None)
                if fired is not None:
                    evidence, count, n_distinct = fired
                    fire(rule, event, evidence, {"count": count, "distinct": n_distinct},
                         key=key_of(event))
            return pred, handle

        def handle_distinct(event: Event) -> None:
            fired = add(window_key(event), event.ts, event, distinct(event))
            if fired is not None:
                evidence, count, n_distinct = fired
                fire(rule, event, evidence, {"count": count, "distinct": n_distinct},
                     key=key_of(event))
        return pred, handle_distinct

    def _evicted(self, rule: Rule, limit: int) -> Callable[[Event], None]:
        """What a full threshold state does with the event that pushed a key out."""
        def report(event: Event) -> None:
            self._state_limit(rule, event, limit)
        return report

    def _distinct_reader(self, rule: Rule, cls: type) -> Callable[[Event], Any] | None:
        """The value a distinct threshold counts, read from an event of ``cls``: the field's
        own getter (an ``attrgetter`` for a top-level field) when it is an event field, else
        the compiled reader with the context."""
        t = rule.threshold
        assert t is not None and t.distinct is not None
        if t.distinct not in CONTEXT_FIELDS and not t.distinct.startswith(CONTEXT_PREFIXES):
            fp = resolve_field(cls, t.distinct)  # as field_reader reads it, without the call
            if fp is not None:
                getter: Callable[[Event], Any] = fp.getter
                return getter
        reader = t.distinct_readers.get(cls)
        if reader is None:
            return None
        ctx = self.context
        return lambda e: reader(e, ctx)

    def _window_key(self, rule: Rule, cls: type) -> Callable[[Event], Hashable] | None:
        """What a threshold counts per (``by``, default the rule's key), as fast as it can be
        read: one C-level ``attrgetter`` when every field is a top-level attribute of ``cls``;
        else the fields joined as text; None for the default key (addresses)."""
        t = rule.threshold
        assert t is not None
        fields = t.by or rule.key
        if not fields:
            return None
        names: list[str] = []
        for name in fields:
            fp = resolve_field(cls, name) if name not in CONTEXT_FIELDS else None
            if fp is None or fp.many or len(fp.attrs) != 1:
                break
            names.append(fp.attrs[0])
        else:
            return attrgetter(*names)
        readers = t.by_readers.get(cls) if t.by else rule.key_readers.get(cls)
        if readers is None:
            return None
        ctx = self.context
        return lambda e: "|".join(_text(r(e, ctx)) for r in readers)

    def _sequence_handler(self, rule: Rule, k: int, cls: type) -> Handler:
        ctx = self.context
        assert rule.sequence is not None
        step = rule.sequence.steps[k]
        pred = step.predicates[cls]
        on = step.on_readers[cls]
        chains = self._sequences[rule.id]

        def handle(event: Event) -> None:
            asset = _text(on(event, ctx))
            if not asset:
                return
            evicted = chains.evicted
            done = chains.step(k, asset, event.ts, event)
            if chains.evicted != evicted:
                self._state_limit(rule, event, chains.max_keys)
            if done is not None:
                self._fire(rule, event, list(done), None)
        return pred, handle

    # -- alerts ----------------------------------------------------------------------------------
    def _key_function(self, rule: Rule, cls: type) -> Callable[[Event], str]:
        readers = rule.key_readers.get(cls) if rule.key else None
        ctx = self.context
        if readers is not None:
            return lambda e: "|".join(_text(r(e, ctx)) for r in readers)

        def addresses(e: Event) -> str:
            if e.src_ip or e.dst_ip:
                return f"{e.src_ip}|{e.dst_ip}"
            return f"{getattr(e, 'src_mac', '') or ''}|{getattr(e, 'dst_mac', '') or ''}"
        return addresses

    def _fire(self, rule: Rule, event: Event, evidence: list[Event] | None,
              extra: dict[str, Any] | None, key: str | None = None) -> None:
        ctx = self.context
        if key is None:
            key = self._key_function(rule, type(event))(event)
        alert_key = f"{rule.id}|{key}"
        self.fired[rule.id] = self.fired.get(rule.id, 0) + 1
        repeat = self._repeats.get(alert_key)
        if repeat is not None and repeat[1] >= _FULL_DETAIL:
            # The aggregator already holds all the frames and samples it keeps for this key:
            # a light copy carrying only time and count costs a tenth of a full alert (a flood
            # of matching events must not cost more than decoding them).
            self.sink(msgspec.structs.replace(
                repeat[0], ts=event.ts, frame=event.frame, first_seen=event.ts,
                last_seen=event.ts, frames=(), evidence=()))
            return
        src_mac = getattr(event, "src_mac", "") or ""
        dst_mac = getattr(event, "dst_mac", "") or ""
        vlan = getattr(event, "vlan", None)
        description = (rule.message.render(event, ctx, extra) if rule.message is not None
                       else rule.title)
        details = {k: str(v) for k, v in extra.items()} if extra else None
        alert = make_alert(
            event, rule_id=rule.id, title=rule.title, severity=rule.severity,
            confidence=rule.confidence, category="rule", description=description,
            response=rule.response, techniques=rule.techniques, tactics=rule.tactics,
            source=ctx.assets.ref(event.src_ip, src_mac, vlan),
            destination=ctx.assets.ref(event.dst_ip, dst_mac, vlan),
            key=alert_key, details=details, evidence=evidence)
        if repeat is None and len(self._repeats) >= self.max_keys:
            self._repeats.clear()  # bounded: the worst case is full alerts again
        self._repeats[alert_key] = (repeat[0] if repeat else alert,
                                    (repeat[1] if repeat else 0) + 1)
        self.sink(alert)

    def _state_limit(self, rule: Rule, event: Event, limit: int) -> None:
        """Once per rule: say that its state is full and keys are being dropped."""
        if rule.id in self._limit_reported:
            return
        self._limit_reported.add(rule.id)
        self.sink(make_alert(
            event, rule_id=STATE_LIMIT_RULE, title="Rule state limit reached",
            severity="info", confidence="high", category="rule",
            description=(f"rule {rule.id} tracks more than {limit:,} keys; the least recently "
                         "seen are dropped, so some thresholds or sequences may be missed"),
            response=("Usually a scan or a flood with many sources; look at the alerts of this "
                      "rule and at the flows around this time."),
            key=f"{STATE_LIMIT_RULE}|{rule.id}", details={"rule": rule.id,
                                                          "limit": str(limit)}))

    @property
    def state_size(self) -> int:
        """Keys and chains held now (for tests and benchmarks)."""
        return (sum(len(w) for w in self._thresholds.values())
                + sum(len(s) for s in self._sequences.values()))

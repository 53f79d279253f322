"""Loading rule files: parse, check everything, compile (docs/rules.md is the language).

    ruleset = load_rules([Path("site-rules/")])        # the built-in pack plus the user's files

Every problem is collected (all of a file, not just the first) and named
``file:line: rule <id>: ...`` with close names suggested for misspelt keys, operators, fields
and datasets. What is checked: required fields, severity and confidence values, ATT&CK technique
ids (against the technique table), datasets (the event types of the loaded decoders), field
paths on the dataset's event classes (ECS and short names, nested records, context fields),
operators against field types, regexes, networks, durations, duplicate ids (a user file may
``override: true`` a built-in id), and the examples (present, built as real events).

With ``strict`` (the default) any problem raises :class:`RuleLoadError` listing them all; without
it the rules that have problems are left out and the problems are kept in ``RuleSet.errors``, so
a broken file under construction does not stop the others.

Loading the built-in pack takes about a second (parsing, checking, building the examples), and
the console analysed every uploaded capture after loading it again. :func:`load_rules` keeps the
last few rule sets it built, keyed by the contents of the files read (their SHA-256, so an
edited file is read again however its time stamps moved) and the arguments; a rule set holds no
state of an analysis (that lives in the :class:`~otshield.detect.rules.RuleEngine` built for
each), so one set serves every analysis of the process. :func:`forget_loaded_rules` empties it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import netaddr

from otshield.detect.alert import CONFIDENCES, SEVERITIES
from otshield.detect.attack import AttackTable, load_attack_table
from otshield.detect.rules.conditions import (
    Predicate,
    Reader,
    check_block,
    compile_block,
    dataset_names,
    field_kinds,
    field_reader,
)
from otshield.detect.rules.context_fields import CONTEXT_FIELDS
from otshield.detect.rules.fields import build_event, class_field_names, dataset_classes
from otshield.detect.rules.model import Example, Rule, RuleSet, SequenceSpec, Step, Threshold
from otshield.detect.rules.suggest import did_you_mean
from otshield.detect.rules.template import Template
from otshield.errors import ConfigError
from otshield.events import Event
from otshield.inventory.site import LoadedSite, Site, SiteZone
from otshield.yamlsource import LocatedDict, line_of, load_yaml, read_text

__all__ = ["BUILTIN_DIR", "RuleLoadError", "forget_loaded_rules", "load_rules", "parse_duration",
           "parse_rules"]

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"

RULE_KEYS = ("id", "title", "severity", "confidence", "techniques", "description", "response",
             "message", "match", "threshold", "sequence", "key", "enabled", "override", "tags",
             "examples")
REQUIRED = ("id", "title", "severity", "description", "response", "examples")
FILE_KEYS = ("rules",)
THRESHOLD_KEYS = ("window", "count", "distinct", "by")
SEQUENCE_KEYS = ("within", "steps")
STEP_KEYS = ("match", "on")
EXAMPLES_KEYS = ("match", "no_match")
EXAMPLE_KEYS = ("events", "context")
CONTEXT_KEYS = ("zone", "level", "roles", "safety", "name")

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9_\-]+)*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


class RuleLoadError(ConfigError):
    """Rule files have problems; ``errors`` lists every one (``file:line: rule <id>: ...``)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def parse_duration(value: object) -> float | None:
    """``30s``, ``5m``, ``1h``, ``2d``, ``500ms`` or a number of seconds; None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if m is None:
        return None
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    return seconds if seconds > 0 else None


def _rule_files(paths: Sequence[Path], builtin: bool, errors: list[str]
                ) -> list[tuple[Path, bool]]:
    out: list[tuple[Path, bool]] = []
    seen: set[Path] = set()

    def add_dir(directory: Path, is_builtin: bool) -> None:
        for f in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            if f.is_file():
                add(f, is_builtin)

    def add(f: Path, is_builtin: bool) -> None:
        resolved = f.resolve()
        if resolved not in seen:
            seen.add(resolved)
            out.append((f, is_builtin))

    if builtin and BUILTIN_DIR.is_dir():
        add_dir(BUILTIN_DIR, True)
    for p in paths:
        if p.is_dir():
            add_dir(p, p.resolve() == BUILTIN_DIR)
        elif p.is_file():
            add(p, p.resolve().parent == BUILTIN_DIR)
        else:
            errors.append(f"{p}: no such rule file or directory")
    return out


_KEPT_SETS = 4
_kept: OrderedDict[Hashable, tuple[RuleSet, AttackTable]] = OrderedDict()
"""Key -> the rule set and the ATT&CK table it was checked against (kept with it, so that
the table's ``id`` in the key cannot be reused by another object)."""
_kept_lock = threading.Lock()


def load_rules(paths: Sequence[Path] = (), *, builtin: bool = True,
               attack: AttackTable | None = None, strict: bool = True) -> RuleSet:
    """Load, check and compile the built-in pack (with ``builtin``) and the files or
    directories in ``paths`` (``*.yaml``, ``*.yml``).

    The same files with the same contents give the same :class:`RuleSet` object (kept, see
    the module's text): callers share it and must not change it."""
    errors: list[str] = []
    files = _rule_files(paths, builtin, errors)
    texts: list[tuple[Path, str, bool]] = []
    for path, is_builtin in files:
        try:
            texts.append((path, read_text(path, "rule file"), is_builtin))
        except ConfigError as exc:
            errors.append(str(exc))
    table = attack if attack is not None else load_attack_table()
    # the event classes known decide which datasets and fields exist (plugins add some)
    classes = tuple(sorted(dataset_classes().items(), key=lambda item: item[0]))
    key = (tuple((str(p), hashlib.sha256(t.encode()).hexdigest(), b) for p, t, b in texts),
           tuple(errors), strict, id(table), classes)
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            return kept[0]
    docs: list[tuple[str, object, bool]] = []
    for path, text, is_builtin in texts:
        try:
            docs.append((str(path), load_yaml(text, str(path)), is_builtin))
        except ConfigError as exc:
            errors.append(str(exc))
    ruleset = _assemble(docs, table, errors, strict)
    ruleset.files = [f for f, _ in files]
    with _kept_lock:
        _kept[key] = (ruleset, table)
        while len(_kept) > _KEPT_SETS:
            _kept.popitem(last=False)
    return ruleset


def forget_loaded_rules() -> None:
    """Drop the kept rule sets: the next :func:`load_rules` reads and compiles again."""
    with _kept_lock:
        _kept.clear()


def parse_rules(text: str, origin: str = "<rules>", *, attack: AttackTable | None = None,
                strict: bool = True, builtin: bool = False) -> RuleSet:
    """Rules from YAML text (tests, rules kept elsewhere than in files). With ``builtin`` they
    are treated as built-in rules."""
    errors: list[str] = []
    docs: list[tuple[str, object, bool]] = []
    try:
        docs.append((origin, load_yaml(text, origin), builtin))
    except ConfigError as exc:
        errors.append(str(exc))
    return _assemble(docs, attack, errors, strict)


def _assemble(docs: list[tuple[str, object, bool]], attack: AttackTable | None,
              errors: list[str], strict: bool) -> RuleSet:
    table = attack if attack is not None else load_attack_table()
    known = dataset_classes()
    ruleset = RuleSet()
    by_id: dict[str, Rule] = {}
    for origin, doc, is_builtin in docs:
        for rule in _load_file(doc, origin, is_builtin, known, table, errors):
            previous = by_id.get(rule.id)
            if previous is None:
                if rule.override and not rule.builtin:
                    builtins = [r.id for r in ruleset.rules if r.builtin]
                    errors.append(f"{rule.where}: rule {rule.id}: override: true, but there is "
                                  f"no built-in rule {rule.id!r} to replace"
                                  f"{did_you_mean(rule.id, builtins)}")
                    continue
                by_id[rule.id] = rule
                ruleset.rules.append(rule)
            elif previous.builtin and not rule.builtin and rule.override:
                by_id[rule.id] = rule
                ruleset.rules[ruleset.rules.index(previous)] = rule
            else:
                hint = (" (add 'override: true' to replace the built-in rule)"
                        if previous.builtin and not rule.builtin else "")
                errors.append(f"{rule.where}: rule {rule.id}: duplicate id, already defined at "
                              f"{previous.where}{hint}")
    ruleset.errors = errors
    if errors and strict:
        raise RuleLoadError(errors)
    return ruleset


def _load_file(doc: object, origin: str, is_builtin: bool, known: dict[str, type[Event]],
               table: AttackTable, errors: list[str]) -> list[Rule]:
    if doc is None:
        return []  # an empty file (a pack under construction) holds no rules
    if not isinstance(doc, dict):
        errors.append(f"{origin}:{line_of(doc)}: a rule file is a mapping with a 'rules' list")
        return []
    for key in doc:
        if key not in FILE_KEYS:
            errors.append(f"{origin}:{line_of(doc, key)}: unknown top-level key {key!r}"
                          f"{did_you_mean(str(key), FILE_KEYS)}")
    entries = doc.get("rules")
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append(f"{origin}:{line_of(doc, 'rules')}: 'rules' must be a list of rules")
        return []
    out: list[Rule] = []
    for i, entry in enumerate(entries):
        loader = _RuleLoader(entry, origin, line_of(entries, i), i, is_builtin, known, table)
        rule = loader.load()
        errors.extend(sorted(loader.errors, key=_line_number))
        if rule is not None and not loader.errors:
            out.append(rule)
    return out


class _RuleLoader:
    """Checks and compiles one rule entry, collecting every problem."""

    def __init__(self, entry: object, origin: str, line: int, index: int, is_builtin: bool,
                 known: dict[str, type[Event]], table: AttackTable) -> None:
        self.entry = entry
        self.origin = origin
        self.line = line
        self.index = index
        self.builtin = is_builtin
        self.known = known
        self.table = table
        self.errors: list[str] = []
        self.name = f"#{index + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            self.name = entry["id"]

    def err(self, line: int, message: str) -> None:
        self.errors.append(f"{self.origin}:{line or self.line}: rule {self.name}: {message}")

    def at(self, node: object, key: object = None) -> int:
        return line_of(node, key) or self.line

    # -- the rule --------------------------------------------------------------------------------
    def load(self) -> Rule | None:
        e = self.entry
        if not isinstance(e, dict):
            self.err(self.line, "a rule is a mapping (id, title, severity, ...)")
            return None
        for key in e:
            if key not in RULE_KEYS:
                self.err(self.at(e, key), f"unknown key {key!r}{did_you_mean(str(key), RULE_KEYS)}")
        for key in REQUIRED:
            if key not in e:
                self.err(self.line, f"missing required field {key!r}")
        rule_id = self._string(e, "id")
        if rule_id and not _ID.match(rule_id):
            self.err(self.at(e, "id"), f"id {rule_id!r}: use lowercase letters, digits, '_', "
                                       "'-' and dots (<area>.<protocol>.<what>)")
        title = self._string(e, "title")
        if "\n" in title:
            self.err(self.at(e, "title"), "title must be one line")
        severity = self._choice(e, "severity", SEVERITIES, None)
        confidence = self._choice(e, "confidence", CONFIDENCES, "medium")
        techniques = self._techniques(e, severity)
        description = self._string(e, "description")
        response = self._string(e, "response")
        enabled = self._bool(e, "enabled", True)
        override = self._bool(e, "override", False)
        tags = self._strings(e, "tags")
        has_match, has_seq = "match" in e, "sequence" in e
        if has_match == has_seq:
            self.err(self.line, "a rule needs exactly one of 'match' or 'sequence'")
        if "threshold" in e and not has_match:
            self.err(self.at(e, "threshold"), "'threshold' goes with 'match' (a sequence has "
                                              "'within')")
        predicates: dict[type, Predicate | None] = {}
        scope: dict[str, type] = {}
        threshold = sequence = None
        if has_match and not has_seq:
            scope = self._block_scope(e["match"], self.at(e, "match"))
            if scope:
                check_block(e["match"], scope, self._report, known=self.known,
                            line=self.at(e, "match"), top=True)
                predicates = self._compile(e["match"], scope)
            if "threshold" in e:
                threshold = self._threshold(e["threshold"], self.at(e, "threshold"), scope)
        elif has_seq:
            sequence, scope = self._sequence(e["sequence"], self.at(e, "sequence"))
        key = self._strings(e, "key")
        key_scope = scope
        if sequence is not None and sequence.steps:
            key_scope = {_tag(c): c for c in sequence.steps[-1].predicates}
        for name in key:
            if key_scope and field_kinds(name, key_scope) is None:
                self.err(self.at(e, "key"), f"key field {name!r} is not a field of "
                                            f"{', '.join(sorted(key_scope))}"
                                            f"{did_you_mean(name, self._names(key_scope, False))}")
        message = None
        if "message" in e:
            text = self._string(e, "message")
            try:
                message = Template(text)
            except ValueError as exc:
                self.err(self.at(e, "message"), f"message: {exc}")
            else:
                for name in message.unknown(scope):
                    self.err(self.at(e, "message"), f"message: unknown placeholder {{{name}}}"
                                                    f"{did_you_mean(name, self._names(scope))}")
        examples = self._examples(e.get("examples"), self.at(e, "examples")) \
            if "examples" in e else ()
        if self.errors:
            return None
        rule = Rule(
            id=rule_id, title=title, severity=severity, description=description.strip(),
            response=response.strip(), origin=self.origin, line=self.line,
            confidence=confidence, techniques=techniques,
            tactics=self.table.tactics_of(techniques), message=message,
            match=e.get("match") if has_match else None, predicates=predicates,
            threshold=threshold, sequence=sequence, key=tuple(key),
            enabled=enabled, override=override, builtin=self.builtin, tags=tuple(tags),
            examples=tuple(examples), datasets=tuple(sorted(scope)), raw=dict(e))
        rule.key_readers = {cls: self._readers(key, cls) for cls in key_scope.values()} \
            if key else {}
        return rule

    def _report(self, line: int, message: str) -> None:
        self.err(line, message)

    @staticmethod
    def _names(scope: dict[str, type], context: bool = True) -> list[str]:
        """Names to suggest from: the fields of the classes (and the context fields)."""
        names = [n for cls in scope.values() for n in class_field_names(cls)]
        return [*names, *CONTEXT_FIELDS] if context else names

    @staticmethod
    def _readers(fields: Sequence[str], cls: type) -> tuple[Reader, ...]:
        out: list[Reader] = []
        for name in fields:
            found = field_reader(name, cls)
            out.append(found[0] if found is not None else _none)
        return tuple(out)

    # -- scalar fields ---------------------------------------------------------------------------
    def _string(self, e: dict[str, Any], key: str) -> str:
        value = e.get(key)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.err(self.at(e, key), f"{key} must be non-empty text")
            return ""
        return value

    def _choice(self, e: dict[str, Any], key: str, choices: Sequence[str],
                default: str | None) -> str:
        value = e.get(key, default)
        if value is None:
            return ""
        if value not in choices:
            self.err(self.at(e, key), f"{key} {value!r} is not one of {', '.join(choices)}"
                                      f"{did_you_mean(str(value), choices)}")
            return default or ""
        return str(value)

    def _bool(self, e: dict[str, Any], key: str, default: bool) -> bool:
        value = e.get(key, default)
        if not isinstance(value, bool):
            self.err(self.at(e, key), f"{key} must be true or false")
            return default
        return value

    def _strings(self, e: dict[str, Any], key: str) -> list[str]:
        value = e.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.err(self.at(e, key), f"{key} must be a list of names")
            return []
        return list(value)

    def _techniques(self, e: dict[str, Any], severity: str) -> tuple[str, ...]:
        if "techniques" not in e:
            if severity != "info":
                self.err(self.line, "missing required field 'techniques' (may be [] only for "
                                    "severity info)")
            return ()
        ids = self._strings(e, "techniques")
        if not ids and severity != "info" and isinstance(e.get("techniques"), list):
            self.err(self.at(e, "techniques"), "techniques may be empty only for severity "
                                               "info")
        for tid in ids:
            if self.table.get(tid) is None:
                shape = "" if _TECHNIQUE.match(tid) else " (ids look like T0855)"
                self.err(self.at(e, "techniques"),
                         f"technique {tid!r} is not in the ATT&CK for ICS table{shape}"
                         f"{did_you_mean(tid, self.table.techniques)}")
        return tuple(ids)

    # -- conditions ------------------------------------------------------------------------------
    def _block_scope(self, block: object, line: int) -> dict[str, type]:
        """The classes a top-level block reads (its dataset); reports a missing dataset."""
        if not isinstance(block, dict):
            self.err(line, "a condition block must be a mapping")
            return {}
        if "dataset" not in block:
            self.err(line, "the block has no 'dataset' (required: it says which events the "
                           "rule reads)")
            return {}
        names = dataset_names(block["dataset"])
        if names is None:
            self.err(self.at(block, "dataset"), "dataset must be an event type name or a list")
            return {}
        scope: dict[str, type] = {}
        for name in names:
            cls = self.known.get(name)
            if cls is None:
                self.err(self.at(block, "dataset"), f"unknown dataset {name!r}"
                                                    f"{did_you_mean(name, self.known)}")
            else:
                scope[name] = cls
        return scope

    def _compile(self, block: dict[str, Any], scope: dict[str, type]
                 ) -> dict[type, Predicate | None]:
        if self.errors:
            return {}
        out: dict[type, Predicate | None] = {}
        for cls in scope.values():
            pred = compile_block(block, cls)
            if pred is True:
                out[cls] = None
            elif pred is not False:
                out[cls] = pred
        return out

    def _duration(self, node: dict[str, Any], key: str, line: int) -> float:
        if key not in node:
            self.err(line, f"missing {key!r} (a duration such as 60s, 5m, 1h)")
            return 0.0
        seconds = parse_duration(node[key])
        if seconds is None:
            self.err(self.at(node, key), f"{key} {node[key]!r} is not a duration (60s, 5m, 1h, "
                                         "2d or a number of seconds, above zero)")
            return 0.0
        return seconds

    def _threshold(self, node: object, line: int, scope: dict[str, type]) -> Threshold | None:
        if not isinstance(node, dict):
            self.err(line, "threshold must be a mapping (window, count, distinct, by)")
            return None
        for key in node:
            if key not in THRESHOLD_KEYS:
                self.err(self.at(node, key), f"threshold: unknown key {key!r}"
                                             f"{did_you_mean(str(key), THRESHOLD_KEYS)}")
        window = self._duration(node, "window", line)
        count = node.get("count")
        if count is None:
            self.err(line, "threshold: missing 'count'")
            count = 1
        elif isinstance(count, bool) or not isinstance(count, int) or count < 1:
            self.err(self.at(node, "count"), "threshold: count must be a whole number >= 1")
            count = 1
        distinct = node.get("distinct")
        if distinct is not None:
            if not isinstance(distinct, str):
                self.err(self.at(node, "distinct"), "threshold: distinct names one field")
                distinct = None
            elif scope and field_kinds(distinct, scope) is None:
                self.err(self.at(node, "distinct"), f"threshold: unknown field {distinct!r}"
                                                    f"{did_you_mean(distinct, self._names(scope))}")
        by = self._strings(node, "by")
        for name in by:
            if scope and field_kinds(name, scope) is None:
                self.err(self.at(node, "by"), f"threshold: unknown field {name!r} in 'by'"
                                              f"{did_you_mean(name, self._names(scope))}")
        if self.errors:
            return None
        return Threshold(
            window=window, count=count, distinct=distinct, by=tuple(by),
            distinct_readers={c: self._readers([distinct], c)[0] for c in scope.values()}
            if distinct else {},
            by_readers={c: self._readers(by, c) for c in scope.values()} if by else {})

    def _sequence(self, node: object, line: int
                  ) -> tuple[SequenceSpec | None, dict[str, type]]:
        if not isinstance(node, dict):
            self.err(line, "sequence must be a mapping (within, steps)")
            return None, {}
        for key in node:
            if key not in SEQUENCE_KEYS:
                self.err(self.at(node, key), f"sequence: unknown key {key!r}"
                                             f"{did_you_mean(str(key), SEQUENCE_KEYS)}")
        within = self._duration(node, "within", line)
        steps_node = node.get("steps")
        if not isinstance(steps_node, list) or len(steps_node) < 2:
            self.err(self.at(node, "steps"), "sequence: steps must list at least two steps")
            return None, {}
        steps: list[Step] = []
        every: dict[str, type] = {}
        for i, step in enumerate(steps_node):
            sline = line_of(steps_node, i) or line
            if not isinstance(step, dict):
                self.err(sline, f"sequence step {i + 1} must be a mapping (match, on)")
                continue
            if True in step:
                # YAML 1.1 reads a bare `on:` key as the boolean true
                step = _rekey(step, True, "on")
            for key in step:
                if key not in STEP_KEYS:
                    self.err(self.at(step, key), f"sequence step {i + 1}: unknown key {key!r}"
                                                 f"{did_you_mean(str(key), STEP_KEYS)}")
            if "match" not in step:
                self.err(sline, f"sequence step {i + 1}: missing 'match'")
                continue
            mline = self.at(step, "match")
            scope = self._block_scope(step["match"], mline)
            if not scope:
                continue
            every.update(scope)
            check_block(step["match"], scope, self._report, known=self.known, line=mline,
                        top=True)
            on = step.get("on", "src_ip")
            if not isinstance(on, str) or field_kinds(on, scope) is None:
                self.err(self.at(step, "on"), f"sequence step {i + 1}: 'on' must name an "
                                              f"address field of {', '.join(sorted(scope))}"
                                              f"{did_you_mean(str(on), self._names(scope, False))}")
                continue
            if self.errors:
                continue
            steps.append(Step(match=step["match"], on=on,
                              predicates=self._compile(step["match"], scope),
                              on_readers={c: self._readers([on], c)[0]
                                          for c in scope.values()}, line=sline))
        if self.errors:
            return None, every
        return SequenceSpec(within=within, steps=tuple(steps)), every

    # -- examples --------------------------------------------------------------------------------
    def _examples(self, node: object, line: int) -> list[Example]:
        if not isinstance(node, dict):
            self.err(line, "examples must be a mapping with 'match' and 'no_match' lists")
            return []
        for key in node:
            if key not in EXAMPLES_KEYS:
                self.err(self.at(node, key), f"examples: unknown key {key!r}"
                                             f"{did_you_mean(str(key), EXAMPLES_KEYS)}")
        out: list[Example] = []
        for key, expect in (("match", True), ("no_match", False)):
            items = node.get(key)
            if not isinstance(items, list) or not items:
                self.err(self.at(node, key) if key in node else line,
                         f"examples: '{key}' needs at least one example")
                continue
            for i, item in enumerate(items):
                example = self._example(item, expect, i, line_of(items, i) or line, key)
                if example is not None:
                    out.append(example)
        return out

    def _example(self, item: object, expect: bool, index: int, line: int, key: str
                 ) -> Example | None:
        label = f"examples.{key}[{index}]"
        if not isinstance(item, dict):
            self.err(line, f"{label}: an example is an event mapping or "
                           "{events: [...], context: {...}}")
            return None
        raw_events: list[Any]
        site: LoadedSite | None = None
        if "events" in item or "context" in item:
            for k in item:
                if k not in EXAMPLE_KEYS:
                    self.err(self.at(item, k), f"{label}: unknown key {k!r}"
                                               f"{did_you_mean(str(k), EXAMPLE_KEYS)}")
            evs = item.get("events")
            if not isinstance(evs, list) or not evs:
                self.err(self.at(item, "events"), f"{label}: 'events' needs a list of events")
                return None
            raw_events = list(evs)
            if "context" in item:
                site = self._site(item["context"], self.at(item, "context"), label)
        else:
            raw_events = [item]
        events: list[Event] = []
        for j, raw in enumerate(raw_events):
            eline = line_of(raw_events, j)
            event = self._event(raw, eline or line, label if len(raw_events) == 1
                                else f"{label}.events[{j}]")
            if event is not None:
                events.append(event)
        if len(events) != len(raw_events):
            return None
        return Example(expect_match=expect, index=index, line=line, events=tuple(events),
                       site=site)

    def _event(self, raw: object, line: int, label: str) -> Event | None:
        if not isinstance(raw, dict):
            self.err(line, f"{label}: an event is a mapping with 'dataset' and fields")
            return None
        line = line_of(raw) or line
        name = raw.get("dataset", raw.get("event.dataset"))
        if not isinstance(name, str):
            self.err(line, f"{label}: the event needs 'dataset'")
            return None
        cls = self.known.get(name)
        if cls is None:
            self.err(line, f"{label}: unknown dataset {name!r}{did_you_mean(name, self.known)}")
            return None
        fields = {k: v for k, v in raw.items() if k not in ("dataset", "event.dataset")}
        problems: list[str] = []
        event = build_event(cls, fields, label, problems)
        for p in problems:
            self.err(line, p)
        return event

    def _site(self, node: object, line: int, label: str) -> LoadedSite | None:
        """A real site from an example's ``context:`` (one /32 zone entry per address)."""
        if not isinstance(node, dict):
            self.err(line, f"{label}: context maps addresses to {{zone, level, roles, "
                           "safety, name}")
            return None
        zones: dict[str, int | None] = {}
        members: dict[str, list[str]] = {}
        assets: dict[str, dict[str, str | int | bool]] = {}
        for addr, facts in node.items():
            aline = self.at(node, addr)
            addr = str(addr).lower()
            if not isinstance(facts, dict):
                self.err(aline, f"{label}: context {addr}: give a mapping of facts")
                continue
            for k in facts:
                if k not in CONTEXT_KEYS:
                    self.err(self.at(facts, k), f"{label}: context {addr}: unknown fact {k!r}"
                                                f"{did_you_mean(str(k), CONTEXT_KEYS)}")
            is_ip = True
            try:
                netaddr.IPAddress(addr)
            except (netaddr.AddrFormatError, ValueError):
                is_ip = False
            override: dict[str, str | int | bool] = {}
            level = facts.get("level")
            if level is not None:
                if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 5:
                    self.err(self.at(facts, "level"), f"{label}: context {addr}: level is a "
                                                      "Purdue level 0-5")
                    continue
                override["purdue_level"] = level
            zone = facts.get("zone")
            if zone is not None:
                if not isinstance(zone, str) or not zone:
                    self.err(self.at(facts, "zone"), f"{label}: context {addr}: zone is a name")
                    continue
                if zone in zones and level is not None and zones[zone] not in (None, level):
                    self.err(self.at(facts, "level"), f"{label}: context {addr}: zone {zone!r} "
                                                      f"already has level {zones[zone]}")
                if zones.get(zone) is None:
                    zones[zone] = level
                override["zone"] = zone
                if is_ip:
                    members.setdefault(zone, []).append(addr)
            roles = facts.get("roles")
            if roles is not None:
                if isinstance(roles, str):
                    roles = [roles]
                if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                    self.err(self.at(facts, "roles"), f"{label}: context {addr}: roles is a "
                                                      "list of names")
                    continue
                override["roles"] = ",".join(roles)
            if "safety" in facts:
                if not isinstance(facts["safety"], bool):
                    self.err(self.at(facts, "safety"), f"{label}: context {addr}: safety is "
                                                       "true or false")
                    continue
                override["safety"] = "true" if facts["safety"] else "false"
            if "name" in facts:
                override["name"] = str(facts["name"])
            assets[addr] = override
        site_zones = [SiteZone(name=name, level=level,
                               subnets=[_host_net(a) for a in members.get(name, [])])
                      for name, level in zones.items()]
        site = Site(site="example", zones=site_zones, assets=assets)
        nets = [(netaddr.IPNetwork(s), z) for z in site_zones for s in z.subnets]
        nets.sort(key=lambda pair: -pair[0].prefixlen)
        return site, nets


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


def _rekey(node: dict[Any, Any], old: object, new: str) -> LocatedDict:
    out = LocatedDict()
    out.line = line_of(node)
    out.lines = {}
    for key, value in node.items():
        name = new if key is old else key
        out[name] = value
        out.lines[name] = line_of(node, key)
    return out


def _line_number(message: str) -> int:
    """The line of a ``file:line: ...`` message, for ordering a rule's problems."""
    parts = message.split(":", 3)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _host_net(addr: str) -> str:
    return f"{addr}/{128 if ':' in addr else 32}"


def _none(_event: Any, _ctx: Any) -> Any:
    return None


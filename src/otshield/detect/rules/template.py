"""Alert message templates: ``"S7 PLC STOP sent by {src_ip} to {dst_ip}"``.

Parsed once at load time into literal text and placeholders; each placeholder is resolved per
event class to a field reader (event fields, ECS or short names, nested paths, context fields)
or to a value the detector supplies (``count``, ``distinct``). Rendering happens only when an
alert fires. Values are cut to 200 characters (a hostile URI must not make a megabyte alert);
a placeholder that does not resolve, or a format spec that does not apply, is left as written.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from otshield.detect.rules.conditions import Reader, field_kinds, field_reader
from otshield.detect.rules.context_fields import RuleContext

__all__ = ["EXTRA_NAMES", "Template", "parse_template"]

MAX_VALUE = 200
EXTRA_NAMES = frozenset({"count", "distinct", "rule_id", "title"})
"""Placeholders the engine fills itself."""

_Part = tuple[str, str | None, str, str]  # literal, field name, format spec, original text


def parse_template(text: str) -> list[_Part]:
    """Split a template; raises ValueError on unbalanced braces."""
    parts: list[_Part] = []
    for literal, name, spec, conv in string.Formatter().parse(text):
        if name is None:
            parts.append((literal, None, "", ""))
            continue
        original = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        parts.append((literal, name, spec or "", original))
    return parts


def _cut(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        text = ", ".join(str(v) for v in (sorted(value) if isinstance(value, (set, frozenset))
                                          else value))
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


class Template:
    """A parsed template with per-class readers built on first use."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts = parse_template(text)
        self._readers: dict[type, list[Reader | None]] = {}

    def unknown(self, classes: Mapping[str, type]) -> list[str]:
        """Placeholders no class in scope has (for load-time checks)."""
        return [name for _lit, name, _spec, _orig in self.parts
                if name is not None and name not in EXTRA_NAMES
                and field_kinds(name, dict(classes)) is None]

    def _readers_for(self, cls: type) -> list[Reader | None]:
        readers = self._readers.get(cls)
        if readers is None:
            readers = []
            for _lit, name, _spec, _orig in self.parts:
                found = field_reader(name, cls) if name and name not in EXTRA_NAMES else None
                readers.append(found[0] if found else None)
            self._readers[cls] = readers
        return readers

    def render(self, event: Any, ctx: RuleContext, extra: Mapping[str, Any] | None = None
               ) -> str:
        readers = self._readers_for(type(event))
        out: list[str] = []
        for (literal, name, spec, original), reader in zip(self.parts, readers, strict=True):
            out.append(literal)
            if name is None:
                continue
            if extra is not None and name in extra:
                value: Any = extra[name]
            elif reader is not None:
                try:
                    value = reader(event, ctx)
                except Exception:  # a template must never break detection
                    out.append(original)
                    continue
            else:
                out.append(original)
                continue
            if spec:
                try:
                    out.append(_cut(format(value, spec)))
                except (ValueError, TypeError):
                    out.append(_cut(value))
            else:
                out.append(_cut(value))
        return "".join(out)


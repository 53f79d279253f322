"""Event sinks: JSON lines per event type (Zeek/Suricata-EVE style) and in-memory counting.

Each event type goes to ``<dir>/<event.dataset>.jsonl`` with ECS-aligned field names, one
record per line, so a SIEM or ``jq`` can take the files as they are.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import msgspec

from otshield.errors import OtshieldError
from otshield.events import Event

__all__ = ["EventCounter", "JsonlWriter"]


class JsonlWriter:
    """Writes each event to the JSON-lines file of its type; call :meth:`close` at the end."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OtshieldError(f"cannot create output directory {directory}: {exc}") from exc
        self.directory = directory
        self._files: dict[type[Event], BinaryIO] = {}
        self._by_tag: dict[str, BinaryIO] = {}
        self._encode = msgspec.json.Encoder().encode
        self.counts: Counter[str] = Counter()

    def __call__(self, event: Event) -> None:
        fh = self._files.get(type(event))
        if fh is None:
            fh = self._open(type(event))
        fh.write(self._encode(event) + b"\n")

    def _open(self, cls: type[Event]) -> BinaryIO:
        tag = str(cls.__struct_config__.tag)
        fh = self._by_tag.get(tag)
        if fh is None:
            fh = (self.directory / f"{tag}.jsonl").open("wb", buffering=1 << 20)
            self._by_tag[tag] = fh
        self._files[cls] = fh
        return fh

    def paths(self) -> list[Path]:
        return sorted(Path(fh.name) for fh in self._by_tag.values())

    def close(self) -> None:
        for fh in self._by_tag.values():
            fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class EventCounter:
    """Counts events per type (and keeps nothing else): the sink behind ``--summary``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._tags: dict[type[Event], str] = {}

    def __call__(self, event: Event) -> None:
        cls = type(event)
        tag = self._tags.get(cls)
        if tag is None:
            tag = self._tags[cls] = str(cls.__struct_config__.tag)
        self.counts[tag] += 1

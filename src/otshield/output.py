"""The JSON-lines event sink, one file per event type (Zeek/Suricata-EVE style).

Each event type goes to ``<dir>/<event.dataset>.jsonl`` with ECS-aligned field names, one
record per line, so a SIEM or ``jq`` can take the files as they are.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import msgspec

from otshield.errors import OtshieldError
from otshield.events import Event

__all__ = ["JsonlWriter"]

_FLUSH_AT = 1 << 20


class JsonlWriter:
    """Writes each event to the JSON-lines file of its type; call :meth:`close` at the end."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OtshieldError(f"cannot create output directory {directory}: {exc}") from exc
        self.directory = directory
        # One buffer per event type's file: events are encoded straight into it.
        self._bufs: dict[type[Event], bytearray] = {}
        self._tag_bufs: dict[str, bytearray] = {}
        self._files: dict[int, BinaryIO] = {}
        self._encode_into = msgspec.json.Encoder().encode_into

    def __call__(self, event: Event) -> None:
        buf = self._bufs.get(type(event))
        if buf is None:
            buf = self._open(type(event))
        self._encode_into(event, buf, -1)  # appends to the file's buffer
        buf.append(10)
        if len(buf) > _FLUSH_AT:
            self._flush(buf)

    def _open(self, cls: type[Event]) -> bytearray:
        tag = str(cls.__struct_config__.tag)
        buf = self._tag_bufs.get(tag)
        if buf is None:
            buf = bytearray()
            self._tag_bufs[tag] = buf
            self._files[id(buf)] = (self.directory / f"{tag}.jsonl").open("wb")
        self._bufs[cls] = buf
        return buf

    def _flush(self, buf: bytearray) -> None:
        self._files[id(buf)].write(buf)
        buf.clear()

    def paths(self) -> list[Path]:
        return sorted(self.directory / f"{tag}.jsonl" for tag in self._tag_bufs)

    def close(self) -> None:
        for buf in self._tag_bufs.values():
            self._flush(buf)
            self._files[id(buf)].close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

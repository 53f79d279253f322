"""The exception tree of otshield.

    OtshieldError                 anything otshield raises on purpose
    ├── CaptureError              a file or interface cannot be read as a capture
    │   └── NotACaptureError      the file is not pcap, pcapng or gzip of either
    ├── ConfigError               invalid settings or command-line values
    └── Malformed                 raised by a pure protocol parser; the engine turns it into an
                                  anomaly event named by ``code`` (``modbus.invalid_length``)

Parsers raise nothing but ``Malformed``. Any other exception escaping a decoder is a bug: the
engine contains it per flow and emits ``internal.decoder_error`` instead of crashing.
"""

from __future__ import annotations

import traceback
from pathlib import Path

__all__ = ["CaptureError", "ConfigError", "Malformed", "NotACaptureError", "OtshieldError",
           "describe_bug"]


class OtshieldError(Exception):
    """Base of every error otshield raises on purpose."""


class CaptureError(OtshieldError):
    """A capture source cannot be opened or read."""


class NotACaptureError(CaptureError):
    """The file is not a pcap/pcapng capture (optionally gzip-compressed)."""


class ConfigError(OtshieldError):
    """Settings or command-line values are invalid."""


class Malformed(OtshieldError):
    """A protocol unit violates its specification.

    ``code`` is the anomaly code, ``<protocol>.<snake_case>``; ``detail`` says what was seen.
    """

    __slots__ = ("code", "detail")

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def describe_bug(exc: BaseException) -> str:
    """One line naming an unexpected exception and where it was raised, for the
    ``internal.*_error`` anomaly that replaces a traceback."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"

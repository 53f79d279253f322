"""Niagara Fox (Tridium Niagara AX/N4 station protocol, TCP 1911; 4911 is Fox over TLS and left
to the TLS decoder): framing, probe and first-level parsing.

A Fox message is text: a header line ``fox <kind> <id> <reply-to> <channel> <command>`` (the
hello exchange is ``fox a 0 -1 fox hello``), then a ``{`` ... ``};;`` block of ``key=type:value``
lines (``s`` string, ``i`` integer, ``b`` bytes, ``o`` object...). The hello of each side carries
the fingerprint the inventory wants: host name and address, application (Workbench / Station)
name and version, Java VM, OS, station name, brand, host id. References: Tridium Niagara AX Fox
protocol as documented by the Nmap ``fox-info`` script and Digital Bond's Redpoint research.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.identify import FactValue, Unit, split_frames

__all__ = ["FACT_KEYS", "frame_size", "parse", "probe"]

MAX_MESSAGE = 64 * 1024

FACT_KEYS: dict[bytes, str] = {
    b"fox.version": "fox_version", b"hostName": "host_name", b"hostAddress": "host_address",
    b"app.name": "app_name", b"app.version": "app_version", b"vm.name": "vm_name",
    b"vm.version": "vm_version", b"os.name": "os_name", b"os.version": "os_version",
    b"station.name": "station_name", b"brandId": "brand_id", b"hostId": "host_id",
    b"lang": "language", b"timeZone": "time_zone", b"method": "auth_method",
    b"username": "username",
}
"""Body keys kept (Fox key -> fact name). Nonces, passwords and other values are not kept."""

CLASSES = {"hello": "identify", "challenge": "security", "authenticate": "security",
           "auth": "security", "login": "security", "logout": "security"}
MAX_VALUE = 256


def frame_size(buf: bytes) -> int | None:
    """A message runs through its ``;;`` terminator (the newline after it starts the next)."""
    return split_frames(buf, b";;", MAX_MESSAGE)


def probe(buf: bytes, from_client: bool) -> bool:
    """The stream starts with a Fox header line: ``fox <kind> <digits>``."""
    return buf[:4] == b"fox " and len(buf) > 7 and buf[5:6] == b" " and (
        buf[6:7].isdigit() or buf[6:7] == b"-")


def parse(frame: bytes, from_client: bool) -> Unit:
    text = frame.lstrip(b"\r\n\t ")
    line_end = text.find(b"\n")
    header = text if line_end < 0 else text[:line_end]
    tokens = header.split()
    if len(tokens) < 6 or tokens[0] != b"fox":
        raise Malformed("fox.bad_header", f"not a Fox header line: {header[:40]!r}")
    command = tokens[5].decode("ascii", "replace")
    kind = f"{tokens[4].decode('ascii', 'replace')} {command}"
    facts: dict[str, FactValue] = {}
    if line_end >= 0:
        for line in text[line_end + 1:].split(b"\n"):
            key, eq, value = line.partition(b"=")
            name = FACT_KEYS.get(key.strip())
            if name is None or not eq:
                continue
            _, colon, raw = value.partition(b":")  # type prefix (s:, i:...) then the value
            facts[name] = (raw if colon else value).strip()[:MAX_VALUE].decode("utf-8", "replace")
    return Unit(kind, CLASSES.get(command, "other"), None, facts or None)

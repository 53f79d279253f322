"""Pure FTP control-channel line parsing: commands, replies, data channel addresses.

RFC 959 section 4.1.3 (command syntax: a verb, optional space and argument, CRLF) and 4.2
(replies: three digits, then space for the last line or hyphen for a multi-line reply, 4.2.1);
PORT (RFC 959 4.1.2) and the 227 reply's h1,h2,h3,h4,p1,p2; EPRT ``|af|addr|port|`` and the 229
reply ``(|||port|)`` (RFC 2428 sections 2 and 3).

The functions never raise; malformed input gives None.
"""

from __future__ import annotations

import re

__all__ = ["Reply", "parse_257", "parse_command", "parse_eprt", "parse_epsv", "parse_port",
           "parse_reply_line", "parse_size", "strip_telnet"]

_HOST_PORT = re.compile(rb"(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})")
_EPSV = re.compile(r"\((.)\1\1(\d{1,5})\1\)")
_SIZE = re.compile(r"\((\d+) bytes\)")
_TELNET = re.compile(rb"\xff[\xf0-\xfe]")
_MAX_ARG = 1024


class Reply:
    """A reply line: ``code``, whether more lines follow (``ddd-``), the text."""

    __slots__ = ("code", "more", "text")

    def __init__(self, code: int, more: bool, text: str) -> None:
        self.code = code
        self.more = more
        self.text = text


def strip_telnet(line: bytes) -> bytes:
    """Drop Telnet commands (IAC IP, IAC DM around ABOR: RFC 959 section 4.1.3)."""
    return _TELNET.sub(b"", line).replace(b"\xff\xff", b"\xff") if b"\xff" in line else line


def parse_command(line: bytes) -> tuple[str, str] | None:
    """``(VERB, argument)``; None when the line is not a command (empty or not a word)."""
    text = line.decode("utf-8", "replace").strip("\r\n")
    verb, _, arg = text.partition(" ")
    if not verb or len(verb) > 8 or not verb.isalpha():
        return None
    return verb.upper(), arg[:_MAX_ARG]


def parse_reply_line(line: bytes) -> Reply | None:
    """The first line of a reply (or the last of a multi-line one): ``ddd text``/``ddd-text``."""
    if len(line) < 3 or not line[:3].isdigit():
        return None
    code = int(line[:3])
    if code < 100 or code > 599:
        return None
    sep = line[3:4]
    return Reply(code, sep == b"-", line[4:].decode("utf-8", "replace").strip("\r\n"))


def parse_port(text: str) -> tuple[str, int] | None:
    """``h1,h2,h3,h4,p1,p2`` anywhere in ``text`` (PORT argument, 227 reply) -> host, port."""
    m = _HOST_PORT.search(text.encode("ascii", "replace"))
    if m is None:
        return None
    parts = [int(g) for g in m.groups()]
    if any(p > 255 for p in parts):
        return None
    return ".".join(str(p) for p in parts[:4]), parts[4] * 256 + parts[5]


def parse_eprt(arg: str) -> tuple[str, int] | None:
    """``|1|132.235.1.2|6275|`` (the first character is the delimiter) -> host, port."""
    if len(arg) < 7:
        return None
    fields = arg.split(arg[0])
    if len(fields) < 5 or not fields[3].isdigit():
        return None
    port = int(fields[3])
    return (fields[2], port) if 0 < port < 65536 else None


def parse_epsv(text: str) -> int | None:
    """229 reply text ``Entering Extended Passive Mode (|||6446|)`` -> port."""
    m = _EPSV.search(text)
    if m is None:
        return None
    port = int(m.group(2))
    return port if 0 < port < 65536 else None


def parse_size(text: str) -> int | None:
    """A 150 reply's ``(12345 bytes)`` transfer size, as most servers announce it."""
    m = _SIZE.search(text)
    return int(m.group(1)) if m else None


def parse_257(text: str) -> str | None:
    """A 257 reply's quoted path (RFC 959 Appendix II: doubled quotes escape a quote)."""
    if not text.startswith('"'):
        return None
    out: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == '"':
            if text[i + 1:i + 2] == '"':
                out.append('"')
                i += 2
                continue
            return "".join(out)
        out.append(c)
        i += 1
    return None

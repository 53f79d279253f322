"""FTP per-flow session: splits both directions into lines (bounded), pairs each command with its
final reply (FIFO, RFC 959 section 5.4: one reply sequence per command, 1xx preliminaries
first), tracks user, working directory and data channel, and stops at AUTH TLS."""

from __future__ import annotations

import posixpath
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from otshield.protocols.base import FlowContext
from otshield.protocols.ftp.constants import ANONYMOUS_USERS, FILE_COMMANDS
from otshield.protocols.ftp.events import FtpEvent
from otshield.protocols.ftp.parser import (
    Reply,
    parse_257,
    parse_command,
    parse_eprt,
    parse_epsv,
    parse_port,
    parse_reply_line,
    parse_size,
    strip_telnet,
)

__all__ = ["MAX_LINE", "FtpSession"]

MAX_LINE = 4096
"""Longest control line kept (RFC 959 sets no limit; real ones are far shorter)."""
_MAX_MSG = 256
_SECRET = frozenset({"PASS", "ACCT"})
_COMMAND_START = re.compile(rb"[A-Za-z]{3,4}( |\r?\n)")
_REPLY_START = re.compile(rb"[1-5]\d\d[ -]")


@dataclass(slots=True)
class _Cmd:
    verb: str
    arg: str
    ts: float
    frame: int
    cwd: str | None
    preliminary: int | None = None
    size: int | None = None


class FtpSession:
    """State of one FTP control connection."""

    __slots__ = ("bufs", "cwd", "flagged", "flow", "limit", "multiline", "pending", "resync",
                 "skipping", "tls", "user")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.limit = flow.settings.max_pending_requests
        self.bufs = (bytearray(), bytearray())
        self.skipping = [False, False]  # inside an over-long line: drop until its end
        self.resync = [False, False]  # a gap happened: check where the next line starts
        self.pending: deque[_Cmd] = deque()
        self.multiline: Reply | None = None
        self.user: str | None = None
        self.cwd: str | None = None
        self.tls = False
        self.flagged: set[str] = set()

    # -- stream ---------------------------------------------------------------------------------
    def on_data(self, data: bytes, from_client: bool) -> None:
        if self.tls:
            return
        d = 0 if from_client else 1
        buf = self.bufs[d]
        start = 0
        if self.resync[d]:
            self.resync[d] = False
            # After a gap: a segment that starts like a command or a reply starts a line
            # (capture loss drops whole segments); anything else is the tail of a lost one.
            looks = _COMMAND_START if from_client else _REPLY_START
            if not looks.match(data):
                self.skipping[d] = True
        while not self.tls:
            i = data.find(b"\n", start)
            if i < 0:
                rest = data[start:]
                if self.skipping[d]:
                    return
                if len(buf) + len(rest) > MAX_LINE:
                    self._flag("ftp.line_too_long", f"line over {MAX_LINE} bytes", from_client)
                    buf.clear()
                    self.skipping[d] = True
                    return
                buf += rest
                return
            piece = data[start:i]
            start = i + 1
            if self.skipping[d]:
                self.skipping[d] = False
                continue
            if buf:
                buf += piece
                line = bytes(buf)
                buf.clear()
            else:
                line = piece
            if len(line) > MAX_LINE:
                self._flag("ftp.line_too_long", f"line over {MAX_LINE} bytes", from_client)
                continue
            line = line.rstrip(b"\r")
            if from_client:
                self._command(line)
            else:
                self._reply_line(line)

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used (FTP has no length prefix); kept for the Session interface."""
        self.on_data(frame, from_client)

    def on_gap(self, from_client: bool, size: int) -> None:
        d = 0 if from_client else 1
        self.bufs[d].clear()
        self.skipping[d] = False
        self.resync[d] = True  # decide on the next bytes whether they start a line
        if not from_client:
            self.multiline = None
            # Replies were lost: whatever is pending can no longer be paired by order.
            while self.pending:
                self._emit(self.pending.popleft(), None, unanswered=True)

    def close(self) -> None:
        while self.pending:
            self._emit(self.pending.popleft(), None, unanswered=True)

    def _flag(self, code: str, detail: str, from_client: bool) -> None:
        if code not in self.flagged:
            self.flagged.add(code)
            self.flow.anomaly(code, detail, from_client)

    # -- client -----------------------------------------------------------------------------------
    def _command(self, line: bytes) -> None:
        if not line:
            return
        parsed = parse_command(strip_telnet(line))
        flow = self.flow
        if parsed is None:
            self._flag("ftp.bad_command", "client line is not an FTP command", True)
            return
        verb, arg = parsed
        if verb == "USER":
            self.user = arg
        elif verb == "PASS" and (self.user or "").lower() not in ANONYMOUS_USERS:
            self._flag("ftp.cleartext_credentials", f"password for {self.user!r} sent in clear",
                       True)
        elif verb in ("PORT", "EPRT"):
            target = parse_port(arg) if verb == "PORT" else parse_eprt(arg)
            if target is None:
                flow.anomaly("ftp.bad_data_address", f"{verb} {arg[:64]}", True)
            elif target[0] != flow.client_ip and ":" not in target[0]:
                # RFC 2577 section 3: a data port on a third host is the "bounce" attack.
                flow.anomaly("ftp.port_bounce",
                             f"{verb} to {target[0]}:{target[1]} from {flow.client_ip}", True)
        if len(self.pending) >= self.limit:
            flow.anomaly("ftp.too_many_pending", f"{self.limit} commands unanswered", True)
            self._emit(self.pending.popleft(), None, unanswered=True)
        self.pending.append(_Cmd(verb, arg, flow.ts, flow.frame, self.cwd))

    # -- server -----------------------------------------------------------------------------------
    def _reply_line(self, line: bytes) -> None:
        ml = self.multiline
        if ml is not None:
            # RFC 959 4.2: the last line repeats the code followed by a space.
            if len(line) >= 4 and line[:3] == str(ml.code).encode() and line[3:4] == b" ":
                self.multiline = None
                self._reply(ml)
            return
        reply = parse_reply_line(line)
        if reply is None:
            if line:
                self._flag("ftp.bad_reply", "server line is not an FTP reply", False)
            return
        if reply.more:
            self.multiline = reply
            return
        self._reply(reply)

    def _reply(self, reply: Reply) -> None:
        code = reply.code
        if code < 200:
            if self.pending:
                cmd = self.pending[0]
                cmd.preliminary = code
                cmd.size = parse_size(reply.text)
            return
        if not self.pending:
            self._emit(None, reply)
            return
        self._emit(self.pending.popleft(), reply)

    def _emit(self, cmd: _Cmd | None, reply: Reply | None, unanswered: bool = False) -> None:
        flow = self.flow
        f: dict[str, Any] = {}
        if reply is not None:
            f["reply_code"] = reply.code
            f["reply_msg"] = reply.text[:_MAX_MSG]
        if cmd is None:
            flow.emit(FtpEvent(**flow.fields(False), user=self.user, **f))
            return
        verb, arg = cmd.verb, cmd.arg
        code = reply.code if reply is not None else 0
        ok = 200 <= code < 300
        f["command"] = verb
        if verb in _SECRET:
            f["password_present"] = True if verb == "PASS" else None
        elif arg:
            f["arg"] = arg
        if verb in FILE_COMMANDS and arg:
            f["file"] = arg
        f["preliminary_code"] = cmd.preliminary
        f["file_size"] = cmd.size
        f["cwd"] = cmd.cwd
        if verb in ("USER", "PASS") and reply is not None:
            if code in (230, 202):
                f["login_success"] = True
            elif code >= 400 or (verb == "PASS" and code not in (331, 332)):
                f["login_success"] = False
        elif verb in ("PORT", "EPRT"):
            target = parse_port(arg) if verb == "PORT" else parse_eprt(arg)
            if target is not None:
                f["data_host"], f["data_port"] = target
                f["passive"] = False
        elif verb == "PASV" and code == 227 and reply is not None:
            target = parse_port(reply.text)
            if target is not None:
                f["data_host"], f["data_port"] = target
                f["passive"] = True
        elif verb == "EPSV" and code == 229 and reply is not None:
            port = parse_epsv(reply.text)
            if port is not None:
                f["data_host"], f["data_port"], f["passive"] = flow.server_ip, port, True
        elif verb in ("CWD", "XCWD") and ok:
            self.cwd = _join(self.cwd, arg)
        elif verb in ("CDUP", "XCUP") and ok and self.cwd is not None:
            self.cwd = posixpath.dirname(self.cwd.rstrip("/")) or "/"
        elif verb in ("PWD", "XPWD") and code == 257 and reply is not None:
            self.cwd = parse_257(reply.text) or self.cwd
        elif verb == "SIZE" and code == 213 and reply is not None and reply.text.isdigit():
            f["file_size"] = int(reply.text)
        elif verb == "AUTH" and code == 234:
            self.tls = True
            f["tls"] = True
        common = flow.fields(True)
        if unanswered:
            common["ts"], common["frame"] = cmd.ts, cmd.frame
            f["unanswered"] = True
        flow.emit(FtpEvent(**common, user=self.user,
                           **{k: v for k, v in f.items() if v is not None}))


def _join(cwd: str | None, arg: str) -> str | None:
    if arg.startswith("/"):
        return posixpath.normpath(arg)
    if cwd is None:
        return None
    return posixpath.normpath(posixpath.join(cwd, arg))

"""Telnet per-flow session: strips IAC sequences from both directions, watches the server's
text for login and password prompts and their outcome, reads the client's typed lines (with
backspace editing), and emits one :class:`TelnetEvent` when the connection closes.

Prompt and outcome recognition is heuristic by nature (Telnet has no login protocol, RFC 854):
the patterns cover Unix ``login:``/``Password:``, network devices (``Username:``, ``User
Access Verification``), and the usual failure words. A password line is consumed without being
stored, whatever the state machine believes.
"""

from __future__ import annotations

import re

from otshield.protocols.base import FlowContext
from otshield.protocols.telnet.constants import OPTIONS
from otshield.protocols.telnet.events import TelnetEvent
from otshield.protocols.telnet.parser import TelnetDecoder, environ_user, terminal_type

__all__ = ["MAX_COMMANDS", "MAX_LINE", "TelnetSession"]

MAX_COMMANDS = 64
MAX_LINE = 256
_MAX_BANNER = 256
_TAIL = 256
_MAX_OPTIONS = 32
_LOGIN_PROMPT = re.compile(r"(login|username|user name|user|login as)\s*:\s*$", re.IGNORECASE)
_PASSWORD_PROMPT = re.compile(r"(password|passcode|passwd)[^\n:]{0,40}:\s*$", re.IGNORECASE)
_FAILURE = re.compile(r"incorrect|fail|denied|invalid|bad password|authentication error|"
                      r"not authorized|% bad", re.IGNORECASE)
_SUCCESS = re.compile(r"last login|welcome|[$#>%\]]\s*$", re.IGNORECASE)
_WILL, _DO = 251, 253
_TTYPE, _ENVIRON, _NEW_ENVIRON = 24, 36, 39
_EDIT = re.compile(r"[\r\n\x00\x08\x7f]")

# login state machine
_IDLE, _USER, _PASSWORD, _RESULT, _SHELL = range(5)


class TelnetSession:
    """State of one Telnet connection."""

    __slots__ = ("attempts", "banner", "banner_done", "bytes", "commands", "decoders", "env_user",
                 "flagged", "flow", "last_cr", "line", "login_prompt", "offers", "options",
                 "password_sent", "result", "state", "tail", "term", "truncated", "user")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.decoders = (TelnetDecoder(), TelnetDecoder())
        self.bytes = [0, 0]
        self.banner: list[str] = []
        self.banner_done = False
        self.tail = ""
        self.line: list[str] = []
        self.last_cr = False
        self.state = _IDLE
        self.options: list[str] = []
        self.offers: dict[tuple[int, int], int] = {}  # (option, side) -> WILL 1 | DO 2 seen
        self.term: str | None = None
        self.env_user: str | None = None
        self.login_prompt = False
        self.user: str | None = None
        self.password_sent = False
        self.attempts = 0
        self.result: str | None = None
        self.commands: list[str] = []
        self.truncated = False
        self.flagged = False

    def on_data(self, data: bytes, from_client: bool) -> None:
        d = 0 if from_client else 1
        self.bytes[d] += len(data)
        dec = self.decoders[d]
        text = dec.feed(data)
        if dec.negotiations:
            self._negotiations(dec, from_client)
        if dec.subnegotiations:
            self._subnegotiations(dec, from_client)
        if not text:
            return
        chars = text.decode("utf-8", "replace")
        if from_client:
            self._client_text(chars)
        else:
            self._server_text(chars)

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used (Telnet is a byte stream); kept for the Session interface."""
        self.on_data(frame, from_client)

    def on_gap(self, from_client: bool, size: int) -> None:
        self.decoders[0 if from_client else 1].reset()
        if from_client:
            self.line.clear()

    def close(self) -> None:
        flow = self.flow
        if self.password_sent and self.result is None:
            self.result = "unknown"
        common = flow.fields(True)
        flow.emit(TelnetEvent(
            **common, banner=_banner("".join(self.banner)),
            options=tuple(self.options) or None, terminal_type=self.term,
            env_user=self.env_user, login_prompt=self.login_prompt or None, user=self.user,
            password_sent=self.password_sent or None, login_attempts=self.attempts or None,
            login_result=self.result, commands=tuple(self.commands) or None,
            commands_truncated=self.truncated or None, client_bytes=self.bytes[0] or None,
            server_bytes=self.bytes[1] or None))

    # -- negotiation ----------------------------------------------------------------------------
    def _negotiations(self, dec: TelnetDecoder, from_client: bool) -> None:
        """An option is in effect on a side once that side said WILL and the other DO, in
        either order (RFC 855: a request is answered by agreement or refusal)."""
        side = 0 if from_client else 1
        for verb, opt in dec.negotiations:
            if verb == _WILL:
                key, bit = (opt, side), 1
            elif verb == _DO:
                key, bit = (opt, 1 - side), 2
            else:
                continue  # WONT/DONT refuse or switch off: nothing new is in effect
            seen = self.offers.get(key, 0) | bit
            self.offers[key] = seen
            if seen == 3 and len(self.options) < _MAX_OPTIONS:
                name = OPTIONS.get(opt, str(opt))
                if name not in self.options:
                    self.options.append(name)
        dec.negotiations.clear()

    def _subnegotiations(self, dec: TelnetDecoder, from_client: bool) -> None:
        for opt, payload in dec.subnegotiations:
            if opt == _TTYPE and from_client:
                self.term = terminal_type(payload) or self.term
            elif opt in (_ENVIRON, _NEW_ENVIRON) and from_client:
                user = environ_user(payload)
                if user is not None:
                    self.env_user = user
                    if user.startswith("-f"):
                        # CVE-2007-0882: USER "-froot" made Solaris in.telnetd skip login.
                        self.flow.anomaly("telnet.env_user_injection",
                                          f"NEW-ENVIRON USER {user[:32]!r}", from_client)
        dec.subnegotiations.clear()
        if dec.overlong:
            dec.overlong = False
            self.flow.anomaly("telnet.subnegotiation_too_long",
                              "IAC SB block longer than 512 bytes (cut)", from_client)

    # -- server text ----------------------------------------------------------------------------
    def _server_text(self, chars: str) -> None:
        if not self.banner_done:
            room = _MAX_BANNER - sum(len(b) for b in self.banner)
            self.banner.append(chars[:room])
            if len(chars) >= room:
                self.banner_done = True
        self.tail = (self.tail + chars)[-_TAIL:]
        tail = self.tail.rstrip(" \x00")
        state = self.state
        if _PASSWORD_PROMPT.search(tail):
            # also in a shell: "su", "enable" and "sudo" prompt for passwords too
            self.state = _PASSWORD
            self.banner_done = True
        elif state != _SHELL and _LOGIN_PROMPT.search(tail):
            self.state = _USER
            self.login_prompt = True
            self.banner_done = True
        elif state == _RESULT:
            if _FAILURE.search(self.tail):
                self.result = "failure"
                self.state = _IDLE
            elif _SUCCESS.search(tail):
                self.result = "success"
                self.state = _SHELL

    # -- client text ----------------------------------------------------------------------------
    def _client_text(self, chars: str) -> None:
        if not _EDIT.search(chars):
            self._append(chars)
            return
        for c in chars:  # typed input: short chunks, usually one character
            if c == "\r":
                self._line_done()
                self.last_cr = True
                continue
            if c == "\n" or c == "\x00":
                if not self.last_cr:
                    self._line_done()
                self.last_cr = False
                continue
            self.last_cr = False
            if c in "\x08\x7f":
                if self.line:
                    self.line.pop()
            else:
                self._append(c)

    def _append(self, chars: str) -> None:
        self.last_cr = False
        if len(self.line) < MAX_LINE:
            self.line.extend(chars[:MAX_LINE - len(self.line)])

    def _line_done(self) -> None:
        text = _printable("".join(self.line))
        self.line.clear()
        self.banner_done = True
        self.tail = ""
        state = self.state
        if state == _PASSWORD:
            # The password itself is dropped here and never stored.
            self.password_sent = True
            self.attempts += 1
            self.state = _RESULT if self.result != "success" else _SHELL
            if not self.flagged:
                self.flagged = True
                self.flow.anomaly("telnet.cleartext_login",
                                  f"password sent in clear for user {self.user!r}", True)
            return
        if state == _USER:
            if text:
                self.user = text.strip()[:MAX_LINE]
            self.state = _IDLE
            return
        if state == _SHELL or (state == _IDLE and self.result == "success"):
            if not text.strip():
                return
            if len(self.commands) < MAX_COMMANDS:
                self.commands.append(text)
            else:
                self.truncated = True


def _printable(text: str) -> str:
    """Text without control characters (keystrokes like ^C, terminal escapes), tabs and line
    breaks kept."""
    if text.isprintable():
        return text
    return "".join(c for c in text if c.isprintable() or c in "\r\n\t")


def _banner(text: str) -> str | None:
    """The server's first text, or None when it is not text (binary, encrypted: U+FFFD marks
    bytes that were not UTF-8)."""
    if "\ufffd" in text:
        return None
    return _printable(text).strip()[:_MAX_BANNER] or None

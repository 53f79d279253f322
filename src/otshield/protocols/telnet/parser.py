"""Pure Telnet stream decoding: strip IAC command sequences from the data, report option
negotiation and subnegotiations (RFC 854 "The Network Virtual Terminal", RFC 855 for SB ... SE).

:class:`TelnetDecoder` keeps the state of one direction across arbitrary chunk boundaries (an IAC
split from its option byte is completed by the next chunk). Plain text between IAC bytes is
handed on in slices, so ordinary output costs a ``bytes.find`` per chunk, not a loop per byte.
The subnegotiation readers (terminal type RFC 1091 section 4, NEW-ENVIRON RFC 1572 section 2)
never raise.
"""

from __future__ import annotations

from otshield.protocols.telnet.constants import IAC, SB, SE

__all__ = ["MAX_SUBNEGOTIATION", "TelnetDecoder", "environ_user", "terminal_type"]

MAX_SUBNEGOTIATION = 512
"""Bytes kept of one SB ... SE block; longer ones are cut (and reported)."""

_DATA, _IAC, _OPTION, _SB, _SB_IAC = range(5)


class TelnetDecoder:
    """One direction: ``feed(chunk)`` returns the text with Telnet commands removed and fills
    ``negotiations`` (verb, option) and ``subnegotiations`` (option, bytes) with what it saw."""

    __slots__ = ("negotiations", "overlong", "sb", "state", "subnegotiations", "verb")

    def __init__(self) -> None:
        self.state = _DATA
        self.verb = 0
        self.sb = bytearray()
        self.negotiations: list[tuple[int, int]] = []
        self.subnegotiations: list[tuple[int, bytes]] = []
        self.overlong = False

    def reset(self) -> None:
        """Forget a half-read command (after a gap in the stream)."""
        self.state = _DATA
        self.sb.clear()

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            st = self.state
            if st == _DATA:
                i = data.find(b"\xff", pos)
                if i < 0:
                    out.append(data[pos:] if pos else data)
                    break
                if i > pos:
                    out.append(data[pos:i])
                pos = i + 1
                self.state = _IAC
            elif st == _IAC:
                c = data[pos]
                pos += 1
                if c == IAC:  # escaped 0xFF data byte
                    out.append(b"\xff")
                    self.state = _DATA
                elif 251 <= c <= 254:
                    self.verb = c
                    self.state = _OPTION
                elif c == SB:
                    self.sb.clear()
                    self.state = _SB
                else:  # NOP, GA, AYT, IP... carry no data
                    self.state = _DATA
            elif st == _OPTION:
                self.negotiations.append((self.verb, data[pos]))
                pos += 1
                self.state = _DATA
            elif st == _SB:
                i = data.find(b"\xff", pos)
                stop = n if i < 0 else i
                room = MAX_SUBNEGOTIATION - len(self.sb)
                if stop - pos > room:
                    self.overlong = True
                self.sb += data[pos:pos + max(0, min(room, stop - pos))]
                if i < 0:
                    break
                pos = i + 1
                self.state = _SB_IAC
            else:  # _SB_IAC
                c = data[pos]
                pos += 1
                if c == IAC:
                    if len(self.sb) < MAX_SUBNEGOTIATION:
                        self.sb.append(IAC)
                    self.state = _SB
                else:
                    # SE ends the block; any other command also ends it (RFC 855 leaves this
                    # undefined) and is then read as the command it is.
                    if self.sb:
                        self.subnegotiations.append((self.sb[0], bytes(self.sb[1:])))
                    if c == SE:
                        self.state = _DATA
                    else:
                        pos -= 1
                        self.state = _IAC
        return b"".join(out)


def terminal_type(payload: bytes) -> str | None:
    """TTYPE ``IS <name>`` (RFC 1091 section 4: IS = 0)."""
    if payload[:1] != b"\x00":
        return None
    return payload[1:].decode("ascii", "replace") or None


def environ_user(payload: bytes) -> str | None:
    """The USER variable of a NEW-ENVIRON/ENVIRON ``IS`` or ``INFO`` block (RFC 1572 section 2:
    IS 0, INFO 2; VAR 0, VALUE 1, ESC 2, USERVAR 3)."""
    if payload[:1] not in (b"\x00", b"\x02"):
        return None
    name: bytearray | None = None
    value: bytearray | None = None
    current: bytearray | None = None
    i, n = 1, len(payload)
    while i < n:
        c = payload[i]
        i += 1
        if c in (0, 3):  # VAR / USERVAR: a new variable starts
            if name is not None and bytes(name) == b"USER" and value is not None:
                return value.decode("utf-8", "replace") or None
            name, value = bytearray(), None
            current = name
        elif c == 1:  # VALUE
            value = bytearray()
            current = value
        elif c == 2 and i < n:  # ESC: the next byte is literal
            if current is not None:
                current.append(payload[i])
            i += 1
        elif current is not None:
            current.append(c)
    if name is not None and bytes(name) == b"USER" and value is not None:
        return value.decode("utf-8", "replace") or None
    return None

"""The NetBIOS session service framing SMB rides on, done by the SMB session itself.

RFC 1002 section 4.3.1: a 4-byte header (type, then a 17-bit length) before each message on
TCP 139; [MS-SMB2] 2.1 / [MS-CIFS] 2.1.1.2 reuse it on TCP 445 with a 24-bit length ("Direct
TCP"). The decoder does its own framing instead of the engine's ``frame_size`` because SMB2
READ/WRITE messages reach 8 MiB: only the first bytes of a large message are parsed (header
and fixed body), so those are kept and the bulk payload is passed on in the pieces it arrived in
(``CONTINUATION`` units, for the session to hash file content) without being buffered, and a
capture gap inside that payload does not even cost synchronisation.
"""

from __future__ import annotations

__all__ = ["CONTINUATION", "HEAD_BYTES", "WHOLE_LIMIT", "NbssStream"]

CONTINUATION = -1
"""Unit type of the further bytes of a large message after its head unit, in order."""

WHOLE_LIMIT = 128 * 1024
"""Messages up to this size are delivered whole; larger ones as their first HEAD_BYTES."""
HEAD_BYTES = 8 * 1024
_SESSION_TYPES = frozenset({0x81, 0x82, 0x83, 0x84, 0x85})
_SIGNATURES = frozenset({0xFE, 0xFF, 0xFD, 0xFC})


class NbssStream:
    """One direction of an SMB connection: bytes in, ``(type, payload, length)`` units out."""

    __slots__ = ("buf", "errors", "hunting", "skip")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.skip = 0  # payload bytes of a large message still to pass over
        self.hunting = False  # synchronisation lost: look for the next SMB header
        self.errors: list[str] = []

    def feed(self, data: bytes) -> list[tuple[int, bytes, int]]:
        """Units ``(type, payload, length)``: an NBSS message whole (``length`` its size), the
        first HEAD_BYTES of a larger one, then its remaining bytes as ``CONTINUATION`` units."""
        out: list[tuple[int, bytes, int]] = []
        if self.skip:
            if len(data) <= self.skip:
                self.skip -= len(data)
                out.append((CONTINUATION, data, 0))
                return out
            out.append((CONTINUATION, data[:self.skip], 0))
            data = data[self.skip:]
            self.skip = 0
        buf = self.buf
        buf += data
        while True:
            if self.hunting:
                i = _resync(buf)
                if i < 0:
                    del buf[:max(0, len(buf) - 7)]
                    return out
                del buf[:i]
                self.hunting = False
            if len(buf) < 4:
                return out
            kind = buf[0]
            if kind == 0:
                length = (buf[1] << 16) | (buf[2] << 8) | buf[3]
                if length:
                    # Check the SMB signature before trusting the length: a stream joined in
                    # the middle of a payload must not make us skip megabytes of real messages.
                    if len(buf) < 8:
                        return out
                    if buf[5:8] != b"SMB" or buf[4] not in _SIGNATURES:
                        self.errors.append(f"no SMB signature after a {length}-byte header")
                        self.hunting = True
                        del buf[:1]
                        continue
            elif kind in _SESSION_TYPES and not buf[1] & 0xFE:
                length = ((buf[1] & 1) << 16) | (buf[2] << 8) | buf[3]
            else:
                self.errors.append(f"NetBIOS session type 0x{kind:02x}")
                self.hunting = True
                del buf[:1]
                continue
            total = 4 + length
            if total <= WHOLE_LIMIT:
                if len(buf) < total:
                    return out
                out.append((kind, bytes(buf[4:total]), length))
                del buf[:total]
                continue
            if len(buf) < 4 + HEAD_BYTES:
                return out
            out.append((kind, bytes(buf[4:4 + HEAD_BYTES]), length))
            if len(buf) >= total:
                out.append((CONTINUATION, bytes(buf[4 + HEAD_BYTES:total]), 0))
                del buf[:total]
                continue
            if len(buf) > 4 + HEAD_BYTES:
                out.append((CONTINUATION, bytes(buf[4 + HEAD_BYTES:]), 0))
            self.skip = total - len(buf)
            buf.clear()
            return out

    def gap(self, size: int) -> bool:
        """``size`` bytes were lost; True if the stream is still in step (the gap fell inside
        payload being skipped)."""
        if not self.buf and self.skip >= size:
            self.skip -= size
            return True
        self.buf.clear()
        self.skip = 0
        self.hunting = True
        return False


def _resync(buf: bytearray) -> int:
    """Offset of the next plausible Direct-TCP header: 0x00, 3 length bytes, 0xFx 'SMB'."""
    start = 5
    while True:
        i = buf.find(b"SMB", start)
        if i < 0:
            return -1
        if buf[i - 1] in _SIGNATURES and buf[i - 5] == 0:
            return i - 5
        start = i + 1

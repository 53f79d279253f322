"""What moved through an open SMB file: bytes per direction and, while the content arrives in
file order, its MD5, SHA-1 and SHA-256, computed as the bytes pass (nothing is buffered).

The session tells an :class:`OpenFile` about each READ response and WRITE request ([MS-SMB2]
2.2.20, 2.2.21; [MS-CIFS] 2.2.4.42.2, 2.2.4.43.1) with its file offset; :meth:`Content.begin`
decides which of the data bytes extend the hashed prefix of the file, and the session then
feeds them, possibly over several ``CONTINUATION`` units of a large message (see framing.py).

The digests are only trusted for a file seen whole from offset 0 to its end, with nothing lost
(a capture gap, a refused write, a read that skipped ahead). Re-reading bytes already seen is
common (Explorer reads a header, then the file) and harmless; re-writing them is not, since the
content may have changed.
"""

from __future__ import annotations

import hashlib

__all__ = ["Content", "OpenFile", "Piece"]


class _Digests:
    __slots__ = ("md5", "sha1", "sha256")

    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        self.md5.update(data)
        self.sha1.update(data)
        self.sha256.update(data)


class Content:
    """One direction (read or write) of one open file."""

    __slots__ = ("broken", "digests", "end", "moved", "seen")

    def __init__(self) -> None:
        self.moved = 0  # data bytes returned / accepted by the server
        self.seen = 0  # length of the prefix of the file hashed so far (or promised to be)
        self.end = 0  # highest offset + length that moved
        self.digests: _Digests | None = None
        self.broken = False

    def begin(self, offset: int, length: int, rewrite_ok: bool) -> Piece | None:
        """Data bytes ``[offset, offset + length)`` of the file are about to pass: the piece to
        feed them through (which skips those already hashed), or None if they do not extend
        the hashed prefix in order (then the hashing stops for good)."""
        self.end = max(self.end, offset + length)
        if self.broken or length <= 0:
            return None
        seen = self.seen
        if offset > seen or (offset < seen and not rewrite_ok):
            self.lost()
            return None
        if offset + length <= seen:
            return None  # a re-read of bytes already hashed
        if self.digests is None:
            self.digests = _Digests()
        self.seen = offset + length
        return Piece(self, seen - offset, offset + length - seen)

    def lost(self) -> None:
        """Bytes of the content will never be seen: no digest."""
        self.broken = True
        self.digests = None

    def result(self, size: int | None) -> tuple[bool, tuple[str, str, str] | None]:
        """(complete, (md5, sha1, sha256) or None) for a file of ``size`` bytes."""
        d = self.digests
        if self.broken or d is None or size is None or self.seen != size:
            return False, None
        return True, (d.md5.hexdigest(), d.sha1.hexdigest(), d.sha256.hexdigest())


class Piece:
    """The data bytes of one READ/WRITE still to pass: ``skip`` already hashed ones first, then
    ``take`` new ones."""

    __slots__ = ("content", "skip", "take")

    def __init__(self, content: Content, skip: int, take: int) -> None:
        self.content = content
        self.skip = skip
        self.take = take

    def feed(self, data: bytes | memoryview) -> None:
        """The next bytes of the data (beyond the end of the data is ignored)."""
        if self.take <= 0:
            return
        n = len(data)
        start = 0
        if self.skip:
            start = min(self.skip, n)
            self.skip -= start
            if start == n:
                return
        stop = min(n, start + self.take)
        self.take -= stop - start
        digests = self.content.digests
        if digests is not None:
            digests.update(data if start == 0 and stop == n else memoryview(data)[start:stop])

    def cut(self) -> None:
        """The rest of the data will not be seen."""
        if self.take > 0:
            self.content.lost()
            self.take = 0


class OpenFile:
    """An open handle: its name, share, size and the content moved each way."""

    __slots__ = ("domain", "file_id", "name", "pipe", "read", "size", "tree", "user", "version",
                 "write")

    def __init__(self, name: str, tree: str | None, version: int, file_id: str,
                 size: int | None, pipe: bool, user: tuple[str, str | None] | None) -> None:
        self.name = name
        self.tree = tree
        self.version = version
        self.file_id = file_id
        self.size = size
        self.pipe = pipe  # a named pipe (IPC$): no file content, no event
        self.user: str | None = user[0] if user is not None else None
        self.domain: str | None = user[1] if user is not None else None
        self.read = Content()
        self.write = Content()

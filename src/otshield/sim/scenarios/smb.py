"""SMB2 sessions as lateral movement writes them: log on, copy a tool, open a service pipe.

One :class:`Smb2Session` per TCP connection to port 445: ``logon`` (NEGOTIATE, NTLM
SESSION_SETUP in two legs), ``tree_connect`` (ADMIN$, C$, IPC$), ``put_file`` (CREATE with
overwrite, WRITE in 4 KiB pieces, CLOSE), ``bind_pipe`` (open a named pipe such as ``svcctl`` on
IPC$ and bind DCE/RPC to its interface, as PsExec does before creating its service) and
``logoff``. References: [MS-SMB2] 2.2 (messages), [MS-NLMP] 2.2.1 (NTLM messages, built by
:mod:`otshield.detect.testplant`), DCE/RPC 1.1 (C706) chapter 12.6 (bind and bind_ack PDUs),
[MS-SCMR] 1.9 (the svcctl interface).
"""

from __future__ import annotations

import random
import struct
import uuid

from otshield.detect.testplant import (
    ntlm_authenticate,
    ntlm_challenge,
    ntlm_negotiate,
    session_setup_req,
    session_setup_resp,
)
from otshield.pcapwriter import TcpConversation

__all__ = ["SVCCTL", "Smb2Session", "fake_pe"]

SVCCTL = ("svcctl", "367abb81-9844-35f1-ad32-98f038001003", 2)
"""The service control manager's pipe, interface UUID and version ([MS-SCMR] 1.9)."""
_NDR = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le
"""NDR transfer syntax, version 2."""
_STATUS_MORE_PROCESSING = 0xC0000016


def nbss(payload: bytes) -> bytes:
    """Direct TCP transport header ([MS-SMB2] 2.1): a zero byte and a 24-bit length."""
    return b"\x00" + len(payload).to_bytes(3, "big") + payload


def fake_pe(rnd: random.Random, size: int) -> bytes:
    """What a copied tool looks like on the wire: an MZ header, the DOS stub, a PE signature,
    then random bytes. Nothing that runs."""
    dos = bytearray(b"MZ" + bytes(58) + struct.pack("<I", 0x80))
    dos += b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - len(dos), b"\0")
    pe = b"PE\0\0" + struct.pack("<HH", 0x8664, 5)
    head = bytes(dos) + pe
    return head + rnd.randbytes(max(0, size - len(head)))


class Smb2Session:
    """SMB 2.1 messages of one connection, request and response each time."""

    def __init__(self, conv: TcpConversation, rnd: random.Random, *, server_name: str,
                 user: str, domain: str, workstation: str) -> None:
        self.conv = conv
        self.rnd = rnd
        self.server_name = server_name
        self.user, self.domain, self.workstation = user, domain, workstation
        self.mid = 0
        self.session = 0
        self.tree = 0
        self._trees: dict[str, int] = {}
        self._next_file = 0x41

    # -- framing --------------------------------------------------------------------------------
    def _header(self, command: int, response: bool, status: int) -> bytes:
        return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, command, 1,
                           0x1 if response else 0, 0, self.mid, 0xFEFF, self.tree, self.session,
                           bytes(16))

    def _exchange(self, command: int, request: bytes, response: bytes, status: int = 0,
                  pause: float = 0.002) -> None:
        self.conv.send(True, nbss(self._header(command, False, 0) + request), ack=False)
        self.conv.send(False, nbss(self._header(command, True, status) + response))
        self.mid += 1
        self.conv.ts += pause

    # -- messages -------------------------------------------------------------------------------
    def logon(self) -> None:
        """NEGOTIATE (SMB 2.0.2 / 2.1 offered, 2.1 chosen) and an NTLM session setup."""
        guid = self.rnd.randbytes(16)
        dialects = struct.pack("<HH", 0x0202, 0x0210)
        self._exchange(0, struct.pack("<HHHHI16sQ", 36, 2, 1, 0, 0x7F, guid, 0) + dialects,
                       struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0210, 0, self.rnd.randbytes(16),
                                   0x7, 1 << 20, 1 << 20, 1 << 20, 0, 0, 128, 0, 0) + b"\0")
        self._exchange(1, session_setup_req(ntlm_negotiate()),
                       session_setup_resp(ntlm_challenge(self.server_name)),
                       status=_STATUS_MORE_PROCESSING)
        self.session = 0x0000_0400_0000_0000 | self.rnd.getrandbits(16)
        self._exchange(1, session_setup_req(ntlm_authenticate(
            self.user, self.domain, self.workstation, self.server_name, self.conv.ts)),
            session_setup_resp(b""))

    def tree_connect(self, share: str) -> None:
        """TREE_CONNECT to ``\\\\server\\share``; IPC$ is a pipe share, the others disks."""
        path = f"\\\\{self.server_name}\\{share}".encode("utf-16-le")
        pipe = share.upper() == "IPC$"
        tree = len(self._trees) + 1
        self._exchange(3, struct.pack("<HHHH", 9, 0, 72, len(path)) + path,
                       struct.pack("<HBBIII", 16, 2 if pipe else 1, 0, 0x30 if pipe else 0, 0,
                                   0x001F01FF))
        self._trees[share] = tree
        self.tree = tree

    def _create(self, name: str, disposition: int, attributes: int, options: int) -> bytes:
        raw = name.encode("utf-16-le")
        file_id = struct.pack("<QQ", self._next_file, 0x9000_0000 | self._next_file)
        self._next_file += 1
        self._exchange(5, struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F,
                                      attributes, 0x7, disposition, options, 120, len(raw), 0, 0)
                       + raw,
                       struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 2 if disposition == 5 else 1,
                                   0, 0, 0, 0, 0, 0, attributes or 0x80, 0, file_id, 0, 0)
                       + b"\0")
        return file_id

    def _close(self, file_id: bytes, size: int) -> None:
        self._exchange(6, struct.pack("<HHI16s", 24, 1, 0, file_id),
                       struct.pack("<HHIQQQQQQI", 60, 1, 0, 0, 0, 0, 0, size, size, 0x20))

    def _write(self, file_id: bytes, offset: int, piece: bytes) -> None:
        self._exchange(9, struct.pack("<HHIQ16sIIHHI", 49, 112, len(piece), offset, file_id,
                                      0, 0, 0, 0, 0) + piece,
                       struct.pack("<HHIIHH", 17, 0, len(piece), 0, 0, 0) + b"\0")

    def _read(self, file_id: bytes, answer: bytes) -> None:
        self._exchange(8, struct.pack("<HBBIQ16sIIIHH", 49, 0x50, 0, 1024, 0, file_id, 0, 0, 0,
                                      0, 0) + b"\0",
                       struct.pack("<HBBIII", 17, 0x50, 0, len(answer), 0, 0) + answer)

    def put_file(self, share: str, name: str, data: bytes) -> None:
        """Copy ``data`` to ``name`` on ``share`` (overwriting), 4 KiB per WRITE."""
        self.tree = self._trees[share]
        file_id = self._create(name, 5, 0x80, 0x40)  # OVERWRITE_IF, non-directory file
        for offset in range(0, len(data), 4096):
            self._write(file_id, offset, data[offset:offset + 4096])
        self._close(file_id, len(data))

    def bind_pipe(self, pipe: str, interface: str, version: int) -> None:
        """Open ``pipe`` on IPC$ and bind DCE/RPC to ``interface`` over it."""
        self.tree = self._trees["IPC$"]
        file_id = self._create(pipe, 1, 0, 0)  # OPEN
        call_id = 1
        self._write(file_id, 0, _rpc_bind(call_id, uuid.UUID(interface).bytes_le, version))
        self._read(file_id, _rpc_bind_ack(call_id, f"\\PIPE\\{pipe}"))
        self._close(file_id, 0)

    def logoff(self) -> None:
        """TREE_DISCONNECT of every tree, then LOGOFF."""
        for tree in self._trees.values():
            self.tree = tree
            self._exchange(4, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0))
        self.tree = 0
        self._exchange(2, struct.pack("<HH", 4, 0), struct.pack("<HH", 4, 0))
        self._trees.clear()


# -- DCE/RPC connection-oriented PDUs (C706 12.6.4) ---------------------------------------------
def _rpc_header(ptype: int, call_id: int, body: bytes) -> bytes:
    # version 5.0, first+last fragment, little-endian ASCII IEEE data representation
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\0\0\0", 16 + len(body), 0,
                       call_id) + body


def _rpc_bind(call_id: int, interface: bytes, version: int) -> bytes:
    item = struct.pack("<HBB", 0, 1, 0) + interface + struct.pack("<HH", version, 0) + _NDR + \
        struct.pack("<I", 2)
    return _rpc_header(11, call_id, struct.pack("<HHIB3x", 4280, 4280, 0, 1) + item)


def _rpc_bind_ack(call_id: int, port: str) -> bytes:
    addr = port.encode("ascii") + b"\0"
    sec = struct.pack("<H", len(addr)) + addr
    pad = (-(16 + 8 + len(sec))) % 4  # the result list starts 4-aligned
    results = struct.pack("<B3xHH", 1, 0, 0) + _NDR + struct.pack("<I", 2)
    return _rpc_header(12, call_id, struct.pack("<HHI", 4280, 4280, 0x1234) + sec + bytes(pad)
                       + results)

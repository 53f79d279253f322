"""Pure SMB1 (CIFS) decoder: one SMB1 message in, a header plus one record per (AndX-chained)
command out.

[MS-CIFS] 2.2.3.1 (header), 2.2.3.2-3 (parameter and data blocks), 2.2.3.4 (AndX chains), and
the commands otshield reads fields from: NEGOTIATE 2.2.4.52, SESSION_SETUP_ANDX 2.2.4.53 (with
[MS-SMB] 2.2.4.5/2.2.4.6 extended security), TREE_CONNECT_ANDX 2.2.4.55, NT_CREATE_ANDX
2.2.4.64, OPEN_ANDX 2.2.4.41, READ_ANDX 2.2.4.42, WRITE_ANDX 2.2.4.43, CLOSE 2.2.4.5, DELETE
2.2.4.7, RENAME 2.2.4.8, TRANSACTION 2.2.4.33, TRANSACTION2 2.2.4.46, NT_TRANSACT 2.2.4.62 and
their secondaries. Other commands are recognised by code only.

SMB1 is obsolete (Microsoft disabled it by default in 2017), so its presence is itself a finding.
Raises only ``Malformed``. Parses a prefix of a message too (the session keeps only the head of a
large WRITE): fields past the end of ``msg`` are simply absent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from otshield.errors import Malformed
from otshield.protocols.smb.constants import ANDX_COMMANDS

__all__ = ["Smb1Command", "Smb1Header", "parse_smb1", "smb_string"]

_HEADER = struct.Struct("<4sBIBHH8sHHHHH")  # [MS-CIFS] 2.2.3.1, 32 bytes
_FLAGS_REPLY = 0x80
_FLAGS2_UNICODE = 0x8000
_FLAGS2_NT_STATUS = 0x4000
_FLAGS2_SIGNED = 0x0004
_CAP_EXTENDED_SECURITY = 0x80000000
_MAX_CHAIN = 8
_MAX_DIALECTS = 32


@dataclass(slots=True)
class Smb1Header:
    command: int
    response: bool
    status: int
    """NTSTATUS, or for DOS-style errors ``(class << 16) | code`` with ``dos_error`` set."""
    dos_error: bool
    flags2: int
    tid: int
    pid: int
    uid: int
    mid: int

    @property
    def unicode(self) -> bool:
        return bool(self.flags2 & _FLAGS2_UNICODE)

    @property
    def signed(self) -> bool:
        return bool(self.flags2 & _FLAGS2_SIGNED)


@dataclass(slots=True)
class Smb1Command:
    """One command of a message (the first, or one further down an AndX chain)."""

    command: int
    word_count: int = 0
    dialects: tuple[str, ...] | None = None
    dialect_index: int | None = None
    signing_required: bool | None = None
    server_domain: str | None = None
    server_name: str | None = None
    security_blob: bytes | None = None
    user: str | None = None
    domain: str | None = None
    native_os: str | None = None
    native_lanman: str | None = None
    plaintext_password: bool = False
    guest: bool | None = None
    path: str | None = None
    service: str | None = None
    filename: str | None = None
    new_filename: str | None = None
    disposition: int | None = None
    action: int | None = None
    desired_access: int | None = None
    fid: int | None = None
    end_of_file: int | None = None
    offset: int | None = None
    length: int | None = None
    data_length: int | None = None
    data_offset: int | None = None
    """READ_ANDX response / WRITE_ANDX request: DataOffset, from the start of the SMB header."""
    trans_name: str | None = None
    subcommand: int | None = None
    setup: tuple[int, ...] = ()
    no_response: bool = False
    more: bool = False
    """A transaction response with more parts to come (displacement + count < total)."""
    total_parameter_count: int | None = None
    total_data_count: int | None = None
    trans_params: bytes | None = None
    trans_data: bytes | None = None


def smb_string(msg: bytes, pos: int, end: int, unicode: bool) -> tuple[str, int]:
    """A NUL-terminated string at ``pos`` ([MS-CIFS] 2.2.1.1: Unicode strings are aligned to
    2 bytes from the start of the SMB header, which is offset 0 of ``msg``)."""
    if not unicode:
        i = msg.find(b"\x00", pos, end)
        if i < 0:
            return msg[pos:end].decode("latin-1"), end
        return msg[pos:i].decode("latin-1"), i + 1
    # Skip the pad byte that aligns the string; a sender that omitted it put a non-zero
    # character there instead, so keep that byte.
    if pos & 1 and pos < end and msg[pos] == 0:
        pos += 1
    text, after = _utf16z(msg, pos, end)
    if text and text[0] > "\u00ff" and msg[pos] == 0:
        # Misaligned by a stray pad byte (impacket-based tools): the ASCII reading one byte on
        # is the real one.
        shifted, shifted_after = _utf16z(msg, pos + 1, end)
        if shifted.isascii() and shifted.isprintable():
            return shifted, shifted_after
    return text, after


def _utf16z(msg: bytes, pos: int, end: int) -> tuple[str, int]:
    i = pos
    while True:
        i = msg.find(b"\x00\x00", i, end)
        if i < 0:
            return msg[pos:end].decode("utf-16-le", "replace"), end
        if (i - pos) % 2 == 0:
            return msg[pos:i].decode("utf-16-le", "replace"), i + 2
        i += 1


def parse_smb1(msg: bytes) -> tuple[Smb1Header, list[Smb1Command]]:
    """Decode an SMB1 message (starting at its 0xFF 'SMB' signature)."""
    if len(msg) < 33:
        raise Malformed("smb.truncated", f"SMB1 message of {len(msg)} bytes")
    (_proto, command, status, flags, flags2, pid_high, _sec, _res, tid, pid_low, uid,
     mid) = _HEADER.unpack_from(msg)
    nt = bool(flags2 & _FLAGS2_NT_STATUS)
    if not nt:
        # DOS error: class (1 byte), reserved, code (2 bytes) ([MS-CIFS] 2.2.1.4.2)
        status = ((status & 0xFF) << 16) | (status >> 16)
    hdr = Smb1Header(command, bool(flags & _FLAGS_REPLY), status, not nt and status != 0,
                     flags2, tid, (pid_high << 16) | pid_low, uid, mid)
    out: list[Smb1Command] = []
    pos = 32
    end = len(msg)
    for _ in range(_MAX_CHAIN):
        wc = msg[pos] if pos < end else 0
        wstart = pos + 1
        wend = wstart + 2 * wc
        if wend > end:
            if out:
                break  # the head of a large message: keep what was whole
            raise Malformed("smb.truncated", f"{wc} parameter words past the end")
        bc = struct.unpack_from("<H", msg, wend)[0] if wend + 2 <= end else 0
        bstart = wend + 2
        bend = min(bstart + bc, end)
        cmd = Smb1Command(command, wc)
        _COMMANDS.get(command, _ignore)(msg, hdr, cmd, wstart, wend, bstart, bend)
        out.append(cmd)
        if command not in ANDX_COMMANDS or wc < 2:
            break
        next_cmd = msg[wstart]
        next_off = struct.unpack_from("<H", msg, wstart + 2)[0]
        if next_cmd == 0xFF:
            break
        if next_off <= pos or next_off >= end:
            break  # a chain must move forward; a broken link ends it
        command, pos = next_cmd, next_off
    return hdr, out




def _ignore(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
            be: int) -> None:
    """Commands recognised by code only."""


def _negotiate(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
               be: int) -> None:
    if not hdr.response:
        # [MS-CIFS] 2.2.4.52.1: a list of 0x02-prefixed NUL-terminated OEM dialect strings
        names: list[str] = []
        pos = bs
        while pos < be and msg[pos] == 0x02 and len(names) < _MAX_DIALECTS:
            name, pos = smb_string(msg, pos + 1, be, False)
            names.append(name)
        cmd.dialects = tuple(names)
        return
    if we - ws >= 2:
        cmd.dialect_index = struct.unpack_from("<H", msg, ws)[0]
    if we - ws == 34:  # NT LM 0.12 response, 17 words
        security_mode = msg[ws + 2]
        cmd.signing_required = bool(security_mode & 0x08)
        caps = struct.unpack_from("<I", msg, ws + 19)[0]
        challenge_len = msg[ws + 33]
        if not caps & _CAP_EXTENDED_SECURITY:
            pos = bs + challenge_len
            if pos < be:
                cmd.server_domain, pos = smb_string(msg, pos, be, hdr.unicode)
            if pos < be:
                cmd.server_name, pos = smb_string(msg, pos, be, hdr.unicode)
        elif be - bs > 16:
            cmd.security_blob = msg[bs + 16:be]


def _session_setup(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                   be: int) -> None:
    uni = hdr.unicode
    wc = cmd.word_count
    if not hdr.response:
        if wc == 12:  # extended security: SecurityBlobLength at word 7
            blob_len = struct.unpack_from("<H", msg, ws + 14)[0]
            cmd.security_blob = msg[bs:bs + blob_len]
            pos = bs + blob_len
        elif wc in (10, 13):
            if wc == 13:
                oem_len, uni_len = struct.unpack_from("<HH", msg, ws + 14)
            else:
                oem_len, uni_len = struct.unpack_from("<H", msg, ws + 14)[0], 0
            # A case-insensitive password that is neither empty nor a 24-byte LM/NTLM response
            # is sent in clear ([MS-CIFS] 3.2.4.2.4, share-level or plaintext authentication).
            cmd.plaintext_password = uni_len == 0 and oem_len not in (0, 1, 24)
            pos = bs + oem_len + uni_len
            cmd.user, pos = smb_string(msg, pos, be, uni and wc == 13)
            cmd.domain, pos = smb_string(msg, pos, be, uni and wc == 13)
        else:
            return
        if pos < be:
            cmd.native_os, pos = smb_string(msg, pos, be, uni)
        if pos < be:
            cmd.native_lanman, pos = smb_string(msg, pos, be, uni)
        return
    if wc >= 3:
        cmd.guest = bool(struct.unpack_from("<H", msg, ws + 4)[0] & 0x0001)
    pos = bs
    if wc == 4:
        blob_len = struct.unpack_from("<H", msg, ws + 6)[0]
        cmd.security_blob = msg[bs:bs + blob_len]
        pos = bs + blob_len
    if wc in (3, 4) and pos < be:
        cmd.native_os, pos = smb_string(msg, pos, be, uni)
        if pos < be:
            cmd.native_lanman, pos = smb_string(msg, pos, be, uni)
        if pos < be and wc == 3:
            cmd.domain, pos = smb_string(msg, pos, be, uni)


def _tree_connect(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                  be: int) -> None:
    if not hdr.response:
        if cmd.word_count < 4:
            return
        pw_len = struct.unpack_from("<H", msg, ws + 6)[0]
        pos = bs + pw_len
        cmd.path, pos = smb_string(msg, pos, be, hdr.unicode)
        if pos < be:
            cmd.service, pos = smb_string(msg, pos, be, False)  # always OEM
    elif cmd.word_count >= 2 and bs < be:
        cmd.service, _ = smb_string(msg, bs, be, False)


def _nt_create(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
               be: int) -> None:
    if not hdr.response:
        if cmd.word_count != 24:
            return
        name_len = struct.unpack_from("<H", msg, ws + 5)[0]
        cmd.desired_access = struct.unpack_from("<I", msg, ws + 15)[0]
        cmd.disposition = struct.unpack_from("<I", msg, ws + 35)[0]
        pos = bs
        if hdr.unicode:
            if pos & 1 and pos < be and msg[pos] == 0:
                pos += 1  # alignment pad (see smb_string)
            cmd.filename = msg[pos:min(pos + name_len, be)].decode("utf-16-le", "replace")
        else:
            cmd.filename = msg[pos:min(pos + name_len, be)].decode("latin-1")
        cmd.filename = cmd.filename.rstrip("\x00")
    elif cmd.word_count >= 34:
        cmd.fid, cmd.action = struct.unpack_from("<HI", msg, ws + 5)
        cmd.end_of_file = struct.unpack_from("<Q", msg, ws + 55)[0]


def _open_andx(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
               be: int) -> None:
    if not hdr.response:
        if cmd.word_count >= 15:
            cmd.filename, _ = smb_string(msg, bs, be, hdr.unicode)
    elif cmd.word_count >= 3:
        cmd.fid = struct.unpack_from("<H", msg, ws + 4)[0]


def _read_andx(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
               be: int) -> None:
    if not hdr.response:
        if cmd.word_count >= 10:
            cmd.fid, low, cmd.length = struct.unpack_from("<HIH", msg, ws + 4)
            high = struct.unpack_from("<I", msg, ws + 20)[0] if cmd.word_count >= 12 else 0
            cmd.offset = (high << 32) | low
    elif cmd.word_count >= 12:
        low, cmd.data_offset, high = struct.unpack_from("<HHH", msg, ws + 10)
        cmd.data_length = (high << 16) | low


def _write_andx(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                be: int) -> None:
    if not hdr.response:
        if cmd.word_count >= 12:
            cmd.fid, low = struct.unpack_from("<HI", msg, ws + 4)
            high_len, length, cmd.data_offset = struct.unpack_from("<HHH", msg, ws + 18)
            cmd.length = (high_len << 16) | length
            high = struct.unpack_from("<I", msg, ws + 24)[0] if cmd.word_count >= 14 else 0
            cmd.offset = (high << 32) | low
    elif cmd.word_count >= 6:
        count, _avail, count_high = struct.unpack_from("<HHH", msg, ws + 4)
        cmd.data_length = (count_high << 16) | count


def _close(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
           be: int) -> None:
    if not hdr.response and cmd.word_count >= 1:
        cmd.fid = struct.unpack_from("<H", msg, ws)[0]


def _path_command(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                  be: int) -> None:
    """DELETE, RENAME, CREATE/DELETE_DIRECTORY, CHECK_DIRECTORY: 0x04-prefixed path(s)."""
    if hdr.response or bs >= be or msg[bs] != 0x04:
        return
    cmd.filename, pos = smb_string(msg, bs + 1, be, hdr.unicode)
    if pos < be and msg[pos] == 0x04:
        cmd.new_filename, _ = smb_string(msg, pos + 1, be, hdr.unicode)


def _transaction(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                 be: int) -> None:
    """TRANSACTION (named pipes, mailslots) and TRANSACTION2."""
    wc = cmd.word_count
    end = len(msg)
    if not hdr.response:
        if wc < 14:
            return
        (cmd.total_parameter_count, cmd.total_data_count) = struct.unpack_from("<HH", msg, ws)
        flags = struct.unpack_from("<H", msg, ws + 10)[0]
        cmd.no_response = bool(flags & 0x0002)  # NO_RESPONSE: one-way (mailslot writes)
        pcount, poff, dcount, doff, setup_count = struct.unpack_from("<HHHHB", msg, ws + 18)
        setup_end = ws + 28 + 2 * setup_count
        if setup_count and setup_end <= end:
            cmd.setup = struct.unpack_from(f"<{setup_count}H", msg, ws + 28)
            cmd.subcommand = cmd.setup[0]
        if cmd.command == 0x25 and bs < be:
            cmd.trans_name, _ = smb_string(msg, bs, be, hdr.unicode)
    else:
        if wc < 10:
            return
        tp, td = struct.unpack_from("<HH", msg, ws)
        cmd.total_parameter_count, cmd.total_data_count = tp, td
        pcount, poff, pdisp, dcount, doff, ddisp = struct.unpack_from("<HHHHHH", msg, ws + 6)
        cmd.more = pdisp + pcount < tp or ddisp + dcount < td
    if poff + pcount <= end:
        cmd.trans_params = msg[poff:poff + pcount]
    if doff + dcount <= end:
        cmd.trans_data = msg[doff:doff + dcount]
    if cmd.command == 0x32 and not hdr.response and cmd.trans_params:
        _trans2_path(cmd, cmd.trans_params, hdr.unicode)


def _trans2_path(cmd: Smb1Command, params: bytes, unicode: bool) -> None:
    """The file name or pattern in FIND_FIRST2 (after 12 bytes) and QUERY_PATH_INFORMATION /
    SET_PATH_INFORMATION (after 6) parameters ([MS-CIFS] 2.2.6.2.1, 2.2.6.6.1)."""
    skip = {0x01: 12, 0x05: 6, 0x06: 6}.get(cmd.subcommand if cmd.subcommand is not None else -1)
    if skip is None or len(params) <= skip:
        return
    raw = params[skip:]
    if unicode:
        cmd.filename = raw.decode("utf-16-le", "replace").split("\x00", 1)[0]
    else:
        cmd.filename = raw.split(b"\x00", 1)[0].decode("latin-1")


def _nt_transact(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
                 be: int) -> None:
    if hdr.response:
        if cmd.word_count >= 18:
            tp, td, pcount, _poff, pdisp, dcount, _doff, ddisp = struct.unpack_from(
                "<IIIIIIII", msg, ws + 3)
            cmd.total_parameter_count, cmd.total_data_count = tp, td
            cmd.more = pdisp + pcount < tp or ddisp + dcount < td
        return
    if cmd.word_count < 19:
        return
    cmd.total_parameter_count, cmd.total_data_count = struct.unpack_from("<II", msg, ws + 3)
    setup_count, function = struct.unpack_from("<BH", msg, ws + 35)
    cmd.subcommand = function
    if setup_count and ws + 38 + 2 * setup_count <= len(msg):
        cmd.setup = struct.unpack_from(f"<{setup_count}H", msg, ws + 38)


def _secondary(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
               be: int) -> None:
    """TRANSACTION_SECONDARY / TRANSACTION2_SECONDARY / NT_TRANSACT_SECONDARY: never answered
    ([MS-CIFS] 2.2.4.34, 2.2.4.47, 2.2.4.63)."""
    cmd.no_response = True
    if cmd.command == 0xA1:
        if cmd.word_count >= 18:
            cmd.total_parameter_count, cmd.total_data_count = struct.unpack_from("<II", msg,
                                                                                 ws + 3)
    elif cmd.word_count >= 8:
        cmd.total_parameter_count, cmd.total_data_count = struct.unpack_from("<HH", msg, ws)


def _no_reply(msg: bytes, hdr: Smb1Header, cmd: Smb1Command, ws: int, we: int, bs: int,
              be: int) -> None:
    """NT_CANCEL is never answered ([MS-CIFS] 2.2.4.65)."""
    cmd.no_response = True


_COMMANDS = {
    0x72: _negotiate,
    0x73: _session_setup,
    0x75: _tree_connect,
    0xA2: _nt_create,
    0x2D: _open_andx,
    0x2E: _read_andx,
    0x2F: _write_andx,
    0x04: _close,
    0x00: _path_command,
    0x01: _path_command,
    0x06: _path_command,
    0x07: _path_command,
    0x10: _path_command,
    0x25: _transaction,
    0x32: _transaction,
    0xA0: _nt_transact,
    0x26: _secondary,
    0x33: _secondary,
    0xA1: _secondary,
    0xA4: _no_reply,
}

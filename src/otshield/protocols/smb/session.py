"""SMB per-flow session: NetBIOS framing, request/response pairing, and the state that gives each
event its context (who is logged on, which share, which file).

Pairing: SMB2 by MessageId ([MS-SMB2] 3.3.4.1; interim STATUS_PENDING responses keep the request
pending until the final one, 3.3.4.2), SMB1 by (PID, MID) ([MS-CIFS] 3.2.5.1). State, all
bounded: SessionId -> user, (SessionId, TreeId) -> share path, FileId -> name, bytes moved and
content digests (files.py); a closed (or forgotten) file gives a :class:`SmbFileEvent`.
Security findings raised as anomalies: SMB1 in use, reserved Trans2 subcommands and NT Transact
function 0 (EternalBlue/DoublePulsar traffic), the DoublePulsar "implant present" reply, clear-text
SMB1 passwords, and compression headers that overflow (SMBGhost, CVE-2020-0796).
"""

from __future__ import annotations

import ntpath
from dataclasses import dataclass, field
from typing import Any

from otshield.errors import Malformed
from otshield.events import CommonFields
from otshield.protocols.base import FlowContext
from otshield.protocols.netbios.names import display, read_name
from otshield.protocols.smb.constants import (
    CIPHERS,
    COMPRESSION_ALGORITHMS,
    CREATE_ACTIONS,
    CREATE_DISPOSITIONS,
    DIALECTS,
    FILE_INFO_CLASSES,
    FS_INFO_CLASSES,
    INFO_TYPES,
    IOCTL_CODES,
    NT_TRANS_UNUSUAL,
    NT_TRANSACT_FUNCTIONS,
    SHARE_TYPES,
    SMB1_COMMANDS,
    SMB1_SERVICES,
    SMB2_COMMANDS,
    TRANS2_SUBCOMMANDS,
    TRANS2_UNUSUAL,
    TRANS_FUNCTIONS,
    status_name,
)
from otshield.protocols.smb.describe import auth_fields, fid1, lookup, lookups, status1
from otshield.protocols.smb.events import NbssEvent, SmbEvent, SmbFileEvent
from otshield.protocols.smb.files import OpenFile, Piece
from otshield.protocols.smb.framing import CONTINUATION, NbssStream
from otshield.protocols.smb.smb1 import Smb1Command, Smb1Header, parse_smb1
from otshield.protocols.smb.smb2 import Smb2Message, parse_compressed, parse_smb2, parse_transform

__all__ = ["SmbSession"]

_MAX_TREES = 256
_MAX_FILES = 1024
_MAX_USERS = 64
_ALL_FF = b"\xff" * 16  # [MS-SMB2] 3.2.4.1.4: a related request's "use the previous file" id
_OPLOCK_BREAK_MID = 0xFFFFFFFFFFFFFFFF  # [MS-SMB2] 2.2.23.1: server-initiated notification
_STATUS_PENDING = 0x00000103
_FLAG_ASYNC = 0x00000002
_SMB2_NEGOTIATE, _SMB2_SESSION_SETUP, _SMB2_LOGOFF, _SMB2_TREE_CONNECT = 0x00, 0x01, 0x02, 0x03
_SMB2_TREE_DISCONNECT, _SMB2_CREATE, _SMB2_CLOSE = 0x04, 0x05, 0x06
_SMB2_READ, _SMB2_WRITE = 0x08, 0x09
_SMB2_CANCEL, _SMB2_QUERY_DIRECTORY = 0x0C, 0x0E
_SMB1_NEGOTIATE, _SMB1_SESSION_SETUP, _SMB1_LOGOFF, _SMB1_TREE_CONNECT = 0x72, 0x73, 0x74, 0x75
_SMB1_TREE_DISCONNECT, _SMB1_NT_CREATE, _SMB1_OPEN_ANDX, _SMB1_CLOSE = 0x71, 0xA2, 0x2D, 0x04
_SMB1_READ_ANDX, _SMB1_WRITE_ANDX, _SMB1_TRANS, _SMB1_TRANS2 = 0x2E, 0x2F, 0x25, 0x32
_SMB1_NT_TRANS = 0xA0
_TRANS_COMMANDS = frozenset({_SMB1_TRANS, _SMB1_TRANS2, _SMB1_NT_TRANS})
_TRANS2_SESSION_SETUP = 0x0E
_DOUBLEPULSAR_MID_DELTA = 0x10  # the implant answers with MID + 16 ("0x41 -> 0x51")
_NBSS_NEGATIVE = {0x80: "not listening on called name", 0x81: "not listening for calling name",
                  0x82: "called name not present", 0x83: "insufficient resources",
                  0x8F: "unspecified error"}


@dataclass(slots=True)
class _Req:
    """A request waiting for its response, with the context resolved when it was sent."""

    from_client: bool
    ts: float
    frame: int
    smb2: Smb2Message | None = None
    smb1: tuple[Smb1Header, list[Smb1Command]] | None = None
    tree: str | None = None
    share_type: str | None = None
    names: list[str | None] = field(default_factory=list)
    """Per command: the file name (from the request or from the handle it uses)."""


class SmbSession:
    """State of one SMB connection (both directions)."""

    __slots__ = ("compressed_seen", "cont", "dialect", "encrypted_sessions", "files", "flagged",
                 "flow", "limit", "nbss_pending", "pending", "streams", "trees", "unit", "users")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.limit = flow.settings.max_pending_requests
        self.streams = (NbssStream(), NbssStream())
        self.pending: dict[tuple[int, ...], _Req] = {}
        self.trees: dict[tuple[int, int], tuple[str, str | None]] = {}
        self.files: dict[bytes, OpenFile] = {}
        # Per direction: the READ/WRITE data still to come in CONTINUATION units.
        self.cont: list[Piece | None] = [None, None]
        self.unit: tuple[bytes, int] = (b"", 0)  # the unit being decoded and its full length
        self.users: dict[int, tuple[str, str | None]] = {}
        self.encrypted_sessions: set[int] = set()
        self.compressed_seen = False
        self.nbss_pending: tuple[str | None, str | None, float, int] | None = None
        self.dialect: str | None = None
        self.flagged: set[str] = set()

    # -- stream ---------------------------------------------------------------------------------
    def on_data(self, data: bytes, from_client: bool) -> None:
        stream = self.streams[0 if from_client else 1]
        units = stream.feed(data)
        if stream.errors:
            for detail in stream.errors:
                self.flow.anomaly("smb.bad_nbss_header", detail, from_client)
            stream.errors.clear()
        side = 0 if from_client else 1
        for kind, payload, length in units:
            if kind == CONTINUATION:
                piece = self.cont[side]
                if piece is not None:
                    piece.feed(payload)
                    if piece.take <= 0:
                        self.cont[side] = None
                continue
            piece = self.cont[side]
            if piece is not None:  # the message ended before its data did
                piece.cut()
                self.cont[side] = None
            self.unit = (payload, length)
            self._unit(kind, payload, length, from_client)
        self.unit = (b"", 0)

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used: the session frames the stream itself (see framing.py)."""
        self.on_data(frame, from_client)

    def on_gap(self, from_client: bool, size: int) -> None:
        side = 0 if from_client else 1
        self.streams[side].gap(size)
        piece = self.cont[side]
        if piece is not None:  # the gap falls in (or before the end of) READ/WRITE data
            piece.cut()
            self.cont[side] = None

    def close(self) -> None:
        for side, piece in enumerate(self.cont):
            if piece is not None:
                piece.cut()
                self.cont[side] = None
        pending, self.pending = self.pending, {}
        for req in pending.values():
            self._unanswered(req)
        files, self.files = self.files, {}
        for handle in files.values():
            self._file_done(handle, closed=False)
        if self.nbss_pending is not None:
            called, calling, ts, frame = self.nbss_pending
            self.nbss_pending = None
            common = self.flow.fields(True)
            common["ts"], common["frame"] = ts, frame
            self.flow.emit(NbssEvent(**common, called_name=called, calling_name=calling))

    def _unit(self, kind: int, payload: bytes, length: int, from_client: bool) -> None:
        if kind != 0:
            self._nbss(kind, payload, from_client)
            return
        sig = payload[:4]
        try:
            if sig == b"\xfeSMB":
                self._smb2(payload, from_client)
            elif sig == b"\xffSMB":
                self._smb1(payload, from_client)
            elif sig == b"\xfdSMB":
                self._transform(payload, from_client)
            elif sig == b"\xfcSMB":
                self._compressed(payload, length, from_client)
            elif length:
                self.flow.anomaly("smb.bad_header", f"message starts {sig.hex()}", from_client)
        except Malformed as m:
            self.flow.anomaly(m.code, m.detail, from_client)

    # -- NetBIOS session service ---------------------------------------------------------------
    def _nbss(self, kind: int, payload: bytes, from_client: bool) -> None:
        flow = self.flow
        if kind == 0x85:  # keep-alive
            return
        if kind == 0x81:
            called = read_name(payload, 0, len(payload))
            calling = read_name(payload, called[3], len(payload)) if called else None
            if called is None or calling is None:
                flow.anomaly("smb.bad_nbss_header", "session request with invalid names",
                             from_client)
            self.nbss_pending = (display(*called[:3]) if called else None,
                                 display(*calling[:3]) if calling else None, flow.ts, flow.frame)
            return
        result = {0x82: "positive", 0x83: "negative", 0x84: "retarget"}.get(kind)
        if result is None or self.nbss_pending is None:
            return
        called_name, calling_name, _ts, _frame = self.nbss_pending
        self.nbss_pending = None
        error = _NBSS_NEGATIVE.get(payload[0], f"0x{payload[0]:02x}") \
            if kind == 0x83 and payload else None
        flow.emit(NbssEvent(**flow.fields(not from_client), called_name=called_name,
                            calling_name=calling_name, result=result, error=error))

    # -- pending requests -----------------------------------------------------------------------
    def _add_pending(self, key: tuple[int, ...], req: _Req, from_client: bool) -> None:
        old = self.pending.pop(key, None)
        if old is not None:
            self.flow.anomaly("smb.duplicate_message_id", f"message id {key[-1]} reused",
                              from_client)
            self._unanswered(old)
        elif len(self.pending) >= self.limit:
            self.flow.anomaly("smb.too_many_pending", f"{self.limit} requests unanswered",
                              from_client)
            self._unanswered(self.pending.pop(next(iter(self.pending))))
        self.pending[key] = req

    def _common(self, req: _Req, at_request: bool) -> CommonFields:
        common = self.flow.fields(req.from_client)
        if at_request:
            common["ts"], common["frame"] = req.ts, req.frame
        return common

    def _unanswered(self, req: _Req) -> None:
        if req.smb2 is not None:
            self._emit2(req, None, unanswered=True)
        elif req.smb1 is not None:
            self._emit1(req, None, unanswered=True)

    def _remember(self, table: dict[Any, Any], key: Any, value: Any, limit: int,
                  what: str) -> None:
        """Insert into a bounded state table; forgetting the oldest entry is reported once."""
        table.pop(key, None)
        table[key] = value
        if len(table) > limit:
            del table[next(iter(table))]
            self._flag("smb.state_limit", f"more than {limit} {what}", True)

    def _flag(self, code: str, detail: str, from_client: bool, once: bool = True) -> None:
        if once:
            if code in self.flagged:
                return
            self.flagged.add(code)
        self.flow.anomaly(code, detail, from_client)

    # -- file content ---------------------------------------------------------------------------
    def _open(self, key: bytes, handle: OpenFile) -> None:
        """Remember an open file; forgetting the oldest one when the table is full ends its
        record there (reported once as ``smb.state_limit``)."""
        old = self.files.pop(key, None)
        if old is not None:
            self._file_done(old, closed=False)
        self.files[key] = handle
        if len(self.files) > _MAX_FILES:
            oldest = next(iter(self.files))
            self._file_done(self.files.pop(oldest), closed=False)
            self._flag("smb.state_limit", f"more than {_MAX_FILES} open files", True)

    def _data(self, piece: Piece | None, start: int, count: int, from_client: bool) -> None:
        """Feed the ``count`` data bytes at ``start`` of the current unit (and of the
        CONTINUATION units after it, for a large message) through ``piece``."""
        if piece is None:
            return
        payload, length = self.unit
        end = start + count
        if start < 0 or end > length:
            piece.cut()  # the data does not fit in the message
            return
        have = len(payload)
        if start < have:
            piece.feed(memoryview(payload)[start:min(end, have)])
        if end > have:
            if start > have:
                piece.skip += start - have
            self.cont[0 if from_client else 1] = piece
        else:
            piece.cut()  # no-op when all was fed

    def _pipe(self, tree: str | None, share_type: str | None) -> bool:
        return share_type == "PIPE" or (tree is not None and tree.upper().endswith("\\IPC$"))

    def _file_done(self, handle: OpenFile, closed: bool) -> None:
        """The handle is closed or forgotten: one event per direction that moved data."""
        if handle.pipe:
            return
        flow = self.flow
        for direction, content in (("read", handle.read), ("write", handle.write)):
            if not content.moved and not content.seen:
                continue
            size = handle.size
            if direction == "write" and (size is None or content.end > size):
                size = content.end
            complete, digests = content.result(size)
            flow.emit(SmbFileEvent(
                **flow.fields(True), version=handle.version, path=handle.name,
                name=ntpath.basename(handle.name) or handle.name, direction=direction,
                bytes_transferred=content.moved, complete=complete, size=size,
                md5=digests[0] if digests else None, sha1=digests[1] if digests else None,
                sha256=digests[2] if digests else None, tree=handle.tree, closed=closed,
                file_id=handle.file_id, user=handle.user, domain=handle.domain))

    # -- SMB2 -------------------------------------------------------------------------------------
    def _smb2(self, payload: bytes, from_client: bool) -> None:
        compound_name: str | None = None
        for m in parse_smb2(payload):
            if not m.response:
                if m.command == _SMB2_CREATE:
                    compound_name = m.filename
                self._request2(m, from_client, compound_name)
            else:
                self._response2(m, from_client)

    def _request2(self, m: Smb2Message, from_client: bool, compound_name: str | None) -> None:
        flow = self.flow
        tree = self.trees.get((m.session_id, m.tree_id)) if m.tree_id else None
        req = _Req(from_client, flow.ts, flow.frame, smb2=m,
                   tree=tree[0] if tree else None, share_type=tree[1] if tree else None)
        name = m.filename if m.command != _SMB2_QUERY_DIRECTORY else None
        if m.file_id is not None and m.command != _SMB2_CREATE:
            if m.file_id == _ALL_FF and m.related:
                name = name or compound_name
            else:
                handle = self.files.get(m.file_id)
                if handle is not None:
                    name = name or handle.name
                    req.tree = req.tree or handle.tree
        req.names = [name]
        if m.command == _SMB2_WRITE and m.body and m.data_offset is not None and m.length \
                and m.file_id is not None:
            handle = self.files.get(m.file_id)
            if handle is not None and not handle.pipe:
                self._data(handle.write.begin(m.offset or 0, m.length, rewrite_ok=False),
                           m.data_offset, m.length, from_client)
        if m.command == _SMB2_CANCEL:  # never answered ([MS-SMB2] 3.3.5.16)
            self._emit2(req, None)
            return
        self._add_pending((2, m.message_id), req, from_client)

    def _response2(self, m: Smb2Message, from_client: bool) -> None:
        key = (2, m.message_id)
        req = self.pending.get(key)
        if req is None:
            if m.command == _SMB2_NEGOTIATE:
                # SMB1 NEGOTIATE answered in SMB2 (the multi-protocol upgrade, [MS-SMB2] 3.3.5.3)
                up = next((k for k, r in self.pending.items() if r.smb1 is not None
                           and r.smb1[1] and r.smb1[1][0].command == _SMB1_NEGOTIATE), None)
                if up is not None:
                    old = self.pending.pop(up)
                    self.dialect = DIALECTS.get(m.dialect or 0, f"0x{m.dialect or 0:04x}")
                    self._emit1(old, None, upgrade=m)
                    return
            orphan = _Req(not from_client, self.flow.ts, self.flow.frame, smb2=m,
                          names=[None])
            tree = self.trees.get((m.session_id, m.tree_id)) if m.tree_id else None
            if tree is not None:
                orphan.tree, orphan.share_type = tree
            self._emit2(orphan, m, orphan_response=True)
            return
        if m.status == _STATUS_PENDING and m.flags & _FLAG_ASYNC:
            return  # interim response: the final one follows with the same MessageId
        del self.pending[key]
        asked = req.smb2
        if m.command == _SMB2_READ and asked is not None and asked.file_id is not None \
                and m.status == 0 and m.body and m.data_offset is not None and m.data_length:
            handle = self.files.get(asked.file_id)
            if handle is not None and not handle.pipe:
                self._data(handle.read.begin(asked.offset or 0, m.data_length, rewrite_ok=True),
                           m.data_offset, m.data_length, from_client)
        self._emit2(req, m)

    def _emit2(self, req: _Req, resp: Smb2Message | None, unanswered: bool = False,
               orphan_response: bool = False) -> None:
        m = req.smb2
        assert m is not None
        flow = self.flow
        ok = resp is not None and resp.status == 0 and resp.body
        cmd = m.command
        f: dict[str, Any] = {}
        sid = m.session_id or (resp.session_id if resp is not None else 0)
        name = req.names[0] if req.names else None
        handle: OpenFile | None = None
        if m.file_id is not None and cmd != _SMB2_CREATE:
            handle = self.files.get(m.file_id)
        user = self.users.get(sid)  # before LOGOFF forgets it
        if cmd == _SMB2_NEGOTIATE:
            src = m if not orphan_response else None
            if src is not None and src.dialects is not None:
                f["dialects"] = tuple(DIALECTS.get(d, f"0x{d:04x}") for d in src.dialects)
                f["client_guid"] = src.guid
                f["ciphers"] = lookups(src.ciphers, CIPHERS)
                f["compression"] = lookups(src.compression, COMPRESSION_ALGORITHMS)
                f["netname"] = src.netname
            if resp is not None and resp.body and resp.dialect is not None:
                self.dialect = f["dialect"] = DIALECTS.get(resp.dialect, f"0x{resp.dialect:04x}")
                f["server_guid"] = resp.guid
                f["signing_required"] = resp.signing_required
                if resp.ciphers:
                    f["ciphers"] = lookups(resp.ciphers, CIPHERS)
                if resp.compression:
                    f["compression"] = lookups(resp.compression, COMPRESSION_ALGORITHMS)
        elif cmd == _SMB2_SESSION_SETUP:
            auth_fields(f, None if orphan_response else m.security_blob,
                         resp.security_blob if resp is not None else None)
            if resp is not None and resp.session_flags is not None:
                f["guest"] = bool(resp.session_flags & 0x1) or None
                if resp.session_flags & 0x2:
                    f["anonymous"] = True
            if ok and f.get("user") is not None and resp is not None:
                self._remember(self.users, resp.session_id, (f["user"], f.get("domain")),
                               _MAX_USERS, "sessions")
        elif cmd == _SMB2_TREE_CONNECT:
            path = m.path if not orphan_response else None
            f["tree"] = path
            if resp is not None and resp.share_type is not None:
                f["share_type"] = SHARE_TYPES.get(resp.share_type, str(resp.share_type))
            if ok and resp is not None and path is not None and resp.tree_id is not None:
                self._remember(self.trees, (resp.session_id, resp.tree_id),
                               (path, f.get("share_type")), _MAX_TREES, "trees")
        elif cmd == _SMB2_TREE_DISCONNECT:
            if ok and m.tree_id is not None:
                self.trees.pop((m.session_id, m.tree_id), None)
        elif cmd == _SMB2_LOGOFF:
            if ok:
                self.users.pop(m.session_id, None)
        elif cmd == _SMB2_CREATE and not orphan_response:
            f["disposition"] = lookup(m.disposition, CREATE_DISPOSITIONS)
            f["desired_access"] = m.desired_access
            if resp is not None and resp.body:
                f["action"] = lookup(resp.action, CREATE_ACTIONS)
                f["end_of_file"] = resp.end_of_file
                if resp.file_id is not None:
                    f["file_id"] = resp.file_id.hex()
                    if ok and name is not None:
                        self._open(resp.file_id, OpenFile(
                            name, req.tree, 2, resp.file_id.hex(), resp.end_of_file,
                            self._pipe(req.tree, req.share_type), user))
        elif cmd in (_SMB2_READ, _SMB2_WRITE):
            f["offset"], f["length"] = m.offset, m.length
            if resp is not None and resp.body:
                f["data_length"] = resp.data_length
                if handle is not None and resp.data_length:
                    if cmd == _SMB2_READ:
                        handle.read.moved += resp.data_length
                    else:
                        handle.write.moved += resp.data_length
            if cmd == _SMB2_WRITE and handle is not None and resp is not None and (
                    resp.status != 0 or (resp.data_length or 0) < (m.length or 0)):
                handle.write.lost()  # refused or short: the hashed bytes are not the file's
        elif cmd == _SMB2_CLOSE:
            if handle is not None and m.file_id is not None:
                f["bytes_read"] = handle.read.moved or None
                f["bytes_written"] = handle.write.moved or None
                if resp is not None and self.files.pop(m.file_id, None) is not None:
                    if resp.end_of_file is not None:
                        handle.size = resp.end_of_file
                    self._file_done(handle, closed=True)
            if resp is not None and resp.body:
                f["end_of_file"] = resp.end_of_file
        elif cmd == 0x0B:  # IOCTL
            code = m.ctl_code if m.ctl_code is not None else (resp.ctl_code if resp else None)
            if code is not None:
                f["ioctl"] = IOCTL_CODES.get(code, f"0x{code:08x}")
        elif cmd in (0x0E, 0x10, 0x11):  # QUERY_DIRECTORY, QUERY_INFO, SET_INFO
            if cmd == 0x0E:
                f["info_class"] = lookup(m.info_class, FILE_INFO_CLASSES)
                f["pattern"] = m.filename
            else:
                f["info_type"] = lookup(m.info_type, INFO_TYPES)
                table = FS_INFO_CLASSES if m.info_type == 2 else FILE_INFO_CLASSES
                if m.info_type in (1, 2):
                    f["info_class"] = lookup(m.info_class, table)
                f["rename_to"] = m.rename_to
                f["delete"] = m.delete
        if m.file_id is not None and "file_id" not in f and m.file_id != _ALL_FF \
                and cmd != _SMB2_CREATE:
            f["file_id"] = m.file_id.hex()
        if user is not None and "user" not in f:
            f["user"], f["domain"] = user
        tree = f.pop("tree", None) or req.tree
        share_type = f.pop("share_type", None) or req.share_type
        common = self._common(req, at_request=resp is None)
        if orphan_response:
            common = flow.fields(req.from_client)
        status = None
        if resp is not None:
            status = status_name(resp.status)
        flow.emit(SmbEvent(
            **common, version=2, command=SMB2_COMMANDS.get(cmd, f"0x{cmd:02x}"), status=status,
            unanswered=unanswered or None, message_id=m.message_id, session_id=sid or None,
            tree_id=(m.tree_id or (resp.tree_id if resp is not None else None)) or None,
            tree=tree, share_type=share_type, filename=name,
            signed=(m.signed or (resp is not None and resp.signed)) or None,
            **{k: v for k, v in f.items() if v is not None}))

    # -- SMB1 -------------------------------------------------------------------------------------
    def _smb1(self, payload: bytes, from_client: bool) -> None:
        hdr, cmds = parse_smb1(payload)
        flow = self.flow
        first = cmds[0].command
        if first != _SMB1_NEGOTIATE:
            self._flag("smb.smb1_used", f"SMB1 {SMB1_COMMANDS.get(first, hex(first))}",
                       from_client)
        if not hdr.response:
            self._request1(hdr, cmds, from_client)
            return
        key = (1, hdr.pid, hdr.mid)
        req = self.pending.get(key)
        if req is None and first == _SMB1_TRANS2:
            # DoublePulsar answers a Trans2 SESSION_SETUP "ping" with MID + 16.
            implant = self.pending.get((1, hdr.pid, hdr.mid - _DOUBLEPULSAR_MID_DELTA))
            if implant is not None and implant.smb1 is not None \
                    and implant.smb1[1][0].subcommand == _TRANS2_SESSION_SETUP:
                self._flag("smb.doublepulsar", f"Trans2 SESSION_SETUP answered with MID "
                           f"0x{hdr.mid:04x} (request 0x{hdr.mid - 0x10:04x})", from_client,
                           once=False)
                key = (1, hdr.pid, hdr.mid - _DOUBLEPULSAR_MID_DELTA)
                req = implant
        if req is None:
            orphan = _Req(not from_client, flow.ts, flow.frame, smb1=(hdr, cmds),
                          names=[c.filename for c in cmds])
            self._emit1(orphan, None, orphan_response=True)
            return
        if first in _TRANS_COMMANDS and ((cmds[0].word_count == 0 and hdr.status == 0)
                                         or cmds[0].more):
            return  # interim response, or one part of a multi-part transaction response
        del self.pending[key]
        if req.smb1 is not None and hdr.status == 0:
            for c, r in zip(req.smb1[1], cmds, strict=False):
                if c.command == _SMB1_READ_ANDX and r.command == _SMB1_READ_ANDX \
                        and c.fid is not None and r.data_offset is not None and r.data_length:
                    handle = self.files.get(fid1(c.fid))
                    if handle is not None and not handle.pipe:
                        self._data(handle.read.begin(c.offset or 0, r.data_length,
                                                     rewrite_ok=True),
                                   r.data_offset, r.data_length, from_client)
        self._emit1(req, (hdr, cmds))

    def _request1(self, hdr: Smb1Header, cmds: list[Smb1Command], from_client: bool) -> None:
        flow = self.flow
        tree = self.trees.get((hdr.uid, hdr.tid))
        req = _Req(from_client, flow.ts, flow.frame, smb1=(hdr, cmds),
                   tree=tree[0] if tree else None, share_type=tree[1] if tree else None)
        for c in cmds:
            name = c.filename
            if name is None and c.fid is not None:
                handle = self.files.get(fid1(c.fid))
                if handle is not None:
                    name = handle.name
                    req.tree = req.tree or handle.tree
            req.names.append(name)
            if c.command == _SMB1_WRITE_ANDX and c.fid is not None and c.length \
                    and c.data_offset is not None:
                handle = self.files.get(fid1(c.fid))
                if handle is not None and not handle.pipe:
                    self._data(handle.write.begin(c.offset or 0, c.length, rewrite_ok=False),
                               c.data_offset, c.length, from_client)
            if c.command == _SMB1_TRANS2 and c.subcommand is not None and (
                    c.subcommand in TRANS2_UNUSUAL or c.subcommand not in TRANS2_SUBCOMMANDS):
                self._flag("smb.trans2_unusual_subcommand",
                           f"Trans2 {TRANS2_SUBCOMMANDS.get(c.subcommand, hex(c.subcommand))}",
                           from_client, once=False)
            elif c.command == _SMB1_NT_TRANS and c.subcommand is not None and (
                    c.subcommand in NT_TRANS_UNUSUAL or c.subcommand not in NT_TRANSACT_FUNCTIONS):
                self._flag("smb.nt_trans_unusual_function",
                           f"NT Transact function {c.subcommand} total data "
                           f"{c.total_data_count}", from_client, once=False)
            if c.plaintext_password:
                self._flag("smb.cleartext_password",
                           "SMB1 session setup with a password in clear", from_client,
                           once=False)
        if all(c.no_response for c in cmds):
            self._emit1(req, None)
            return
        self._add_pending((1, hdr.pid, hdr.mid), req, from_client)

    def _emit1(self, req: _Req, resp: tuple[Smb1Header, list[Smb1Command]] | None,
               unanswered: bool = False, orphan_response: bool = False,
               upgrade: Smb2Message | None = None) -> None:
        assert req.smb1 is not None
        flow = self.flow
        hdr, cmds = req.smb1
        rhdr = resp[0] if resp is not None else None
        rcmds = resp[1] if resp is not None else []
        status: str | None = None
        if orphan_response:
            status = status1(hdr)
        elif rhdr is not None:
            status = status1(rhdr)
        elif upgrade is not None:
            status = status_name(upgrade.status)
        common = flow.fields(req.from_client) if orphan_response or resp is not None \
            or upgrade is not None else self._common(req, at_request=True)
        uid = hdr.uid
        for i, c in enumerate(cmds):
            r = rcmds[i] if i < len(rcmds) else None
            ok = rhdr is not None and rhdr.status == 0 and r is not None
            name = req.names[i] if i < len(req.names) else None
            f: dict[str, Any] = {}
            user = self.users.get(uid) or (self.users.get(rhdr.uid) if rhdr else None)
            self._fields1(c, r, hdr, rhdr, ok, req, f, orphan_response, upgrade)
            if c.command in (_SMB1_NT_CREATE, _SMB1_OPEN_ANDX) and ok and r is not None \
                    and r.fid is not None and name is not None:
                self._open(fid1(r.fid), OpenFile(
                    name, req.tree, 1, f"{r.fid:04x}", r.end_of_file,
                    self._pipe(req.tree, req.share_type), user))
            if user is not None and "user" not in f:
                f["user"], f["domain"] = user
            tree = f.pop("tree", None) or req.tree
            share_type = f.pop("share_type", None) or req.share_type
            flow.emit(SmbEvent(
                **common, version=1, command=SMB1_COMMANDS.get(c.command, f"0x{c.command:02x}"),
                status=status, unanswered=unanswered or None, message_id=hdr.mid,
                session_id=(uid or (rhdr.uid if rhdr else 0)) or None,
                tree_id=(hdr.tid or (rhdr.tid if rhdr else 0)) or None, tree=tree,
                share_type=share_type, filename=name,
                signed=(hdr.signed or (rhdr is not None and rhdr.signed)) or None,
                **{k: v for k, v in f.items() if v is not None}))

    def _fields1(self, c: Smb1Command, r: Smb1Command | None, hdr: Smb1Header,
                 rhdr: Smb1Header | None, ok: bool, req: _Req, f: dict[str, Any],
                 orphan: bool, upgrade: Smb2Message | None) -> None:
        cmd = c.command
        if cmd == _SMB1_NEGOTIATE:
            if not orphan and c.dialects is not None:
                f["dialects"] = c.dialects
            if upgrade is not None and upgrade.dialect is not None:
                f["dialect"] = DIALECTS.get(upgrade.dialect, f"0x{upgrade.dialect:04x}")
                f["server_guid"] = upgrade.guid
                f["signing_required"] = upgrade.signing_required
            elif r is not None and r.dialect_index is not None:
                idx = r.dialect_index
                if c.dialects is not None and idx < len(c.dialects):
                    f["dialect"] = self.dialect = c.dialects[idx]
                    self._flag("smb.smb1_used", f"server chose SMB1 dialect {c.dialects[idx]}",
                               False)
                f["signing_required"] = r.signing_required
                f["server_domain"] = r.server_domain
                f["server_name"] = r.server_name
        elif cmd == _SMB1_SESSION_SETUP:
            if not orphan:
                f["client_os"] = c.native_os
                if c.security_blob is not None or (r is not None and r.security_blob):
                    auth_fields(f, c.security_blob, r.security_blob if r else None)
                elif c.user is not None:
                    f["user"] = c.user or None
                    f["domain"] = c.domain or None
                    f["anonymous"] = not c.user or None
            if r is not None:
                f["server_os"] = r.native_os
                f["guest"] = r.guest or None
                if not f.get("server_domain") and r.domain:
                    f["server_domain"] = r.domain
            if ok and rhdr is not None and f.get("user") is not None:
                self._remember(self.users, rhdr.uid, (f["user"], f.get("domain")), _MAX_USERS,
                               "sessions")
        elif cmd == _SMB1_TREE_CONNECT:
            if not orphan:
                f["tree"] = c.path
                service = c.service
            else:
                service = None
            if r is not None and r.service:
                service = r.service
            if service is not None:
                f["share_type"] = SMB1_SERVICES.get(service, service)
            if ok and rhdr is not None and c.path is not None and not orphan:
                self._remember(self.trees, (rhdr.uid, rhdr.tid), (c.path, f.get("share_type")),
                               _MAX_TREES, "trees")
        elif cmd == _SMB1_TREE_DISCONNECT:
            if ok:
                self.trees.pop((hdr.uid, hdr.tid), None)
        elif cmd == _SMB1_LOGOFF:
            if ok:
                self.users.pop(hdr.uid, None)
        elif cmd in (_SMB1_NT_CREATE, _SMB1_OPEN_ANDX):
            if not orphan:
                f["disposition"] = lookup(c.disposition, CREATE_DISPOSITIONS)
                f["desired_access"] = c.desired_access
            if r is not None:
                f["action"] = lookup(r.action, CREATE_ACTIONS)
                f["end_of_file"] = r.end_of_file
                if r.fid is not None:
                    f["file_id"] = f"{r.fid:04x}"
        elif cmd in (_SMB1_READ_ANDX, _SMB1_WRITE_ANDX):
            f["offset"], f["length"] = c.offset, c.length
            if r is not None:
                f["data_length"] = r.data_length
                handle = self.files.get(fid1(c.fid)) if c.fid is not None else None
                if handle is not None and r.data_length and ok:
                    if cmd == _SMB1_READ_ANDX:
                        handle.read.moved += r.data_length
                    else:
                        handle.write.moved += r.data_length
                if cmd == _SMB1_WRITE_ANDX and handle is not None and (
                        not ok or (r.data_length or 0) < (c.length or 0)):
                    handle.write.lost()
        elif cmd == _SMB1_CLOSE:
            if c.fid is not None:
                handle = self.files.get(fid1(c.fid))
                if handle is not None:
                    f["bytes_read"] = handle.read.moved or None
                    f["bytes_written"] = handle.write.moved or None
                    if r is not None and self.files.pop(fid1(c.fid), None) is not None:
                        self._file_done(handle, closed=True)
        elif cmd in _TRANS_COMMANDS or cmd in (0x26, 0x33, 0xA1):
            f["trans_name"] = c.trans_name
            f["total_data_count"] = c.total_data_count
            if c.subcommand is not None:
                if cmd == _SMB1_TRANS2:
                    f["subcommand"] = TRANS2_SUBCOMMANDS.get(c.subcommand, f"0x{c.subcommand:02x}")
                elif cmd == _SMB1_NT_TRANS:
                    f["subcommand"] = NT_TRANSACT_FUNCTIONS.get(c.subcommand,
                                                                f"0x{c.subcommand:02x}")
                elif c.trans_name is not None and c.trans_name.upper().startswith("\\PIPE\\"):
                    f["subcommand"] = TRANS_FUNCTIONS.get(c.subcommand, f"0x{c.subcommand:04x}")
        if c.fid is not None and "file_id" not in f:
            f["file_id"] = f"{c.fid:04x}"
        if c.new_filename is not None:
            f["rename_to"] = c.new_filename

    # -- SMB3 envelopes ---------------------------------------------------------------------------
    def _transform(self, payload: bytes, from_client: bool) -> None:
        t = parse_transform(payload)
        if t.session_id in self.encrypted_sessions:
            return
        if len(self.encrypted_sessions) >= _MAX_USERS:
            return
        self.encrypted_sessions.add(t.session_id)
        user = self.users.get(t.session_id)
        self.flow.emit(SmbEvent(
            **self.flow.fields(from_client), version=2, command="ENCRYPTED", encrypted=True,
            session_id=t.session_id or None, user=user[0] if user else None,
            domain=user[1] if user else None, original_size=t.original_size))

    def _compressed(self, payload: bytes, length: int, from_client: bool) -> None:
        c = parse_compressed(payload)
        # CVE-2020-0796: srv2.sys added OriginalCompressedSegmentSize and Offset in 32 bits;
        # an unchained header whose offset points past the message, or whose sum wraps, is the
        # exploit's signature ([MS-SMB2] 2.2.42.1: Offset is within the message).
        if c.flags == 0 and (c.offset > length - 16 or c.original_size + c.offset > 0xFFFFFFFF):
            self.flow.anomaly("smb.bad_compression_header",
                              f"original size {c.original_size} offset {c.offset} in a "
                              f"{length}-byte message", from_client)
        if self.compressed_seen:
            return
        self.compressed_seen = True
        self.flow.emit(SmbEvent(
            **self.flow.fields(from_client), version=2, command="COMPRESSED", compressed=True,
            original_size=c.original_size,
            compression_algorithm=COMPRESSION_ALGORITHMS.get(c.algorithm, str(c.algorithm))))

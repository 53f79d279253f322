"""SMB events: one :class:`SmbEvent` per command exchange (request + response, paired by
message id), like Zeek's smb_cmd.log but with the share, file and user resolved from the
session's state, so each record stands alone for lateral-movement rules (admin shares, remote
service pipes, executables written). :class:`SmbFileEvent` sums up what moved through one open
file (Zeek files.log style, with content digests). :class:`NbssEvent` is the NetBIOS session
request of TCP 139."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["NbssEvent", "SmbEvent", "SmbFileEvent"]


class SmbEvent(Event, tag="smb",
               rename=ecs(user="user.name", domain="user.domain"), frozen=True):
    """One SMB1 or SMB2/3 command and its response."""

    version: int
    """1 for SMB1 (CIFS) headers, 2 for SMB2/SMB3 headers."""
    command: str
    """NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE, READ, WRITE, CLOSE, IOCTL... (SMB1 names
    as in [MS-CIFS]: NT_CREATE_ANDX, TRANSACTION2...). ENCRYPTED / COMPRESSED for SMB3 envelopes."""
    status: str | None = None
    """NTSTATUS name of the response (``STATUS_ACCESS_DENIED``), hex when not in the table."""
    unanswered: bool | None = None
    message_id: int | None = None
    session_id: int | None = None
    tree_id: int | None = None
    tree: str | None = None
    """Share path (``\\\\server\\ADMIN$``) of the tree the command ran on."""
    share_type: str | None = None
    user: str | None = None
    """User of the SMB session (from NTLMSSP AUTHENTICATE or SMB1 session setup)."""
    domain: str | None = None
    workstation: str | None = None
    auth: str | None = None
    """ntlmssp or kerberos (SESSION_SETUP)."""
    anonymous: bool | None = None
    guest: bool | None = None
    ntlm_version: str | None = None
    client_os: str | None = None
    server_os: str | None = None
    server_name: str | None = None
    """NetBIOS computer name the server announced (NTLM challenge, SMB1 negotiate)."""
    server_domain: str | None = None
    server_dns_name: str | None = None
    server_dns_domain: str | None = None
    dialects: tuple[str, ...] | None = None
    dialect: str | None = None
    signing_required: bool | None = None
    signed: bool | None = None
    client_guid: str | None = None
    server_guid: str | None = None
    ciphers: tuple[str, ...] | None = None
    compression: tuple[str, ...] | None = None
    netname: str | None = None
    filename: str | None = None
    """File or pipe name (relative to the share), from CREATE or from the open file's handle."""
    file_id: str | None = None
    disposition: str | None = None
    desired_access: int | None = None
    action: str | None = None
    end_of_file: int | None = None
    offset: int | None = None
    length: int | None = None
    """Bytes requested (READ) or sent (WRITE)."""
    data_length: int | None = None
    """Bytes returned (READ) or accepted (WRITE)."""
    bytes_read: int | None = None
    """CLOSE: bytes read through the handle while it was open (as seen)."""
    bytes_written: int | None = None
    ioctl: str | None = None
    info_type: str | None = None
    info_class: str | None = None
    pattern: str | None = None
    """QUERY_DIRECTORY search pattern (``filename`` is then the directory listed)."""
    rename_to: str | None = None
    delete: bool | None = None
    trans_name: str | None = None
    """SMB1 TRANSACTION pipe or mailslot name."""
    subcommand: str | None = None
    """SMB1 Trans2 subcommand or NT Transact function."""
    total_data_count: int | None = None
    encrypted: bool | None = None
    compressed: bool | None = None
    original_size: int | None = None
    compression_algorithm: str | None = None


class SmbFileEvent(
    Event, tag="smb_file", frozen=True,
    rename=ecs(path="file.path", name="file.name", size="file.size", md5="file.hash.md5",
               sha1="file.hash.sha1", sha256="file.hash.sha256", user="user.name",
               domain="user.domain"),
):
    """The content read from or written to one file through one handle, emitted when the handle
    is closed (or forgotten: the connection ended, the open-file table was full). The client is
    the source. One event per direction that moved data; named pipes (IPC$) are not files and
    give none.

    Digests are of the content in file order: READ responses / WRITE requests are followed by
    offset; re-reads of bytes already seen are allowed, anything that skips ahead, rewrites, is
    refused, or loses bytes to a capture gap stops the hashing (``complete`` false, no digest).
    """

    version: int
    """1 for SMB1 (CIFS), 2 for SMB2/SMB3."""
    path: str
    """File name relative to the share, as in the CREATE (``Windows\\Temp\\x.exe``)."""
    name: str
    """Last component of ``path``."""
    direction: str
    """``read`` (server to client) or ``write`` (client to server)."""
    bytes_transferred: int
    """Data bytes moved in this direction (what the server returned or accepted)."""
    complete: bool
    """The whole file, from offset 0 to ``size``, was seen in order."""
    size: int | None = None
    """File size (end of file) as last reported by the server (CREATE or CLOSE response), or
    the end of the last write when larger."""
    md5: str | None = None
    """Hex digests of the content, only when ``complete``."""
    sha1: str | None = None
    sha256: str | None = None
    tree: str | None = None
    """Share path (``\\\\server\\C$``)."""
    closed: bool = True
    """False when the event was emitted without a CLOSE (end of connection, table full)."""
    file_id: str | None = None
    user: str | None = None
    domain: str | None = None


class NbssEvent(Event, tag="nbss", rename=ecs(), frozen=True):
    """A NetBIOS session request (RFC 1002 section 4.3.2) and the server's answer."""

    called_name: str | None = None
    """NAME<xx> the client asked for (the server's NetBIOS name, or *SMBSERVER)."""
    calling_name: str | None = None
    """NAME<xx> of the client."""
    result: str | None = None
    """positive, negative, retarget; None when unanswered."""
    error: str | None = None

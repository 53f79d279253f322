"""The FTP event: one per command and its final reply (as in Zeek's ftp.log), with the session's
user and working directory, and the data channel a PORT/PASV exchange set up."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["FtpEvent"]


class FtpEvent(Event, tag="ftp", rename=ecs(user="user.name"), frozen=True):
    """One FTP command with its reply. A reply nobody asked for (the greeting banner, a 421
    shutdown notice) is an event without ``command``, sent by the server."""

    command: str | None = None
    arg: str | None = None
    """The command's argument; never stored for PASS and ACCT."""
    reply_code: int | None = None
    reply_msg: str | None = None
    """First line of the final reply (at most 256 characters)."""
    preliminary_code: int | None = None
    """A 1xx reply that came before the final one (150 opening data connection...)."""
    unanswered: bool | None = None
    user: str | None = None
    password_present: bool | None = None
    """PASS was sent (its value is never kept): credentials crossed the wire in clear."""
    login_success: bool | None = None
    """On USER/PASS: whether the server accepted the login (230)."""
    file: str | None = None
    """Path argument of a file command (RETR, STOR, DELE, CWD...)."""
    file_size: int | None = None
    """From the 150 reply's ``(n bytes)`` or a SIZE reply."""
    cwd: str | None = None
    """Working directory when the command was given, when known (from CWD/PWD)."""
    data_host: str | None = None
    data_port: int | None = None
    passive: bool | None = None
    """The data channel endpoint: the server's (PASV/EPSV reply) or the client's (PORT/EPRT)."""
    tls: bool | None = None
    """AUTH TLS/SSL accepted: the rest of the control channel is encrypted and not decoded."""

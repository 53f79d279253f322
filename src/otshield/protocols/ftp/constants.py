"""FTP tables: which commands name a file, which move the data channel.

References: RFC 959 section 4.1 (commands) and 4.2 (reply codes), RFC 2228 section 3 (AUTH),
RFC 2428 section 2-3 (EPRT, EPSV), RFC 3659 (SIZE, MDTM, MLST, MLSD), RFC 4217 section 4
(AUTH TLS), RFC 775 (the X-prefixed directory commands).
"""

from __future__ import annotations

__all__ = [
    "ANONYMOUS_USERS",
    "DIRECTORY_COMMANDS",
    "FILE_COMMANDS",
    "LOGIN_COMMANDS",
    "TLS_COMMANDS",
    "TRANSFER_COMMANDS",
]

FILE_COMMANDS: frozenset[str] = frozenset({
    "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO", "MKD", "XMKD", "RMD", "XRMD",
    "SIZE", "MDTM", "LIST", "NLST", "MLSD", "MLST", "CWD", "XCWD", "SITE",
})
"""Commands whose argument is a path (SITE: often ``SITE CHMOD mode path``)."""

TRANSFER_COMMANDS: frozenset[str] = frozenset({"RETR", "STOR", "STOU", "APPE"})
"""Commands that move file content over the data channel (downloads and uploads)."""

DIRECTORY_COMMANDS: frozenset[str] = frozenset({"CWD", "XCWD", "CDUP", "XCUP"})

LOGIN_COMMANDS: frozenset[str] = frozenset({"USER", "PASS", "ACCT"})

TLS_COMMANDS: frozenset[str] = frozenset({"AUTH"})
"""``AUTH TLS``/``AUTH SSL`` answered 234: the control channel turns into TLS (RFC 4217)."""

ANONYMOUS_USERS: frozenset[str] = frozenset({"anonymous", "ftp"})
"""RFC 1635: the anonymous login, whose "password" is by convention an e-mail address."""

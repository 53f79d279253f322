"""SMB1/SMB2/SMB3 over TCP 445 (Direct TCP) and 139 (NetBIOS session service): one event per
command exchange, one per file transfer (with content digests), one per NetBIOS session
request."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.smb.events import NbssEvent, SmbEvent, SmbFileEvent
from otshield.protocols.smb.session import SmbSession

__all__ = ["SPEC", "probe"]


def probe(buf: bytes, from_client: bool) -> bool:
    """A Direct-TCP/NBSS header followed by an SMB signature, or an NBSS session request."""
    if len(buf) >= 8 and buf[0] == 0 and buf[5:8] == b"SMB" and buf[4] in (0xFE, 0xFF, 0xFD):
        return True
    return from_client and len(buf) >= 72 and buf[0] == 0x81 and buf[4] == 0x20


def _session(flow: FlowContext) -> Session:
    return SmbSession(flow)


SPEC = ProtocolSpec(
    name="smb",
    title="SMB1/SMB2/SMB3 (CIFS) and NetBIOS session service",
    session_factory=_session,
    tcp_ports=frozenset({445, 139}),
    probe=probe,
    event_types=(SmbEvent, SmbFileEvent, NbssEvent),
    anomaly_codes={
        "smb.bad_nbss_header":
            "NetBIOS session header of an unknown type, or without an SMB message after it"
            " (synchronisation lost: the next SMB header is searched for)",
        "smb.bad_header": "message is neither SMB1, SMB2, transform nor compression header",
        "smb.truncated": "message shorter than its header or parameter block",
        "smb.bad_compound": "SMB2 NextCommand not 8-aligned or inside the header",
        "smb.bad_structure_size": "SMB2 request body structure size wrong for the command",
        "smb.duplicate_message_id": "a request reused the id of one still pending",
        "smb.too_many_pending": "more unanswered requests than max_pending_requests",
        "smb.state_limit": "session/tree/open-file table full: oldest entries forgotten",
        "smb.smb1_used": "SMB1 (CIFS) spoken on the connection (obsolete, EternalBlue vector)",
        "smb.trans2_unusual_subcommand":
            "Trans2 subcommand reserved/obsolete (SESSION_SETUP: DoublePulsar) or unknown",
        "smb.nt_trans_unusual_function":
            "NT Transact function 0 or unknown (EternalBlue opens with function 0)",
        "smb.doublepulsar": "Trans2 reply with MID + 16: the DoublePulsar implant answering",
        "smb.cleartext_password": "SMB1 session setup carrying a plain-text password",
        "smb.bad_compression_header":
            "SMB 3.1.1 compression offset beyond the message or size overflow (SMBGhost)",
    },
)

"""Turning SMB values into event fields: status names, table look-ups, and the authentication
facts of a SESSION_SETUP leg (NTLMSSP names, Kerberos or not) from its security blobs."""

from __future__ import annotations

from typing import Any

from otshield.protocols.smb.constants import status_name
from otshield.protocols.smb.ntlmssp import auth_mechanism, parse_ntlmssp
from otshield.protocols.smb.smb1 import Smb1Header

__all__ = ["auth_fields", "fid1", "lookup", "lookups", "status1"]


def fid1(fid: int) -> bytes:
    """SMB1 FIDs are 16-bit; prefixed so they never meet a 16-byte SMB2 FileId in one table."""
    return b"\x01" + fid.to_bytes(2, "little")


def status1(hdr: Smb1Header) -> str:
    if hdr.dos_error:
        return f"DOS:{hdr.status >> 16}/{hdr.status & 0xFFFF}"
    return status_name(hdr.status)


def lookup(value: int | None, table: dict[int, str]) -> str | None:
    if value is None:
        return None
    return table.get(value, str(value))


def lookups(values: tuple[int, ...] | None, table: dict[int, str]) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(table.get(v, str(v)) for v in values)


def auth_fields(f: dict[str, Any], req_blob: bytes | None, resp_blob: bytes | None) -> None:
    """Authentication facts of a SESSION_SETUP leg from its two security blobs."""
    if req_blob:
        f["auth"] = auth_mechanism(req_blob)
        info = parse_ntlmssp(req_blob)
        if info is not None:
            if info.message_type == 3:
                f["user"] = info.user
                f["domain"] = info.domain
                f["workstation"] = info.workstation
                f["anonymous"] = info.anonymous or None
                f["ntlm_version"] = info.ntlm_version
            elif info.message_type == 1:
                f["domain"] = info.domain
                f["workstation"] = info.workstation
            f["client_os"] = info.os_version
    if resp_blob:
        info = parse_ntlmssp(resp_blob)
        if info is not None and info.message_type == 2:
            f["auth"] = "ntlmssp"
            f["server_os"] = info.os_version
            f["server_name"] = info.nb_computer
            f["server_domain"] = info.nb_domain
            f["server_dns_name"] = info.dns_computer
            f["server_dns_domain"] = info.dns_domain
        elif f.get("auth") is None:
            f["auth"] = auth_mechanism(resp_blob)

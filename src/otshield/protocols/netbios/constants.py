"""NetBIOS name and datagram service code tables, and the browser protocol's.

References: RFC 1002 section 4.2.1.1 (name service header: opcodes, NM_FLAGS, RCODE), 4.2.1.3
(RR types NB/NBSTAT), 4.2.18 (node status response), 4.4.1 (datagram service header and
message types); [MS-BRWS] 2.2 (browser frames: opcodes, server type bits in 2.2.1.1).
"""

from __future__ import annotations

__all__ = [
    "BROWSER_OPCODES",
    "DGM_ERRORS",
    "DGM_TYPES",
    "NODE_TYPES",
    "NS_OPCODES",
    "NS_RCODES",
    "RR_TYPES",
    "SERVER_TYPES",
]

NS_OPCODES: dict[int, str] = {
    0: "query",
    5: "registration",
    6: "release",
    7: "wack",
    8: "refresh",
    9: "refresh",  # RFC 1002 errata / Windows: 8 and 9 both mean refresh
    15: "multihomed_registration",
}

NS_RCODES: dict[int, str] = {
    0: "ok",
    1: "format_error",
    2: "server_failure",
    3: "name_error",
    4: "not_implemented",
    5: "refused",
    6: "active_error",
    7: "conflict_error",
}

RR_TYPES: dict[int, str] = {0x0001: "A", 0x0002: "NS", 0x000A: "NULL", 0x0020: "NB",
                            0x0021: "NBSTAT"}

NODE_TYPES: dict[int, str] = {0: "B", 1: "P", 2: "M", 3: "H"}

DGM_TYPES: dict[int, str] = {
    0x10: "direct_unique",
    0x11: "direct_group",
    0x12: "broadcast",
    0x13: "error",
    0x14: "query_request",
    0x15: "positive_query_response",
    0x16: "negative_query_response",
}

DGM_ERRORS: dict[int, str] = {0x82: "destination name not present",
                              0x83: "invalid source name format",
                              0x84: "invalid destination name format"}

BROWSER_OPCODES: dict[int, str] = {
    0x01: "HostAnnouncement",
    0x02: "AnnouncementRequest",
    0x08: "RequestElection",
    0x09: "GetBackupListRequest",
    0x0A: "GetBackupListResponse",
    0x0B: "BecomeBackup",
    0x0C: "DomainAnnouncement",
    0x0D: "MasterAnnouncement",
    0x0E: "ResetStateRequest",
    0x0F: "LocalMasterAnnouncement",
}

SERVER_TYPES: tuple[tuple[int, str], ...] = (
    (0x00000001, "workstation"),
    (0x00000002, "server"),
    (0x00000004, "sql_server"),
    (0x00000008, "domain_controller"),
    (0x00000010, "backup_domain_controller"),
    (0x00000020, "time_source"),
    (0x00000040, "apple_server"),
    (0x00000080, "novell"),
    (0x00000100, "domain_member"),
    (0x00000200, "print_queue_server"),
    (0x00000400, "dialin_server"),
    (0x00000800, "unix_server"),
    (0x00001000, "nt_workstation"),
    (0x00002000, "wfw"),
    (0x00004000, "mfpn"),
    (0x00008000, "nt_server"),
    (0x00010000, "potential_browser"),
    (0x00020000, "backup_browser"),
    (0x00040000, "master_browser"),
    (0x00080000, "domain_master_browser"),
    (0x00100000, "osf"),
    (0x00200000, "vms"),
    (0x00400000, "windows"),
    (0x00800000, "dfs"),
    (0x01000000, "cluster"),
    (0x02000000, "terminal_server"),
    (0x04000000, "cluster_virtual_server"),
    (0x10000000, "dce"),
    (0x20000000, "alternate_transport"),
    (0x40000000, "local_list_only"),
    (0x80000000, "domain_enum"),
)
"""[MS-BRWS] 2.2.1.1 / [MS-RAP] SV_TYPE bits, in bit order."""

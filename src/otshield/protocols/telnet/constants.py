"""Telnet tables: command bytes and option names.

References: RFC 854 (commands: IAC 255, DONT 254, DO 253, WONT 252, WILL 251, SB 250, GA 249,
EL 248, EC 247, AYT 246, AO 245, IP 244, BRK 243, DM 242, NOP 241, SE 240); RFC 855 (option
negotiation); option numbers from the IANA "Telnet Options" registry: RFC 856 (BINARY), 857
(ECHO), 858 (SGA), 859 (STATUS), 860 (TIMING-MARK), 1091 (TTYPE, 24), 1073 (NAWS, 31), 1079
(TSPEED, 32), 1372 (LFLOW, 33), 1184 (LINEMODE, 34), 1096 (XDISPLOC, 35), 1408 (ENVIRON, 36),
2941 (AUTHENTICATION, 37), 2946 (ENCRYPT, 38), 1572 (NEW-ENVIRON, 39), 2066 (CHARSET, 42),
4777 (COM-PORT-OPTION, 44).
"""

from __future__ import annotations

__all__ = ["IAC", "OPTIONS", "SB", "SE", "VERBS"]

IAC, SB, SE = 255, 250, 240
VERBS: dict[int, str] = {251: "WILL", 252: "WONT", 253: "DO", 254: "DONT"}

OPTIONS: dict[int, str] = {
    0: "BINARY",
    1: "ECHO",
    2: "RCP",
    3: "SGA",
    4: "NAMS",
    5: "STATUS",
    6: "TIMING-MARK",
    7: "RCTE",
    8: "NAOL",
    9: "NAOP",
    10: "NAOCRD",
    11: "NAOHTS",
    12: "NAOHTD",
    13: "NAOFFD",
    14: "NAOVTS",
    15: "NAOVTD",
    16: "NAOLFD",
    17: "EXTEND-ASCII",
    18: "LOGOUT",
    19: "BM",
    20: "DET",
    21: "SUPDUP",
    22: "SUPDUP-OUTPUT",
    23: "SEND-LOCATION",
    24: "TTYPE",
    25: "EOR",
    26: "TUID",
    27: "OUTMRK",
    28: "TTYLOC",
    29: "3270-REGIME",
    30: "X.3-PAD",
    31: "NAWS",
    32: "TSPEED",
    33: "LFLOW",
    34: "LINEMODE",
    35: "XDISPLOC",
    36: "ENVIRON",
    37: "AUTHENTICATION",
    38: "ENCRYPT",
    39: "NEW-ENVIRON",
    40: "TN3270E",
    41: "XAUTH",
    42: "CHARSET",
    43: "RSP",
    44: "COM-PORT-OPTION",
    45: "SLE",
    46: "START-TLS",
    47: "KERMIT",
    48: "SEND-URL",
    49: "FORWARD-X",
    138: "PRAGMA-LOGON",
    139: "SSPI-LOGON",
    140: "PRAGMA-HEARTBEAT",
    255: "EXOPL",
}

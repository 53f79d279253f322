"""The Ethernet header shared by IEC 61850 GOOSE, GSE management and Sampled Values frames.

References: IEC 61850-8-1 Ed.2 (2011) Annex C (Ethertype 0x88B8 GOOSE, 0x88B9 GSE management;
frame format table C.1) and IEC 61850-9-2 Ed.2 (2011) 5.3.3 (Ethertype 0x88BA): after the
Ethertype come APPID (2 octets), Length (2 octets: from the APPID to the end of the APDU, so
8 plus the APDU length), Reserved 1 (2 octets; Ed.2 bit 15 is the Simulate flag, the others are
reserved) and Reserved 2 (2 octets; IEC 62351-6 puts a CRC of the header there when security is
used). Ethernet pads short frames to 60 octets, so a frame may hold more octets than Length.
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed

__all__ = ["HEADER", "SIMULATE_BIT", "parse_header"]

HEADER = struct.Struct("!HHHH")
SIMULATE_BIT = 0x8000
"""Reserved 1 bit 15 (IEC 61850-8-1 Ed.2 C.2.3.2 / 9-2 Ed.2 5.3.3.4): the frame is from a test
or simulation device and only subscribers in simulation mode take it."""


def parse_header(payload: bytes, proto: str) -> tuple[int, int, int, int]:
    """(APPID, Reserved 1, Reserved 2, end of the APDU) of a frame's payload after the Ethertype.

    Raises ``Malformed('<proto>.bad_length')`` when Length is below the header size or beyond
    the frame (truncated capture or a lying header)."""
    if len(payload) < 8:
        raise Malformed(f"{proto}.bad_length", f"{len(payload)} octets, the header needs 8")
    appid, length, res1, res2 = HEADER.unpack_from(payload, 0)
    if length < 8 or length > len(payload):
        raise Malformed(f"{proto}.bad_length",
                        f"Length {length} but the frame holds {len(payload)} octets")
    return appid, res1, res2, length

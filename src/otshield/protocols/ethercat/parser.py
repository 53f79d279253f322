"""Pure EtherCAT frame parser (IEC 61158-4-12 clause 5 / ETG.1000.4: frame structure).

Payload after Ethertype 0x88A4::

    header(2, little-endian): Length(11 bits) Reserved(1) Type(4)
    datagrams: Cmd(1) Idx(1) Address(4) Len(2: length 11 bits, R 3, C 1, M "more" 1) IRQ(2)
               Data(Len) WKC(2)

The address is ADP(2)+ADO(2) for position/station/broadcast commands, a 32-bit logical
address for LRD/LWR/LRW (all little-endian). Raises only ``Malformed`` (``ethercat.*``).
"""

from __future__ import annotations

import struct

from otshield.errors import Malformed
from otshield.protocols.ethercat.constants import TYPE_COMMANDS

__all__ = ["Datagram", "parse"]

_HDR = struct.Struct("<H")
_DG = struct.Struct("<BBHHHH").unpack_from
_WKC = struct.Struct("<H").unpack_from
# No datagram limit is needed: the 11-bit frame length bounds a frame to 170 datagrams.

Datagram = tuple[int, int, int, int, int, int, int]
"""(cmd, index, ADP, ADO, length, working counter, offset of the data in the payload); for
logical commands the 32-bit address is ADO << 16 | ADP. The data is not copied: most callers
only count."""


def parse(payload: bytes) -> tuple[int, list[Datagram]]:
    """(frame type, datagrams) of one EtherCAT frame; no datagrams for other types."""
    if len(payload) < 2:
        raise Malformed("ethercat.truncated", f"{len(payload)} bytes: no frame header")
    (hdr,) = _HDR.unpack_from(payload)
    length, ftype = hdr & 0x07FF, hdr >> 12
    if length + 2 > len(payload):
        raise Malformed("ethercat.bad_length",
                        f"header length {length} exceeds the {len(payload) - 2} bytes present")
    if ftype != TYPE_COMMANDS:
        return ftype, []
    out: list[Datagram] = []
    off, end = 2, 2 + length
    while True:
        if off + 12 > end:
            raise Malformed("ethercat.truncated", "datagram header or working counter missing")
        cmd, idx, adp, ado, lenf, _irq = _DG(payload, off)
        dlen = lenf & 0x07FF
        data_off = off + 10
        if data_off + dlen + 2 > end:
            raise Malformed("ethercat.truncated",
                            f"datagram {len(out) + 1} length {dlen} overruns the frame")
        (wkc,) = _WKC(payload, data_off + dlen)
        out.append((cmd, idx, adp, ado, dlen, wkc, data_off))
        off = data_off + dlen + 2
        if not lenf & 0x8000:
            return TYPE_COMMANDS, out

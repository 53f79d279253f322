"""NetBIOS names: the "first-level encoding" of RFC 1001 section 14.1 and RFC 1002 section 4.1,
shared by the name service (UDP 137), the datagram service (UDP 138) and the session service
(TCP 139, framed by the SMB decoder).

A 16-byte NetBIOS name (15 characters padded with spaces, then a suffix byte naming the service)
is sent as 32 letters 'A'..'P', one per nibble, as the first label of a DNS-style name; further
labels are the NetBIOS scope.
"""

from __future__ import annotations

__all__ = ["SUFFIXES", "decode_label", "display", "name_text", "read_name"]

# 'A'..'P' -> '0'..'f' so bytes.fromhex does the nibble arithmetic in C; anything else -> 'z',
# which fromhex rejects.
_NIBBLES = bytes((0x30 + c - 0x41 if c < 0x4B else 0x61 + c - 0x4B) if 0x41 <= c <= 0x50
                 else 0x7A for c in range(256))

SUFFIXES: dict[int, str] = {
    0x00: "workstation",
    0x01: "messenger",  # also __MSBROWSE__<01>, the master browser group
    0x03: "messenger",
    0x06: "ras_server",
    0x1B: "domain_master_browser",
    0x1C: "domain_controllers",
    0x1D: "master_browser",
    0x1E: "browser_election",
    0x1F: "netdde",
    0x20: "file_server",
    0x21: "ras_client",
    0xBE: "network_monitor_agent",
    0xBF: "network_monitor_app",
}
"""Well-known suffix bytes (Microsoft's NetBIOS suffix list, [MS-NBTE] 2.2 and [MS-BRWS] 1.3);
for the group names (domain <00>, <1C>, <1E>) the meaning shifts to the domain."""


def decode_label(label: bytes) -> tuple[str, int] | None:
    """32 encoded letters -> (name without padding, suffix byte); None if not valid encoding."""
    if len(label) != 32:
        return None
    try:
        raw = bytes.fromhex(label.translate(_NIBBLES).decode("ascii"))
    except ValueError:
        return None
    return name_text(raw[:15]), raw[15]


def name_text(raw: bytes) -> str:
    """The 15 name bytes without padding; bytes that are not printable ASCII are shown as
    ``<xx>`` (``<01><02>__MSBROWSE__<02>``), as nbtstat and Wireshark show them."""
    raw = raw.rstrip(b" \x00")
    if raw.isascii() and raw.decode("ascii").isprintable():
        return raw.decode("ascii")
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"<{b:02x}>" for b in raw)


def display(name: str, suffix: int, scope: str = "") -> str:
    """``NAME<xx>`` (with ``.scope`` before the suffix), the form Wireshark and nbtstat use."""
    return f"{name}.{scope}<{suffix:02x}>" if scope else f"{name}<{suffix:02x}>"


def read_name(data: bytes, pos: int, end: int) -> tuple[str, int, str, int] | None:
    """A full encoded name (first label + scope labels + root) at ``pos``, uncompressed:
    ``(name, suffix, scope, position after it)``; None if it is not a valid NetBIOS name."""
    if pos >= end or data[pos] != 32 or pos + 33 > end:
        return None
    decoded = decode_label(data[pos + 1:pos + 33])
    if decoded is None:
        return None
    pos += 33
    labels: list[str] = []
    while True:
        if pos >= end:
            return None
        n = data[pos]
        if n == 0:
            return decoded[0], decoded[1], ".".join(labels), pos + 1
        if n > 63 or pos + 1 + n > end or len(labels) >= 16:
            return None
        labels.append(data[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n

"""Vendor of a network interface from its MAC address, through the IEEE registries that netaddr
ships and keeps current (MA-L/OUI, with MA-M and MA-S where netaddr has them).

Locally administered addresses (bit 1 of the first octet: virtual machines, randomised phone
MACs, many soft PLC and container interfaces) and group addresses have no registered vendor.
"""

from __future__ import annotations

from functools import lru_cache

import netaddr

__all__ = ["is_locally_administered", "mac_vendor"]


def is_locally_administered(mac: str) -> bool:
    try:
        return bool(int(mac[:2], 16) & 0x02)
    except ValueError:
        return False


@lru_cache(maxsize=65536)
def mac_vendor(mac: str) -> str | None:
    """Registered organisation of ``mac`` (``aa:bb:cc:dd:ee:ff``), or None if unknown."""
    try:
        first = int(mac[:2], 16)
    except ValueError:
        return None
    if first & 0x03 or mac == "00:00:00:00:00:00":  # group, local or unset: not registered
        return None
    try:
        org = netaddr.EUI(mac).oui.registration()["org"]
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError, ValueError):
        return None
    text = str(org).strip().rstrip(",").strip()
    return text or None

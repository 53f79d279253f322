"""otshield: passive IT/OT network security monitoring.

The packet path is described in ``engine``; protocol decoders live in ``otshield.protocols``.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

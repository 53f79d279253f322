"""IEC 60870-5-104 decoder (TCP port 2404, or any port where the APCI probes right).

Decodes the APCI (I-, S- and U-format control fields, sequence numbers) and the ASDU of every
standard type of IEC 60870-5-101/104: monitor information (types 1-40), commands and
set-points (45-64), system commands (70, 100-107), parameters (110-113) and file transfer
(120-127), with every information element value, quality descriptor and time tag.
Events: ``iec104`` (one per ASDU; a command with its confirmation), ``iec104_apci``
(U-format APDUs), ``iec104_connection`` (APDU counts per connection).

Modules: ``constants`` (tables), ``elements`` (information element decoders), ``parser``
(APCI and ASDU, pure), ``framing`` (unit boundaries, probe), ``session`` (sequence numbers,
command pairing), ``events`` (the records).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.iec104.constants import ANOMALY_CODES, IEC104_PORT
from otshield.protocols.iec104.events import (
    Iec104ApciEvent,
    Iec104ConnectionEvent,
    Iec104Event,
    Iec104Object,
)
from otshield.protocols.iec104.framing import frame_size, probe
from otshield.protocols.iec104.session import Iec104Session

__all__ = ["SPEC", "Iec104ApciEvent", "Iec104ConnectionEvent", "Iec104Event", "Iec104Object",
           "Iec104Session"]

SPEC = ProtocolSpec(
    name="iec104",
    title="IEC 60870-5-104",
    session_factory=Iec104Session,
    tcp_ports=frozenset({IEC104_PORT}),
    probe=probe,
    frame_size=frame_size,
    event_types=(Iec104Event, Iec104ApciEvent, Iec104ConnectionEvent),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
)

"""IEC 60870-5-104 framing: APDU boundaries in a byte stream, and the probe that claims flows
on other ports than 2404.

Reference: IEC 60870-5-104:2006 5.1 (APDU = start 0x68, length octet L with 4 <= L <= 253,
then L octets: the four-octet control field and the ASDU).
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.iec104.constants import START
from otshield.protocols.iec104.parser import could_start, decode_apci, decode_asdu

__all__ = ["frame_size", "probe"]

_START = bytes([START])
_HEAD = 6  # start, length, control field: enough to judge an offset


def frame_size(buf: bytes) -> int | None:
    """Length of the unit at the head of a stream: 2 + the length octet for an APDU.

    Never raises. When the head cannot start an APDU, the unit returned is the run of bytes up
    to the next offset that could (the session reports such a run once and skips it). Every
    offset is judged with its 6 header octets in hand, so where the decoder resynchronises
    does not depend on how the stream was cut into segments."""
    n = len(buf)
    if n < _HEAD:
        return None
    if could_start(buf, 0):
        return 2 + buf[1]
    p = buf.find(_START, 1)
    while 0 <= p <= n - _HEAD:
        if could_start(buf, p):
            return p
        p = buf.find(_START, p + 1)
    return n - _HEAD + 1  # the last 5 octets may begin a header: judge them with more data


def probe(buf: bytes, from_client: bool) -> bool:
    """Does the start of a flow look like IEC 104? Every whole APDU at the head (at least one)
    has a valid APCI and, for I-format, an ASDU of a known type that decodes without a single
    anomaly; what follows is the start of another APDU. Strict on purpose: on port 2404 the
    engine claims the flow anyway, elsewhere a false claim would flood another protocol's flow
    with IEC 104 anomalies."""
    n = len(buf)
    pos = units = 0
    while pos + _HEAD <= n and units < 8:
        if not could_start(buf, pos):
            return False
        end = pos + 2 + buf[pos + 1]
        if end > n:
            break
        try:
            apci = decode_apci(buf[pos:end])
            if apci.format == "I" and decode_asdu(apci.asdu, 0.0).anomalies is not None:
                return False
        except Malformed:
            return False
        pos = end
        units += 1
    if units == 0:
        return False
    rest = n - pos
    return rest == 0 or buf[pos] == START

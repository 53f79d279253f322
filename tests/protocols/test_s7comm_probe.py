"""Port 102 carries both S7comm and MMS: the S7 probe must not take MMS connections."""

from __future__ import annotations

import struct

from otshield.protocols.mms import SPEC as MMS
from otshield.protocols.s7comm import probe as s7_probe


def tpkt(payload: bytes) -> bytes:
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def cr(calling: bytes, called: bytes) -> bytes:
    params = b"\xc1" + bytes([len(calling)]) + calling + b"\xc2" + bytes([len(called)]) + called
    body = b"\xe0\x00\x00\x00\x01\x00" + params  # CR, dst ref, src ref 1, class 0
    return tpkt(bytes([len(body)]) + body)


def dt(data: bytes) -> bytes:
    return tpkt(b"\x02\xf0\x80" + data)


S7_SETUP = bytes.fromhex("32010000000000080000f0000001000101e0")
MMS_INITIATE = bytes.fromhex("a81a800300fde8810101820101830105a40b800200018103ee1c00")


def test_s7_tsaps_alone_are_s7() -> None:
    assert s7_probe(cr(b"\x01\x00", b"\x01\x02"), True)  # PG connection, rack 0 slot 2
    assert s7_probe(cr(b"\x10\x00", b"\x03\x01"), True)
    assert s7_probe(cr(b"\x01\x00", b"SIMATIC-ROOT-ES"), True)


def test_tsaps_that_are_not_s7_conventions_are_left_to_others() -> None:
    # an MMS client with TSAPs 0x0002 -> 0x0200 (iti mms-commands captures)
    request = cr(b"\x00\x02", b"\x02\x00")
    assert not s7_probe(request, True)
    assert MMS.probe is not None and MMS.probe(request, True)


def test_the_first_data_tpdu_decides_when_it_is_there() -> None:
    ambiguous = cr(b"\x02\x00", b"\x02\x00")
    assert s7_probe(ambiguous + dt(S7_SETUP), True)
    assert not s7_probe(ambiguous + dt(MMS_INITIATE), True)

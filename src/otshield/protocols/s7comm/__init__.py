"""Siemens S7 communication over ISO-on-TCP (RFC 1006 TPKT + ISO 8073 COTP), TCP port 102:
S7comm (protocol id 0x32: S7-300/400, and S7-1200/1500 in compatibility mode) and S7comm-plus
(0x72: S7-1200/1500), plus the COTP connection setup with its TSAPs (rack and slot).

Events: ``s7comm`` (one per job/userdata transaction), ``s7commplus`` (one per S7comm-plus
transaction or notification), ``cotp`` (connection attempts, disconnects, TPDU errors).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.s7comm.constants import PLUS_PROTOCOL_ID, PROTOCOL_ID
from otshield.protocols.s7comm.events import S7commEvent, S7commPlusEvent
from otshield.protocols.s7comm.session import S7commSession
from otshield.protocols.tpkt import (
    COTP_ANOMALIES,
    COTP_CR,
    COTP_DT,
    TPKT_ANOMALIES,
    CotpEvent,
    frame_size,
)

__all__ = ["SPEC", "probe"]


def probe(data: bytes, from_client: bool) -> bool:
    """TPKT carrying either a COTP data TPDU whose payload starts with an S7 protocol id, or a
    connection request whose called TSAP follows the S7 conventions (a 2-byte TSAP with a
    connection type of 1-3, or a ``SIMATIC-`` name). RDP and MMS requests do not match."""
    if len(data) < 7 or data[0] != 3 or data[1] != 0:
        return False
    li = data[4]
    code = data[5] >> 4
    if code == COTP_DT:
        pos = 5 + li
        return pos < len(data) and data[pos] in (PROTOCOL_ID, PLUS_PROTOCOL_ID)
    if code != COTP_CR:
        return False
    # When the first data TPDU has already arrived behind the request, it decides: S7 and MMS
    # servers both listen on port 102 and some MMS stacks use S7-like TSAPs.
    length = data[2] << 8 | data[3]
    if len(data) >= length + 7 and data[length] == 3 and data[length + 5] >> 4 == COTP_DT:
        return probe(data[length:], from_client)
    pos, end = 11, min(5 + li, len(data))
    calling = called = b""
    while pos + 2 <= end:
        pcode, plen = data[pos], data[pos + 1]
        value = data[pos + 2:pos + 2 + plen]
        if value.startswith(b"SIMATIC-"):
            return True
        if pcode == 0xC1:
            calling = value
        elif pcode == 0xC2:
            called = value
        pos += 2 + plen
    # S7 TSAPs: connection type (1 PG, 2 OP, 3 S7 basic; 0x10 and up for other clients) in the
    # first byte, rack and slot in the second; a calling TSAP starting with 0 is not S7's.
    return (len(called) == 2 and called[0] in (1, 2, 3)
            and len(calling) == 2 and calling[0] != 0)


ANOMALIES: dict[str, str] = {
    **TPKT_ANOMALIES,
    **COTP_ANOMALIES,
    "s7comm.invalid_frame_size": "TPKT length outside the engine's frame limits",
    "s7comm.buffer_overflow": "undecoded stream bytes beyond the stream buffer limit, dropped",
    "s7comm.unknown_protocol": "COTP data neither S7comm (0x32) nor S7comm-plus (0x72); "
                               "reported once per flow",
    "s7comm.invalid_header": "S7comm header shorter than 10/12 bytes or wrong protocol id",
    "s7comm.unknown_rosctr": "ROSCTR (PDU type) other than job, ack, ack-data or userdata",
    "s7comm.invalid_length": "parameter and data lengths exceed the PDU, or a userdata data "
                             "length exceeds the data part",
    "s7comm.invalid_parameter": "parameter part too short for its function",
    "s7comm.unknown_function": "job function or userdata group/subfunction not known",
    "s7comm.item_count_mismatch": "item count differs from the items present, or from the "
                                  "other half of the transaction",
    "s7comm.invalid_item": "a variable specification or data item overruns its part",
    "s7comm.invalid_szl": "SZL answer shorter than its record count says",
    "s7comm.invalid_block_info": "block info answer too short",
    "s7comm.invalid_timestamp": "clock value is not valid BCD date and time",
    "s7comm.too_many_pending": "more requests unanswered than max_pending_requests; the oldest "
                               "is reported unanswered",
    "s7comm.unanswered_request": "a request got no response (reference reused, or flow ended)",
    "s7comm.unmatched_response": "a response whose request was not seen",
    "s7comm.too_many_fragments": "too many userdata responses being joined at once",
    "s7comm.fragment_overflow": "a userdata response joined from data units exceeds 64 KiB",
    "s7commplus.invalid_header": "S7comm-plus header shorter than 4 bytes or wrong protocol id",
    "s7commplus.invalid_length": "S7comm-plus data length exceeds the frame",
    "s7commplus.invalid_integrity": "V3 frame without its integrity digest",
    "s7commplus.invalid_data": "S7comm-plus data too short for its opcode, or a bad "
                               "variable-length integer",
    "s7commplus.unknown_opcode": "S7comm-plus opcode not request, response or notification",
    "s7commplus.unknown_function": "S7comm-plus function code not known",
    "s7commplus.message_too_large": "S7comm-plus fragments without trailer exceed 1 MiB",
    "s7commplus.too_many_pending": "more S7comm-plus requests unanswered than "
                                   "max_pending_requests",
    "s7commplus.unanswered_request": "an S7comm-plus request got no response",
    "s7commplus.unmatched_response": "an S7comm-plus response whose request was not seen",
}

SPEC = ProtocolSpec(
    name="s7comm",
    title="Siemens S7comm / S7comm-plus (ISO-on-TCP)",
    session_factory=S7commSession,
    tcp_ports=frozenset({102}),
    probe=probe,
    frame_size=frame_size,
    event_types=(S7commEvent, S7commPlusEvent, CotpEvent),
    anomaly_codes=ANOMALIES,
)

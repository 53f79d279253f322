"""IEC 61850 MMS (ISO 9506) over the OSI stack on ISO-on-TCP (RFC 1006 TPKT, ISO 8073 COTP,
ISO 8327 session, ISO 8823 presentation, ISO 8650 ACSE), TCP port 102: also ICCP / TASE.2
(IEC 60870-6), which runs on MMS.

Events: ``mms`` (one per confirmed transaction, association, conclude, cancel, release, abort),
``mms_report`` (unconfirmed PDUs: informationReport...), ``cotp`` (connection attempts).
"""

from __future__ import annotations

from otshield.protocols.base import ProtocolSpec
from otshield.protocols.mms.events import MmsEvent, MmsReportEvent
from otshield.protocols.mms.parser import is_mms_tag
from otshield.protocols.mms.session import MmsSession
from otshield.protocols.s7comm import probe as s7_probe
from otshield.protocols.tpkt import (
    COTP_ANOMALIES,
    COTP_CR,
    COTP_DT,
    TPKT_ANOMALIES,
    CotpEvent,
    frame_size,
)

__all__ = ["ANOMALIES", "SPEC", "probe"]

_SESSION_CONNECT = frozenset({13, 14})  # CN, AC


def probe(data: bytes, from_client: bool) -> bool:
    """TPKT carrying either a COTP connection request without user data (RDP requests carry a
    cookie or negotiation request; S7 ones are claimed first by the S7 probe from their TSAPs),
    or a class 0 DT TPDU whose data is an ISO session CN/AC, a give-tokens + data SPDU pair
    with a presentation PPDU, or an MMS PDU straight on COTP."""
    if len(data) < 7 or data[0] != 3 or data[1] != 0:
        return False
    li = data[4]
    code = data[5] >> 4
    length = data[2] << 8 | data[3]
    if code == COTP_CR:
        # never claim what the S7 probe claims (S7 TSAP conventions), whatever the order
        return li >= 6 and length == 5 + li and len(data) >= length and not s7_probe(
            data, from_client)
    if code != COTP_DT:
        return False
    pos = 5 + li
    if pos + 2 > len(data):
        return False
    first = data[pos]
    if first in _SESSION_CONNECT:
        return True
    if first in (1, 2) and data[pos + 1] < 0xFF:
        # GT/PT (then the DT SPDU), or a lone DT (then the PPDU: User-data tags 0x61 / 0x40)
        nxt = pos + 2 + data[pos + 1]
        return nxt < len(data) and (data[nxt] == 1 or (first == 1 and data[nxt] in (0x61,
                                                                                    0x40)))
    return is_mms_tag(first) and 0 < data[pos + 1] < 0x84


ANOMALIES: dict[str, str] = {
    **TPKT_ANOMALIES,
    **COTP_ANOMALIES,
    "mms.invalid_frame_size": "TPKT length outside the engine's frame limits",
    "mms.buffer_overflow": "undecoded stream bytes beyond the stream buffer limit, dropped",
    "mms.bad_session": "ISO 8327 SPDU malformed: length overruns the TSDU, parameter overruns "
                       "the SPDU, or an SPDU type not used under MMS",
    "mms.bad_presentation": "ISO 8823 PPDU malformed: CP/CPA not a SET, bad context "
                            "definition, User-data or PDV-list of the wrong type",
    "mms.bad_acse": "ISO 8650 ACSE APDU malformed: unknown APDU tag, bad AP title, "
                    "user-information that is not EXTERNAL",
    "mms.bad_pdu": "MMS PDU malformed: unknown PDU tag, missing invoke id, service or "
                   "mandatory member, wrong BER form (ISO 9506-2 s.7)",
    "mms.bad_data": "MMS Data value malformed: unknown alternative, wrong size for "
                    "boolean / floating-point / utc-time / binary-time",
    "mms.ber_truncated": "BER tag, length or value runs past its container",
    "mms.ber_bad_length": "BER length form not allowed (indefinite on a primitive, over 4 "
                          "length octets)",
    "mms.ber_bad_tag": "BER tag number longer than 4 octets",
    "mms.ber_bad_integer": "BER INTEGER with no content or more than 16 octets",
    "mms.ber_bad_bitstring": "BER BIT STRING with an impossible unused-bits count",
    "mms.ber_bad_oid": "BER OBJECT IDENTIFIER empty or with an unterminated sub-identifier",
    "mms.ber_too_deep": "BER indefinite lengths nested too deeply",
    "mms.unknown_service": "confirmed or unconfirmed service tag not defined by ISO 9506-2",
    "mms.unknown_context": "PDV with a presentation context id the CP PPDU did not propose "
                           "(reported once per flow)",
    "mms.too_many_pending": "more requests unanswered than max_pending_requests; the oldest "
                            "is reported unanswered",
    "mms.unanswered_request": "a request (confirmed service, initiate, conclude, cancel) got no "
                              "response: invoke id reused or flow ended",
    "mms.unmatched_response": "a confirmed response / error whose request was not seen",
    "mms.service_mismatch": "a confirmed response names another service than its request",
    "mms.confirmed_error": "a confirmed-, initiate-, conclude- or cancel-error PDU: the server "
                           "refused a service (error class and code in the detail)",
    "mms.rejected": "a reject PDU: the peer found a protocol error in an MMS PDU",
    "mms.association_rejected": "the association was refused (session RF, or ACSE AARE result "
                                "other than accepted)",
}

SPEC = ProtocolSpec(
    name="mms",
    title="IEC 61850 MMS (ISO 9506) over ISO-on-TCP",
    session_factory=MmsSession,
    tcp_ports=frozenset({102}),
    probe=probe,
    frame_size=frame_size,
    event_types=(MmsEvent, MmsReportEvent, CotpEvent),
    anomaly_codes=ANOMALIES,
)

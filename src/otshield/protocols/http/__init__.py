"""HTTP/1.0 and HTTP/1.1 (RFC 9110, RFC 9112; HTTP/0.9 simple requests): one event per
request/response transaction, with pipelining, chunked and length-delimited bodies hashed
(MD5, SHA-1, SHA-256) as they pass without buffering, the request header fields not broken out
kept as a bounded list, and credentials reduced to scheme and user name."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.http.constants import HTTP_PORTS
from otshield.protocols.http.events import HttpEvent
from otshield.protocols.http.parser import probe
from otshield.protocols.http.session import HttpSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return HttpSession(flow)


SPEC = ProtocolSpec(
    name="http",
    title="Hypertext Transfer Protocol 1.x",
    session_factory=_session,
    tcp_ports=HTTP_PORTS,
    probe=probe,
    frame_size=None,  # a text protocol: the session takes the stream
    event_types=(HttpEvent,),
    anomaly_codes={
        "http.invalid_request_line": "a request line that is not 'method target HTTP/x.y'; "
                                     "the client direction is not read further",
        "http.invalid_status_line": "a status line that is not 'HTTP/x.y nnn reason'; the "
                                    "server direction is not read further",
        "http.invalid_header": "a header line without a colon, or with a bad name (whitespace "
                               "before the colon is a smuggling vector)",
        "http.obsolete_line_folding": "a header continuation line (obs-fold, RFC 9112 5.2)",
        "http.too_many_headers": "more than 256 header fields in one message",
        "http.header_too_long": "a head (or trailer) without its end within 64 KiB",
        "http.invalid_content_length": "a Content-Length that is not a number, or several "
                                       "that differ (request smuggling)",
        "http.content_length_with_chunked": "both Transfer-Encoding and Content-Length "
                                            "(request smuggling)",
        "http.invalid_transfer_encoding": "a request whose Transfer-Encoding does not end "
                                          "in chunked",
        "http.invalid_chunk": "a bad chunk-size line or chunk terminator",
        "http.invalid_authorization": "Basic credentials that are not base64 'user:password'",
        "http.unanswered_request": "a request still without a response when the connection "
                                   "ended",
        "http.unsolicited_response": "a response with no request waiting (reported once per "
                                     "connection)",
        "http.too_many_pending": "more requests waiting than max_pending_requests; the oldest "
                                 "is reported unanswered",
    },
)

"""Pure decoders of OPC UA service bodies (OPC 10000-4 section 5, encoded per OPC 10000-6 5.2).

A body is the encodeable object node id of its type (Part 6, 5.2.2.15: the
``<Type>_Encoding_DefaultBinary`` id), then the RequestHeader (Part 4, 7.28) or ResponseHeader
(7.29), then the service's own fields. :func:`decode_body` returns a :class:`Body` with what was
read; a fault inside the service fields is kept in ``Body.error`` so the header still counts.
"""

from __future__ import annotations

import hashlib

from otshield.errors import Malformed
from otshield.protocols.opcua import discovery, nodes, subscriptions
from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.body import (
    MAX_ITEMS,
    Body,
    Decoder,
    ReadSpec,
)
from otshield.protocols.opcua.constants import (
    BUILD_INFO_FIELDS,
    SERVICES,
)
from otshield.protocols.opcua.events import OpcuaBuildInfo

__all__ = ["MAX_ITEMS", "Body", "build_info_from", "decode_body", "decode_build_info",
           "decode_server_status", "looks_plain"]

_SERVER_STATES = ("Running", "Failed", "NoConfiguration", "Suspended", "Shutdown", "Test",
                  "CommunicationFault", "Unknown")

_TOKEN_DIGESTS: dict[str, str] = {}
"""Digests of the session tokens seen lately (every request of a session repeats its token)."""


def decode_body(buf: bytes, pos: int) -> Body:
    """Decode the service body starting at ``pos``.

    Raises ``opcua.unknown_service`` when the type id is not a standard service message and
    ``opcua.bad_encoding`` when even the type id or the header cannot be read."""
    r = Reader(buf, pos)
    ns, numeric, text = r.numeric_node_id()
    known = SERVICES.get(numeric) if ns == 0 and numeric is not None else None
    if known is None:
        raise Malformed("opcua.unknown_service", f"body type {text} is not a service message")
    name, is_request = known
    body = Body(name, text, is_request)
    if is_request:
        _request_header(r, body)
        decoder = _REQUESTS.get(name)
    else:
        _response_header(r, body)
        decoder = _RESPONSES.get(name)
    if decoder is not None:
        try:
            decoder(r, body)
        except Malformed as m:
            body.error = m
    return body


def looks_plain(buf: bytes, pos: int) -> bool:
    """Does a body at ``pos`` start with the type id of a standard service message (an
    unencrypted body) rather than ciphertext?"""
    r = Reader(buf, pos)
    try:
        ns, numeric, _text = r.numeric_node_id()
    except Malformed:
        return False
    return ns == 0 and numeric in SERVICES


def _request_header(r: Reader, b: Body) -> None:
    token = r.node_id()
    if token != "i=0":
        # The token is a secret that grants the session: keep only a digest to link requests.
        digest = _TOKEN_DIGESTS.get(token)
        if digest is None:
            if len(_TOKEN_DIGESTS) >= 1024:
                _TOKEN_DIGESTS.clear()
            digest = _TOKEN_DIGESTS[token] = hashlib.sha1(token.encode()).hexdigest()[:16]
        b.session_token_hash = digest
    b.timestamp = r.datetime()
    b.request_handle = r.u32()
    b.return_diagnostics = r.u32()
    b.audit_entry_id = r.string()
    b.timeout_hint = r.u32()
    r.extension_object()


def _response_header(r: Reader, b: Body) -> None:
    b.timestamp = r.datetime()
    b.request_handle = r.u32()
    b.service_result = r.status_code()
    b.diagnostics = r.diagnostic_info()
    r.strings("StringTable", 0)
    r.extension_object()


# -- BuildInfo (Part 5, 12.4 and 12.10) ------------------------------------------------------------

def decode_build_info(r: Reader, state: str | None = None,
                      start: str | None = None) -> OpcuaBuildInfo:
    return OpcuaBuildInfo(product_uri=r.string(), manufacturer=r.string(),
                          product_name=r.string(), software_version=r.string(),
                          build_number=r.string(), build_date=r.datetime(),
                          server_state=state, start_time=start)


def decode_server_status(r: Reader) -> OpcuaBuildInfo:
    """ServerStatusDataType: StartTime, CurrentTime, State, BuildInfo, ..."""
    start = r.datetime()
    r.datetime()  # CurrentTime
    state = r.u32()
    name = _SERVER_STATES[state] if state < len(_SERVER_STATES) else str(state)
    return decode_build_info(r, name, start)


def build_info_from(specs: list[ReadSpec], body: Body) -> OpcuaBuildInfo | None:
    """BuildInfo from a Read of ServerStatus (2256), BuildInfo (2260) or its variables."""
    values = body.data_values or []
    found: dict[str, str] = {}
    info: OpcuaBuildInfo | None = None
    for i, (node, attribute, _range) in enumerate(specs):
        if attribute != 13 or i >= len(values) or not node.startswith("i="):
            continue
        key = BUILD_INFO_FIELDS.get(int(node[2:]))
        v = values[i].value
        if key is not None and v is not None and isinstance(v.value, str):
            found[key] = v.value
    for i, raw in body.build_sources or ():
        if raw is None or i >= len(specs):
            continue
        node = specs[i][0]
        try:
            if node == "i=2256":
                info = decode_server_status(Reader(raw))
            elif node == "i=2260":
                info = decode_build_info(Reader(raw))
        except Malformed:
            continue
    if not found:
        return info
    base = info or OpcuaBuildInfo()
    return OpcuaBuildInfo(
        product_uri=found.get("product_uri", base.product_uri),
        manufacturer=found.get("manufacturer", base.manufacturer),
        product_name=found.get("product_name", base.product_name),
        software_version=found.get("software_version", base.software_version),
        build_number=found.get("build_number", base.build_number),
        build_date=found.get("build_date", base.build_date),
        server_state=base.server_state, start_time=base.start_time)


_REQUESTS: dict[str, Decoder] = {**discovery.REQUESTS, **nodes.REQUESTS,
                                 **subscriptions.REQUESTS}
_RESPONSES: dict[str, Decoder] = {**discovery.RESPONSES, **nodes.RESPONSES,
                                  **subscriptions.RESPONSES}

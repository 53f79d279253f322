"""Records a session keeps between a request and its reply, and the CIP event built from
them."""

from __future__ import annotations

from otshield.events import CommonFields
from otshield.protocols.enip.cip import CipResponse, display_name, function_of
from otshield.protocols.enip.constants import CIP_CLASSES, CIP_GENERAL_STATUS, CM_EXTENDED_STATUS
from otshield.protocols.enip.encap import EncapHeader
from otshield.protocols.enip.events import CipEvent
from otshield.protocols.enip.pccc import pccc_function
from otshield.protocols.enip.services import Detail
from otshield.protocols.enip.transaction import Node

__all__ = ["CipTransaction", "EarlyReply", "EncapRequest", "ReplyInfo", "cip_event"]


class EncapRequest:
    """A pending encapsulation request."""

    __slots__ = (
        "command",
        "context",
        "frame",
        "from_client",
        "options",
        "session",
        "ts",
        "version",
    )

    def __init__(self, hdr: EncapHeader, ts: float, frame: int, from_client: bool) -> None:
        self.command = hdr.command
        self.session = hdr.session
        self.context = hdr.context
        self.ts = ts
        self.frame = frame
        self.from_client = from_client
        self.version: int | None = None
        self.options: int | None = None


class CipTransaction:
    """A pending CIP transaction: where the request came from and its request tree."""

    __slots__ = (
        "command",
        "conn_id",
        "context",
        "frame",
        "from_client",
        "node",
        "seq",
        "session",
        "sockets",
        "ts",
    )

    def __init__(self, command: str, session: int, context: str | None, conn_id: int | None,
                 seq: int | None, node: Node, ts: float, frame: int, from_client: bool) -> None:
        self.sockets: dict[int, str] | None = None  # socket address items: type id -> ip:port
        self.command = command
        self.session = session
        self.context = context
        self.conn_id = conn_id
        self.seq = seq
        self.node = node
        self.ts = ts
        self.frame = frame
        self.from_client = from_client


class ReplyInfo:
    """What the reply adds to every event of a transaction."""

    __slots__ = ("enip_status", "sockets", "ts")

    def __init__(self, enip_status: int | None, ts: float,
                 sockets: dict[int, str] | None = None) -> None:
        self.enip_status = enip_status
        self.ts = ts
        self.sockets = sockets


class EarlyReply:
    """A CIP reply that arrived before (or without) its request."""

    __slots__ = ("command", "conn_id", "context", "frame", "from_client", "message", "reply",
                 "seq", "session", "ts")

    def __init__(self, command: str, session: int, context: str | None, conn_id: int | None,
                 seq: int | None, message: bytes, reply: ReplyInfo, frame: int,
                 from_client: bool) -> None:
        self.command = command
        self.session = session
        self.context = context
        self.conn_id = conn_id
        self.seq = seq
        self.message = message
        self.reply = reply
        self.ts = reply.ts
        self.frame = frame
        self.from_client = from_client


def cip_event(fields: CommonFields, tx: CipTransaction, node: Node, detail: Detail,
              resp: CipResponse | None, reply: ReplyInfo | None, answered: bool,
              route: str | None, ucs: bool, index: int | None, reply_service: int | None,
              orphan: bool) -> CipEvent:
    """The event of one node of a transaction's request tree."""
    path = node.path
    class_id = path.class_id
    name = node.name
    pccc = detail.pccc
    function = (pccc_function(pccc.command, pccc.function_code) if pccc is not None
                else function_of(name, class_id))
    status = resp.status if resp is not None else None
    extended = list(resp.extended) if resp is not None and resp.extended else None
    # general status 0x01 (connection failure) always carries a Connection Manager code
    ext_name = CM_EXTENDED_STATUS.get(extended[0]) if extended and status == 0x01 else None
    return CipEvent(
        **fields, service=node.service,
        service_name=display_name(node.service, name), function_class=function,
        answered=answered, class_id=class_id,
        class_name=CIP_CLASSES.get(class_id) if class_id is not None else None,
        instance=path.instance, attribute=path.attribute, member=path.member,
        symbol=path.symbol, path=path.text or None, unconnected_send=ucs, route_path=route,
        multiple_index=index,
        embedded_services=node.declared if node.service == 0x0A and node.children is not None
        else None,
        status=status,
        status_name=CIP_GENERAL_STATUS.get(status) if status is not None else None,
        extended_status=extended, extended_status_name=ext_name,
        reply_service=reply_service, request_missing=orphan, enip_command=tx.command,
        session_handle=tx.session,
        enip_status=reply.enip_status if reply is not None else None,
        sender_context=tx.context, connection_id=tx.conn_id, sequence=tx.seq,
        request_size=node.size,
        response_size=len(resp.data) if resp is not None else None,
        response_time=(reply.ts - tx.ts) if reply is not None and not orphan
        and reply.ts >= tx.ts else None,
        attributes=detail.attributes, attribute_count=detail.attribute_count,
        data_type=detail.data_type, data_type_name=detail.data_type_name,
        elements=detail.elements, offset=detail.offset, value=detail.value,
        identity=detail.identity, connection=detail.connection, pccc=pccc)

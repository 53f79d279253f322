"""A CIP request as a tree: Unconnected_Send is unwrapped into the request it carries, and a
Multiple_Service_Packet holds one child per embedded service. The session pairs the tree with
the reply and turns every node into an event.

Nothing here raises: a part that cannot be decoded becomes a placeholder node carrying the
anomaly, so that the positions of embedded requests and replies still line up.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.enip.cip import (
    CipRequest,
    is_reserved_service,
    parse_request,
    parse_response,
    service_name,
)
from otshield.protocols.enip.epath import PathInfo
from otshield.protocols.enip.services import (
    Detail,
    decode_request,
    split_multiple,
    unwrap_unconnected_send,
)

__all__ = ["MAX_DEPTH", "Node", "build_orphan", "build_request"]

MAX_DEPTH = 3
"""Nesting of Unconnected_Send / Multiple_Service_Packet that is followed (real traffic uses
two levels at most: an Unconnected_Send carrying a Multiple_Service_Packet)."""

_NO_PATH = PathInfo()


class Node:
    """One CIP request (or, for an orphan reply, what the reply tells of it)."""

    __slots__ = ("children", "declared", "detail", "errors", "name", "path", "route", "service",
                 "size", "ucs")

    def __init__(self, service: int, path: PathInfo, name: str | None, size: int | None,
                 detail: Detail) -> None:
        self.service = service
        self.path = path
        self.name = name
        self.size = size
        self.detail = detail
        self.children: list[Node] | None = None
        self.declared = 0  # service count a Multiple_Service_Packet declares
        self.route: str | None = None
        self.ucs = False
        self.errors: list[tuple[str, str]] = detail.errors

    @property
    def class_id(self) -> int | None:
        return self.path.class_id


def _placeholder(msg: bytes, code: str, detail: str) -> Node:
    service = msg[0] & 0x7F if msg else 0
    node = Node(service, _NO_PATH, None, None, Detail())
    node.errors.append((code, detail))
    return node


def build_request(msg: bytes, depth: int = 0) -> Node:
    """The request tree of one Message Router request."""
    try:
        req = parse_request(msg)
    except Malformed as m:
        return _placeholder(msg, m.code, m.detail)
    if req.service == 0x52 and req.path.class_id == 0x06 and depth < MAX_DEPTH:
        return _unconnected_send(req, depth)
    path = req.path
    name = service_name(req.service, path.class_id, path.symbol is not None)
    node = Node(req.service, path, name, len(req.data),
                decode_request(name, path.class_id, req.data))
    if req.path_error is not None:
        node.errors.append(("cip.bad_path", req.path_error))
    if name is None and is_reserved_service(req.service):
        node.errors.append(("cip.unknown_service",
                            f"service 0x{req.service:02x} is in a reserved range"))
    if req.service == 0x0A and depth < MAX_DEPTH:
        try:
            messages, node.declared = split_multiple(req.data)
        except Malformed as m:
            node.errors.append((m.code, m.detail))
        else:
            node.children = [build_request(sub, depth + 1) for sub in messages]
            if node.declared > len(messages):
                node.errors.append(("cip.too_many_services",
                                    f"{node.declared} services, the first {len(messages)} "
                                    "decoded"))
    return node


def _unconnected_send(req: CipRequest, depth: int) -> Node:
    try:
        _timeout, embedded, route, route_error = unwrap_unconnected_send(req.data)
    except Malformed as m:
        node = Node(req.service, req.path, "Unconnected_Send", len(req.data), Detail())
        node.errors.append((m.code, m.detail))
        return node
    inner = build_request(embedded, depth + 1)
    inner.ucs = True
    if route is not None:
        inner.route = route.route or route.text
    if route_error is not None:
        inner.errors.append(("cip.bad_unconnected_send", route_error))
    return inner


def build_orphan(msg: bytes, depth: int = 0) -> Node:
    """What a reply without a request tells of the request: its service (and, for a
    Multiple_Service_Packet, the embedded replies' services)."""
    try:
        resp = parse_response(msg)
    except Malformed as m:
        return _placeholder(msg, m.code, m.detail)
    node = Node(resp.service, _NO_PATH, service_name(resp.service, None, False), None, Detail())
    if resp.service == 0x0A and depth < MAX_DEPTH and resp.data:
        try:
            messages, node.declared = split_multiple(resp.data)
        except Malformed:
            return node  # reported when the reply itself is decoded
        node.children = [build_orphan(sub, depth + 1) for sub in messages]
    return node

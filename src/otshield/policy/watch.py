"""Flows as the zone policy sees them: client, server, server port, protocol, and the function
classes the client asks for. Shared by the detector (which judges each flow) and by
``policy propose`` (which records them), so a proposed policy is judged by exactly the rules
it was written from.

A flow is decided once, on its first decoded event (protocol events arrive while the flow is
open) or, when nothing was decoded on it, on its flow record (which arrives at its end).
Orientation: most decoders report a transaction with the requester as source; DNP3 and
IEC 104 report each message, so a message leaving the protocol's server port is read as
travelling to the client. A flow record's source is the client the flow table found.

Not placed in zones: link-layer frames (no addresses), link-local, loopback and unspecified
sources. Multicast and limited-broadcast destinations stay on the sender's segment and take
the sender's zone; so does an IPv4 destination ending in ``.255`` that no zone holds (a
directed broadcast).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from otshield.detect.context import AssetContext
from otshield.events import Event, FlowEvent
from otshield.inventory.site import SiteZone

__all__ = ["FlowState", "FlowWatcher", "ProtocolIndex", "endpoint_zones", "flow_label", "scope"]

_MAX_FLOWS = 1 << 20
"""Open flows remembered. Flows leave when their record arrives, so this is the engine's own
flow bound plus slack; past it the memory is cleared and flows still open are decided again
at their end (counted twice, never missed)."""


class FlowState:
    """What a flow was decided to be. Requests are checked when ``functions`` is not None
    and come from ``client``; a class outside ``functions`` goes to the watcher."""

    __slots__ = ("client", "conduits", "functions", "protocol", "record", "zones")

    def __init__(self, client: str, functions: frozenset[str] | None,
                 zones: tuple[str, str] = ("", ""), conduits: tuple[str, ...] = (),
                 protocol: str = "", record: Any = None) -> None:
        self.client = client
        self.functions = functions
        self.zones = zones
        self.conduits = conduits
        self.protocol = protocol
        self.record = record


UNCHECKED = FlowState("", None)


class ProtocolIndex:
    """Dataset -> decoder name, decoder -> server ports, port -> decoders (the registry)."""

    def __init__(self) -> None:
        from otshield.protocols.registry import load_registry

        owners: dict[str, set[str]] = {}
        self.ports: dict[str, frozenset[int]] = {}
        self.tcp: dict[int, set[str]] = {}
        self.udp: dict[int, set[str]] = {}
        for spec in load_registry().specs:
            self.ports[spec.name] = spec.tcp_ports | spec.udp_ports
            for cls in spec.event_types:
                owners.setdefault(str(cls.__struct_config__.tag), set()).add(spec.name)
            for port in spec.tcp_ports:
                self.tcp.setdefault(port, set()).add(spec.name)
            for port in spec.udp_ports:
                self.udp.setdefault(port, set()).add(spec.name)
        # a dataset two decoders emit (COTP under S7comm and MMS) names no protocol
        self.of_tag = {tag: next(iter(names)) for tag, names in owners.items()
                       if len(names) == 1}

    def by_port(self, transport: str, port: int) -> frozenset[str]:
        table = self.tcp if transport == "tcp" else self.udp if transport == "udp" else {}
        return frozenset(table.get(port, ()))


@lru_cache(maxsize=1 << 16)
def scope(ip: str) -> str:
    """``unicast``, ``group`` (multicast, limited broadcast), ``local`` (link-local,
    unspecified, loopback) or ``bad``."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "bad"
    if addr.is_multicast or ip == "255.255.255.255":
        return "group"
    if addr.is_link_local or addr.is_unspecified or addr.is_loopback:
        return "local"
    return "unicast"


def endpoint_zones(zones: AssetContext, client: str, server: str, vlan: int | None
                   ) -> tuple[SiteZone | None, SiteZone | None] | None:
    """The client's and the server's zone (None: in no zone); None when the flow is not
    placed at all (local source, malformed address)."""
    if scope(client) != "unicast":
        return None
    czone = zones.zone(client, vlan)
    sscope = scope(server)
    if sscope == "group":
        return czone, czone
    if sscope != "unicast":
        return None
    szone = zones.zone(server, vlan)
    if szone is None and server.endswith(".255") and "." in server:
        szone = czone
    return czone, szone


def flow_label(proto: str, transport: str, port: int) -> str:
    """How a flow's protocol is named in a policy: the decoder, else ``tcp/PORT``, else the
    IP protocol (``icmp``, ``gre``)."""
    if proto:
        return proto
    if transport in ("tcp", "udp", "sctp"):
        return f"{transport}/{port}"
    return "icmp" if transport == "ipv6-icmp" else transport


class FlowWatcher:
    """Event dispatch shared by the detector and the proposer. Subclasses implement
    :meth:`decide` (a new flow) and :meth:`on_function` (a request whose class is outside
    the flow's ``functions``)."""

    def __init__(self) -> None:
        self.protocols = ProtocolIndex()
        self._handlers: dict[type[Event], Callable[[Any], None]] = {}
        self._flows: dict[Any, FlowState] = {}
        self.flows_checked = 0
        self.messages_checked = 0
        self.memory_resets = 0

    def decide(self, event: Event, client: str, server: str, port: int, transport: str,
               protos: frozenset[str], label: str) -> FlowState:
        raise NotImplementedError

    def on_function(self, event: Any, state: FlowState, function_class: str) -> None:
        raise NotImplementedError

    def observe(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            handler = self._handlers[type(event)] = self._handler_for(type(event))
        handler(event)

    def finish(self) -> None:
        """Nothing is pending: every decision is taken when its event arrives."""
        self._flows.clear()

    def _handler_for(self, cls: type[Event]) -> Callable[[Any], None]:
        if cls is FlowEvent:
            return self._flow
        spec = self.protocols.of_tag.get(str(cls.__struct_config__.tag))
        if spec is None:
            return _ignore
        ports = self.protocols.ports.get(spec, frozenset())
        protos = frozenset({spec})
        has_class = "function_class" in cls.__struct_fields__
        flows = self._flows

        def handle(event: Any) -> None:
            fid = event.flow_id or (event.src_ip, event.src_port, event.dst_ip, event.dst_port)
            state = flows.get(fid)
            if state is None:
                if not event.src_ip or not event.dst_ip:
                    return  # link-layer frame: no addresses to place in zones
                if event.src_port in ports and event.dst_port not in ports:
                    client, server, port = event.dst_ip, event.src_ip, event.src_port
                else:
                    client, server, port = event.src_ip, event.dst_ip, event.dst_port
                self.flows_checked += 1
                state = self.decide(event, client, server, port, event.transport, protos,
                                    spec)
                if len(flows) >= _MAX_FLOWS:
                    flows.clear()
                    self.memory_resets += 1
                flows[fid] = state
            if has_class and state.functions is not None and event.src_ip == state.client:
                self.messages_checked += 1
                function_class = event.function_class
                if function_class and function_class not in state.functions:
                    self.on_function(event, state, function_class)
        return handle

    def _flow(self, f: FlowEvent) -> None:
        fid = f.flow_id or (f.src_ip, f.src_port, f.dst_ip, f.dst_port)
        if self._flows.pop(fid, None) is not None:
            return  # decided on its first message
        if not f.src_ip or not f.dst_ip:
            return
        proto = f.protocol
        if proto and not proto.startswith("guess:"):
            protos = frozenset({proto})
        else:  # nothing decoded: the decoders that claim the server port are the candidates
            protos = self.protocols.by_port(f.transport, f.dst_port)
            proto = ""
        self.flows_checked += 1
        self.decide(f, f.src_ip, f.dst_ip, f.dst_port, f.transport, protos,
                    flow_label(proto, f.transport, f.dst_port))


def _ignore(event: Any) -> None:
    return None

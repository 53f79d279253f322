"""Passive asset discovery: an event consumer that turns flows, ARP and decoded messages into
assets, identity facts, roles with evidence, and conduits.

Plug it in as one more sink of the engine (``Engine(fanout([writer, builder]))``); it keeps
per-address state only, so its memory follows the number of devices, not the capture length.
:meth:`InventoryBuilder.snapshot` turns the state into records (with Purdue levels and zones,
see :mod:`otshield.inventory.levels`).

Addresses and devices: an IP-speaking device is keyed by its IP address. A MAC seen with one or
a few IPs is that device's interface; a MAC behind which many IPs appear in routed traffic is a
router or gateway, becomes a network-device asset of its own, and is not glued to the IPs it
forwards for. IPs that share one (non-gateway) MAC are merged into one asset (a multi-homed
device); one IP seen with several MACs keeps them all, and a new MAC for a known IP is a
``mac_changed`` event. Devices seen only at layer 2 (GOOSE publishers, PROFINET devices) are
keyed by MAC.

Changes (new asset, changed identity, changed MAC, new role) are reported as
:class:`~otshield.inventory.model.AssetEvent` through ``emit`` at the packet time they happen, so
the detection engine can alert on them.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import Any

from otshield.events import ArpEvent, Event, FlowEvent
from otshield.inventory.advisories import Advisory
from otshield.inventory.facts import (
    EXTRACTOR_INPUTS,
    EXTRACTOR_NEEDS,
    EXTRACTORS,
    Observation,
    with_vlan,
)
from otshield.inventory.model import AssetEvent, InventorySnapshot, RoleRecord
from otshield.inventory.oui import mac_vendor
from otshield.inventory.roles import (
    CONTROL_SERVICES,
    ENGINEERING_CLASSES,
    GATEWAY_MIN_IPS,
    HISTORIAN_PORTS,
    HMI_MIN_CONTROLLERS,
    HMI_MIN_READS,
    IT_SERVICES,
    OT_SERVER_SERVICES,
)
from otshield.inventory.site import LoadedSite

__all__ = ["IDENTITY_FACTS", "Conduit", "Host", "InventoryBuilder"]
IDENTITY_FACTS = frozenset({"vendor", "product", "model", "firmware", "serial", "order_number",
                            "product_code", "device_type", "os"})
"""Facts whose change for one asset means the device was replaced, reflashed or spoofed."""
_MAX_EVIDENCE = 5  # evidence lines kept per role
_MAX_PEERS = 4096  # peers remembered per host for role thresholds
_MAX_PAIRS = 65536  # remembered (src, dst, ports, dataset) of OT messages, for the fast path
_MAX_SEEN = 262144  # remembered observations, for the fast path
_BATCH = 4096  # events handled together (see InventoryBuilder.__call__)
_BATCH_SECONDS = 1.0  # ... or this much packet time, so that change events stay timely

Emit = Callable[[Event], None]


class Host:
    """What is known about one address while the capture is read."""

    __slots__ = ("bytes", "classes_sent", "facts", "first_seen", "ips", "key",
                 "last_seen", "macs", "packets", "polled", "polled_all", "reads", "roles",
                 "served", "used", "vlans")

    def __init__(self, key: str, ts: float) -> None:
        self.key = key
        self.ips: dict[str, list[float]] = {}
        self.macs: dict[str, list[Any]] = {}
        """MAC -> [first, last, source] (source ``arp`` is authoritative, ``flow`` is not)."""
        self.facts: dict[tuple[str, str, str], list[float]] = {}
        """(name, value, source) -> [first, last, frame, count]."""
        self.served: Counter[str] = Counter()
        self.used: Counter[str] = Counter()
        self.polled: dict[str, set[str]] = {}
        """Protocol -> servers this host was a client of (control protocols)."""
        self.polled_all: set[str] = set()
        self.reads = 0
        self.classes_sent: Counter[str] = Counter()
        self.roles: dict[str, RoleRecord] = {}
        self.vlans: set[int] = set()
        self.first_seen = ts
        self.last_seen = ts
        self.packets = 0
        self.bytes = 0


class Conduit:
    """Accumulated traffic between a client and a server on one protocol."""

    __slots__ = ("bytes", "classes", "first_seen", "flows", "last_seen", "packets", "port",
                 "transport")

    def __init__(self, transport: str, port: int, ts: float) -> None:
        self.transport = transport
        self.port = port
        self.flows = 0
        self.packets = 0
        self.bytes = 0
        self.classes: Counter[str] = Counter()
        self.first_seen = ts
        self.last_seen = ts


_ANSWERED_TRANSPORTS = frozenset({"icmp", "ipv6-icmp"})
"""Transports whose flows show a host only when it answered (an echo request alone does not)."""


@lru_cache(maxsize=1 << 16)
def _unicast_ip(ip: str) -> bool:
    if not ip or ip in ("0.0.0.0", "::", "255.255.255.255"):
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (addr.is_multicast or addr.is_unspecified or (
        addr.version == 4 and ip.endswith(".255")))


class InventoryBuilder:
    """Event sink building the inventory. ``emit`` receives the change events."""

    def __init__(self, emit: Emit | None = None, base: InventorySnapshot | None = None,
                 server_ports: dict[str, frozenset[int]] | None = None) -> None:
        self.emit = emit
        """Receives the change events (AssetEvent); may be set after construction."""
        self._ports = server_ports if server_ports is not None else _registry_ports()
        self.hosts: dict[str, Host] = {}
        self.conduits: dict[tuple[str, str, str], Conduit] = {}
        self.mac_ips: dict[str, set[str]] = {}
        """MAC -> IPs seen behind it in flows (for router detection)."""
        self.arp_pairs: set[tuple[str, str]] = set()
        self.mac_owner: dict[str, str] = {}
        """MAC -> key of the IP host it belongs to (router MACs excluded)."""
        self.generation = 0
        """Bumped whenever what :meth:`AssetContext.roles` reads changes (a host, a role, a MAC
        owner is added), so per-address answers can be cached until then."""
        self.overrides: dict[str, dict[str, str]] = {}
        self.captures: list[str] = []
        self._handlers: dict[type[Event], Callable[[Any], None]] = {}
        self._batch: list[Event] = []
        self._seen: dict[tuple[str, str, str, str, str], list[float]] = {}
        """Observation -> its fact row, so a fact repeated by every message costs one lookup."""
        self._pairs: dict[tuple[Any, ...], tuple[Host, Conduit | None, bool]] = {}
        """(flow id, src port, dataset) -> client, conduit, from the server? (the addresses
        stand in for the flow id of events without one)"""
        if base is not None:
            from otshield.inventory.persist import restore

            restore(self, base)
            self.generation += 1

    # -- the sink --------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        """Take an event. Events are handled in batches (at most ``_BATCH`` events or
        ``_BATCH_SECONDS`` of packet time): interleaved one by one with the decoders, the
        builder's code and data are evicted from the CPU caches every time, which measured
        three times its batched cost."""
        batch = self._batch
        batch.append(event)
        if len(batch) >= _BATCH or event.ts - batch[0].ts >= _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Handle the events taken so far (change events go out now)."""
        batch, self._batch = self._batch, []
        self.take(batch)

    def take(self, batch: list[Event]) -> None:
        """Handle ``batch`` now, after any events taken one by one (a caller that batches
        already, such as the detection pipeline, saves the second queue)."""
        if self._batch:
            self.flush()
        handlers = self._handlers
        for event in batch:
            cls = type(event)
            handler = handlers.get(cls)
            if handler is None:
                handler = handlers[cls] = self._handler_for(cls)
            handler(event)

    def _handler_for(self, cls: type[Event]) -> Callable[[Any], None]:
        if cls is FlowEvent:
            return self._flow
        if cls is ArpEvent:
            return self._arp
        tag = str(cls.__struct_config__.tag)
        extractor = EXTRACTORS.get(tag)
        has_class = "function_class" in cls.__struct_fields__
        if extractor is None and not has_class:
            return _ignore

        if extractor is not None:
            extractor = _fast_extractor(tag, extractor)
        seen = self._seen
        function = self._function

        def handle(event: Any) -> None:
            if extractor is not None:
                found = extractor(event)
                if found:
                    if getattr(event, "vlan", None) is not None:
                        found = with_vlan(event, found)
                    for obs in found:
                        row = seen.get(obs)
                        if row is not None:  # a fact seen before: only its time and count move
                            row[1] = event.ts
                            row[3] += 1
                        else:
                            kind, addr, name, value, source = obs
                            self.fact(kind, addr, name, value, source, event.ts, event.frame)
            if has_class:
                function(tag, event)
        return handle

    # -- hosts and facts -------------------------------------------------------------------------
    def host(self, key: str, ts: float, frame: int) -> Host:
        h = self.hosts.get(key)
        if h is None:
            h = self.hosts[key] = Host(key, ts)
            self.generation += 1
            kind, _, addr = key.partition(":")
            if kind == "ip":
                h.ips[addr] = [ts, ts]
            else:  # a device seen at layer 2 only: its MAC is its identity
                h.macs[addr] = [ts, ts, "frame"]
                vendor = mac_vendor(addr)
                if vendor:
                    h.facts[("vendor", vendor, "oui")] = [ts, ts, frame, 1]
            self.change(ts, frame, "new_asset", key, f"first seen: {addr}")
        return h

    def fact(self, kind: str, addr: str, name: str, value: str, source: str, ts: float,
             frame: int) -> None:
        if kind == "ip" and not _unicast_ip(addr):
            return
        if kind == "mac":
            if not _unicast_mac(addr):
                return
            host_key = self.mac_owner.get(addr, f"mac:{addr}")
        else:
            host_key = f"ip:{addr}"
        h = self.host(host_key, ts, frame)
        if name.startswith("role:"):
            self.role(h, name[5:], value, ts, frame)
            return
        if name == "vlan":
            if len(h.vlans) < 64:
                h.vlans.add(int(value))
            return
        key = (name, value, source)
        row = h.facts.get(key)
        if row is not None:
            row[1] = ts
            row[3] += 1
            return
        if name in IDENTITY_FACTS:
            old = [v for (n, v, s) in h.facts if n == name and s == source and v != value]
            if old:
                self.change(ts, frame, "identity_changed", h.key,
                            f"{name} changed from {old[-1]!r} to {value!r} ({source})",
                            field=name, old=old[-1], new=value)
        row = h.facts[key] = [ts, ts, frame, 1]
        if len(self._seen) < _MAX_SEEN:
            self._seen[(kind, addr, name, value, source)] = row
        if name == "mac_address":
            self._mac(h, addr, value.lower(), source, ts, frame)

    def role(self, h: Host, role: str, evidence: str, ts: float, frame: int) -> None:
        rec = h.roles.get(role)
        if rec is None:
            h.roles[role] = RoleRecord(role=role, source="inferred", evidence=[evidence], since=ts)
            self.generation += 1
            self.change(ts, frame, "new_role", h.key, f"{role}: {evidence}", field="role",
                        new=role)
        elif evidence not in rec.evidence and len(rec.evidence) < _MAX_EVIDENCE:
            rec.evidence.append(evidence)

    def change(self, ts: float, frame: int, change: str, asset: str, detail: str,
               field: str = "", old: str = "", new: str = "") -> None:
        if self.emit is not None:
            self.emit(AssetEvent(ts=ts, frame=frame, change=change, asset=asset, detail=detail,
                                  field=field, old=old, new=new))

    # -- layer 2 ---------------------------------------------------------------------------------
    def _mac(self, h: Host, ip: str, mac: str, source: str, ts: float, frame: int) -> None:
        if not _unicast_mac(mac):
            return
        row = h.macs.get(mac)
        if row is not None:
            row[1] = ts
            if source == "arp":
                row[2] = "arp"
            return
        if source != "arp":
            ips = self.mac_ips.setdefault(mac, set())
            if len(ips) < _MAX_PEERS:
                ips.add(ip)
            if len(ips) >= GATEWAY_MIN_IPS:
                return  # a router's MAC: the IPs behind it are not this interface
        if h.macs and source == "arp":
            self.change(ts, frame, "mac_changed", h.key,
                        f"{ip} now answers from {mac} (was {', '.join(h.macs)})",
                        field="mac", old=next(iter(h.macs)), new=mac)
        h.macs[mac] = [ts, ts, source]
        if h.key.startswith("ip:") and mac not in self.mac_owner:
            self.mac_owner[mac] = h.key
            self.generation += 1
        vendor = mac_vendor(mac)
        if vendor:
            key = ("vendor", vendor, "oui")
            if key not in h.facts:
                h.facts[key] = [ts, ts, frame, 1]

    def _arp(self, e: ArpEvent) -> None:
        if _unicast_ip(e.sender_ip) and e.sender_mac:
            self.arp_pairs.add((e.sender_ip, e.sender_mac))
            h = self.host(f"ip:{e.sender_ip}", e.ts, e.frame)
            h.last_seen = e.ts
            self._mac(h, e.sender_ip, e.sender_mac, "arp", e.ts, e.frame)

    # -- flows -----------------------------------------------------------------------------------
    def _flow_end(self, h: Host, ip: str, mac: str | None, packets: int, size: int,
                  f: FlowEvent) -> None:
        """Credit one end of flow ``f`` to host ``h`` (address ``ip``, ``mac`` if seen)."""
        ts = f.ts
        h.packets += packets
        h.bytes += size
        if ts > h.last_seen:
            h.last_seen = ts
        h.ips[ip][1] = h.last_seen
        if f.vlan is not None:
            h.vlans.add(f.vlan)
        if mac:
            row = h.macs.get(mac)  # known, nearly always: the method only for a new one
            if row is not None and _unicast_mac(mac):
                row[1] = ts
            else:
                self._mac(h, ip, mac, "flow", ts, f.frame)

    def _flow(self, f: FlowEvent) -> None:
        src_ip, dst_ip = f.src_ip, f.dst_ip
        if not _unicast_ip(src_ip) or not dst_ip:
            return
        # (known hosts and MACs, nearly every flow: looked up here, the methods only for new)
        hosts = self.hosts
        ts = f.ts
        key = f"ip:{src_ip}"
        client = hosts.get(key) or self.host(key, f.start, f.frame)
        to_server, to_client = f.packets_to_server, f.packets_to_client
        packets = to_server + to_client
        size = f.bytes_to_server + f.bytes_to_client
        self._flow_end(client, src_ip, f.src_mac, packets, size, f)
        proto = f.protocol.removeprefix("guess:") if f.protocol else ""
        name = proto or f"{f.transport}/{f.dst_port}"
        if not _unicast_ip(dst_ip):
            client.used[name] += 1  # broadcast and multicast: discovery, no server to credit
            return
        if not to_client and (f.state == "syn_sent" or f.transport in _ANSWERED_TRANSPORTS):
            # Nothing came back and the client never got past its SYN (or its ping): a probe
            # of an address, not a sign of a host. A sweep of a /16 made 65,536 assets.
            # (A reset or any other answer does show a host; so does a client that went on
            # to acknowledge, when the capture sees one direction only.)
            return
        key = f"ip:{dst_ip}"
        server = hosts.get(key) or self.host(key, f.start, f.frame)
        self._flow_end(server, dst_ip, f.dst_mac, packets, size, f)
        answered = to_client > 0
        ckey = (client.key, server.key, name)
        c = self.conduits.get(ckey)
        if c is None:
            c = self.conduits[ckey] = Conduit(f.transport, f.dst_port, f.start)
        c.flows += 1
        c.packets += packets
        c.bytes += size
        if ts > c.last_seen:
            c.last_seen = ts
        client.used[name] += 1
        if answered:
            server.served[name] += 1
        if not proto or not answered or f.protocol.startswith("guess:"):
            if answered and f.dst_port in HISTORIAN_PORTS and f.protocol.startswith("guess:"):
                self._historian_port(server, f)
            return
        self._flow_roles(proto, client, server, f)

    def _flow_roles(self, proto: str, client: Host, server: Host, f: FlowEvent) -> None:
        ts, frame = f.ts, f.frame
        if proto in CONTROL_SERVICES:
            if _room(server, "controller"):
                self.role(server, "controller", f"answers {proto} to {f.src_ip}", ts, frame)
            polled = client.polled.get(proto)
            if polled is None:
                polled = client.polled[proto] = set()
            if len(polled) < _MAX_PEERS and f.dst_ip not in polled:
                polled.add(f.dst_ip)
                client.polled_all.add(f.dst_ip)
                n = len(client.polled_all)
                if n >= HMI_MIN_CONTROLLERS and _room(client, "hmi"):
                    self.role(client, "hmi", f"polls {n} controllers", ts, frame)
        elif proto in OT_SERVER_SERVICES:
            if _room(server, "ot_server"):
                what = "OPC UA server" if proto == "opcua" else "MQTT broker"
                self.role(server, "ot_server", f"{what} for {f.src_ip}", ts, frame)
        elif proto in IT_SERVICES and _room(server, "it_server"):
            self.role(server, "it_server", f"{IT_SERVICES[proto]} for {f.src_ip}", ts, frame)

    def _historian_port(self, server: Host, f: FlowEvent) -> None:
        if any(server.polled.values()):
            self.role(server, "historian",
                      f"collects from controllers and serves {HISTORIAN_PORTS[f.dst_port]} "
                      f"to {f.src_ip}", f.ts, f.frame)

    # -- decoded OT messages ---------------------------------------------------------------------
    def _function(self, tag: str, e: Any) -> None:
        """An OT message with a function class: conduit classes and the client's roles.

        Most decoders emit one event per transaction with the requester as source; some emit
        one per message (DNP3, IEC 104), so a message from the server's well-known port is read
        as travelling to the client: it counts as data the client receives (reads), never as a
        command the server sent."""
        cls = e.function_class
        if not cls:
            return
        # Most messages repeat a known (client, server) pair: one lookup instead of the work.
        pair = (e.flow_id, e.src_port, tag) if e.flow_id else (e.src_ip, e.dst_ip, e.src_port,
                                                                  e.dst_port, tag)
        fast = self._pairs.get(pair)
        if fast is not None:
            client, conduit, from_server = fast
            if from_server and cls != "read":
                return
            if (cls == "read" and client.reads >= HMI_MIN_READS) or (
                    cls != "read" and cls not in ENGINEERING_CLASSES):
                client.classes_sent[cls] += 1  # all that _classes would do with it
            else:
                self._classes(client, tag, cls, e.src_ip if from_server else e.dst_ip, e)
            if conduit is not None:
                conduit.classes[cls] += 1
            return
        service = _service(tag)
        if not e.src_ip and not e.dst_ip:
            self._link_function(tag, e, cls)
            return
        ports = self._ports.get(service, ())
        from_server = e.src_port in ports and e.dst_port not in ports
        client_ip, server_ip = (e.dst_ip, e.src_ip) if from_server else (e.src_ip, e.dst_ip)
        if not _unicast_ip(client_ip):
            return
        client = self.host(f"ip:{client_ip}", e.ts, e.frame)
        c: Conduit | None = None
        if server_ip and _unicast_ip(server_ip):
            key = (client.key, f"ip:{server_ip}", service)
            c = self.conduits.get(key)
            if c is None:  # the flow record comes at the end of the flow: count now
                port = e.src_port if from_server else e.dst_port
                c = self.conduits[key] = Conduit(e.transport, port, e.ts)
        if len(self._pairs) < _MAX_PAIRS:
            self._pairs[pair] = (client, c, from_server)
        if from_server and cls != "read":
            return
        self._classes(client, tag, cls, server_ip, e)
        if c is not None:
            c.classes[cls] += 1

    def _link_function(self, tag: str, e: Any, cls: str) -> None:
        """A link-layer message (PROFINET DCP, POWERLINK NMT...): MAC to MAC."""
        src, dst = getattr(e, "src_mac", ""), getattr(e, "dst_mac", "")
        if not _unicast_mac(src):
            return
        if str(getattr(e, "service_type", "")).startswith("response") and getattr(
                e, "response_frame", None) is None:
            return  # an answer on its own (DCP identify): the device is not a client
        client = self.host(self.mac_owner.get(src, f"mac:{src}"), e.ts, e.frame)
        if getattr(e, "vlan", None) is not None:
            client.vlans.add(e.vlan)
        self._classes(client, tag, cls, dst, e)
        if _unicast_mac(dst):
            server = self.host(self.mac_owner.get(dst, f"mac:{dst}"), e.ts, e.frame)
            key = (client.key, server.key, _service(tag))
            c = self.conduits.get(key)
            if c is None:
                c = self.conduits[key] = Conduit("ethernet", 0, e.ts)
            c.classes[cls] += 1
            c.packets += 1
            c.last_seen = e.ts

    def _classes(self, client: Host, tag: str, cls: str, server: str, e: Any) -> None:
        """The client's function classes and the roles they show."""
        client.classes_sent[cls] += 1
        if cls == "read":
            client.reads += 1
            if client.reads == HMI_MIN_READS:
                self.role(client, "hmi", f"{HMI_MIN_READS}+ reads of {tag} data", e.ts, e.frame)
        elif cls in ENGINEERING_CLASSES and _room(client, "engineering_workstation"):
            # (checked first: naming the function is most of the cost, and a full role
            # takes no more evidence)
            name = str(getattr(e, "function", None) or getattr(e, "service_name", None)
                       or getattr(e, "type_name", None) or getattr(e, "service", None) or cls)
            if cls != "control" or _MODE_CHANGE.search(name):
                self.role(client, "engineering_workstation",
                          f"sent {name} ({cls}) to {server or 'broadcast'} over {tag}",
                          e.ts, e.frame)

    # -- results ---------------------------------------------------------------------------------
    def snapshot(self, site: LoadedSite | None = None,
                 advisories: list[Advisory] | None = None) -> InventorySnapshot:
        """The inventory as records, levels and zones included (``site``: a parsed site file;
        ``advisories``: loaded CSAF advisories to match)."""
        from otshield.inventory.assemble import assemble

        self.flush()
        return assemble(self, site, advisories or [])


_MODE_CHANGE = re.compile(r"stop|start|run|restart|reset|reboot|reinit|mode|cold|warm|firmware",
                          re.IGNORECASE)
"""Control functions that change a controller's state (engineering), unlike operating a
breaker or a valve (what HMIs do all day)."""

_SERVICE_OF_TAG = {"cip": "enip", "s7commplus": "s7comm", "nbdgm": "netbios", "nbns": "netbios"}


def _service(tag: str) -> str:
    """Protocol (flow) name of an event dataset: CIP messages ride on EtherNet/IP flows."""
    return _SERVICE_OF_TAG.get(tag, tag)


@lru_cache(maxsize=1 << 16)
def _unicast_mac(mac: str | None) -> bool:
    """A real interface address: not empty, all-zero, group (multicast/broadcast)."""
    if not mac or len(mac) != 17 or mac == "00:00:00:00:00:00":
        return False
    try:
        return not int(mac[:2], 16) & 1
    except ValueError:
        return False


def _registry_ports() -> dict[str, frozenset[int]]:
    """Protocol -> its well-known server ports (TCP and UDP), from the decoder registry."""
    from otshield.protocols.registry import load_registry

    return {s.name: s.tcp_ports | s.udp_ports for s in load_registry(plugins=False).specs}


def _room(h: Host, role: str) -> bool:
    """Is there room for more evidence of ``role`` (or is the role new)? Checked before the
    evidence text is built, which is most of the cost on busy flows."""
    rec = h.roles.get(role)
    return rec is None or len(rec.evidence) < _MAX_EVIDENCE


def _ignore(event: Any) -> None:
    return None


_EXTRACTOR_MEMO = 4096
"""Combinations of input values remembered per memoised extractor (cleared when full)."""


def _fast_extractor(tag: str, extractor: Callable[[Any], list[Observation]]
                    ) -> Callable[[Any], list[Observation]]:
    """``extractor`` with the same results, for less: remembered per combination of its
    inputs (``EXTRACTOR_INPUTS``), or not called when its fields are all unset
    (``EXTRACTOR_NEEDS``). The lists it returns are only read."""
    inputs = EXTRACTOR_INPUTS.get(tag)
    if inputs is not None:
        key_of = attrgetter(*inputs)
        memo: dict[Any, list[Observation]] = {}

        def remembered(event: Any) -> list[Observation]:
            key = key_of(event)
            found = memo.get(key)
            if found is None:
                if len(memo) >= _EXTRACTOR_MEMO:
                    memo.clear()
                found = memo[key] = extractor(event)
            return found
        return remembered
    needs = EXTRACTOR_NEEDS.get(tag)
    if needs is not None and len(needs) > 1:
        read = attrgetter(*needs)
        unset = (None,) * len(needs)

        def guarded(event: Any) -> list[Observation]:
            return [] if read(event) == unset else extractor(event)
        return guarded
    return extractor

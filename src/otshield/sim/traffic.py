"""The normal traffic of a simulated plant: one generator per communication pattern of the plant
model, each writing its packets at the scheduler's current time and yielding the seconds until
its next step.

What each pattern sends (the values come from the process model through :class:`PointMap`):

``modbus_poll``      Modbus/TCP reads (FC 1-4) over a long-lived connection; FC 3 pollers
                     read the device identification (FC 43/14) when they connect.
``s7_poll``          S7comm: COTP connect, setup communication, then a read-var of the data
                     block holding the controller's points every period.
``cip_poll``         EtherNet/IP: register session, then Logix Read Tag requests, one tag per
                     step in turn (SendRRData, unconnected).
``dnp3_poll``        DNP3 over TCP: class 1/2/3 event polls (events for changed points, with
                     application confirm) and every Nth poll a class 0 integrity poll.
``iec104_link``      IEC 60870-5-104: STARTDT, general interrogation at connect and every 15
                     minutes, periodic measured values (M_ME_NC_1), spontaneous single-point
                     changes (M_SP_NA_1), S-frame acknowledgements, TESTFR when idle.
``s7_engineering``   an engineering session: connect, SZL reads (module and component
                     identification, CPU state), a few data block reads over a minute, close.
``cip_engineering``  ListIdentity, a session reading the identity object and some tags.
``dns`` ``kerberos`` ``smb`` ``http`` ``tls``  office IT: lookups, AS exchanges with the
                     domain controller, SYSVOL file reads, intranet pages, TLS sessions.
``rdp_jump``         remote access the sanctioned way: client -> jump host -> server, each
                     hop an RDP negotiation, a TLS handshake and minutes of encrypted input
                     and screen updates.
``arp``              an ARP request and reply.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from otshield.demo import dnp3, dns_answer, dns_query, enip, modbus, tls_client_hello, tpkt
from otshield.demo_grid import Iec104Link, apci_u, asdu, ioa
from otshield.sim.model import PlantModel, Point, Traffic
from otshield.sim.payloads import (
    COTP_CC,
    COTP_CR,
    cip_read_tag,
    cip_read_tag_reply,
    dnp3_app,
    kerberos_as_rep,
    kerberos_as_req,
    kerberos_error,
    modbus_device_id,
    rdp_connection_confirm,
    rdp_connection_request,
    s7_cpu_ident,
    s7_read_var,
    s7_read_var_reply,
    s7_setup,
    s7_szl_read,
    s7_szl_reply,
    smb_read_session,
    tls_application_data,
    tls_server_hello,
)
from otshield.sim.process import Process
from otshield.sim.scenario import SimAsset
from otshield.sim.wire import Conversation

if TYPE_CHECKING:
    from otshield.sim.run import Simulator

__all__ = ["PATTERNS", "PointMap"]

Pattern = Callable[["Simulator", Traffic], Iterator[float]]


class PointMap:
    """The controllers' registers, data blocks, tags and points, read from the process (what
    the controller reports: spoofed values included) and written into it."""

    def __init__(self, model: PlantModel, process: Process) -> None:
        self.process = process
        self._by_space: dict[tuple[str, str], dict[int, Point]] = {}
        self._by_name: dict[tuple[str, str], Point] = {}
        for asset in model.assets.values():
            for p in asset.points:
                key = (asset.name, p.space if p.space != "db" else f"db{p.db}")
                self._by_space.setdefault(key, {})[p.address] = p
                if p.name:
                    self._by_name[(asset.name, p.name)] = p

    def value(self, p: Point, asset: str = "") -> float:
        """The scaled value controller ``asset`` reports for point ``p``."""
        return self.process.reported(p.tag, asset) * p.scale

    def points(self, asset: str, space: str) -> dict[int, Point]:
        return self._by_space.get((asset, space), {})

    def words(self, asset: str, space: str, start: int, count: int) -> list[int]:
        """Register values (unmapped addresses read 0; values clamp to 0-65535)."""
        points = self.points(asset, space)
        out = []
        for addr in range(start, start + count):
            p = points.get(addr)
            out.append(0 if p is None else min(max(round(self.value(p, asset)), 0), 0xFFFF))
        return out

    def bits(self, asset: str, space: str, start: int, count: int) -> bytes:
        value = 0
        for i, word in enumerate(self.words(asset, space, start, count)):
            if word:
                value |= 1 << i
        return value.to_bytes((count + 7) // 8, "little")

    def db_bytes(self, asset: str, db: int) -> bytes:
        """The data block as REALs (big-endian IEEE 754, 4 bytes each at the point address)."""
        points = self.points(asset, f"db{db}")
        if not points:
            return b""
        out = bytearray(max(points) + 4)
        for addr, p in points.items():
            out[addr:addr + 4] = struct.pack(">f", self.value(p, asset))
        return bytes(out)

    def tag(self, asset: str, name: str) -> Point | None:
        return self._by_name.get((asset, name))

    def tag_names(self, asset: str) -> list[str]:
        return [name for (a, name) in self._by_name if a == asset]

    def write(self, asset: str, space: str, address: int, raw: float) -> bool:
        """A write to a point: applied to the process when the point is writable."""
        p = self.points(asset, space).get(address)
        if p is None or not p.writable:
            return False
        self.process.write(p.tag, raw / p.scale)
        return True


def _wait(sim: Simulator, t: Traffic) -> float:
    return t.period + (sim.rnd.uniform(-t.jitter, t.jitter) if t.jitter else 0.0)


def _latency(sim: Simulator, low: float = 0.002, high: float = 0.008) -> float:
    return sim.rnd.uniform(low, high)


def _ends(sim: Simulator, t: Traffic) -> tuple[SimAsset, SimAsset]:
    return sim.asset(t.client), sim.asset(t.server)


# -- controller polling -------------------------------------------------------------------------
def modbus_poll(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    asset = sim.model.assets[t.server]
    space = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}[t.function]
    conv: Conversation | None = None
    tid = sim.rnd.randrange(0x10000)
    while True:
        if conv is None:
            conv = sim.tcp(client, server, 502)
            if t.function == 3:
                tid = (tid + 1) & 0xFFFF
                conv.exchange(modbus(tid, asset.unit, bytes([0x2B, 0x0E, 0x01, 0x00])),
                              modbus(tid, asset.unit, modbus_device_id(
                                  asset.vendor, asset.model, asset.firmware)), _latency(sim))
        sim.settle(conv)
        tid = (tid + 1) & 0xFFFF
        request = struct.pack("!BHH", t.function, t.address, t.count)
        if t.function <= 2:
            data = sim.points.bits(t.server, space, t.address, t.count)
        else:
            data = struct.pack(f"!{t.count}H", *sim.points.words(t.server, space, t.address,
                                                                 t.count))
        conv.exchange(modbus(tid, asset.unit, request),
                      modbus(tid, asset.unit, bytes([t.function, len(data)]) + data),
                      _latency(sim))
        if not t.persistent:
            conv.close()
            conv = None
        yield _wait(sim, t)


def _s7_connect(sim: Simulator, client: SimAsset, server: SimAsset) -> Conversation:
    conv = sim.tcp(client, server, 102)
    conv.exchange(tpkt(COTP_CR), tpkt(COTP_CC), _latency(sim))
    conv.exchange(s7_setup(0, False), s7_setup(0, True), _latency(sim))
    return conv


def s7_poll(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    dbs = sorted({p.db for p in sim.model.assets[t.server].points if p.space == "db"}) or [1]
    conv: Conversation | None = None
    ref = sim.rnd.randrange(0x100, 0x8000)
    while True:
        if conv is None:
            conv = _s7_connect(sim, client, server)
        sim.settle(conv)
        for db in dbs:
            data = sim.points.db_bytes(t.server, db) or bytes(4)
            ref = ref % 0xFFFF + 1
            conv.exchange(s7_read_var(ref, db, 0, len(data)), s7_read_var_reply(ref, data),
                          _latency(sim))
        if not t.persistent:
            conv.close()
            conv = None
        yield _wait(sim, t)


def _cip_session(sim: Simulator, conv: Conversation) -> int:
    session = sim.rnd.getrandbits(32) | 1
    conv.exchange(enip(0x65, 0, struct.pack("<HH", 1, 0)),
                  enip(0x65, session, struct.pack("<HH", 1, 0)), _latency(sim))
    return session


def cip_poll(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    tags = sim.points.tag_names(t.server)
    conv: Conversation | None = None
    session = 0
    context = sim.rnd.getrandbits(32)
    n = 0
    while True:
        if conv is None:
            conv = sim.tcp(client, server, 44818)
            session = _cip_session(sim, conv)
        sim.settle(conv)
        if tags:
            name = tags[n % len(tags)]
            n += 1
            point = sim.points.tag(t.server, name)
            value = sim.points.value(point, t.server) if point is not None else 0.0
            context += 1
            conv.exchange(cip_read_tag(session, context, name),
                          cip_read_tag_reply(session, context, value,
                                             name.lower().endswith("running")), _latency(sim))
        if not t.persistent:
            conv.send(True, enip(0x66, session, b""), ack=True)
            conv.close()
            conv = None
        yield _wait(sim, t)


class _Dnp3:
    """Sequence numbers of a DNP3 master/outstation pair (transport per direction, application
    per station)."""

    def __init__(self, conv: Conversation, master: int, outstation: int) -> None:
        self.conv, self.master, self.outstation = conv, master, outstation
        self.tseq = [0, 0]
        self.app = 0

    def request(self, function: int, body: bytes) -> int:
        seq = self.app
        self.app = (self.app + 1) & 0x0F
        tpdu = dnp3_app(self.tseq[0], 0xC0 | seq, function, body)
        self.tseq[0] = (self.tseq[0] + 1) & 0x3F
        self.conv.send(True, dnp3(0xC4, self.outstation, self.master, tpdu), ack=False,
                       gap_after=0.0)
        return seq

    def response(self, seq: int, body: bytes, confirm: bool) -> None:
        ctrl = 0xC0 | seq | (0x20 if confirm else 0)
        tpdu = dnp3_app(self.tseq[1], ctrl, 0x81, body, iin=b"\x00\x00")
        self.tseq[1] = (self.tseq[1] + 1) & 0x3F
        self.conv.send(False, dnp3(0x44, self.master, self.outstation, tpdu), gap_after=0.0)

    def confirm(self, seq: int) -> None:
        tpdu = dnp3_app(self.tseq[0], 0xC0 | seq, 0x00, b"")
        self.tseq[0] = (self.tseq[0] + 1) & 0x3F
        self.conv.send(True, dnp3(0xC4, self.outstation, self.master, tpdu), ack=False,
                       gap_after=0.0)


def dnp3_poll(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    asset = sim.model.assets[t.server]
    analog = sim.points.points(t.server, "analog")
    binary = sim.points.points(t.server, "binary")
    conv: Conversation | None = None
    link: _Dnp3 | None = None
    reported_a: dict[int, int] = {}
    reported_b: dict[int, bool] = {}
    n = 0
    while True:
        if conv is None or link is None:
            conv = sim.tcp(client, server, 20000)
            link = _Dnp3(conv, 1, asset.unit)
            n = 0
        sim.settle(conv)
        a_now = {i: round(sim.points.value(p, t.server)) for i, p in analog.items()}
        b_now = {i: bool(sim.points.value(p, t.server)) for i, p in binary.items()}
        if n == 0 or (t.integrity_every and n % t.integrity_every == 0):
            seq = link.request(0x01, bytes([60, 1, 0x06]))
            body = b""
            if a_now:
                idx = sorted(a_now)
                body += bytes([30, 1, 0x00, idx[0], idx[-1]]) + b"".join(
                    b"\x01" + struct.pack("<i", a_now.get(i, 0))
                    for i in range(idx[0], idx[-1] + 1))
            if b_now:
                idx = sorted(b_now)
                body += bytes([1, 2, 0x00, idx[0], idx[-1]]) + bytes(
                    0x81 if b_now.get(i) else 0x01 for i in range(idx[0], idx[-1] + 1))
            conv.ts += _latency(sim, 0.01, 0.03)
            link.response(seq, body, confirm=False)
            reported_a, reported_b = a_now, b_now
        else:
            seq = link.request(0x01, bytes([60, 2, 0x06, 60, 3, 0x06, 60, 4, 0x06]))
            body = b""
            changed_b = [i for i, v in b_now.items() if reported_b.get(i) != v]
            if changed_b:
                body += bytes([2, 1, 0x17, len(changed_b)]) + b"".join(
                    bytes([i, 0x81 if b_now[i] else 0x01]) for i in changed_b)
            changed_a = [i for i, v in a_now.items()
                         if abs(v - reported_a.get(i, v)) > max(5, abs(v) // 100)]
            if changed_a:
                body += bytes([32, 1, 0x17, len(changed_a)]) + b"".join(
                    bytes([i, 0x01]) + struct.pack("<i", a_now[i]) for i in changed_a)
            conv.ts += _latency(sim, 0.01, 0.03)
            link.response(seq, body, confirm=bool(body))
            if body:
                conv.ts += _latency(sim)
                link.confirm(seq)
                reported_b.update({i: b_now[i] for i in changed_b})
                reported_a.update({i: a_now[i] for i in changed_a})
        n += 1
        yield _wait(sim, t)


def iec104_link(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    ca = sim.model.assets[t.server].unit
    floats = sim.points.points(t.server, "float")
    singles = sim.points.points(t.server, "single")
    conv: Conversation | None = None
    link: Iec104Link | None = None
    last_gi = 0.0
    reported: dict[int, bool] = {}
    n = 0

    def measured() -> list[bytes]:
        return [ioa(a) + struct.pack("<f", sim.points.value(p, t.server)) + b"\x00"
                for a, p in sorted(floats.items())]

    def states() -> dict[int, bool]:
        return {a: bool(sim.points.value(p, t.server)) for a, p in sorted(singles.items())}

    while True:
        if conv is None or link is None:
            conv = sim.tcp(client, server, 2404)
            conv.send(True, apci_u(0x07))   # STARTDT act
            conv.send(False, apci_u(0x0B))  # STARTDT con
            link = Iec104Link(conv)
            last_gi = -1e9
        sim.settle(conv)
        if sim.now - last_gi >= 900.0:
            gi = [ioa(0) + b"\x14"]  # QOI 20: station interrogation
            link.send(True, asdu(100, 6, gi, ca=ca))
            link.send(False, asdu(100, 7, gi, ca=ca))
            if floats:
                link.send(False, asdu(13, 20, measured(), ca=ca))
            reported = states()
            if reported:
                link.send(False, asdu(1, 20, [ioa(a) + bytes([int(v)])
                                               for a, v in reported.items()], ca=ca))
            link.send(False, asdu(100, 10, gi, ca=ca))
            link.ack()
            last_gi = sim.now
        else:
            now_states = states()
            changed = [a for a, v in now_states.items() if reported.get(a) != v]
            if changed:
                link.send(False, asdu(1, 3, [ioa(a) + bytes([int(now_states[a])])
                                             for a in changed], ca=ca))
                reported.update({a: now_states[a] for a in changed})
            if floats:
                link.send(False, asdu(13, 1, measured(), ca=ca))  # periodic (cyclic)
            if n % 5 == 4 and link.unacked:
                link.ack()
            if n % 10 == 9:
                conv.send(True, apci_u(0x43))   # TESTFR act
                conv.send(False, apci_u(0x83))  # TESTFR con
        n += 1
        yield _wait(sim, t)


# -- engineering --------------------------------------------------------------------------------
def s7_engineering(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    asset = sim.model.assets[t.server]
    dbs = sorted({p.db for p in asset.points if p.space == "db"}) or [1]
    while True:
        conv = _s7_connect(sim, client, server)
        ref = sim.rnd.randrange(0x100, 0x8000)
        module, component = s7_cpu_ident(asset.model or "6ES7 315-2EH14-0AB0", asset.name)
        for seq, (szl_id, length, records) in enumerate(
                ((0x0011, 28, module), (0x001C, 34, component)), start=1):
            ref += 1
            conv.exchange(s7_szl_read(ref, szl_id), s7_szl_reply(ref, seq, szl_id, length,
                                                                 records), _latency(sim))
        for _ in range(sim.rnd.randint(4, 10)):
            yield sim.rnd.uniform(2.0, 8.0)
            sim.settle(conv)
            for db in dbs:
                data = sim.points.db_bytes(t.server, db) or bytes(4)
                ref += 1
                conv.exchange(s7_read_var(ref, db, 0, len(data)), s7_read_var_reply(ref, data),
                              _latency(sim))
        yield sim.rnd.uniform(1.0, 3.0)
        sim.settle(conv)
        conv.close()
        yield _wait(sim, t)


def _identity_reply(sim: Simulator, asset_name: str) -> bytes:
    from otshield.demo import identity_item

    a = sim.model.assets[asset_name]
    name = (a.model or asset_name).encode()[:32]
    sockaddr = struct.pack(">hH4s8s", 2, 44818, bytes(int(x) for x in a.ip.split(".")), bytes(8))
    return struct.pack("<H", 1) + identity_item(sockaddr, name)


def cip_engineering(sim: Simulator, t: Traffic) -> Iterator[float]:
    from otshield.demo import cip_rr, identity_body

    client, server = _ends(sim, t)
    tags = sim.points.tag_names(t.server)
    while True:
        port = sim.ephemeral(client)
        sim.udp(client, server, port, 44818, enip(0x63, 0, b""))
        sim.udp(server, client, 44818, port, enip(0x63, 0, _identity_reply(sim, t.server)),
                delay=_latency(sim))
        yield 0.05
        conv = sim.tcp(client, server, 44818)
        session = _cip_session(sim, conv)
        get_all = bytes([0x01, 0x02, 0x20, 0x01, 0x24, 0x01])  # Get_Attributes_All Identity/1
        conv.exchange(enip(0x6F, session, cip_rr(get_all)),
                      enip(0x6F, session, cip_rr(bytes([0x81, 0, 0, 0]) + identity_body())),
                      _latency(sim))
        context = sim.rnd.getrandbits(32)
        for _ in range(sim.rnd.randint(3, 8)):
            yield sim.rnd.uniform(1.0, 5.0)
            sim.settle(conv)
            for name in tags:
                point = sim.points.tag(t.server, name)
                value = sim.points.value(point, t.server) if point is not None else 0.0
                context += 1
                conv.exchange(cip_read_tag(session, context, name),
                              cip_read_tag_reply(session, context, value,
                                                 name.lower().endswith("running")),
                              _latency(sim))
        sim.settle(conv)
        conv.send(True, enip(0x66, session, b""))
        conv.close()
        yield _wait(sim, t)


# -- office IT ----------------------------------------------------------------------------------
def _address_of(sim: Simulator, name: str) -> str:
    """Where a name resolves: a plant host when the name is the plant's, else a public address
    derived from the name (stable across runs)."""
    for asset in sim.model.assets.values():
        if asset.kind == "server" and name.startswith("intranet."):
            return asset.ip
    h = zlib.crc32(name.encode())
    return f"52.{96 + (h & 0x1F)}.{(h >> 8) & 0xFF}.{(h >> 16) & 0xFE | 1}"


def dns(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    names = t.names or ["intranet.local"]
    while True:
        name = sim.rnd.choice(names)
        qid = sim.rnd.getrandbits(16)
        port = sim.ephemeral(client)
        sim.udp(client, server, port, 53, dns_query(qid, name))
        sim.udp(server, client, 53, port, dns_answer(qid, name, _address_of(sim, name)),
                delay=_latency(sim, 0.0003, 0.002))
        yield _wait(sim, t)


def _realm(sim: Simulator) -> str:
    name = sim.model.name.split()[0].upper()
    return f"{name}.LOCAL"


def kerberos(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    realm = _realm(sim)
    user = t.user or "user"
    while True:
        port = sim.ephemeral(client)
        nonce = sim.rnd.getrandbits(31)
        sim.udp(client, server, port, 88, kerberos_as_req(user, realm, sim.now, nonce))
        sim.udp(server, client, 88, port, kerberos_error(user, realm, sim.now),
                delay=_latency(sim, 0.0005, 0.002))
        yield 0.01
        port = sim.ephemeral(client)
        sim.udp(client, server, port, 88, kerberos_as_req(user, realm, sim.now, nonce + 1,
                                                          sim.rnd))
        sim.udp(server, client, 88, port, kerberos_as_rep(user, realm, sim.rnd),
                delay=_latency(sim, 0.001, 0.004))
        yield _wait(sim, t)


def smb(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    files = t.names or ["share\\readme.txt"]
    domain = _realm(sim).split(".")[0]
    while True:
        path = sim.rnd.choice(files)
        data = b"[General]\r\nVersion=%d\r\n" % sim.rnd.randint(1, 99)
        conv = sim.tcp(client, server, 445)
        for request, response in smb_read_session(t.user or "jsmith", domain, t.client,
                                                  t.server, "SYSVOL", path, data, sim.now,
                                                  sim.rnd):
            conv.exchange(request, response, _latency(sim, 0.0003, 0.002))
        conv.close()
        yield _wait(sim, t)


def http(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    host = (t.names or ["intranet"])[0]
    pages = ["/", "/reports/shift.html", "/news/index.html", "/phonebook?dept=operations"]
    while True:
        page = sim.rnd.choice(pages)
        body = f"<html><head><title>{host}</title></head><body>{page}</body></html>".encode()
        conv = sim.tcp(client, server, 80)
        conv.exchange(f"GET {page} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 "
                      "(Windows NT 10.0; Win64; x64)\r\nAccept: text/html\r\n\r\n".encode(),
                      b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
                      _latency(sim, 0.001, 0.01))
        conv.close()
        yield _wait(sim, t)


def tls(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    host = (t.names or ["intranet"])[0]
    while True:
        conv = sim.tcp(client, server, 443)
        conv.exchange(tls_client_hello(host, sim.rnd),
                      tls_server_hello(sim.rnd) + tls_application_data(sim.rnd, 1200),
                      _latency(sim, 0.001, 0.01))
        for _ in range(sim.rnd.randint(1, 4)):
            conv.exchange(tls_application_data(sim.rnd, sim.rnd.randint(80, 400)),
                          tls_application_data(sim.rnd, sim.rnd.randint(200, 1300)),
                          _latency(sim, 0.005, 0.05))
        conv.close()
        yield _wait(sim, t)


def _rdp_open(sim: Simulator, client: SimAsset, server: SimAsset, user: str) -> Conversation:
    """X.224 negotiation (TLS/CredSSP), then the TLS handshake the session runs in."""
    conv = sim.tcp(client, server, 3389)
    conv.exchange(rdp_connection_request(user), rdp_connection_confirm(), _latency(sim))
    conv.exchange(tls_client_hello(server.name.lower(), sim.rnd),
                  tls_server_hello(sim.rnd) + tls_application_data(sim.rnd, 900),
                  _latency(sim, 0.002, 0.01))
    return conv


def _rdp_frames(sim: Simulator, conv: Conversation) -> None:
    """A moment of a session: input from the client, screen updates from the server."""
    conv.exchange(tls_application_data(sim.rnd, sim.rnd.randint(40, 120)),
                  tls_application_data(sim.rnd, sim.rnd.randint(300, 1400)),
                  _latency(sim, 0.005, 0.03))


def rdp_jump(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    via = sim.asset(t.via)
    user = t.user or "engineer"
    while True:
        outer = _rdp_open(sim, client, via, user)
        yield sim.rnd.uniform(3.0, 8.0)
        inner = _rdp_open(sim, via, server, user)
        # the session: a few minutes of encrypted input and screen updates on both hops
        for _ in range(sim.rnd.randint(30, 150)):
            yield sim.rnd.uniform(0.5, 3.0)
            _rdp_frames(sim, inner)
            _rdp_frames(sim, outer)
        yield sim.rnd.uniform(0.5, 2.0)
        inner.close()
        outer.close()
        yield _wait(sim, t)


def arp(sim: Simulator, t: Traffic) -> Iterator[float]:
    client, server = _ends(sim, t)
    while True:
        sim.arp(client, server)
        yield _wait(sim, t)


PATTERNS: dict[str, Pattern] = {
    "modbus_poll": modbus_poll, "s7_poll": s7_poll, "cip_poll": cip_poll,
    "dnp3_poll": dnp3_poll, "iec104_link": iec104_link, "s7_engineering": s7_engineering,
    "cip_engineering": cip_engineering, "dns": dns, "kerberos": kerberos, "smb": smb,
    "http": http, "tls": tls, "rdp_jump": rdp_jump, "arp": arp,
}
"""Pattern kind -> its generator."""

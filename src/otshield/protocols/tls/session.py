"""TLS per-connection session: frames records itself, reassembles handshake messages across
records (RFC 8446 section 5.1: a handshake message may span records), reads the plaintext part
of the handshake and emits one :class:`TlsEvent`.

The session frames records in ``on_data`` rather than through the engine's ``frame_size`` so a
direction that loses sync (a gap, a bad record header) is abandoned after one anomaly instead of
raising one per following segment: encrypted records rarely start a segment, so the engine's
resynchronisation at the next segment would keep failing. Application data records are skipped
by length without being buffered, and once the event is out the session ignores the flow.

What is plaintext: everything before a side's ChangeCipherSpec in TLS 1.2 and older; in TLS
1.3, only the hellos (later handshake messages travel as application data records).
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.tls.constants import (
    ALERT_DESCRIPTIONS,
    ALERT_LEVELS,
    GREASE,
    SSL2_CIPHER_KINDS,
    cipher_name,
    version_text,
)
from otshield.protocols.tls.events import TlsEvent
from otshield.protocols.tls.fingerprint import ja3, ja3s, ja4
from otshield.protocols.tls.parser import (
    CONTENT_ALERT,
    CONTENT_APPDATA,
    CONTENT_CCS,
    CONTENT_HANDSHAKE,
    CONTENT_HEARTBEAT,
    ClientHello,
    ServerHello,
    frame_size,
    heartbeat_overflow,
    parse_alerts,
    parse_certificate_list,
    parse_client_hello,
    parse_server_hello,
    parse_sslv2_client_hello,
)
from otshield.protocols.tls.x509 import X509Info, parse_certificate

__all__ = ["TlsSession"]

MAX_HANDSHAKE = 256 * 1024
"""Largest handshake message reassembled (certificate chains are the big ones); also bounded by
``Settings.max_frame_bytes``."""
MAX_CHAIN = 10
MAX_ALERTS = 16

_HS_CLIENT_HELLO, _HS_SERVER_HELLO, _HS_CERTIFICATE, _HS_SERVER_DONE = 1, 2, 11, 14
_TLS13 = 0x0304


class _Direction:
    """Record framing and handshake reassembly state of one direction."""

    __slots__ = ("appdata", "buf", "ccs", "dead", "hs", "hs_dead", "skip")

    def __init__(self) -> None:
        self.buf = bytearray()  # a record not yet complete
        self.skip = 0  # bytes of an application data record still to pass over
        self.hs = b""  # handshake bytes not yet forming a whole message
        self.dead = False  # lost sync: nothing more is read in this direction
        self.hs_dead = False
        self.ccs = False
        self.appdata = 0


class TlsSession:
    """State of one TLS connection."""

    __slots__ = (
        "alerts", "alerts_cut", "certs", "chain_cut", "client", "client_cert", "client_hello",
        "done", "flow",
        "hello_retry", "max_handshake", "resumed_abbreviated", "server", "server_done",
        "server_hello", "sslv2_server",
    )

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.client = _Direction()
        self.server = _Direction()
        self.client_hello: ClientHello | None = None
        self.server_hello: ServerHello | None = None
        self.hello_retry = False
        self.sslv2_server = False
        self.certs: list[X509Info] = []
        self.client_cert: X509Info | None = None
        self.alerts: list[str] = []
        self.alerts_cut = False
        self.chain_cut = False
        self.server_done = False
        self.resumed_abbreviated = False
        self.done = False
        self.max_handshake = min(MAX_HANDSHAKE, flow.settings.max_frame_bytes)

    # -- stream ----------------------------------------------------------------------------
    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used: the session frames records itself (see the module docstring)."""
        self.on_data(frame, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        if self.done:
            return
        d = self.client if from_client else self.server
        if d.dead:
            return
        if d.skip:
            if len(data) <= d.skip:
                d.skip -= len(data)
                return
            data = data[d.skip:]
            d.skip = 0
        buf = d.buf
        buf += data
        n = len(buf)
        pos = 0
        while pos < n:
            try:
                size = frame_size(bytes(buf[pos:pos + 5]))
            except Malformed as bad:
                self.flow.anomaly(bad.code, bad.detail, from_client)
                d.dead = True
                d.buf = bytearray()
                return
            if size is None:
                break
            if buf[pos] == CONTENT_APPDATA:
                end = pos + size
                if end > n:
                    d.skip = end - n
                    pos = n
                else:
                    pos = end
                self._app_data(d, from_client)
                if self.done:
                    d.buf = bytearray()
                    return
                continue
            if pos + size > n:
                break
            self._record(bytes(buf[pos:pos + size]), from_client, d)
            pos += size
            if self.done or d.dead:
                d.buf = bytearray()
                return
        del buf[:pos]

    def on_gap(self, from_client: bool, size: int) -> None:
        """Record boundaries are lost with the bytes: stop reading this direction."""
        d = self.client if from_client else self.server
        d.dead = True
        d.buf = bytearray()
        d.hs = b""
        d.skip = 0

    def close(self) -> None:
        if not self.done and (self.client_hello is not None or self.server_hello is not None
                              or self.alerts or self.sslv2_server):
            self._emit(established=False)
        self.done = True

    # -- records ---------------------------------------------------------------------------
    def _encrypted(self, d: _Direction) -> bool:
        """True when this direction's handshake/alert records are protected (TLS <= 1.2 after
        ChangeCipherSpec; TLS 1.3 sends protected records as application data instead)."""
        sh = self.server_hello
        return d.ccs and sh is not None and not sh.retry_request and sh.negotiated < _TLS13

    def _record(self, record: bytes, from_client: bool, d: _Direction) -> None:
        kind = record[0]
        if kind & 0x80:
            self._sslv2(record, from_client)
            return
        fragment = record[5:]
        if kind == CONTENT_HANDSHAKE:
            if not self._encrypted(d) and not d.hs_dead:
                d.hs = d.hs + fragment if d.hs else fragment
                self._handshake(d, from_client)
        elif kind == CONTENT_CCS:
            d.ccs = True
            sh = self.server_hello
            if (not from_client and not self.server_done and sh is not None
                    and sh.negotiated < _TLS13):
                # ChangeCipherSpec right after the ServerHello: an abbreviated handshake
                # (RFC 5246 section 7.3, resumption by session id or ticket).
                self.resumed_abbreviated = True
        elif kind == CONTENT_ALERT:
            if not self._encrypted(d):
                self._alert(fragment, from_client)
        elif kind == CONTENT_HEARTBEAT and not self._encrypted(d):
            claimed = heartbeat_overflow(fragment)
            if claimed is not None:
                self.flow.anomaly(
                    "tls.heartbleed",
                    f"heartbeat claims {claimed} payload bytes in a {len(fragment)}-byte record "
                    "(CVE-2014-0160)", from_client)

    def _app_data(self, d: _Direction, from_client: bool) -> None:
        sh = self.server_hello
        if sh is None:
            if self.client_hello is None and not self.sslv2_server:
                self.done = True  # joined mid-connection: nothing readable is left
            return  # 0-RTT early data before the ServerHello
        d.appdata += 1
        if sh.negotiated >= _TLS13:
            # The client's first protected record is its Finished; anything protected after
            # it means the handshake went through (as far as can be seen without keys).
            client_records = self.client.appdata
            if (from_client and client_records >= 2) or (not from_client and client_records):
                self._emit(established=True)
        elif self.client.ccs and self.server.ccs:
            self._emit(established=True)

    def _alert(self, fragment: bytes, from_client: bool) -> None:
        try:
            pairs = parse_alerts(fragment)
        except Malformed as bad:
            self.flow.anomaly(bad.code, bad.detail, from_client)
            return
        side = "client" if from_client else "server"
        for level, desc in pairs:
            if len(self.alerts) >= MAX_ALERTS:
                self.alerts_cut = True
                break
            self.alerts.append(f"{side}:{ALERT_LEVELS.get(level, str(level))}:"
                               f"{ALERT_DESCRIPTIONS.get(desc, str(desc))}")

    def _sslv2(self, record: bytes, from_client: bool) -> None:
        if from_client:
            if self.client_hello is None:
                try:
                    self.client_hello = parse_sslv2_client_hello(record)
                except Malformed as bad:
                    self.flow.anomaly(bad.code, bad.detail, from_client)
        elif record[2] == 4:  # SERVER-HELLO: the server speaks SSL 2.0
            self.sslv2_server = True

    # -- handshake messages ----------------------------------------------------------------
    def _handshake(self, d: _Direction, from_client: bool) -> None:
        buf = d.hs
        pos = 0
        n = len(buf)
        while pos + 4 <= n:
            kind = buf[pos]
            length = int.from_bytes(buf[pos + 1:pos + 4], "big")
            if length > self.max_handshake:
                self.flow.anomaly("tls.handshake_too_large",
                                  f"handshake message type {kind} of {length} bytes (limit "
                                  f"{self.max_handshake})", from_client)
                d.hs_dead = True
                d.hs = b""
                return
            end = pos + 4 + length
            if end > n:
                break
            try:
                self._message(kind, buf[pos + 4:end], from_client)
            except Malformed as bad:
                self.flow.anomaly(bad.code, bad.detail, from_client)
            pos = end
        d.hs = buf[pos:] if pos < n else b""

    def _message(self, kind: int, body: bytes, from_client: bool) -> None:
        if kind == _HS_CLIENT_HELLO and from_client:
            if self.client_hello is None:
                self.client_hello = parse_client_hello(body)
            # A second ClientHello answers a HelloRetryRequest; the first one fingerprints.
        elif kind == _HS_SERVER_HELLO and not from_client:
            hello = parse_server_hello(body)
            if hello.retry_request:
                self.hello_retry = True
            self.server_hello = hello
        elif kind == _HS_CERTIFICATE:
            self._certificates(body, from_client)
        elif kind == _HS_SERVER_DONE and not from_client:
            self.server_done = True

    def _certificates(self, body: bytes, from_client: bool) -> None:
        ders = parse_certificate_list(body)
        infos: list[X509Info] = []
        for der in ders[:MAX_CHAIN]:
            try:
                info = parse_certificate(der)
            except Malformed as bad:
                self.flow.anomaly(bad.code, bad.detail, from_client)
                continue
            if info.key_curve == "explicit":
                self.flow.anomaly(
                    "tls.certificate_explicit_curve",
                    f"certificate {info.subject!r} spells out its EC curve parameters "
                    "(RFC 5480 forbids it; CurveBall, CVE-2020-0601)", from_client)
            infos.append(info)
        if from_client:
            if infos and self.client_cert is None:
                self.client_cert = infos[0]
        elif not self.certs:
            self.certs = infos
            self.chain_cut = len(ders) > MAX_CHAIN

    # -- the event ---------------------------------------------------------------------------
    def _emit(self, established: bool) -> None:
        self.done = True
        ch, sh = self.client_hello, self.server_hello
        leaf = self.certs[0] if self.certs else None
        version = protocol = None
        if sh is not None:
            protocol, version = version_text(sh.negotiated)
        elif self.sslv2_server:
            protocol, version = "ssl", "2.0"
        event = TlsEvent(
            **self.flow.fields(True),
            version=version,
            version_protocol=protocol,
            cipher=cipher_name(sh.cipher) if sh is not None else None,
            cipher_id=sh.cipher if sh is not None else None,
            established=established,
            resumed=self._resumed(),
            next_protocol=sh.alpn if sh is not None else None,
            sni=ch.sni if ch is not None else None,
            client_version=version_text(ch.version)[1] if ch is not None else None,
            supported_versions=[version_text(v)[1] for v in ch.supported_versions
                                if v not in GREASE] if ch is not None else [],
            client_ciphers=_cipher_names(ch) if ch is not None else [],
            client_extensions=[e for e in ch.extensions if e not in GREASE]
            if ch is not None else [],
            alpn=[a.decode("utf-8", "backslashreplace") for a in ch.alpn]
            if ch is not None else [],
            signature_algorithms=[s for s in ch.signature_algorithms if s not in GREASE]
            if ch is not None else [],
            supported_groups=[g for g in ch.groups if g not in GREASE]
            if ch is not None else [],
            ja3=ja3(ch) if ch is not None and not ch.sslv2 else None,
            ja4=ja4(ch) if ch is not None and not ch.sslv2 else None,
            sslv2_hello=ch.sslv2 if ch is not None else False,
            client_lists_truncated=ch.truncated_lists if ch is not None else False,
            ja3s=ja3s(sh) if sh is not None else None,
            server_extensions=list(sh.extensions) if sh is not None else [],
            hello_retry=self.hello_retry,
            subject=leaf.subject if leaf else None,
            issuer=leaf.issuer if leaf else None,
            subject_cn=leaf.subject_cn if leaf else [],
            subject_o=leaf.subject_o if leaf else [],
            issuer_cn=leaf.issuer_cn if leaf else [],
            issuer_o=leaf.issuer_o if leaf else [],
            not_before=leaf.not_before if leaf else None,
            not_after=leaf.not_after if leaf else None,
            serial=leaf.serial if leaf else None,
            alt_names=leaf.alt_names if leaf else [],
            key_algorithm=leaf.key_algorithm or None if leaf else None,
            key_size=leaf.key_size if leaf else None,
            key_curve=leaf.key_curve if leaf else None,
            sha1=leaf.sha1 if leaf else None,
            sha256=leaf.sha256 if leaf else None,
            chain=self.certs,
            chain_truncated=self.chain_cut,
            client_subject=self.client_cert.subject if self.client_cert else None,
            client_issuer=self.client_cert.issuer if self.client_cert else None,
            alerts=self.alerts,
            alerts_truncated=self.alerts_cut,
        )
        self.flow.emit(event)

    def _resumed(self) -> bool:
        sh, ch = self.server_hello, self.client_hello
        if sh is None:
            return False
        if sh.negotiated >= _TLS13:
            return sh.psk
        if self.resumed_abbreviated:
            return True
        return ch is not None and bool(ch.session_id) and ch.session_id == sh.session_id


def _cipher_names(hello: ClientHello) -> list[str]:
    if hello.sslv2:
        return [SSL2_CIPHER_KINDS.get(c) or (cipher_name(c) if c < 0x10000 else f"0x{c:06X}")
                for c in hello.ciphers]
    return [cipher_name(c) for c in hello.ciphers if c not in GREASE]

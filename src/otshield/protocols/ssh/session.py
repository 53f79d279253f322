"""SSH per-connection session: reads each side's identification string and unencrypted
binary packets up to its NEWKEYS (RFC 4253 sections 4.2, 6, 7), then stops: the rest is
encrypted. Emits one :class:`SshEvent` when both sides sent NEWKEYS, or when the connection
ends."""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import FlowContext
from otshield.protocols.ssh.events import SshEvent
from otshield.protocols.ssh.parser import (
    MAX_NAMES,
    MSG_DISCONNECT,
    MSG_KEXINIT,
    MSG_NEWKEYS,
    Banner,
    KexInit,
    hassh,
    names,
    negotiate,
    packet_size,
    parse_banner,
    parse_disconnect,
    parse_kexinit,
    payload,
)

__all__ = ["SshSession"]

MAX_BANNER_LINE = 1024
"""RFC 4253 allows 255 bytes; longer lines are tolerated up to this, then ssh.banner_too_long."""
MAX_PRE_BANNER = 4096
"""Bytes of other lines a server may send before its identification string (RFC 4253 4.2)."""

_BANNER, _PACKETS, _DONE = range(3)


class _Side:
    __slots__ = ("banner", "buf", "disconnect", "kexinit", "newkeys", "skipped", "state")

    def __init__(self) -> None:
        self.state = _BANNER
        self.buf = bytearray()
        self.skipped = 0  # pre-banner bytes
        self.banner: Banner | None = None
        self.kexinit: KexInit | None = None
        self.newkeys = False
        self.disconnect: str | None = None


class SshSession:
    """State of one SSH connection."""

    __slots__ = ("client", "done", "flow", "server")

    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.client = _Side()
        self.server = _Side()
        self.done = False

    def on_frame(self, frame: bytes, from_client: bool) -> None:
        """Not used: SSH is read as a stream."""
        self.on_data(frame, from_client)

    def on_data(self, data: bytes, from_client: bool) -> None:
        side = self.client if from_client else self.server
        if side.state == _DONE or self.done:
            return
        buf = side.buf
        buf += data
        try:
            if side.state == _BANNER:
                self._banner(side, from_client)
            if side.state == _PACKETS:
                self._packets(side, from_client)
        except Malformed as bad:
            self.flow.anomaly(bad.code, bad.detail, from_client)
            side.state = _DONE
            side.buf = bytearray()
        if side.state == _DONE:
            side.buf = bytearray()
        if self.client.newkeys and self.server.newkeys and not self.done:
            self._emit()

    def on_gap(self, from_client: bool, size: int) -> None:
        side = self.client if from_client else self.server
        side.state = _DONE
        side.buf = bytearray()

    def close(self) -> None:
        if not self.done and (self.client.banner or self.server.banner):
            self._emit()
        self.done = True

    def _banner(self, side: _Side, from_client: bool) -> None:
        buf = side.buf
        while True:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_BANNER_LINE:
                    raise Malformed("ssh.banner_too_long",
                                    f"no line end in {len(buf)} bytes")
                return
            line = bytes(buf[:end])
            del buf[:end + 1]
            if line.startswith(b"SSH-"):
                if end > MAX_BANNER_LINE:
                    raise Malformed("ssh.banner_too_long", f"identification of {end} bytes")
                banner = parse_banner(line)
                side.banner = banner
                if banner.version not in ("2.0", "1.99"):
                    self.flow.anomaly("ssh.protocol_1",
                                      f"{'client' if from_client else 'server'} speaks SSH "
                                      f"{banner.version} ({banner.software})", from_client)
                    # The connection runs SSH-1, whose packets are not read, in both directions
                    # (a 1.99 peer falls back to it).
                    for each in (self.client, self.server):
                        each.state = _DONE
                        each.buf = bytearray()
                    return
                side.state = _PACKETS
                return
            side.skipped += end + 1
            if from_client or side.skipped > MAX_PRE_BANNER:
                raise Malformed("ssh.invalid_banner", f"line before the identification: "
                                f"{line[:60]!r}")

    def _packets(self, side: _Side, from_client: bool) -> None:
        buf = side.buf
        pos = 0
        n = len(buf)
        while pos < n:
            size = packet_size(bytes(buf[pos:pos + 5]))
            if size is None or pos + size > n:
                break
            body = payload(bytes(buf[pos:pos + size]))
            pos += size
            kind = body[0] if body else 0
            if kind == MSG_KEXINIT:
                if side.kexinit is None:
                    side.kexinit = parse_kexinit(body)
                    self._check_agreement()
            elif kind == MSG_NEWKEYS:
                side.newkeys = True
                side.state = _DONE
                break
            elif kind == MSG_DISCONNECT:
                side.disconnect = parse_disconnect(body)
        del buf[:pos]

    def _check_agreement(self) -> None:
        c, s = self.client.kexinit, self.server.kexinit
        if c is None or s is None:
            return
        for what, a, b in (("kex", c.kex, s.kex), ("host key", c.host_key, s.host_key),
                           ("cipher", c.enc_c2s, s.enc_c2s), ("cipher", c.enc_s2c, s.enc_s2c),
                           ("mac", c.mac_c2s, s.mac_c2s), ("mac", c.mac_s2c, s.mac_s2c),
                           ("compression", c.comp_c2s, s.comp_c2s)):
            if negotiate(a, b) is None and not (what == "mac" and _aead(c, s)):
                self.flow.anomaly("ssh.no_common_algorithm",
                                  f"no {what} algorithm both sides offer", False)
                return

    def _emit(self) -> None:
        self.done = True
        cb, sb = self.client.banner, self.server.banner
        ck, sk = self.client.kexinit, self.server.kexinit
        disconnect = None
        if self.client.disconnect:
            disconnect = f"client: {self.client.disconnect}"
        elif self.server.disconnect:
            disconnect = f"server: {self.server.disconnect}"
        self.flow.emit(SshEvent(
            **self.flow.fields(True),
            client_banner=cb.text if cb else None,
            client_version=cb.version if cb else None,
            client_software=cb.software if cb else None,
            client_comments=cb.comments if cb else None,
            server_banner=sb.text if sb else None,
            server_version=sb.version if sb else None,
            server_software=sb.software if sb else None,
            server_comments=sb.comments if sb else None,
            client_kex=names(ck.kex) if ck else [],
            client_host_key=names(ck.host_key) if ck else [],
            client_ciphers=names(ck.enc_c2s) if ck else [],
            client_macs=names(ck.mac_c2s) if ck else [],
            client_compression=names(ck.comp_c2s) if ck else [],
            server_kex=names(sk.kex) if sk else [],
            server_host_key=names(sk.host_key) if sk else [],
            server_ciphers=names(sk.enc_s2c) if sk else [],
            server_macs=names(sk.mac_s2c) if sk else [],
            server_compression=names(sk.comp_s2c) if sk else [],
            kex_algorithm=negotiate(ck.kex, sk.kex) if ck and sk else None,
            host_key_algorithm=negotiate(ck.host_key, sk.host_key) if ck and sk else None,
            cipher_c2s=negotiate(ck.enc_c2s, sk.enc_c2s) if ck and sk else None,
            cipher_s2c=negotiate(ck.enc_s2c, sk.enc_s2c) if ck and sk else None,
            mac_c2s=_mac(ck.enc_c2s, sk.enc_c2s, ck.mac_c2s, sk.mac_c2s) if ck and sk else None,
            mac_s2c=_mac(ck.enc_s2c, sk.enc_s2c, ck.mac_s2c, sk.mac_s2c) if ck and sk else None,
            compression_c2s=negotiate(ck.comp_c2s, sk.comp_c2s) if ck and sk else None,
            compression_s2c=negotiate(ck.comp_s2c, sk.comp_s2c) if ck and sk else None,
            hassh=hassh(ck.kex, ck.enc_c2s, ck.mac_c2s, ck.comp_c2s) if ck else None,
            hassh_server=hassh(sk.kex, sk.enc_s2c, sk.mac_s2c, sk.comp_s2c) if sk else None,
            lists_truncated=any(_long(k) for k in (ck, sk) if k is not None),
            kex_complete=self.client.newkeys and self.server.newkeys,
            disconnect=disconnect,
        ))


def _long(k: KexInit) -> bool:
    return any(text.count(",") >= MAX_NAMES for text in (
        k.kex, k.host_key, k.enc_c2s, k.enc_s2c, k.mac_c2s, k.mac_s2c, k.comp_c2s, k.comp_s2c))


def _is_aead(cipher: str | None) -> bool:
    return cipher is not None and ("gcm" in cipher or "poly1305" in cipher)


def _mac(client_enc: str, server_enc: str, client_mac: str, server_mac: str) -> str | None:
    """The MAC in use: none with an AEAD cipher, which authenticates by itself (RFC 5647
    section 5.1, PROTOCOL.chacha20poly1305 of OpenSSH)."""
    if _is_aead(negotiate(client_enc, server_enc)):
        return None
    return negotiate(client_mac, server_mac)


def _aead(c: KexInit, s: KexInit) -> bool:
    """An AEAD cipher (chacha20-poly1305, AES-GCM) was agreed: it needs no MAC (RFC 5647)."""
    return _is_aead(negotiate(c.enc_c2s, s.enc_c2s)) and _is_aead(negotiate(c.enc_s2c, s.enc_s2c))

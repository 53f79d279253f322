"""Notifications against real receivers on 127.0.0.1: an SMTP server (aiosmtpd), an HTTP
webhook receiver and a syslog (TCP) listener. Each receiver is down at first: every message
arrives once it comes up, none twice, and nothing is lost across an outbox reopen."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from otshield.errors import ConfigError
from otshield.respond.notify import (
    NotifyConfig,
    Outbox,
    deliver_due,
    load_notify_config,
    new_notification,
    senders,
)
from otshield.respond.notify.message import cef_line
from otshield.respond.notify.senders import EmailConfig, SyslogConfig, WebhookConfig
from otshield.store.db import connect


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpReceiver:
    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller
        self.messages: list[Any] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class WebhookReceiver:
    def __init__(self, port: int) -> None:
        self.bodies: list[tuple[dict[str, Any], dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append((json.loads(body), dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SyslogReceiver:
    """RFC 6587 octet-counted syslog over TCP."""

    def __init__(self, port: int) -> None:
        self.frames: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                data = self.rfile.read()
                while data:
                    size, _, rest = data.partition(b" ")
                    n = int(size)
                    outer.frames.append(rest[:n].decode())
                    data = rest[n:]

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)

    def __enter__(self) -> SyslogReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def wait(self, count: int, timeout: float = 10.0) -> None:
        """TCP hands the frames over before the server thread has read them: wait for them."""
        deadline = time.monotonic() + timeout
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    yield Outbox(connect(str(tmp_path / "outbox.db")), base_delay=10.0)


def _queue(outbox: Outbox, channel: str, n: int = 3) -> list[str]:
    ids = []
    for i in range(n):
        msg = new_notification(channel, f"Incident INC-{i}: PLC stop", f"body {i} = a|b\nline 2",
                               severity="critical", to_role="ot", incident_id=f"INC-{i}")
        assert outbox.enqueue(msg)
        assert not outbox.enqueue(msg)  # the same id is queued once
        ids.append(msg.id)
    return ids


def _down_then_up(outbox: Outbox, cfg: NotifyConfig, ids: list[str],
                  start: Callable[[], Any]) -> Any:
    send = senders(cfg)
    t0 = time.time()
    first = deliver_due(outbox, send, now=t0)
    assert first.sent == [] and set(first.failed) == set(ids)
    assert outbox.status()["pending"] == len(ids)
    # Not due again before the backoff: nothing is tried.
    assert deliver_due(outbox, send, now=t0 + 5).failed == {}
    with start() as receiver:
        # Reopening the outbox (a restart) loses nothing.
        reopened = Outbox(outbox.engine, base_delay=10.0)
        second = deliver_due(reopened, send, now=t0 + 11)
        assert sorted(second.sent) == sorted(ids) and second.failed == {}
        assert deliver_due(reopened, send, now=t0 + 5000).sent == []
        assert reopened.status() == {"pending": 0, "sent": len(ids), "dead": 0}
        if hasattr(receiver, "wait"):
            receiver.wait(len(ids))
        return receiver


def test_email_arrives_once_after_the_server_comes_up(outbox: Outbox) -> None:
    port = free_port()
    ids = _queue(outbox, "email")
    cfg = NotifyConfig(email=EmailConfig(host="127.0.0.1", port=port, timeout=3,
                                         to={"ot": ["ot@plant.example"],
                                             "default": ["soc@plant.example"]}))
    smtp = _down_then_up(outbox, cfg, ids, lambda: SmtpReceiver(port))
    got = [m for _, m in smtp.messages]
    assert sorted(m["Message-ID"] for m in got) == sorted(f"<{i}@otshield>" for i in ids)
    assert all(rcpt == ["ot@plant.example"] for rcpt, _ in smtp.messages)
    assert got[0]["X-Otshield-Severity"] == "critical"
    assert "body" in got[0].get_payload()


def test_webhook_arrives_once_with_idempotency_key_and_signature(
        outbox: Outbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import hmac
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    port = free_port()
    ids = _queue(outbox, "webhook")
    cfg = NotifyConfig(webhook=WebhookConfig(url=f"http://127.0.0.1:{port}/hook",
                                             secret_env="HOOK_SECRET", timeout=3))
    hook = _down_then_up(outbox, cfg, ids, lambda: WebhookReceiver(port))
    assert sorted(b["id"] for b, _ in hook.bodies) == sorted(ids)
    for body, headers in hook.bodies:
        assert headers["Idempotency-Key"] == body["id"]
        raw = json.dumps(body, sort_keys=True).encode()
        assert headers["X-Otshield-Signature"] == "sha256=" + hmac.new(
            b"s3cret", raw, hashlib.sha256).hexdigest()


def test_syslog_cef_arrives_once(outbox: Outbox) -> None:
    port = free_port()
    ids = _queue(outbox, "syslog")
    cfg = NotifyConfig(syslog=SyslogConfig(host="127.0.0.1", port=port, protocol="tcp",
                                           timeout=3))
    sink = _down_then_up(outbox, cfg, ids, lambda: SyslogReceiver(port))
    assert len(sink.frames) == len(ids)
    frame = sink.frames[0]
    assert frame.startswith("<34>1 ")  # facility 4 (auth) * 8 + severity 2 (critical)
    assert "CEF:0|otshield|otshield|" in frame
    assert sorted(f.split("externalId=")[1].split(" ")[0] for f in sink.frames) == sorted(ids)
    # Extension values escape '=' and new lines; the header escapes '|'.
    assert any("msg=body 0 \\= a|b\\nline 2" in f for f in sink.frames)


def test_cef_escaping() -> None:
    n = new_notification("syslog", "a|b\\c", "x=y\nz")
    line = cef_line(n)
    assert "|a\\|b\\\\c|" in line
    assert "msg=x\\=y\\nz" in line


def test_a_message_without_a_receiver_stays_queued(outbox: Outbox) -> None:
    ids = _queue(outbox, "webhook", 1)
    report = deliver_due(outbox, {}, now=time.time())
    assert report.failed == {ids[0]: "no webhook receiver configured"}
    assert outbox.pending_ids() == ids


def test_old_undeliverable_messages_are_kept_as_dead(tmp_path: Path) -> None:
    box = Outbox(connect(str(tmp_path / "o.db")), give_up_after=60.0)
    msg = new_notification("webhook", "s", "b")
    box.enqueue(msg, now=0.0)
    report = deliver_due(box, {}, now=msg.created + 3600)
    assert report.dead == [msg.id]
    assert box.status()["dead"] == 1


def test_notify_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "notify.yaml"
    bad.write_text("email:\n  host: mail\n  prot: 25\n")
    with pytest.raises(ConfigError, match=r"notify\.yaml"):
        load_notify_config(bad)
    bad.write_text("syslog: {host: s, protocol: carrier-pigeon}\n")
    with pytest.raises(ConfigError, match="udp or tcp"):
        load_notify_config(bad)
    good = tmp_path / "ok.yaml"
    good.write_text("webhook: {url: 'http://127.0.0.1:9/x'}\nsyslog: {host: s}\n")
    cfg = load_notify_config(good)
    assert cfg.webhook is not None and cfg.syslog is not None and cfg.syslog.port == 514

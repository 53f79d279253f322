"""Delivering notifications: e-mail over SMTP, an HTTP webhook, syslog (CEF) over UDP or TCP,
configured from a YAML file.

``notify.yaml``::

    email:
      host: mail.plant.example      # SMTP relay
      port: 587
      starttls: true                # or ssl: true for port 465
      username: otshield            # optional; the password comes from the environment
      password_env: OTSHIELD_SMTP_PASSWORD
      from: otshield@plant.example
      to:                           # playbook role -> addresses; 'default' for the rest
        ot: [ot-oncall@plant.example]
        default: [soc@plant.example]
    webhook:
      url: https://chat.plant.example/hooks/otshield
      secret_env: OTSHIELD_WEBHOOK_SECRET   # signs the body: X-Otshield-Signature (HMAC-SHA256)
      headers: {X-Team: ot-security}
      timeout: 10
    syslog:
      host: siem.plant.example
      port: 514
      protocol: udp                 # or tcp (RFC 6587 octet counting)
      facility: 4

Secrets never sit in the file: only the name of the environment variable that holds them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from otshield.errors import ConfigError, OtshieldError
from otshield.respond.notify.message import Notification, email_message, syslog_frame, webhook_body
from otshield.yamlsource import line_of, read_yaml

__all__ = ["EmailConfig", "NotifyConfig", "SyslogConfig", "WebhookConfig", "load_notify_config",
           "senders"]


class EmailConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str = ""
    password_env: str = ""
    sender: str = msgspec.field(name="from", default="otshield@localhost")
    to: dict[str, list[str]] = {}
    timeout: float = 10.0


class WebhookConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    secret_env: str = ""
    headers: dict[str, str] = {}
    timeout: float = 10.0
    verify_tls: bool = True


class SyslogConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str
    port: int = 514
    protocol: str = "udp"
    facility: int = 4
    timeout: float = 5.0


class NotifyConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: EmailConfig | None = None
    webhook: WebhookConfig | None = None
    syslog: SyslogConfig | None = None


def load_notify_config(path: Path) -> NotifyConfig:
    data = read_yaml(path, "notification settings")
    try:
        cfg = msgspec.convert(data or {}, NotifyConfig)
    except msgspec.ValidationError as exc:
        text = str(exc)
        key = text.split("$.")[-1].split(".")[0].split("`")[0] if "$." in text else None
        line = line_of(data, key) if key and isinstance(data, dict) and key in data else None
        raise ConfigError(f"{path}{':' + str(line) if line else ''}: {text}") from None
    if cfg.syslog is not None and cfg.syslog.protocol not in ("udp", "tcp"):
        raise ConfigError(f"{path}: syslog protocol is udp or tcp, not {cfg.syslog.protocol!r}")
    return cfg


def _email_sender(cfg: EmailConfig) -> Callable[[Notification], None]:
    def send(n: Notification) -> None:
        recipients = cfg.to.get(n.to_role) or cfg.to.get("default") or []
        if not recipients:
            raise OtshieldError(f"no e-mail address for role {n.to_role or 'default'!r}")
        msg = email_message(n, cfg.sender, recipients)
        try:
            client: smtplib.SMTP
            if cfg.ssl:
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with client:
                if cfg.starttls:
                    client.starttls(context=ssl.create_default_context())
                if cfg.username:
                    client.login(cfg.username, os.environ.get(cfg.password_env, ""))
                client.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise OtshieldError(f"SMTP {cfg.host}:{cfg.port}: {exc}") from None
    return send


def _webhook_sender(cfg: WebhookConfig) -> Callable[[Notification], None]:
    def send(n: Notification) -> None:
        body = webhook_body(n)
        headers = {"Content-Type": "application/json", "Idempotency-Key": n.id,
                   "User-Agent": "otshield-notify", **cfg.headers}
        secret = os.environ.get(cfg.secret_env, "") if cfg.secret_env else ""
        if secret:
            headers["X-Otshield-Signature"] = "sha256=" + hmac.new(
                secret.encode(), body, hashlib.sha256).hexdigest()
        try:
            resp = httpx.post(cfg.url, content=body, headers=headers, timeout=cfg.timeout,
                              verify=cfg.verify_tls)
        except httpx.HTTPError as exc:
            raise OtshieldError(f"webhook {cfg.url}: {exc}") from None
        if resp.status_code >= 300:
            raise OtshieldError(f"webhook {cfg.url}: HTTP {resp.status_code}")
    return send


def _syslog_sender(cfg: SyslogConfig) -> Callable[[Notification], None]:
    def send(n: Notification) -> None:
        tcp = cfg.protocol == "tcp"
        frame = syslog_frame(n, cfg.facility, tcp=tcp)
        try:
            if tcp:
                with socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout) as s:
                    s.sendall(frame)
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(frame, (cfg.host, cfg.port))
        except OSError as exc:
            raise OtshieldError(f"syslog {cfg.protocol}://{cfg.host}:{cfg.port}: {exc}") \
                from None
    return send


def senders(cfg: NotifyConfig) -> dict[str, Callable[[Notification], None]]:
    """channel -> sender for every configured channel."""
    out: dict[str, Any] = {}
    if cfg.email is not None:
        out["email"] = _email_sender(cfg.email)
    if cfg.webhook is not None:
        out["webhook"] = _webhook_sender(cfg.webhook)
    if cfg.syslog is not None:
        out["syslog"] = _syslog_sender(cfg.syslog)
    return out

"""A notification, and its renderings: an e-mail, a webhook JSON body, a syslog CEF line.

Each notification has a stable id created once, when it is queued; every delivery attempt
carries it (``Message-ID`` of the e-mail, ``Idempotency-Key`` header of the webhook, ``externalId``
in CEF), so a receiver can tell a retry from a new message.

CEF (ArcSight Common Event Format, revision 25): ``CEF:Version|Device Vendor|Device Product|
Device Version|Signature ID|Name|Severity|Extension``; in the header ``\\`` and ``|`` are escaped,
in extension values ``\\`` and ``=`` are escaped and new lines become ``\\n``. Sent inside an RFC
5424 syslog message.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import msgspec

from otshield import __version__

__all__ = ["CHANNELS", "Notification", "cef_line", "email_message", "new_notification",
           "syslog_frame", "webhook_body"]

CHANNELS = ("email", "webhook", "syslog")
_CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
_SYSLOG_SEVERITY = {"info": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    channel: str
    """email, webhook or syslog."""
    subject: str
    body: str
    severity: str = "high"
    to_role: str = ""
    """For e-mail: the playbook role whose addresses receive it (the configuration maps roles
    to addresses)."""
    incident_id: str = ""
    run_id: str = ""
    step: str = ""
    created: float = 0.0
    fields: dict[str, str] = {}


def new_notification(channel: str, subject: str, body: str, **kw: object) -> Notification:
    return msgspec.convert({"id": uuid.uuid4().hex, "channel": channel, "subject": subject,
                            "body": body, "created": time.time(), **kw}, Notification)


def email_message(n: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = n.subject
    msg["Message-ID"] = f"<{n.id}@otshield>"
    msg["Date"] = format_datetime(datetime.fromtimestamp(n.created or time.time(), UTC))
    msg["X-Otshield-Severity"] = n.severity
    if n.incident_id:
        msg["X-Otshield-Incident"] = n.incident_id
    msg.set_content(n.body)
    return msg


def webhook_body(n: Notification) -> bytes:
    return json.dumps({"id": n.id, "subject": n.subject, "body": n.body,
                       "severity": n.severity, "incident_id": n.incident_id,
                       "run_id": n.run_id, "step": n.step, "created": n.created,
                       "fields": n.fields}, sort_keys=True).encode()


def _cef_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _cef_value(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "")
            .replace("\n", "\\n"))


def cef_line(n: Notification) -> str:
    ext = {"externalId": n.id, "msg": n.body, "cs1Label": "incident", "cs1": n.incident_id,
           "cs2Label": "playbookRun", "cs2": n.run_id, "cs3Label": "step", "cs3": n.step,
           "rt": str(int((n.created or time.time()) * 1000)), **n.fields}
    head = "|".join(_cef_header(v) for v in (
        "CEF:0", "otshield", "otshield", __version__, "otshield.notify",
        n.subject, str(_CEF_SEVERITY.get(n.severity, 5))))
    return head + "|" + " ".join(f"{k}={_cef_value(v)}" for k, v in ext.items() if v)


def syslog_frame(n: Notification, facility: int = 4, tcp: bool = False) -> bytes:
    """An RFC 5424 message carrying the CEF line; for TCP with RFC 6587 octet counting."""
    pri = facility * 8 + _SYSLOG_SEVERITY.get(n.severity, 4)
    stamp = datetime.fromtimestamp(n.created or time.time(), UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    host = socket.gethostname() or "-"
    msg = f"<{pri}>1 {stamp} {host} otshield - notify - {cef_line(n)}".encode()
    return f"{len(msg)} ".encode() + msg if tcp else msg

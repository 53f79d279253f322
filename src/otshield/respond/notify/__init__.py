"""Notifications by e-mail, webhook and syslog (CEF), through a persistent outbox."""

from otshield.respond.notify.message import Notification, new_notification
from otshield.respond.notify.outbox import DeliveryReport, Outbox, deliver_due
from otshield.respond.notify.senders import NotifyConfig, load_notify_config, senders

__all__ = ["DeliveryReport", "Notification", "NotifyConfig", "Outbox", "deliver_due",
           "load_notify_config", "new_notification", "senders"]

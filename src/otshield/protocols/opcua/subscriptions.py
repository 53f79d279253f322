"""Decoders of the monitored item (OPC 10000-4, 5.12) and subscription (5.13) service
sets: what is monitored, subscription parameters, and the notifications Publish delivers."""

from __future__ import annotations

from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.body import (
    MAX_ITEMS,
    Body,
    Decoder,
    add_node,
    attribute_name,
    read_value_id,
    results_tail,
)
from otshield.protocols.opcua.constants import (
    MONITORING_MODES,
    TIMESTAMPS_TO_RETURN,
    status_name,
)
from otshield.protocols.opcua.events import (
    OpcuaDataChange,
    OpcuaMonitoredItem,
    OpcuaPublish,
    OpcuaSubscription,
)

__all__ = ["REQUESTS", "RESPONSES"]

_DATA_CHANGE = 811  # DataChangeNotification_Encoding_DefaultBinary
_EVENT_LIST = 916  # EventNotificationList_Encoding_DefaultBinary
_STATUS_CHANGE = 820  # StatusChangeNotification_Encoding_DefaultBinary


# -- monitored items (5.12) ------------------------------------------------------------------------

def _create_monitored_req(r: Reader, b: Body) -> None:
    sub = r.u32()
    ttr = r.u32()
    b.timestamps_to_return = TIMESTAMPS_TO_RETURN.get(ttr, str(ttr))
    n = r.count("ItemsToCreate", 30)
    items: list[OpcuaMonitoredItem] = []
    for i in range(n):
        node, attribute, _range = read_value_id(r)
        mode = r.u32()
        handle = r.u32()
        interval = r.f64()
        r.extension_object()  # Filter
        queue = r.u32()
        r.boolean()  # DiscardOldest
        if i < MAX_ITEMS:
            items.append(OpcuaMonitoredItem(
                node_id=node, attribute=attribute_name(attribute),
                monitoring_mode=MONITORING_MODES.get(mode, str(mode)), client_handle=handle,
                sampling_interval=interval, queue_size=queue))
            add_node(b, node)
        else:
            b.truncated = True
    b.monitored = items
    b.subscription = OpcuaSubscription(subscription_id=sub)


def _create_monitored_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 23)
    results: list[tuple[int, int]] = []
    for i in range(n):
        status = r.status_code()
        item_id = r.u32()
        r.f64()  # RevisedSamplingInterval
        r.u32()  # RevisedQueueSize
        r.extension_object()  # FilterResult
        if i < MAX_ITEMS:
            results.append((status, item_id))
    r.diagnostic_infos()
    b.monitored_results = results
    b.statuses = tuple(s for s, _ in results)


def _subscription_items_req(r: Reader, b: Body) -> None:
    """DeleteMonitoredItems / SetMonitoringMode: SubscriptionId, [mode,] item ids."""
    sub = r.u32()
    if b.service == "SetMonitoringMode":
        r.u32()  # MonitoringMode
    n = r.count("MonitoredItemIds", 4)
    r.skip(4 * n, "MonitoredItemIds")
    b.subscription = OpcuaSubscription(subscription_id=sub)


# -- subscriptions (5.13) --------------------------------------------------------------------------

def _create_subscription_req(r: Reader, b: Body) -> None:
    sub = r.u32() if b.service == "ModifySubscription" else None
    interval = r.f64()
    lifetime = r.u32()
    keepalive = r.u32()
    max_notif = r.u32()
    enabled = r.boolean() if b.service == "CreateSubscription" else None
    priority = r.u8()
    b.subscription = OpcuaSubscription(
        subscription_id=sub, publishing_interval=interval, lifetime_count=lifetime,
        max_keep_alive_count=keepalive, max_notifications_per_publish=max_notif,
        publishing_enabled=enabled, priority=priority)


def _create_subscription_resp(r: Reader, b: Body) -> None:
    sub = r.u32() if b.service == "CreateSubscription" else None
    interval = r.f64()
    lifetime = r.u32()
    keepalive = r.u32()
    b.subscription = OpcuaSubscription(
        subscription_id=sub, revised_publishing_interval=interval,
        revised_lifetime_count=lifetime, revised_max_keep_alive_count=keepalive)


def _ids_req(r: Reader, b: Body) -> None:
    """DeleteSubscriptions / SetPublishingMode / TransferSubscriptions: subscription ids."""
    if b.service == "SetPublishingMode":
        r.boolean()  # PublishingEnabled
    n = r.count("SubscriptionIds", 4)
    if n:
        b.subscription = OpcuaSubscription(subscription_id=r.u32())  # the first one
    r.skip(4 * max(0, n - 1), "SubscriptionIds")


def _publish_req(r: Reader, b: Body) -> None:
    n = r.count("SubscriptionAcknowledgements", 8)
    r.skip(8 * n, "SubscriptionAcknowledgements")
    b.publish = OpcuaPublish(acknowledgements=n)


def _notification_message(r: Reader, b: Body) -> tuple[int, str | None, int, list[OpcuaDataChange],
                                                        int, str | None]:
    seq = r.u32()
    publish_time = r.datetime()
    n = r.count("NotificationData", 3)
    changes: list[OpcuaDataChange] = []
    events = 0
    status_change: str | None = None
    for _ in range(n):
        numeric, _text, data = r.extension_object()
        if data is None:
            continue
        d = Reader(data)
        if numeric == _DATA_CHANGE:
            k = d.count("MonitoredItems", 5)
            for _j in range(k):
                handle = d.u32()
                value = d.data_value()
                if len(changes) < MAX_ITEMS:
                    changes.append(OpcuaDataChange(client_handle=handle, value=value))
                else:
                    b.truncated = True
        elif numeric == _EVENT_LIST:
            events += d.count("Events", 4)
        elif numeric == _STATUS_CHANGE:
            status_change = status_name(d.status_code())
    return seq, publish_time, n, changes, events, status_change


def _publish_resp(r: Reader, b: Body) -> None:
    sub = r.u32()
    k = r.count("AvailableSequenceNumbers", 4)
    r.skip(4 * k, "AvailableSequenceNumbers")
    more = r.boolean()
    seq, publish_time, n, changes, events, status_change = _notification_message(r, b)
    results_tail(r, b)
    b.publish = OpcuaPublish(subscription_id=sub, sequence_number=seq, publish_time=publish_time,
                             more_notifications=more, notifications=n,
                             data_changes=tuple(changes) or None, events=events or None,
                             status_change=status_change)


def _republish_req(r: Reader, b: Body) -> None:
    sub = r.u32()
    seq = r.u32()
    b.publish = OpcuaPublish(subscription_id=sub, sequence_number=seq)


def _republish_resp(r: Reader, b: Body) -> None:
    seq, publish_time, n, changes, events, status_change = _notification_message(r, b)
    b.publish = OpcuaPublish(sequence_number=seq, publish_time=publish_time, notifications=n,
                             data_changes=tuple(changes) or None, events=events or None,
                             status_change=status_change)


def _transfer_resp(r: Reader, b: Body) -> None:
    n = r.count("Results", 8)
    statuses = []
    for _ in range(n):
        statuses.append(r.status_code())
        k = r.count("AvailableSequenceNumbers", 4)
        r.skip(4 * k, "AvailableSequenceNumbers")
    b.statuses = tuple(statuses)
    r.diagnostic_infos()


REQUESTS: dict[str, Decoder] = {
    "CreateMonitoredItems": _create_monitored_req,
    "DeleteMonitoredItems": _subscription_items_req,
    "SetMonitoringMode": _subscription_items_req,
    "CreateSubscription": _create_subscription_req,
    "ModifySubscription": _create_subscription_req,
    "SetPublishingMode": _ids_req,
    "DeleteSubscriptions": _ids_req,
    "TransferSubscriptions": _ids_req,
    "Publish": _publish_req,
    "Republish": _republish_req,
}

RESPONSES: dict[str, Decoder] = {
    "CreateMonitoredItems": _create_monitored_resp,
    "DeleteMonitoredItems": results_tail,
    "SetMonitoringMode": results_tail,
    "CreateSubscription": _create_subscription_resp,
    "ModifySubscription": _create_subscription_resp,
    "SetPublishingMode": results_tail,
    "DeleteSubscriptions": results_tail,
    "TransferSubscriptions": _transfer_resp,
    "Publish": _publish_resp,
    "Republish": _republish_resp,
}

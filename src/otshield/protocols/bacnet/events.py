"""BACnet event records, for BACnet/IP (UDP) and BACnet/Ethernet (LLC) alike.

- ``bacnet``: one application-layer transaction: a confirmed request with its reply
  (SimpleACK, ComplexACK, Error, Reject or Abort), emitted on the reply or, unanswered, when the
  request times out or the flow/capture ends; or one unconfirmed request (Who-Is, I-Am, COV and
  event notifications, time synchronisation...).
- ``bacnet_network``: one BVLC management message (BVLC-Result, BDT/FDT reads and writes,
  Register-Foreign-Device...) or one network-layer message (Who-Is-Router-To-Network...).

BACnet/IP events carry IP addresses and ports, BACnet/Ethernet events MAC addresses. The
source is the side that sent the request.
"""

from __future__ import annotations

import msgspec

from otshield.events import LinkEvent, ecs
from otshield.protocols.bacnet.tags import Value

__all__ = ["BacnetEvent", "BacnetNetworkEvent", "BacnetProperty"]


class BacnetProperty(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One property reference of ReadPropertyMultiple / WritePropertyMultiple / a COV
    notification, with its value(s) or the error a ReadPropertyMultiple-ACK gave for it."""

    object_type: str | None = None
    object_instance: int | None = None
    property: str
    array_index: int | None = None
    values: list[Value] | None = None
    values_truncated: bool = False
    priority: int | None = None
    error_class: str | None = None
    error_code: str | None = None


class BacnetEvent(LinkEvent, frozen=True, kw_only=True, tag="bacnet", rename=ecs()):
    """One BACnet application-layer transaction (clause 20, services of clauses 13-17)."""

    medium: str
    """``ip`` (BACnet/IP, Annex J) or ``ethernet`` (ISO 8802-2 LLC, clause 7)."""
    pdu_type: str
    """confirmed-request or unconfirmed-request (the reply's type for a reply whose request
    was not seen)."""
    service: str
    """Service name (``readProperty``, ``who-Is``) or the number of an unknown choice."""
    service_choice: int | None = None
    """None for a Reject or Abort whose request was not seen."""
    function_class: str
    """read, write, control, program, config, identify, security or other."""
    invoke_id: int | None = None
    answered: bool | None = None
    """None for unconfirmed services, which have no reply."""
    reply: str | None = None
    """simple-ack, complex-ack, error, reject or abort."""
    error_class: str | None = None
    error_code: str | None = None
    reject_reason: str | None = None
    abort_reason: str | None = None
    abort_by_server: bool | None = None
    response_time: float | None = None
    request_frame: int | None = None
    """Answered confirmed requests: the packet of the request (its first segment's when
    segmented); ``frame`` is the reply's."""
    request_missing: bool = False
    """A reply whose request was not seen (capture started late, or asymmetric routing)."""
    request_segments: int | None = None
    """Segmented requests: segments seen."""
    response_segments: int | None = None
    """Segmented ComplexACKs: segments seen."""
    segments_missing: bool = False
    """A segmented message could not be put back together (segment lost or beyond limits):
    service fields of that side are not decoded."""
    bvlc_function: str | None = None
    """BVLC function that carried the request (BACnet/IP)."""
    forwarded_from: str | None = None
    """Forwarded-NPDU: the B/IP address (``ip:port``) of the original sender."""
    dnet: int | None = None
    dadr: str | None = None
    snet: int | None = None
    sadr: str | None = None
    network_priority: str = "normal"
    object_type: str | None = None
    object_instance: int | None = None
    property: str | None = None
    array_index: int | None = None
    values: list[Value] | None = None
    """The property value(s) written, read or notified, flattened (first 32)."""
    values_truncated: bool = False
    priority: int | None = None
    """WriteProperty priority (1-16) or event notification priority."""
    properties: list[BacnetProperty] | None = None
    """ReadPropertyMultiple / WritePropertyMultiple / COV notification references (first 64):
    request references completed by the ACK's values and errors."""
    properties_truncated: bool = False
    device_instance: int | None = None
    """I-Am, I-Have, notifications: the device object instance."""
    max_apdu: int | None = None
    """I-Am: the largest APDU the device accepts (octets)."""
    segmentation: str | None = None
    max_apdu_accepted: int | None = None
    """Confirmed requests: the largest reply APDU the requester accepts (octets)."""
    max_segments_accepted: int | None = None
    """Confirmed requests accepting segmented replies: how many segments (None unspecified,
    65 for more than 64)."""
    vendor_id: int | None = None
    vendor_name: str | None = None
    low_limit: int | None = None
    high_limit: int | None = None
    object_name: str | None = None
    process_id: int | None = None
    lifetime: int | None = None
    """SubscribeCOV lifetime (s); notifications: time remaining (s)."""
    issue_confirmed: bool | None = None
    cancel: bool | None = None
    """SubscribeCOV without lifetime and confirmation choice: a cancellation."""
    state: str | None = None
    """ReinitializeDevice state (coldstart, warmstart...); DeviceCommunicationControl
    enable/disable; AcknowledgeAlarm acknowledged event state."""
    password_present: bool | None = None
    """The request carried a password (never recorded)."""
    duration: int | None = None
    """DeviceCommunicationControl time duration (minutes)."""
    file_access: str | None = None
    """stream or record."""
    file_start: int | None = None
    file_count: int | None = None
    """Octets (stream) or records requested/written/returned."""
    end_of_file: bool | None = None
    time: str | None = None
    """TimeSynchronization / UTCTimeSynchronization date and time."""
    event_type: str | None = None
    notify_type: str | None = None
    notification_class: int | None = None
    to_state: str | None = None
    private_service: int | None = None
    """PrivateTransfer service number (with vendor_id)."""
    range: str | None = None
    """ReadRange: position, sequence, time or all."""
    item_count: int | None = None
    """ReadRange-ACK item count."""


class BacnetNetworkEvent(LinkEvent, frozen=True, kw_only=True, tag="bacnet_network",
                         rename=ecs()):
    """One BVLC management message (Annex J.2) or network-layer message (6.4)."""

    medium: str
    function_class: str
    """identify, read, config, security or other."""
    bvlc_function: str | None = None
    bvlc_result: str | None = None
    bvlc_result_code: int | None = None
    ttl: int | None = None
    """Register-Foreign-Device time-to-live (s)."""
    address: str | None = None
    """Forwarded-NPDU original B/IP address, Delete-FDT-Entry entry (``ip:port``)."""
    entries: list[str] | None = None
    """Broadcast or foreign device table entries (first 64)."""
    message: str | None = None
    """Network-layer message name (or its number)."""
    message_type: int | None = None
    vendor_id: int | None = None
    networks: list[int] | None = None
    reject_reason: str | None = None
    ports: int | None = None
    """Initialize-Routing-Table(-Ack) port count (0 asks for the table)."""
    dnet: int | None = None
    dadr: str | None = None
    snet: int | None = None
    sadr: str | None = None
    hop_count: int | None = None

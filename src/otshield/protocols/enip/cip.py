"""CIP explicit messages: Message Router request and response headers, service names and the
function class of a service.

Reference: ODVA CIP Networks Library Volume 1, 2-4.1 (Message Router request: service, request
path size in words, padded EPATH, data) and 2-4.2 (response: service with bit 7 set, reserved
byte, general status, additional status size in words, additional status words, data);
appendix A (service codes: 0x01-0x31 common, 0x32-0x4A reserved, 0x4B-0x63 object specific,
0x64-0x7F reserved).
"""

from __future__ import annotations

import struct

import msgspec

from otshield.errors import Malformed
from otshield.protocols.enip.constants import (
    CIP_CLASS_SERVICES,
    CIP_COMMON_SERVICES,
    DIAGNOSTIC_CLASSES,
    LOGIX_SERVICES,
    LOGIX_TAG_CLASSES,
    SERVICE_FUNCTIONS,
)
from otshield.protocols.enip.epath import PathInfo, parse_path

__all__ = [
    "CipRequest",
    "CipResponse",
    "display_name",
    "function_of",
    "is_reserved_service",
    "parse_request",
    "parse_response",
    "service_name",
]

_NO_PATH = PathInfo()


class CipRequest(msgspec.Struct, frozen=True, gc=False):
    """A Message Router request. ``path_error`` is set (and ``path`` empty) when the request
    path could not be decoded; the rest of the request is still usable."""

    service: int
    path: PathInfo
    data: bytes
    path_error: str | None = None


class CipResponse(msgspec.Struct, frozen=True, gc=False):
    """A Message Router response (``service`` without the reply bit)."""

    service: int
    status: int
    extended: tuple[int, ...]
    data: bytes


def parse_request(msg: bytes) -> CipRequest:
    """A request: service, path (words), padded EPATH, data."""
    if len(msg) < 2:
        raise Malformed("cip.invalid_length", f"request of {len(msg)} bytes")
    service = msg[0]
    if service & 0x80:
        raise Malformed("cip.invalid_length", "a reply where a request was expected")
    end = 2 + 2 * msg[1]
    if end > len(msg):
        raise Malformed("cip.invalid_length",
                        f"path of {msg[1]} words runs past the {len(msg)}-byte request")
    try:
        path = parse_path(msg[2:end])
    except Malformed as m:
        return CipRequest(service, _NO_PATH, msg[end:], m.detail)
    return CipRequest(service, path, msg[end:])


def parse_response(msg: bytes) -> CipResponse:
    """A response: service | 0x80, reserved, general status, additional status."""
    if len(msg) < 4:
        raise Malformed("cip.invalid_length", f"reply of {len(msg)} bytes")
    words = msg[3]
    end = 4 + 2 * words
    if end > len(msg):
        raise Malformed("cip.invalid_length",
                        f"{words} additional status words run past the {len(msg)}-byte reply")
    extended = struct.unpack_from(f"<{words}H", msg, 4) if words else ()
    return CipResponse(msg[0] & 0x7F, msg[2], extended, msg[end:])


def service_name(service: int, class_id: int | None, symbolic: bool) -> str | None:
    """The name of ``service`` on ``class_id``: object-specific names first, then the common
    services, then the Logix tag services for symbolic paths. None when unknown."""
    if class_id is not None:
        table = CIP_CLASS_SERVICES.get(class_id)
        if table is not None:
            name = table.get(service)
            if name is not None:
                return name
    name = CIP_COMMON_SERVICES.get(service)
    if name is not None:
        return name
    if symbolic or class_id in LOGIX_TAG_CLASSES:
        return LOGIX_SERVICES.get(service)
    return None


def display_name(service: int, name: str | None) -> str:
    """``name``, or for a code without one ``Object_Specific_0x4c`` (a vendor or object service
    this decoder has no table for) or ``Reserved_0x40``."""
    if name is not None:
        return name
    kind = "Reserved" if is_reserved_service(service) else "Object_Specific"
    return f"{kind}_0x{service:02x}"


def is_reserved_service(service: int) -> bool:
    """Codes no object may define (Vol. 1, appendix A-1): a sign of fuzzing or a broken
    client, unlike unnamed object-specific codes (0x4B-0x63), which are ordinary."""
    return (0x1D <= service <= 0x31 and service not in CIP_COMMON_SERVICES) or (
        0x32 <= service <= 0x4A) or service >= 0x64 or service == 0


def function_of(name: str | None, class_id: int | None) -> str:
    """read, write, program, control, identify, diagnostics or other."""
    function = SERVICE_FUNCTIONS.get(name, "other") if name is not None else "other"
    if function == "read":
        if class_id == 0x01:
            return "identify"
        if class_id in DIAGNOSTIC_CLASSES:
            return "diagnostics"
    return function

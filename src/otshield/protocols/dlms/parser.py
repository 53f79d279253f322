"""DLMS/COSEM (IEC 62056, the metering application layer) over TCP/UDP: framing, probe and
first-level parsing of both transports seen on IP networks.

* The TCP/UDP wrapper (IEC 62056-47, DLMS UA Green Book section 7.3.3.4; port 4059): version
  (u16 = 1), source wPort, destination wPort, length (u16) of the APDU that follows.
* HDLC frames sent as they are over TCP (IEC 62056-46, Green Book section 8.4; seen on port
  4060): flag 0x7E, frame format (type 0xA, segmentation bit, 11-bit length), destination and
  source addresses (1, 2 or 4 bytes, the last with bit 0 set), control byte, header check
  sequence, information field, frame check sequence, flag. I and UI frames start their
  information field with the LLC header E6 E6 00 (to the server) or E6 E7 00 (from it); a
  segment without it continues the previous APDU.

The first byte of an APDU is its tag (Green Book section 9.5, xDLMS and ACSE APDUs): AARQ/AARE
(association), RLRQ/RLRE (release), get/set/action requests and responses (plain, glo- and
ded-ciphered), notifications. For plain get/set/action normal requests the COSEM interface class
is read (class id u16 after the request type and invoke-id byte): image transfer (class 18)
makes a set or action ``program``, security setup / association (64, 15, 12) ``security``,
clock (8) ``config``.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.identify import FactValue, Unit

__all__ = ["APDUS", "frame_size", "parse", "probe"]

APDUS: dict[int, tuple[str, str]] = {
    0x01: ("initiate_request", "security"), 0x05: ("read_request", "read"),
    0x06: ("write_request", "write"), 0x08: ("initiate_response", "security"),
    0x0C: ("read_response", "read"), 0x0D: ("write_response", "write"),
    0x0E: ("confirmed_service_error", "other"), 0x0F: ("data_notification", "other"),
    0x16: ("unconfirmed_write_request", "write"), 0x18: ("information_report", "other"),
    0x60: ("aarq", "security"), 0x61: ("aare", "security"), 0x62: ("rlrq", "security"),
    0x63: ("rlre", "security"),
    0xC0: ("get_request", "read"), 0xC1: ("set_request", "write"),
    0xC2: ("event_notification", "other"), 0xC3: ("action_request", "control"),
    0xC4: ("get_response", "read"), 0xC5: ("set_response", "write"),
    0xC7: ("action_response", "control"),
    0xC8: ("glo_get_request", "read"), 0xC9: ("glo_set_request", "write"),
    0xCA: ("glo_event_notification", "other"), 0xCB: ("glo_action_request", "control"),
    0xCC: ("glo_get_response", "read"), 0xCD: ("glo_set_response", "write"),
    0xCF: ("glo_action_response", "control"),
    0xD0: ("ded_get_request", "read"), 0xD1: ("ded_set_request", "write"),
    0xD2: ("ded_event_notification", "other"), 0xD3: ("ded_action_request", "control"),
    0xD4: ("ded_get_response", "read"), 0xD5: ("ded_set_response", "write"),
    0xD7: ("ded_action_response", "control"), 0xD8: ("exception_response", "other"),
    0xD9: ("access_request", "other"), 0xDA: ("access_response", "other"),
    0xDB: ("general_glo_ciphering", "other"), 0xDC: ("general_ded_ciphering", "other"),
    0xDD: ("general_ciphering", "other"), 0xDF: ("general_signing", "other"),
    0xE0: ("general_block_transfer", "other"),
}
"""APDU tag -> (name, function class)."""

CLASS_OVERRIDES: dict[int, tuple[str, str]] = {
    18: ("image_transfer", "program"), 64: ("security_setup", "security"),
    15: ("association_ln", "security"), 12: ("association_sn", "security"),
    8: ("clock", "config"), 70: ("disconnect_control", "control"),
    9: ("script_table", "control"), 22: ("single_action_schedule", "config"),
}
"""COSEM interface class of a set/action -> (name, function class) (Blue Book section 4)."""

HDLC_U_FRAMES: dict[int, str] = {0x83: "hdlc_snrm", 0x63: "hdlc_ua", 0x43: "hdlc_disc",
                                 0x0F: "hdlc_dm", 0x87: "hdlc_frmr", 0x03: "hdlc_ui"}
"""HDLC unnumbered frame control bytes (poll/final bit cleared)."""


def frame_size(buf: bytes) -> int | None:
    if len(buf) < 3:
        return None
    if buf[0] == 0x7E:
        if buf[1] >> 4 != 0xA:
            raise Malformed("dlms.bad_header", f"HDLC frame format 0x{buf[1]:02x}")
        return ((buf[1] & 0x07) << 8 | buf[2]) + 2
    if buf[0] == 0 and buf[1] == 1:
        if len(buf) < 8:
            return None
        return 8 + (buf[6] << 8 | buf[7])
    raise Malformed("dlms.bad_header", f"neither a wrapper (00 01) nor an HDLC flag: "
                                       f"{bytes(buf[:2]).hex()}")


def probe(buf: bytes, from_client: bool) -> bool:
    """Wrapper: version 1, non-zero wPorts (0 is "no station"), the length of exactly what
    follows, a known APDU tag (Modbus/TCP transaction 1 also starts 00 01: its protocol id 0
    fails the wPort test); HDLC: flag, format type 0xA, the closing flag where the length
    says."""
    if len(buf) >= 9 and buf[0] == 0 and buf[1] == 1:
        return (8 + (buf[6] << 8 | buf[7]) == len(buf) and buf[8] in APDUS
                and buf[2:4] != b"\x00\x00" and buf[4:6] != b"\x00\x00")
    if len(buf) >= 9 and buf[0] == 0x7E and buf[1] >> 4 == 0xA:
        end = ((buf[1] & 0x07) << 8 | buf[2]) + 1
        return end < len(buf) and buf[end] == 0x7E
    return False


def _apdu(apdu: bytes, facts: dict[str, FactValue] | None) -> Unit:
    tag = apdu[0]
    name, fclass = APDUS.get(tag, (f"unknown_apdu_0x{tag:02x}", "other"))
    if tag in (0xC1, 0xC3) and len(apdu) >= 5 and apdu[1] == 1:  # set/action normal
        class_id = apdu[3] << 8 | apdu[4]
        over = CLASS_OVERRIDES.get(class_id)
        if over is not None:
            name, fclass = f"{name} {over[0]}", over[1]
    request = None if fclass == "other" else name.endswith("request") or tag in (0x60, 0x62)
    return Unit(name, fclass, request, facts)


def parse(frame: bytes, from_client: bool) -> Unit:
    if not frame:
        raise Malformed("dlms.truncated", "empty unit")
    if frame[0] == 0x7E:
        return _hdlc(frame)
    if len(frame) < 9 or frame[0] != 0 or frame[1] != 1:
        raise Malformed("dlms.bad_header", f"wrapper version {bytes(frame[:2]).hex()}")
    length = frame[6] << 8 | frame[7]
    if length != len(frame) - 8:
        raise Malformed("dlms.bad_length", f"wrapper length {length}, {len(frame) - 8} bytes")
    facts: dict[str, FactValue] = {"source_wport": frame[2] << 8 | frame[3],
                                   "destination_wport": frame[4] << 8 | frame[5]}
    return _apdu(frame[8:], facts)


def _address(frame: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for i in range(pos, min(pos + 4, end)):
        value = value << 7 | frame[i] >> 1
        if frame[i] & 1:
            return value, i + 1
    raise Malformed("dlms.bad_header", "HDLC address without its end bit")


def _hdlc(frame: bytes) -> Unit:
    if len(frame) < 9 or frame[-1] != 0x7E:
        raise Malformed("dlms.truncated", f"{len(frame)}-byte HDLC frame without closing flag")
    end = len(frame) - 3  # before FCS and flag
    dest, pos = _address(frame, 3, end)
    src, pos = _address(frame, pos, end)
    if pos >= end:
        raise Malformed("dlms.truncated", "HDLC frame without control byte")
    control = frame[pos]
    facts: dict[str, FactValue] = {"hdlc_destination": dest, "hdlc_source": src}
    if control & 1 == 0 or control & 0xEF == 0x03:  # I frame or UI frame: information follows
        info = frame[pos + 3:end]  # after control and HCS
        if info[:2] in (b"\xe6\xe6", b"\xe6\xe7") and len(info) > 3:
            return _apdu(info[3:], facts)
        return Unit("hdlc_segment" if info else "hdlc_i", "other", None, facts)
    if control & 0x03 == 0x01:  # S frame: RR, RNR...
        return Unit("hdlc_rr" if control & 0x0F == 0x01 else "hdlc_rnr", "other", None, facts)
    name = HDLC_U_FRAMES.get(control & 0xEF, f"hdlc_u_0x{control:02x}")
    return Unit(name, "other", None, facts)

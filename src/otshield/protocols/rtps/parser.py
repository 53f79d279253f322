"""OMG DDS-RTPS (Real-Time Publish-Subscribe wire protocol, DDSI-RTPS 2.x; UDP 7400 and up by
the port mapping of section 9.6.1.1, any UDP flow by the ``RTPS`` magic): probe and first-level
parsing.

Message (section 8.3.3 / 9.4): ``RTPS``, protocol version (major, minor), vendor id (2 bytes),
GUID prefix (12 bytes), then submessages: id (u8), flags (u8; bit 0 = little-endian), length
to the next header (u16 in that byte order), body. Discovery DATA submessages (section 9.6.2:
writer entity ids 0x000100c2 participant SPDP, 0x000003c2 / 0x000004c2 SEDP publications /
subscriptions) carry a parameter list (PL_CDR) whose PID_TOPIC_NAME (0x0005), PID_TYPE_NAME
(0x0007) and PID_ENTITY_NAME (0x0062) are strings: the topic and participant names are kept.
Vendor ids: the OMG DDS vendor id registry.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.identify import FactValue, Unit

__all__ = ["SUBMESSAGES", "VENDORS", "parse", "probe"]

VENDORS: dict[int, str] = {
    0x0101: "RTI Connext DDS", 0x0102: "ADLINK OpenSplice DDS", 0x0103: "OCI OpenDDS",
    0x0104: "MilSoft", 0x0105: "Kongsberg InterCOM DDS", 0x0106: "TwinOaks CoreDX DDS",
    0x0107: "Lakota Technical Solutions", 0x0108: "ICOUP Consulting", 0x0109: "ETRI Diamond DDS",
    0x010A: "RTI Connext DDS Micro", 0x010B: "ADLINK Vortex Cafe", 0x010C: "PrismTech",
    0x010D: "ADLINK Vortex Lite", 0x010E: "Technicolor Qeo", 0x010F: "eProsima Fast DDS",
    0x0110: "Eclipse Cyclone DDS", 0x0111: "GurumNetworks GurumDDS", 0x0112: "Atostek RustDDS",
    0x0113: "Nanjing Zhenrong ZRDDS", 0x0114: "S2E Software Dust DDS",
}

SUBMESSAGES: dict[int, str] = {
    0x01: "PAD", 0x06: "ACKNACK", 0x07: "HEARTBEAT", 0x08: "GAP", 0x09: "INFO_TS",
    0x0C: "INFO_SRC", 0x0D: "INFO_REPLY_IP4", 0x0E: "INFO_DST", 0x0F: "INFO_REPLY",
    0x12: "NACK_FRAG", 0x13: "HEARTBEAT_FRAG", 0x15: "DATA", 0x16: "DATA_FRAG",
    0x30: "SEC_BODY", 0x31: "SEC_PREFIX", 0x32: "SEC_POSTFIX", 0x33: "SRTPS_PREFIX",
    0x34: "SRTPS_POSTFIX",
}
"""Submessage ids of RTPS 2.x (section 9.4.5.1.1, DDS Security 7.3.6)."""

_SPDP_WRITER = b"\x00\x01\x00\xc2"
_SEDP_WRITERS = (b"\x00\x00\x03\xc2", b"\x00\x00\x04\xc2")
_PIDS = {0x0005: "topic", 0x0062: "participant_name"}
MAX_TOPICS = 16
MAX_NAME = 256


def probe(buf: bytes, from_client: bool) -> bool:
    return buf[:4] == b"RTPS" and len(buf) >= 16 and buf[4] == 2


def parse(frame: bytes, from_client: bool) -> Unit:
    """Counts submessage kinds; the unit's kind is the list of kinds (``INFO_TS+DATA``)."""
    if frame[:4] != b"RTPS":
        raise Malformed("rtps.bad_magic", f"starts with {bytes(frame[:4])!r}")
    if len(frame) < 20:
        if frame[8:16] == b"NDDSPING":  # RTI Connext's liveliness ping: header + tag
            return Unit("ping", "diagnostics", None, {"vendor_id": frame[6] << 8 | frame[7]})
        raise Malformed("rtps.truncated", f"{len(frame)}-byte message, header is 20")
    facts: dict[str, FactValue] = {
        "version": f"{frame[4]}.{frame[5]}", "vendor_id": frame[6] << 8 | frame[7],
        "guid_prefix": frame[8:20].hex()}
    kinds: list[str] = []
    pos = 20
    n = len(frame)
    topics = 0
    while pos + 4 <= n:
        sid = frame[pos]
        flags = frame[pos + 1]
        little = flags & 1
        size = (frame[pos + 2] | frame[pos + 3] << 8) if little else (
            frame[pos + 2] << 8 | frame[pos + 3])
        body = pos + 4
        end = body + size if size or sid in (0x01, 0x0C) else n  # 0: runs to the end (8.3.3.2)
        if end > n:
            raise Malformed("rtps.truncated",
                            f"submessage 0x{sid:02x} of {size} bytes past the end")
        name = SUBMESSAGES.get(sid, f"0x{sid:02x}")
        if not kinds or kinds[-1] != name:
            kinds.append(name)
        if sid == 0x15 and flags & 0x04 and end - body >= 16:  # DATA with serialized data
            writer = frame[body + 8:body + 12]
            if writer == _SPDP_WRITER or writer in _SEDP_WRITERS:
                topics = _discovery(frame, body, end, flags, facts, topics)
        pos = end
    if not kinds:
        kinds.append("empty")
    kind = "+".join(kinds[:4])
    fclass = "identify" if topics or "participant_name" in facts else "other"
    return Unit(kind, fclass, None, facts)


def _discovery(frame: bytes, body: int, end: int, flags: int, facts: dict[str, FactValue],
               topics: int) -> int:
    """Names in a discovery DATA: skip extraFlags, octetsToInlineQos, reader/writer ids and the
    sequence number (section 9.4.5.3), the inline QoS if any, then read the parameter list."""
    little = flags & 1
    to_qos = (frame[body + 2] | frame[body + 3] << 8) if little else (
        frame[body + 2] << 8 | frame[body + 3])
    pos = body + 4 + to_qos
    if flags & 0x02:  # inline QoS: a parameter list ending at PID_SENTINEL
        pos = _skip_params(frame, pos, end, little)
    if pos + 4 > end:
        return topics
    scheme = frame[pos] << 8 | frame[pos + 1]  # encapsulation: PL_CDR_BE 2, PL_CDR_LE 3
    if scheme not in (2, 3):
        return topics
    le = scheme == 3
    pos += 4
    while pos + 4 <= end:
        pid = (frame[pos] | frame[pos + 1] << 8) if le else (frame[pos] << 8 | frame[pos + 1])
        plen = (frame[pos + 2] | frame[pos + 3] << 8) if le else (
            frame[pos + 2] << 8 | frame[pos + 3])
        pos += 4
        if pid == 1 or pos + plen > end:  # PID_SENTINEL or a broken list
            break
        key = _PIDS.get(pid & 0x3FFF)
        if key is not None and plen >= 4:
            slen = int.from_bytes(frame[pos:pos + 4], "little" if le else "big")
            text = frame[pos + 4:pos + 4 + min(slen, plen - 4)].rstrip(b"\x00")
            value = text[:MAX_NAME].decode("utf-8", "replace")
            if key == "topic":
                if topics < MAX_TOPICS:
                    facts["topic:" + value] = True  # one fact per distinct topic name
                    topics += 1
            elif key == "participant_name":
                facts.setdefault(key, value)
        pos += plen
    return topics


def _skip_params(frame: bytes, pos: int, end: int, little: int) -> int:
    while pos + 4 <= end:
        pid = (frame[pos] | frame[pos + 1] << 8) if little else (frame[pos] << 8 | frame[pos + 1])
        plen = (frame[pos + 2] | frame[pos + 3] << 8) if little else (
            frame[pos + 2] << 8 | frame[pos + 3])
        pos += 4 + plen
        if pid == 1:
            break
    return pos

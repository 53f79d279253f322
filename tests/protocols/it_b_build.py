"""Test kit for the IT protocols B decoders (SMB, RDP, DHCP, NTP, SNMP, Telnet, FTP, NetBIOS):
a stand-in flow for session unit tests, capture writers, message builders written from the
specifications (independently of the decoders), and the corpus captures that contain each
protocol.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from flowkit import RecordingFlow
from otshield.config import Settings
from otshield.events import AnomalyEvent, Event
from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet, ipv4, udp_datagram
from resegment import one_byte, random_sizes
from support import PCAPS, CorpusFile, corpus, corpus_files, decode, tshark_fields

__all__ = [
    "CLIENT",
    "SERVER",
    "FakeFlow",
    "Splitter",
    "anomaly_codes",
    "ber",
    "corpus_for",
    "decoded",
    "fields_of",
    "one_byte",
    "random_sizes",
    "strip",
    "tshark_plain",
    "write_tcp",
    "write_udp",
]

Splitter = Callable[[int], list[int]]
CLIENT = ("10.0.0.10", 50123)
SERVER = ("10.0.0.20", 445)

# -- a FlowContext for session unit tests -----------------------------------------------------


class FakeFlow(RecordingFlow):
    """Session-test flow for the IT decoders."""

    def __init__(self, transport: str = "tcp", client: tuple[str, int] = CLIENT,
                 server: tuple[str, int] = SERVER, settings: Settings | None = None) -> None:
        super().__init__(client, server, transport, settings)

    def step(self) -> FakeFlow:
        """Advance to the next packet (frame number and time)."""
        self.frame += 1
        self.ts += 0.25
        return self


_POSITION = {"ts", "frame", "flow_id", "community_id", "src_ip", "src_port", "dst_ip",
             "dst_port", "transport"}


def fields_of(event: Event) -> dict[str, Any]:
    """An event's protocol fields (attribute names, defaults omitted), without the common ones."""
    out: dict[str, Any] = {}
    for name in event.__struct_fields__:
        if name in _POSITION:
            continue
        value = getattr(event, name)
        if value is not None:
            # through JSON, as the event is written: tuples become lists, structs dicts
            out[name] = msgspec.json.decode(msgspec.json.encode(value))
    return out


def strip(events: Iterable[Event], tag: str) -> list[dict[str, Any]]:
    return [fields_of(e) for e in events if e.__struct_config__.tag == tag]


def anomaly_codes(events: Iterable[Event], prefix: str = "") -> list[str]:
    return [e.code for e in events if isinstance(e, AnomalyEvent) and e.code.startswith(prefix)]


# -- writing captures --------------------------------------------------------------------------


def write_udp(path: Path, datagrams: Sequence[tuple[tuple[str, int], tuple[str, int], bytes]],
              start: float = 1_700_000_000.0, step: float = 0.01) -> Path:
    """A pcap of UDP datagrams ``(src, dst, payload)`` over Ethernet/IPv4."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        ts = start
        for i, ((sip, sport), (dip, dport), payload) in enumerate(datagrams):
            seg = udp_datagram(sip, dip, sport, dport, payload)
            frame = ethernet("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                             ipv4(sip, dip, 17, seg, ident=i + 1))
            w.write(ts, frame)
            ts += step
    return path


def write_tcp(path: Path, messages: Sequence[tuple[bool, bytes]],
              client: tuple[str, int] = CLIENT, server: tuple[str, int] = SERVER,
              split: Splitter | None = None) -> Path:
    """A whole TCP conversation (handshake, each message acknowledged, teardown); with ``split``
    every payload is cut into the segment sizes it returns."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        conv = TcpConversation(w, client, server).handshake()
        for from_client, payload in messages:
            conv.send(from_client, payload, segments=split(len(payload)) if split else None)
        conv.close()
    return path


# -- BER encoding for SNMP test messages (X.690 8.1) ---------------------------------------------


def ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def ber_int(value: int, tag: int = 0x02) -> bytes:
    n = max(1, (value.bit_length() + 8) // 8)
    return ber(tag, value.to_bytes(n, "big", signed=True))


def ber_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return ber(0x06, bytes(out))


# -- corpus ------------------------------------------------------------------------------------

# Captures in which tshark 4.0 dissects each protocol, from `tshark -q -z io,phs` over the
# corpus (the MANIFEST's "main protocols" column lists only the top five layers, so it misses
# the Windows background traffic in most industrial captures).
_CORPUS: dict[str, tuple[str, ...]] = {
    "smb": (
        "emreekin/dnp3/DNP3Value.pcap", "emreekin/enip/ControlLogix_FactoryTalk_HMI.pcap",
        "emreekin/iec104/104IPValue.pcap", "emreekin/iec104/104LocalValue.pcap",
        "emreekin/iec104/104deneme2.pcap", "emreekin/iec104/similator.pcap",
        "icsnpp/c37.118/C37.118_2PMUsInSync_TCP.pcap",
        "icsnpp/profinet/profinet_io_cm_mixed_1.pcap", "iti/iec104/090813_diverse.pcap",
        "iti/iec61850/Sample_File_MMS_and_GOOSE.pcap",
        "iti/quickdraw/CL5000EIP-Change_Port_Configuration_Attempt.pcap",
        "iti/quickdraw/CL5000EIP-Control_Protocol_Change_Attempt.pcap",
        "iti/quickdraw/CL5000EIP-Software_Upload_Failure.pcap",
        "lemay-modbus/CnC_uploading_exe_modbus_6RTU_with_operate.pcap",
        "lemay-modbus/characterization_modbus_6RTU_with_operate.pcap",
        "lemay-modbus/moving_two_files_modbus_6RTU.pcap",
        "malcolm-pcap/attacks/cve-2022-26809-4.pcap", "malcolm-pcap/it/KRB5.pcap",
        "malcolm-pcap/it/Telnet.pcap", "malcolm-pcap/it/Tunnels.pcap", "zeek/it/smb2.pcap",
        "qut-dnp3/Control_testing_frequent_attacker.pcap",
        "qut-dnp3/Flooding_testing_infrequent_attacker.pcap",
        "qut-dnp3/Injection_testing_frequent_attacker.pcap",
        "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
        "qut-dnp3/Replay_testing_frequent_attacker.pcap",
    ),
    "smb2": ("malcolm-pcap/attacks/cve-2022-26809-4.pcap", "malcolm-pcap/it/KRB5.pcap",
             "zeek/it/smb2.pcap"),
    "dhcp": ("emreekin/iec104/similator.pcap", "icsnpp/profinet/profinet_io_cm_mixed_1.pcap",
             "malcolm-pcap/it/DHCP.pcap", "malcolm-pcap/it/TFTP.pcap",
             "malcolm-pcap/it/Tunnels.pcap", "suricata-verify/attacks/dhcp-request-flood.pcap"),
    "dhcpv6": ("emreekin/dnp3/DNP3Value.pcap", "emreekin/iec104/104IPValue.pcap",
               "emreekin/iec104/104deneme2.pcap", "icsnpp/bsap/bsap-serial_example.pcapng",
               "icsnpp/profinet/profinet_io_cm_mixed_1.pcap", "iti/beckhoff-ads/addroute.pcapng",
               "iti/beckhoff-ads/beckoffiplink.pcapng", "iti/s7/wrapup.pcapng",
               "lemay-modbus/characterization_modbus_6RTU_with_operate.pcap",
               "malcolm-pcap/it/DHCP.pcap"),
    "ntp": ("iti/iec61850/Sample_File_MMS_and_GOOSE.pcap", "malcolm-pcap/it/Tunnels.pcap",
            "qut-dnp3/Control_testing_frequent_attacker.pcap",
            "qut-dnp3/Flooding_testing_infrequent_attacker.pcap",
            "qut-dnp3/Injection_testing_frequent_attacker.pcap",
            "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
            "qut-dnp3/Replay_testing_frequent_attacker.pcap"),
    "snmp": ("emreekin/it/snmp-ipv4.pcap", "iti/iec61850/Sample_File_MMS_and_GOOSE.pcap"),
    "telnet": ("malcolm-pcap/it/Telnet.pcap",),
    "ftp": ("zeek/it/ftp-cwd-navigation.pcap",),
    "nbns": (
        "emreekin/dnp3/DNP3Value.pcap", "emreekin/enip/ControlLogix_FactoryTalk_HMI.pcap",
        "emreekin/iec61850/iedscout.pcapng", "icsnpp/bsap/bsap-serial_example.pcapng",
        "icsnpp/profinet/profinet_io_cm_mixed_1.pcap", "iti/beckhoff-ads/addroute.pcapng",
        "iti/beckhoff-ads/beckoffiplink.pcapng", "iti/iec61850/Sample_File_MMS_and_GOOSE.pcap",
        "iti/quickdraw/CL5000EIP-Control_Protocol_Change_Attempt.pcap",
        "iti/quickdraw/CL5000EIP-Software_Upload_Failure.pcap", "iti/s7/wrapup.pcapng",
        "lemay-modbus/CnC_uploading_exe_modbus_6RTU_with_operate.pcap",
        "lemay-modbus/moving_two_files_modbus_6RTU.pcap", "malcolm-pcap/it/Telnet.pcap",
        "malcolm-pcap/it/Tunnels.pcap", "qut-dnp3/Control_testing_frequent_attacker.pcap",
        "qut-dnp3/Flooding_testing_infrequent_attacker.pcap",
        "qut-dnp3/Injection_testing_frequent_attacker.pcap",
        "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
        "qut-dnp3/Replay_testing_frequent_attacker.pcap",
    ),
    "nbdgm": (
        "emreekin/dnp3/DNP3Value.pcap", "emreekin/enip/ControlLogix_FactoryTalk_HMI.pcap",
        "emreekin/iec104/104IPValue.pcap", "emreekin/iec104/104LocalValue.pcap",
        "emreekin/iec104/104deneme2.pcap", "emreekin/iec104/similator.pcap",
        "icsnpp/c37.118/C37.118_2PMUsInSync_TCP.pcap",
        "icsnpp/profinet/profinet_io_cm_mixed_1.pcap", "iti/iec104/090813_diverse.pcap",
        "iti/quickdraw/CL5000EIP-Change_Port_Configuration_Attempt.pcap",
        "iti/quickdraw/CL5000EIP-Control_Protocol_Change_Attempt.pcap",
        "iti/quickdraw/CL5000EIP-Software_Upload_Failure.pcap",
        "lemay-modbus/characterization_modbus_6RTU_with_operate.pcap",
        "lemay-modbus/moving_two_files_modbus_6RTU.pcap", "malcolm-pcap/it/Telnet.pcap",
        "malcolm-pcap/it/Tunnels.pcap", "qut-dnp3/Control_testing_frequent_attacker.pcap",
        "qut-dnp3/Flooding_testing_infrequent_attacker.pcap",
        "qut-dnp3/Injection_testing_frequent_attacker.pcap",
        "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
        "qut-dnp3/Replay_testing_frequent_attacker.pcap",
    ),
    "rdp": (),
}
_LAYERS = {"smb": ("smb", "smb2", "nbss"), "smb2": ("smb2",), "dhcp": ("dhcp",),
           "dhcpv6": ("dhcpv6",), "ntp": ("ntp",), "snmp": ("snmp",), "telnet": ("telnet",),
           "ftp": ("ftp",), "nbns": ("nbns",), "nbdgm": ("nbdgm",), "rdp": ("rdp",)}


def corpus_for(protocol: str, large: bool = True) -> list[CorpusFile]:
    """Corpus captures holding ``protocol``: the scanned list plus any capture whose MANIFEST
    row names the tshark layer (new captures are picked up). ``large=False`` leaves out the
    24-hour QUT captures (10k-48k packets)."""
    known = {c.path: c for c in corpus()}
    paths = {PCAPS / p for p in _CORPUS[protocol]}
    layers = set(_LAYERS[protocol])
    for c in corpus_files():
        # "dhcpv6(8), smb(1)": exact layer names (a substring test would take dhcpv6 for dhcp)
        named = {part.strip().split("(")[0] for part in c.main_protocols.split(",")}
        if layers & named:
            paths.add(c.path)
    out = [known[p] for p in sorted(paths) if p in known]
    if not large:
        out = [c for c in out if not c.path.name.endswith("attacker.pcap")]
    return out


@functools.cache
def decoded(path: Path) -> tuple[Event, ...]:
    """Events of a corpus capture, decoded once per test session (shared by the test modules)."""
    return tuple(decode(path))


def split_sizes(*sizes: int) -> Splitter:
    """A splitter that cuts at the given sizes, then leaves the rest whole."""
    def split(n: int) -> list[int]:
        return [*sizes, n]
    return split


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


_TUNNELS = frozenset({"gre", "vxlan", "gtp", "teredo", "l2tp", "erspan", "pppoes", "mpls",
                      "etherip", "ayiya", "icmp", "icmpv6"})


def _encapsulated(protocols: str) -> bool:
    layers = protocols.split(":")
    return sum(layer in ("ip", "ipv6") for layer in layers) > 1 or not _TUNNELS.isdisjoint(layers)


def tshark_plain(path: Path, fields: list[str], display_filter: str) -> tuple[list[list[str]],
                                                                             int]:
    """tshark rows (frame number first) for packets otshield can see, and how many were left
    out: tshark also dissects protocols inside tunnels (GRE, VXLAN...) and inside ICMP error
    quotes, which the otshield netstack does not decapsulate (by design: it reads the
    outermost IP packet only)."""
    rows = tshark_fields(path, [*fields, "frame.protocols"], display_filter)
    plain = [r[:-1] for r in rows if not _encapsulated(r[-1])]
    return plain, len(rows) - len(plain)


# -- SMB builders ([MS-SMB2] 2.2, [MS-CIFS] 2.2, [MS-NLMP] 2.2), field by field -------------------

SMB2_NEGOTIATE, SMB2_SESSION_SETUP, SMB2_LOGOFF, SMB2_TREE_CONNECT = 0, 1, 2, 3
SMB2_TREE_DISCONNECT, SMB2_CREATE, SMB2_CLOSE, SMB2_READ, SMB2_WRITE = 4, 5, 6, 8, 9
SMB2_IOCTL, SMB2_CANCEL, SMB2_QUERY_DIRECTORY, SMB2_QUERY_INFO, SMB2_SET_INFO = 11, 12, 14, 16, 17


def nbss(payload: bytes, kind: int = 0) -> bytes:
    """NetBIOS session message header (RFC 1002 4.3.1; 24-bit length on TCP 445)."""
    return bytes([kind]) + len(payload).to_bytes(3, "big") + payload


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def smb2(command: int, message_id: int, body: bytes, *, response: bool = False,
         status: int = 0, session_id: int = 0, tree_id: int = 0, flags: int = 0,
         next_command: int = 0, async_id: int | None = None) -> bytes:
    """A 64-byte SMB2 header ([MS-SMB2] 2.2.1.1 sync / 2.2.1.2 async) + body."""
    f = flags | (0x1 if response else 0) | (0x2 if async_id is not None else 0)
    word5 = async_id if async_id is not None else tree_id << 32  # Reserved(4) + TreeId(4)
    head = struct.pack("<4sHHIHHIIQQQ16s", b"\xfeSMB", 64,  # ProtocolId, StructureSize
                       1,                                  # CreditCharge
                       status,                             # Status (ChannelSequence)
                       command, 1,                         # Command, CreditRequest
                       f, next_command, message_id, word5, session_id, b"\x00" * 16)
    return head + body


def compound(*messages: bytes) -> bytes:
    """Chain messages with NextCommand, each padded to 8 bytes ([MS-SMB2] 3.2.4.1.4)."""
    out = b""
    for i, m in enumerate(messages):
        if i < len(messages) - 1:
            m += b"\x00" * (-len(m) % 8)
            m = m[:20] + struct.pack("<I", len(m)) + m[24:]
        out += m
    return out


def negotiate_req(dialects: Sequence[int], guid: bytes = b"\x11" * 16,
                  contexts: bytes = b"", context_count: int = 0) -> bytes:
    body = struct.pack("<HHHHI16s", 36, len(dialects), 0x01, 0, 0x7F, guid)  # signing enabled
    dialect_bytes = b"".join(struct.pack("<H", d) for d in dialects)
    if contexts:
        end = 64 + 36 + len(dialect_bytes)
        pad = -end % 8
        body += struct.pack("<IHH", end + pad, context_count, 0) + dialect_bytes + b"\0" * pad
        return body + contexts
    return body + struct.pack("<Q", 0) + dialect_bytes


def negotiate_context(ctype: int, data: bytes) -> bytes:
    """[MS-SMB2] 2.2.3.1: ContextType, DataLength, Reserved, Data, padded to 8 bytes."""
    raw = struct.pack("<HHI", ctype, len(data), 0) + data
    return raw + b"\0" * (-len(raw) % 8)


def negotiate_resp(dialect: int, guid: bytes = b"\x22" * 16, blob: bytes = b"",
                   security_mode: int = 0x03) -> bytes:
    return struct.pack("<HHHH16sIIIIQQHHI", 65, security_mode, dialect, 0, guid, 0x2F,
                       8 << 20, 8 << 20, 8 << 20, 0, 0, 128 if blob else 0, len(blob), 0) + (
        blob or b"\x00")


def session_setup_req(blob: bytes) -> bytes:
    return struct.pack("<HBBIIHHQ", 25, 0, 0x01, 0x01, 0, 88, len(blob), 0) + blob


def session_setup_resp(blob: bytes, session_flags: int = 0) -> bytes:
    return struct.pack("<HHHH", 9, session_flags, 72 if blob else 0, len(blob)) + (blob or b"\0")


def tree_connect_req(path: str) -> bytes:
    raw = utf16(path)
    return struct.pack("<HHHH", 9, 0, 72, len(raw)) + raw


def tree_connect_resp(share_type: int) -> bytes:
    return struct.pack("<HBBIII", 16, share_type, 0, 0, 0, 0x001F01FF)


def create_req(name: str, disposition: int = 1, access: int = 0x00120089,
               options: int = 0x40) -> bytes:
    raw = utf16(name)
    return struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 0x7, disposition,
                       options, 120, len(raw), 0, 0) + (raw or b"\0")


def create_resp(file_id: bytes, action: int, end_of_file: int = 0) -> bytes:
    return struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, action, 0, 0, 0, 0, 0, end_of_file,
                       0x20, 0, file_id, 0, 0) + b"\0"


def write_req(file_id: bytes, offset: int, data: bytes) -> bytes:
    return struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), offset, file_id, 0, 0, 0, 0, 0) + data


def write_resp(count: int) -> bytes:
    return struct.pack("<HHIIHH", 17, 0, count, 0, 0, 0) + b"\0"


def read_req(file_id: bytes, offset: int, length: int) -> bytes:
    return struct.pack("<HBBIQ16sIIIHH", 49, 0, 0, length, offset, file_id, 1, 0, 0, 0, 0) + b"\0"


def read_resp(data: bytes) -> bytes:
    return struct.pack("<HBBIII", 17, 80, 0, len(data), 0, 0) + data


def close_req(file_id: bytes) -> bytes:
    return struct.pack("<HHI16s", 24, 1, 0, file_id)


def close_resp(end_of_file: int = 0) -> bytes:
    return struct.pack("<HHIQQQQQQI", 60, 1, 0, 0, 0, 0, 0, 0, end_of_file, 0x20)


def ioctl_req(ctl_code: int, file_id: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<HHI16sIIIIIIII", 57, 0, ctl_code, file_id, 120 if data else 0,
                       len(data), 0, 0, 0, 1024, 1, 0) + (data or b"\0")


def ioctl_resp(ctl_code: int, file_id: bytes) -> bytes:
    return struct.pack("<HHI16sIIIIII", 49, 0, ctl_code, file_id, 112, 0, 112, 0, 0, 0) + b"\0"


def set_info_req(file_id: bytes, info_class: int, buffer: bytes, info_type: int = 1) -> bytes:
    return struct.pack("<HBBIHHI16s", 33, info_type, info_class, len(buffer), 96, 0, 0,
                       file_id) + buffer


def query_info_req(file_id: bytes, info_type: int, info_class: int) -> bytes:
    return struct.pack("<HBBIHHIII16s", 41, info_type, info_class, 4096, 0, 0, 0, 0, 0,
                       file_id) + b"\0"


def query_info_resp(data: bytes = b"\0" * 24) -> bytes:
    return struct.pack("<HHI", 9, 72, len(data)) + data


def query_directory_req(file_id: bytes, pattern: str, info_class: int = 37) -> bytes:
    raw = utf16(pattern)
    return struct.pack("<HBBI16sHHI", 33, info_class, 0, 0, file_id, 96, len(raw), 65536) + raw


def simple(body_size: int = 4) -> bytes:
    """Bodies of two words: ECHO, CANCEL, LOGOFF, TREE_DISCONNECT, SET_INFO response..."""
    return struct.pack("<HH", body_size, 0) if body_size == 4 else struct.pack("<H", body_size)


def error_resp() -> bytes:
    return struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"


def _ntlm_field(payload: bytearray, base: int, data: bytes) -> bytes:
    offset = base + len(payload)
    payload += data
    return struct.pack("<HHI", len(data), len(data), offset)


def ntlm_negotiate(domain: str = "", workstation: str = "") -> bytes:
    """[MS-NLMP] 2.2.1.1, OEM strings, with a VERSION (10.0.19041)."""
    payload = bytearray()
    dom = _ntlm_field(payload, 40, domain.encode())
    ws = _ntlm_field(payload, 40, workstation.encode())
    return (b"NTLMSSP\x00" + struct.pack("<II", 1, 0xE2088297) + dom + ws
            + struct.pack("<BBH3xB", 10, 0, 19041, 15) + bytes(payload))


def ntlm_challenge(computer: str, domain: str, dns_computer: str, dns_domain: str) -> bytes:
    """[MS-NLMP] 2.2.1.2 with TargetInfo AV pairs (2.2.2.1) and a VERSION (6.1.7601)."""
    target = utf16(domain)
    info = b"".join(struct.pack("<HH", av, len(utf16(v))) + utf16(v) for av, v in (
        (2, domain), (1, computer), (4, dns_domain), (3, dns_computer))) + b"\0\0\0\0"
    payload = bytearray()
    tn = _ntlm_field(payload, 56, target)
    ti = _ntlm_field(payload, 56, info)
    return (b"NTLMSSP\x00" + struct.pack("<I", 2) + tn + struct.pack("<I", 0xE2898215)
            + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\0" * 8 + ti
            + struct.pack("<BBH3xB", 6, 1, 7601, 15) + bytes(payload))


def ntlm_authenticate(user: str, domain: str, workstation: str, nt_len: int = 62,
                      lm_len: int = 24) -> bytes:
    """[MS-NLMP] 2.2.1.3, Unicode strings; the responses are dummy bytes of the given sizes
    (24 bytes: NTLMv1, longer: NTLMv2)."""
    payload = bytearray()
    base = 88  # 64 fixed + VERSION (8) + MIC (16)
    lm = _ntlm_field(payload, base, b"\xaa" * lm_len)
    nt = _ntlm_field(payload, base, b"\xbb" * nt_len)
    dom = _ntlm_field(payload, base, utf16(domain))
    usr = _ntlm_field(payload, base, utf16(user))
    ws = _ntlm_field(payload, base, utf16(workstation))
    key = _ntlm_field(payload, base, b"\xcc" * 16)
    return (b"NTLMSSP\x00" + struct.pack("<I", 3) + lm + nt + dom + usr + ws + key
            + struct.pack("<I", 0xE2888215) + struct.pack("<BBH3xB", 10, 0, 19041, 15)
            + b"\0" * 16 + bytes(payload))


def spnego(token: bytes) -> bytes:
    """A SPNEGO negTokenResp carrying ``token`` as responseToken (RFC 4178 4.2.2), enough
    wrapping to prove the decoder finds the NTLMSSP message inside."""
    inner = b"\xa2" + _der_len(len(token) + 2 + len(_der_len(len(token)))) + b"\x04" + \
        _der_len(len(token)) + token
    seq = b"\x30" + _der_len(len(inner)) + inner
    return b"\xa1" + _der_len(len(seq)) + seq


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


SMB1_FLAGS2 = 0xC803  # Unicode, NT status, extended security, EAs, long names


def smb1(command: int, words: bytes, data: bytes, *, reply: bool = False, status: int = 0,
         tid: int = 0, pid: int = 0xFEFF, uid: int = 0, mid: int = 0,
         flags2: int = SMB1_FLAGS2) -> bytes:
    """[MS-CIFS] 2.2.3.1 header + parameter block (word count, words) + data block."""
    head = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", command, status,
                       0x98 if reply else 0x18,  # reply bit, case-insensitive, canonical
                       flags2, pid >> 16, b"\0" * 8, 0, tid, pid & 0xFFFF, uid, mid)
    return head + bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data


def smb1_negotiate_req(dialects: Sequence[str]) -> bytes:
    return smb1(0x72, b"", b"".join(b"\x02" + d.encode() + b"\0" for d in dialects))


def smb1_trans2(subcommand: int, mid: int, total_data: int = 0, params: bytes = b"",
                timeout: int = 0, tid: int = 0x800, uid: int = 0x800) -> bytes:
    """TRANSACTION2 request ([MS-CIFS] 2.2.4.46.1) with one setup word (the subcommand)."""
    param_off = 32 + 1 + 2 * 15 + 2 + 1  # header, word count, 15 words, byte count, pad
    words = struct.pack("<HHHHBBHIHHHHHBBH", len(params), total_data, 2, 4096, 0, 0, 0,
                        timeout, 0, len(params), param_off, 0, param_off + len(params), 1, 0,
                        subcommand)
    return smb1(0x32, words, b"\0" + params, mid=mid, tid=tid, uid=uid)


def resegmented_events_equal(path: Path, tmp: Path, protocols: set[str]) -> tuple[int, bool]:
    """Decode ``path`` and its replay with TCP payloads cut into random 1-64 byte segments;
    compare the events of ``protocols`` (and their anomalies). Returns (events, equal)."""
    from resegment import resegment

    def mine(events: Iterable[Event]) -> list[dict[str, Any]]:
        keep = [e for e in events if e.__struct_config__.tag in protocols or (
            isinstance(e, AnomalyEvent) and e.code.split(".")[0] in protocols)]
        return sorted((_no_position(e) for e in keep), key=repr)

    out = tmp / "re.pcap"
    resegment(path, out, random_sizes(13))
    a, b = mine(decoded(path)), mine(decode(out))
    return len(a), a == b


def _no_position(e: Event) -> dict[str, Any]:
    d = msgspec.to_builtins(e)
    return {k: v for k, v in d.items() if k not in ("@timestamp", "frame")}

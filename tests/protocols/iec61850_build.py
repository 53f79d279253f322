"""Builders for IEC 61850 GOOSE, GSE management and Sampled Values test frames, written from
IEC 61850-8-1 Annex A/C and 9-2 8.5 (BER per ITU-T X.690), plus helpers to write captures and
decode them with the GOOSE and SV decoders alone."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from otshield.capture import open_capture
from otshield.config import Settings
from otshield.events import AnomalyEvent, Event, LinkFields
from otshield.pcapwriter import PcapWriter, ethernet
from otshield.protocols.goose import SPEC as GOOSE_SPEC
from otshield.protocols.sv import SPEC as SV_SPEC
from support import decode_only

PUB_MAC = "00:30:a7:00:00:01"
GOOSE_DST = "01:0c:cd:01:00:01"
SV_DST = "01:0c:cd:04:00:01"
T0 = 1_700_000_000.0


# -- BER -------------------------------------------------------------------------------------

def tlv(tag: int, value: bytes) -> bytes:
    """One TLV with a low tag number identifier octet and a definite length (short form below
    128, else 0x81/0x82 long form)."""
    n = len(value)
    if n < 0x80:
        head = bytes([tag, n])
    elif n < 0x100:
        head = bytes([tag, 0x81, n])
    else:
        head = bytes([tag, 0x82]) + struct.pack("!H", n)
    return head + value


def uint(value: int) -> bytes:
    """Minimal two's complement octets of a non-negative INTEGER (leading 0 if the top bit is
    set)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def sint(value: int) -> bytes:
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


# -- MMS Data (allData) ----------------------------------------------------------------------

def d_bool(v: bool) -> bytes:
    return tlv(0x83, b"\x01" if v else b"\x00")


def d_bits(bits: str) -> bytes:
    """bit-string from '0'/'1' text: unused-bits octet then the bits, first bit first."""
    nbytes = (len(bits) + 7) // 8
    padded = bits.ljust(nbytes * 8, "0")
    raw = int(padded, 2).to_bytes(nbytes, "big") if bits else b""
    return tlv(0x84, bytes([nbytes * 8 - len(bits)]) + raw)


def d_int(v: int) -> bytes:
    return tlv(0x85, sint(v))


def d_uint(v: int) -> bytes:
    return tlv(0x86, uint(v))


def d_float(v: float) -> bytes:
    """floating-point: exponent width 8, IEEE single."""
    return tlv(0x87, b"\x08" + struct.pack("!f", v))


def d_double(v: float) -> bytes:
    return tlv(0x87, b"\x0b" + struct.pack("!d", v))


def d_octets(v: bytes) -> bytes:
    return tlv(0x89, v)


def d_visible(v: str) -> bytes:
    return tlv(0x8A, v.encode())


def d_binary_time(ms: int, days: int | None = None) -> bytes:
    raw = struct.pack("!I", ms) + (b"" if days is None else struct.pack("!H", days))
    return tlv(0x8C, raw)


def d_utc(sec: int, frac: int = 0, quality: int = 0x0A) -> bytes:
    return tlv(0x91, utc(sec, frac, quality))


def d_struct(*members: bytes) -> bytes:
    return tlv(0xA2, b"".join(members))


def d_array(*members: bytes) -> bytes:
    return tlv(0xA1, b"".join(members))


def utc(sec: int, frac: int = 0, quality: int = 0x0A) -> bytes:
    """UtcTime: 4 octets seconds, 3 octets fraction (/2**24), quality octet."""
    return struct.pack("!I", sec) + frac.to_bytes(3, "big") + bytes([quality])


# -- GOOSE -----------------------------------------------------------------------------------

def header(appid: int, apdu: bytes, reserved1: int = 0, reserved2: int = 0,
           length: int | None = None) -> bytes:
    """APPID, Length (8 + APDU unless given), Reserved 1, Reserved 2, then the APDU."""
    size = 8 + len(apdu) if length is None else length
    return struct.pack("!HHHH", appid, size, reserved1, reserved2) + apdu


def goose_pdu(data: Iterable[bytes], *, gocb_ref: str = "IED1LD0/LLN0$GO$gcb1",
              ttl: int = 2000, dat_set: str = "IED1LD0/LLN0$DS1", go_id: str | None = "GO1",
              t: bytes | None = None, st_num: int = 1, sq_num: int = 0,
              simulation: bool = False, conf_rev: int = 1, nds_com: bool = False,
              num_entries: int | None = None, security: bytes | None = None) -> bytes:
    """goosePdu [APPLICATION 1] with the fields in the order of IEC 61850-8-1 Annex A."""
    items = list(data)
    body = tlv(0x80, gocb_ref.encode()) + tlv(0x81, sint(ttl)) + tlv(0x82, dat_set.encode())
    if go_id is not None:
        body += tlv(0x83, go_id.encode())
    body += tlv(0x84, t if t is not None else utc(1_700_000_000, 0x800000))
    body += tlv(0x85, uint(st_num)) + tlv(0x86, uint(sq_num))
    body += tlv(0x87, b"\x01" if simulation else b"\x00")
    body += tlv(0x88, uint(conf_rev)) + tlv(0x89, b"\x01" if nds_com else b"\x00")
    body += tlv(0x8A, uint(len(items) if num_entries is None else num_entries))
    body += tlv(0xAB, b"".join(items))
    if security is not None:
        body += tlv(0xAC, security)
    return tlv(0x61, body)


def goose(appid: int = 0x0001, reserved1: int = 0, **kw: object) -> bytes:
    """A whole GOOSE frame payload (after the Ethertype)."""
    data = kw.pop("data", [d_bool(False), d_bits("0000000000000")])
    return header(appid, goose_pdu(data, **kw), reserved1)  # type: ignore[arg-type]


# -- Sampled Values --------------------------------------------------------------------------

def sample(values: Iterable[int], qualities: Iterable[int] | None = None) -> bytes:
    vals = list(values)
    quals = list(qualities) if qualities is not None else [0] * len(vals)
    return b"".join(struct.pack("!iI", v, q) for v, q in zip(vals, quals, strict=True))


LE_VALUES = [1000, -500, -500, 0, 23000, -11500, -11500, 0]
"""9-2LE sample: IA 1 A, IB/IC -0.5 A, IN 0, UA 230 V, UB/UC -115 V, UN 0."""


def sv_asdu(smp_cnt: int, *, sv_id: str = "MU01", dat_set: str | None = None,
            conf_rev: int = 1, refr_tm: bytes | None = None, smp_synch: int = 2,
            smp_rate: int | None = 80, values: bytes | None = None,
            smp_mod: int | None = None, gm_identity: bytes | None = None) -> bytes:
    body = tlv(0x80, sv_id.encode())
    if dat_set is not None:
        body += tlv(0x81, dat_set.encode())
    body += tlv(0x82, struct.pack("!H", smp_cnt)) + tlv(0x83, struct.pack("!I", conf_rev))
    if refr_tm is not None:
        body += tlv(0x84, refr_tm)
    body += tlv(0x85, bytes([smp_synch]))
    if smp_rate is not None:
        body += tlv(0x86, struct.pack("!H", smp_rate))
    body += tlv(0x87, values if values is not None else sample(LE_VALUES))
    if smp_mod is not None:
        body += tlv(0x88, struct.pack("!H", smp_mod))
    if gm_identity is not None:
        body += tlv(0x89, gm_identity)
    return tlv(0x30, body)


def sv(asdus: list[bytes], appid: int = 0x4000, no_asdu: int | None = None,
       security: bytes | None = None, reserved1: int = 0) -> bytes:
    """A whole SV frame payload: header + savPdu [APPLICATION 0]."""
    body = tlv(0x80, uint(len(asdus) if no_asdu is None else no_asdu))
    if security is not None:
        body += tlv(0xA1, security)
    body += tlv(0xA2, b"".join(asdus))
    return header(appid, tlv(0x60, body), reserved1)


# -- captures --------------------------------------------------------------------------------

Frame = tuple[float, int, bytes]
"""(packet time, Ethertype, payload after the Ethertype)."""


def write(path: Path, frames: Iterable[Frame], src: str = PUB_MAC, dst: str | None = None,
          vlan: int | None = None, pad: bool = False) -> Path:
    """Write Ethernet frames; ``pad`` fills each to the 60-octet Ethernet minimum and beyond
    with 4 extra zero octets (trailer after Length)."""
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for ts, ethertype, payload in frames:
            to = dst or (SV_DST if ethertype == 0x88BA else GOOSE_DST)
            frame = ethernet(src, to, ethertype, payload, vlan)
            if pad:
                frame = frame.ljust(60, b"\0") + b"\0" * 4
            w.write(ts, frame)
    return path


def decode61850(path: Path | str, settings: Settings | None = None) -> list[Event]:
    """Every event of a capture decoded with only the GOOSE and SV decoders registered."""
    return decode_only(path, GOOSE_SPEC, SV_SPEC, settings=settings)


class FakeLink:
    """A LinkContext that records what a session emits."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.ts = T0
        self.frame = 0
        self.src_mac = PUB_MAC
        self.dst_mac = GOOSE_DST
        self.vlan: int | None = None
        self.settings = settings or Settings()
        self.events: list[Event] = []

    def fields(self) -> LinkFields:
        return {"ts": self.ts, "frame": self.frame, "src_mac": self.src_mac,
                "dst_mac": self.dst_mac, "vlan": self.vlan}

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def anomaly(self, code: str, detail: str) -> None:
        self.events.append(AnomalyEvent(ts=self.ts, frame=self.frame, code=code, detail=detail,
                                        src_mac=self.src_mac))

    def step(self, dt: float = 0.001) -> None:
        self.ts += dt
        self.frame += 1

    def codes(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, AnomalyEvent)]


def link_payloads(path: Path, ethertypes: set[int]) -> dict[int, bytes]:
    """Frame number -> payload after the Ethertype, for the frames of ``ethertypes`` (VLAN tags
    removed), read with otshield's own capture reader and link-layer decoder."""
    from otshield.netstack import Packet, decode

    out: dict[int, bytes] = {}
    p = Packet()
    with open_capture(path) as reader:
        for number, (_ts, linktype, data) in enumerate(reader, 1):
            if decode(linktype, data, p) == "" and p.ethertype in ethertypes:
                out[number] = p.l2_payload
    return out


def rgoose(elements: list[tuple[int, bool, int, bytes]], spdu_number: int = 1,
           key_id: int = 0, iv: bytes = b"") -> bytes:
    """An R-GOOSE UDP payload (IEC 61850-90-5 11): CLTP UD header, session header (GOOSE
    session id 0xA1, common header 0x80), payload elements (type, simulation, APPID, APDU)."""
    payload = b"".join(struct.pack("!BBHH", tag, int(sim), appid, len(apdu)) + apdu
                       for tag, sim, appid, apdu in elements)
    common = (struct.pack("!IIH", 0, spdu_number, 2) + struct.pack("!IHI", 0, 0, key_id)
              + bytes([len(iv)]) + iv)
    session = bytes([0x80, len(common)]) + common
    body = bytes([0xA1, len(session)]) + session + struct.pack("!I", len(payload)) + payload
    return b"\x01\x40" + body


def udp_payloads(path: Path, port: int) -> dict[int, bytes]:
    """Frame number -> UDP payload of the datagrams to or from ``port``."""
    from otshield.netstack import Packet, decode

    out: dict[int, bytes] = {}
    p = Packet()
    with open_capture(path) as reader:
        for number, (_ts, linktype, data) in enumerate(reader, 1):
            if decode(linktype, data, p) is None and p.proto == 17 and port in (p.sport,
                                                                               p.dport):
                out[number] = p.payload
    return out

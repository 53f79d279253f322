"""Type stub of the C accelerator built from _cnetstack.c: the same Packet, decode and decode_l4
as the pure-Python reference in otshield.netstack (py_decode, py_decode_l4, PyPacket)."""

class Packet:
    """The decoded layers of the packet being processed; one instance is reused per engine."""

    src_mac: bytes
    dst_mac: bytes
    vlan: int | None
    ethertype: int
    l2_payload: bytes
    l3_off: int
    ipver: int
    src: bytes
    dst: bytes
    proto: int
    ttl: int
    ident: int
    frag: int
    ip_end: int
    l4_off: int
    sport: int
    dport: int
    seq: int
    ack: int
    tcp_flags: int
    payload: bytes

    def __init__(self) -> None: ...

_Data = bytes | bytearray | memoryview

def decode(linktype: int, data: _Data, packet: Packet, /) -> str | None: ...
def decode_l4(data: _Data, off: int, end: int, proto: int, packet: Packet, /) -> str | None: ...
def dnp3_crc(data: _Data, start: int, end: int, /) -> int: ...

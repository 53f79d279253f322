"""The demo plant's substation, building and IIoT corner: IEC 60870-5-104, IEC 61850 GOOSE,
BACnet/IP, MQTT and PROFINET DCP, written next to the factory traffic of :mod:`otshield.demo`.

What happens, per plant cycle: the SCADA master opens an IEC 104 link to a substation RTU
(STARTDT, general interrogation answered with measured values and breaker states, periodic S-frame
acknowledgements, STOPDT); a protection IED publishes GOOSE heartbeats; the building management
workstation reads a BACnet present-value; an edge gateway publishes tank telemetry to an MQTT
broker. In cycle 0 only: the SCADA master opens a breaker with a select-before-operate single
command, the IED publishes the resulting state change, BACnet devices are discovered (Who-Is /
I-Am), and the engineering workstation runs a PROFINET DCP Identify and then renames a device
with a DCP Set (the configuration change an OT team must see).

Encodings follow IEC 60870-5-104 (APCI 5.1-5.3, ASDU of IEC 60870-5-101 7.2), IEC 61850-8-1
Annex A (GOOSE APDU), ANSI/ASHRAE 135 Annex J and clause 20 (BVLC, NPDU, APDU), MQTT 3.1.1
(OASIS, section 3) and IEC 61158-6-10 (DCP); every packet dissects cleanly in tshark.
"""

from __future__ import annotations

import random
import struct
import time
from typing import Protocol

from otshield.pcapwriter import PcapWriter, TcpConversation, ethernet

__all__ = ["GridPart"]

SCADA = ("10.10.20.20", "00:50:56:00:20:20")
EWS = ("10.10.20.30", "00:50:56:00:20:30")
RTU104 = ("10.10.40.10", "00:20:4a:00:40:10")
IED_MAC = "00:09:8e:00:40:21"
GOOSE_DST = "01:0c:cd:01:00:01"
BMS = ("10.10.50.5", "00:50:56:00:50:05")
BACNET_CTRL = ("10.10.50.20", "00:40:ae:00:50:20")
BROKER = ("10.10.25.5", "00:50:56:00:25:05")
EDGE = ("10.10.30.50", "00:50:56:00:30:50")
PN_DEVICE_MAC = "00:1b:1b:00:30:61"
DCP_MULTICAST = "01:0e:cf:00:00:00"

_GOCB = b"IED21PROT/LLN0$GO$gcbTrip"
_DATSET = b"IED21PROT/LLN0$dsTrip"


class _Host(Protocol):
    """What the grid part needs of the demo plant (``otshield.demo._Plant``)."""

    w: PcapWriter
    rnd: random.Random
    t: float

    def tcp(self, client: tuple[str, str], server: tuple[str, str],
            port: int) -> TcpConversation: ...

    def udp(self, src: tuple[str, str], dst: tuple[str, str], sport: int, dport: int,
            payload: bytes, dst_mac: str | None = None) -> None: ...


# -- IEC 60870-5-104 ----------------------------------------------------------------------------
def apci_u(function: int) -> bytes:
    """U-format APDU: STARTDT act 0x07, con 0x0B; STOPDT act 0x13, con 0x23; TESTFR 0x43/0x83."""
    return bytes([0x68, 4, function, 0, 0, 0])


def apci_s(nr: int) -> bytes:
    return bytes([0x68, 4, 0x01, 0]) + struct.pack("<H", nr << 1)


def apci_i(ns: int, nr: int, asdu: bytes) -> bytes:
    return bytes([0x68, 4 + len(asdu)]) + struct.pack("<HH", ns << 1, nr << 1) + asdu


def asdu(type_id: int, cause: int, objects: list[bytes], ca: int = 1, negative: bool = False,
         sequence: bool = False) -> bytes:
    """ASDU with 1-octet cause + originator 0 and a 2-octet common address; ``objects`` are
    information objects each starting with its 3-octet IOA (only the first when ``sequence``)."""
    vsq = len(objects) | (0x80 if sequence else 0)
    cot = cause | (0x40 if negative else 0)
    return struct.pack("<BBBBH", type_id, vsq, cot, 0, ca) + b"".join(objects)


def ioa(address: int) -> bytes:
    return address.to_bytes(3, "little")


class Iec104Link:
    """Sequence numbers of one IEC 104 connection, kept right in both directions (APCI 5.1);
    the master acknowledges every w = 8 I-frames (5.5). Also used by the attack test plant."""

    def __init__(self, conv: TcpConversation) -> None:
        self.conv = conv
        self.sent = [0, 0]  # I-frames sent by [controlled station, controlling station]
        self.unacked = 0

    def send(self, from_master: bool, body: bytes) -> None:
        me = int(from_master)
        frame = apci_i(self.sent[me], self.sent[1 - me], body)
        self.sent[me] = (self.sent[me] + 1) & 0x7FFF
        self.conv.send(from_master, frame)
        if not from_master:
            self.unacked += 1
            if self.unacked >= 8:
                self.ack()

    def ack(self) -> None:
        """An S-frame from the master acknowledging what it has received."""
        self.conv.send(True, apci_s(self.sent[0]))
        self.unacked = 0


# -- IEC 61850 GOOSE ----------------------------------------------------------------------------
def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else b"\x82" + \
        struct.pack("!H", n)
    return bytes([tag]) + length + value


def _uint(tag: int, value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return _tlv(tag, raw)


def utc_time(ts: float) -> bytes:
    """IEC 61850-8-1 UtcTime: 32-bit seconds, 24-bit fraction, quality (10 accuracy bits)."""
    seconds = int(ts)
    fraction = int((ts - seconds) * (1 << 24)) & 0xFFFFFF
    return struct.pack("!I", seconds) + fraction.to_bytes(3, "big") + b"\x0a"


def goose_frame(ts: float, st_num: int, sq_num: int, tripped: bool, event_ts: float) -> bytes:
    """One GOOSE message of the trip control block: breaker trip boolean, its quality, and the
    breaker position (Dbpos: 01 open, 10 closed)."""
    data = (_tlv(0x83, b"\xff" if tripped else b"\x00")       # boolean: Trip.general
            + _tlv(0x84, b"\x03\x00\x00")                       # quality: 13 bits, all good
            + _tlv(0x84, b"\x06\x40" if tripped else b"\x06\x80"))  # Dbpos: open / closed
    pdu = (_tlv(0x80, _GOCB) + _uint(0x81, 20000) + _tlv(0x82, _DATSET) + _tlv(0x83, b"IED21_TRIP")
           + _tlv(0x84, utc_time(event_ts)) + _uint(0x85, st_num) + _uint(0x86, sq_num)
           + _tlv(0x87, b"\x00") + _uint(0x88, 1) + _tlv(0x89, b"\x00") + _uint(0x8A, 3)
           + _tlv(0xAB, data))
    apdu = _tlv(0x61, pdu)
    header = struct.pack("!HHHH", 0x0021, 8 + len(apdu), 0, 0)
    return ethernet(IED_MAC, GOOSE_DST, 0x88B8, header + apdu)


# -- BACnet/IP ----------------------------------------------------------------------------------
def bvlc(function: int, npdu_apdu: bytes) -> bytes:
    """BVLC header (Annex J.2): type 0x81, function (0x0A unicast, 0x0B broadcast), length."""
    return struct.pack("!BBH", 0x81, function, 4 + len(npdu_apdu)) + npdu_apdu


_NPDU = b"\x01\x00"  # version 1, normal message, no routing information
_NPDU_EXPECT_REPLY = b"\x01\x04"


def bacnet_object_id(object_type: int, instance: int) -> bytes:
    return struct.pack("!I", object_type << 22 | instance)


def who_is() -> bytes:
    return bvlc(0x0B, _NPDU + b"\x10\x08")  # unconfirmed request, service 8 (who-is)


def i_am(device: int, vendor: int) -> bytes:
    body = (b"\xc4" + bacnet_object_id(8, device)  # application tag 12 (object id), length 4
            + b"\x22\x05\xc4"                        # unsigned 1476: max APDU length accepted
            + b"\x91\x03"                            # enumerated 3: no segmentation
            + b"\x21" + bytes([vendor]))             # unsigned: vendor identifier
    return bvlc(0x0B, _NPDU + b"\x10\x00" + body)  # service 0 (i-am)


def read_property(invoke: int, object_type: int, instance: int, prop: int) -> bytes:
    # confirmed request, max APDU 1476, invoke id, service 12 (readProperty)
    apdu = (bytes([0x00, 0x05, invoke, 12])
            + b"\x0c" + bacnet_object_id(object_type, instance)  # context 0: object identifier
            + b"\x19" + bytes([prop]))               # context 1: property identifier
    return bvlc(0x0A, _NPDU_EXPECT_REPLY + apdu)


def read_property_ack(invoke: int, object_type: int, instance: int, prop: int,
                      value: float) -> bytes:
    apdu = (bytes([0x30, invoke, 12]) + b"\x0c" + bacnet_object_id(object_type, instance)
            + b"\x19" + bytes([prop]) + b"\x3e" + b"\x44" + struct.pack("!f", value) + b"\x3f")
    return bvlc(0x0A, _NPDU + apdu)


# -- MQTT 3.1.1 ---------------------------------------------------------------------------------
def _mqtt_str(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("!H", len(raw)) + raw


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _remaining(len(body)) + body


def mqtt_connect(client_id: str, user: str, password: str) -> bytes:
    var = _mqtt_str("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60)  # user+password+clean
    return mqtt_packet(0x10, var + _mqtt_str(client_id) + _mqtt_str(user) + _mqtt_str(password))


def mqtt_publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0) -> bytes:
    body = _mqtt_str(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return mqtt_packet(0x30 | qos << 1, body)


# -- PROFINET DCP -------------------------------------------------------------------------------
def _dcp_block(option: int, sub: int, value: bytes) -> bytes:
    block = struct.pack("!BBH", option, sub, len(value)) + value
    return block + (b"\x00" if len(block) % 2 else b"")


def dcp(frame_id: int, service: int, kind: int, xid: int, blocks: bytes,
        delay_or_reserved: int = 0) -> bytes:
    pdu = struct.pack("!HBBIHH", frame_id, service, kind, xid, delay_or_reserved,
                      len(blocks)) + blocks
    return pdu + bytes(max(0, 46 - len(pdu)))  # Ethernet minimum payload


class GridPart:
    """The grid, building and IIoT traffic of one plant; keeps GOOSE and BACnet state."""

    def __init__(self, host: _Host) -> None:
        self.h = host
        self.st_num = 1
        self.sq_num = 0
        self.tripped = False
        self.event_ts = host.t
        self.invoke = 0
        self.mqtt_id = 0

    def cycle(self, n: int) -> None:
        first = n == 0
        self._goose()
        self._iec104(operate=first)
        if first:
            self.tripped = True
            self.st_num += 1
            self.sq_num = 0
            self.event_ts = self.h.t
            for _ in range(3):  # a state change is repeated fast, then the heartbeat slows down
                self._goose(gap=0.002)
        self._goose()
        self._bacnet(discover=first)
        self._mqtt()
        if first:
            self._dcp()

    def _goose(self, gap: float = 0.001) -> None:
        h = self.h
        h.w.write(h.t, goose_frame(h.t, self.st_num, self.sq_num, self.tripped, self.event_ts))
        self.sq_num += 1
        h.t += gap

    def _iec104(self, operate: bool) -> None:
        h = self.h
        conv = h.tcp(SCADA, RTU104, 2404)
        conv.send(True, apci_u(0x07))   # STARTDT act
        conv.send(False, apci_u(0x0B))  # STARTDT con
        link = Iec104Link(conv)
        gi = [ioa(0) + b"\x14"]  # QOI 20: station interrogation
        link.send(True, asdu(100, 6, gi))
        link.send(False, asdu(100, 7, gi))
        measured = [ioa(1001 + i) + struct.pack("<f", v) + b"\x00" for i, v in enumerate(
            (110.2 + h.rnd.random(), 10.9 + h.rnd.random() / 10, 49.98 + h.rnd.random() / 50))]
        link.send(False, asdu(13, 20, measured))  # M_ME_NC_1 short floats, inrogen
        breakers = [ioa(2001) + b"\x02", ioa(2002) + b"\x02"]  # M_DP_NA_1: closed, good
        link.send(False, asdu(3, 20, breakers))
        link.send(False, asdu(100, 10, gi))  # activation termination
        conv.send(True, apci_s(link.sent[0]))
        link.unacked = 0
        if operate:
            # Select-before-operate: open breaker 1 with a double command (DCO 1 = off).
            for select in (True, False):
                cmd = [ioa(3001) + bytes([0x01 | (0x80 if select else 0)])]
                link.send(True, asdu(46, 6, cmd))
                link.send(False, asdu(46, 7, cmd))
            link.send(False, asdu(46, 10, [ioa(3001) + b"\x01"]))
            link.send(False, asdu(31, 3, [ioa(2001) + b"\x01" + _cp56(h.t)]))  # now open, spont
            conv.send(True, apci_s(link.sent[0]))
            link.unacked = 0
        for _ in range(3):  # periodic measurements while the link is up
            conv.ts += 1.0
            link.send(False, asdu(13, 1, measured[:1]))
        conv.send(True, apci_s(link.sent[0]))
        conv.send(True, apci_u(0x13))   # STOPDT act
        conv.send(False, apci_u(0x23))  # STOPDT con
        conv.close()
        h.t = conv.ts + 0.01

    def _bacnet(self, discover: bool) -> None:
        h = self.h
        if discover:
            h.udp(BMS, ("10.10.50.255", "ff:ff:ff:ff:ff:ff"), 47808, 47808, who_is())
            h.udp(BACNET_CTRL, ("10.10.50.255", "ff:ff:ff:ff:ff:ff"), 47808, 47808,
                  i_am(5020, 24))
        self.invoke = (self.invoke + 1) & 0xFF
        h.udp(BMS, BACNET_CTRL, 47808, 47808, read_property(self.invoke, 0, 1, 85))
        h.udp(BACNET_CTRL, BMS, 47808, 47808,
              read_property_ack(self.invoke, 0, 1, 85, 21.0 + h.rnd.random()))

    def _mqtt(self) -> None:
        h = self.h
        conv = h.tcp(EDGE, BROKER, 1883)
        conv.send(True, mqtt_connect("edge-gw-01", "gateway", "not-in-the-output"))
        conv.send(False, mqtt_packet(0x20, b"\x00\x00"))  # CONNACK accepted
        level = f"{40 + h.rnd.random() * 20:.2f}".encode()
        conv.send(True, mqtt_publish("plant/line1/tank1/level", level))
        self.mqtt_id = self.mqtt_id % 0xFFFF + 1
        conv.send(True, mqtt_publish("plant/line1/pump1/state", b"running", qos=1,
                                     packet_id=self.mqtt_id))
        conv.send(False, mqtt_packet(0x40, struct.pack("!H", self.mqtt_id)))  # PUBACK
        conv.send(True, mqtt_packet(0xE0, b""))  # DISCONNECT
        conv.close()
        h.t = conv.ts + 0.01

    def _dcp(self) -> None:
        h = self.h
        ident = _dcp_block(0xFF, 0xFF, b"")  # all selector
        h.w.write(h.t, ethernet(EWS[1], DCP_MULTICAST, 0x8892,
                                dcp(0xFEFE, 5, 0, 0x1001, ident, delay_or_reserved=1)))
        name = b"et200sp-filler"
        blocks = (_dcp_block(2, 2, b"\x00\x00" + name)                      # name of station
                  + _dcp_block(2, 3, b"\x00\x00" + struct.pack("!HH", 0x002A, 0x0313))  # ids
                  + _dcp_block(1, 2, b"\x00\x01" + bytes([10, 10, 30, 61, 255, 255, 255, 0,
                                                          10, 10, 30, 1])))  # IP suite
        h.w.write(h.t + 0.004, ethernet(PN_DEVICE_MAC, EWS[1], 0x8892,
                                        dcp(0xFEFF, 5, 1, 0x1001, blocks)))
        h.t += 0.5
        new = b"et200sp-mixer"
        set_name = _dcp_block(2, 2, b"\x00\x01" + new)  # block qualifier 1: save permanently
        h.w.write(h.t, ethernet(EWS[1], PN_DEVICE_MAC, 0x8892,
                                dcp(0xFEFD, 4, 0, 0x1002, set_name)))
        result = _dcp_block(5, 4, b"\x02\x02\x00")  # response to option 2/2, no error
        h.w.write(h.t + 0.002, ethernet(PN_DEVICE_MAC, EWS[1], 0x8892,
                                        dcp(0xFEFD, 4, 1, 0x1002, result)))
        h.t += 0.01


def _cp56(ts: float) -> bytes:
    """CP56Time2a (IEC 60870-5-4 6.8): ms in the minute, minute, hour, day/weekday, month, year."""
    tm = time.gmtime(ts)
    ms = tm.tm_sec * 1000 + int((ts % 1) * 1000)
    return struct.pack("<HBBBBB", ms, tm.tm_min, tm.tm_hour, tm.tm_mday | (tm.tm_wday + 1) << 5,
                       tm.tm_mon, tm.tm_year % 100)

"""The link-layer path: frames without IP reach the decoder that claims their Ethertype or LLC
SAP, with MACs and VLAN, one session per protocol; decoder bugs are contained; the registry
refuses two claims on one Ethertype."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from enginekit import TOY, run, tags
from otshield.errors import ConfigError
from otshield.events import LinkEvent
from otshield.pcapwriter import ethernet, mac_bytes
from otshield.protocols.base import LinkContext, ProtocolSpec
from otshield.protocols.registry import Registry

A, B = "02:00:00:00:00:0a", "01:0c:cd:01:00:01"


class BeaconEvent(LinkEvent, frozen=True, tag="beacon"):
    """A toy link-layer message: 2-byte counter + text."""

    counter: int
    text: str


@dataclass
class BeaconSession:
    link: LinkContext
    seen: list[int] = field(default_factory=list)
    sessions: int = 0

    def on_frame(self, payload: bytes) -> None:
        if payload[:1] == b"\x82":  # LLC: DSAP 0x82, SSAP, control, then the message
            payload = payload[3:]
        if payload.startswith(b"\xde\xad"):
            raise RuntimeError("beacon decoder bug")
        if len(payload) < 2:
            self.link.anomaly("beacon.truncated", f"{len(payload)} bytes")
            return
        (counter,) = struct.unpack_from("!H", payload)
        self.seen.append(counter)
        self.link.emit(BeaconEvent(**self.link.fields(), counter=counter,
                                   text=payload[2:].decode("latin-1")))

    def close(self) -> None:
        self.link.emit(BeaconEvent(**self.link.fields(), counter=len(self.seen), text="summary"))


BUILT: list[BeaconSession] = []


def _factory(link: LinkContext) -> BeaconSession:
    s = BeaconSession(link)
    BUILT.append(s)
    return s


BEACON = ProtocolSpec(name="beacon", title="Beacon", session_factory=lambda f: None,  # type: ignore[arg-type,return-value]
                      ethertypes=frozenset({0x88B8}), llc_saps=frozenset({0x82}),
                      link_session_factory=_factory,
                      anomaly_codes={"beacon.truncated": "too short"})


def vlan_frame(src: str, dst: str, vid: int, ethertype: int, payload: bytes) -> bytes:
    return (mac_bytes(dst) + mac_bytes(src) + struct.pack("!HHH", 0x8100, vid, ethertype)
            + payload)


def llc_frame(src: str, dst: str, payload: bytes) -> bytes:
    llc = b"\x82\x82\x03" + payload
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", len(llc)) + llc


def test_frames_reach_one_session_with_macs_vlan_and_packet_position() -> None:
    BUILT.clear()
    frames = [(1.0, ethernet(A, B, 0x88B8, b"\x00\x01one")),
              (2.0, vlan_frame(A, B, 7, 0x88B8, b"\x00\x02two")),
              (3.0, ethernet(A, B, 0x88CC, b"\x00\x03lldp is not ours")),
              (4.0, llc_frame(A, B, b"\x00\x04llc"))]
    eng, events = run(frames, specs=[TOY, BEACON])
    assert len(BUILT) == 1
    got = [(e.counter, e.text, e.src_mac, e.dst_mac, e.vlan, e.frame, e.ts)
           for e in tags(events, "beacon")]
    assert got == [(1, "one", A, B, None, 1, 1.0), (2, "two", A, B, 7, 2, 2.0),
                   (4, "llc", A, B, None, 4, 4.0), (3, "summary", A, B, None, 4, 4.0)]
    assert eng.stats.ethertypes["goose"] == 2 and eng.stats.ethertypes["lldp"] == 1


def test_anomalies_carry_the_link_addresses_and_protocol() -> None:
    _, events = run([(1.0, vlan_frame(A, B, 3, 0x88B8, b"\x01"))], specs=[BEACON])
    (a,) = tags(events, "anomaly")
    assert (a.code, a.protocol, a.src_mac, a.dst_mac, a.vlan) == (
        "beacon.truncated", "beacon", A, B, 3)


def test_decoder_bug_is_contained_and_detaches_after_repeated_errors() -> None:
    frames = [(float(i), ethernet(A, B, 0x88B8, b"\xde\xad")) for i in range(10)]
    frames.append((11.0, ethernet(A, B, 0x88B8, b"\x00\x09late")))
    _, events = run(frames, specs=[BEACON])
    internal = [a for a in tags(events, "anomaly") if a.code == "internal.decoder_error"]
    assert len(internal) == 8  # then the decoder is detached
    assert "beacon decoder bug" in internal[0].detail
    assert not [e for e in tags(events, "beacon") if e.text == "late"]


def test_registry_refuses_a_second_claim_and_a_claim_without_factory() -> None:
    twin = ProtocolSpec(name="twin", title="Twin", session_factory=lambda f: None,  # type: ignore[arg-type,return-value]
                        ethertypes=frozenset({0x88B8}), link_session_factory=_factory)
    with pytest.raises(ConfigError, match="0x88b8 is claimed by both 'beacon' and 'twin'"):
        Registry([BEACON, twin])
    bare = ProtocolSpec(name="bare", title="Bare", session_factory=lambda f: None,  # type: ignore[arg-type,return-value]
                        ethertypes=frozenset({0x88BA}))
    with pytest.raises(ConfigError, match="without a link_session_factory"):
        Registry([bare])


def test_truncated_llc_frame_without_payload_is_ignored() -> None:
    frame = mac_bytes(B) + mac_bytes(A) + b"\x00\x00"
    eng, events = run([(1.0, frame)], specs=[BEACON])
    assert eng.stats.packets == 1
    assert not tags(events, "anomaly")


def test_llc_payload_stops_at_the_8023_length_not_at_the_padding() -> None:
    BUILT.clear()
    payload = b"\x00\x05hi"
    frame = llc_frame(A, B, payload) + b"\x7e" * 40  # minimum-size frame padded with junk
    _, events = run([(1.0, frame)], specs=[BEACON])
    (e,) = [e for e in tags(events, "beacon") if e.text != "summary"]
    assert (e.counter, e.text) == (5, "hi")

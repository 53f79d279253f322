"""Golden tests: small GOOSE captures written here, decoded by the engine, compared with the
events expected from IEC 61850-8-1. Link-layer frames are not segmented, so instead of a
chunked replay the same frames are re-written with Ethernet padding and an 802.1Q tag: the
events must not change (apart from the VLAN id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from otshield.events import Event
from protocols.iec61850_build import (
    GOOSE_DST,
    PUB_MAC,
    T0,
    Frame,
    d_bits,
    d_bool,
    d_float,
    d_struct,
    d_utc,
    decode61850,
    goose,
    header,
    tlv,
    write,
)
from support import without_position


def _frames() -> list[Frame]:
    def data(pos: str, closed: bool, amps: float) -> list[bytes]:
        return [d_struct(d_bits(pos), d_bits("0000000000000"), d_utc(1_700_000_000, 0x800000)),
                d_bool(closed), d_float(amps)]

    def frame(dt: float, **kw: Any) -> Frame:
        return (T0 + dt, 0x88B8, goose(appid=0x0101, ttl=1000, **kw))

    return [
        frame(0.000, st_num=10, sq_num=0, data=data("10", True, 12.5)),
        frame(0.500, st_num=10, sq_num=1, data=data("10", True, 12.5)),
        frame(0.800, st_num=11, sq_num=0, data=data("01", False, 0.0)),   # breaker opened
        frame(0.802, st_num=11, sq_num=1, data=data("01", False, 0.0)),
        frame(0.806, st_num=11, sq_num=2, data=data("10", True, 0.0)),   # injected
        frame(3.000, st_num=11, sq_num=3, data=data("10", True, 0.0)),   # late: TTL 1000 ms
        (T0 + 3.1, 0x88B9, header(0x0101, tlv(0x60, tlv(0x80, b"\x01") + tlv(
            0xA1, tlv(0xA1, tlv(0x80, b"IED1LD0/LLN0$DS1")))))),
    ]


def _dicts(events: list[Event]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(e) for e in events]


def _values(pos: str, closed: bool, amps: float) -> list[dict[str, Any]]:
    return [
        {"path": "0", "type": "structure", "value": 3},
        {"path": "0.0", "type": "bit-string", "value": pos},
        {"path": "0.1", "type": "bit-string", "value": "0000000000000"},
        {"path": "0.2", "type": "utc-time", "value": "2023-11-14T22:13:20.500000000Z"},
        {"path": "1", "type": "boolean", "value": closed},
        {"path": "2", "type": "floating-point", "value": amps},
    ]


def _goose(frame: int, ts: float, st: int, sq: int, reason: str, values: list[dict[str, Any]],
           **extra: Any) -> dict[str, Any]:
    out = {"event.dataset": "goose", "@timestamp": ts, "frame": frame, "source.mac": PUB_MAC,
           "destination.mac": GOOSE_DST, "appid": 0x0101, "gocb_ref": "IED1LD0/LLN0$GO$gcb1",
           "time_allowed_to_live": 1000, "dat_set": "IED1LD0/LLN0$DS1", "go_id": "GO1",
           "t": "2023-11-14T22:13:20.500000000Z", "t_epoch": 1700000000.5, "t_quality": 10,
           "st_num": st, "sq_num": sq, "conf_rev": 1, "num_dat_set_entries": 3,
           "data_entries": 3, "values": values, "reason": reason, "function_class": "write"}
    out.update(extra)
    return out


def _anomaly(frame: int, ts: float, code: str, detail: str) -> dict[str, Any]:
    return {"event.dataset": "anomaly", "@timestamp": ts, "frame": frame, "event.code": code,
            "message": detail, "protocol": "goose", "source.mac": PUB_MAC,
            "destination.mac": GOOSE_DST}


EXPECTED = [
    _goose(1, T0, 10, 0, "first", _values("10", True, 12.5)),
    _goose(3, T0 + 0.8, 11, 0, "state_change", _values("01", False, 0.0), data_changed=True,
           previous_st_num=10, previous_sq_num=1),
    _anomaly(5, T0 + 0.806, "goose.data_changed_without_stnum",
             "IED1LD0/LLN0$GO$gcb1: allData changed at stNum 11 sqNum 2"),
    _goose(5, T0 + 0.806, 11, 2, "anomaly", _values("10", True, 0.0), data_changed=True,
           anomalies=["goose.data_changed_without_stnum"], previous_st_num=11,
           previous_sq_num=1),
    _anomaly(6, T0 + 3.0, "goose.ttl_expired",
             "IED1LD0/LLN0$GO$gcb1: 2194 ms since the previous message, timeAllowedtoLive "
             "1000 ms"),
    _goose(6, T0 + 3.0, 11, 3, "anomaly", _values("10", True, 0.0), data_changed=False,
           anomalies=["goose.ttl_expired"], previous_st_num=11, previous_sq_num=2),
    {"event.dataset": "goose_mgmt", "@timestamp": T0 + 3.1, "frame": 7, "source.mac": PUB_MAC,
     "destination.mac": GOOSE_DST, "appid": 0x0101, "state_id": 1, "pdu": "request",
     "service": "getGoReference", "ident": "IED1LD0/LLN0$DS1", "function_class": "read"},
    {"event.dataset": "goose_publisher", "@timestamp": T0 + 3.0, "frame": 6,
     "source.mac": PUB_MAC, "destination.mac": GOOSE_DST, "appid": 0x0101,
     "gocb_ref": "IED1LD0/LLN0$GO$gcb1", "dat_set": "IED1LD0/LLN0$DS1", "go_id": "GO1",
     "first_seen": T0, "last_seen": T0 + 3.0, "messages": 6, "retransmissions": 4,
     "state_changes": 1, "first_st_num": 10, "last_st_num": 11, "last_sq_num": 3,
     "conf_rev": 1, "time_allowed_to_live": 1000, "max_interval": 2.194, "anomaly_count": 2,
     "anomaly_codes": ["goose.data_changed_without_stnum", "goose.ttl_expired"],
     "end_reason": "end"},
]


def test_golden_goose(tmp_path: Path) -> None:
    events = decode61850(write(tmp_path / "goose.pcap", _frames()))
    got = _dicts(events)
    assert len(got) == len(EXPECTED)
    for g, e in zip(got, EXPECTED, strict=True):
        assert g == e


def test_padding_and_vlan_do_not_change_events(tmp_path: Path) -> None:
    plain = decode61850(write(tmp_path / "plain.pcap", _frames()))
    padded = decode61850(write(tmp_path / "padded.pcap", _frames(), pad=True, vlan=7))
    assert {e.vlan for e in padded} == {7}  # type: ignore[attr-defined]
    strip = [{k: v for k, v in d.items() if k != "network.vlan.id"}
             for d in without_position(padded)]
    assert strip == without_position(plain)

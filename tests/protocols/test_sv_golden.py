"""Golden test: a small Sampled Values capture written here, decoded by the engine, compared
with the events expected from IEC 61850-9-2 / 9-2LE; the same frames padded and VLAN-tagged
give the same events (link-layer frames have no segmentation to replay)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from protocols.iec61850_build import (
    PUB_MAC,
    SV_DST,
    T0,
    Frame,
    decode61850,
    sample,
    sv,
    sv_asdu,
    write,
)
from support import without_position


def _frames() -> list[Frame]:
    out: list[Frame] = []
    le = [1000, -500, -500, 0, 23000, -11500, -11500, 0]
    for i, cnt in enumerate([3998, 3999, 0, 1, 3, 4]):  # 2 lost after 1
        vals = [v * (1 + i) for v in le]
        q = [0, 0, 0, 0, 1, 0, 0, 0] if cnt == 3 else None
        out.append((T0 + i * 0.00025, 0x88BA, sv([sv_asdu(
            cnt, sv_id="MU01", dat_set="LD/LLN0$PhsMeas1", smp_synch=2 if i < 5 else 0,
            values=sample(vals, q))])))
    return out


def _anomaly(frame: int, code: str, detail: str) -> dict[str, Any]:
    return {"event.dataset": "anomaly", "@timestamp": T0 + (frame - 1) * 0.00025,
            "frame": frame, "event.code": code, "message": detail, "protocol": "sv",
            "source.mac": PUB_MAC, "destination.mac": SV_DST}


EXPECTED: list[dict[str, Any]] = [
    {"event.dataset": "sv_stream", "@timestamp": T0, "frame": 1, "source.mac": PUB_MAC,
     "destination.mac": SV_DST, "appid": 0x4000, "sv_id": "MU01",
     "dat_set": "LD/LLN0$PhsMeas1", "conf_rev": 1, "smp_cnt": 3998, "smp_rate": 80,
     "smp_synch": 2, "smp_synch_name": "global", "no_asdu": 1, "channels": 8,
     "function_class": "other"},
    _anomaly(5, "sv.smpcnt_gap", "MU01: smpCnt 1 -> 3 (1 missing)"),
    _anomaly(5, "sv.quality_invalid", "MU01: channel(s) 4 invalid at smpCnt 3"),
    _anomaly(6, "sv.sync_lost", "MU01: smpSynch 2 -> 0 at smpCnt 4"),
    {"event.dataset": "sv_stream_summary", "@timestamp": T0 + 5 * 0.00025, "frame": 6,
     "source.mac": PUB_MAC, "destination.mac": SV_DST, "appid": 0x4000, "sv_id": "MU01",
     "dat_set": "LD/LLN0$PhsMeas1", "first_seen": T0, "last_seen": T0 + 5 * 0.00025,
     "frames": 6, "asdus": 6, "smp_cnt_gaps": 1, "samples_missing": 1, "smp_cnt_wraps": 1,
     "wrap_at": 4000, "last_smp_cnt": 4, "conf_rev": 1, "smp_synch": 0,
     "smp_synch_changes": 1, "sync_lost": 1, "quality_problems": 1, "channels": 8,
     "raw_min": [1000, -3000, -3000, 0, 23000, -69000, -69000, 0],
     "raw_max": [6000, -500, -500, 0, 138000, -11500, -11500, 0],
     "current_min": [1.0, -3.0, -3.0, 0.0], "current_max": [6.0, -0.5, -0.5, 0.0],
     "voltage_min": [230.0, -690.0, -690.0, 0.0], "voltage_max": [1380.0, -115.0, -115.0, 0.0],
     "end_reason": "end"},
]


def test_golden_sv(tmp_path: Path) -> None:
    events = decode61850(write(tmp_path / "sv.pcap", _frames()))
    got = [msgspec.to_builtins(e) for e in events]
    assert len(got) == len(EXPECTED)
    for g, e in zip(got, EXPECTED, strict=True):
        assert g == e


def test_padding_and_vlan_do_not_change_events(tmp_path: Path) -> None:
    plain = decode61850(write(tmp_path / "plain.pcap", _frames()))
    tagged = decode61850(write(tmp_path / "tagged.pcap", _frames(), pad=True, vlan=4))
    strip = [{k: v for k, v in d.items() if k != "network.vlan.id"}
             for d in without_position(tagged)]
    assert strip == without_position(plain)
    assert all(msgspec.to_builtins(e).get("network.vlan.id") == 4 for e in tagged)

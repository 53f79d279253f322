"""``otshield baseline learn|show|edit|check`` on project-made Modbus/TCP captures."""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

import pytest
from rich.console import Console

from otshield.detect.baseline import load_baseline
from otshield.detect.baseline.cli import register
from otshield.errors import ConfigError
from otshield.pcapwriter import PcapWriter, TcpConversation

HMI, PLC, ROGUE = "10.0.0.5", "10.0.0.2", "10.0.0.9"


def _mbap(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    # transaction id, protocol id 0, length (unit id + PDU), unit id
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _poll(conv: TcpConversation, tid: int, fc: int, address: int, value: int) -> None:
    if fc == 3:  # read 2 holding registers
        conv.send(True, _mbap(tid, struct.pack("!BHH", 3, address, 2)))
        conv.send(False, _mbap(tid, struct.pack("!BBHH", 3, 4, 7, 8)))
    else:  # write single coil / register: the response echoes the request
        pdu = struct.pack("!BHH", fc, address, value)
        conv.send(True, _mbap(tid, pdu))
        conv.send(False, _mbap(tid, pdu))


def write_capture(path: Path, start: float, rogue: bool = False) -> Path:
    with path.open("wb") as fh, PcapWriter(fh) as w:
        conv = TcpConversation(w, (HMI, 50100), (PLC, 502), start=start).handshake()
        for i in range(30):
            conv.ts = start + i
            _poll(conv, i, 3, 0, 0)
            if i % 10 == 5:
                _poll(conv, 1000 + i, 6, 100, 42)
        conv.close()
        if rogue:
            bad = TcpConversation(w, (ROGUE, 40000), (PLC, 502), client_mac="02:00:00:00:00:09",
                                  start=start + 40).handshake()
            _poll(bad, 1, 5, 7, 0xFF00)
            bad.close()
    return path


def run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    out = Console(width=250, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    rc: int = args.func(args, out, Console(stderr=True))
    return rc, out.export_text()


def test_learn_show_edit_check(tmp_path: Path) -> None:
    normal = write_capture(tmp_path / "normal.pcap", 1_700_000_000.0)
    later = write_capture(tmp_path / "later.pcap", 1_700_100_000.0)
    attack = write_capture(tmp_path / "attack.pcap", 1_700_200_000.0, rogue=True)
    base = tmp_path / "plant.baseline.json"

    rc, text = run(["baseline", "learn", str(normal), "-o", str(base),
                    "--mature-seconds", "0", "--mature-events", "0"])
    assert rc == 0 and "2 assets, 1 talker pairs in 1 zone(s)" in text
    baseline = load_baseline(base)
    pair = baseline.zones[""].pairs[f"{HMI} {PLC} modbus"]
    assert sorted(pair.functions) == ["3", "6"]
    assert pair.writes == {"unit 1 holding registers": [(100, 100)]}
    assert pair.polls["3@1/0"].count == 29
    with pytest.raises(ConfigError, match="exists: use --update"):
        run(["baseline", "learn", str(normal), "-o", str(base)])

    rc, text = run(["baseline", "show", str(base)])
    assert rc == 0
    for expected in ("Zone (no zone)", "READ_HOLDING_REGISTERS (3, read)",
                     "unit 1 holding registers", "Polling periods"):
        assert expected in text
    rc, text = run(["baseline", "show", str(base), "--format", "json"])
    assert json.loads(text)["format"] == "otshield-baseline"

    rc, text = run(["baseline", "check", str(later), "--baseline", str(base)])
    assert (rc, text.strip()) == (0, "no deviation from the baseline")
    rc, text = run(["baseline", "check", str(attack), "--baseline", str(base)])
    assert rc == 1
    for expected in ("new_asset", "new_talker", "new_function", "new_write_range",
                     "10.0.0.9 wrote unit 1 coils 7 on 10.0.0.2"):
        assert expected in text
    rc, text = run(["baseline", "check", str(attack), "--baseline", str(base), "--format",
                    "json", "--min-severity", "high"])
    alerts = [json.loads(line) for line in text.splitlines()]
    assert [a["rule.id"] for a in alerts] == ["baseline.new_write_range"]

    rc, text = run(["baseline", "edit", str(base), "--allow", f"asset:{ROGUE}",
                    "--allow", f"talker:{ROGUE},{PLC},modbus",
                    "--allow", f"function:{ROGUE},{PLC},modbus,5",
                    "--allow", f"write:{ROGUE},{PLC},modbus,unit 1 coils,7"])
    assert rc == 0 and "allowed writes unit 1 coils 7-7" in text
    rc, text = run(["baseline", "check", str(attack), "--baseline", str(base)])
    assert rc == 0
    # a typo in one entry leaves the file untouched
    before = base.read_bytes()
    with pytest.raises(ConfigError, match="expected KIND:FIELDS"):
        run(["baseline", "edit", str(base), "--forget", f"asset:{ROGUE}", "--forget", "oops"])
    assert base.read_bytes() == before


def test_maintenance_file_for_check(tmp_path: Path) -> None:
    normal = write_capture(tmp_path / "normal.pcap", 1_700_000_000.0)
    attack = write_capture(tmp_path / "attack.pcap", 1_700_200_000.0, rogue=True)
    base = tmp_path / "b.json"
    run(["baseline", "learn", str(normal), "-o", str(base)])
    windows = tmp_path / "mw.yaml"
    windows.write_text("windows:\n  - start: 2023-11-17T00:00:00Z\n"
                       "    end: 2023-11-18T00:00:00Z\n    action: suppress\n")
    rc, _ = run(["baseline", "check", str(attack), "--baseline", str(base), "--maintenance",
                 str(windows)])
    assert rc == 0  # 1_700_200_040 is 2023-11-17T05:47Z, inside the window
    windows.write_text("windows:\n  - start: 2023-11-17T00:00:00Z\n    end: soon\n")
    with pytest.raises(ConfigError, match=r"mw\.yaml:3: 'soon' is not a time"):
        run(["baseline", "check", str(attack), "--baseline", str(base), "--maintenance",
             str(windows)])

"""Throughput and memory of `otshield decode` against tshark field extraction, same files.

Prints packets/s and peak RSS for both tools on:
  * the project's own multi-protocol plant capture at two lengths (memory must not grow with
    length), written by ``otshield.demo`` (deterministic);
  * the largest third-party captures in ../shared/data/pcaps, when present;
  * with ``--protocols``, one capture per protocol decoder, tiled: the capture repeated (each
    copy shifted past every idle timeout, so copies are new flows) until it holds at least
    ``--tile-packets`` packets. Most of these captures have a few hundred packets, where both
    tools would measure their start-up; tiling measures the decoding rate on that protocol.
    Stateful decoders see the copies as repeats (GOOSE replays, sequence restarts) and report
    them, which costs what it costs on a real network too.
Both tools are pinned to one CPU core (taskset) and run one after the other.

    .venv/bin/python benchmarks/throughput.py [--packets 200000] [--no-corpus]
    .venv/bin/python benchmarks/throughput.py --protocols-only [--tile-packets 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "pcaps"
CORPUS_FILES = [
    "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
    "ct-samples/s7/Plant1_S7comm.pcap",
    "iti/enip/cip_only.pcap",
    "iti/modbus/ModbusTCP.pcap",
    "lemay-modbus/characterization_modbus_6RTU_with_operate.pcap",
]
PROTOCOL_FILES = {
    "iec104": "emreekin/iec104/similator.pcap",
    "bacnet": "icsnpp/bacnet/bacnet_services.pcap",
    "bacnet (LLC)": "ct-samples/bacnet/bacnet-ethernet.cap",
    "opcua": "icsnpp/opcua/open62541_browse_next.pcap",
    "mqtt": "suricata-verify/mqtt/mqtt-limit-2.pcap",
    "goose": "iti/iec61850/Sample_File_GOOSE.pcap",
    "sv": "emreekin/iec61850/9-2-sv.pcap",
    "mms": "emreekin/iec61850/substation_ABB1.pcap",
    "profinet (DCP, RT)": "iti/profinet/PROFINET-RT.pcap",
    "pnio_cm": "icsnpp/profinet/profinet_io_cm.pcap",
    "ethercat": "ct-samples/ethercat/EtherCAT.pcap",
    "powerlink": "emreekin/powerlink/eplexample.pcap",
    "fins": "emreekin/omron-fins/omron.pcap",
    "ads": "iti/beckhoff-ads/beckoffiplink.pcapng",
    "hartip": "icsnpp/hart-ip/hart-ip_publish_and_keepAlive.pcapng",
    "c37118": "icsnpp/c37.118/c37_pmu_clean.pcap",
    "melsec": "iti/melsec/melsoft_variant_clean.pcap",
    "bsap": "icsnpp/bsap/bsap-ip_example.pcap",
    "sbus": "ct-samples/saia-sbus/SBus-Ethernet.pcap",
    "cnip": "emreekin/lonworks/Lon.pcap",
    "dlms": "ct-samples/dlms-cosem/original_data.pcapng",
    "rtps": "emreekin/dds-rtps/rtps.pcap",
    "genisys": "icsnpp/genisys/genisys.pcap",
}
"""Protocol -> the capture of ../shared/data/pcaps that exercises it most (largest)."""
_TILE_GAP = 4000.0  # seconds between copies: beyond every idle timeout of the default Settings
_TILE_BASE = 1_600_000_000.0

TSHARK_FIELDS = [
    "frame.number", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
    "mbtcp.trans_id", "modbus.func_code", "modbus.reference_num", "dnp3.al.func", "dnp3.al.obj",
    "s7comm.param.func", "s7comm.param.item.area", "enip.command", "cip.sc", "cip.symbol",
    "dns.qry.name", "http.request.method", "http.host", "tls.handshake.extensions_server_name",
]

# Runs in a child so that its peak RSS is its own.
_CHILD = """
import json, resource, sys, time
from pathlib import Path
from otshield.capture import open_capture
from otshield.engine import Engine
from otshield.output import JsonlWriter
path, outdir = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
with JsonlWriter(outdir) as writer:
    engine = Engine(writer)
    reader = open_capture(path)
    feed = engine.feed
    for ts, lt, data in reader:
        feed(ts, lt, data)
    engine.finish()
elapsed = time.perf_counter() - t0
print(json.dumps({"packets": engine.stats.packets, "seconds": elapsed,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "events": sum(1 for p in outdir.glob("*.jsonl") for _ in p.open("rb"))}))
"""


def _pin() -> list[str]:
    return ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def run_otshield(path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        res = subprocess.run([*_pin(), sys.executable, "-c", _CHILD, str(path), out],
                             capture_output=True, text=True, check=True)
    data: dict[str, float] = json.loads(res.stdout)
    return data


_READER = """
import json, sys, time
from otshield.capture import open_capture
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    with open_capture(sys.argv[1]) as r:
        for _rec in r:
            pass
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"packets": r.packets, "seconds": best}))
"""


def tile(src: Path, dst: Path, min_packets: int) -> bool:
    """Write ``src`` repeated until ``dst`` has ``min_packets`` packets; False if the capture
    mixes link types (a pcap file has one)."""
    from otshield.capture import open_capture
    from otshield.pcapwriter import PcapWriter

    with open_capture(src) as reader:
        records = list(reader)
    if not records or len({lt for _, lt, _ in records}) != 1:
        return False
    # Rebased, with pauses over a minute shortened to one (a capture in the corpus spans years),
    # so that many copies stay inside pcap's 32-bit seconds.
    offsets, t, prev = [], 0.0, records[0][0]
    for ts, _lt, _data in records:
        t += min(max(ts - prev, 0.0), 60.0)
        prev = ts
        offsets.append(t)
    span = t + _TILE_GAP
    copies = -(-min_packets // len(records))
    with dst.open("wb") as fh, PcapWriter(fh, linktype=records[0][1]) as writer:
        for k in range(copies):
            for off, (_ts, _lt, data) in zip(offsets, records, strict=True):
                writer.write(_TILE_BASE + off + k * span, data)
    return True


def run_reader(path: Path) -> float:
    """Records/s of the capture reader alone (best of three)."""
    res = subprocess.run([*_pin(), sys.executable, "-c", _READER, str(path)],
                         capture_output=True, text=True, check=True)
    data = json.loads(res.stdout)
    return float(data["packets"] / data["seconds"])


def run_tshark(path: Path) -> dict[str, float] | None:
    exe = shutil.which("tshark")
    if exe is None:
        return None
    cmd = [*_pin(), exe, "-n", "-r", str(path), "-T", "fields"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = sum(1 for _ in proc.stdout)
    _, _status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    return {"packets": lines, "seconds": elapsed, "rss_kib": usage.ru_maxrss}


def row(name: str, ours: dict[str, float], theirs: dict[str, float] | None) -> str:
    pps = ours["packets"] / ours["seconds"]
    line = (f"| {name} | {int(ours['packets']):,} | {pps:,.0f} | {ours['rss_kib'] / 1024:,.0f} |")
    if theirs:
        tpps = theirs["packets"] / theirs["seconds"]
        line += f" {tpps:,.0f} | {theirs['rss_kib'] / 1024:,.0f} | {pps / tpps:.1f}x |"
    else:
        line += " - | - | - |"
    return line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=200_000,
                    help="length of the short plant capture; the long one is 4x (default 200000)")
    ap.add_argument("--no-corpus", action="store_true", help="skip the third-party captures")
    ap.add_argument("--protocols", action="store_true",
                    help="also measure one tiled capture per protocol decoder")
    ap.add_argument("--protocols-only", action="store_true",
                    help="only the per-protocol table")
    ap.add_argument("--tile-packets", type=int, default=50_000,
                    help="packets per tiled protocol capture (default 50000)")
    args = ap.parse_args()
    compile_package()  # what an installed otshield starts with (see bytecode.py)
    if not args.protocols_only:
        plant_and_corpus(args)
    if args.protocols or args.protocols_only:
        per_protocol(args.tile_packets)
    return 0


def per_protocol(min_packets: int) -> None:
    print(f"\n| protocol | capture (tiled to >= {min_packets:,} packets) | packets | otshield "
          "packets/s | otshield peak RSS MiB | tshark packets/s | tshark peak RSS MiB "
          "| speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    if not CORPUS.exists():
        print(f"(corpus not found at {CORPUS}: per-protocol table skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for proto, rel in PROTOCOL_FILES.items():
            src = CORPUS / rel
            dst = Path(tmp) / "tiled.pcap"
            if not src.exists() or not tile(src, dst, min_packets):
                print(f"| {proto} | {rel} | (missing or mixed link types) |")
                continue
            print(row(f"{proto} | {rel}", run_otshield(dst), run_tshark(dst)), flush=True)
            dst.unlink()


def plant_and_corpus(args: argparse.Namespace) -> None:
    from otshield.demo import write_demo_capture

    print("| capture | packets | otshield packets/s | otshield peak RSS MiB | tshark packets/s "
          "| tshark peak RSS MiB | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    reader_rate = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for mult in (1, 4):
            path = Path(tmp) / f"plant-{mult}.pcap"
            write_demo_capture(path, packets=args.packets * mult)
            print(row(f"plant x{mult} (project-made)", run_otshield(path), run_tshark(path)),
                  flush=True)
            if mult == 1:
                reader_rate = run_reader(path)
            path.unlink()
    print(f"\ncapture reader alone (plant x1): {reader_rate:,.0f} records/s")
    if not args.no_corpus:
        print("\n| capture | packets | otshield packets/s | otshield peak RSS MiB | tshark "
              "packets/s | tshark peak RSS MiB | speed-up |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        if not CORPUS.exists():
            print(f"(corpus not found at {CORPUS}: third-party captures skipped)")
        for rel in CORPUS_FILES:
            path = CORPUS / rel
            if path.exists():
                print(row(rel, run_otshield(path), run_tshark(path)), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

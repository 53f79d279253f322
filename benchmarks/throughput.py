"""Throughput and memory of `otshield decode` against tshark field extraction, same files.

Prints packets/s and peak RSS for both tools on:
  * the project's own multi-protocol plant capture at two lengths (memory must not grow with
    length), written by ``otshield.demo`` (deterministic);
  * the largest third-party captures in ../shared/data/pcaps, when present.
Both tools are pinned to one CPU core (taskset) and run one after the other.

    .venv/bin/python benchmarks/throughput.py [--packets 200000] [--no-corpus]
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
CORPUS = ROOT.parent / "shared" / "data" / "pcaps"
CORPUS_FILES = [
    "qut-dnp3/Masquerading_testing_frequent_attacker.pcap",
    "ct-samples/s7/Plant1_S7comm.pcap",
    "iti/enip/cip_only.pcap",
    "iti/modbus/ModbusTCP.pcap",
    "lemay-modbus/characterization_modbus_6RTU_with_operate.pcap",
]
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
    args = ap.parse_args()
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

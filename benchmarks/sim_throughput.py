"""How fast the plant simulator writes a capture: packets per second and the time for the
1,000,000-packet benchmark capture (issue #6 asks for under a minute).

Writes the bundled plant's normal traffic (all patterns: polling, telecontrol, engineering
sessions, office IT) to a temporary file, in both formats, and prints wall-clock and CPU
(process) time; CPU time is the figure to compare, since other load on the machine does not
count in it. Not a test: it asserts nothing.

    .venv/bin/python benchmarks/sim_throughput.py [--packets 1000000] [--format pcap|pcapng]
        [--keep FILE]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from otshield.sim.model import load_plant
from otshield.sim.run import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("pcap", "pcapng", "both"), default="both")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="FILE", help="write the capture here and keep it")
    args = ap.parse_args()
    model = load_plant()
    formats = ("pcap", "pcapng") if args.format == "both" else (args.format,)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path = Path(args.keep) if args.keep else Path(tmp) / f"bench.{fmt}"
            wall, cpu = time.perf_counter(), time.process_time()
            result = simulate(model, path, packets=args.packets, seed=args.seed,
                              fmt=fmt)  # type: ignore[arg-type]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            size = path.stat().st_size
            print(f"{fmt:6}  {result.packets:>9,} packets  {size / 1e6:8.1f} MB  "
                  f"{(result.end - result.start) / 3600:6.1f} h of plant time  "
                  f"wall {wall:6.1f} s  cpu {cpu:6.1f} s  {result.packets / cpu:>9,.0f} "
                  f"packets/s (cpu)  1M packets: {1e6 / result.packets * cpu:5.1f} s")


if __name__ == "__main__":
    main()

"""What the asset inventory adds to decoding the benchmark (plant) capture.

Three runs over the same packets, in one process and in memory: the decode as `otshield
decode -o` does it (events written as JSON lines), the same with an InventoryBuilder as a
second sink, and the builder alone over the recorded events (its own cost, without the effect
of two consumers on the caches). Times are CPU (process) time, so other load on the machine
does not count; the runs alternate seven times and the best of each is kept.

    .venv/bin/python benchmarks/inventory_overhead.py [--packets 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from otshield.capture import open_capture
from otshield.demo import write_demo_capture
from otshield.engine import Engine
from otshield.events import Event
from otshield.inventory import InventoryBuilder
from otshield.inventory.oui import mac_vendor
from otshield.output import JsonlWriter

Record = tuple[float, int, bytes]


def decode(records: list[Record], out: Path, with_inventory: bool) -> float:
    with JsonlWriter(out) as writer:
        builder = InventoryBuilder() if with_inventory else None

        def both(event: Event) -> None:
            writer(event)
            builder(event)  # type: ignore[misc]

        engine = Engine(both if builder is not None else writer)
        t0 = time.process_time()
        feed = engine.feed
        for ts, lt, data in records:
            feed(ts, lt, data)
        engine.finish()
        if builder is not None:
            builder.snapshot()
        return time.process_time() - t0


def builder_alone(events: list[Event]) -> float:
    builder = InventoryBuilder()
    t0 = time.process_time()
    for e in events:
        builder(e)
    builder.snapshot()
    return time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    args = ap.parse_args()
    mac_vendor("00:1b:1b:00:00:01")  # netaddr loads its registry index once per process
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plant.pcap"
        write_demo_capture(path, packets=args.packets)
        with open_capture(path) as reader:
            records = list(reader)
        events: list[Event] = []
        engine = Engine(events.append)
        for r in records:
            engine.feed(*r)
        engine.finish()
        plain, with_inv, alone = [], [], []
        for i in range(7):
            plain.append(decode(records, Path(tmp) / f"a{i}", False))
            with_inv.append(decode(records, Path(tmp) / f"b{i}", True))
            alone.append(builder_alone(events))
    base, both, own = min(plain), min(with_inv), min(alone)
    n = len(records)
    print(f"plant capture, {n:,} packets, {len(events):,} events")
    print(f"decode, events to JSON lines:   {base:6.2f} s CPU  {n / base:10,.0f} packets/s")
    print(f"decode + inventory:             {both:6.2f} s CPU  {n / both:10,.0f} packets/s")
    print(f"inventory builder on its own:   {own:6.2f} s CPU  ({100 * own / base:.1f} % of the "
          "decode)")
    print(f"inventory overhead, end to end: {100 * (both - base) / base:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the asset inventory adds to decoding: the same capture decoded with events going
nowhere, then into an InventoryBuilder (best of three each, one process, in memory).

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


def run(records: list[tuple[float, int, bytes]], with_inventory: bool) -> tuple[float, int]:
    builder = InventoryBuilder() if with_inventory else None

    def nowhere(event: Event) -> None:
        return None

    engine = Engine(builder if builder is not None else nowhere)
    engine.registry  # noqa: B018 - decoders are imported before the clock starts
    t0 = time.perf_counter()
    feed = engine.feed
    for ts, lt, data in records:
        feed(ts, lt, data)
    engine.finish()
    assets = len(builder.snapshot().assets) if builder is not None else 0
    return time.perf_counter() - t0, assets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plant.pcap"
        write_demo_capture(path, packets=args.packets)
        with open_capture(path) as reader:
            records = list(reader)
    base = min(run(records, False)[0] for _ in range(3))
    timed = [run(records, True) for _ in range(3)]
    inv = min(t for t, _ in timed)
    print(f"plant capture, {len(records):,} packets, {timed[0][1]} assets")
    print(f"decode only:           {base:6.2f} s  {len(records) / base:10,.0f} packets/s")
    print(f"decode + inventory:    {inv:6.2f} s  {len(records) / inv:10,.0f} packets/s")
    print(f"inventory overhead:    {100 * (inv - base) / base:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

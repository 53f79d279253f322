"""How long the console spends grouping stored alerts into incidents after a capture upload.

Every capture job ends with :func:`otshield.respond.service.correlate_store`, which reads every
stored alert that is not suppressed and correlates them again (so that an incident spanning
captures is one incident). This prints its wall-clock time on a SQLite store holding the demo
capture's analysis plus ``--alerts`` synthetic alerts (the console load benchmark's store):
the first run (incidents created), then the next runs (nothing changed, as after an upload that
adds no alert).

    .venv/bin/python benchmarks/correlate_store.py [--alerts 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package
from console_load import fill_store


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compile_package()
    from otshield.console.settings import ConsoleSettings
    from otshield.respond.service import correlate_store
    from otshield.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        database = f"sqlite:///{data / 'store.db'}"
        fill_store(database, data, args.alerts, clients=1)
        store = Store(database)
        settings = ConsoleSettings(database=database, data_dir=data)
        for i in range(max(args.repeat, 1)):
            t0 = time.perf_counter()
            result = correlate_store(store, settings, reason="benchmark")
            seconds = time.perf_counter() - t0
            what = (f"{len(result.created)} incidents created" if i == 0
                    else f"{len(result.created) + len(result.updated)} changed")
            print(f"run {i + 1}: {seconds:.2f} s for {args.alerts:,} alerts + the demo "
                  f"capture's ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

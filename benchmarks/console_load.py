"""Load on the console's REST API: 50 concurrent clients for 60 s over the list endpoints, with
10,000 alerts in the store.

The store (a fresh SQLite file, or ``--database URL``) gets the demo plant's inventory (its
capture analysed once) and 10,000 synthetic alerts shaped like real ones: rules of the
built-in pack with their severities and ATT&CK techniques, endpoints in the demo plant's
subnets with their zones, a triggering event as evidence, spread over a week of packet time,
some acknowledged or closed. A uvicorn server (one process, as ``otshield serve`` runs it) is
started on 127.0.0.1:free port; 50 httpx async clients with an API token then request list
pages in a loop (alerts with and without filters, deep pages, assets, captures, rules, the
overview) for the duration. Printed: requests/s, latency p50/p95/p99/max per endpoint and in
all, and errors (anything but 200). Target: p95 < 200 ms.

    .venv/bin/python benchmarks/console_load.py [--clients 50] [--seconds 60] [--alerts 10000]

This is a measurement, not a test: the figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ENDPOINTS: list[tuple[str, str, dict[str, object]]] = [
    ("alerts", "/api/v1/alerts", {}),
    ("alerts new high", "/api/v1/alerts", {"status": "new", "severity": "high"}),
    ("alerts technique", "/api/v1/alerts", {"technique": "T0855", "per_page": 100}),
    ("alerts zone+q", "/api/v1/alerts", {"zone": "Control", "q": "modbus"}),
    ("alerts deep page", "/api/v1/alerts", {"page": 150, "per_page": 50,
                                            "sort": "-severity"}),
    ("alerts since", "/api/v1/alerts", {"since": 1767225600 + 5 * 86400}),
    ("assets", "/api/v1/assets", {}),
    ("assets search", "/api/v1/assets", {"q": "10.10.30", "sort": "-last_seen"}),
    ("captures", "/api/v1/captures", {}),
    ("rules", "/api/v1/rules", {"per_page": 100}),
    ("overview", "/api/v1/overview", {}),
]
"""(label, path, query): the list pages a SOC screen polls."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill_store(database: str, data_dir: Path, alerts: int, seed: int = 11) -> str:
    """Migrate, ingest the demo capture, add ``alerts`` synthetic alerts and an admin token;
    returns the token."""
    from otshield.console.auth.service import Actor, add_user, create_token
    from otshield.console.permissions import ROLE_PERMISSIONS, Role
    from otshield.demo import write_demo_capture
    from otshield.detect.alert import AssetRef, make_alert
    from otshield.detect.rules import load_rules
    from otshield.events import Event
    from otshield.store import Store
    from otshield.store import alerts as alerts_repo
    from otshield.store import jobs as jobs_repo
    from otshield.store.ingest import ingest_capture

    store = Store(database)
    store.migrate()
    data_dir.mkdir(parents=True, exist_ok=True)
    capture = data_dir / "demo.pcap"
    write_demo_capture(capture)
    site = Path(__file__).resolve().parents[1] / "src" / "otshield" / "data" / "demo-site.yaml"
    with store.session() as db:
        job, _ = jobs_repo.create_job(db, filename="demo.pcap", path=str(capture),
                                      created_by="bench", options={"site": str(site)})
    ingest_capture(store, capture, job.id)

    rnd = random.Random(seed)
    rules = [r for r in load_rules().rules if r.enabled]
    zones = {"10.10.10": ("Enterprise", 4), "10.10.20": ("SCADA", 2),
             "10.10.25": ("IIoT-DMZ", 3), "10.10.30": ("Control", 1),
             "10.10.40": ("Substation", 1), "10.10.50": ("Building", 1)}
    subnets = list(zones)
    start = 1767225600.0
    batch = []
    for i in range(alerts):
        rule = rnd.choice(rules)
        src_net, dst_net = rnd.choice(subnets), rnd.choice(subnets)
        src = f"{src_net}.{rnd.randint(2, 250)}"
        dst = f"{dst_net}.{rnd.randint(2, 250)}"
        ts = start + rnd.random() * 7 * 86400
        dataset = rule.datasets[0] if rule.datasets else "flow"
        event = Event(ts=ts, frame=rnd.randint(1, 10**6), src_ip=src, src_port=
                      rnd.randint(1024, 65535), dst_ip=dst, dst_port=502, transport="tcp")
        alert = make_alert(
            event, rule_id=rule.id, title=rule.title, severity=rule.severity,
            confidence=rule.confidence, category="rule",
            description=f"{rule.title}: {dataset} from {src} to {dst}",
            response=rule.response, techniques=rule.techniques, tactics=rule.tactics,
            source=AssetRef(ip=src, asset=f"ip:{src}", zone=zones[src_net][0],
                            level=zones[src_net][1]),
            destination=AssetRef(ip=dst, asset=f"ip:{dst}", zone=zones[dst_net][0],
                                 level=zones[dst_net][1]),
            key=f"{rule.id}|{src}|{dst}|{i}")
        batch.append(alert)
        if len(batch) == 500:
            with store.session() as db:
                alerts_repo.record_alerts(db, batch)
            batch = []
    if batch:
        with store.session() as db:
            alerts_repo.record_alerts(db, batch)
    with store.session() as db:  # some triage, as on a real console
        for alert_id in rnd.sample(range(1, alerts + 1), alerts // 5):
            alerts_repo.acknowledge(db, alert_id, "bench")
    user, _ = add_user(store, Actor.system(), "bench", Role.ADMIN)
    granted = ROLE_PERMISSIONS[Role.ADMIN]
    _out, token = create_token(store, Actor.system(), user.id, "load", sorted(granted),
                               granted, 1)
    store.dispose()
    return token


def serve(database: str, data_dir: str, port: int) -> None:
    """The child process: the console on 127.0.0.1:port."""
    import uvicorn

    from otshield.console.app import create_app
    from otshield.console.settings import ConsoleSettings

    app = create_app(ConsoleSettings(database=database, data_dir=Path(data_dir)), warm=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def run_clients(base: str, token: str, clients: int, seconds: float
                      ) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        rnd = random.Random(n)
        while time.perf_counter() < stop:
            label, path, params = rnd.choice(ENDPOINTS)
            began = time.perf_counter()
            try:
                r = await http.get(path, params=params)  # type: ignore[arg-type]
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies[label].append(time.perf_counter() - began)
            if not ok:
                errors[label] += 1

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    return latencies, errors, time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    ap.add_argument("--serve", nargs=3, metavar=("DB", "DATA", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return 0
    with tempfile.TemporaryDirectory(prefix="otshield-load-") as tmp:
        database = args.database or str(Path(tmp) / "console.db")
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        token = fill_store(database, data_dir, args.alerts)
        print(f"store: {args.alerts} alerts + the demo inventory in "
              f"{time.perf_counter() - t0:.1f} s ({database if args.database else 'SQLite'})")
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", database,
                                   str(data_dir), str(port)])
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                print("the server did not start", file=sys.stderr)
                return 1
            latencies, errors, elapsed = asyncio.run(
                run_clients(base, token, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    every = [v for values in latencies.values() for v in values]
    print(f"{args.clients} clients, {elapsed:.1f} s: {len(every)} requests, "
          f"{len(every) / elapsed:.1f} requests/s, {sum(errors.values())} errors")
    print(f"{'endpoint':<18} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>6}")
    for label, _path, _params in ENDPOINTS:
        values = latencies.get(label, [])
        if values:
            print(f"{label:<18} {len(values):>8} {pct(values, .5):>8.1f} "
                  f"{pct(values, .95):>8.1f} {pct(values, .99):>8.1f} "
                  f"{max(values) * 1000:>8.1f} {errors.get(label, 0):>6}")
    print(f"{'all':<18} {len(every):>8} {pct(every, .5):>8.1f} {pct(every, .95):>8.1f} "
          f"{pct(every, .99):>8.1f} {max(every) * 1000:>8.1f} {sum(errors.values()):>6}")
    print(f"mean {statistics.fmean(every) * 1000:.1f} ms; target p95 < 200 ms: "
          f"{'met' if pct(every, .95) < 200 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

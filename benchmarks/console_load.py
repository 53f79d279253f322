"""Load on the console's REST API: 50 concurrent clients for 60 s over the list endpoints, with
10,000 alerts in the store.

The store (a fresh SQLite file, or ``--database URL``) gets the demo plant's inventory (its
capture analysed once) and 10,000 synthetic alerts shaped like real ones: rules of the
built-in pack with their severities and ATT&CK techniques, endpoints in the demo plant's
subnets with their zones, a triggering event as evidence, spread over a week of packet time,
some acknowledged or closed. A uvicorn server (one process, as ``otshield serve`` runs it) is
started on 127.0.0.1:free port; 50 clients (keep-alive HTTP/1.1 connections) with an API
token then request list pages in a loop (alerts with and without filters, deep pages, assets,
captures, rules, the
overview) for the duration. Printed: requests/s, latency p50/p95/p99/max per endpoint and in
all, and errors (anything but 200). Target: p95 < 200 ms.

    .venv/bin/python benchmarks/console_load.py [--clients 50] [--seconds 60] [--alerts 10000]

This is a measurement, not a test: the figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

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

WRITE = "write (assign)"
"""The label of the triage writes' latencies (reported apart from the reads)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill_store(database: str, data_dir: Path, alerts: int, seed: int = 11,
               clients: int = 50) -> list[str]:
    """Migrate, ingest the demo capture, add ``alerts`` synthetic alerts and ``clients`` users
    (analysts, one admin) with an API token each; returns the tokens. One token per client,
    as 50 people would have: each token's use is recorded in the store now and then, and
    every such write is a change the console's read cache must notice."""
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
    tokens = []
    for n in range(clients):
        role = Role.ADMIN if n == 0 else Role.ANALYST
        user, _ = add_user(store, Actor.system(), f"bench{n}", role)
        granted = ROLE_PERMISSIONS[role]
        _out, token = create_token(store, Actor.system(), user.id, "load", sorted(granted),
                                   granted, 1)
        tokens.append(token)
    store.dispose()
    return tokens


def serve(database: str, data_dir: str, port: int, read_cache: bool = True) -> None:
    """The child process: the console on 127.0.0.1:port."""
    import uvicorn

    from otshield.console.app import create_app
    from otshield.console.settings import ConsoleSettings

    app = create_app(ConsoleSettings(database=database, data_dir=Path(data_dir),
                                     read_cache=read_cache), warm=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client for GET requests.

    The load must come from a client much cheaper than the server it measures: httpx spent
    about 10 ms of CPU a request here, so 50 httpx clients on this 2-core machine took a core
    from the server they were measuring. This one parses only the status line, the
    ``Content-Length`` or chunked framing, and reads the body whole (so the server's work,
    the transfer included, is all timed)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        return await self.request("GET", target)

    async def request(self, method: str, target: str, json_body: object = None
                      ) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if json_body is None else json.dumps(json_body).encode()
        extra = (f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                 if json_body is not None else "")
        self.writer.write(f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}"
                          f"{extra}\r\n".encode() + payload)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in lines[1:] if line)}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            data = bytes(body)
        else:
            data = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_clients(host: str, port: int, tokens: list[str], clients: int, seconds: float,
                      *, writes: float = 0.0, alerts: int = 1
                      ) -> tuple[dict[str, list[float]], dict[str, int], float]:
    """``clients`` connections, each sending its next request as soon as the last one is
    answered (no think time: the heaviest load 50 clients can make), for ``seconds``."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    stop = time.perf_counter() + seconds
    targets = [(label, path + ("?" + urlencode(params) if params else ""))
               for label, path, params in ENDPOINTS]

    async def timed(http: HttpConnection, label: str, method: str, target: str,
                    body: object, accept: tuple[int, ...]) -> float:
        """One request, its latency recorded under ``label`` (an error: any other status,
        a broken connection or no answer in 30 s); returns when it began."""
        began = time.perf_counter()
        try:
            status, _body = await asyncio.wait_for(http.request(method, target, body), 30.0)
            ok = status in accept
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            ok = False
            await http.close()
        latencies[label].append(time.perf_counter() - began)
        if not ok:
            errors[label] += 1
        return began

    async def client(n: int) -> None:
        rnd = random.Random(n)
        http = HttpConnection(host, port,
                              {"Authorization": f"Bearer {tokens[n % len(tokens)]}"})
        try:
            while time.perf_counter() < stop:
                label, target = rnd.choice(targets)
                await timed(http, label, "GET", target, None, (200,))
        finally:
            await http.close()

    async def writer() -> None:
        """Triage while the screens poll: a random alert assigned to one of the analysts
        ``writes`` times a second. Each one changes what the lists show (the assignee), so
        every kept answer of the read cache goes stale and is computed again."""
        rnd = random.Random(-1)
        http = HttpConnection(host, port, {"Authorization": f"Bearer {tokens[0]}"})
        try:
            while writes > 0 and time.perf_counter() < stop:
                began = await timed(  # 409: the alert was closed meanwhile
                    http, WRITE, "POST", f"/api/v1/alerts/{rnd.randint(1, alerts)}/assign",
                    {"assignee": f"bench{rnd.randrange(len(tokens))}"}, (200, 409))
                await asyncio.sleep(max(0.0, 1 / writes - (time.perf_counter() - began)))
        finally:
            await http.close()

    began = time.perf_counter()
    await asyncio.gather(writer(), *(client(n) for n in range(clients)))
    return latencies, errors, time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--writes", type=float, default=2.0, metavar="PER_SECOND",
                    help="triage changes (assign) per second beside the reads (default 2; "
                         "0: none)")
    ap.add_argument("--no-cache", action="store_true",
                    help="serve without the read cache (the store's own speed)")
    ap.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    ap.add_argument("--serve", nargs=4, metavar=("DB", "DATA", "PORT", "CACHE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]), args.serve[3] == "cache")
        return 0
    with tempfile.TemporaryDirectory(prefix="otshield-load-") as tmp:
        database = args.database or str(Path(tmp) / "console.db")
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        tokens = fill_store(database, data_dir, args.alerts, clients=args.clients)
        print(f"store: {args.alerts} alerts + the demo inventory in "
              f"{time.perf_counter() - t0:.1f} s ({database if args.database else 'SQLite'})")
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", database,
                                   str(data_dir), str(port),
                                   "none" if args.no_cache else "cache"])
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
            # one request per page first, as a screen opened before the measurement would
            # (the rule pack loads at the first use: about 2 s)
            headers = {"Authorization": f"Bearer {tokens[0]}"}
            for _label, path, params in ENDPOINTS:
                httpx.get(f"{base}{path}", params=params, headers=headers,  # type: ignore[arg-type]
                          timeout=60)
            latencies, errors, elapsed = asyncio.run(
                run_clients("127.0.0.1", port, tokens, args.clients, args.seconds,
                            writes=args.writes, alerts=args.alerts))
        finally:
            server.terminate()
            server.wait(10)
    reads = [v for label, values in latencies.items() if label != WRITE for v in values]
    read_errors = sum(n for label, n in errors.items() if label != WRITE)
    print(f"{args.clients} clients, {elapsed:.1f} s: {len(reads)} reads, "
          f"{len(reads) / elapsed:.1f} reads/s, {read_errors} errors; "
          f"{len(latencies.get(WRITE, []))} writes ({args.writes:g}/s asked), "
          f"{errors.get(WRITE, 0)} failed; read cache {'off' if args.no_cache else 'on'}")
    print(f"{'endpoint':<18} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>6}")
    for label in [label for label, _path, _params in ENDPOINTS] + ["all reads", WRITE]:
        values = reads if label == "all reads" else latencies.get(label, [])
        failed = read_errors if label == "all reads" else errors.get(label, 0)
        if values:
            print(f"{label:<18} {len(values):>8} {pct(values, .5):>8.1f} "
                  f"{pct(values, .95):>8.1f} {pct(values, .99):>8.1f} "
                  f"{max(values) * 1000:>8.1f} {failed:>6}")
    if reads:
        print(f"mean read {statistics.fmean(reads) * 1000:.1f} ms; target p95 < 200 ms for "
              f"the list pages: {'met' if pct(reads, .95) < 200 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

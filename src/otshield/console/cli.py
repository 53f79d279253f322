"""``otshield serve``: run the console (REST API, web pages) with uvicorn.

    otshield serve                                  # ./otshield.db, http://127.0.0.1:8080
    otshield serve --demo                           # a populated demo plant in one command
    otshield serve --database postgresql+psycopg://otshield@db/otshield --site plant.yaml \\
        --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem

At the first start (no user in the database) the ``admin`` account is created and its one-time
password printed here, once: sign in with it, choose a new password and enrol a second factor.
``--demo`` writes the demo plant capture and its site file into the data directory, analyses
them into the database (once: a later ``--demo`` start reuses them) and serves the result.

The console listens on 127.0.0.1 unless told otherwise; on any other address it should sit
behind TLS (``--tls-cert``/``--tls-key``, or a reverse proxy with ``--secure-cookies``), because
it holds the map of the plant and its users' sessions.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from otshield.console.settings import ConsoleSettings
from otshield.errors import ConfigError, OtshieldError

__all__ = ["DEMO_CAPTURE", "DEMO_SITE", "prepare_demo", "register"]

DEMO_CAPTURE = "demo-plant.pcap"
DEMO_SITE = "site.yaml"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve", help="run the web console (REST API, pages) over a database",
        description="Run the otshield console: the REST API under /api/v1 (OpenAPI docs at "
                    "/api/v1/docs) and the web pages, over a SQLite file or a PostgreSQL URL.")
    p.add_argument("--database", default=None,
                   help="SQLite file or SQLAlchemy URL (default: otshield.db; with --demo: "
                        "console.db in the data directory)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                                                       "127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--data-dir", default=None,
                   help="uploaded captures and analysis files (default ./otshield-data; with "
                        "--demo ./otshield-demo)")
    p.add_argument("--site", default=None,
                   help="site file (zones, conduits) the console checks traffic against")
    p.add_argument("--rules-dir", default=None, help="extra rule files beside the built-in "
                                                     "pack")
    p.add_argument("--notify", default=None, metavar="FILE",
                   help="notify.yaml: where playbook notifications go (e-mail, webhook, syslog)")
    p.add_argument("--playbooks-dir", default=None, metavar="DIR",
                   help="folder of site playbooks (CACAO 2.0 JSON) beside the built-in ones")
    p.add_argument("--demo", action="store_true",
                   help="write the demo plant capture and site file, analyse them, serve them")
    p.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS")
    p.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark cookies Secure (behind a TLS reverse proxy; implied by "
                        "--tls-cert)")
    p.add_argument("--max-upload-mb", type=int, default=2048,
                   help="largest capture upload in MiB (default 2048)")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=_cmd_serve)


def _check_args(args: argparse.Namespace) -> None:
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: choose 1 to 65535")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    for flag, value in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key),
                        ("--site", args.site)):
        if value and not Path(value).is_file():
            raise ConfigError(f"{flag} {value}: no such file")
    if args.rules_dir and not Path(args.rules_dir).exists():
        raise ConfigError(f"--rules-dir {args.rules_dir}: no such file or directory")
    if args.notify and not Path(args.notify).is_file():
        raise ConfigError(f"--notify {args.notify}: no such file")
    if args.playbooks_dir and not Path(args.playbooks_dir).is_dir():
        raise ConfigError(f"--playbooks-dir {args.playbooks_dir}: no such directory")
    if not 1 <= args.max_upload_mb <= 1 << 20:
        raise ConfigError(f"--max-upload-mb {args.max_upload_mb}: choose 1 to 1048576")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from_args(args: argparse.Namespace) -> ConsoleSettings:
    data_dir = Path(args.data_dir or ("otshield-demo" if args.demo else "otshield-data"))
    database = args.database or (str(data_dir / "console.db") if args.demo else "otshield.db")
    return ConsoleSettings(
        database=database, data_dir=data_dir,
        secure_cookies=bool(args.tls_cert) or bool(args.secure_cookies),
        site_file=Path(args.site).resolve() if args.site else None,
        rules_dir=Path(args.rules_dir).resolve() if args.rules_dir else None,
        notify_file=Path(args.notify).resolve() if args.notify else None,
        playbooks_dir=Path(args.playbooks_dir).resolve() if args.playbooks_dir else None)


def prepare_demo(store: Any, settings: ConsoleSettings, err: Console) -> ConsoleSettings:
    """Write the demo plant (the simulated water works with a ransomware attack reaching a
    PLC) and its site file into the data directory and analyse them into ``store`` unless an
    earlier start did; returns the settings with the demo site file."""
    import msgspec

    from otshield.console.api.capturejobs import run_job
    from otshield.demo import write_demo_plant
    from otshield.store import jobs as jobs_repo

    directory = settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    capture = directory / DEMO_CAPTURE
    site = directory / DEMO_SITE
    if not capture.exists() or not site.exists():
        files = write_demo_plant(directory)
        err.print(f"wrote the demo capture {escape(str(capture))} ({files.packets} packets: "
                  f"the simulated water works with the {files.scenario} attack)")
    # the demo plant's own site file, unless --site names another
    demo = (settings if settings.site_file is not None
            else msgspec.structs.replace(settings, site_file=site.resolve()))
    with store.session(write=False) as db:
        done = [j for j in jobs_repo.list_jobs(db, limit=1000)[0]
                if j.filename == DEMO_CAPTURE and j.status == "done"]
    if done:
        return demo
    with store.session() as db:
        job, _change = jobs_repo.create_job(
            db, filename=DEMO_CAPTURE, path=str(capture.resolve()), created_by="system",
            size=capture.stat().st_size,
            options={"site": str(demo.site_file), "rules": []})
    err.print("analysing the demo capture...")
    run_job(store, demo, job.id)
    with store.session(write=False) as db:
        result = jobs_repo.get_job(db, job.id)
    err.print(f"demo plant ready: {result.assets} assets, {result.alerts_total} alerts")
    return demo


def _cmd_serve(args: argparse.Namespace, out: Console, err: Console) -> int:
    import uvicorn

    from otshield.console.app import create_app
    from otshield.console.auth.bootstrap import bootstrap_admin
    from otshield.store import Store

    try:
        _check_args(args)
        settings = settings_from_args(args)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.database)
        store.migrate()
        bootstrap_admin(store, lambda message: out.print(message, markup=False,
                                                         highlight=False))
        if args.demo:
            settings = prepare_demo(store, settings, err)
        app = create_app(settings, store=store, warm=True)
    except OtshieldError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    except OSError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    app.state.max_upload_bytes = args.max_upload_mb << 20
    scheme = "https" if args.tls_cert else "http"
    if not _loopback(args.host) and not args.tls_cert and not args.secure_cookies:
        err.print("[yellow]warning:[/yellow] listening beyond this machine without TLS: "
                  "passwords and session cookies cross the network in clear text "
                  "(use --tls-cert/--tls-key or a TLS reverse proxy with --secure-cookies)")
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    err.print(f"otshield console on {scheme}://{shown_host}:{args.port}/ "
              f"(API docs: /api/v1/docs; database {escape(store.name)})")
    logging.getLogger("otshield").setLevel(args.log_level.upper())
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                    ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                    server_header=False, proxy_headers=False)
    except (OSError, SystemExit) as exc:
        err.print(f"[red]error:[/red] the server stopped: {escape(str(exc))}")
        return 2
    finally:
        store.dispose()
    return 0

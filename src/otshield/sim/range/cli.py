"""``otshield range up|down|status|attack``: the live range from the command line.

``up`` builds the range and runs it in the foreground until Ctrl-C (or SIGTERM), printing how
to watch it; ``--watch`` also runs live detection on its bridge and prints alerts as they come;
``--detach`` starts it in the background and returns once it is ready. Each running range keeps
a state file ``<state-dir>/<id>.json`` (default ``/run/otshield/range``: gone at reboot, like
the namespaces) with its plan, namespaces and live counters, which ``status`` reads and
``attack`` uses to find the attacker's namespace. ``down`` stops a range (its process, then its
namespaces) and also removes leftovers of a crashed one, found by the ``otsr`` name prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from otshield.errors import ConfigError
from otshield.sim.range.attacks import ATTACKS, AttackContext, run_attack
from otshield.sim.range.netns import (
    RangeError,
    check_range_id,
    destroy,
    find_ranges,
    process_ended,
)
from otshield.sim.range.plan import RangePlan, default_plan, plan_from_model

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main", "register"]

DEFAULT_STATE_DIR = Path("/run/otshield/range")


class RangeState(msgspec.Struct, kw_only=True):
    range_id: str
    pid: int
    pid_start: int = 0
    """The process's start time (clock ticks after boot, /proc/PID/stat field 22): a PID
    reused by another process after a crash is never taken for the range's."""
    started: float
    ready: bool = False
    bridge: str = ""
    switch_ns: str = ""
    namespaces: dict[str, str] = msgspec.field(default_factory=dict)
    """Host name -> namespace."""
    site: str = ""
    """The site file detection should use."""
    plan: RangePlan | None = None
    status: dict[str, Any] = msgspec.field(default_factory=dict)
    updated: float = 0.0


# -- state files ----------------------------------------------------------------------------------


def _state_path(state_dir: Path, range_id: str) -> Path:
    return state_dir / f"{check_range_id(range_id)}.json"


def _write_state(state_dir: Path, state: RangeState) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = _state_path(state_dir, state.range_id)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(state))
    tmp.replace(path)


def _read_state(path: Path) -> RangeState:
    try:
        return msgspec.json.decode(path.read_bytes(), type=RangeState)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such range state file") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not a range state file ({exc})") from None


def _states(state_dir: Path) -> dict[str, RangeState]:
    out: dict[str, RangeState] = {}
    if state_dir.is_dir():
        for path in sorted(state_dir.glob("otsr*.json")):
            with contextlib.suppress(ConfigError):
                state = _read_state(path)
                out[state.range_id] = state
    return out


def _proc_start(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[19])


def _alive(state: RangeState) -> bool:
    """The range's own process still runs (not a zombie, not a reused PID)."""
    return (not process_ended(state.pid)
            and (not state.pid_start or _proc_start(state.pid) == state.pid_start))


def _pick(state_dir: Path, range_id: str | None) -> RangeState:
    """The range named, or the only one running."""
    states = {k: v for k, v in _states(state_dir).items() if _alive(v)}
    if range_id is not None:
        if range_id not in states:
            raise ConfigError(f"no running range {range_id!r} (running: "
                              f"{', '.join(states) or 'none'})")
        return states[range_id]
    if len(states) != 1:
        raise ConfigError("several ranges run; name one with --id: " + ", ".join(states)
                          if states else "no range is running (otshield range up)")
    return next(iter(states.values()))


# -- plan -----------------------------------------------------------------------------------------


def _plan(args: argparse.Namespace) -> RangePlan:
    if args.builtin:
        return default_plan()
    from otshield.sim.model import load_plant

    return plan_from_model(load_plant(Path(args.plant) if args.plant else None))


# -- up -------------------------------------------------------------------------------------------


def print_alert(out: Console) -> Any:
    from otshield.livewatch import print_alert as show

    return show(out)


def _cmd_up(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.detach:
        return _detach(args, out, err)
    from otshield.detect.analyze import AnalyzeOptions
    from otshield.sim.range.runner import LiveRange

    state_dir = Path(args.state_dir)
    plan = _plan(args)
    rng = LiveRange(plan, range_id=args.id)
    stopping = threading.Event()

    def on_signal(_sig: int, _frame: object) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    path = _state_path(state_dir, rng.range_id)
    try:
        rng.up()
        site = Path(args.site) if args.site else rng.site_file()
        assert rng.net is not None
        state = RangeState(range_id=rng.range_id, pid=os.getpid(),
                           pid_start=_proc_start(os.getpid()), started=rng.started,
                           ready=True, bridge=rng.bridge, switch_ns=rng.switch_ns,
                           namespaces={h.name: h.ns for h in rng.net.hosts.values()},
                           site=str(site), plan=plan)
        if args.watch:
            options = AnalyzeOptions(site=str(site), min_severity=args.min_severity)
            rng.watch(options, on_alert=print_alert(out),
                      pcap=Path(args.pcap) if args.pcap else None)
        _write_state(state_dir, state)
        _describe(rng, plan, site, out)
        err.print(f"range {rng.range_id} is up; Ctrl-C (or otshield range down "
                  f"{rng.range_id}) stops it")
        while not stopping.wait(2.0):
            state.status = rng.status()
            state.updated = time.time()
            _write_state(state_dir, state)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        removed = rng.down()
        path.unlink(missing_ok=True)
        err.print(f"range {rng.range_id} is down ({len(removed)} namespaces removed)")
    return 0


def _describe(rng: Any, plan: RangePlan, site: Path, out: Console) -> None:
    from rich.table import Table

    t = Table(title=f"live range {rng.range_id}: {plan.name}", title_justify="left")
    for col in ("host", "address", "zone", "kind", "runs"):
        t.add_column(col)
    plcs = {p.host: p for p in plan.plcs}
    polls: dict[str, list[str]] = {}
    for q in plan.polls:
        polls.setdefault(q.client, []).append(f"polls {q.server} every {q.period:g} s")
    for h in plan.hosts:
        runs = (f"{plcs[h.name].protocol} server" if h.name in plcs
                else "; ".join(polls.get(h.name, [])) or
                ("attacks (otshield range attack)" if h.name == plan.attacker else ""))
        t.add_row(h.name, h.ip, h.zone, h.kind, runs)
    out.print(t)
    out.print(f"watch it: otshield live {rng.bridge} --netns {rng.switch_ns} --detect "
              f"--site {site}", highlight=False)


def _detach(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.sim.range.netns import new_range_id, require_namespaces

    require_namespaces()
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    rid = args.id or new_range_id()
    log = state_dir / f"{rid}.log"
    cmd = [sys.executable, "-m", "otshield.sim.range.cli", "up", "--id", rid,
           "--state-dir", str(state_dir), "--min-severity", args.min_severity]
    for flag, value in (("--plant", args.plant), ("--site", args.site), ("--pcap", args.pcap)):
        if value:
            cmd += [flag, str(Path(value).resolve())]
    cmd += ["--builtin"] if args.builtin else []
    cmd += ["--watch"] if args.watch else []
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
                                start_new_session=True)
    path = _state_path(state_dir, rid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and _read_state(path).ready:
            err.print(f"range {rid} is up (process {proc.pid}, log {log}); "
                      f"otshield range status {rid} / otshield range down {rid}")
            out.print(rid)
            return 0
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RangeError(f"the range process ended before the range was up:\n{tail}")
        time.sleep(0.2)
    proc.terminate()
    raise RangeError(f"range {rid} did not come up within 60 s (log {log})")


# -- down -----------------------------------------------------------------------------------------


def _cmd_down(args: argparse.Namespace, out: Console, err: Console) -> int:
    state_dir = Path(args.state_dir)
    states = _states(state_dir)
    leftovers = find_ranges()
    if args.all:
        ids = sorted(set(states) | set(leftovers))
    elif args.range_id:
        ids = [check_range_id(args.range_id)]
    else:
        known = sorted(set(states) | set(leftovers))
        if len(known) > 1:
            raise ConfigError("several ranges exist; name one or use --all: " + ", ".join(known))
        ids = known
    if not ids:
        err.print("no range to remove")
        return 0
    for rid in ids:
        state = states.get(rid)
        if state is not None and state.pid != os.getpid() and _alive(state):
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pid, signal.SIGTERM)  # it removes its own namespaces
            deadline = time.monotonic() + 20
            while _alive(state) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(state):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(state.pid, signal.SIGKILL)
        removed = destroy(rid)
        for path in (_state_path(state_dir, rid), state_dir / f"{rid}.log"):
            with contextlib.suppress(OSError):
                path.unlink()
        # the site file directory of a range that could not clean up after itself
        for work in Path(tempfile.gettempdir()).glob(f"{rid}-*"):
            if work.is_dir():
                shutil.rmtree(work, ignore_errors=True)
        err.print(f"range {rid} removed" + (f" ({len(removed)} leftover namespaces)"
                                             if removed else ""))
    return 0


# -- status ---------------------------------------------------------------------------------------


def _cmd_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    from rich.table import Table

    states = _states(Path(args.state_dir))
    leftovers = find_ranges()
    ids = sorted(set(states) | set(leftovers))
    if args.range_id:
        ids = [i for i in ids if i == args.range_id]
    rows: list[dict[str, Any]] = []
    for rid in ids:
        state = states.get(rid)
        running = state is not None and _alive(state)
        rows.append({"range": rid, "state": "running" if running else "leftover",
                     "pid": state.pid if state else None,
                     "namespaces": len(leftovers.get(rid, [])),
                     "bridge": state.bridge if state else "",
                     "switch_ns": state.switch_ns if state else "",
                     "status": state.status if state else {}})
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        out.print("no live range on this machine")
        return 0
    t = Table(title="live ranges", title_justify="left")
    for col in ("range", "state", "namespaces", "capture on", "polls ok/failed", "alerts"):
        t.add_column(col)
    for r in rows:
        st = r["status"]
        polls = st.get("polls", [])
        ok = sum(p["ok"] for p in polls)
        failed = sum(p["failed"] for p in polls)
        t.add_row(r["range"], r["state"], str(r["namespaces"]),
                  f"{r['bridge']} (netns {r['switch_ns']})" if r["bridge"] else "",
                  f"{ok}/{failed}" if polls else "", str(st.get("alerts", "")))
    out.print(t)
    if any(r["state"] == "leftover" for r in rows):
        err.print("leftovers (no process): remove them with otshield range down --all")
    return 0


# -- attack ---------------------------------------------------------------------------------------


def _cmd_attack(args: argparse.Namespace, out: Console, err: Console) -> int:
    state = _pick(Path(args.state_dir), args.id)
    if state.plan is None:
        raise ConfigError(f"range {state.range_id}: its state file has no plan")
    attacker_ns = state.namespaces.get(state.plan.attacker)
    if attacker_ns is None:
        raise ConfigError(f"range {state.range_id}: no namespace for the attacker")
    ctx = AttackContext(plan=state.plan, attacker_ns=attacker_ns)
    result = run_attack(args.attack, ctx, args.target)
    t = result.truth
    out.print(f"{t.stage}: {result.detail}", highlight=False)
    out.print(f"  {t.src} -> {t.dst}, {time.strftime('%H:%M:%S', time.localtime(t.ts))} "
              f"for {t.end_ts - t.ts:.2f} s; techniques {', '.join(t.techniques)}; "
              f"expected rule {t.rule}", highlight=False)
    if args.output:
        path = Path(args.output)
        entries: list[Any] = []
        if path.exists():
            try:
                entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{path}: not a truth file ({exc})") from None
            if not isinstance(entries, list):
                raise ConfigError(f"{path}: not a truth file (expected a JSON list)")
        entries.append(msgspec.to_builtins(t))
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        err.print(f"ground truth appended to {path}")
    return 0


# -- wiring ---------------------------------------------------------------------------------------


def _add_state_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), metavar="DIR",
                   help=f"where running ranges keep their state (default {DEFAULT_STATE_DIR})")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``range up|down|status|attack``."""
    rg = sub.add_parser("range", help="the live range: the plant run as real services in "
                        "network namespaces of this machine (needs root)")
    rsub = rg.add_subparsers(dest="range_verb", required=True, metavar="ACTION")

    up = rsub.add_parser("up", help="bring a range up (foreground until Ctrl-C, or --detach)")
    src = up.add_mutually_exclusive_group()
    src.add_argument("--plant", metavar="FILE", help="plant model (default: the bundled plant)")
    src.add_argument("--builtin", action="store_true",
                     help="the small built-in range (one tank, three PLCs) instead of a plant")
    up.add_argument("--watch", action="store_true",
                    help="run live detection on the range's bridge and print alerts")
    up.add_argument("--site", metavar="FILE",
                    help="site file for --watch (default: the plant's own)")
    up.add_argument("--min-severity", default="low",
                    choices=("info", "low", "medium", "high", "critical"))
    up.add_argument("--pcap", metavar="FILE", help="with --watch: keep the traffic in FILE")
    up.add_argument("--detach", action="store_true",
                    help="run in the background; returns once the range is up")
    up.add_argument("--id", help=argparse.SUPPRESS)
    _add_state_dir(up)
    up.set_defaults(func=_cmd_up)

    down = rsub.add_parser("down", help="stop a range and remove its namespaces (also the "
                           "leftovers of a crashed one)")
    down.add_argument("range_id", nargs="?", metavar="ID")
    down.add_argument("--all", action="store_true", help="every range on this machine")
    _add_state_dir(down)
    down.set_defaults(func=_cmd_down)

    st = rsub.add_parser("status", help="ranges on this machine: namespaces, polls, alerts")
    st.add_argument("range_id", nargs="?", metavar="ID")
    st.add_argument("--format", choices=("table", "json"), default="table")
    _add_state_dir(st)
    st.set_defaults(func=_cmd_status)

    at = rsub.add_parser("attack", help="run a drill attack from the range's attacker host",
                         description="Attacks: " + "; ".join(
                             f"{a.name}: {a.title} ({', '.join(a.techniques)})"
                             for a in ATTACKS.values()))
    at.add_argument("attack", choices=sorted(ATTACKS), metavar="NAME",
                    help=", ".join(sorted(ATTACKS)))
    at.add_argument("--id", help="the range (default: the only one running)")
    at.add_argument("--target", metavar="PLC", help="PLC host name (default: the first PLC "
                    "speaking the attack's protocol)")
    at.add_argument("-o", "--output", metavar="FILE",
                    help="append the ground truth to this JSON list")
    _add_state_dir(at)
    at.set_defaults(func=_cmd_attack)


def main(argv: list[str] | None = None) -> int:
    """``python -m otshield.sim.range.cli`` (how ``up --detach`` runs the range)."""
    from rich.console import Console

    from otshield.errors import OtshieldError

    parser = argparse.ArgumentParser(prog="otshield")
    register(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(["range", *(argv if argv is not None else sys.argv[1:])])
    out, err = Console(), Console(stderr=True)
    try:
        rc: int = args.func(args, out, err)
    except OtshieldError as exc:
        err.print(f"[red]otshield: error:[/] {exc}", highlight=False)
        return 2
    return rc


if __name__ == "__main__":
    raise SystemExit(main())


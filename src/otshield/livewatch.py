"""Live monitoring with detection: ``otshield live IFACE --detect``.

The same one-pass job as ``otshield analyze`` (decode, asset inventory, rules, zone policy,
intelligence, baseline), fed by :class:`otshield.live.LiveCapture` instead of files. Two things
differ from files and are handled here:

* Promptness. The detection pipeline runs events in batches that end by size or by packet time
  (:mod:`otshield.detect.pipeline`); on a quiet interface no later packet ends the batch, so the
  pipeline is built with ``max_delay`` and ticked on every packet and whenever the capture has
  been idle for its timeout: an alert comes out within about ``max_delay`` + 0.2 s of its packet.
* Namespaces. ``netns`` opens the capture socket inside a named network namespace (the live
  range's switch, ``ip netns``), while everything else runs where the caller is.

    watch = LiveWatch("eth1", AnalyzeOptions(site="site.yaml"), on_alert=print)
    # on_alert: each new alert (first occurrence of its key); on_each_alert: every occurrence
    watch.run(seconds=60)          # or watch.stop() from another thread / a signal handler
    watch.alerts()                 # merged, most severe first

``register(sub)`` adds the ``live`` verb (decode-only as before, or ``--detect``).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from otshield.config import Settings
from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.analyze import AnalyzeOptions, build_detection
from otshield.detect.context import AssetContext
from otshield.detect.pipeline import DetectionPipeline
from otshield.engine import Engine
from otshield.events import Event
from otshield.live import LiveCapture, LiveStats
from otshield.pcapwriter import PcapWriter

if TYPE_CHECKING:
    from rich.console import Console

    from otshield.inventory.model import InventorySnapshot

__all__ = ["LiveWatch", "print_alert", "register"]


class LiveWatch:
    """Decode, inventory and detection on one live interface until :meth:`stop`."""

    def __init__(self, interface: str, options: AnalyzeOptions | None = None, *,
                 bpf_filter: str | None = None, netns: str | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_alert: Callable[[Alert], None] | None = None,
                 on_each_alert: Callable[[Alert], None] | None = None,
                 max_delay: float = 0.5, settings: Settings | None = None,
                 detect: bool = True, pcap: Path | None = None) -> None:
        from otshield.inventory import InventoryBuilder
        from otshield.policy import load_policy

        self.options = options or AnalyzeOptions()
        policy = load_policy(Path(self.options.site)) if self.options.site else None
        self._site = policy.site if policy is not None else None
        self.inventory = InventoryBuilder()
        context = AssetContext(self._site, self.inventory)
        user_alert = on_alert
        min_sev = self.options.min_severity

        def alert_out(alert: Alert) -> None:
            if user_alert is not None and severity_at_least(alert.severity, min_sev):
                user_alert(alert)

        each = on_each_alert

        def each_out(alert: Alert) -> None:
            if each is not None and severity_at_least(alert.severity, min_sev):
                each(alert)

        self.pipeline = DetectionPipeline([], inventory=self.inventory if detect else None,
                                          on_event=on_event, on_alert=alert_out,
                                          on_each_alert=each_out if each is not None else None,
                                          max_delay=max_delay)
        self.detectors: list[str] = []
        self.rules = 0
        if detect:  # without: decode only (``live`` without --detect), events go straight out
            built = build_detection(self.options, context, policy, self.pipeline.alert_sink)
            for detector in built.detectors:
                self.pipeline.add(detector)
            self.detectors = [d.name for d in built.detectors]
            self.rules = built.rules
        self.engine = Engine(self.pipeline, settings or Settings())
        self.interface = interface
        self._lock = threading.Lock()
        tick = self.pipeline.tick
        if netns:
            from otshield.sim.range.netns import netns as in_netns

            with in_netns(netns):  # the socket stays in the namespace it was made in
                self.capture = LiveCapture(interface, bpf_filter=bpf_filter, on_idle=tick)
        else:
            self.capture = LiveCapture(interface, bpf_filter=bpf_filter, on_idle=tick)
        self.started = 0.0
        self.finished = False
        self.pcap = pcap
        """Also keep every captured frame in this pcap file (written as it comes)."""

    def run(self, *, count: int = 0, seconds: float = 0.0) -> LiveStats:
        """Capture and detect until :meth:`stop`, ``count`` packets or ``seconds``; then finish
        the engine and the detectors (pending windows report) and return the capture counters."""
        self.started = time.time()
        deadline = time.monotonic() + seconds if seconds else None
        feed, tick = self.engine.feed, self.pipeline.tick
        cap = self.capture
        if deadline is not None:
            timer = threading.Timer(seconds, cap.stop)
            timer.daemon = True
            timer.start()
        fh = None
        try:
            keep = None
            if self.pcap is not None:
                fh = self.pcap.open("wb")
                keep = PcapWriter(fh, linktype=cap.linktype, nanosecond=True).write
            for n, (ts, lt, data) in enumerate(cap, 1):
                if keep is not None:
                    keep(ts, data)
                feed(ts, lt, data)
                tick()
                if count and n >= count:
                    break
        finally:
            if deadline is not None:
                timer.cancel()
            if fh is not None:
                fh.close()
            stats = cap.stats()
            cap.close()
            self.finish()
        return stats

    def finish(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.finished = True
        self.engine.finish()
        self.pipeline.finish()

    def stop(self) -> None:
        """End :meth:`run` (thread-safe; also from a signal handler)."""
        self.capture.stop()

    @property
    def error(self) -> str | None:
        """Why the capture ended by itself (the interface vanished...), else None."""
        return self.capture.error

    def alerts(self) -> list[Alert]:
        return [a for a in self.pipeline.alerts()
                if severity_at_least(a.severity, self.options.min_severity)]

    def snapshot(self) -> InventorySnapshot:
        return self.inventory.snapshot(self._site)


# -- the ``live`` verb ------------------------------------------------------------------------


def print_alert(out: Console) -> Callable[[Alert], None]:
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}

    def show(alert: Alert) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(alert.first_seen or alert.ts))
        techniques = ",".join(alert.techniques)
        colour = colours.get(alert.severity, "white")
        out.print(f"{when} [{colour}]{alert.severity:>8}[/] {alert.rule_id} "
                  f"[dim]{techniques}[/] {alert.title}", highlight=False)
    return show


def _cmd_live(args: argparse.Namespace, out: Console, err: Console) -> int:
    from otshield.detect.report import print_analysis
    from otshield.output import JsonlWriter
    from otshield.summary import SummarySink, print_summary

    summary = SummarySink()
    writer = JsonlWriter(Path(args.output)) if args.output else None

    def on_event(event: Event) -> None:
        if writer is not None:
            writer(event)
        summary(event)

    started = time.perf_counter()
    if not args.detect and (args.site or args.rules):
        err.print("[yellow]--site and --rules only matter with --detect[/]")
    options = AnalyzeOptions(site=args.site if args.detect else None,
                             rules=tuple(args.rules or ()) if args.detect else (),
                             min_severity=args.min_severity)
    watch = LiveWatch(args.interface, options, bpf_filter=args.filter, netns=args.netns,
                      on_event=on_event, on_alert=print_alert(out), detect=args.detect)
    where = f" in namespace {args.netns}" if args.netns else ""
    err.print(f"capturing on {args.interface}{where}"
              + (f" with filter {args.filter!r}" if args.filter else "")
              + (f"; detection: {len(watch.detectors)} detectors, {watch.rules} rules"
                 if args.detect else "") + "; Ctrl-C stops")
    try:
        stats = watch.run(count=args.count, seconds=args.seconds)
    except KeyboardInterrupt:
        watch.stop()
        stats = watch.capture.stats()
        watch.finish()
    finally:
        if writer is not None:
            writer.close()
    if watch.error:
        err.print(f"[red]{watch.error}[/]")
    print_summary(watch.engine.stats, summary, out, time.perf_counter() - started)
    out.print(f"kernel: {stats.received:,} packets received, {stats.dropped:,} dropped")
    if args.detect:
        from otshield.detect.analyze import Analysis

        analysis = Analysis(captures=[f"live:{args.interface}"], options=options,
                            packets=watch.engine.stats.packets,
                            first_ts=watch.engine.stats.first_ts,
                            last_ts=watch.engine.stats.last_ts, alerts=watch.alerts(),
                            inventory=watch.snapshot(), detectors=watch.detectors,
                            rules=watch.rules, seconds=time.perf_counter() - started)
        print_analysis(analysis, out)
    return 1 if watch.error else 0


def add_arguments(lv: argparse.ArgumentParser) -> None:
    """The options of ``otshield live``."""
    lv.add_argument("interface")
    lv.add_argument("-f", "--filter", help="BPF capture filter, e.g. 'tcp port 502'")
    lv.add_argument("-o", "--output", metavar="DIR", help="write JSON-lines events into DIR")
    lv.add_argument("-c", "--count", type=int, default=0, help="stop after N packets")
    lv.add_argument("-s", "--seconds", type=float, default=0.0, help="stop after S seconds")
    lv.add_argument("--detect", action="store_true",
                    help="also build the inventory and run detection (rules, the site's "
                    "zones-and-conduits policy); alerts are printed as they come")
    lv.add_argument("--site", metavar="FILE", help="site file (YAML): zones, assets, conduits")
    lv.add_argument("--rules", action="append", metavar="PATH",
                    help="rule file or directory added to the built-in pack (repeatable)")
    lv.add_argument("--min-severity", default="low",
                    choices=("info", "low", "medium", "high", "critical"),
                    help="alerts below this severity are not shown (default low)")
    lv.add_argument("--netns", metavar="NAME",
                    help="capture inside this network namespace (ip netns), e.g. the live "
                    "range's switch namespace")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``live`` verb."""
    lv = sub.add_parser("live", help="decode (and with --detect, watch for attacks on) "
                        "traffic from a network interface (needs root or CAP_NET_RAW)")
    add_arguments(lv)
    lv.set_defaults(func=_cmd_live)

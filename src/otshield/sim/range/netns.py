"""The live range's network: Linux network namespaces joined by one bridge, made and removed here.

Layout (one flat layer-2 segment, like the SPAN port of a plant's core switch)::

    <id>-sw            the "switch" namespace: bridge <id> with one veth port p<n> per host
    <id>-<nn>-<name>   one namespace per host: eth0 (the plant's MAC and address), lo

Every zone keeps its own subnet, but all of them share the one bridge: each host gets its own
address on eth0 and an on-link route to every other zone's subnet, so hosts of different zones
talk directly (ARP on the shared segment, no router). That is a choice, not an accident: a
single capture on the bridge sees every conversation exactly once with the real MAC addresses
of both ends, which is what a sensor on a plant's core switch sees and what the offline
simulator writes. Zones still differ by subnet, so the site file's zones and conduits apply.

The bridge lives in its own namespace rather than the host's: bridged traffic is then untouched
by the machine's own firewall (``br_netfilter`` would send it through the host's iptables
FORWARD chain, which container hosts set to DROP), and nothing of the range is visible in the
host's namespace. The capture reaches the bridge with :func:`netns`: network namespaces are a
property of each thread (setns(2)), and a socket stays in the namespace it was created in, so a
thread can step into ``<id>-sw``, open its packet socket and step back.

Names: ``<id>`` is ``otsr`` and six random hex digits, so ranges made in parallel (tests under
xdist) never collide, and leftovers of a crashed run are found by that prefix:
:func:`find_ranges` lists them, :func:`destroy` ends the processes still inside their
namespaces (``ip netns pids`` does the same: a process's ``/proc/PID/ns/net`` names the
namespace's inode) and deletes the namespaces, which removes the veth pairs and the bridge
with them.

References: ip-netns(8), ip-link(8) (veth, bridge), setns(2), network_namespaces(7).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from otshield.errors import OtshieldError

__all__ = ["NETNS_DIR", "PREFIX", "HostAddress", "NetHost", "RangeError", "RangeNet",
           "build_network", "destroy", "enter_netns", "find_ranges", "namespace_pids", "netns",
           "new_range_id", "process_ended", "require_namespaces"]

PREFIX = "otsr"
NETNS_DIR = Path("/run/netns")
_ID_RE = re.compile(r"^otsr[0-9a-f]{6}$")
_CLONE_NEWNET = 0x40000000
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RangeError(OtshieldError):
    """The live range cannot be built, reached or removed."""


@dataclass(frozen=True, slots=True)
class HostAddress:
    """What a host of the range needs on the wire."""

    name: str
    ip: str
    prefix_len: int
    mac: str


@dataclass(frozen=True, slots=True)
class NetHost:
    """A host as built: its namespace and the bridge port it hangs on."""

    name: str
    ns: str
    ip: str
    prefix_len: int
    mac: str
    port: str
    """The veth end on the bridge (in the switch namespace)."""


@dataclass(slots=True)
class RangeNet:
    """A built range network."""

    range_id: str
    switch_ns: str
    bridge: str
    subnets: list[str]
    hosts: dict[str, NetHost] = field(default_factory=dict)

    def host(self, name: str) -> NetHost:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(sorted(self.hosts))
            raise RangeError(f"no host {name!r} in range {self.range_id} (hosts: {known})") \
                from None

    def namespaces(self) -> list[str]:
        return [self.switch_ns, *(h.ns for h in self.hosts.values())]


def new_range_id() -> str:
    """A fresh range id: ``otsr`` and six random hex digits (10 characters, so the bridge named
    after it fits the kernel's 15-character interface names)."""
    return PREFIX + secrets.token_hex(3)


def check_range_id(range_id: str) -> str:
    if not _ID_RE.match(range_id):
        raise RangeError(f"{range_id!r} is not a range id (otsr and six hex digits)")
    return range_id


# -- privileges -----------------------------------------------------------------------------------


def require_namespaces() -> None:
    """Raise :class:`RangeError` saying why when this process cannot build a range."""
    if os.geteuid() != 0:
        raise RangeError("the live range needs root: it creates network namespaces, veth pairs "
                         "and a bridge, and captures with AF_PACKET")
    if shutil.which("ip") is None:
        raise RangeError("the live range needs iproute2 ('ip'), which is not installed")
    probe = f"{PREFIX}probe{os.getpid()}"
    res = _ip("netns", "add", probe)
    if res.returncode:
        raise RangeError(f"network namespaces are not permitted here: {res.stderr.strip()}")
    _ip("netns", "del", probe)


# -- per-thread namespace switching ---------------------------------------------------------------

_LIBC: ctypes.CDLL | None = None


def _setns(fd: int) -> None:
    native = getattr(os, "setns", None)  # Python 3.12+
    if native is not None:
        native(fd, _CLONE_NEWNET)
        return
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    if _LIBC.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _open_ns(name: str) -> int:
    try:
        return os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RangeError(f"network namespace {name!r} does not exist (is the range up?)") \
            from None


def enter_netns(name: str) -> None:
    """Move the calling thread into namespace ``name`` for good (a thread made for it).

    Threads it starts afterwards are born in the same namespace."""
    fd = _open_ns(name)
    try:
        _setns(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def netns(name: str) -> Iterator[None]:
    """Run the block with the calling thread in namespace ``name``; sockets opened inside stay
    there after the block. Only the calling thread moves (setns(2) on a thread)."""
    target = _open_ns(name)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


# -- building -------------------------------------------------------------------------------------


def _ip(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def _batch(lines: Sequence[str], ns: str | None = None) -> None:
    """Run ``ip`` commands in one process (``ip -batch``), in namespace ``ns`` if given."""
    if not lines:
        return
    args = (["-n", ns] if ns else []) + ["-batch", "-"]
    res = _ip(*args, stdin="\n".join(lines) + "\n")
    if res.returncode:
        where = f" in namespace {ns}" if ns else ""
        raise RangeError(f"ip failed{where}: {res.stderr.strip() or res.stdout.strip()}")


def _write_sysctl(ns: str, values: dict[str, str]) -> None:
    """Set net.* sysctls of namespace ``ns`` (procfs resolves them for the writing thread)."""
    with netns(ns):
        for key, value in values.items():
            path = Path("/proc/sys") / key.replace(".", "/")
            with contextlib.suppress(OSError):  # e.g. IPv6 compiled out: nothing to silence
                path.write_text(value)


# IPv6 off in the range: duplicate address detection, router and MLD solicitations from every
# new interface would otherwise fill the first seconds of the capture with ICMPv6 the plant
# model does not have.
_NO_IPV6 = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


def _ns_name(range_id: str, index: int, name: str) -> str:
    safe = _SAFE.sub("-", name).strip("-.")[:32] or "host"
    return f"{range_id}-{index:02d}-{safe}"


def build_network(range_id: str, hosts: Sequence[HostAddress], subnets: Sequence[str]) -> RangeNet:
    """Create the switch namespace with its bridge and one namespace per host.

    On any failure everything made so far is removed before the error is raised."""
    check_range_id(range_id)
    names = [h.name for h in hosts]
    if len(set(names)) != len(names):
        raise RangeError("host names of a range must be unique")
    nets = [ipaddress.ip_network(s, strict=False) for s in subnets]
    net = RangeNet(range_id=range_id, switch_ns=f"{range_id}-sw", bridge=range_id,
                   subnets=[str(n) for n in nets])
    for i, addr in enumerate(hosts, start=1):
        net.hosts[addr.name] = NetHost(name=addr.name, ns=_ns_name(range_id, i, addr.name),
                                       ip=addr.ip, prefix_len=addr.prefix_len,
                                       mac=addr.mac.lower(), port=f"p{i}")
    try:
        _batch([f"netns add {ns}" for ns in net.namespaces()])
        for ns in net.namespaces():
            _write_sysctl(ns, _NO_IPV6)
        sw = [f"link add {net.bridge} type bridge stp_state 0 mcast_snooping 0",
              f"link set {net.bridge} up", "link set lo up"]
        for h in net.hosts.values():
            sw.append(f"link add {h.port} type veth peer name eth0 netns {h.ns}")
            sw.append(f"link set {h.port} master {net.bridge}")
            sw.append(f"link set {h.port} up")
        _batch(sw, net.switch_ns)
        for h in net.hosts.values():
            own = ipaddress.ip_interface(f"{h.ip}/{h.prefix_len}").network
            lines = [f"link set eth0 address {h.mac}", f"addr add {h.ip}/{h.prefix_len} dev eth0",
                     "link set eth0 up", "link set lo up"]
            lines += [f"route add {n} dev eth0" for n in nets if n != own and n.version == 4]
            _batch(lines, h.ns)
    except BaseException:
        destroy(range_id)
        raise
    return net


# -- finding and removing -------------------------------------------------------------------------


def _listed_namespaces() -> list[str]:
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def find_ranges() -> dict[str, list[str]]:
    """Range ids that have namespaces on this machine, with their namespaces."""
    out: dict[str, list[str]] = {}
    for name in _listed_namespaces():
        rid = name.split("-", 1)[0]
        if _ID_RE.match(rid) and name.startswith(rid + "-"):
            out.setdefault(rid, []).append(name)
    return out


def namespace_pids(ns: str) -> list[int]:
    """Processes whose network namespace is ``ns`` (what ``ip netns pids`` prints)."""
    try:
        st = os.stat(NETNS_DIR / ns)
    except FileNotFoundError:
        return []
    want = f"net:[{st.st_ino}]"
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/ns/net") == want:
                pids.append(int(entry))
    return pids


def process_ended(pid: int) -> bool:
    """The process has ended (a zombie waiting for its parent counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _end_processes(pids: list[int], wait: float = 3.0) -> None:
    me = os.getpid()
    pids = [p for p in pids if p != me]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if not process_ended(p)]
        if pids:
            time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def destroy(range_id: str) -> list[str]:
    """Remove every namespace of range ``range_id`` (ending the processes inside first); return
    the namespaces removed. Safe to call again and on a half-built range."""
    check_range_id(range_id)
    namespaces = find_ranges().get(range_id, [])
    for ns in namespaces:
        _end_processes(namespace_pids(ns))
    # the switch namespace last: its bridge ports die with the host namespaces anyway
    ordered = sorted(namespaces, key=lambda n: n.endswith("-sw"))
    with contextlib.suppress(RangeError):
        _batch([f"netns del {ns}" for ns in ordered])
    left = [ns for ns in ordered if (NETNS_DIR / ns).exists()]
    for ns in left:  # one failed in the batch: the others one by one
        _ip("netns", "del", ns)
    still = [ns for ns in ordered if (NETNS_DIR / ns).exists()]
    if still:
        raise RangeError(f"could not delete namespaces {', '.join(still)}")
    return ordered

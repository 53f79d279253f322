"""Live capture from a network interface (Linux AF_PACKET), with the file readers' contract.

``LiveCapture(interface, bpf_filter)`` yields ``(ts, linktype, frame)`` like
:class:`otshield.capture.CaptureReader` until :meth:`LiveCapture.stop` is called (from any
thread, or a signal handler). How it is built, with the references:

* packet(7): a ``SOCK_RAW`` socket bound to one interface for ``ETH_P_ALL`` delivers whole link
  layer frames in both directions. It is created with protocol 0 (receives nothing), configured,
  and only then bound for ``ETH_P_ALL``, so no packet slips past the filter.
* Capture filter: the expression is compiled to classic BPF by libpcap's ``pcap_compile``
  (through ctypes on ``pcap_open_dead``: no capture handle, just the compiler; Debian package
  libpcap0.8) and attached with ``SO_ATTACH_FILTER`` (Linux Documentation/networking/filter.rst),
  so rejected packets never leave the kernel.
* Time stamps: ``SO_TIMESTAMPNS`` (socket(7)) adds the kernel's receive time to each ``recvmsg``
  as ``SCM_TIMESTAMPNS``; without it the wall clock at reception is used.
* VLAN tags: the kernel (and most NICs) strip the 802.1Q tag before a packet socket sees the frame
  and report it in ``PACKET_AUXDATA`` (packet(7), ``struct tpacket_auxdata``); the tag is put back
  after the MAC addresses, as libpcap does, so VLAN ids reach the decoders.
* Promiscuous mode: ``PACKET_ADD_MEMBERSHIP`` with ``PACKET_MR_PROMISC``; the kernel drops the
  membership when the socket closes, so the interface never stays promiscuous.
* Statistics: ``PACKET_STATISTICS`` (``struct tpacket_stats``) resets on every read, so the
  counts are accumulated here. Interface drops come from ``/sys/class/net/<if>/statistics``
  (``rx_missed_errors`` + ``rx_fifo_errors``, as libpcap counts them), relative to the start.

Interfaces with an Ethernet header (Ethernet, loopback, veth, bridges, bonds, macvlan) give
linktype 1; raw IP interfaces (tun, wireguard) give linktype 101. Other link types are refused.

Filter caveat: the kernel runs the filter on the frame without its outer VLAN tag, so
"tcp port 502" matches singly tagged and untagged traffic alike, while the ``vlan`` keyword
only sees a second (inner) tag (libpcap avoids this only for handles it opens itself, with
kernel BPF extensions). Filter on the inner fields and let the decoders see the re-inserted
VLAN ids.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from otshield.errors import CaptureError, ConfigError

__all__ = ["LiveCapture", "LiveStats", "compile_filter"]

# Linux ABI numbers (include/uapi/linux/if_ether.h, if_packet.h, asm-generic/socket.h)
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35  # = SCM_TIMESTAMPNS
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF

# ARPHRD_* (include/uapi/linux/if_arp.h) -> LINKTYPE_*
_LINKTYPES: dict[int, int] = {
    1: 1,  # ARPHRD_ETHER
    772: 1,  # ARPHRD_LOOPBACK: Linux gives loopback frames a (zeroed) Ethernet header
    0xFFFE: 101,  # ARPHRD_NONE (tun, wireguard): raw IP
    519: 101,  # ARPHRD_RAWIP
}
_ARPHRD_LOOPBACK = 772

_TIMESPEC = struct.Struct("@ll")
_AUXDATA = struct.Struct("@IIIHHHH")  # status, len, snaplen, mac, net, vlan_tci, vlan_tpid
_TPACKET_STATS = struct.Struct("@II")  # tp_packets (includes drops), tp_drops
_PACKET_MREQ = struct.Struct("@iHH8s")  # ifindex, type, alen, address
_ANC_SIZE = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_AUXDATA.size)
_RCVBUF = 8 * 1024 * 1024  # a burst of a few thousand frames must not overflow the socket


@dataclass(frozen=True, slots=True)
class LiveStats:
    """Counters of a live capture since it was opened."""

    received: int
    """Packets that passed the capture filter in the kernel (including the dropped ones, as
    libpcap's ``ps_recv``)."""
    dropped: int
    """Packets the kernel dropped because the socket buffer was full (otshield too slow)."""
    if_dropped: int | None
    """Packets the interface (driver/NIC) dropped; None when the interface does not say."""
    captured: int
    """Packets handed out by the iterator."""


# -- the filter compiler ----------------------------------------------------------------------


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


_LIBPCAP: ctypes.CDLL | None = None
_COMPILE_LOCK = threading.Lock()  # pcap_compile is not thread-safe in older libpcap releases


def _libpcap() -> ctypes.CDLL:
    global _LIBPCAP
    if _LIBPCAP is not None:
        return _LIBPCAP
    names = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"]
    found = ctypes.util.find_library("pcap")
    if found:
        names.insert(0, found)
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram),
                                     ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
        lib.pcap_freecode.restype = None
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        lib.pcap_close.restype = None
        _LIBPCAP = lib
        return lib
    raise CaptureError("capture filters need libpcap (libpcap.so.0.8; Debian/Ubuntu package "
                       "libpcap0.8), which was not found")


def compile_filter(expression: str, linktype: int = 1,
                   snaplen: int = 262144) -> list[tuple[int, int, int, int]]:
    """Compile a tcpdump-style filter to classic BPF ``(code, jt, jf, k)`` instructions.

    Raises :class:`ConfigError` with libpcap's message when the expression is invalid and
    :class:`CaptureError` when libpcap is missing.
    """
    lib = _libpcap()
    handle = lib.pcap_open_dead(linktype, snaplen)
    if not handle:
        raise CaptureError(f"libpcap cannot compile filters for link type {linktype}")
    try:
        prog = _BpfProgram()
        with _COMPILE_LOCK:
            rc = lib.pcap_compile(handle, ctypes.byref(prog), expression.encode(), 1,
                                  PCAP_NETMASK_UNKNOWN)
            message = lib.pcap_geterr(handle) if rc != 0 else None
        if rc != 0:
            why = message.decode(errors="replace") if message else "unknown error"
            raise ConfigError(f"invalid capture filter {expression!r}: {why}")
        try:
            return [(i.code, i.jt, i.jf, i.k) for i in prog.bf_insns[:prog.bf_len]]
        finally:
            lib.pcap_freecode(ctypes.byref(prog))
    finally:
        lib.pcap_close(handle)


def _attach_filter(sock: socket.socket, insns: list[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("@HBBI", *i) for i in insns)
    holder = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }; the kernel copies
    # the program during the call, so ``holder`` only has to outlive it
    fprog = struct.pack("@HP", len(insns), ctypes.addressof(holder))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# -- the capture --------------------------------------------------------------------------------


class LiveCapture:
    """Frames from one network interface, until :meth:`stop`.

    ``for ts, linktype, frame in LiveCapture("eth1", "tcp port 502"): ...``

    Needs root or ``CAP_NET_RAW``. ``timeout`` bounds how long an idle capture waits before it
    looks at the stop flag again (``stop()`` also wakes it at once).
    """

    interface: str
    linktype: int
    error: str | None
    """Why the capture ended other than by ``stop()`` (for example the interface vanished)."""

    def __init__(self, interface: str, bpf_filter: str | None = None, snaplen: int = 262144,
                 promiscuous: bool = True, timeout: float = 0.2,
                 on_idle: Callable[[], None] | None = None) -> None:
        if snaplen <= 0:
            raise ConfigError(f"snaplen must be positive, not {snaplen}")
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, not {timeout}")
        self.interface = interface
        self.bpf_filter = bpf_filter.strip() if bpf_filter and bpf_filter.strip() else None
        self.snaplen = snaplen
        self.promiscuous = promiscuous
        self.timeout = timeout
        self.on_idle = on_idle
        """Called (in the iterating thread) whenever ``timeout`` passes without a packet: live
        detection runs its pending batch there (:meth:`DetectionPipeline.tick`)."""
        self.error = None
        self._lock = threading.Lock()
        self._stopping = False
        self._released = False
        self._received = 0
        self._dropped = 0
        self._captured = 0
        self._closing = False
        self._gen: Generator[tuple[float, int, bytes], None, None] | None = None
        self._sock = self._open()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._if_drops_start = _if_drops(interface)

    def _open(self) -> socket.socket:
        name = self.interface
        try:
            # protocol 0: nothing is delivered until the bind below names ETH_P_ALL
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise CaptureError(f"cannot capture on {name!r}: live capture needs root or the "
                               "CAP_NET_RAW capability (e.g. sudo setcap cap_net_raw+ep on the "
                               "Python interpreter)") from None
        except OSError as exc:
            raise CaptureError(f"cannot open a packet socket: {exc.strerror or exc}") from None
        try:
            try:
                ifindex = socket.if_nametoindex(name)
            except OSError:
                known = ", ".join(n for _, n in socket.if_nameindex())
                raise CaptureError(f"cannot capture on {name!r}: no such interface "
                                   f"(interfaces here: {known})") from None
            sock.bind((name, 0))
            hatype = sock.getsockname()[3]
            linktype = _LINKTYPES.get(hatype)
            if linktype is None:
                raise CaptureError(f"cannot capture on {name!r}: its link type (ARPHRD {hatype})"
                                   " is not supported; Ethernet-like and raw IP interfaces are")
            self.linktype = linktype
            self._loopback = hatype == _ARPHRD_LOOPBACK
            if self.bpf_filter is not None:
                _attach_filter(sock, compile_filter(self.bpf_filter, linktype, self.snaplen))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, _RCVBUF)
            except OSError:  # without CAP_NET_ADMIN: as much as net.core.rmem_max allows
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            if self.promiscuous:
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                                _PACKET_MREQ.pack(ifindex, PACKET_MR_PROMISC, 0, b""))
            sock.bind((name, ETH_P_ALL))
            sock.setblocking(False)
        except (CaptureError, ConfigError):
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise CaptureError(f"cannot capture on {name!r}: needs root or CAP_NET_RAW "
                                   f"({exc.strerror})") from None
            if exc.errno in (errno.ENODEV, errno.ENXIO):
                raise CaptureError(f"cannot capture on {name!r}: no such interface") from None
            raise CaptureError(f"cannot capture on {name!r}: {exc.strerror or exc}") from None
        return sock

    # -- the iteration contract ---------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[float, int, bytes]]:
        if self._gen is None:
            self._gen = self._packets()
        return self._gen

    def _packets(self) -> Generator[tuple[float, int, bytes], None, None]:
        sock = self._sock
        recvmsg_into = sock.recvmsg_into
        # one reused receive buffer: a fresh snaplen-sized bytes per packet would be an mmap
        # and munmap per packet at the default 256 KiB
        buf = bytearray(self.snaplen)
        into = [memoryview(buf)]
        view = into[0]
        anc_size, lt = _ANC_SIZE, self.linktype
        skip_outgoing = self._loopback  # loopback shows every packet twice: out and in
        reinsert_vlan = lt == 1
        sol_socket = socket.SOL_SOCKET
        timeout_ms = max(1, int(self.timeout * 1000))
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        unpack_ts, unpack_aux = _TIMESPEC.unpack_from, _AUXDATA.unpack_from
        try:
            on_idle = self.on_idle
            while not self._stopping:
                if not poller.poll(timeout_ms) or self._stopping:
                    if on_idle is not None and not self._stopping:
                        on_idle()
                    continue
                while True:  # drain what is queued, then wait again
                    try:
                        nbytes, ancdata, _flags, addr = recvmsg_into(into, anc_size)
                    except BlockingIOError:
                        break
                    except OSError as exc:
                        if exc.errno == errno.ENETDOWN and self._interface_exists():
                            break  # the interface went down; it may come back up
                        if not self._stopping:
                            why = ("the interface disappeared" if exc.errno == errno.ENETDOWN
                                   else exc.strerror)
                            self.error = f"capture on {self.interface!r} failed: {why}"
                        return
                    data = bytes(view[:nbytes])
                    if skip_outgoing and addr[2] == PACKET_OUTGOING:
                        continue
                    ts = 0.0
                    for level, kind, cdata in ancdata:
                        if level == sol_socket and kind == SO_TIMESTAMPNS:
                            sec, nsec = unpack_ts(cdata)
                            ts = sec + nsec / 1e9
                        elif level == SOL_PACKET and kind == PACKET_AUXDATA and reinsert_vlan:
                            status, _, _, _, _, tci, tpid = unpack_aux(cdata)
                            if (tci or status & TP_STATUS_VLAN_VALID) and len(data) >= 12:
                                if not status & TP_STATUS_VLAN_TPID_VALID:
                                    tpid = 0x8100
                                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                    if not ts:
                        ts = time.time()
                    self._captured += 1
                    yield (ts, lt, data)
                    if self._stopping:
                        return
        finally:
            if self._closing:
                self._release()

    def _interface_exists(self) -> bool:
        try:
            socket.if_nametoindex(self.interface)
        except OSError:
            return False
        return True

    # -- control --------------------------------------------------------------------------------
    def stop(self) -> None:
        """End the iteration (thread-safe; also safe in a signal handler)."""
        self._stopping = True
        fd = self._wake_w
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.write(fd, b"\0")  # wakes poll() at once; a full pipe is awake already

    def stats(self) -> LiveStats:
        """Counters since the capture was opened (thread-safe)."""
        with self._lock:
            if not self._released:
                with contextlib.suppress(OSError):
                    raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS,
                                                _TPACKET_STATS.size)
                    packets, drops = _TPACKET_STATS.unpack(raw)
                    self._received += packets  # the kernel resets its counters on each read
                    self._dropped += drops
            received, dropped = self._received, self._dropped
        if_dropped = None
        now = _if_drops(self.interface)
        if now is not None and self._if_drops_start is not None:
            if_dropped = max(0, now - self._if_drops_start)
        return LiveStats(received=received, dropped=dropped, if_dropped=if_dropped,
                         captured=self._captured)

    def close(self) -> None:
        """Stop and release the socket (the final counters stay readable through stats())."""
        self._closing = True
        self.stop()
        gen = self._gen
        if gen is not None:
            try:
                gen.close()
            except ValueError:
                return  # being iterated in another thread: it releases on its way out
        self._release()

    def _release(self) -> None:
        with self._lock:
            if self._released:
                return
            with contextlib.suppress(OSError):  # last counters before the socket goes
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size)
                packets, drops = _TPACKET_STATS.unpack(raw)
                self._received += packets
                self._dropped += drops
            self._released = True
            self._sock.close()
            fds = (self._wake_r, self._wake_w)
            self._wake_r = self._wake_w = -1  # stop() must never write to a reused fd number
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self._released:
                self._release()


def _if_drops(interface: str) -> int | None:
    """Drops the interface itself reports (libpcap's ps_ifdrop), None if it reports none."""
    base = Path("/sys/class/net") / interface / "statistics"
    total = 0
    try:
        for name in ("rx_missed_errors", "rx_fifo_errors"):
            total += int((base / name).read_text().strip())
    except (OSError, ValueError):
        return None
    return total

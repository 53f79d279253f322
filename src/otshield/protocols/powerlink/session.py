"""The POWERLINK link session: counts frames per (source node, message type), tracks each
node's NMT state (from PRes, StatusResponse, IdentResponse, and the MN's SoA), and emits NMT
commands/requests, identities (first IdentResponse of a node, or a changed one) and state
changes. Cyclic SoC/PReq/PRes/SoA frames cost a dict update each, no event.
"""

from __future__ import annotations

from otshield.errors import Malformed
from otshield.protocols.base import LinkContext
from otshield.protocols.powerlink.constants import (
    ASND_SERVICES,
    DEVICE_PROFILES,
    MESSAGE_TYPES,
    MT_ASND,
    MT_SOA,
    NMT_COMMANDS,
    NMT_STATES,
    SOA_SERVICES,
    SV_NMT_COMMAND,
    SV_NMT_REQUEST,
)
from otshield.protocols.powerlink.events import PowerlinkEvent
from otshield.protocols.powerlink.parser import Ident, parse

__all__ = ["MAX_KEYS", "PowerlinkSession"]

MAX_KEYS = 4096
"""(node, message type) counters and node states kept; more is ``powerlink.too_many_nodes``."""
_MT_PRES = 0x04


class _Count:
    __slots__ = ("first_ts", "frame", "frames", "mac", "nbytes", "services", "ts", "vlan")

    def __init__(self, ts: float, mac: str, vlan: int | None) -> None:
        self.first_ts = ts
        self.ts = ts
        self.frame = 0
        self.mac = mac
        self.vlan = vlan
        self.frames = 0
        self.nbytes = 0
        self.services: dict[int, int] = {}


def _ident_key(i: Ident) -> tuple[int, int, int, int, int, str | None, str | None]:
    return (i.device_type, i.vendor_id, i.product_code, i.revision, i.serial_number, i.ip,
            i.host_name)


class PowerlinkSession:
    """One per engine (see ``LinkSession``)."""

    def __init__(self, link: LinkContext) -> None:
        self.link = link
        self._counts: dict[tuple[int, int], _Count] = {}
        self._states: dict[int, int] = {}
        self._idents: dict[int, tuple[int, int, int, int, int, str | None, str | None]] = {}
        self._full = False

    def on_frame(self, payload: bytes) -> None:
        link = self.link
        if len(payload) >= 3 and payload[0] & 0x7F not in MESSAGE_TYPES:
            link.anomaly("powerlink.unknown_message_type",
                         f"message type 0x{payload[0] & 0x7F:02x}")
            return
        try:
            m = parse(payload)
        except Malformed as exc:
            link.anomaly(exc.code, exc.detail)
            return
        key = (m.src, m.mtype)
        c = self._counts.get(key)
        if c is None:
            if not self._room():
                return
            c = self._counts[key] = _Count(link.ts, link.src_mac, link.vlan)
        c.frames += 1
        c.nbytes += len(payload)
        c.ts = link.ts
        c.frame = link.frame
        mtype = m.mtype
        if m.service is not None:
            c.services[m.service] = c.services.get(m.service, 0) + 1
        if mtype == _MT_PRES and len(payload) > 3:
            self._state(m.src, payload[3], "PRes")
        elif mtype == MT_SOA:
            self._state(m.src, payload[3], "SoA")
        elif mtype == MT_ASND:
            self._asnd(m.src, m.dst, m.service, m.nmt_command, m.ident, payload)

    def _room(self) -> bool:
        if len(self._counts) + len(self._states) < 2 * MAX_KEYS:
            return True
        if not self._full:
            self._full = True
            self.link.anomaly("powerlink.too_many_nodes",
                              f"more than {MAX_KEYS} node/message-type counters")
        return False

    def _state(self, node: int, state: int, via: str) -> None:
        old = self._states.get(node)
        if old == state:
            return
        if old is None and not self._room():
            return
        self._states[node] = state
        if old is not None:
            link = self.link
            link.emit(PowerlinkEvent(
                **link.fields(), kind="nmt_state_change", message_type=via, src_node=node,
                nmt_state=NMT_STATES.get(state, f"0x{state:02x}"),
                previous_nmt_state=NMT_STATES.get(old, f"0x{old:02x}")))

    def _asnd(self, src: int, dst: int, service: int | None, cmd: int | None,
              ident: Ident | None, payload: bytes) -> None:
        link = self.link
        assert service is not None
        sname = ASND_SERVICES.get(service, f"service_{service}")
        if service in (SV_NMT_COMMAND, SV_NMT_REQUEST) and cmd is not None:
            name, fclass = NMT_COMMANDS.get(cmd, (f"0x{cmd:02x}", "other"))
            if service == SV_NMT_REQUEST:  # a CN asks the MN to issue the command
                name = ASND_SERVICES.get(cmd, name) if cmd < 0x20 else name
            link.emit(PowerlinkEvent(
                **link.fields(),
                kind="nmt_command" if service == SV_NMT_COMMAND else "nmt_request",
                message_type="ASnd", src_node=src, dst_node=dst, service=sname,
                nmt_command=name, function_class=fclass))
        elif ident is not None:
            self._state(src, payload[6], "ASnd")
            key = _ident_key(ident)
            if self._idents.get(src) == key:
                return
            if src not in self._idents and not self._room():
                return
            self._idents[src] = key
            profile = ident.device_type & 0xFFFF
            link.emit(PowerlinkEvent(
                **link.fields(), kind="ident_response", message_type="ASnd", src_node=src,
                dst_node=dst, service=sname, function_class="identify",
                nmt_state=ident.nmt_state, device_type=ident.device_type,
                device_profile=DEVICE_PROFILES.get(profile, f"profile_{profile}"),
                vendor_id=ident.vendor_id, product_code=ident.product_code,
                revision=ident.revision, serial_number=ident.serial_number,
                epl_version=ident.epl_version, feature_flags=ident.feature_flags,
                mtu=ident.mtu, ip=ident.ip, netmask=ident.netmask, gateway=ident.gateway,
                host_name=ident.host_name))
        elif service == 2 and len(payload) > 6:
            self._state(src, payload[6], "ASnd")

    def close(self) -> None:
        for (node, mtype), c in self._counts.items():
            state = self._states.get(node)
            names = SOA_SERVICES if mtype == MT_SOA else ASND_SERVICES
            services = tuple(f"{names.get(k, f'service_{k}')}:{n}"
                             for k, n in sorted(c.services.items()))
            self.link.emit(PowerlinkEvent(
                ts=c.ts, frame=c.frame, src_mac=c.mac, vlan=c.vlan, kind="summary",
                message_type=MESSAGE_TYPES[mtype], src_node=node, services=services,
                nmt_state=NMT_STATES.get(state, f"0x{state:02x}") if state is not None else None,
                frames=c.frames, bytes=c.nbytes, first_ts=c.first_ts))
        self._counts.clear()



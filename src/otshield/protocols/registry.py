"""The explicit list of protocol decoders, plus third-party ones from the
``otshield.protocols`` entry-point group. Adding a protocol is one line in ``BUILTIN``."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from otshield.errors import ConfigError
from otshield.protocols.base import ProtocolSpec

__all__ = ["BUILTIN", "Registry", "load_registry", "rescan_plugins"]

BUILTIN: tuple[str, ...] = (
    # industrial
    "otshield.protocols.modbus",
    "otshield.protocols.dnp3",
    "otshield.protocols.s7comm",
    "otshield.protocols.enip",
    "otshield.protocols.iec104",
    "otshield.protocols.bacnet",
    "otshield.protocols.opcua",
    "otshield.protocols.mqtt",
    "otshield.protocols.goose",
    "otshield.protocols.sv",
    "otshield.protocols.mms",
    "otshield.protocols.profinet_dcp",
    "otshield.protocols.profinet_rt",
    "otshield.protocols.pnio_cm",
    "otshield.protocols.ethercat",
    "otshield.protocols.powerlink",
    "otshield.protocols.fins",
    "otshield.protocols.ads",
    "otshield.protocols.hartip",
    "otshield.protocols.c37118",
    # identified by port and signature
    "otshield.protocols.melsec",
    "otshield.protocols.fox",
    "otshield.protocols.bsap",
    "otshield.protocols.sbus",
    "otshield.protocols.cnip",
    "otshield.protocols.dlms",
    "otshield.protocols.c1222",
    "otshield.protocols.rtps",
    "otshield.protocols.genisys",
    # IT
    "otshield.protocols.dns",
    "otshield.protocols.http",
    "otshield.protocols.tls",
    "otshield.protocols.ssh",
    "otshield.protocols.smb",
    "otshield.protocols.rdp",
    "otshield.protocols.dhcp",
    "otshield.protocols.ntp",
    "otshield.protocols.snmp",
    "otshield.protocols.telnet",
    "otshield.protocols.ftp",
    "otshield.protocols.netbios",
)


class Registry:
    """Protocol specs indexed for the engine's hot path: by name, by TCP and UDP port."""

    def __init__(self, specs: list[ProtocolSpec]) -> None:
        self.specs = specs
        self.by_name: dict[str, ProtocolSpec] = {}
        self.tcp_ports: dict[int, list[ProtocolSpec]] = {}
        self.udp_ports: dict[int, list[ProtocolSpec]] = {}
        self.ethertypes: dict[int, ProtocolSpec] = {}
        self.llc_saps: dict[int, ProtocolSpec] = {}
        for spec in specs:
            if spec.name in self.by_name:
                raise ConfigError(f"two protocol decoders are named {spec.name!r}")
            self.by_name[spec.name] = spec
            for port in spec.tcp_ports:
                self.tcp_ports.setdefault(port, []).append(spec)
            for port in spec.udp_ports:
                self.udp_ports.setdefault(port, []).append(spec)
            if (spec.ethertypes or spec.llc_saps) and spec.link_session_factory is None:
                raise ConfigError(f"{spec.name} claims link-layer types without a "
                                  "link_session_factory")
            for key, table, what in [(k, self.ethertypes, "ethertype") for k in spec.ethertypes] + [
                    (k, self.llc_saps, "LLC SAP") for k in spec.llc_saps]:
                if key in table:
                    raise ConfigError(f"{what} 0x{key:04x} is claimed by both "
                                      f"{table[key].name!r} and {spec.name!r}")
                table[key] = spec
        self.tcp_probers = [s for s in specs if s.probe is not None and s.tcp_ports]
        self.udp_probers = [s for s in specs if s.probe is not None and s.udp_ports]


def _load_module(name: str) -> ProtocolSpec:
    module = importlib.import_module(name)
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ProtocolSpec):
        raise ConfigError(f"{name} has no SPEC of type ProtocolSpec")
    return spec


def load_registry(plugins: bool = True) -> Registry:
    """The built-in decoders and, with ``plugins``, those installed through entry points."""
    specs = [_load_module(n) for n in BUILTIN]
    if plugins:
        for ep in _plugin_entry_points():
            spec = ep.load()
            if not isinstance(spec, ProtocolSpec):
                raise ConfigError(f"entry point {ep.name} does not give a ProtocolSpec")
            specs.append(spec)
    return Registry(specs)


@cache
def _plugin_entry_points() -> tuple[EntryPoint, ...]:
    """The ``otshield.protocols`` entry points, found once per process: finding them reads
    the metadata of every installed distribution (about 10 ms with a hundred of them), and an
    analysis asks twice (the engine and the zones policy). A decoder installed
    while a process runs is seen after :func:`rescan_plugins` or a restart, as for any
    Python package."""
    return tuple(entry_points(group="otshield.protocols"))


def rescan_plugins() -> None:
    """Look for ``otshield.protocols`` entry points again at the next :func:`load_registry`."""
    _plugin_entry_points.cache_clear()

"""What each decoded event says about the identity of a device: vendor, product, firmware,
serial, hostnames. One small function per event type, looked up by the event's dataset.

Convention of every decoder (see ``otshield.events``): an event's source is the side that sent
the request and its destination the side that answered, so facts from a response describe the
destination. Facts that name another address (DNS answers, DHCP leases, NetBIOS registrations)
say which address they describe.

An extractor returns observations ``(kind, address, fact, value, source)`` where kind is ``ip``
or ``mac``. Values are stripped, bounded and never empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["EXTRACTORS", "Observation", "extract"]

Observation = tuple[str, str, str, str, str]
"""(``ip`` or ``mac``, address, fact name, value, source)."""

Extractor = Callable[[Any], list[Observation]]

_MAX_VALUE = 200

# Modbus device identification object ids (Modbus application protocol 1.1b3, 6.21, table).
_MODBUS_OBJECTS = {0: "vendor", 1: "product_code", 2: "firmware", 3: "vendor_url",
                   4: "product", 5: "model", 6: "application"}
_SNMP_SYSTEM = {"1.3.6.1.2.1.1.1.0": "description", "1.3.6.1.2.1.1.2.0": "snmp_object_id",
                "1.3.6.1.2.1.1.5.0": "hostname", "1.3.6.1.2.1.1.6.0": "location"}


def _clean(value: object) -> str:
    text = str(value).strip().strip("\x00").strip()
    return text[:_MAX_VALUE]


def _obs(out: list[Observation], kind: str, addr: str | None, name: str, value: object,
         source: str) -> None:
    if not addr or value is None:
        return
    text = _clean(value)
    if text:
        out.append((kind, addr, name, text, source))


def _modbus(e: Any) -> list[Observation]:
    out: list[Observation] = []
    mei = e.mei
    if mei is not None and mei.objects:
        for obj in mei.objects:
            name = _MODBUS_OBJECTS.get(obj.id)
            if name:
                _obs(out, "ip", e.dst_ip, name, obj.value, "modbus.device_identification")
    if e.server_id is not None and e.server_id.text:
        _obs(out, "ip", e.dst_ip, "description", e.server_id.text, "modbus.report_server_id")
    return out


def _identity(out: list[Observation], addr: str, ident: Any, source: str) -> None:
    _obs(out, "ip", addr, "vendor", ident.vendor_name or f"CIP vendor {ident.vendor_id}", source)
    _obs(out, "ip", addr, "product", ident.product_name, source)
    _obs(out, "ip", addr, "firmware", ident.revision, source)
    _obs(out, "ip", addr, "serial", ident.serial_number, source)
    _obs(out, "ip", addr, "device_type", ident.device_type_name, source)
    _obs(out, "ip", addr, "product_code", ident.product_code, source)


def _enip(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.identity is not None:
        ident = e.identity
        _identity(out, e.dst_ip, ident, "enip.list_identity")
        if ident.socket_ip and ident.socket_ip not in ("0.0.0.0", e.dst_ip):
            # the address the device believes it has: differs behind NAT or when spoofed
            _obs(out, "ip", e.dst_ip, "configured_ip", ident.socket_ip, "enip.list_identity")
    return out


def _cip(e: Any) -> list[Observation]:
    out: list[Observation] = []
    ident = getattr(e, "identity", None)
    if ident is not None:
        _identity(out, e.dst_ip, ident, "cip.identity_object")
    return out


def _s7comm(e: Any) -> list[Observation]:
    out: list[Observation] = []
    src = "s7comm.szl"
    for m in e.module_identification or ():
        if m.index == 1:  # SZL 0x0011 record 1: the module itself
            _obs(out, "ip", e.dst_ip, "order_number", m.order_number, src)
    for name, value in (("order_number", e.order_number), ("firmware", e.firmware_version),
                        ("plc_name", e.plc_name), ("module", e.module_name),
                        ("plant_id", e.plant_id), ("serial", e.serial_number),
                        ("model", e.module_type_name), ("copyright", e.copyright)):
        _obs(out, "ip", e.dst_ip, name, value, src)
    if out:
        _obs(out, "ip", e.dst_ip, "vendor", "Siemens", src)
    return out


def _dnp3(e: Any) -> list[Observation]:
    out: list[Observation] = []
    master, outstation = (e.link_src, e.link_dst) if e.from_master else (e.link_dst, e.link_src)
    _obs(out, "ip", e.src_ip, "dnp3_master_address", master, "dnp3.link")
    _obs(out, "ip", e.dst_ip, "dnp3_outstation_address", outstation, "dnp3.link")
    return out


def _snmp(e: Any) -> list[Observation]:
    out: list[Observation] = []
    trap = e.pdu_type in ("trap", "trapv2", "inform")
    if e.varbinds and (trap or e.response_type == "response"):
        agent = e.src_ip if trap else e.dst_ip  # values come from the agent's answer
        for vb in e.varbinds:
            name = _SNMP_SYSTEM.get(vb.oid)
            if name and vb.value:
                _obs(out, "ip", agent, name, vb.value, "snmp.system")
    return out


def _http(e: Any) -> list[Observation]:
    out: list[Observation] = []
    _obs(out, "ip", e.dst_ip, "http_server", getattr(e, "server", None), "http.server_header")
    _obs(out, "ip", e.src_ip, "user_agent", e.user_agent, "http.user_agent")
    return out


def _tls(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.subject:
        _obs(out, "ip", e.dst_ip, "tls_subject", e.subject, "tls.certificate")
    for o in e.subject_o[:1]:
        _obs(out, "ip", e.dst_ip, "organization", o, "tls.certificate")
    _obs(out, "ip", e.dst_ip, "tls_server_name", e.sni, "tls.sni")
    return out


def _ssh(e: Any) -> list[Observation]:
    out: list[Observation] = []
    _obs(out, "ip", e.dst_ip, "ssh_server", e.server_software, "ssh.banner")
    _obs(out, "ip", e.src_ip, "ssh_client", e.client_software, "ssh.banner")
    if e.server_comments:
        _obs(out, "ip", e.dst_ip, "os", e.server_comments, "ssh.banner")
    return out


def _dhcp(e: Any) -> list[Observation]:
    out: list[Observation] = []
    mac = e.client_mac
    for name, value in (("hostname", e.hostname), ("fqdn", e.fqdn), ("dhcp_vendor_class",
                                                                     e.vendor_class)):
        _obs(out, "mac", mac, name, value, "dhcp")
    ip = e.assigned_ip if e.assigned_ip and e.assigned_ip != "0.0.0.0" else None
    if ip:
        _obs(out, "ip", ip, "mac_address", mac, "dhcp.lease")
        _obs(out, "ip", ip, "hostname", e.hostname, "dhcp")
    return out


def _dns(e: Any) -> list[Observation]:
    out: list[Observation] = []
    for a in e.answers:
        if a.type in ("A", "AAAA"):
            _obs(out, "ip", a.data, "hostname", a.name.rstrip("."), "dns.answer")
        elif a.type == "PTR":
            _obs(out, "ip", _ptr_ip(a.name), "hostname", a.data.rstrip("."), "dns.ptr")
    return out


def _ptr_ip(name: str) -> str | None:
    parts = name.rstrip(".").split(".")
    if len(parts) == 6 and parts[-2:] == ["in-addr", "arpa"]:
        return ".".join(reversed(parts[:4]))
    return None


def _nbns(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.name and e.addresses and not e.group:
        for ip in e.addresses:
            _obs(out, "ip", ip, "netbios_name", e.name, "netbios.name")
    if e.node_names and e.response:
        _obs(out, "ip", e.src_ip, "netbios_name", e.node_names[0], "netbios.node_status")
    if e.mac and e.response:
        _obs(out, "ip", e.src_ip, "mac_address", e.mac, "netbios.node_status")
    return out


def _nbdgm(e: Any) -> list[Observation]:
    out: list[Observation] = []
    ip = e.source_ip or e.src_ip
    _obs(out, "ip", ip, "netbios_name", e.host_name, "netbios.browser")
    _obs(out, "ip", ip, "os", f"Windows {e.os_version}" if e.os_version else None,
         "netbios.browser")
    _obs(out, "ip", ip, "domain", e.domain, "netbios.browser")
    return out


def _smb(e: Any) -> list[Observation]:
    out: list[Observation] = []
    _obs(out, "ip", e.dst_ip, "netbios_name", e.server_name, "smb.ntlm")
    _obs(out, "ip", e.dst_ip, "hostname", e.server_dns_name, "smb.ntlm")
    _obs(out, "ip", e.dst_ip, "os", e.server_os, "smb.session_setup")
    _obs(out, "ip", e.src_ip, "netbios_name", e.workstation, "smb.ntlm")
    _obs(out, "ip", e.src_ip, "os", e.client_os, "smb.session_setup")
    _obs(out, "ip", e.dst_ip, "domain", e.server_dns_domain, "smb.ntlm")
    return out


def _rdp(e: Any) -> list[Observation]:
    out: list[Observation] = []
    _obs(out, "ip", e.src_ip, "hostname", e.client_name, "rdp.client_info")
    return out


EXTRACTORS: dict[str, Extractor] = {
    "modbus": _modbus,
    "enip": _enip,
    "cip": _cip,
    "s7comm": _s7comm,
    "dnp3": _dnp3,
    "snmp": _snmp,
    "http": _http,
    "tls": _tls,
    "ssh": _ssh,
    "dhcp": _dhcp,
    "dns": _dns,
    "nbns": _nbns,
    "nbdgm": _nbdgm,
    "smb": _smb,
    "rdp": _rdp,
}
"""Event dataset -> its fact extractor. Decoders added later register theirs here."""


def extract(tag: str, event: Any) -> list[Observation]:
    """The identity facts ``event`` carries (empty for events that carry none)."""
    fn = EXTRACTORS.get(tag)
    return fn(event) if fn is not None else []

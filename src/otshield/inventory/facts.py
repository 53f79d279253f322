"""What each decoded event says about the identity of a device: vendor, product, firmware,
serial, hostnames. One small function per event type, looked up by the event's dataset.

Convention of every decoder (see ``otshield.events``): an event's source is the side that sent
the request and its destination the side that answered, so facts from a response describe the
destination. Facts that name another address (DNS answers, DHCP leases, NetBIOS registrations)
say which address they describe.

An extractor returns observations ``(kind, address, fact, value, source)`` where kind is ``ip``
or ``mac``. Values are stripped, bounded and never empty. A fact named ``role:<role>`` is a
role with its evidence as the value: protocols that reveal what a device is (a GOOSE publisher
is an IED, a PROFINET DCP answer names an IO device) say so here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["EXTRACTORS", "EXTRACTOR_INPUTS", "EXTRACTOR_NEEDS", "Observation", "with_vlan"]

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
    if type(value) is int:
        return str(value)
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
    # on every DNP3 message: built directly (the addresses are integers, nothing to clean)
    if e.from_master:
        return [("ip", e.src_ip, "dnp3_master_address", str(e.link_src), "dnp3.link"),
                ("ip", e.dst_ip, "dnp3_outstation_address", str(e.link_dst), "dnp3.link")]
    return [("ip", e.dst_ip, "dnp3_master_address", str(e.link_dst), "dnp3.link"),
            ("ip", e.src_ip, "dnp3_outstation_address", str(e.link_src), "dnp3.link")]


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


def _addr(e: Any, src: bool) -> tuple[str, str | None]:
    """(kind, address) of an event's side: its IP, or its MAC for link-layer events."""
    ip = e.src_ip if src else e.dst_ip
    if ip:
        return "ip", ip
    return "mac", getattr(e, "src_mac" if src else "dst_mac", None)


def _iec104(e: Any) -> list[Observation]:
    # the controlled station is the side on port 2404; on every ASDU, so built directly
    station = e.src_ip if e.src_port == 2404 else e.dst_ip
    return [("ip", station, "iec104_common_address", str(e.common_address), "iec104.asdu")]


_BACNET_DEVICE_PROPERTIES = {"vendor-name": "vendor", "model-name": "model",
                             "firmware-revision": "firmware",
                             "application-software-version": "software_version",
                             "object-name": "device_name", "location": "location",
                             "description": "description"}


def _bacnet(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.service == "i-am" and e.device_instance is not None:
        kind, addr = _addr(e, True)
        _obs(out, kind, addr, "bacnet_device_instance", e.device_instance, "bacnet.i_am")
        _obs(out, kind, addr, "vendor", e.vendor_name or (
            f"BACnet vendor {e.vendor_id}" if e.vendor_id is not None else None), "bacnet.i_am")
        _obs(out, kind, addr, "role:controller", f"announces BACnet device {e.device_instance}",
             "bacnet.i_am")
    if e.service == "i-have" and e.object_name:
        kind, addr = _addr(e, True)
        _obs(out, kind, addr, "device_name", e.object_name, "bacnet.i_have")
    props = [(e.object_type, e.property, e.values)] if e.property else []
    props += [(p.object_type, p.property, p.values) for p in e.properties or ()]
    kind, addr = _addr(e, False)  # the answering device
    for obj, prop, values in props:
        name = _BACNET_DEVICE_PROPERTIES.get(prop or "")
        if name and obj == "device" and values and e.function_class == "read":
            _obs(out, kind, addr, name, values[0], "bacnet.read_property")
    return out


def _profinet_dcp(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.service in ("identify", "hello"):
        if e.service == "identify" and e.service_type == "request":
            return out
        mac = e.src_mac  # the device answers Identify and sends Hello itself
    elif e.service in ("get", "set") and e.result in ("ok", None):
        mac = e.dst_mac  # transactions: the requester is the source
    else:
        return out
    src = f"profinet_dcp.{e.service}"
    _obs(out, "mac", mac, "station_name", e.station_name, src)
    _obs(out, "mac", mac, "model", e.vendor_name, src)  # "type of station", e.g. ET200SP
    if e.vendor_id is not None:
        _obs(out, "mac", mac, "profinet_id", f"{e.vendor_id:04x}:{e.device_id or 0:04x}", src)
    _obs(out, "mac", mac, "configured_ip", e.ip if e.ip and e.ip != "0.0.0.0" else None, src)
    roles = " ".join(e.device_roles or ())
    if "Controller" in roles:
        _obs(out, "mac", mac, "role:controller", "PROFINET IO controller (DCP device role)", src)
    elif e.service != "set":
        _obs(out, "mac", mac, "role:field_device", "PROFINET IO device (answers DCP)", src)
    return out


def _pnio_cm(e: Any) -> list[Observation]:
    out: list[Observation] = []
    src = "pnio_cm.im0"
    _obs(out, "ip", e.dst_ip, "order_number", e.im_order_id, src)
    _obs(out, "ip", e.dst_ip, "serial", e.im_serial_number, src)
    _obs(out, "ip", e.dst_ip, "firmware", e.im_software_revision, src)
    if e.operation == "connect":
        _obs(out, "ip", e.dst_ip, "station_name", e.station_name, "pnio_cm.connect")
        _obs(out, "ip", e.src_ip, "role:controller",
             f"PROFINET IO controller: connects to {e.dst_ip}", "pnio_cm.connect")
        _obs(out, "ip", e.dst_ip, "role:field_device",
             f"PROFINET IO device of {e.src_ip}", "pnio_cm.connect")
    return out


def _powerlink(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.vendor_id is None:
        return out
    src = "powerlink.ident_response"
    mac = e.src_mac
    _obs(out, "mac", mac, "vendor", f"POWERLINK vendor 0x{e.vendor_id:08x}", src)
    _obs(out, "mac", mac, "product_code", e.product_code, src)
    _obs(out, "mac", mac, "firmware", e.revision, src)
    _obs(out, "mac", mac, "serial", e.serial_number, src)
    _obs(out, "mac", mac, "hostname", e.host_name, src)
    role = "controller" if e.src_node == 240 else "field_device"  # node 240: managing node
    _obs(out, "mac", mac, f"role:{role}", f"POWERLINK node {e.src_node}", src)
    return out


def _ethercat(e: Any) -> list[Observation]:
    out: list[Observation] = []
    # only the master has a MAC (slaves forward its frames): it controls the segment
    _obs(out, "mac", e.src_mac, "role:controller", "EtherCAT master", "ethercat")
    return out


def _profinet_rt(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.kind == "summary" and e.frame_class.startswith("rt"):
        _obs(out, "mac", e.src_mac, "profinet_rt_streams", e.frame_id, "profinet_rt")
    return out


def _goose(e: Any) -> list[Observation]:
    out: list[Observation] = []
    kind, addr = _addr(e, True)
    ied = e.gocb_ref.split("/", 1)[0] if "/" in e.gocb_ref else ""
    _obs(out, kind, addr, "ied_name", ied, "goose")
    _obs(out, kind, addr, "role:controller", f"IED publishing GOOSE {e.gocb_ref}", "goose")
    return out


def _sv(e: Any) -> list[Observation]:
    out: list[Observation] = []
    kind, addr = _addr(e, True)
    _obs(out, kind, addr, "sv_id", e.sv_id, "sv")
    _obs(out, kind, addr, "role:field_device", f"merging unit publishing {e.sv_id}", "sv")
    return out


def _opcua_app(out: list[Observation], addr: str, app: Any, source: str) -> None:
    if app is None:
        return
    _obs(out, "ip", addr, "opcua_application_uri", app.application_uri, source)
    _obs(out, "ip", addr, "opcua_product_uri", app.product_uri, source)
    _obs(out, "ip", addr, "application", app.application_name, source)


def _opcua(e: Any) -> list[Observation]:
    out: list[Observation] = []
    b = getattr(e, "build_info", None)
    if b is not None:
        src = "opcua.build_info"
        _obs(out, "ip", e.dst_ip, "vendor", b.manufacturer, src)
        _obs(out, "ip", e.dst_ip, "product", b.product_name, src)
        _obs(out, "ip", e.dst_ip, "software_version", b.software_version, src)
        _obs(out, "ip", e.dst_ip, "opcua_product_uri", b.product_uri, src)
    for ep in getattr(e, "endpoints", None) or ():
        _opcua_app(out, e.dst_ip, ep.server, "opcua.endpoints")
    session = getattr(e, "session", None)
    if session is not None:
        _opcua_app(out, e.src_ip, session.client, "opcua.create_session")
    return out


def _server_side(e: Any, ports: tuple[int, ...]) -> tuple[str, str]:
    """(server, client) IPs of a message-level event: the server owns the well-known port."""
    return (e.src_ip, e.dst_ip) if e.src_port in ports else (e.dst_ip, e.src_ip)


def _mms(e: Any) -> list[Observation]:
    out: list[Observation] = []
    src = "mms.identify"
    _obs(out, "ip", e.dst_ip, "vendor", getattr(e, "vendor", None), src)
    _obs(out, "ip", e.dst_ip, "model", getattr(e, "model", None), src)
    _obs(out, "ip", e.dst_ip, "firmware", getattr(e, "revision", None), src)
    return out


def _fins(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.controller_model:
        _obs(out, "ip", e.dst_ip, "vendor", "OMRON", "fins.controller_data")
        _obs(out, "ip", e.dst_ip, "model", e.controller_model, "fins.controller_data")
        _obs(out, "ip", e.dst_ip, "firmware", e.controller_version, "fins.controller_data")
    return out


def _ads(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.device_name or e.version:
        _obs(out, "ip", e.dst_ip, "vendor", "Beckhoff", "ads.device_info")
        _obs(out, "ip", e.dst_ip, "product", e.device_name, "ads.device_info")
        _obs(out, "ip", e.dst_ip, "firmware", e.version, "ads.device_info")
    _obs(out, "ip", e.dst_ip, "ams_net_id", e.target_net_id, "ads.ams")
    return out


def _ads_discovery(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.responder_net_id and e.service_name == "discovery":  # describes the device that answered
        device = e.src_ip if e.request_missing else e.dst_ip
        src = "ads.discovery"
        _obs(out, "ip", device, "vendor", "Beckhoff", src)
        _obs(out, "ip", device, "ams_net_id", e.responder_net_id, src)
        _obs(out, "ip", device, "hostname", e.host_name, src)
        _obs(out, "ip", device, "software_version",
             f"TwinCAT {e.twincat_version}" if e.twincat_version else None, src)
        _obs(out, "ip", device, "os", e.os_version, src)
    return out


def _hartip(e: Any) -> list[Observation]:
    out: list[Observation] = []
    if e.manufacturer_id is not None:
        # the HART instrument sits behind the HART-IP server: name it on the server
        dev = (f"manufacturer {e.manufacturer_id}, type {e.expanded_device_type or e.device_type},"
               f" id {e.device_id}, revision {e.device_revision}")
        server, _ = _server_side(e, (5094,))
        _obs(out, "ip", server, "hart_device", dev, "hartip.command_0")
    return out


def _c37118(e: Any) -> list[Observation]:
    out: list[Observation] = []
    pmu, _ = _server_side(e, (4712, 4713))
    _obs(out, "ip", pmu, "c37118_idcode", e.idcode, "c37118")
    for st in getattr(e, "stations", None) or ():
        _obs(out, "ip", pmu, "station_name", st.name, "c37118.config")
    if getattr(e, "stations", None):
        _obs(out, "ip", pmu, "role:controller", "PMU sending its configuration", "c37118.config")
    return out


def _fox(e: Any) -> list[Observation]:
    out: list[Observation] = []
    server, client = _server_side(e, (1911,))
    for addr, host in ((server, e.server), (client, e.client)):
        if host is None:
            continue
        _obs(out, "ip", addr, "hostname", host.host_name, "fox.hello")
        _obs(out, "ip", addr, "os", " ".join(x for x in (host.os_name, host.os_version) if x)
             or None, "fox.hello")
        _obs(out, "ip", addr, "station_name", host.station_name, "fox.hello")
        if host.app_name:
            _obs(out, "ip", addr, "application", f"Niagara {host.app_name} {host.app_version or ''}"
                 .strip(), "fox.hello")
        if host.app_name == "Workbench":
            _obs(out, "ip", addr, "role:engineering_workstation", "runs Niagara Workbench",
                 "fox.hello")
    return out


def _mqtt(e: Any) -> list[Observation]:
    out: list[Observation] = []
    _obs(out, "ip", e.src_ip if e.packet_type == "CONNECT" else None, "mqtt_client_id",
         e.client_id, "mqtt.connect")
    return out


EXTRACTOR_INPUTS: dict[str, tuple[str, ...]] = {
    "dnp3": ("from_master", "src_ip", "dst_ip", "link_src", "link_dst"),
    "iec104": ("src_port", "src_ip", "dst_ip", "common_address"),
    "mqtt": ("packet_type", "src_ip", "client_id"),
}
"""Extractors run on every message whose observations follow from these plain fields alone:
the builder remembers them per combination of values (a plant repeats a few) instead of
building them again."""

EXTRACTOR_NEEDS: dict[str, tuple[str, ...]] = {
    "modbus": ("mei", "server_id"),
}
"""Extractors that find nothing unless one of these fields is set (most messages set none):
the builder skips the call when all are None."""

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
    "iec104": _iec104,
    "bacnet": _bacnet,
    "profinet_dcp": _profinet_dcp,
    "pnio_cm": _pnio_cm,
    "powerlink": _powerlink,
    "ethercat": _ethercat,
    "profinet_rt": _profinet_rt,
    "goose": _goose,
    "goose_publisher": _goose,
    "sv_stream": _sv,
    "opcua": _opcua,
    "mms": _mms,
    "fins": _fins,
    "ads": _ads,
    "ads_discovery": _ads_discovery,
    "hartip": _hartip,
    "c37118": _c37118,
    "fox": _fox,
    "mqtt": _mqtt,
}
"""Event dataset -> its fact extractor. Decoders added later register theirs here."""


def with_vlan(event: Any, found: list[Observation]) -> list[Observation]:
    """Add the VLAN a link-layer device was seen on to the devices an extractor named."""
    vlan = getattr(event, "vlan", None)
    if vlan is None or not found:
        return found
    macs = {addr for kind, addr, *_ in found if kind == "mac"}
    return found + [("mac", m, "vlan", str(vlan), "frame") for m in macs]

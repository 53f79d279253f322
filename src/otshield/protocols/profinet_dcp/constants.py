"""PROFINET DCP code tables (IEC 61158-6-10, clause 4.3 "DCP"; Wireshark calls the fields
pn_dcp.*). Tables are data: the parser looks names up, it never branches on codes."""

from __future__ import annotations

FRAME_HELLO = 0xFEFC
FRAME_GET_SET = 0xFEFD
FRAME_IDENTIFY_REQUEST = 0xFEFE
FRAME_IDENTIFY_RESPONSE = 0xFEFF
DCP_FRAME_IDS = frozenset({FRAME_HELLO, FRAME_GET_SET, FRAME_IDENTIFY_REQUEST,
                           FRAME_IDENTIFY_RESPONSE})

SERVICE_GET, SERVICE_SET, SERVICE_IDENTIFY, SERVICE_HELLO = 3, 4, 5, 6
SERVICES: dict[int, str] = {SERVICE_GET: "get", SERVICE_SET: "set",
                            SERVICE_IDENTIFY: "identify", SERVICE_HELLO: "hello"}

# ServiceType: bits 0-1 request (0) / response (1); bit 2 "request not supported".
SERVICE_TYPES: dict[int, str] = {0: "request", 1: "response", 5: "response_not_supported"}

OPT_IP, OPT_DEVICE, OPT_DHCP, OPT_LLDP, OPT_CONTROL, OPT_INITIATIVE, OPT_NME, OPT_ALL = (
    1, 2, 3, 4, 5, 6, 7, 255)

OPTIONS: dict[int, str] = {OPT_IP: "ip", OPT_DEVICE: "device", OPT_DHCP: "dhcp",
                           OPT_LLDP: "lldp", OPT_CONTROL: "control",
                           OPT_INITIATIVE: "device_initiative", OPT_NME: "nme_domain",
                           OPT_ALL: "all"}

SUBOPTIONS: dict[tuple[int, int], str] = {
    (OPT_IP, 1): "mac_address",
    (OPT_IP, 2): "ip_parameter",
    (OPT_IP, 3): "full_ip_suite",
    (OPT_DEVICE, 1): "type_of_station",
    (OPT_DEVICE, 2): "name_of_station",
    (OPT_DEVICE, 3): "device_id",
    (OPT_DEVICE, 4): "device_role",
    (OPT_DEVICE, 5): "device_options",
    (OPT_DEVICE, 6): "alias_name",
    (OPT_DEVICE, 7): "device_instance",
    (OPT_DEVICE, 8): "oem_device_id",
    (OPT_DEVICE, 9): "standard_gateway",
    (OPT_DEVICE, 10): "rsi_properties",
    (OPT_DHCP, 12): "host_name",
    (OPT_DHCP, 43): "vendor_specific",
    (OPT_DHCP, 54): "server_identifier",
    (OPT_DHCP, 55): "parameter_request_list",
    (OPT_DHCP, 60): "class_identifier",
    (OPT_DHCP, 61): "client_identifier",
    (OPT_DHCP, 81): "fqdn",
    (OPT_DHCP, 97): "uuid_client_identifier",
    (OPT_DHCP, 255): "control_dhcp",
    (OPT_CONTROL, 1): "start",
    (OPT_CONTROL, 2): "stop",
    (OPT_CONTROL, 3): "signal",
    (OPT_CONTROL, 4): "response",
    (OPT_CONTROL, 5): "factory_reset",
    (OPT_CONTROL, 6): "reset_to_factory",
    (OPT_INITIATIVE, 1): "device_initiative",
    (OPT_NME, 1): "nme_domain",
    (OPT_NME, 2): "nme_priority",
    (OPT_NME, 3): "nme_parameter_uuid",
    (OPT_NME, 4): "nme_name",
    (OPT_NME, 5): "cim_interface",
    (OPT_ALL, 255): "all",
}

# Control/Response BlockError (the result of one Set/Get block).
BLOCK_ERRORS: dict[int, str] = {
    0: "ok",
    1: "option_not_supported",
    2: "suboption_not_supported",
    3: "suboption_not_set",
    4: "resource_error",
    5: "set_not_possible_local_reasons",
    6: "set_not_possible_in_operation",
}

DEVICE_ROLES: tuple[tuple[int, str], ...] = (
    (0x01, "io_device"), (0x02, "io_controller"), (0x04, "io_multidevice"),
    (0x08, "pn_supervisor"))

IP_BLOCK_INFO: dict[int, str] = {0: "not_set", 1: "set", 2: "set_by_dhcp", 3: "reserved"}

# Set suboptions that reset a device: "control"; Signal (flash LED): "diagnostics".
RESET_SUBOPTIONS = frozenset({(OPT_CONTROL, 5), (OPT_CONTROL, 6)})
SIGNAL_SUBOPTION = (OPT_CONTROL, 3)
TRANSACTION_SUBOPTIONS = frozenset({(OPT_CONTROL, 1), (OPT_CONTROL, 2)})

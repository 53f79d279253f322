"""PROFINET IO context manager tables (IEC 61158-6-10: 4.10.3 RPC interfaces and operations,
5.2.3 BlockType, 5.2.4 Index, 5.2.10 ControlCommand, 5.2.12 ARType; DCE 1.1 RPC chapter 12 for
the connectionless packet types)."""

from __future__ import annotations

PNIO_PORT = 34964

# Interface UUID DEA0000x-6C97-11D1-8271-00A02442DF7D: the last digit names the role.
INTERFACES: dict[str, str] = {
    "dea00001-6c97-11d1-8271-00a02442df7d": "device",
    "dea00002-6c97-11d1-8271-00a02442df7d": "controller",
    "dea00003-6c97-11d1-8271-00a02442df7d": "supervisor",
    "dea00004-6c97-11d1-8271-00a02442df7d": "parameter_server",
    "e1af8308-5d1f-11c9-91a4-08002b14a0fa": "epmap",
}
PNIO_INTERFACES = frozenset(k for k, v in INTERFACES.items() if v != "epmap")

PTYPES: dict[int, str] = {0: "request", 1: "ping", 2: "response", 3: "fault", 4: "working",
                          5: "nocall", 6: "reject", 7: "ack", 8: "cancel", 9: "fack",
                          10: "cancel_ack"}
PT_REQUEST, PT_RESPONSE, PT_FAULT, PT_REJECT, PT_NOCALL = 0, 2, 3, 6, 5

OPNUMS: dict[int, str] = {0: "connect", 1: "release", 2: "read", 3: "write", 4: "control",
                          5: "read_implicit"}
EPM_OPNUMS: dict[int, str] = {0: "epm_insert", 1: "epm_delete", 2: "epm_lookup",
                              3: "epm_map", 4: "epm_lookup_handle_free"}

OP_FUNCTION_CLASS: dict[str, str] = {"connect": "control", "release": "control",
                                     "control": "control", "write": "config", "read": "read",
                                     "read_implicit": "read"}

AR_TYPES: dict[int, str] = {0x0001: "io_car_single", 0x0006: "io_supervisor",
                            0x0010: "io_car_single_rt_class_3", 0x0020: "io_car_sr"}

CONTROL_COMMANDS: tuple[tuple[int, str], ...] = (
    (0x0001, "prm_end"), (0x0002, "application_ready"), (0x0004, "release"),
    (0x0008, "done"), (0x0010, "ready_for_companion"), (0x0020, "ready_for_rt_class_3"),
    (0x0040, "prm_begin"))

BLOCK_AR_REQ, BLOCK_AR_RES = 0x0101, 0x8101
BLOCK_IOCR_REQ = 0x0102
BLOCK_WRITE_REQ, BLOCK_READ_REQ = 0x0008, 0x0009
BLOCK_WRITE_RES, BLOCK_READ_RES = 0x8008, 0x8009
BLOCK_IM0 = 0x0020
CONTROL_BLOCKS = frozenset(range(0x0110, 0x0119)) | frozenset(range(0x8110, 0x8119))

# Record indices (5.2.4): the common ones by name, the rest as hex.
INDICES: dict[int, str] = {
    0x8000: "expected_identification_data_subslot",
    0x8001: "real_identification_data_subslot",
    0x800A: "diagnosis_channel_subslot",
    0x800B: "diagnosis_all_subslot",
    0x800C: "diagnosis_maintenance_subslot",
    0x8010: "maintenance_required_in_channel",
    0x8028: "record_input_data_object_element",
    0x8029: "record_output_data_object_element",
    0x802A: "pd_port_data_real",
    0x802B: "pd_port_data_check",
    0x802F: "pd_port_data_adjust",
    0x8060: "pd_port_fo_data_real",
    0x8080: "pd_interface_data_real",
    0xAFF0: "im0", 0xAFF1: "im1", 0xAFF2: "im2", 0xAFF3: "im3", 0xAFF4: "im4",
    0xC000: "expected_identification_data_slot",
    0xC001: "real_identification_data_slot",
    0xE000: "expected_identification_data_ar",
    0xE001: "real_identification_data_ar",
    0xE002: "moduldiffblock_ar",
    0xE00A: "diagnosis_channel_ar",
    0xE040: "write_multiple",
    0xE050: "ar_fsu_data_adjust",
    0xF000: "real_identification_data_api",
    0xF80C: "diagnosis_maintenance_device",
    0xF820: "ar_data",
    0xF821: "api_data",
    0xF830: "logbook_data",
    0xF831: "pd_dev_data",
    0xF840: "im0_filter_data",
    0xF841: "pd_real_data",
    0xF842: "pd_expected_data",
    0xF850: "autoconfiguration",
}
IM_INDICES = frozenset(range(0xAFF0, 0xB000)) | {0xF840}
"""Identification & maintenance records: reading them identifies the device."""

# PNIOStatus (5.2.6): ErrorCode names the service, ErrorDecode how to read ErrorCode1/2.
PNIO_ERROR_CODES: dict[int, str] = {
    0x81: "pnio", 0xCF: "rta_error", 0xDA: "alarm_ack", 0xDB: "connect", 0xDC: "release",
    0xDD: "control", 0xDE: "read", 0xDF: "write",
}
ERROR_DECODES: dict[int, str] = {0x80: "pniorw", 0x81: "pnio", 0x82: "manufacturer_specific"}

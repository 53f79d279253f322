"""PROFINET IO real-time code tables (IEC 61158-6-10: 4.2 FrameID ranges, 4.7.2.1.3
DataStatus, 4.10 RTA alarm PDUs and AlarmType, 5.2.6 PNIOStatus ErrorCode)."""

from __future__ import annotations

# (first, last, class name, cyclic: carries CycleCounter/DataStatus/TransferStatus at the end)
FRAME_ID_RANGES: tuple[tuple[int, int, str, bool], ...] = (
    (0x0000, 0x00FF, "ptcp", False),
    (0x0100, 0x0FFF, "rt_class_3", True),
    (0x1000, 0x7FFF, "rt_class_3", True),
    (0x8000, 0xBFFF, "rt_class_2", True),
    (0xC000, 0xFBFF, "rt_class_1", True),
    (0xFC00, 0xFC00, "reserved", False),
    (0xFC01, 0xFC01, "alarm_high", False),
    (0xFC02, 0xFE00, "reserved", False),
    (0xFE01, 0xFE01, "alarm_low", False),
    (0xFE02, 0xFEFB, "reserved", False),
    (0xFEFC, 0xFEFF, "dcp", False),
    (0xFF00, 0xFF43, "ptcp", False),
    (0xFF44, 0xFF7F, "reserved", False),
    (0xFF80, 0xFF8F, "fragment", False),
    (0xFF90, 0xFFFF, "reserved", False),
)

ALARM_HIGH, ALARM_LOW = 0xFC01, 0xFE01

# DataStatus bits: (mask, name when set, name when clear)
DATA_STATUS_BITS: tuple[tuple[int, str, str], ...] = (
    (0x01, "primary", "backup"),
    (0x04, "valid", "invalid"),
    (0x10, "run", "stop"),
    (0x20, "ok", "station_problem"),
)
DS_VALID, DS_RUN, DS_OK = 0x04, 0x10, 0x20
DS_PROBLEM_MASK = DS_VALID | DS_RUN | DS_OK
"""A provider is healthy when all three are set: valid data, RUN, no station problem."""

RTA_PDU_TYPES: dict[int, str] = {1: "data", 2: "nack", 3: "ack", 4: "err", 5: "freq",
                                 6: "frsp"}

ALARM_TYPES: dict[int, str] = {
    0x0001: "diagnosis", 0x0002: "process", 0x0003: "pull", 0x0004: "plug",
    0x0005: "status", 0x0006: "update", 0x0007: "media_redundancy",
    0x0008: "controlled_by_supervisor", 0x0009: "released", 0x000A: "plug_wrong_submodule",
    0x000B: "return_of_submodule", 0x000C: "diagnosis_disappears",
    0x000D: "multicast_communication_mismatch", 0x000E: "port_data_change_notification",
    0x000F: "sync_data_changed", 0x0010: "isochronous_mode_problem",
    0x0011: "network_component_problem", 0x0012: "time_data_changed",
    0x0013: "dynamic_frame_packing_problem", 0x0014: "mrpd_problem",
    0x0016: "multiple_interface_mismatch", 0x001E: "upload_and_retrieval",
    0x001F: "pull_module",
}

ALARM_BLOCKS: dict[int, str] = {0x0001: "alarm_notification_high",
                                0x0002: "alarm_notification_low",
                                0x8001: "alarm_ack_high", 0x8002: "alarm_ack_low"}

PNIO_ERROR_CODES: dict[int, str] = {
    0x00: "ok", 0x81: "pnio", 0xCF: "rta_error", 0xDA: "alarm_ack", 0xDB: "connect",
    0xDC: "release", 0xDD: "control", 0xDE: "read", 0xDF: "write",
}

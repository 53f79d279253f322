"""S7comm (protocol id 0x32) and S7comm-plus (0x72) code tables, as data.

S7comm is not publicly specified by Siemens; the values below are the ones established by public
reverse engineering (the Wireshark S7COMM dissector by Thomas Wiens, Snap7, libnodave) and by the
Siemens manuals that document the user-visible parts: "System Software for S7-300/400 System and
Standard Functions" (SZL lists, chapter "System Status Lists"), "STEP 7 reference" (block types,
areas, DATE_AND_TIME format).

Names are snake_case identifiers of our own so rules can match them; the numeric code is always
kept beside the name in events.
"""

from __future__ import annotations

PROTOCOL_ID = 0x32
PLUS_PROTOCOL_ID = 0x72

# -- header ----------------------------------------------------------------------------------------
ROSCTR_JOB, ROSCTR_ACK, ROSCTR_ACK_DATA, ROSCTR_USERDATA = 1, 2, 3, 7
ROSCTR_NAMES: dict[int, str] = {
    ROSCTR_JOB: "job",
    ROSCTR_ACK: "ack",
    ROSCTR_ACK_DATA: "ack_data",
    ROSCTR_USERDATA: "userdata",
}

ERROR_CLASSES: dict[int, str] = {
    0x00: "no_error",
    0x81: "application_relationship",
    0x82: "object_definition",
    0x83: "no_resources",
    0x84: "service_processing",
    0x85: "supplies",
    0x87: "access",
}
"""Header error class (ack / ack-data) -> name."""

ERROR_CODES: dict[int, str] = {
    # Parameter/header error codes (class << 8 | code, or the 16-bit parameter error field).
    0x0000: "no_error",
    0x0110: "invalid_block_number",
    0x0111: "invalid_request_length",
    0x0112: "invalid_parameter",
    0x0113: "invalid_block_type",
    0x0114: "block_not_found",
    0x0115: "block_already_exists",
    0x0116: "block_write_protected",
    0x0117: "block_or_os_update_too_large",
    0x0118: "invalid_block_number",
    0x0119: "wrong_password",
    0x011A: "pg_resource_error",
    0x011B: "plc_resource_error",
    0x011C: "protocol_error",
    0x011D: "too_many_blocks",
    0x011E: "no_database_connection",
    0x011F: "result_buffer_too_small",
    0x0120: "end_of_block_list",
    0x0140: "out_of_memory",
    0x0141: "no_resources_for_job",
    0x8001: "service_not_possible_in_block_state",
    0x8003: "block_transfer_error",
    0x8100: "service_unknown",
    0x8104: "service_not_implemented_or_frame_error",
    0x8204: "object_type_inconsistent",
    0x8205: "copied_block_exists_unlinked",
    0x8301: "insufficient_memory",
    0x8302: "insufficient_resources",
    0x8304: "no_more_parallel_uploads",
    0x8305: "function_not_available",
    0x8306: "insufficient_work_memory",
    0x8307: "insufficient_retentive_memory",
    0x8401: "invalid_service_sequence",
    0x8402: "object_state_prevents_service",
    0x8404: "function_cannot_be_performed",
    0x8405: "remote_block_disabled",
    0x8500: "wrong_frames",
    0x8503: "service_cancelled",
    0x8701: "object_addressing_error",
    0x8702: "service_not_supported",
    0x8703: "access_denied",
    0x8704: "object_damaged",
    0xD001: "illegal_job_number",
    0xD002: "illegal_job_variant",
    0xD003: "debug_function_not_supported",
    0xD004: "illegal_job_status",
    0xD005: "illegal_job_termination",
    0xD041: "illegal_szl_id",
    0xD042: "illegal_tag_address",
    0xD081: "not_permitted_in_current_mode",
    0xD082: "cannot_leave_hold",
    0xD0A1: "not_permitted_in_protection_level",
    0xD0A2: "memory_modifying_function_running",
    0xD0AD: "mode_already_set",
    0xD201: "block_name_syntax_error",
    0xD202: "function_parameter_syntax_error",
    0xD209: "block_not_on_module",
    0xD20E: "no_further_block",
    0xD210: "invalid_block_number",
    0xD20C: "ob_priority_class_missing",
    0xD241: "not_permitted_in_protection_level",
    0xD401: "information_function_unavailable",
    0xD402: "information_function_unavailable",
    0xD405: "service_not_supported_or_syntax_error",
    0xD406: "information_unavailable",
    0xD601: "function_parameter_syntax_error",
    0xD602: "wrong_password",
    0xD603: "connection_already_legitimized",
    0xD604: "connection_already_enabled",
    0xD605: "no_password_configured",
    0xD801: "invalid_tag_address",
    0xD802: "job_does_not_exist",
    0xD803: "illegal_job_status",
    0xD804: "illegal_cycle_time",
    0xD805: "no_more_cyclic_jobs",
    0xDC01: "invalid_date_or_time",
    0xEF01: "invalid_id2",
    0xEF02: "resource_set_does_not_exist",
}
"""16-bit S7 error codes -> name (the well-established subset; others keep only the number)."""

# -- functions (job / ack-data parameter byte 0) ---------------------------------------------------
FUNC_CPU_SERVICES = 0x00
FUNC_MODE_TRANSITION = 0x01
FUNC_READ_VAR = 0x04
FUNC_WRITE_VAR = 0x05
FUNC_REQUEST_DOWNLOAD = 0x1A
FUNC_DOWNLOAD_BLOCK = 0x1B
FUNC_DOWNLOAD_ENDED = 0x1C
FUNC_START_UPLOAD = 0x1D
FUNC_UPLOAD = 0x1E
FUNC_END_UPLOAD = 0x1F
FUNC_PI_SERVICE = 0x28
FUNC_PLC_STOP = 0x29
FUNC_SETUP_COMMUNICATION = 0xF0

FUNCTIONS: dict[int, tuple[str, str]] = {
    FUNC_CPU_SERVICES: ("cpu_services", "other"),
    FUNC_READ_VAR: ("read_var", "read"),
    FUNC_WRITE_VAR: ("write_var", "write"),
    FUNC_REQUEST_DOWNLOAD: ("request_download", "program"),
    FUNC_DOWNLOAD_BLOCK: ("download_block", "program"),
    FUNC_DOWNLOAD_ENDED: ("download_ended", "program"),
    FUNC_START_UPLOAD: ("start_upload", "program"),
    FUNC_UPLOAD: ("upload", "program"),
    FUNC_END_UPLOAD: ("end_upload", "program"),
    FUNC_PI_SERVICE: ("pi_service", "control"),
    FUNC_PLC_STOP: ("plc_stop", "control"),
    FUNC_SETUP_COMMUNICATION: ("setup_communication", "other"),
}
"""Job function code -> (name, function class)."""

FUNCTION_CLASSES = ("read", "write", "program", "control", "diagnostics", "identify", "security",
                    "other")

BLOCK_TRANSFER_FUNCTIONS = frozenset({
    FUNC_REQUEST_DOWNLOAD, FUNC_DOWNLOAD_BLOCK, FUNC_DOWNLOAD_ENDED,
    FUNC_START_UPLOAD, FUNC_UPLOAD, FUNC_END_UPLOAD,
})

# -- variable addressing ---------------------------------------------------------------------------
AREAS: dict[int, str] = {
    0x01: "RECORD",  # data record (RDREC, CP firmware update)
    0x03: "SI200",  # system info, S7-200 family
    0x05: "SF200",  # system flags, S7-200
    0x06: "AI200",  # analog inputs, S7-200
    0x07: "AO200",  # analog outputs, S7-200
    0x1C: "C",  # S7 counters
    0x1D: "T",  # S7 timers
    0x1E: "C200",  # IEC counters, S7-200
    0x1F: "T200",  # IEC timers, S7-200
    0x80: "P",  # direct peripheral I/O
    0x81: "I",  # process image inputs
    0x82: "Q",  # process image outputs
    0x83: "M",  # bit memory (flags, "Merker")
    0x84: "DB",  # data blocks
    0x85: "DI",  # instance data blocks
    0x86: "L",  # local data
    0x87: "V",  # previous local data ("Vorgaenger")
}
"""Item area code -> STEP 7 mnemonic."""

NUMBERED_AREAS = frozenset({0x1C, 0x1D, 0x1E, 0x1F})
"""Areas addressed by element number (timers, counters), not byte.bit."""

TRANSPORT_SIZES: dict[int, str] = {
    1: "BIT", 2: "BYTE", 3: "CHAR", 4: "WORD", 5: "INT", 6: "DWORD", 7: "DINT", 8: "REAL",
    9: "DATE", 10: "TOD", 11: "TIME", 12: "S5TIME", 15: "DATE_AND_TIME",
    28: "COUNTER", 29: "TIMER", 30: "IEC_COUNTER", 31: "IEC_TIMER", 32: "HS_COUNTER",
}
"""Transport size in a request item (the S7ANY data type)."""

DATA_TRANSPORT_SIZES: dict[int, str] = {
    0: "NULL", 3: "BIT", 4: "BYTE", 5: "INT", 6: "DINT", 7: "REAL", 9: "OCTET_STRING",
    17: "NCK_ADDRESS1", 18: "NCK_ADDRESS2",
}
"""Transport size in the data part (response values, write values)."""

LENGTH_IN_BITS = frozenset({3, 4, 5})
"""Data transport sizes whose length field counts bits, not bytes."""

RETURN_CODES: dict[int, str] = {
    0x00: "reserved",
    0x01: "hardware_fault",
    0x03: "access_denied",
    0x05: "invalid_address",
    0x06: "type_not_supported",
    0x07: "type_inconsistent",
    0x0A: "object_does_not_exist",
    0xFF: "success",
}
"""Per-item return code in the data part."""

RETURN_SUCCESS = 0xFF
RETURN_RESERVED = 0x00

SYNTAX_IDS: dict[int, str] = {
    0x10: "S7ANY",
    0x11: "PARAM_SHORT",
    0x12: "PARAM_EXT",
    0x13: "PBC_R_ID",
    0x15: "ALARM_LOCKFREE",
    0x16: "ALARM_IND",
    0x19: "ALARM_ACK",
    0x1A: "ALARM_QUERYREQ",
    0x1C: "NOTIFY_IND",
    0x82: "NCK",
    0x83: "NCK_METRIC",
    0x84: "NCK_INCH",
    0xA2: "DRIVEESANY",
    0xB0: "DBREAD",
    0xB2: "1200SYM",
}
"""Variable-specification syntax id -> name."""

SYNTAX_S7ANY, SYNTAX_DBREAD, SYNTAX_1200SYM, SYNTAX_DRIVEESANY = 0x10, 0xB0, 0xB2, 0xA2
SYNTAX_NCK = frozenset({0x82, 0x83, 0x84})

# -- blocks ----------------------------------------------------------------------------------------
BLOCK_TYPES: dict[bytes, str] = {
    b"08": "OB", b"09": "CMod", b"0A": "DB", b"0B": "SDB", b"0C": "FC", b"0D": "SFC",
    b"0E": "FB", b"0F": "SFB",
}
"""Block type as the two ASCII characters used in file names and block functions."""

SUBBLOCK_TYPES: dict[int, str] = {
    0x08: "OB", 0x0A: "DB", 0x0B: "SDB", 0x0C: "FC", 0x0D: "SFC", 0x0E: "FB", 0x0F: "SFB",
}
"""Block type as a number (block info responses)."""

FILESYSTEMS: dict[str, str] = {"P": "passive", "A": "active", "B": "active_and_passive"}
"""Destination file system letter in block file names."""

BLOCK_LANGUAGES: dict[int, str] = {
    0x00: "not_defined", 0x01: "AWL", 0x02: "KOP", 0x03: "FUP", 0x04: "SCL", 0x05: "DB",
    0x06: "GRAPH", 0x07: "SDB", 0x08: "CPU_DB", 0x11: "SDB_after_reset", 0x12: "SDB_routing",
    0x29: "ENCRYPT",
}
"""Block language byte -> STEP 7 language (AWL = STL, KOP = LAD, FUP = FBD)."""

# -- PI services (function 0x28) -------------------------------------------------------------------
PI_SERVICES: dict[str, tuple[str, str]] = {
    "_INSE": ("activate_block", "program"),
    "_INS2": ("activate_block", "program"),
    "_DELE": ("delete_block", "program"),
    "P_PROGRAM": ("start_program", "control"),
    "_MODU": ("copy_ram_to_rom", "program"),
    "_GARB": ("compress_memory", "control"),
    "_N_LOGIN_": ("nc_login", "security"),
    "_N_LOGOUT": ("nc_logout", "security"),
    "_N_NEWPWD": ("nc_new_password", "security"),
    "_N_F_DELE": ("nc_delete_file", "program"),
    "_N_F_DELR": ("nc_delete_file_forced", "program"),
    "_N_F_COPY": ("nc_copy_file", "program"),
    "_N_F_RENA": ("nc_rename_file", "program"),
    "_N_F_PROT": ("nc_protect_file", "program"),
    "_N_F_OPEN": ("nc_open_file", "other"),
    "_N_F_OPER": ("nc_open_file_readonly", "other"),
    "_N_F_CLOS": ("nc_close_file", "other"),
    "_N_F_SEEK": ("nc_seek_file", "other"),
    "_N_F_XFER": ("nc_select_file_for_upload", "program"),
    "_N_SELECT": ("nc_select_program", "control"),
    "_N_EXTERN": ("nc_select_external_program", "control"),
    "_N_EXTMOD": ("nc_select_external_program", "control"),
    "_N_CANCEL": ("nc_cancel_alarm", "control"),
    "_N_CONFIG": ("nc_reconfigure", "control"),
    "_N_DASAVE": ("nc_save_sram_to_flash", "program"),
    "_N_STRTLK": ("nc_set_start_disable", "control"),
    "_N_STRTUL": ("nc_reset_start_disable", "control"),
}
"""PI service name -> (action, function class). ``_N_*`` services are Sinumerik NC ones."""

PI_BLOCK_LIST_SERVICES = frozenset({"_INSE", "_INS2", "_DELE"})
"""PI services whose parameter block is a list of block file names."""
PI_SINGLE_ARGUMENT_SERVICES = frozenset({"P_PROGRAM", "_MODU", "_GARB"})
"""PI services whose parameter block is one plain string argument."""
PI_PASSWORD_ARGUMENT: dict[str, int] = {"_N_LOGIN_": 1, "_N_NEWPWD": 1}
"""Services with a password among their string arguments -> its index (never stored)."""

# -- userdata --------------------------------------------------------------------------------------
UD_TYPE_INDICATION, UD_TYPE_REQUEST, UD_TYPE_RESPONSE = 0, 1, 2
UD_TYPES: dict[int, str] = {0: "indication", 1: "request", 2: "response"}

GROUP_MODE_TRANSITION = 0x00
GROUP_PROGRAMMER = 0x01
GROUP_CYCLIC = 0x02
GROUP_BLOCK = 0x03
GROUP_CPU = 0x04
GROUP_SECURITY = 0x05
GROUP_PBC = 0x06
GROUP_TIME = 0x07
GROUP_DRR = 0x20
GROUP_NC = 0x3F

GROUPS: dict[int, str] = {
    GROUP_MODE_TRANSITION: "mode_transition",
    GROUP_PROGRAMMER: "programmer_commands",
    GROUP_CYCLIC: "cyclic_data",
    GROUP_BLOCK: "block_functions",
    GROUP_CPU: "cpu_functions",
    GROUP_SECURITY: "security",
    GROUP_PBC: "pbc_bsend",
    GROUP_TIME: "time_functions",
    GROUP_DRR: "data_record_routing",
    GROUP_NC: "nc_programming",
}
"""Userdata function group -> name."""

SUB_READ_SZL = 0x01
SUB_LIST_BLOCKS, SUB_LIST_BLOCKS_OF_TYPE, SUB_BLOCK_INFO = 0x01, 0x02, 0x03
SUB_PASSWORD, SUB_CLEAR_PASSWORD = 0x01, 0x02
SUB_READ_CLOCK, SUB_SET_CLOCK, SUB_READ_CLOCK_FOLLOWING, SUB_SET_CLOCK2 = 0x01, 0x02, 0x03, 0x04
SUB_CYCLIC_TRANSFER, SUB_CYCLIC_UNSUBSCRIBE = 0x01, 0x04
SUB_CYCLIC_CHANGE, SUB_CYCLIC_CHANGE_MODIFY, SUB_CYCLIC_RDREC = 0x05, 0x07, 0x08

SUBFUNCTIONS: dict[int, dict[int, tuple[str, str]]] = {
    GROUP_PROGRAMMER: {
        0x01: ("block_status", "diagnostics"),
        0x02: ("variable_status", "diagnostics"),
        0x03: ("output_istack", "diagnostics"),
        0x04: ("output_bstack", "diagnostics"),
        0x05: ("output_lstack", "diagnostics"),
        0x06: ("time_measurement", "diagnostics"),
        0x07: ("force_selection", "diagnostics"),
        0x08: ("modify_variable", "write"),
        0x09: ("force", "write"),
        0x0A: ("breakpoint", "control"),
        0x0B: ("exit_hold", "control"),
        0x0C: ("memory_reset", "control"),
        0x0D: ("disable_job", "diagnostics"),
        0x0E: ("enable_job", "diagnostics"),
        0x0F: ("delete_job", "diagnostics"),
        0x10: ("read_job_list", "diagnostics"),
        0x11: ("read_job", "diagnostics"),
        0x12: ("replace_job", "diagnostics"),
        0x13: ("block_status_v2", "diagnostics"),
        0x16: ("flash_led", "control"),
    },
    GROUP_CYCLIC: {
        SUB_CYCLIC_TRANSFER: ("cyclic_transfer", "read"),
        SUB_CYCLIC_UNSUBSCRIBE: ("cyclic_unsubscribe", "read"),
        SUB_CYCLIC_CHANGE: ("change_driven_transfer", "read"),
        SUB_CYCLIC_CHANGE_MODIFY: ("change_driven_transfer_modify", "read"),
        SUB_CYCLIC_RDREC: ("read_record", "read"),
    },
    GROUP_BLOCK: {
        SUB_LIST_BLOCKS: ("list_blocks", "diagnostics"),
        SUB_LIST_BLOCKS_OF_TYPE: ("list_blocks_of_type", "diagnostics"),
        SUB_BLOCK_INFO: ("block_info", "diagnostics"),
    },
    GROUP_CPU: {
        SUB_READ_SZL: ("read_szl", "diagnostics"),
        0x02: ("message_service", "diagnostics"),
        0x03: ("diagnostic_message", "diagnostics"),
        0x05: ("alarm8_indication", "diagnostics"),
        0x06: ("notify_indication", "diagnostics"),
        0x07: ("alarm8_lock", "control"),
        0x08: ("alarm8_unlock", "control"),
        0x09: ("scan_indication", "diagnostics"),
        0x0B: ("alarm_ack", "control"),
        0x0C: ("alarm_ack_indication", "diagnostics"),
        0x0D: ("alarm_lock_indication", "diagnostics"),
        0x0E: ("alarm_unlock_indication", "diagnostics"),
        0x10: ("ar_send_indication", "other"),
        0x11: ("alarm_sq_indication", "diagnostics"),
        0x12: ("alarm_s_indication", "diagnostics"),
        0x13: ("alarm_query", "diagnostics"),
        0x16: ("notify8_indication", "diagnostics"),
    },
    GROUP_SECURITY: {
        SUB_PASSWORD: ("plc_password", "security"),
        SUB_CLEAR_PASSWORD: ("clear_plc_password", "security"),
    },
    GROUP_PBC: {
        0x00: ("usend", "other"),  # USEND: an R_ID instead of a subfunction (syntax 0x13)
        0x01: ("bsend", "other"),  # BSEND / BRECV block transfer between CPUs
    },
    GROUP_TIME: {
        SUB_READ_CLOCK: ("read_clock", "diagnostics"),
        SUB_SET_CLOCK: ("set_clock", "control"),
        SUB_READ_CLOCK_FOLLOWING: ("read_clock_following", "diagnostics"),
        SUB_SET_CLOCK2: ("set_clock", "control"),
    },
    GROUP_DRR: {
        0x01: ("drr_init", "other"),
        0x02: ("drr_finish", "other"),
        0x03: ("drr_data", "other"),
    },
    GROUP_NC: {
        0x01: ("nc_request_download", "program"),
        0x02: ("nc_download_block", "program"),
        0x03: ("nc_continue_download", "program"),
        0x04: ("nc_download_ended", "program"),
        0x06: ("nc_start_upload", "program"),
        0x07: ("nc_upload", "program"),
        0x08: ("nc_continue_upload", "program"),
    },
}
"""Userdata group -> subfunction -> (name, function class)."""

GROUP_DEFAULT_CLASS: dict[int, str] = {
    GROUP_PROGRAMMER: "diagnostics", GROUP_CYCLIC: "read", GROUP_BLOCK: "diagnostics",
    GROUP_CPU: "diagnostics", GROUP_SECURITY: "security", GROUP_PBC: "other",
    GROUP_TIME: "diagnostics", GROUP_DRR: "other", GROUP_NC: "program",
}
"""Function class of a subfunction missing from :data:`SUBFUNCTIONS`."""

CPU_MODES: dict[int, str] = {
    0x00: "stop",
    0x01: "warm_restart",
    0x02: "run",
    0x03: "hot_restart",
    0x04: "hold",
    0x06: "cold_restart",
    0x09: "run_redundant",
    0x0B: "link_up",
    0x0C: "update",
}
"""CPU operating mode in a mode-transition indication."""

TIMEBASES: dict[int, float] = {0: 0.1, 1: 1.0, 2: 10.0}
"""Cyclic-data interval time base code -> seconds."""

# -- SZL (system status lists) ---------------------------------------------------------------------
SZL_LISTS: dict[int, str] = {
    # keyed by the partial-list number (low byte of the SZL id)
    0x00: "szl_ids",
    0x11: "module_identification",
    0x12: "cpu_characteristics",
    0x13: "user_memory_areas",
    0x14: "system_areas",
    0x15: "block_types",
    0x19: "module_led_status",
    0x1C: "component_identification",
    0x22: "interrupt_status",
    0x24: "operating_mode",
    0x25: "process_image_partitions",
    0x31: "communication_capabilities",
    0x32: "communication_status",
    0x37: "ethernet_details",
    0x71: "h_cpu_group_information",
    0x74: "module_led_status",
    0x75: "switched_dp_slaves",
    0x90: "dp_master_system",
    0x91: "module_status",
    0x92: "rack_station_status",
    0x94: "rack_station_status_profinet",
    0x95: "dp_master_system_extended",
    0x96: "module_status_profinet",
    0xA0: "diagnostic_buffer",
    0xB1: "module_diagnostic_record0",
    0xB2: "module_diagnostic_record1_physical",
    0xB3: "module_diagnostic_record1_logical",
    0xB4: "dp_slave_diagnostic_data",
}
"""SZL partial list number -> name (SZL id = extract number << 8 | list number)."""

SZL_IDENTITY_LISTS = frozenset({0x11, 0x1C})
"""Lists that identify the device (order number, firmware, names, serial): class ``identify``."""

COMPONENT_FIELDS: dict[int, str] = {
    0x0001: "plc_name",
    0x0002: "module_name",
    0x0003: "plant_id",
    0x0004: "copyright",
    0x0005: "serial_number",
    0x0007: "module_type_name",
    0x0008: "memory_card_serial",
    0x000B: "location",
}
"""SZL 0x001C record index -> identity field of the text it carries."""

# -- COTP TSAP convention of S7 (called TSAP byte 0) -----------------------------------------------
CONNECTION_TYPES: dict[int, str] = {0x01: "pg", 0x02: "op", 0x03: "s7_basic"}

# -- S7comm-plus -----------------------------------------------------------------------------------
PLUS_VERSIONS: dict[int, str] = {
    0x01: "v1", 0x02: "v2", 0x03: "v3", 0xFE: "system_event", 0xFF: "keep_alive",
}
PLUS_OPCODE_REQUEST, PLUS_OPCODE_RESPONSE, PLUS_OPCODE_NOTIFICATION = 0x31, 0x32, 0x33
PLUS_OPCODE_RESPONSE2 = 0x02
PLUS_OPCODES: dict[int, str] = {
    0x31: "request", 0x32: "response", 0x33: "notification", 0x02: "response",
}

PLUS_FUNCTIONS: dict[int, tuple[str, str]] = {
    0x04B1: ("error", "other"),
    0x04BB: ("explore", "read"),
    0x04CA: ("create_object", "other"),
    0x04D4: ("delete_object", "other"),
    0x04F2: ("set_variable", "write"),
    0x04FC: ("get_variable", "read"),
    0x0506: ("add_link", "other"),
    0x051A: ("remove_link", "other"),
    0x0524: ("get_link", "read"),
    0x0542: ("set_multi_variables", "write"),
    0x054C: ("get_multi_variables", "read"),
    0x0556: ("begin_sequence", "other"),
    0x0560: ("end_sequence", "other"),
    0x056B: ("invoke", "control"),
    0x057C: ("set_var_sub_streamed", "write"),
    0x0586: ("get_var_sub_streamed", "read"),
    0x0590: ("get_variables_address", "read"),
    0x059A: ("abort", "other"),
    0x05A9: ("error", "other"),
    0x05B3: ("init_ssl", "security"),
}
"""S7comm-plus function code -> (name, function class)."""

PLUS_FUNC_CREATE_OBJECT = 0x04CA

PLUS_FLAG_NO_RESPONSE = 0x40
"""Request transport flag seen on requests that may go unanswered (HMI SetVariable: answered by
a 0x02 response, or not at all)."""

PLUS_SESSION_STRINGS: dict[int, str] = {
    # attribute id -> field; values are WStrings inside CreateObject request/response objects
    296: "client_user",  # ServerSessionUser
    297: "client_application",  # ServerSessionApplication
    298: "client_host",  # ServerSessionHost
    301: "client_comment",  # ServerSessionClientComment
    319: "server_version",  # system PAOM string: "1;6ES7 ...;V2.2"
}
"""Well-known session attributes carried as strings in CreateObject (S7comm-plus object ids)."""

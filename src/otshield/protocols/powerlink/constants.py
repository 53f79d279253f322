"""Ethernet POWERLINK code tables (EPSG DS 301 V1.4: 4.6.1 message types, 4.6.1.1.4 SoA
RequestedServiceID, 4.6.1.1.5 ASnd ServiceID, 7.3.1 NMT states, 7.3.2-7.3.5 NMT commands)."""

from __future__ import annotations

ETHERTYPE = 0x88AB

MESSAGE_TYPES: dict[int, str] = {0x01: "SoC", 0x03: "PReq", 0x04: "PRes", 0x05: "SoA",
                                 0x06: "ASnd", 0x07: "AMNI", 0x0D: "AInv"}
MT_SOA, MT_ASND = 0x05, 0x06

SOA_SERVICES: dict[int, str] = {0: "NoService", 1: "IdentRequest", 2: "StatusRequest",
                                3: "NMTRequestInvite", 6: "SyncRequest",
                                255: "UnspecifiedInvite"}

ASND_SERVICES: dict[int, str] = {1: "IdentResponse", 2: "StatusResponse", 3: "NMTRequest",
                                 4: "NMTCommand", 5: "SDO", 6: "SyncResponse"}
SV_IDENT, SV_STATUS, SV_NMT_REQUEST, SV_NMT_COMMAND, SV_SDO = 1, 2, 3, 4, 5

# NMT command id -> (name, function class)
NMT_COMMANDS: dict[int, tuple[str, str]] = {
    0x21: ("NMTStartNode", "control"), 0x22: ("NMTStopNode", "control"),
    0x23: ("NMTEnterPreOperational2", "control"), 0x24: ("NMTEnableReadyToOperate", "control"),
    0x28: ("NMTResetNode", "control"), 0x29: ("NMTResetCommunication", "control"),
    0x2A: ("NMTResetConfiguration", "control"), 0x2B: ("NMTSwReset", "control"),
    0x41: ("NMTStartNodeEx", "control"), 0x42: ("NMTStopNodeEx", "control"),
    0x43: ("NMTEnterPreOperational2Ex", "control"),
    0x44: ("NMTEnableReadyToOperateEx", "control"), 0x48: ("NMTResetNodeEx", "control"),
    0x49: ("NMTResetCommunicationEx", "control"), 0x4A: ("NMTResetConfigurationEx", "control"),
    0x4B: ("NMTSwResetEx", "control"),
    0x62: ("NMTNetHostNameSet", "config"), 0x63: ("NMTFlushArpEntry", "config"),
    0x80: ("NMTPublishConfiguredNodes", "other"), 0x90: ("NMTPublishActiveNodes", "other"),
    0x91: ("NMTPublishPreOperational1", "other"), 0x92: ("NMTPublishPreOperational2", "other"),
    0x93: ("NMTPublishReadyToOperate", "other"), 0x94: ("NMTPublishOperational", "other"),
    0x95: ("NMTPublishStopped", "other"), 0xA0: ("NMTPublishEmergencyNew", "other"),
    0xB0: ("NMTPublishTime", "other"), 0xFF: ("NMTInvalidService", "other"),
}

NMT_STATES: dict[int, str] = {
    0x00: "GS_OFF", 0x19: "GS_INITIALISING", 0x29: "GS_RESET_APPLICATION",
    0x39: "GS_RESET_COMMUNICATION", 0x79: "GS_RESET_CONFIGURATION", 0x1C: "NOT_ACTIVE",
    0x1D: "PRE_OPERATIONAL_1", 0x5D: "PRE_OPERATIONAL_2", 0x6D: "READY_TO_OPERATE",
    0xFD: "OPERATIONAL", 0x4D: "STOPPED", 0x1E: "BASIC_ETHERNET",
}

DEVICE_PROFILES: dict[int, str] = {0: "no_standard_device", 401: "generic_io", 402: "drive",
                                   403: "hmi", 404: "measuring_device", 405: "plc",
                                   406: "encoder"}
MN_NODE_ID = 240

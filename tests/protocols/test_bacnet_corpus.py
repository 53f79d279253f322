"""Every BACnet corpus capture (BACnet/IP, BACnet/Ethernet, the malformed ones) decodes without
an internal error; anomalies are declared; a few facts about specific captures hold."""

from __future__ import annotations

from typing import Any

import pytest

from otshield.protocols.bacnet import SPEC
from protocols.bacnet_build import decode_bacnet
from support import PCAPS, CorpusFile, corpus_files, corpus_params

CAPTURES = corpus_files(protocol="BACnet")


def _of(events: list[Any], tag: str) -> list[Any]:
    return [e for e in events if e.__struct_config__.tag == tag]


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_decodes_cleanly(capture: CorpusFile) -> None:
    events = decode_bacnet(capture.path)
    anomalies = _of(events, "anomaly")
    assert not [a for a in anomalies if a.code.startswith("internal.")]
    for a in anomalies:
        if a.code.startswith("bacnet."):
            assert a.code in SPEC.anomaly_codes, a.code
    assert _of(events, "bacnet") or _of(events, "bacnet_network")
    for e in _of(events, "bacnet"):
        assert e.function_class in {"read", "write", "control", "program", "config",
                                    "identify", "diagnostics", "security", "other"}


def _capture(rel: str) -> Any:
    path = PCAPS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    return decode_bacnet(path)


@pytest.mark.corpus
def test_bacnet_ethernet_capture() -> None:
    events = _of(_capture("ct-samples/bacnet/bacnet-ethernet.cap"), "bacnet")
    llc = [e for e in events if e.medium == "ethernet"]
    assert len(llc) == 424  # 416 ReadProperty transactions + 8 Who-Is / I-Am
    assert all(e.src_mac and not e.src_ip for e in llc)
    assert sum(1 for e in llc if e.reply == "complex-ack") == 373


@pytest.mark.corpus
def test_segmented_capture_is_reassembled() -> None:
    events = _of(_capture("icsnpp/bacnet/bacnet_segmented_data.pcap"), "bacnet")
    (seg,) = [e for e in events if e.response_segments]
    assert (seg.response_segments, seg.segments_missing, seg.property) == (
        3, False, "object-list")
    assert seg.values_truncated and seg.values[0] == "binary-input:0"


@pytest.mark.corpus
def test_error_reject_abort_capture() -> None:
    events = _capture("icsnpp/bacnet/bacnet_error_reject_abort.pcap")
    replies = {e.reply for e in _of(events, "bacnet") if e.reply}
    assert {"error", "reject", "abort"} <= replies
    dcc = [e for e in _of(events, "bacnet") if e.service == "deviceCommunicationControl"]
    assert dcc and dcc[0].password_present is True and dcc[0].function_class == "config"

"""Robustness of the MMS decoder on every corpus capture with MMS: no internal error through the
whole engine, only declared anomaly codes, the expected anomalies only where the capture is at
fault, and identical events when the TCP payloads are re-split into 1-byte / random segments."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from otshield.events import AnomalyEvent
from otshield.protocols.mms import ANOMALIES
from protocols.mms_build import decode_mms
from resegment import assert_same_events, one_byte, random_sizes, resegment
from support import CorpusFile, corpus_files, corpus_params, decode

CAPTURES = corpus_files(protocol="IEC 61850")
MMS_NAMES = ("mms-commands/", "Sample_File_MMS_and_GOOSE", "mms_8d7c7db0", "iedscout",
             "substation_ABB1")
MMS_CAPTURES = [c for c in CAPTURES if any(n in str(c.path) for n in MMS_NAMES)]

EXPECTED_ANOMALIES: dict[str, set[str]] = {
    # synthetic captures: the server's AC has a session user-data length of 0 followed by the
    # PPDU (tshark: malformed too), its responses stop after the invoke id; the requests stay
    # unanswered
    "iec61850_get_name_list.pcap": {"mms.bad_session", "mms.bad_pdu",
                                    "mms.unanswered_request"},
    "iec61850_read.pcap": {"mms.bad_session", "mms.bad_pdu", "mms.unanswered_request"},
    "iec61850_write.pcap": {"mms.bad_session", "mms.bad_pdu", "mms.unanswered_request"},
    # server TPKT length fields 2 short: framing fails, requests go unanswered
    "mms-initiateDownloadSequence.pcap": {"tpkt.invalid_header", "tpkt.invalid_length",
                                          "cotp.invalid", "mms.unanswered_request"},
    "mms-stopRequest.pcap": {"tpkt.invalid_header", "tpkt.invalid_length", "cotp.invalid",
                             "mms.unanswered_request"},
    # a real server error (access / object-non-existent) to a getVariableAccessAttributes
    "Sample_File_MMS_and_GOOSE.pcap": {"mms.confirmed_error"},
    # the capture ends on a read request (frame 1899) whose answer was not captured
    "substation_ABB1.pcap": {"mms.unanswered_request"},
}


def _ours(code: str) -> bool:
    return code.split(".")[0] in ("mms", "cotp", "tpkt")


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_full_engine_no_internal_error(capture: CorpusFile | None) -> None:
    assert capture is not None
    events = decode(capture.path)
    codes = collections.Counter(e.code for e in events if isinstance(e, AnomalyEvent))
    assert not any(c.startswith("internal.") for c in codes), codes
    assert {c for c in codes if c.startswith("mms.")} <= set(ANOMALIES)


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(MMS_CAPTURES))
def test_mms_anomalies_only_where_expected(capture: CorpusFile | None) -> None:
    assert capture is not None
    events = decode_mms(capture.path)
    codes = {e.code for e in events if isinstance(e, AnomalyEvent) and _ours(e.code)}
    assert codes <= set(ANOMALIES)
    assert codes == EXPECTED_ANOMALIES.get(capture.path.name, set())
    assert any(e.__struct_config__.tag in ("mms", "mms_report") for e in events)


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(MMS_CAPTURES))
@pytest.mark.parametrize("mode", ["byte", "random"])
def test_corpus_chunked_replay(capture: CorpusFile | None, mode: str, tmp_path: Path) -> None:
    assert capture is not None
    split = one_byte if mode == "byte" else random_sizes(5)
    out = tmp_path / "resegmented.pcap"
    resegment(capture.path, out, split)

    assert_same_events(decode_mms(capture.path), decode_mms(out), {"mms", "mms_report", "cotp"})

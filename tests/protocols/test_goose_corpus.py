"""Every IEC 61850 corpus capture (MMS, GOOSE, SV, R-GOOSE) goes through the engine with the
GOOSE and SV decoders: no decoder error, only declared anomaly codes, and the GOOSE, R-GOOSE and
SV captures give their publishers and streams."""

from __future__ import annotations

from collections import Counter

import pytest

from otshield.events import AnomalyEvent
from otshield.protocols.goose import SPEC as GOOSE_SPEC
from otshield.protocols.goose.events import GooseEvent
from otshield.protocols.sv import SPEC as SV_SPEC
from protocols.iec61850_build import decode61850
from support import CorpusFile, corpus_files, corpus_params

EXPECTED_PUBLISHERS = {
    "Sample_File_GOOSE.pcap": 3,
    "Sample_File_MMS_and_GOOSE.pcap": 3,
    "iedscout.pcapng": 1,
    "GE_Multilin_UR_Routable-GOOSE.pcap": 1,  # R-GOOSE over UDP 102
}
EXPECTED_STREAMS = {"9-2-sv.pcap": 20}


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_files(protocol="IEC 61850")))
def test_iec61850_capture(capture: CorpusFile) -> None:
    events = decode61850(capture.path)
    tags = Counter(e.__struct_config__.tag for e in events)
    anomalies = [e for e in events if isinstance(e, AnomalyEvent)]
    assert not [a for a in anomalies if a.code.startswith("internal.")]
    declared = {**GOOSE_SPEC.anomaly_codes, **SV_SPEC.anomaly_codes}
    ours = [a.code for a in anomalies if a.protocol in ("goose", "sv")]
    assert set(ours) <= set(declared)
    print(f"{capture.path.name}: {dict(tags)} anomalies {dict(Counter(ours))}")
    name = capture.path.name
    assert tags["goose_publisher"] == EXPECTED_PUBLISHERS.get(name, 0)
    assert tags["sv_stream"] == tags["sv_stream_summary"] == EXPECTED_STREAMS.get(name, 0)
    if name == "iedscout.pcapng":
        # IEDScout simulates a publisher: Simulate bit and simulation flag on every message
        assert all(e.simulation and e.simulated for e in events if isinstance(e, GooseEvent))

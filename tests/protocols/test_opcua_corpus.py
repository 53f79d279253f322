"""Every OPC UA corpus capture decodes through the whole engine without an internal error, every
anomaly code is declared, and what each capture is known to contain shows up."""

from __future__ import annotations

from collections import Counter

import pytest

from otshield.events import AnomalyEvent
from otshield.protocols.opcua import SPEC, OpcuaEvent
from protocols.opcua_build import decode_opcua
from support import PCAPS, CorpusFile, corpus_files, corpus_params

FILES = [f for f in corpus_files("OPC UA") if f.path.suffix in (".pcap", ".pcapng")]


def _by_name(name: str) -> CorpusFile:
    found = [f for f in FILES if f.path.name == name]
    if not found:
        pytest.skip(f"{name} is not in the corpus at {PCAPS}")
    return found[0]


@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(FILES))
def test_decodes_cleanly(cf: CorpusFile) -> None:
    # the opcua decoder alone: the others are written in parallel (test_corpus_all runs all)
    events = decode_opcua(cf.path)
    anomalies = [e for e in events if isinstance(e, AnomalyEvent)]
    assert not [a for a in anomalies if a.code.startswith("internal.")]
    for a in anomalies:
        if a.code.startswith("opcua."):
            assert a.code in SPEC.anomaly_codes
    ours = [e for e in events if isinstance(e, OpcuaEvent)]
    assert ours, "no OPC UA event"
    for e in ours:
        assert e.function_class in ("read", "write", "control", "program", "config",
                                    "identify", "diagnostics", "security", "other")
        assert e.status in ("ok", "bad", "unanswered", "aborted", "encrypted")


@pytest.mark.corpus
def test_non_standard_port_same_as_standard() -> None:
    """The same open62541 session on port 48010 and on 4840 gives the same transactions."""
    a = _by_name("open62541_client-server_mainloop.pcap")
    b = _by_name("open62541_client-server_mainloop-not-localhost-non-standard-port.pcap")

    def services(cf: CorpusFile) -> list[tuple[str, str | None, str]]:
        return [(e.kind, e.service, e.status) for e in decode_opcua(cf.path)
                if isinstance(e, OpcuaEvent)]

    assert services(a) == services(b)


@pytest.mark.corpus
def test_probe_claims_unlisted_port() -> None:
    """Port 12001 is in no list: the Hello probes the flow as OPC UA."""
    cf = _by_name("opc-ua-ap-method-wireshark-freeze.pcap")
    events = [e for e in decode_opcua(cf.path) if isinstance(e, OpcuaEvent)]
    assert {e.dst_port for e in events} == {12001}
    kinds = Counter(e.service for e in events if e.kind == "service")
    assert kinds == {"GetEndpoints": 2, "CreateSession": 2, "ActivateSession": 2, "Call": 2}
    # the fuzzed Call requests break the encoding; the server answers with an Error message
    calls = [e for e in events if e.service == "Call"]
    assert all(e.status == "bad" and e.error_name for e in calls)


@pytest.mark.corpus
def test_encrypted_channel_shows_only_headers() -> None:
    cf = _by_name("open62541_client-server_encrypted.pcap")
    events = decode_opcua(cf.path)
    secured = [e for e in events if isinstance(e, OpcuaEvent) and e.encrypted]
    assert secured
    assert {e.security_policy for e in secured} == {"Basic128Rsa15"}
    assert all(e.status == "encrypted" and e.request_id is None for e in secured)
    opn = next(e for e in secured if e.kind == "open_secure_channel")
    assert opn.channel is not None and opn.channel.client_certificate_thumbprint
    assert opn.channel.receiver_thumbprint == opn.channel.server_certificate_thumbprint
    assert not [e for e in events if isinstance(e, AnomalyEvent)]


@pytest.mark.corpus
def test_read_results_carry_values() -> None:
    """open62541's read test server answers 86 Reads of typed test variables."""
    cf = _by_name("open62541_read_service_test_data.pcap")
    reads = [e for e in decode_opcua(cf.path) if isinstance(e, OpcuaEvent) and e.service == "Read"]
    assert len(reads) == 86
    types = Counter(item.result.value.type for e in reads for item in e.reads or ()
                    if item.result is not None and item.result.value is not None)
    assert len(types) >= 5  # many built-in types are read
    assert all(e.status == "ok" and e.reads for e in reads)

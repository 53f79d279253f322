"""Every DNP3 capture of the corpus (malformed and attack ones included) decodes without a
decoder error, with only documented anomaly codes, the same through the full protocol registry,
and the same again when its TCP payloads are re-split into random segments."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from otshield.protocols.dnp3 import ANOMALY_CODES
from protocols.dnp3_build import decode_dnp3, of
from resegment import random_sizes, resegment
from support import PCAPS, CorpusFile, corpus_files, corpus_params, decode, without_position

CAPTURES = [c for c in corpus_files("DNP3") if c.label != "labels"]


def _dnp3_only(events: list[Any], pairing: bool = True) -> list[Any]:
    """DNP3 events and anomalies, position-free, in a canonical order (across flows the order
    follows when each flow's protocol is recognised, which segment sizes may move).

    ``pairing`` False drops ``request_function``: once a TCP stream has holes, the order in
    which the engine delivers the two directions (and so which request a response meets) may
    follow segment boundaries."""
    kept = [e for e in events if e.__struct_config__.tag in ("dnp3", "dnp3_link")
            or (e.__struct_config__.tag == "anomaly" and e.code.startswith("dnp3."))]
    out = without_position(kept)
    if not pairing:
        for d in out:
            d.pop("request_function", None)
    return sorted(out, key=repr)


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_decodes_without_errors(capture: CorpusFile) -> None:
    events = decode_dnp3(capture.path)
    codes = collections.Counter(a.code for a in of(events, "anomaly"))
    print(f"\n{capture.path.relative_to(PCAPS)} [{capture.label}]: "
          f"{len(of(events, 'dnp3'))} fragments, {len(of(events, 'dnp3_link'))} link events, "
          f"anomalies {dict(codes)}")
    assert "internal.decoder_error" not in codes
    assert {c for c in codes if c.startswith("dnp3.")} <= set(ANOMALY_CODES)
    if "dnp3" in capture.main_protocols and capture.label in ("normal", "suspicious") \
            and "malcolm" not in str(capture.path):
        # clean traffic: DNP3 found, and nothing judged malformed at the link or transport layer
        assert of(events, "dnp3") or of(events, "dnp3_link")
        assert not {"dnp3.bad_crc", "dnp3.transport_sequence"} & set(codes)


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(
    [c for c in CAPTURES if c.packets <= 3000]))
def test_full_registry_gives_the_same_dnp3_events(capture: CorpusFile) -> None:
    assert _dnp3_only(decode(capture.path)) == _dnp3_only(decode_dnp3(capture.path))


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(
    [c for c in CAPTURES if 0 < c.packets <= 3000]))
def test_resegmented_capture_gives_the_same_events(capture: CorpusFile, tmp_path: Path) -> None:
    out = tmp_path / "re.pcap"
    resegment(capture.path, out, random_sizes(7))
    original = decode_dnp3(capture.path)
    sane_tcp = not any(a.code.startswith("tcp.") for a in of(original, "anomaly"))
    assert _dnp3_only(decode_dnp3(out), sane_tcp) == _dnp3_only(original, sane_tcp)

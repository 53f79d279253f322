"""Every corpus capture decodes without a decoder error, and re-segmented EtherNet/IP captures
give the same events."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from protocols.enip_build import decode_enip
from resegment import one_byte, random_sizes, resegment
from support import CorpusFile, corpus, corpus_files, corpus_params, without_position

ENIP = corpus_files(protocol="EtherNet/IP")
INTERNAL = ("internal.decoder_error", "internal.engine_error")


@pytest.mark.corpus
@pytest.mark.parametrize("cap", corpus_params(ENIP))
def test_enip_capture_decodes_cleanly(cap: CorpusFile) -> None:
    events = decode_enip(cap.path)
    counts = collections.Counter(e.__struct_config__.tag for e in events)
    codes = collections.Counter(e.code for e in events if e.__struct_config__.tag == "anomaly")
    assert not [c for c in codes if c in INTERNAL], codes
    if "enip" in cap.main_protocols or "cip" in cap.main_protocols:
        assert counts["cip"] + counts["enip"] + counts["cip_io"] > 0


@pytest.mark.corpus
@pytest.mark.parametrize("cap", corpus_params(
    c for c in corpus() if c.path.suffix in (".pcap", ".pcapng", ".cap", ".gz")))
def test_any_capture_survives_the_enip_decoder(cap: CorpusFile) -> None:
    """Other protocols' traffic (on port 44818/2222 by chance, or offered to the probe on
    unknown ports) must not crash the decoder either, and the probe must not claim them."""
    events = decode_enip(cap.path)
    assert not [e for e in events if e.__struct_config__.tag == "anomaly" and e.code in INTERNAL]
    if cap.protocol != "EtherNet/IP-CIP":
        claimed = [e for e in events if e.__struct_config__.tag == "flow"
                   and e.protocol == "enip" and {e.src_port, e.dst_port}.isdisjoint({44818, 2222})]
        assert not claimed, [(e.src_ip, e.src_port, e.dst_ip, e.dst_port) for e in claimed]


def _comparable(path: Path) -> list[dict[str, Any]]:
    drop = {"response_time", "mean_interval_ms"}
    return sorted(({k: v for k, v in d.items() if k not in drop}
                   for d in without_position(decode_enip(path))
                   if d["event.dataset"] != "anomaly" or d.get("event.code") != "tcp.gap"),
                  key=repr)


SMALL = [c for c in ENIP if 0 < c.packets <= 1000]


@pytest.mark.corpus
@pytest.mark.parametrize("mode", ["one_byte", "random"])
@pytest.mark.parametrize("cap", corpus_params(SMALL))
def test_resegmented_corpus_capture(cap: CorpusFile, mode: str, tmp_path: Path) -> None:
    """``response_time`` and ``mean_interval_ms`` depend on packet times, which re-segmenting
    changes (like the position fields ``without_position`` drops)."""
    out = tmp_path / "re.pcap"
    resegment(cap.path, out, one_byte if mode == "one_byte" else random_sizes(11))
    assert _comparable(out) == _comparable(cap.path)

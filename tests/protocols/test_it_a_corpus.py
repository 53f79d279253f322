"""The corpus captures that carry DNS, HTTP, TLS or SSH (and every malformed or IT capture)
decode without a decoder error; re-split into other TCP segment sizes they give the same DNS,
HTTP, TLS and SSH events."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.events import AnomalyEvent
from resegment import one_byte, random_sizes, resegment
from support import CorpusFile, corpus, corpus_params, decode

from .it_a_build import comparable, corpus_with

DATASETS = ("dns", "http", "tls", "ssh")


def _relevant() -> list[CorpusFile]:
    seen: dict[Path, CorpusFile] = {}
    for name in DATASETS:
        for c in corpus_with(name, max_packets=10**9):
            seen[c.path] = c
    for c in corpus():
        if c.label == "malformed" or c.protocol.startswith("IT"):
            seen[c.path] = c
    return sorted(seen.values(), key=lambda c: str(c.path))


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(_relevant()))
def test_decodes_without_decoder_errors(capture: CorpusFile) -> None:
    events = decode(capture.path)
    errors = [f"{e.code} frame {e.frame}: {e.detail}" for e in events
              if isinstance(e, AnomalyEvent) and e.code.startswith("internal.")]
    assert errors == []


_TCP = [c for c in _relevant() if c.packets <= 3000 and any(
    c.path in {x.path for x in corpus_with(n)} for n in ("http", "tls", "ssh"))]


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(_TCP))
def test_resegmented_corpus_gives_the_same_events(capture: CorpusFile, tmp_path: Path) -> None:
    out = tmp_path / "re.pcap"
    original = sorted(comparable(capture.path, DATASETS), key=repr)
    resegment(capture.path, out, random_sizes(17))
    assert sorted(comparable(out, DATASETS), key=repr) == original
    if capture.packets <= 200:
        resegment(capture.path, out, one_byte)
        assert sorted(comparable(out, DATASETS), key=repr) == original

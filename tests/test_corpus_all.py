"""Every third-party capture goes through the whole engine with every decoder: every packet is
processed, no exception escapes and no decoder bug had to be contained (``internal.*``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from otshield.capture import open_capture
from otshield.engine import Engine, run_capture
from otshield.events import AnomalyEvent
from support import CorpusFile, corpus, corpus_params


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus()))
def test_capture_decodes_without_internal_errors(capture: CorpusFile) -> None:
    events: list[Any] = []
    engine = Engine(events.append)
    with open_capture(capture.path) as reader:
        run_capture(reader, engine)
    engine.finish()
    assert engine.stats.packets == capture.packets  # the MANIFEST's count, from capinfos
    anomalies = [e for e in events if isinstance(e, AnomalyEvent)]
    internal = [a for a in anomalies if a.code.startswith("internal.")]
    assert not internal, internal[:3]
    # Every code a decoder raises is declared in its spec (the engine adds the framing ones).
    specs = engine.registry.by_name
    undeclared = {(a.protocol, a.code) for a in anomalies
                  if a.protocol in specs and not a.code.startswith("tcp.")
                  and a.code not in specs[a.protocol].anomaly_codes
                  and a.code not in (f"{a.protocol}.invalid_frame_size",
                                     f"{a.protocol}.buffer_overflow")}
    assert not undeclared
    if capture.label == "malformed":
        codes = Counter(a.code for a in anomalies)
        print(f"{capture.path.name}: {dict(codes.most_common(5))}")

"""Every third-party capture goes through the whole engine with every decoder: no exception
escapes and no decoder bug had to be contained (``internal.*`` anomalies)."""

from __future__ import annotations

from collections import Counter

import pytest

from support import CorpusFile, corpus, corpus_params, decode, of_type


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus()))
def test_capture_decodes_without_internal_errors(capture: CorpusFile) -> None:
    events = decode(capture.path)
    anomalies = of_type(events, "anomaly")
    internal = [a for a in anomalies if a.code.startswith("internal.")]
    assert not internal, internal[:3]
    assert events, "no events at all"
    assert len(of_type(events, "flow")) <= capture.packets
    if capture.label == "malformed":
        codes = Counter(a.code for a in anomalies)
        print(f"{capture.path.name}: {dict(codes.most_common(5))}")

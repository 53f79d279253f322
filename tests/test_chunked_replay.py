"""Re-segmented replays give identical events: the demo capture and small corpus captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.demo import write_demo_capture
from resegment import one_byte, random_sizes, resegment
from support import corpus_files, corpus_params, decode, without_position

# Flow records and gap anomalies legitimately depend on packet counts only through the
# fields without_position drops.


def _comparable(path: Path) -> list[dict[str, object]]:
    return sorted(without_position(decode(path)), key=repr)


@pytest.fixture(scope="module")
def demo_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.pcap"
    write_demo_capture(path)
    return path


@pytest.mark.parametrize("mode", ["one_byte", "random"])
def test_demo_capture_resegmented(demo_capture: Path, tmp_path: Path, mode: str) -> None:
    out = tmp_path / "re.pcap"
    resegment(demo_capture, out, one_byte if mode == "one_byte" else random_sizes(3))
    original = _comparable(demo_capture)
    assert len(original) > 50
    assert _comparable(out) == original


SMALL = [c for c in (corpus_files("Modbus") + corpus_files("DNP3") + corpus_files("S7comm")
                     + corpus_files("EtherNet/IP") + corpus_files("IT"))
         if 0 < c.packets <= 400]


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(SMALL))
def test_corpus_capture_resegmented(capture: object, tmp_path: Path) -> None:
    path = capture.path  # type: ignore[attr-defined]
    out = tmp_path / "re.pcap"
    resegment(path, out, random_sizes(11))
    assert _comparable(out) == _comparable(path)

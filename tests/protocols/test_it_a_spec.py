"""The four IT-A decoders declare what they emit: every anomaly code their sources can raise is
in ``SPEC.anomaly_codes`` (and every declared code is raised somewhere), event types carry the
protocol's tag, and the registry loads them."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from otshield.protocols.registry import load_registry

NAMES = ("dns", "http", "tls", "ssh")
_SRC = Path(importlib.import_module("otshield.protocols").__file__ or "").parent


@pytest.mark.parametrize("name", NAMES)
def test_anomaly_codes_are_declared(name: str) -> None:
    spec = importlib.import_module(f"otshield.protocols.{name}").SPEC
    code = re.compile(rf'"({name}\.[a-z0-9_]+)"')
    used: set[str] = set()
    for path in (_SRC / name).glob("*.py"):
        if path.name == "events.py":
            continue  # ECS field names live there, not codes
        used |= set(code.findall(path.read_text(encoding="utf-8")))
    declared = set(spec.anomaly_codes)
    assert used - declared == set(), "raised but not declared"
    assert declared - used == set(), "declared but never raised"
    assert all(desc for desc in spec.anomaly_codes.values())


@pytest.mark.parametrize("name", NAMES)
def test_every_anomaly_code_is_tested(name: str) -> None:
    spec = importlib.import_module(f"otshield.protocols.{name}").SPEC
    here = Path(__file__).parent
    tests = "".join(p.read_text(encoding="utf-8") for p in here.glob(f"test_{name}*.py"))
    assert [c for c in spec.anomaly_codes if f'"{c}"' not in tests] == []


@pytest.mark.parametrize("name", NAMES)
def test_event_tags_and_registry(name: str) -> None:
    spec = importlib.import_module(f"otshield.protocols.{name}").SPEC
    assert spec.name == name
    assert [t.__struct_config__.tag for t in spec.event_types] == [name]
    assert load_registry(plugins=False).by_name[name] is spec

"""The published rule catalogue is the one the rule files give."""

from __future__ import annotations

from pathlib import Path

import pytest

from otshield.cli import main

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "rule-pack.md"


def test_rule_catalogue_is_current(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["rules", "list", "--format", "markdown"]) == 0
    generated = capsys.readouterr().out
    assert generated == CATALOGUE.read_text(encoding="utf-8"), (
        "docs/rule-pack.md is stale: regenerate it with "
        "`otshield rules list --format markdown > docs/rule-pack.md`")

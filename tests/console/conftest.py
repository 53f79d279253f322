"""Fixtures shared by every console test (part 6 of issue #7 keeps this file; add fixtures in
your own modules or ask there)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.consolekit import ConsoleKit


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    """The whole console app on a temporary SQLite store, one signed-in user per role."""
    with ConsoleKit.build(tmp_path_factory.mktemp("console")) as k:
        yield k


@pytest.fixture(scope="module")
def auth_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    """Only the access-control routes (part 6's tests), same store and error handling."""
    with ConsoleKit.build(tmp_path_factory.mktemp("auth"), full=False) as k:
        yield k

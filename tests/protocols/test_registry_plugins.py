"""Third-party decoders from the ``otshield.protocols`` entry points: found once per process
(finding them reads every installed distribution's metadata), found again after
``rescan_plugins``, and a wrong one is a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from otshield.errors import ConfigError
from otshield.protocols import registry
from otshield.protocols.registry import load_registry, rescan_plugins


class _FakeEntryPoint:
    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self._value = value

    def load(self) -> Any:
        return self._value


class _Installed:
    """The entry points a test installs, and each look-up of the group."""

    def __init__(self) -> None:
        self.entry_points: list[_FakeEntryPoint] = []
        self.lookups: list[str] = []

    def __call__(self, *, group: str) -> list[_FakeEntryPoint]:
        self.lookups.append(group)
        return list(self.entry_points)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Installed]:
    installed = _Installed()
    monkeypatch.setattr(registry, "entry_points", installed)
    rescan_plugins()
    yield installed
    rescan_plugins()  # the next test sees the real entry points again


def _a_plugin_spec() -> registry.ProtocolSpec:
    """A decoder spec of a third party: a built-in one renamed, on a port of its own."""
    base = load_registry(plugins=False).by_name["modbus"]
    return replace(base, name="acme_bus", title="ACME Bus", tcp_ports=frozenset({40001}),
                   udp_ports=frozenset())


def test_plugins_are_looked_up_once_until_rescanned(plugins: _Installed) -> None:
    lookups = plugins.lookups
    assert "acme_bus" not in load_registry().by_name
    plugins.entry_points.append(_FakeEntryPoint("acme", _a_plugin_spec()))
    # found once per process: a plugin installed later is not seen yet...
    assert "acme_bus" not in load_registry().by_name
    assert lookups == ["otshield.protocols"]
    rescan_plugins()  # ...until the entry points are looked up again
    reg = load_registry()
    assert reg.by_name["acme_bus"].tcp_ports == frozenset({40001})
    assert reg.tcp_ports[40001][0].name == "acme_bus"
    assert load_registry().by_name["acme_bus"].title == "ACME Bus"
    assert lookups == ["otshield.protocols", "otshield.protocols"]
    assert "acme_bus" not in load_registry(plugins=False).by_name


def test_an_entry_point_that_is_not_a_spec_is_a_clear_error(
        plugins: _Installed) -> None:
    plugins.entry_points.append(_FakeEntryPoint("broken", object()))
    with pytest.raises(ConfigError, match="entry point broken does not give a ProtocolSpec"):
        load_registry()

"""A real mosquitto per test (free port, persistence in tmp_path) and lane configs for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lanecam.testing.mosquitto import Mosquitto, free_port, mosquitto_binary

pytest.importorskip("paho.mqtt", reason="needs the console extra (paho-mqtt)")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; CI installs it)")
    with Mosquitto(tmp_path / "broker") as b:
        yield b


@pytest.fixture
def idle_port() -> int:
    """A free port where no broker runs (yet)."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; CI installs it)")
    return free_port()

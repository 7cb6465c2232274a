"""The console tests' site: a real mosquitto, two lanes, ``lanecam console`` over TLS
(see console_site.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from console_site import Site, console_toml, self_signed

from lanecam.testing.mosquitto import Mosquitto, free_port, lane_toml, mosquitto_binary, wait_port

pytest.importorskip("starlette", reason="needs the console extra")
pytest.importorskip("paho.mqtt", reason="needs the console extra")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; CI installs it)")
    folder = tmp_path_factory.mktemp("site")
    with Mosquitto(folder / "broker") as broker:
        lanes = {lane: lane_toml(folder / lane, lane, broker.port, vault=True)
                 for lane in ("north-1", "south-1")}
        cert, key = self_signed(folder)
        port = free_port()
        cfg = console_toml(folder, broker.port, port, lanes, cert, key)
        proc = subprocess.Popen([sys.executable, "-m", "lanecam.cli", "console", "--config",
                                 str(cfg)])
        try:
            wait_port(port, 20)
            yield Site(folder, broker, f"https://127.0.0.1:{port}", cert, lanes, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()



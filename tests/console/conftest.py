"""The console tests' site: a real mosquitto, two lanes, ``lanecam console`` over TLS
(see console_site.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from console_site import DOCUMENTS, Site, console_toml, self_signed, serve_lane

from lanecam.testing.mosquitto import Mosquitto, free_port, lane_toml, mosquitto_binary, wait_port
from lanecam.testing.pki import TestCA

pytest.importorskip("starlette", reason="needs the console extra")
pytest.importorskip("paho.mqtt", reason="needs the console extra")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; CI installs it)")
    folder = tmp_path_factory.mktemp("site")
    ca = TestCA(folder / "pki")
    client = ca.issue("console-client", server=False)
    with Mosquitto(folder / "broker") as broker:
        lanes, api = {}, {}
        for lane in ("north-1", "south-1"):
            crt, key = ca.issue(lane, server=True)
            api[lane] = free_port()
            lanes[lane] = lane_toml(folder / lane, lane, broker.port, vault=True, crop_api={
                "port": api[lane], "tls_cert": str(crt), "tls_key": str(key),
                "client_cert": str(client[0]), "client_ca": str(ca.cert_path),
                "documents": str(DOCUMENTS)})
        cert, key = self_signed(folder)
        port = free_port()
        cfg = console_toml(folder, broker.port, port, api, cert, key, ca.cert_path, client)
        serving: dict[str, subprocess.Popen[str]] = {}
        site = None
        try:
            serving.update({lane: serve_lane(c) for lane, c in lanes.items()})
            console = subprocess.Popen([sys.executable, "-m", "lanecam.cli", "console",
                                        "--config", str(cfg)])
            site = Site(folder, broker, f"https://127.0.0.1:{port}", cert, lanes, console,
                        serving, cfg, port)
            wait_port(port, 20)
            yield site
        finally:
            procs: list[subprocess.Popen] = [*serving.values()]  # type: ignore[type-arg]
            if site is not None:
                procs.append(site.console)
            for p in procs:
                if p.stdin is not None:
                    p.stdin.close()
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()



"""``lanecam run CONFIG`` on emulated hardware: the pylon camera emulator and the radar and
lidar firmware fakes on real ptys, a vehicle driving past on the host clock."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lanecam.cli import main
from lanecam.devices.fakes import (
    BenewakeFake,
    ElliptecFake,
    GardasoftRTFake,
    LidarTarget,
    OPS243Fake,
    RadarTarget,
)
from lanecam.devices.illuminators import EyeSafetyInterlock, PulseSetting, load_illuminator_profile

pytestmark = pytest.mark.emulator
FACES = Path(__file__).parent.parent / "data" / "faces"


@pytest.mark.parametrize("control", [False, True], ids=["fixed", "exposure-control"])
def test_run_command_captures_a_passing_vehicle(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                control: bool) -> None:
    stack = contextlib.ExitStack()
    # without control: also the port's outputs, to a real mosquitto (when installed)
    port, site = ("", None) if control else _port_outputs(tmp_path, stack)
    t0 = time.monotonic() + 1.0
    speed = 10.0

    def range_now() -> float:
        return 45.0 - speed * max(0.0, time.monotonic() - t0)

    def radar() -> RadarTarget | None:
        r = range_now()
        return RadarTarget(speed, r) if r > 0 else None

    def lidar() -> LidarTarget | None:
        r = range_now()
        return LidarTarget(r) if 0 < r < 40 else None

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(FACES / "biden2.jpg", docs / "traveler-1.jpg")
    with stack:
        _run_and_check(tmp_path, docs, radar, lidar, control, port)
        end = time.monotonic() + 5
        while site is not None and not site["events"] and time.monotonic() < end:
            time.sleep(0.05)
    out = capsys.readouterr().out
    # the emulator's test image has no face: the traveler is referred to an officer
    assert "emu-1-1: partial, 0/1 verified, 6 frames -> officer review" in out
    assert (tmp_path / "events.jsonl").read_text().count('"vehicle_id": "emu-1-1"') == 1
    if site is not None:  # the event went through the broker, once; health came too
        assert site["events"] == ["emu-1-1"], site
        assert site["health"] and site["health"][-1]["cameras"]
        # the lane's crop service (started by `lanecam run` from [crop_api]) answered the
        # console's certificate while the lane ran (no face, so no crop: its audit rows)
        assert site["audit"] is not None, site.get("crop_error")


def _port_outputs(tmp_path: Path, stack: contextlib.ExitStack) -> tuple[str, dict | None]:
    """[mqtt] to a real mosquitto and [metrics] on a free port, and a subscriber."""
    pytest.importorskip("paho.mqtt", reason="needs the console extra")
    pytest.importorskip("prometheus_client", reason="needs the console extra")
    import lanecam.publish.attach
    import lanecam.publish.metrics  # noqa: F401
    from lanecam.config import MqttConfig
    from lanecam.publish.subscribe import SiteSubscriber
    from lanecam.testing.mosquitto import Mosquitto, mosquitto_binary

    if mosquitto_binary() is None:
        return "", None
    broker = stack.enter_context(Mosquitto(tmp_path / "broker"))
    seen: dict = {"events": [], "health": [], "audit": None}
    crop_api, console = _crop_api(tmp_path)

    def on_event(body: dict) -> None:
        seen["events"].append(body["vehicle_id"])
        # as the console would, while the lane still runs
        threading.Thread(target=_fetch, args=(console, seen), daemon=True).start()

    sub = SiteSubscriber(MqttConfig("127.0.0.1", "port1", "-", broker.port), "test-site",
                         on_event, lambda lane, h: seen["health"].append(h)).start()
    stack.callback(sub.stop)
    assert sub.connected.wait(5)
    return (f'\n[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nsite = "port1"\n'
            f'outbox = "{tmp_path / "outbox.sqlite"}"\n\n[metrics]\nport = 0\n'
            f'{crop_api}'), seen


def _crop_api(tmp_path: Path) -> tuple[str, Any]:
    """A [crop_api] table (site CA, lane server and console client certificates) and the
    console's view of that lane."""
    from lanecam.console.config import ConsoleLane
    from lanecam.testing.mosquitto import free_port
    from lanecam.testing.pki import TestCA

    ca = TestCA(tmp_path / "pki")
    crt, key = ca.issue("emu-1", server=True)
    client = ca.issue("console", server=False)
    port = free_port()
    table = (f'\n[crop_api]\nport = {port}\ntls_cert = "{crt}"\ntls_key = "{key}"\n'
             f'client_cert = "{client[0]}"\nclient_ca = "{ca.cert_path}"\n')
    return table, ConsoleLane("emu-1", f"https://127.0.0.1:{port}", str(ca.cert_path),
                              str(client[0]), str(client[1]))


def _fetch(console: Any, seen: dict) -> None:
    from lanecam.console.lanes import LaneClient
    from lanecam.errors import LanecamError

    try:
        seen["audit"] = [(r["action"], r["actor"]) for r in LaneClient(console).audit_page(10)]
    except LanecamError as exc:
        seen["crop_error"] = repr(exc)


def _run_and_check(tmp_path: Path, docs: Path, radar: Any, lidar: Any, control: bool,
                   port: str) -> None:
    with OPS243Fake("OPS243-C", target=radar) as rf, BenewakeFake("TF02-Pro", target=lidar) as lf, \
            GardasoftRTFake(2) as lamp, ElliptecFake() as mount:
        rotator = f'\n[cameras.rotator]\nurl = "{mount.port}"\noffset_deg = 2.0\n' if control else ""
        cfg = tmp_path / "lane.toml"
        cfg.write_text(f"""
[lane]
id = "emu-1"

[[cameras]]
name = "driver"
device = "pylon:0815-0001"
lateral_m = 1.6
height_m = 2.0
pitch_deg = 3.0
yaw_deg = -4.5
width_px = 1024
height_px = 1040
{rotator}
[capture]
zone_near_m = 9.0
zone_far_m = 22.0
frames = 6
exposure_s = 0.002

[control]
exposure = {"true" if control else "false"}

[sensors]
radar = {{ url = "{rf.port}", model = "ops243-c" }}
lidar = {{ url = "{lf.port}", model = "tf02-pro" }}

[illuminator]
url = "{lamp.port}"
model = "gardasoft-rt"

[vault]
root = "{tmp_path / 'vault'}"
key_env = "LANECAM_TEST_KEY"

[[sinks]]
kind = "jsonl"
path = "{tmp_path / 'events.jsonl'}"
{port}""")
        import base64
        import os

        os.environ["LANECAM_TEST_KEY"] = base64.b64encode(os.urandom(32)).decode()
        seen: set[tuple[str, float]] = set()
        done = threading.Event()

        def watch_lamp() -> None:
            while not done.is_set():
                st = lamp.state.get(1)
                if st is not None:
                    seen.add((st.mode, round(st.pulse_ms, 3)))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch_lamp, daemon=True)
        watcher.start()
        try:
            assert main(["run", str(cfg), "--documents", str(docs), "--duration", "7"]) == 0
        finally:
            done.set()
            watcher.join()
            del os.environ["LANECAM_TEST_KEY"]
        # the strobe ran in pulse mode, one exposure (2 ms) long at first, and is off after
        # the lane
        assert ("pulse", 2.0) in seen
        assert not lamp.emitting()
        pulses = [line.split(",") for line in lamp.lines if line.startswith("RT1,")]
        widths = {float(p[1]) for p in pulses}
        if control:
            # the controller re-set the pulse between frames through the driver, and every
            # setting the controller received passed the eye-safety interlock at the frame rate
            assert len(widths) >= 3
            lock = EyeSafetyInterlock(load_illuminator_profile("gardasoft-rt"))
            for p in pulses:
                lock.check_pulse(PulseSetting(float(p[1]) / 1e3, float(p[3]) / 100, 1 / 30.0))
            # the analyzer was turned to the predicted angle and through the Malus probe
            # angles (the emulator's test image has no glare: the prediction stands)
            assert len(mount.moves) >= 3
        else:
            assert widths == {2.0}

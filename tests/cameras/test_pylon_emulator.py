"""The pylon backend on the real pylon camera emulator (PYLON_CAMEMU)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from lanecam.devices.cameras import Trigger
from lanecam.devices.cameras.pylon import PylonCamera, discover_pylon
from lanecam.errors import DeviceLostError, DeviceTimeoutError, LimitError, UnsupportedFeatureError

from emulated_cameras import PYLON_SERIALS

pytestmark = pytest.mark.emulator


def test_discover_lists_the_emulated_cameras() -> None:
    cams = [c for c in discover_pylon() if c.model == "Emulation"]
    assert {c.serial for c in cams} >= set(PYLON_SERIALS)
    assert all(c.vendor == "Basler" and c.backend == "pylon" for c in cams)


def test_emulator_gets_the_camemu_profile(pylon_cam: PylonCamera) -> None:
    assert pylon_cam.profile.name == "basler-camemu"
    assert pylon_cam.profile.feature("exposure_time").node == "ExposureTimeAbs"
    assert pylon_cam.profile.feature("gain").node == "GainRaw"


def test_exposure_in_seconds_reaches_the_node_in_microseconds(pylon_cam: PylonCamera) -> None:
    applied = pylon_cam.configure({"exposure_time": 0.00125})
    assert applied["exposure_time"] == pytest.approx(0.00125)
    assert pylon_cam.native.ExposureTimeAbs.Value == pytest.approx(1250.0)
    pylon_cam.arm(Trigger.software())
    with pylon_cam.capture_burst(1) as burst:
        assert burst[0].meta.exposure_s == pytest.approx(0.00125)


@pytest.mark.parametrize("value", [0.0, 5e-5, 3.5, -1.0])
def test_exposure_outside_live_limits_is_rejected(pylon_cam: PylonCamera, value: float) -> None:
    before = pylon_cam.native.ExposureTimeAbs.Value
    with pytest.raises(LimitError) as e:
        pylon_cam.configure({"exposure_time": value})
    assert e.value.key == "exposure_time"
    assert "0.0001" in str(e.value.allowed) and "3" in str(e.value.allowed)
    assert pylon_cam.native.ExposureTimeAbs.Value == before


def test_gain_in_db_is_converted_to_raw_steps(pylon_cam: PylonCamera) -> None:
    lim = pylon_cam.limits("gain")
    assert lim.unit == "dB" and lim.min == pytest.approx(192 * 0.0359, rel=1e-6)
    applied = pylon_cam.configure({"gain": 12.0})
    raw = pylon_cam.native.GainRaw.Value
    assert raw == round(12.0 / 0.0359)
    assert abs(applied["gain"] - 12.0) <= 0.0359 / 2
    with pytest.raises(LimitError):
        pylon_cam.configure({"gain": 0.0})  # below GainRaw 192 on this model
    assert pylon_cam.native.GainRaw.Value == raw


def test_a_bad_setting_in_a_batch_writes_nothing(pylon_cam: PylonCamera) -> None:
    before = (pylon_cam.get("exposure_time"), pylon_cam.get("width"))
    with pytest.raises(LimitError):
        pylon_cam.configure({"exposure_time": 0.004, "width": 100000})
    assert (pylon_cam.get("exposure_time"), pylon_cam.get("width")) == before


def test_software_trigger_yields_exactly_one_frame_per_trigger(pylon_cam: PylonCamera) -> None:
    pylon_cam.arm(Trigger.software())
    with pytest.raises(DeviceTimeoutError):
        pylon_cam.grab(timeout_s=0.2)  # nothing triggered: nothing arrives
    assert pylon_cam.counters.timeouts == 1
    pylon_cam.trigger()
    with pylon_cam.grab(timeout_s=2.0) as f:
        first = f.meta.frame_number
    with pytest.raises(DeviceTimeoutError):
        pylon_cam.grab(timeout_s=0.2)
    pylon_cam.trigger()
    with pylon_cam.grab(timeout_s=2.0) as f:
        assert f.meta.frame_number == first + 1
    assert pylon_cam.native.TriggerSource.Value == "Software"
    assert pylon_cam.native.TriggerMode.Value == "On"


def test_hardware_trigger_sets_line_and_edge(pylon_cam: PylonCamera) -> None:
    pylon_cam.arm(Trigger.hardware(line="Line2", activation="FallingEdge", delay_s=0.0005))
    n = pylon_cam.native
    n.TriggerSelector.Value = "FrameStart"
    assert (n.TriggerMode.Value, n.TriggerSource.Value, n.TriggerActivation.Value) == (
        "On", "Line2", "FallingEdge")
    assert n.TriggerDelay.Value == pytest.approx(500.0)
    with pytest.raises(DeviceTimeoutError):  # no edge on the emulator's line: no frame
        pylon_cam.grab(timeout_s=0.2)


def test_action_command_trigger_is_unsupported_on_the_emulator(pylon_cam: PylonCamera) -> None:
    with pytest.raises(UnsupportedFeatureError) as e:
        pylon_cam.arm(Trigger.action())
    assert "Emulation" in str(e.value) and e.value.feature == "action_device_key"
    assert not pylon_cam.is_armed


def _write_frames(folder: Path, rng: np.random.Generator, n: int, shape: tuple[int, int]) -> list[np.ndarray]:
    images = [rng.integers(0, 256, size=shape, dtype=np.uint8) for _ in range(n)]
    for i, img in enumerate(images):
        assert cv2.imwrite(str(folder / f"frame_{i:02d}.png"), img)
    return images


def test_image_file_mode_serves_the_frames_we_wrote(pylon_cam: PylonCamera, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    images = _write_frames(tmp_path, rng, 3, (96, 128))
    pylon_cam.configure({"width": 128, "height": 96, "test_image_selector": "Off",
                         "image_file_mode": "On", "image_filename": str(tmp_path)})
    pylon_cam.arm(Trigger.software())
    with pylon_cam.capture_burst(6, timeout_s=2.0) as burst:
        got = [f.copy() for f in burst]
    # the emulator cycles through the folder's files in name order
    for i, g in enumerate(got):
        np.testing.assert_array_equal(g, images[i % 3])


def test_injected_failed_buffers_are_counted_and_marked(pylon_cam: PylonCamera) -> None:
    pylon_cam.arm(Trigger.software())
    pylon_cam.configure({"failed_buffer_count": 2})
    pylon_cam.execute("failed_buffer")
    with pylon_cam.capture_burst(5, timeout_s=2.0) as burst:
        flags = [f.meta.complete for f in burst]
        reasons = [f.meta.incomplete_reason for f in burst if not f.meta.complete]
    assert flags == [False, False, True, True, True]
    assert all(r and "incompletely grabbed" in r for r in reasons)
    assert burst.incomplete_count == 2 and len(burst.complete_frames) == 3
    assert pylon_cam.counters.incomplete == 2 and pylon_cam.counters.frames == 5
    # counted by cause: pylon's description and error code
    assert pylon_cam.fault_counts[
        "incomplete: The buffer was incompletely grabbed. (error 0x00000000)"] == 2


def test_device_removal_raises_lost_and_reconnect_recovers(pylon_cam: PylonCamera) -> None:
    pylon_cam.configure({"exposure_time": 0.003})
    pylon_cam.arm(Trigger.software())
    pylon_cam.execute("device_removal")  # the emulator fires pylon's removal callback
    with pytest.raises(DeviceLostError):
        pylon_cam.grab(timeout_s=0.5)
    assert pylon_cam.counters.lost == 1
    with pytest.raises(DeviceLostError):  # stays lost until reconnect
        pylon_cam.configure({"exposure_time": 0.002})
    pylon_cam.reconnect(attempts=3, interval_s=0.1)
    assert pylon_cam.counters.reconnects == 1
    assert pylon_cam.get("exposure_time") == pytest.approx(0.003)
    with pylon_cam.capture_burst(2, timeout_s=2.0) as burst:
        assert len(burst) == 2 and all(f.meta.complete for f in burst)


def test_view_kept_past_release_pins_the_buffer(pylon_cam: PylonCamera) -> None:
    pylon_cam.arm(Trigger.software())
    pylon_cam.trigger()
    frame = pylon_cam.grab(timeout_s=2.0)
    leaked = frame.array[:4, :4]  # a view that outlives the frame
    expected = leaked.copy()
    frame.release()
    assert pylon_cam.counters.pinned == 1
    for _ in range(3):  # pylon keeps grabbing into other buffers; the leaked pixels stay put
        pylon_cam.trigger()
        with pylon_cam.grab(timeout_s=2.0):
            pass
    np.testing.assert_array_equal(leaked, expected)
    del leaked


def test_two_cameras_grab_at_once() -> None:
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def run(serial: str) -> None:
        try:
            with PylonCamera(serial, device_class="BaslerCamEmu") as cam:
                cam.configure({"width": 320, "height": 240, "test_image_selector": "Testimage1"})
                cam.arm(Trigger.software())
                with cam.capture_burst(20, timeout_s=2.0) as burst:
                    results[serial] = [f.meta.frame_number for f in burst]
                    assert all(f.meta.camera_id == cam.id for f in burst)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in PYLON_SERIALS[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert {s: len(v) for s, v in results.items()} == {s: 20 for s in PYLON_SERIALS[1:]}


def test_selector_and_its_features_in_one_batch(pylon_cam: PylonCamera) -> None:
    pylon_cam.configure({"line_selector": "Line2", "line_mode": "Output",
                         "line_source": "ExposureActive"})
    n = pylon_cam.native
    n.LineSelector.Value = "Line2"
    assert (n.LineMode.Value, n.LineSource.Value) == ("Output", "ExposureActive")
    with pytest.raises(LimitError) as e:  # still range-checked, at its write
        pylon_cam.configure({"line_selector": "Line3", "line_source": "NoSuchSource"})
    assert e.value.key == "line_source"


def test_process_exits_cleanly_when_a_closed_camera_is_still_referenced() -> None:
    import subprocess
    import sys

    code = ("from lanecam.devices.cameras.pylon import PylonCamera\n"
            "cam = PylonCamera('0815-0000'); cam.open(); keep = cam.native; cam.close()\n"
            "other = PylonCamera('0815-0001'); other.open(); other.arm()  # never closed\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                       env={**__import__("os").environ, "PYLON_CAMEMU": "2"})
    assert r.returncode == 0, r.stderr[-500:]

"""The Harvesters backend on viky.cti, the GenTL producer shipped in the genicam wheel."""

from __future__ import annotations

import numpy as np
import pytest

from lanecam.devices.cameras import Trigger, discover
from lanecam.devices.cameras.harvesters import HarvestersCamera, find_producers, viky_cti
from lanecam.errors import ConfigError, DeviceLostError, UnsupportedFeatureError

pytestmark = pytest.mark.emulator


def test_discover_finds_the_three_viky_devices() -> None:
    cams = discover(cti=viky_cti(), backends=["harvesters"])
    assert [(c.vendor, c.model, c.serial) for c in cams] == [
        ("Machine Vision Games Ltd.", "Viky", s) for s in ("0", "1", "2")]
    assert all(c.backend == "harvesters" for c in cams)


def test_discover_lists_both_backends_together() -> None:
    cams = discover(cti=viky_cti())
    assert {c.backend for c in cams} == {"pylon", "harvesters"}


def test_producers_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENICAM_GENTL64_PATH", str(viky_cti().parent))
    assert viky_cti() in find_producers()
    monkeypatch.setenv("GENICAM_GENTL64_PATH", "/nonexistent")
    with pytest.raises(ConfigError) as e:
        find_producers()
    assert e.value.key == "cti"


def test_missing_producer_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError):
        HarvestersCamera("0", cti=tmp_path / "none.cti").open()


def test_grab_n_frames_stop_and_grab_again() -> None:
    with HarvestersCamera("2", cti=viky_cti()) as cam:
        assert cam.profile.name == "viky"
        cam.configure({"pixel_format": "Mono8", "width": 320, "height": 200})
        cam.arm(Trigger.free_run())
        with cam.capture_burst(6, timeout_s=3.0) as burst:
            shapes = {f.array.shape for f in burst}
            numbers = [f.meta.frame_number for f in burst]
            assert all(f.meta.device_ns is None for f in burst)  # viky has no timestamps
            assert all(f.array.std() > 0 for f in burst)  # a rendered scene, not a blank
        assert shapes == {(200, 320)}
        assert numbers == sorted(numbers)
        cam.disarm()
        assert not cam.is_armed
        cam.arm()
        with cam.grab(timeout_s=3.0) as f:
            assert f.array.shape == (200, 320)
        assert cam.counters.frames == 7
        # a missing timestamp is counted (and warned about), not silently dropped
        assert cam.fault_counts["no_device_timestamp"] == 7


def test_viky_rejects_what_it_does_not_have() -> None:
    with HarvestersCamera("1", cti=viky_cti()) as cam:
        for feature in ("exposure_time", "gain", "trigger_source"):
            assert not cam.supports(feature)
        with pytest.raises(UnsupportedFeatureError) as e:
            cam.configure({"exposure_time": 0.001})
        assert "Viky" in str(e.value)
        with pytest.raises(UnsupportedFeatureError):
            cam.arm(Trigger.software())


def test_device_gone_mid_grab_raises_lost_and_reconnect_recovers() -> None:
    with HarvestersCamera("0", cti=viky_cti()) as cam:
        cam.configure({"pixel_format": "Mono8", "width": 256})
        cam.arm()
        with cam.grab(timeout_s=3.0):
            pass
        # the producer loses the device: its GenTL device handle closes under the acquirer
        cam.native.device.module.close()
        with pytest.raises(DeviceLostError):
            cam.grab(timeout_s=1.0)
        assert cam.counters.lost == 1
        cam.reconnect(attempts=3, interval_s=0.1)  # destroy, reset, add file, update, create
        assert cam.counters.reconnects == 1 and cam.is_armed
        with cam.grab(timeout_s=3.0) as f:
            assert f.array.shape[1] == 256 and np.isfinite(f.array.mean())

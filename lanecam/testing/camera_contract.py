"""The camera contract: behaviour every :class:`~lanecam.devices.cameras.Camera` driver must show.

Subclass :class:`CameraContract` in a test module (its name must start with ``Test``) and give
it a ``camera`` fixture that yields an *opened* camera, left in ``Mono8`` where the camera
offers a pixel format; pytest then runs every check below against that driver::

    class TestMyCamera(CameraContract):
        @pytest.fixture
        def camera(self) -> Iterator[Camera]:
            with MyCamera("serial-1") as cam:
                cam.configure({"pixel_format": "Mono8"})
                yield cam

The fixture may also come from a ``conftest.py`` (parametrised over backends, as lanecam's own
suite does).  The checks need a camera that can free-run or take software triggers, lend at
least ``buffer_count`` buffers, and lacks at least one canonical feature (every model does).
"""

from __future__ import annotations

import numpy as np
import pytest

from lanecam.devices.cameras import Camera, Trigger
from lanecam.devices.cameras import CANONICAL_FEATURES, FeatureKind
from lanecam.errors import ConfigError, DeviceError, LimitError, UnsupportedFeatureError
from lanecam.frames import FrameReleasedError

__all__ = ["CameraContract"]


class CameraContract:
    """Driver-independent camera checks; a subclass provides the ``camera`` fixture.

    Not collected by itself (its name does not start with ``Test``).  Timeouts are in seconds.
    """

    def test_identity_and_profile(self, camera: Camera) -> None:
        info = camera.info
        assert info.backend == camera.backend
        assert info.vendor and info.model and info.serial
        assert camera.id == f"{info.backend}:{info.serial}"
        assert camera.profile.match_rank(info.vendor, info.model) > 0

    def test_free_run_frames_carry_metadata(self, camera: Camera) -> None:
        camera.arm(Trigger.free_run())
        numbers = []
        for frame in camera.frames(timeout_s=2.0, count=3):
            with frame:
                a = frame.array
                assert a.ndim == 2 and a.dtype == np.uint8
                assert (frame.meta.height, frame.meta.width) == a.shape
                assert frame.meta.camera_id == camera.id
                assert frame.meta.complete and frame.meta.incomplete_reason is None
                assert frame.meta.host_ns > 0
                numbers.append(frame.meta.frame_number)
        assert numbers == sorted(numbers) and len(set(numbers)) == 3
        assert camera.counters.frames == 3
        assert camera.counters.incomplete == 0

    def test_frame_is_read_only_and_dies_with_its_block(self, camera: Camera) -> None:
        camera.arm()
        with camera.grab(timeout_s=2.0) as frame:
            with pytest.raises(ValueError):
                frame.array[0, 0] = 1
            kept = frame.copy()
        assert frame.released
        with pytest.raises(FrameReleasedError):
            _ = frame.array
        assert kept.flags.writeable and kept.size > 0
        assert "array(" not in repr(frame)  # repr shows geometry, never pixels

    def test_capture_burst_returns_n_frames(self, camera: Camera) -> None:
        trig = Trigger.software() if camera.supports("trigger_software") else Trigger.free_run()
        camera.arm(trig)
        with camera.capture_burst(5, timeout_s=2.0) as burst:
            assert len(burst) == 5 and burst.missing_count == 0
            assert all(not f.released for f in burst)
        assert all(f.released for f in burst)

    def test_long_burst_moves_into_fixed_pool(self, camera: Camera) -> None:
        camera.arm(Trigger.software() if camera.supports("trigger_software") else None)
        n = camera.buffer_count + 4  # more than the driver can lend at once
        with camera.capture_burst(n, timeout_s=2.0) as burst:
            assert len(burst) == n
            assert len({f.meta.frame_number for f in burst}) == n
        assert camera.counters.dropped == 0

    def test_unknown_setting_is_named(self, camera: Camera) -> None:
        with pytest.raises(ConfigError) as e:
            camera.configure({"exposure_tme": 0.001})
        assert e.value.key == "exposure_tme"

    def test_enum_outside_live_entries_is_rejected(self, camera: Camera) -> None:
        with pytest.raises(LimitError) as e:
            camera.configure({"pixel_format": "NotAFormat"})
        assert e.value.key == "pixel_format" and "Mono8" in str(e.value.allowed)

    def test_width_outside_live_limits_is_rejected_not_clamped(self, camera: Camera) -> None:
        lim = camera.limits("width")
        before = camera.get("width")
        with pytest.raises(LimitError) as e:
            camera.configure({"width": int(lim.max) + 1})
        assert e.value.key == "width"
        assert camera.get("width") == before

    def test_feature_the_model_lacks_names_the_model(self, camera: Camera) -> None:
        lacking = [k for k, (kind, _) in CANONICAL_FEATURES.items()
                   if kind != FeatureKind.COMMAND and not camera.supports(k)]
        assert lacking, "every model lacks something (no camera has every canonical feature)"
        name = lacking[0]
        kind = CANONICAL_FEATURES[name][0]
        value = {FeatureKind.FLOAT: 1.0, FeatureKind.INT: 1, FeatureKind.BOOL: True}.get(kind, "x")
        with pytest.raises(UnsupportedFeatureError) as e:
            camera.configure({name: value})
        assert camera.info.model in str(e.value) and e.value.feature == name
        if not camera.supports("burst_frame_count"):
            with pytest.raises(UnsupportedFeatureError):
                camera.arm(Trigger.software(burst_frames=4))

    def test_grab_needs_arm_and_close_is_idempotent(self, camera: Camera) -> None:
        with pytest.raises(DeviceError):
            camera.grab(0.1)
        camera.arm()
        camera.close()
        camera.close()
        assert not camera.is_open and not camera.is_armed

    def test_reconnect_restores_settings_and_trigger(self, camera: Camera) -> None:
        lim = camera.limits("width")
        width = int(lim.min + ((lim.max - lim.min) // 2) // (lim.inc or 1) * (lim.inc or 1))
        camera.configure({"width": width})
        camera.arm()
        camera.reconnect(attempts=3, interval_s=0.1)
        assert camera.is_armed and camera.counters.reconnects == 1
        assert camera.get("width") == width
        with camera.grab(timeout_s=2.0) as f:
            assert f.meta.width == width

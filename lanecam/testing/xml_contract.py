"""The camera contract for cameras without pixels: :class:`CameraContract` on an XmlCamera.

Subclass :class:`XmlCameraContract` with a ``camera`` fixture yielding an *opened*
:class:`~lanecam.testing.xml_camera.XmlCamera` (left in ``Mono8`` where the XML offers it)::

    class TestMyXml(XmlCameraContract):
        @pytest.fixture
        def camera(self) -> Iterator[XmlCamera]:
            with XmlCamera("my-camera.xml", vendor="Basler", model="acA1300-60gm") as cam:
                cam.configure({"pixel_format": "Mono8"})
                yield cam

The contract checks that need frames are replaced by the same checks without frames (arm,
reconnect) or skipped (bursts, frame buffers); the XML-specific checks below make the camera
layer write what a lane writes (exposure, gain, the strobe line, burst and action triggers),
each checked by GenApi on the vendor's XML, and read it back.  A check whose feature the
profile or the XML lacks asserts the typed refusal instead.
"""

from __future__ import annotations

import math

import pytest

from lanecam.devices.cameras import Trigger, TriggerKind
from lanecam.errors import DeviceError, LimitError, UnsupportedFeatureError

from .camera_contract import CameraContract
from .xml_camera import XmlCamera

__all__ = ["XmlCameraContract"]

_NO_PIXELS = "an XML camera streams no pixels"


def _mid(cam: XmlCamera, name: str) -> float:
    """A value inside the live range (a log-law gain's range starts at -inf dB at raw 0)."""
    lim = cam.limits(name)
    assert lim.min is not None and lim.max is not None
    lo = lim.min if math.isfinite(lim.min) else lim.max - 2.0
    hi = min(lim.max, lo + 1.0) if name == "gain" else lim.max
    return lo + (hi - lo) / 2


class XmlCameraContract(CameraContract):
    """:class:`CameraContract` for :class:`XmlCamera`; a subclass provides ``camera``."""

    # ---------------------------------------------------------- the contract, without pixels
    def test_free_run_frames_carry_metadata(self, camera: XmlCamera) -> None:
        camera.arm(Trigger.free_run())
        with pytest.raises(UnsupportedFeatureError) as e:
            camera.grab(0.1)
        assert e.value.feature == "stream"
        assert camera.counters.frames == 0

    def test_frame_is_read_only_and_dies_with_its_block(self, camera: XmlCamera) -> None:
        pytest.skip(_NO_PIXELS)

    def test_capture_burst_returns_n_frames(self, camera: XmlCamera) -> None:
        pytest.skip(_NO_PIXELS)

    def test_long_burst_moves_into_fixed_pool(self, camera: XmlCamera) -> None:
        pytest.skip(_NO_PIXELS)

    def test_reconnect_restores_settings_and_trigger(self, camera: XmlCamera) -> None:
        lim = camera.limits("width")
        inc = int(lim.inc or 1)
        width = int(lim.min + ((min(lim.max, 4096) - lim.min) // 2) // inc * inc)
        camera.configure({"width": width})
        camera.arm()
        camera.reconnect(attempts=3, interval_s=0.0)
        assert camera.is_armed and camera.counters.reconnects == 1
        assert camera.get("width") == width

    # ---------------------------------------------------------- what a lane writes
    def test_exposure_round_trips_in_seconds(self, camera: XmlCamera) -> None:
        value = _mid(camera, "exposure_time")
        got = camera.configure({"exposure_time": value})["exposure_time"]
        inc = camera.limits("exposure_time").inc or 0.0
        # a float over a raw register (ExposureTimeRaw × time base) rounds: 1e-3 is 0.5 raw
        # steps of a 2 ms exposure at a 1 µs base, and the value read back is what counts
        assert math.isclose(got, value, rel_tol=1e-3, abs_tol=inc + 1e-9)
        lim = camera.limits("exposure_time")
        with pytest.raises(LimitError):
            camera.configure({"exposure_time": lim.max * 2 + 1.0})
        assert math.isclose(camera.get("exposure_time"), got, rel_tol=1e-9)

    def test_gain_in_db_with_the_selector_on_all(self, camera: XmlCamera) -> None:
        if not camera.profile.feature("gain"):
            with pytest.raises(UnsupportedFeatureError) as e:
                camera.configure({"gain": 1.0})
            assert e.value.feature == "gain" and camera.info.model in str(e.value)
            return
        value = _mid(camera, "gain")
        camera.node_writes.clear()
        got = camera.configure({"gain": value})["gain"]
        step = camera.limits("gain").inc
        assert abs(got - value) <= (step or 0.5) + 1e-9  # raw gain nodes quantise
        nodes = [n for n, _ in camera.node_writes]
        if camera.supports("gain_selector"):
            selector = camera.profile.features["gain_selector"].node
            assert nodes.index(selector) < nodes.index(camera.profile.features["gain"].node)

    def test_strobe_line_outputs_exposure_active(self, camera: XmlCamera) -> None:
        if not (camera.profile.feature("line_selector") and camera.profile.feature("line_source")):
            with pytest.raises(UnsupportedFeatureError):  # AVT-like: names the model
                camera.configure({"line_selector": "Line1", "line_source": "ExposureActive"})
            return
        for line in camera.limits("line_selector").values:
            settings: dict[str, object] = {"line_selector": line,
                                           "line_source": "ExposureActive"}
            if camera.supports("line_mode"):
                settings = {"line_selector": line, "line_mode": "Output",
                            "line_source": "ExposureActive"}
            try:
                camera.configure(settings)
            except LimitError:  # an input-only line: GenApi offers it no Output / source
                continue
            assert camera.get("line_source") == "ExposureActive"
            return
        pytest.fail("no line takes ExposureActive")

    def test_burst_trigger_or_a_typed_refusal(self, camera: XmlCamera) -> None:
        if not camera.supports("burst_frame_count"):
            with pytest.raises(UnsupportedFeatureError):
                camera.arm(Trigger.software(burst_frames=4))
            return
        camera.arm(Trigger.software(burst_frames=4))
        assert camera.get("trigger_selector") == "burst"
        assert camera.get("trigger_mode") == "On" and camera.get("trigger_source") == "Software"
        assert camera.get("burst_frame_count") == 4
        camera.trigger()  # TriggerSoftware executes through GenApi

    def test_action_trigger_uses_the_source_the_camera_offers(self, camera: XmlCamera) -> None:
        try:
            camera.arm(Trigger.action())
        except UnsupportedFeatureError as exc:  # no action keys, or no ActionN source
            assert exc.feature in ("action_device_key", "action_group_key",
                                   "action_group_mask", "trigger_source", "trigger_mode")
            return
        source = camera.get("trigger_source")
        offered = camera.limits("trigger_source").values
        assert source.startswith("Action") and source in offered
        assert source == "Action1" or "Action1" not in offered
        assert camera.trigger_mode is not None
        assert camera.trigger_mode.kind is TriggerKind.ACTION

    def test_streaming_locks_what_the_xml_locks(self, camera: XmlCamera) -> None:
        camera.arm(Trigger.software())
        assert camera.streaming
        try:
            camera.configure({"width": int(camera.get("width"))})
        except DeviceError as exc:  # the XML locks Width on TLParamsLocked
            assert exc.feature == "width"
        camera.disarm()
        assert not camera.streaming
        camera.configure({"width": int(camera.get("width"))})  # unlocked again

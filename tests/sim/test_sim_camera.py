"""SimCamera beyond the shared contract: simulated time, triggers, polarizer, faults, truth."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from sim_helpers import SCALE, simple_world

from lanecam.clock import ManualClock
from lanecam.devices.cameras import Trigger, TriggerKind
from lanecam.errors import ConfigError, DeviceError, DeviceLostError, DeviceTimeoutError, LimitError
from lanecam.frames import IlluminationState
from lanecam.sim import SimCamera, SimFaults, Sun, World


def make(world: World | None = None, **kw: object) -> SimCamera:
    return SimCamera(world or simple_world(), scale=SCALE, clock=ManualClock(),
                     epoch_ns=0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def cam() -> Iterator[SimCamera]:
    with make() as c:
        c.configure({"exposure_time": 300e-6, "gain": 6.0})
        yield c


def test_software_trigger_renders_the_world_at_trigger_time(cam: SimCamera) -> None:
    clock = cam.clock
    assert isinstance(clock, ManualClock)
    cam.arm(Trigger(TriggerKind.SOFTWARE, "Software", delay_s=0.002))
    clock.advance(0.5)
    cam.trigger()
    with cam.grab(1.0) as f:
        truth = cam.ground_truth(f.meta.frame_number)
        assert f.meta.device_ns == 502_000_000  # trigger + delay, on the camera's clock
        assert truth.time_s == pytest.approx(0.502)
        assert f.meta.exposure_s == pytest.approx(300e-6) and f.meta.gain_db == 6.0
        # delivered after exposure + readout (full height: 1/75 s, also at render scale ¼)
        assert clock.now_ns() == 502_000_000 + 300_000 + round(1e9 / 75)
        speed = cam.world.vehicles[0].kinematics.speed_mps
        assert truth.vehicles[0].range_m == pytest.approx(16.0 - speed * (0.502 + 150e-6))
    with pytest.raises(LookupError):
        cam.ground_truth(99)


def test_no_trigger_no_frame_and_the_wait_is_simulated(cam: SimCamera) -> None:
    cam.arm(Trigger.software())
    t0 = cam.clock.now_ns()
    with pytest.raises(DeviceTimeoutError):
        cam.grab(0.25)
    assert cam.clock.now_ns() - t0 == 250_000_000
    assert cam.counters.timeouts == 1


def test_burst_frames_follow_the_frame_rate(cam: SimCamera) -> None:
    cam.configure({"frame_rate_enable": True, "frame_rate": 50.0})
    cam.arm(Trigger.software(burst_frames=4))
    with cam.capture_burst(4) as burst:
        starts = [f.meta.device_ns for f in burst]
    assert np.diff(starts).tolist() == [20_000_000] * 3
    cam.disarm()
    assert cam.limits("frame_rate").max == pytest.approx(75.0)  # readout-limited
    cam.configure({"height": cam.get("height") // 4})
    assert cam.limits("frame_rate").max == pytest.approx(300.0)  # ¼ of the rows


def test_hardware_line_trigger(cam: SimCamera) -> None:
    cam.arm(Trigger.hardware("Line1"))
    assert not cam.fire_line("Line2")
    assert cam.fire_line("Line1", at_ns=40_000_000)
    with cam.grab(1.0) as f:
        assert f.meta.device_ns == 40_000_000


def test_roi_is_locked_while_streaming_and_limits_follow_each_other(cam: SimCamera) -> None:
    w = cam.limits("width").max
    cam.configure({"width": 256})
    cam.configure({"offset_x": 64})
    assert cam.limits("offset_x").max == w - 256
    assert cam.limits("width").max == w - 64
    with pytest.raises(LimitError):
        cam.configure({"offset_x": int(w - 256 + 8)})
    cam.arm()
    with pytest.raises(DeviceError):
        cam.configure({"width": 128})
    with cam.grab(1.0) as f:
        assert f.array.shape == (cam.get("height"), 256)


def test_mono12_and_window_match_a_full_render(cam: SimCamera) -> None:
    cam.configure({"pixel_format": "Mono12", "width": 200, "height": 100})
    cam.configure({"offset_x": 40, "offset_y": 20})
    cam.arm(Trigger.software())
    cam.trigger()
    with cam.grab(1.0) as f:
        part = f.copy()
        tr = cam.ground_truth(f.meta.frame_number)
    assert part.dtype == np.uint16 and part.max() <= 4095 and part.shape == (100, 200)
    assert tr.time_s >= 0


def test_rotatable_polarizer_uses_the_cameras_angle() -> None:
    with make(simple_world(polarizer="rotatable")) as c:
        c.arm(Trigger.software())
        c.trigger()
        with pytest.raises(ConfigError) as e:
            c.grab(1.0)
        assert e.value.key == "polarizer_deg"
        c.polarizer_deg = 90.0
        c.trigger()
        with c.grab(1.0) as f:
            assert f.meta.polarizer_deg == 90.0
            assert c.ground_truth(f.meta.frame_number).polarizer_deg == 90.0


def test_mosaic_camera_uses_its_profile_layout() -> None:
    with make(simple_world(polarizer="mosaic")) as c:
        assert c.info.model == "SimCameraPolarized"
        assert c.profile.name == "lanecam-sim-polarized"
        assert c.profile.polarization_layout == ((135, 0), (90, 45))
        c.arm()
        with c.grab(1.0) as f:
            assert f.array.ndim == 2


def test_illumination_state_is_rendered() -> None:
    night = make(simple_world(sun=Sun(-10.0, 0.0)))
    with night:
        night.configure({"exposure_time": 500e-6, "gain": 12.0})
        night.arm(Trigger.software())
        night.trigger()
        with night.grab(1.0) as f:
            dark = float(f.array.mean())
        night.illumination = IlluminationState("strobe", 400e-6, 1.0)
        night.trigger()
        with night.grab(1.0) as f:
            lit = float(f.array.mean())
            assert f.meta.illumination.mode == "strobe"
        night.illumination = IlluminationState("unknown")
        night.trigger()
        with pytest.raises(ConfigError):
            night.grab(1.0)
    assert lit > dark + 0.5


def test_forced_failed_buffers_and_drops_are_counted() -> None:
    with make(faults=SimFaults(drop=0.3, incomplete=0.2)) as c:
        c.arm()
        c.execute("failed_buffer")
        frames = []
        for f in c.frames(timeout_s=1.0, count=40):
            with f:
                frames.append((f.meta.frame_number, f.meta.complete, f.meta.skipped_before))
        assert frames[0][1] is False  # the forced one
        numbers = [n for n, _, _ in frames]
        gaps = numbers[0] - 1 + sum(b - a - 1 for a, b in itertools.pairwise(numbers))
        assert gaps == sum(s for _, _, s in frames) == c.counters.dropped > 0
        assert 1 < c.counters.incomplete < 20


def test_same_seed_same_frames() -> None:
    def grab_bytes() -> bytes:
        with make() as c:
            c.arm(Trigger.software())
            c.trigger()
            with c.grab(1.0) as f:
                return f.array.tobytes()

    assert grab_bytes() == grab_bytes()


def test_device_removal_and_reconnect(cam: SimCamera) -> None:
    cam.arm()
    cam.execute("device_removal")
    with pytest.raises(DeviceLostError):
        cam.grab(0.5)
    assert cam.counters.lost == 1
    cam.reconnect(attempts=2, interval_s=0.01)
    with cam.grab(1.0) as f:
        assert f.meta.complete

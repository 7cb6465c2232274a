"""SimCamera producing frames in the background, like a real camera: a worker renders each frame
once it is read out on the camera's clock; settings latch at the trigger; the same world, seed
and trigger times give the same frames as the lazy path (ManualClock) and as rendering the
Shot directly; errors reach the grab; stopping discards what is pending."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sim_helpers import SCALE, simple_world

from lanecam.clock import MONOTONIC, ManualClock, MonotonicClock
from lanecam.devices.cameras import Trigger
from lanecam.frames import Frame
from lanecam.errors import ConfigError, DeviceError, DeviceLostError, DeviceTimeoutError
from lanecam.frames import IlluminationState
from lanecam.sim import SimCamera, SimFaults, World
from lanecam.sim.render import Shot
from lanecam.sim.image_sensor import splitmix64

READOUT_NS = round(1e9 / 75)  # full-height readout, also at render scale ¼
LIMIT_S = 60.0  # bound on waits for the worker (a hung test fails instead of hanging)


def realtime(world: World | None = None, **kw: Any) -> SimCamera:
    """A camera on the monotonic clock (background production), world t = 0 now."""
    return SimCamera(world or simple_world(), scale=SCALE, clock=MONOTONIC,
                     epoch_ns=MONOTONIC.now_ns(), **kw)


def make(background: bool, world: World | None = None, **kw: Any) -> SimCamera:
    if background:
        return realtime(world, **kw)
    return SimCamera(world or simple_world(), scale=SCALE, clock=ManualClock(), epoch_ns=0, **kw)


def wait_for(cond: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + LIMIT_S
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.002)


def workers(cam: SimCamera) -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name == f"SimCamera-{cam.serial}" and t.is_alive()]


def direct(cam: SimCamera, frame_number: int, device_ns: int, exposure_s: float, gain_db: float,
           **kw: Any) -> np.ndarray:
    """The frame rendered straight from its Shot: start, settings, the frame's noise seed."""
    seed = int(splitmix64(np.uint64((cam.seed ^ (frame_number << 20)) & 0xFFFFFFFFFFFFFFFF)))
    shot = Shot(t_s=(device_ns - cam.epoch_ns) / 1e9, exposure_s=exposure_s, gain_db=gain_db,
                seed=seed, **kw)
    return cam.renderer.render(shot)[0]


def count_renders(cam: SimCamera) -> list[int]:
    """Record the noise seed of every frame the camera renders (one per frame id)."""
    seeds: list[int] = []
    orig = cam.renderer.render

    def render(shot: Shot, out: np.ndarray | None = None) -> Any:
        seeds.append(shot.seed)
        return orig(shot, out=out)

    cam.renderer.render = render  # type: ignore[method-assign]
    return seeds


# ------------------------------------------------------------------ which path


def test_the_monotonic_clock_gets_a_worker_and_a_manual_clock_stays_lazy() -> None:
    with realtime() as cam:
        assert cam.background
        assert not workers(cam)  # only while acquiring
        cam.arm(Trigger.software())
        assert len(workers(cam)) == 1
        cam.disarm()
        assert not workers(cam)
    lazy = make(False)
    with lazy:
        assert not lazy.background
        lazy.arm()
        assert not workers(lazy)
    with pytest.raises(ConfigError) as e:
        SimCamera(simple_world(), scale=SCALE, clock=ManualClock(), background=True)
    assert e.value.key == "background"


# ------------------------------------------------------------------ determinism


def test_background_frames_equal_the_lazy_path_and_direct_renders() -> None:
    """The same world, seed and trigger times (hardware edges at set clock times) give the same
    frame ids, drops, incomplete frames and pixels in real time as on simulated time."""
    t0 = MONOTONIC.now_ns()
    epoch = t0 - 200_000_000
    edges = [t0 + 150_000_000 + k * 30_000_000 for k in range(10)]
    faults = SimFaults(drop=0.25, incomplete=0.25)

    def run(cam: SimCamera) -> list[tuple[int, int | None, bool, int, np.ndarray]]:
        got = []
        with cam:
            cam.configure({"exposure_time": 400e-6, "gain": 6.0})
            cam.arm(Trigger.hardware("Line1"))
            cam.execute("failed_buffer")
            for e in edges:
                assert cam.fire_line("Line1", at_ns=e)
            while True:
                try:
                    f = cam.grab(0.5)
                except DeviceTimeoutError:
                    break
                with f:
                    got.append((f.meta.frame_number, f.meta.device_ns, f.meta.complete,
                                f.meta.skipped_before, f.copy()))
        return got

    bg_cam = SimCamera(simple_world(), scale=SCALE, clock=MONOTONIC, epoch_ns=epoch,
                       faults=faults)
    lazy_cam = SimCamera(simple_world(), scale=SCALE, clock=ManualClock(t0), epoch_ns=epoch,
                         faults=faults)
    assert bg_cam.background and not lazy_cam.background
    bg, lazy = run(bg_cam), run(lazy_cam)
    assert [g[:4] for g in bg] == [g[:4] for g in lazy]
    assert all(np.array_equal(a[4], b[4]) for a, b in zip(bg, lazy, strict=True))
    # the faults were exercised: a forced failed buffer, simulated drops
    assert not bg[0][2] and sum(g[3] for g in bg) > 0 and len(bg) + sum(g[3] for g in bg) == 10
    assert [g[1] for g in bg] == [e for e in edges if any(g[1] == e for g in bg)]
    for number, device_ns, complete, _, pixels in bg:
        assert device_ns is not None
        ref = direct(bg_cam, number, device_ns, 400e-6, 6.0)
        if not complete:  # the lost packets' rows are zero, the rest is the frame
            half = ref.shape[0] // 2
            assert np.array_equal(pixels[:half], ref[:half]) and not pixels[half:].any()
        else:
            assert np.array_equal(pixels, ref)


# ------------------------------------------------------------------ the camera's own timeline


def test_frames_are_produced_without_a_grab_once_read_out() -> None:
    calls: list[tuple[int, int, int]] = []

    def lamp(start_ns: int, exposure_ns: int) -> IlluminationState:
        calls.append((start_ns, exposure_ns, MONOTONIC.now_ns()))
        return IlluminationState("off")

    with realtime(illumination_source=lamp) as cam:
        cam.configure({"exposure_time": 500e-6, "gain": 3.0})
        cam.arm(Trigger.software(burst_frames=3))
        cam.trigger()
        wait_for(lambda: cam.frames_waiting == 3, "the burst to be produced")
        assert cam.counters.frames == 0  # nobody has grabbed
        truths = [cam.ground_truth(n) for n in (1, 2, 3)]  # produced before any grab
        assert [s for s, _, _ in calls] == [round(t.time_s * 1e9) + cam.epoch_ns
                                            for t in truths]
        for start, exposure_ns, at in calls:  # each rendered after its own readout
            assert exposure_ns == 500_000 and at >= start + exposure_ns + READOUT_NS
        frames = [cam.grab(0.0) for _ in range(3)]  # ready: no wait needed
        try:
            assert [f.meta.frame_number for f in frames] == [1, 2, 3]
            assert [f.meta.device_ns for f in frames] == [s for s, _, _ in calls]
            assert len(calls) == 3 and cam.frames_waiting == 0
        finally:
            for f in frames:
                f.release()


def test_a_burst_is_rendered_once_per_frame_in_order() -> None:
    with realtime() as cam:
        seeds = count_renders(cam)
        cam.configure({"frame_rate_enable": True, "frame_rate": 50.0})
        cam.arm(Trigger.software(burst_frames=4))
        with cam.capture_burst(8) as burst:
            numbers = [f.meta.frame_number for f in burst]
            starts = [f.meta.device_ns for f in burst]
        assert numbers == list(range(1, 9))
        assert np.diff(starts[:4]).tolist() == [20_000_000] * 3
        assert len(seeds) == len(set(seeds)) == 8


def test_a_frame_read_out_before_the_deadline_is_waited_for() -> None:
    """The grab timeout is the camera's: a frame read out in time is delivered even when its
    rendering ends after the deadline (as on the lazy path)."""
    with realtime() as cam:
        orig = cam.renderer.render

        def slow(shot: Shot, out: np.ndarray | None = None) -> Any:
            time.sleep(0.4)
            return orig(shot, out=out)

        cam.renderer.render = slow  # type: ignore[method-assign]
        cam.arm(Trigger.software())
        cam.trigger()
        with cam.grab(0.1) as f:
            assert f.meta.frame_number == 1
        with pytest.raises(DeviceTimeoutError):
            cam.grab(0.05)  # nothing triggered
        assert cam.counters.timeouts == 1


class CountingClock(MonotonicClock):
    def __init__(self) -> None:
        self.calls = 0

    def now_ns(self) -> int:
        self.calls += 1
        return super().now_ns()


def test_a_waiting_worker_does_not_spin() -> None:
    clock = CountingClock()
    with SimCamera(simple_world(), scale=SCALE, clock=clock, epoch_ns=0) as cam:
        assert cam.background
        cam.arm(Trigger.hardware("Line1"))
        assert cam.fire_line("Line1", at_ns=clock.now_ns() + 600 * 10**9)  # ten minutes ahead
        time.sleep(0.05)
        before = clock.calls
        time.sleep(0.3)
        assert clock.calls - before <= 5  # it sleeps until the frame is due (or a change)


# ------------------------------------------------------------------ latching


@pytest.mark.parametrize("background", [False, True], ids=["lazy", "background"])
def test_settings_latch_at_the_trigger(background: bool) -> None:
    with make(background, simple_world(polarizer="rotatable")) as cam:
        cam.configure({"exposure_time": 300e-6, "gain": 6.0})
        cam.polarizer_deg = 30.0
        strobe = IlluminationState("strobe", 200e-6, 1.0)
        cam.illumination = strobe
        cam.arm(Trigger.software())
        cam.trigger()
        # changed after the trigger: the exposure has already started
        cam.configure({"exposure_time": 900e-6, "gain": 12.0})
        cam.polarizer_deg = 120.0
        cam.illumination = IlluminationState("off")
        with cam.grab(1.0) as f:
            number, start, pixels = f.meta.frame_number, f.meta.device_ns, f.copy()
        truth = cam.ground_truth(number)
        assert (truth.exposure_s, truth.gain_db, truth.illumination_mode) == (300e-6, 6.0, "strobe")
        assert truth.polarizer_deg == pytest.approx(30.0)
        assert start is not None
        assert np.array_equal(pixels, direct(cam, number, start, 300e-6, 6.0, polarizer_deg=30.0,
                                             illumination=strobe))
        cam.trigger()  # the next trigger takes the new settings
        with cam.grab(1.0) as f:
            truth = cam.ground_truth(f.meta.frame_number)
        assert (truth.exposure_s, truth.gain_db, truth.illumination_mode) == (900e-6, 12.0, "off")
        assert truth.polarizer_deg == pytest.approx(120.0)


@pytest.mark.parametrize("background", [False, True], ids=["lazy", "background"])
def test_sources_latch_at_the_trigger_and_are_asked_about_the_exposure(background: bool) -> None:
    asked: dict[str, list[tuple[int, ...]]] = {"lamp_a": [], "lamp_b": [], "rot_a": [],
                                               "rot_b": []}

    def lamp(name: str) -> Callable[[int, int], IlluminationState]:
        def during(start_ns: int, exposure_ns: int) -> IlluminationState:
            asked[name].append((start_ns, exposure_ns))
            return IlluminationState("off")
        return during

    def rotator(name: str, deg: float) -> Callable[[int], float]:
        def angle(start_ns: int) -> float:
            asked[name].append((start_ns,))
            return deg
        return angle

    with make(background, simple_world(polarizer="rotatable")) as cam:
        cam.configure({"exposure_time": 250e-6})
        cam.illumination_source = lamp("lamp_a")
        cam.polarizer_source = rotator("rot_a", 10.0)
        cam.arm(Trigger.software())
        cam.trigger()
        cam.configure({"exposure_time": 700e-6})
        cam.illumination_source = lamp("lamp_b")
        cam.polarizer_source = rotator("rot_b", 80.0)
        with cam.grab(1.0) as f:
            start = f.meta.device_ns
            assert cam.ground_truth(f.meta.frame_number).polarizer_deg == pytest.approx(10.0)
    assert asked == {"lamp_a": [(start, 250_000)], "lamp_b": [], "rot_a": [(start,)],
                     "rot_b": []}


# ------------------------------------------------------------------ errors and buffers


@pytest.mark.parametrize("background", [False, True], ids=["lazy", "background"])
def test_production_errors_reach_the_grab_typed_and_counted(background: bool) -> None:
    boom = RuntimeError("lamp controller crashed")

    def broken(start_ns: int, exposure_ns: int) -> IlluminationState:
        raise boom

    with make(background, simple_world(polarizer="rotatable"), buffer_count=2) as cam:
        cam.arm(Trigger.software())
        cam.trigger()  # no analyzer angle: this frame cannot be rendered
        with pytest.raises(ConfigError) as e:
            cam.grab(1.0)
        assert e.value.key == "polarizer_deg"
        cam.polarizer_deg = 45.0
        cam.illumination_source = broken
        cam.trigger()
        with pytest.raises(DeviceError) as d:
            cam.grab(1.0)
        assert d.value.__cause__ is boom
        assert cam.production_errors == 2
        cam.illumination_source = None
        cam.trigger()
        cam.trigger()
        # both buffers came back: two frames can be held at once
        with cam.grab(1.0) as f1, cam.grab(1.0) as f2:
            assert [f1.meta.frame_number, f2.meta.frame_number] == [3, 4]
            assert f2.meta.skipped_before == 0 and f1.meta.complete and f2.meta.complete


def test_a_failed_worker_is_reported_until_rearmed(monkeypatch: pytest.MonkeyPatch) -> None:
    with realtime() as cam:
        def broken(now: int) -> int | None:
            raise RuntimeError("worker bug")

        monkeypatch.setattr(cam, "_claim_due", broken)
        cam.arm(Trigger.software())
        cam.trigger()
        for _ in range(2):  # every grab says so, none times out
            with pytest.raises(DeviceError) as e:
                cam.grab(5.0)
            assert isinstance(e.value.__cause__, RuntimeError)
        assert cam.production_errors == 1 and cam.counters.timeouts == 0
        monkeypatch.undo()
        cam.arm(Trigger.software())
        cam.trigger()
        with cam.grab(5.0) as f:
            assert f.meta.complete


def test_a_frame_due_with_no_free_buffer_is_dropped_and_counted() -> None:
    with realtime(buffer_count=3) as cam:
        cam.arm(Trigger.hardware("Line1"))
        t = MONOTONIC.now_ns()
        for k in range(5):
            assert cam.fire_line("Line1", at_ns=t + k * 20_000_000)
        held: list[Frame] = [cam.grab(5.0) for _ in range(3)]  # every buffer
        # frames 4 and 5 are read out while the host holds every buffer: dropped then,
        # though buffers are free again before they would have been grabbed
        wait_for(lambda: cam.last_frame_number == 5, "frames 4 and 5 to be read out")
        for f in held:
            f.release()
        assert cam.fire_line("Line1")
        with cam.grab(5.0) as f:
            assert (f.meta.frame_number, f.meta.skipped_before) == (6, 2)
        assert cam.counters.dropped == 2 and cam.counters.frames == 4


# ------------------------------------------------------------------ stopping


def test_stopping_discards_pending_triggers_and_renders_nothing_more() -> None:
    with realtime() as cam:
        seeds = count_renders(cam)
        cam.arm(Trigger.hardware("Line1"))
        now = MONOTONIC.now_ns()
        assert cam.fire_line("Line1", at_ns=now)
        assert cam.fire_line("Line1", at_ns=now + 600 * 10**9)  # never exposed
        with cam.grab(5.0) as f:
            assert f.meta.frame_number == 1
        cam.arm(Trigger.hardware("Line1"))  # restart: the pending trigger is gone
        assert len(workers(cam)) == 1
        with pytest.raises(DeviceTimeoutError):
            cam.grab(0.2)
        assert cam.fire_line("Line1")
        with cam.grab(5.0) as f:
            assert f.meta.frame_number == 2
        cam.disarm()
        assert not workers(cam)
        assert len(seeds) == 2 and cam.last_frame_number == 2


def test_frames_not_grabbed_when_stopped_are_discarded() -> None:
    with realtime() as cam:
        cam.arm(Trigger.software(burst_frames=2))
        cam.trigger()
        wait_for(lambda: cam.frames_waiting == 2, "the burst")
        cam.arm(Trigger.software())
        assert cam.frames_waiting == 0
        with pytest.raises(DeviceTimeoutError):
            cam.grab(0.1)
        cam.trigger()
        with cam.grab(5.0) as f:
            assert f.meta.frame_number == 3 and f.meta.skipped_before == 0
    assert not workers(cam)


def test_unplug_stops_the_worker_and_reconnect_restarts_it() -> None:
    with realtime() as cam:
        cam.arm(Trigger.software())
        cam.trigger()
        wait_for(lambda: cam.frames_waiting == 1, "the frame")
        cam.unplug()
        with pytest.raises(DeviceLostError):
            cam.grab(1.0)
        wait_for(lambda: not workers(cam), "the worker to stop")
        cam.reconnect(attempts=2, interval_s=0.01)
        assert len(workers(cam)) == 1
        cam.trigger()
        with cam.grab(5.0) as f:
            assert f.meta.complete and f.meta.frame_number == 2
    assert not workers(cam)

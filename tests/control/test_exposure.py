"""ExposureController on synthetic statistics: a linear plant S = (A + B·b)·t·g stands in for
the camera, so every expectation is computed from the model, not read back from the code."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanecam.control.exposure import (
    CLIP_BACKOFF,
    DEFAULT_TARGET_DN8,
    MAX_STEP_UP,
    ExposureBounds,
    ExposureController,
    ExposureSettings,
    FaceMeasurement,
    FaceMeter,
    PulseBudget,
)
from lanecam.devices.illuminators import EyeSafetyInterlock, PulseSetting, load_illuminator_profile
from lanecam.errors import ConfigError, LimitError
from lanecam.quality.faces import Face
from lanecam.quality.kernels import Roi

PROFILE = load_illuminator_profile("gardasoft-rt")
WIDE = ExposureBounds(1e-5, 2e-3, 0.0, 48.0)


def plant(s: ExposureSettings, scene: float) -> float:
    """Face DN8 of a scene whose face gives ``scene`` DN8 per (s · linear gain), clipped."""
    return min(255.0, scene * s.linear)


def measure(s: ExposureSettings, scene: float) -> list[FaceMeasurement]:
    level = plant(s, scene)
    return [FaceMeasurement(level, 1.0 if level >= 255.0 else 0.0)]


def run_loop(ctrl: ExposureController, s: ExposureSettings, scene: float, frames: int,
             bounds: ExposureBounds = WIDE) -> list[float]:
    levels = []
    for _ in range(frames):
        levels.append(plant(s, scene))
        s = ctrl.update(s, measure(s, scene), bounds)
    return levels


# ------------------------------------------------------------------ step response
@pytest.mark.parametrize("factor", [0.6, 1.9, 0.1])
def test_step_response_reaches_target_and_stays(factor: float) -> None:
    ctrl = ExposureController()
    s = ExposureSettings(5e-4, 6.0)
    scene = factor * DEFAULT_TARGET_DN8 / s.linear  # the face starts at factor × target
    levels = run_loop(ctrl, s, scene, 8)
    assert levels[0] == pytest.approx(factor * DEFAULT_TARGET_DN8)
    # brightening is limited to one stop a frame: frames needed = ceil(log2(1/factor))
    need = max(1, math.ceil(math.log(1 / factor, MAX_STEP_UP))) if factor < 1 else 1
    for lv in levels[need:]:
        assert lv == pytest.approx(DEFAULT_TARGET_DN8, rel=ctrl.tolerance)
    assert max(levels[1:]) <= DEFAULT_TARGET_DN8 * (1 + ctrl.tolerance)  # no overshoot


def test_clipped_face_steps_down_at_least_a_stop_until_unclipped() -> None:
    ctrl = ExposureController()
    s = ExposureSettings(1e-3, 20.0)
    scene = 40 * DEFAULT_TARGET_DN8 / s.linear  # 40× too bright: reads 255, clipped
    levels = run_loop(ctrl, s, scene, 10)
    assert levels[0] == 255.0
    assert levels[1] <= 255.0 and plant(s, scene) == 255.0
    # each clipped frame halves t·g at least
    lin = [s.linear]
    for _ in range(3):
        s = ctrl.update(s, measure(s, scene), WIDE)
        lin.append(s.linear)
    for a, b in zip(lin, lin[1:]):
        assert b <= a * CLIP_BACKOFF * (1 + 1e-9)
    assert levels[-1] == pytest.approx(DEFAULT_TARGET_DN8, rel=ctrl.tolerance)


def test_brightest_face_is_metered_so_it_does_not_clip() -> None:
    ctrl = ExposureController()
    s = ExposureSettings(5e-4, 6.0)
    out = ctrl.update(s, [FaceMeasurement(40.0), FaceMeasurement(220.0)], WIDE)
    assert out.linear == pytest.approx(s.linear * DEFAULT_TARGET_DN8 / 220.0)


def test_no_measurement_keeps_t_g_apart_from_the_feed_forward() -> None:
    ctrl = ExposureController()
    s = ExposureSettings(5e-4, 6.0)
    assert ctrl.update(s, [], WIDE).linear == pytest.approx(s.linear)
    assert ctrl.update(s, [], WIDE, light_change=1.44).linear == pytest.approx(s.linear / 1.44)
    with pytest.raises(LimitError):
        ctrl.update(s, [], WIDE, light_change=0.0)


def test_settled_only_at_target_and_unclipped() -> None:
    ctrl = ExposureController(tolerance=0.1)
    assert ctrl.settled([FaceMeasurement(DEFAULT_TARGET_DN8 * 1.05)])
    assert not ctrl.settled([FaceMeasurement(DEFAULT_TARGET_DN8 * 1.3)])
    assert not ctrl.settled([FaceMeasurement(DEFAULT_TARGET_DN8, over_exposed=0.2)])
    assert not ctrl.settled([])


# ------------------------------------------------------------------ saturation and allocation
def test_exposure_first_then_gain_up_to_the_noise_budget() -> None:
    ctrl = ExposureController(max_gain_db=24.0)
    b = ExposureBounds(1e-5, 1e-3, 0.0, 48.0)
    s = ExposureSettings(2e-4, 0.0)
    # 1.8× more light needed: all of it fits in exposure (3.6e-4 ≤ 1e-3), gain stays at 0
    out = ctrl.update(s, [FaceMeasurement(DEFAULT_TARGET_DN8 / 1.8)], b)
    assert out.exposure_s == pytest.approx(3.6e-4) and out.gain_db == pytest.approx(0.0)
    # far too dark: exposure at the bound, gain at the noise budget, reported saturated
    s = ExposureSettings(1e-3, 20.0)
    out = ctrl.update(s, [FaceMeasurement(1.0)], b)
    assert out.exposure_s == pytest.approx(1e-3)
    assert out.gain_db == pytest.approx(min(24.0, 20.0 + 20 * math.log10(MAX_STEP_UP)))
    out = ctrl.update(out, [FaceMeasurement(1.0)], b)
    assert out.gain_db == pytest.approx(24.0) and out.limited_by == "gain"


def test_too_bright_lowers_gain_first_then_exposure_to_the_camera_minimum() -> None:
    ctrl = ExposureController()
    b = ExposureBounds(2e-5, 1e-3, 0.0, 48.0)
    s = ExposureSettings(1e-3, 12.0)
    out = ctrl.update(s, [FaceMeasurement(DEFAULT_TARGET_DN8 * 2)], b)  # half the light
    assert out.exposure_s == pytest.approx(1e-3)
    assert out.gain_db == pytest.approx(12.0 - 20 * math.log10(2))
    for _ in range(12):
        out = ctrl.update(out, [FaceMeasurement(250.0, 0.5)], b)
    assert out.gain_db == 0.0 and out.exposure_s == pytest.approx(2e-5)
    assert out.limited_by == "min_exposure"


# ------------------------------------------------------------------ blur bound
def test_blur_bound_binds_the_exposure_and_gain_makes_up_the_rest() -> None:
    ctrl = ExposureController()
    blur = 3e-4  # the tracked speed allows no longer
    b = ExposureBounds.of((1e-5, 1.0), blur, (0.0, 48.0), 24.0)
    assert b.exposure_max_s == blur and b.gain_max_db == 24.0
    s = ExposureSettings(3e-4, 0.0)
    out = ctrl.update(s, [FaceMeasurement(DEFAULT_TARGET_DN8 / 2)], b)
    assert out.exposure_s == pytest.approx(blur) and out.limited_by == "blur"
    assert out.gain_db == pytest.approx(20 * math.log10(2))
    # a shrinking bound (the vehicle approaches) moves t·g from exposure to gain
    nearer = ExposureBounds.of((1e-5, 1.0), 1.5e-4, (0.0, 48.0), 24.0)
    out2 = ctrl.update(out, [], nearer)
    assert out2.exposure_s == pytest.approx(1.5e-4)
    assert out2.linear == pytest.approx(out.linear)


def test_bounds_refuse_a_blur_bound_below_the_camera_minimum() -> None:
    with pytest.raises(LimitError):
        ExposureBounds.of((1e-4, 1.0), 5e-5, (0.0, 48.0), 24.0)


# ------------------------------------------------------------------ strobe and interlock
def test_pulse_is_aligned_with_the_exposure_and_brightness_is_the_interlock_maximum() -> None:
    budget = PulseBudget(PROFILE, rate_hz=30.0)
    ctrl = ExposureController(pulse=budget)
    b = ExposureBounds(1e-5, 8e-4, 0.0, 48.0)
    first = ctrl.begin(ExposureSettings(4e-4, 20.0, 4e-4, 1.0), b)
    # 8e-4 s ≤ 1 ms: the top overdrive row (9.99×, ≤ 1 ms, duty ≤ 5 %) is allowed
    assert first.brightness == pytest.approx(9.99)
    assert first.pulse_s == pytest.approx(first.exposure_s, abs=1e-6)
    s = ctrl.update(first, [FaceMeasurement(30.0)], b)
    assert s.pulse_s == pytest.approx(s.exposure_s, abs=1e-6)
    assert s.brightness == first.brightness  # the bound did not shrink: brightness stays


def test_a_shrinking_blur_bound_drives_the_lamp_harder_instead_of_the_gain() -> None:
    budget = PulseBudget(PROFILE, rate_hz=30.0)
    ctrl = ExposureController(pulse=budget)
    far = ExposureBounds(1e-5, 4e-3, 0.0, 48.0)  # 4 ms: the 3× overdrive row
    first = ctrl.begin(ExposureSettings(4e-3, 6.0, 4e-3, 1.0), far)
    assert first.brightness == pytest.approx(3.0)
    near = ExposureBounds(1e-5, 8e-4, 0.0, 48.0)  # closer: the blur bound allows 0.8 ms only
    face = [FaceMeasurement(ctrl.target_dn8)]  # at target: only the bound changed
    out = ctrl.update(first, face, near)
    assert out.brightness == pytest.approx(9.99)  # the interlock's maximum for ≤ 1 ms pulses
    budget.setting(out.pulse_s, out.brightness)  # within the interlock
    # the lamp's extra light (half the face's light is the lamp's, ASSUMED) replaces gain
    held = ExposureController()._allocate(first.linear, near, None)
    expected = first.linear / (0.5 + 0.5 * 9.99 / 3.0)
    assert out.linear == pytest.approx(expected, rel=1e-3)
    assert out.gain_db < held.gain_db - 3.0
    # and never lower: a longer bound later keeps the brightness, the pulse shrinks instead
    again = ctrl.update(out, face, far)
    assert again.brightness == out.brightness and again.pulse_s <= 1e-3


def test_pulse_width_clipped_by_the_interlock() -> None:
    budget = PulseBudget(PROFILE, rate_hz=30.0)
    ctrl = ExposureController(pulse=budget)
    b = ExposureBounds(1e-5, 5e-3, 0.0, 48.0)  # the blur bound would allow 5 ms
    first = ctrl.begin(ExposureSettings(5e-3, 0.0, 5e-3, 1.0), b)
    # 5 ms pulses: the 5× row allows ≤ 2 ms, the 3× row ≤ 10 ms → 3.0× at most
    assert first.brightness == pytest.approx(3.0)
    # ask for far more light at 9.99×: pulses of more than 1 ms are refused there
    s = ExposureSettings(1e-3, 0.0, 1e-3, 9.99)
    out = ctrl.update(s, [FaceMeasurement(10.0)], b)
    assert out.exposure_s == pytest.approx(1e-3) and out.limited_by in ("interlock", "gain")
    budget.setting(out.pulse_s, out.brightness)  # within the interlock
    with pytest.raises(LimitError):
        budget.setting(out.pulse_s + 1e-6, 9.99)


def test_max_brightness_is_the_largest_whole_percent_the_interlock_allows() -> None:
    budget = PulseBudget(PROFILE, rate_hz=30.0)
    lock = EyeSafetyInterlock(PROFILE)
    for width in (1e-4, 9e-4, 1.5e-3, 4e-3, 2e-2):
        bmax = budget.max_brightness(width)
        lock.check_pulse(PulseSetting(width, bmax, budget.min_period_s))
        with pytest.raises(LimitError):
            lock.check_pulse(PulseSetting(width, bmax + 0.01, budget.min_period_s))


@settings(max_examples=150, deadline=None)
@given(rate=st.floats(1.0, 200.0), blur=st.floats(2e-5, 5e-2), scene=st.floats(1e-2, 1e7),
       frames=st.integers(1, 8), gain=st.floats(0.0, 40.0))
def test_interlock_never_exceeded_across_scenes(rate: float, blur: float, scene: float,
                                                frames: int, gain: float) -> None:
    budget = PulseBudget(PROFILE, rate_hz=rate)
    ctrl = ExposureController(pulse=budget)
    lock = EyeSafetyInterlock(PROFILE)
    bounds = ExposureBounds.of((1e-5, 1.0), blur, (0.0, 48.0), 24.0)
    try:
        s = ctrl.begin(ExposureSettings(min(blur, 1e-3), gain, 1e-3, 1.0), bounds)
    except LimitError:
        return  # the interlock refuses every brightness at this rate: no light at all
    for _ in range(frames):
        assert s.pulse_s is not None and s.brightness is not None
        lock.check_pulse(PulseSetting(s.pulse_s, s.brightness, budget.min_period_s))
        assert s.pulse_s == pytest.approx(s.exposure_s, abs=1e-6)
        assert bounds.exposure_min_s <= s.exposure_s <= bounds.exposure_max_s
        assert 0.0 <= s.gain_db <= 24.0
        s = ctrl.update(s, measure(s, scene), bounds)


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        ExposureController(target_dn8=250.0)
    with pytest.raises(ConfigError):
        ExposureController(step_exponent=0.0)
    with pytest.raises(ConfigError):
        PulseBudget(PROFILE, rate_hz=0.0)
    with pytest.raises(LimitError):
        FaceMeasurement(float("nan"))


# ------------------------------------------------------------------ face meter
class _OneFace:
    """A finder that reports one face box (x, y, w, h) in every ROI it is given; counts calls."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        self.box = box
        self.calls = 0

    def find(self, image: np.ndarray, roi: Roi, *, bit_depth: int | None = None) -> list[Face]:
        self.calls += 1
        return [Face(Roi(*self.box), (), ((0.0, 0.0), (1.0, 0.0)), 1.0, 1.0)]


def test_face_meter_measures_the_face_not_the_roi_and_follows_it_relative_to_the_roi() -> None:
    img = np.full((200, 300), 250, np.uint8)  # a bright (clipping) sky reflection everywhere
    img[60:110, 100:140] = 90  # the face
    finder = _OneFace((100, 60, 40, 50))
    meter = FaceMeter(finder)
    out = meter.measure(img, [(0, (50, 20, 150, 150))])
    assert len(out) == 1 and out[0].mean == pytest.approx(90.0) and out[0].over_exposed == 0.0
    # next frame: the vehicle is nearer, ROI and face both scaled ×1.2 about the ROI's corner
    img2 = np.full((300, 400), 250, np.uint8)
    img2[68:128, 110:158] = 100
    out2 = meter.measure(img2, [(0, (50, 20, 180, 180))])
    assert finder.calls == 1  # not detected again
    assert out2[0].mean == pytest.approx(100.0)
    meter.reset()
    meter.measure(img2, [(0, (50, 20, 180, 180))])
    assert finder.calls == 2


# ------------------------------------------------------------------ bracketing
def test_bracket_only_for_an_uncertain_scene_and_within_limits() -> None:
    ctrl = ExposureController(bracket_max_stops=2)
    s = ExposureSettings(2e-4, 6.0)
    agree = [FaceMeasurement(110.0), FaceMeasurement(100.0)]
    assert ctrl.bracket(s, agree, 2, WIDE) is None  # two faces found, close together
    missing = [FaceMeasurement(110.0)]  # one of two metered seats showed no face
    up = ctrl.bracket(s, missing, 2, WIDE)
    assert up is not None and up.linear == pytest.approx(2.0 * s.linear, rel=1e-6)
    spread = [FaceMeasurement(120.0), FaceMeasurement(30.0)]  # 4×: the dim face wants 2 stops
    up = ctrl.bracket(s, spread, 2, WIDE)
    assert up is not None and up.linear == pytest.approx(4.0 * s.linear, rel=1e-6)
    very = [FaceMeasurement(200.0), FaceMeasurement(10.0)]  # 20×, capped at bracket_max_stops
    assert ctrl.bracket(s, very, 2, WIDE).linear == pytest.approx(4.0 * s.linear, rel=1e-6)
    tight = ExposureBounds(1e-5, 2e-4, 0.0, 6.0)  # already at the blur bound and gain budget
    assert ctrl.bracket(s, missing, 2, tight) is None
    assert ExposureController(bracket_max_stops=0).bracket(s, missing, 2, WIDE) is None

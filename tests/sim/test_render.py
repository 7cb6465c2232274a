"""Renderer: determinism, the sensor model, polarization, illumination and motion blur
measured on rendered frames."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sim_helpers import SCALE, simple_world, with_camera

from lanecam.frames import IlluminationState
from lanecam.sim import CameraPose, Kinematics, Occupant, Renderer, Shot, Sun, Vehicle, World
from lanecam.sim.constants import ADC_BITS, FULL_WELL_E, READ_NOISE_E
from lanecam.sim.optics import blur_px, brewster
from lanecam.sim.image_sensor import expose, normal_table
from lanecam.sim.vehicles import VEHICLE_CLASSES

STROBE = IlluminationState("strobe", 300e-6, 1.0)


def shot(**kw: object) -> Shot:
    base: dict[str, object] = {"t_s": 0.2, "exposure_s": 300e-6, "gain_db": 6.0,
                               "illumination": STROBE, "seed": 11}
    base.update(kw)
    return Shot(**base)  # type: ignore[arg-type]


def test_same_seed_same_bytes_other_seed_other_noise(world: World) -> None:
    a, ta = Renderer(world, scale=SCALE).render(shot())
    b, tb = Renderer(world, scale=SCALE).render(shot())
    assert a.tobytes() == b.tobytes() and ta == tb
    c, _ = Renderer(world, scale=SCALE).render(shot(seed=12))
    assert a.shape == c.shape and a.tobytes() != c.tobytes()
    d, _ = Renderer(replace(world, seed=8), scale=SCALE).render(shot())
    assert d.tobytes() != a.tobytes()  # the world seed moves the clouds


def test_window_is_a_crop_of_the_full_frame(world: World) -> None:
    r = Renderer(world, scale=SCALE)
    full, _ = r.render(shot(bit_depth=12))
    part, _ = r.render(shot(bit_depth=12, window=(40, 26, 200, 120)))
    assert part.dtype == np.uint16 and part.max() <= 4095
    np.testing.assert_array_equal(part, full[26:146, 40:240])


def test_shot_and_read_noise_statistics() -> None:
    h, w = 256, 256
    e_mean = 900.0
    k_e = 1e6
    bg = np.full((h, w), e_mean / k_e, np.float32)  # radiance that gives 900 e⁻ in 1 s
    out = np.empty((h, w), np.uint16)
    g = (2 ** ADC_BITS - 1) / FULL_WELL_E
    none = (np.zeros((1, 1, 2), np.float32),)
    at = np.zeros((1, 2), np.int64)
    expose(bg, 1.0, none, at, k_e, g, FULL_WELL_E,
           READ_NOISE_E ** 2, np.uint64(3), 0, 0, normal_table(), True, 0, out)
    dn = out.astype(np.float64)
    assert dn.mean() == pytest.approx(e_mean * g, rel=0.01)
    assert dn.var() == pytest.approx((e_mean + READ_NOISE_E ** 2) * g * g + 1 / 12, rel=0.05)
    # saturation: far above full well every pixel clips at the ADC top
    expose(bg * 100, 1.0, none, at, k_e, g * 2, FULL_WELL_E,
           READ_NOISE_E ** 2, np.uint64(3), 0, 0, normal_table(), True, 0, out)
    assert (out == 4095).all()


def _face_mean(img: np.ndarray, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = (round(v) for v in box)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    hw, hh = max(1, (x1 - x0) // 4), max(1, (y1 - y0) // 4)
    return float(img[cy - hh:cy + hh, cx - hw:cx + hw].mean())


def test_p_pass_polarizer_removes_most_glare() -> None:
    w = simple_world(sun=Sun(14.0, 175.0, "clear", 0.75), polarizer="rotatable")
    w = with_camera(w, height_m=1.3, pitch_deg=1.0)
    r = Renderer(w, scale=SCALE)
    _, s_pass = r.render(shot(polarizer_deg=0.0))  # glare is s = horizontal
    _, p_pass = r.render(shot(polarizer_deg=90.0))
    gs = [f.glare_fraction for f in s_pass.faces]
    gp = [f.glare_fraction for f in p_pass.faces]
    assert all(a > 0.2 for a in gs)
    assert all(b < a / 4 for a, b in zip(gs, gp, strict=True))
    with pytest.raises(ValueError, match="polarizer_deg"):
        r.render(shot())


def test_mosaic_sensor_samples_four_analyzer_angles() -> None:
    w = with_camera(simple_world(sun=Sun(14.0, 175.0, "clear", 0.75), polarizer="mosaic"),
                    height_m=1.3, pitch_deg=1.0)
    r = Renderer(w, scale=0.5)
    img, truth = r.render(shot(noise=False, bit_depth=12))
    x0, y0, x1, y1 = (int(v) for v in truth.vehicles[0].windshield_box)
    cx, cy = (x0 + x1) // 2 // 2 * 2, (y0 + y1) // 2 // 2 * 2
    patch = img[cy - 20:cy + 20, cx - 40:cx + 40].astype(float)
    by_angle = {((135, 0), (90, 45))[r0][c0]: patch[r0::2, c0::2].mean()
                for r0 in (0, 1) for c0 in (0, 1)}
    # glare on the glass is polarized horizontally: 0° passes most, 90° least
    assert by_angle[0] > by_angle[45] > by_angle[90]
    assert by_angle[0] > by_angle[135] > by_angle[90]


def test_solar_control_glass_darkens_faces_not_glare() -> None:
    clear = Renderer(simple_world(), scale=SCALE).render(shot(noise=False))
    coated = Renderer(simple_world(windshield="solar_control"), scale=SCALE).render(
        shot(noise=False))
    for fc, fs in zip(clear[1].faces, coated[1].faces, strict=True):
        assert _face_mean(coated[0], fs.box) < 0.6 * _face_mean(clear[0], fc.box)
        assert fs.glare_fraction > fc.glare_fraction


def test_strobe_energy_scales_with_pulse_width_and_inverse_square_at_night() -> None:
    night = Sun(-20.0, 0.0)

    def face_signal(pulse: float, rng: float) -> float:
        w = simple_world(sun=night, start_range_m=rng)
        img, tr = Renderer(w, scale=0.5).render(
            Shot(0.0, 1e-3, 12.0, illumination=IlluminationState("strobe", pulse, 1.0),
                 noise=False, bit_depth=12))
        return _face_mean(img, tr.faces[0].box)

    assert face_signal(200e-6, 16.0) == pytest.approx(2 * face_signal(100e-6, 16.0), rel=0.03)
    near, far = face_signal(200e-6, 12.0), face_signal(200e-6, 24.0)
    d_near, d_far = (np.linalg.norm(np.array([0.37, 1.13, r + 2.36]) - [1.6, 2.3, 0.0])
                     for r in (12.0, 24.0))
    assert near / far == pytest.approx((d_far / d_near) ** 2, rel=0.25)  # 1/r², beam shape aside
    dark, _ = Renderer(simple_world(sun=night), scale=SCALE).render(
        Shot(0.0, 1e-3, 12.0, illumination=IlluminationState("off"), noise=False))
    assert dark.max() == 0  # nothing but the strobe lights a night scene


def test_motion_blur_length_matches_v_t_f_over_p_z() -> None:
    """A car crossing the view of a camera that looks across the lane: blur along the row."""
    speed, exposure, z = 40 * 0.44704, 2e-3, 12.0
    cam = CameraPose(lateral_m=z, height_m=1.0, pitch_deg=0.0, yaw_deg=-90.0, focal_m=0.05,
                     f_number=4.0, focus_m=z)
    car = Vehicle(VEHICLE_CLASSES["sedan"], Kinematics(-0.5, speed), (Occupant(),))
    world = World((cam,), Sun(50.0, 270.0, "overcast"), (car,), (), seed=1)
    r = Renderer(world, scale=0.5)
    t0 = -exposure / 2  # mid-exposure at t = 0, front bumper 0.5 m past the optical axis
    img, truth = r.render(Shot(t0, exposure, 0.0, noise=False, bit_depth=12))
    parked = replace(car, kinematics=Kinematics(-0.5, 0.0))
    sharp, _ = Renderer(replace(world, vehicles=(parked,)), scale=0.5).render(
        Shot(t0, exposure, 0.0, noise=False, bit_depth=12))
    p = r.pose
    expected = float(blur_px(speed, exposure, p.focal_m, p.pixel_m, z))  # windshield centre
    row = p.project(np.array([[car.vclass.width_m / 2, 0.6, 0.0]]))[0][0, 1]

    def ramp_length(image: np.ndarray) -> float:
        prof = image[round(row), :].astype(float)
        lo, hi = np.median(prof[:20]), np.median(prof[p.width_px // 2 - 10:p.width_px // 2 + 10])
        edge = np.argmax(np.abs(np.diff(prof)))
        seg = prof[max(0, edge - 60):edge + 60]
        f = np.clip((seg - lo) / (hi - lo), 0, 1)
        return 6 * float(np.sum(f * (1 - f)))

    assert ramp_length(sharp) < 1.0
    assert expected > 10
    assert ramp_length(img) == pytest.approx(expected, abs=1.0)
    assert truth.vehicles[0].in_view


def test_truth_blur_scales_with_speed_and_exposure(world: World) -> None:
    r = Renderer(world, scale=SCALE)
    _, a = r.render(shot(exposure_s=200e-6))
    _, b = r.render(shot(exposure_s=400e-6))
    fast = Renderer(simple_world(speed_mps=22.0), scale=SCALE)
    _, c = fast.render(shot(exposure_s=200e-6, t_s=0.1))  # same range as at 0.2 s
    for fa, fb, fc in zip(a.faces, b.faces, c.faces, strict=True):
        assert fb.motion_blur_px == pytest.approx(2 * fa.motion_blur_px, rel=0.02)
        assert fc.motion_blur_px == pytest.approx(2 * fa.motion_blur_px, rel=0.05)


def test_defocus_grows_outside_the_depth_of_field(world: World) -> None:
    near_focus = with_camera(world, focus_m=8.0)
    _, sharp = Renderer(world, scale=SCALE).render(shot())
    _, soft = Renderer(near_focus, scale=SCALE).render(shot())
    assert soft.faces[0].defocus_px > 3 * max(sharp.faces[0].defocus_px, 0.1)


def test_faces_hidden_by_accessories_and_visor_are_reported() -> None:
    occ = (Occupant("driver", "obama", sunglasses=True), Occupant("front_passenger", "biden",
                                                                  hat=True))
    w = simple_world(sun=Sun(28.0, 185.0), occupants=occ, visors=("driver",))
    _, truth = Renderer(w, scale=SCALE).render(shot())
    drv, pas = truth.faces
    assert "sunglasses" in drv.occluders and drv.visibility < 0.97
    assert "visor_shadow" in drv.occluders
    assert "hat" in pas.occluders and pas.visibility < 0.8
    _, plain = Renderer(simple_world(sun=Sun(28.0, 185.0)), scale=SCALE).render(shot())
    assert all(f.occluders == () and f.visibility > 0.99 for f in plain.faces)


def test_glare_is_fully_p_suppressed_at_brewsters_angle() -> None:
    """Camera placed so the driver is seen through the glass at 56.7° incidence: an ideal
    p-pass analyzer leaves no reflection; a real one (ER 100) leaves 1/ER of the s-light."""
    theta_b = brewster()
    base = simple_world(sun=Sun(30.0, 150.0, "clear", 0.6), polarizer="rotatable",
                        occupants=(Occupant("driver", "obama"),))
    g = base.vehicles[0].geometry(0.0)
    face = g.placements[0].face_corners.mean(axis=0)
    n = g.windshield_normal

    def incidence(height: float) -> float:
        cam = np.array([face[0], height, 0.0])
        d = (face - cam) / np.linalg.norm(face - cam)
        return math.acos(abs(float(d @ n)))

    lo, hi = 1.5, 8.0  # incidence falls as the camera rises: bisect for Brewster
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if incidence(mid) > theta_b else (lo, mid)
    height = (lo + hi) / 2
    pitch = math.degrees(math.atan2(height - face[1], face[2]))

    def glare(polarizer_deg: float, er: float) -> float:
        w = with_camera(base, lateral_m=float(face[0]), height_m=height, pitch_deg=pitch,
                        yaw_deg=0.0, extinction_ratio=er)
        _, truth = Renderer(w, scale=SCALE).render(shot(t_s=0.0, polarizer_deg=polarizer_deg))
        return truth.faces[0].glare_radiance

    s_light = glare(0.0, 1e12)
    assert s_light > 0.05
    assert glare(90.0, 1e12) < 1e-3 * s_light
    assert glare(90.0, 100.0) == pytest.approx(s_light / 100.0, rel=0.05)


def test_a_broad_a_pillar_hides_part_of_the_face() -> None:
    _, truth = Renderer(simple_world(a_pillar_m=0.3), scale=SCALE).render(shot())
    drv = truth.faces[0]
    assert "frame" in drv.occluders and 0.3 < drv.visibility < 0.99
    _, plain = Renderer(simple_world(), scale=SCALE).render(shot())
    assert "frame" not in plain.faces[0].occluders


def test_the_sun_mirrored_in_the_windshield_is_a_blinding_glint() -> None:
    base = simple_world()
    g = base.vehicles[0].geometry(0.2)
    face = g.placements[0].face_corners.mean(axis=0)
    cam = base.cameras[0].position
    d = (face - cam) / np.linalg.norm(face - cam)
    n = g.windshield_normal
    r = d - 2 * (d @ n) * n  # the sky direction the camera sees mirrored over the driver
    el, az = math.degrees(math.asin(r[1])), math.degrees(math.atan2(r[0], r[2]))
    _, glint = Renderer(simple_world(sun=Sun(el, az, "clear")), scale=SCALE).render(shot())
    away = Sun(el, az + 180.0 if az < 0 else az - 180.0, "clear")
    _, plain = Renderer(simple_world(sun=away), scale=SCALE).render(shot())
    assert glint.faces[0].glare_radiance > 20 * plain.faces[0].glare_radiance
    assert glint.faces[0].glare_fraction > 0.9

"""Optics against the formulas and the tables of physics_quality.md (PQ)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lanecam.sim import optics
from lanecam.sim.constants import SOLAR_BANDS
from lanecam.sim.sky import Sky
from lanecam.sim.world import Sun


def test_normal_incidence_reflectance_is_0_0426() -> None:
    assert optics.normal_reflectance() == pytest.approx(0.0426, abs=5e-5)
    rs, rp = optics.fresnel(0.0)
    assert rs == pytest.approx(0.0426, abs=5e-5) and rp == pytest.approx(rs)
    assert optics.slab(rs) == pytest.approx(0.082, abs=5e-4)  # PQ §1.1 table, θi = 0


@pytest.mark.parametrize("deg, rs, rp, rs_slab, rp_slab", [
    (30, 0.0612, 0.0271, 0.115, 0.053),
    (50, 0.1174, 0.0038, 0.210, 0.0076),
    (60, 0.1834, 0.0015, 0.310, 0.0031),
    (70, 0.3079, 0.0415, 0.471, 0.080),
])
def test_fresnel_matches_reference_table(deg: float, rs: float, rp: float, rs_slab: float,
                                         rp_slab: float) -> None:
    s, p, ts, tp = optics.windshield_rt(math.radians(deg))
    one_s, one_p = optics.fresnel(math.radians(deg))
    assert (one_s, one_p) == pytest.approx((rs, rp), abs=6e-5)
    assert (s, p) == pytest.approx((rs_slab, rp_slab), abs=6e-4)
    assert ts == pytest.approx(1 - s) and tp > ts  # transmitted light is p-enriched


def test_brewster_reflection_is_fully_s_polarized_and_p_pass_removes_it() -> None:
    theta_b = optics.brewster()
    assert math.degrees(theta_b) == pytest.approx(56.66, abs=0.01)
    rs, rp, _, _ = optics.windshield_rt(theta_b)
    assert rp < 1e-12 < rs
    i, q, u = optics.reflect_stokes(1.0, 0.0, 0.0, rs, rp)  # unpolarized sky light
    assert math.hypot(q, u) / i == pytest.approx(1.0, abs=1e-9)  # DoLP 1, along s (Q > 0)
    # analyzer passing p (90° from s): an ideal one leaves nothing, ER = 300 leaves 1/300
    assert optics.analyzer(i, q, u, math.pi / 2, 1e12) == pytest.approx(0.0, abs=1e-12)
    assert optics.analyzer(i, q, u, math.pi / 2, 300.0) == pytest.approx(i / 300.0, rel=1e-9)
    assert optics.analyzer(i, q, u, 0.0, 300.0) == pytest.approx(i, rel=1e-9)


@pytest.mark.parametrize("deg, er, suppression", [(50, 100, 22.6), (60, 300, 77), (45, 1000, 10.4)])
def test_glare_suppression_matches_reference(deg: float, er: float, suppression: float) -> None:
    rs, rp, _, _ = optics.windshield_rt(math.radians(deg))
    i, q, u = optics.reflect_stokes(1.0, 0.0, 0.0, rs, rp)
    after = optics.analyzer(i, q, u, math.pi / 2, er)
    assert i / after == pytest.approx(suppression, rel=0.02)  # PQ §1.4 table


def test_measured_dolp_is_scaled_by_extinction_ratio() -> None:
    er, dolp = 100.0, 0.6
    angles = np.radians([0, 45, 90, 135])
    i0, i45, i90, i135 = optics.analyzer(1.0, dolp, 0.0, angles, er)
    s0, s1, s2 = (i0 + i45 + i90 + i135) / 2, i0 - i90, i45 - i135
    measured = math.hypot(s1, s2) / s0
    assert measured == pytest.approx(dolp * (er - 1) / (er + 1), rel=1e-9)  # PQ §1.5


def test_sky_polarization_peaks_90_degrees_from_the_sun() -> None:
    assert optics.sky_dop(math.pi / 2) == pytest.approx(0.8)
    assert optics.sky_dop(0.0) == pytest.approx(0.0)
    assert optics.sky_dop(math.radians(60)) < optics.sky_dop(math.radians(90))


def test_depth_of_field_matches_reference_table() -> None:
    near, far = optics.depth_of_field(0.05, 4.0, 6.9e-6, 15.0)
    assert (near, far) == pytest.approx((12.9, 18.0), abs=0.06)  # PQ §3.3
    near, far = optics.depth_of_field(0.075, 2.8, 3.45e-6, 20.0)
    assert (near, far) == pytest.approx((19.3, 20.7), abs=0.06)
    # the blur circle at the DOF limits is the circle of confusion
    assert optics.coc_diameter(0.05, 4.0, 15.0, near := optics.depth_of_field(
        0.05, 4.0, 6.9e-6, 15.0)[0]) == pytest.approx(6.9e-6, rel=0.01)
    assert optics.coc_diameter(0.05, 4.0, 15.0, 15.0) == 0.0
    assert near < 15.0


def test_blur_formula_matches_reference_exposure_table() -> None:
    # PQ §3.2: 1 px at 40 mph, 50 mm, 15 m needs 58 µs
    assert optics.blur_px(40 * 0.44704, 58e-6, 0.05, 3.45e-6, 15.0) == pytest.approx(1.0, abs=0.01)


def test_point_source_falls_off_with_the_square_of_distance() -> None:
    e10, e20 = optics.point_irradiance(1000.0, [10.0, 20.0])
    assert e10 == pytest.approx(10.0) and e10 / e20 == pytest.approx(4.0)


@pytest.mark.parametrize("band", sorted(SOLAR_BANDS))
def test_sun_in_band_is_astm_g173(band: str) -> None:
    _, _, glob, direct = SOLAR_BANDS[band]
    sky = Sky(Sun(60.0, 0.0, "clear"), band, 0)
    assert sky.e_direct == direct and sky.e_diffuse == pytest.approx(glob - direct)
    assert Sky(Sun(-5.0, 0.0), band, 0).ground_irradiance == 0.0
    assert Sky(Sun(60.0, 0.0, "overcast"), band, 0).e_direct == 0.0


def test_940_band_has_a_third_of_the_850_sun() -> None:
    ratio = SOLAR_BANDS["850nm_10"][2] / SOLAR_BANDS["940nm_10"][2]
    assert ratio == pytest.approx(3.1, abs=0.1)  # PQ §2.2: "~3× less in-band sunlight"


def test_camera_equation_electrons() -> None:
    k = optics.electrons_per_radiance_second(4.0, 3.45e-6, 850e-9, 0.3, 0.85)
    # π/(4·16) · 0.85 · (3.45 µm)² · λ/(hc) · QE
    expected = math.pi / 64 * 0.85 * 3.45e-6 ** 2 * 850e-9 / (6.62607015e-34 * 299792458) * 0.3
    assert k == pytest.approx(expected, rel=1e-12)

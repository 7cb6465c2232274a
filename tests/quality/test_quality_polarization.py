"""Stokes kernel vs numpy on mosaics of every layout; Malus fit on synthetic polarizer sweeps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from quality_helpers import QUALITY_SETTINGS, gray

from lanecam.errors import ConfigError, LimitError
from lanecam.quality.polarization import (
    LAYOUT_90_45_135_0,
    LAYOUT_SFNC,
    StokesImages,
    fit_malus,
    stokes,
    validate_layout,
)

ALL_LAYOUTS = [((p[0], p[1]), (p[2], p[3])) for p in itertools.permutations((0, 45, 90, 135))]


def ref_stokes(raw: np.ndarray, layout) -> dict[str, np.ndarray]:
    """Plain numpy: slice the four analyzer planes, float64 throughout."""
    h, w = raw.shape[0] // 2 * 2, raw.shape[1] // 2 * 2
    planes = {layout[dy][dx]: raw[dy:h:2, dx:w:2].astype(np.float64)
              for dy in range(2) for dx in range(2)}
    s0 = (planes[0] + planes[45] + planes[90] + planes[135]) / 2
    s1 = planes[0] - planes[90]
    s2 = planes[45] - planes[135]
    p = np.hypot(s1, s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dolp = np.where(s0 > 0, np.minimum(p / s0, 1.0), 0.0)
    return {"s0": s0, "s1": s1, "s2": s2, "dolp": dolp, "aolp": 0.5 * np.arctan2(s2, s1),
            "i_min": np.maximum((s0 - p) / 2, 0), "i_max": (s0 + p) / 2}


def assert_stokes_match(raw, layout):
    got = stokes(raw, layout)
    ref = ref_stokes(raw, layout)
    scale = max(float(raw.max()), 1.0)
    for name, want in ref.items():
        have = getattr(got, name)
        assert have.dtype == np.float32 and have.shape == want.shape, name
        if name == "aolp":
            # ±π/2 are the same angle; compare on the doubled-angle circle
            d = np.angle(np.exp(2j * (have.astype(np.float64) - want))) / 2
            np.testing.assert_allclose(d, 0, atol=2e-6, err_msg=name)
        else:
            atol = 2e-6 if name == "dolp" else 2e-6 * scale
            np.testing.assert_allclose(have, want, rtol=1e-6, atol=atol, err_msg=name)
    return got


def mosaic(s0, dolp, aolp, layout, gain=1.0):
    """Render a DoFP mosaic of ideal analyzers: I(θ) = ½(S0 + S1 cos2θ + S2 sin2θ)."""
    h, w = s0.shape
    out = np.zeros((2 * h, 2 * w))
    for dy in range(2):
        for dx in range(2):
            t = np.deg2rad(layout[dy][dx])
            out[dy::2, dx::2] = 0.5 * s0 * (1 + dolp * np.cos(2 * (t - aolp)))
    return gain * out


@pytest.mark.parametrize("layout", [LAYOUT_SFNC, LAYOUT_90_45_135_0])
def test_real_photo_mosaic_matches_numpy(layout):
    raw = gray("obama.jpg")
    assert_stokes_match(raw, layout)
    assert_stokes_match((raw.astype(np.uint16) << 4), layout)


def test_random_frames_all_layouts(rng):
    raw8 = rng.integers(0, 256, (64, 90), dtype=np.uint8)
    raw16 = rng.integers(0, 4096, (33, 47)).astype(np.uint16)  # odd: last row/col ignored
    for layout in ALL_LAYOUTS:
        assert_stokes_match(raw8, layout)
        assert_stokes_match(raw16, layout)


@pytest.mark.parametrize("layout", [LAYOUT_SFNC, LAYOUT_90_45_135_0, ((0, 45), (135, 90))])
def test_recovers_known_polarization(layout, rng):
    """A scene with known S0, DoLP, AoLP round-trips through the mosaic, in every layout."""
    s0 = rng.uniform(50, 200, (40, 60))
    dolp = rng.uniform(0, 1, s0.shape)
    aolp = rng.uniform(-np.pi / 2, np.pi / 2, s0.shape)
    raw = np.round(mosaic(s0, dolp, aolp, layout) * 64).astype(np.uint16)  # 14-bit-ish scale
    got = stokes(raw, layout)
    np.testing.assert_allclose(got.s0 / 64, s0, atol=0.02)
    np.testing.assert_allclose(got.dolp, dolp, atol=0.01)
    d = np.angle(np.exp(2j * (got.aolp - aolp))) / 2
    assert np.abs(d[dolp > 0.1]).max() < 0.01
    # I_min removes exactly the polarized part: ½·S0·(1 − DoLP)
    np.testing.assert_allclose(got.i_min / 64, 0.5 * s0 * (1 - dolp), atol=0.02)
    np.testing.assert_allclose(got.i_max / 64, 0.5 * s0 * (1 + dolp), atol=0.02)


def test_wrong_layout_gives_wrong_angles(rng):
    """The layout matters: decoding an SFNC mosaic as 90/45/135/0 rotates AoLP."""
    s0 = np.full((8, 8), 100.0)
    raw = np.round(mosaic(s0, np.full_like(s0, 0.8), np.full_like(s0, 0.3), LAYOUT_SFNC)
                   ).astype(np.uint8)
    good = stokes(raw, LAYOUT_SFNC).aolp
    bad = stokes(raw, LAYOUT_90_45_135_0).aolp
    # rows swapped: S1 and S2 trade places, so AoLP reads π/4 − 0.3
    assert np.abs(good - 0.3).max() < 0.02 and np.abs(bad - (np.pi / 4 - 0.3)).max() < 0.02


def test_out_reuse_and_errors():
    raw = np.zeros((6, 8), np.uint8)
    out = StokesImages.empty(raw.shape)
    assert stokes(raw, LAYOUT_SFNC, out=out) is out
    with pytest.raises(LimitError):
        stokes(raw, LAYOUT_SFNC, out=StokesImages.empty((8, 8)))
    with pytest.raises(LimitError):
        stokes(np.zeros((1, 8), np.uint8), LAYOUT_SFNC)
    with pytest.raises(LimitError):
        stokes(np.zeros((4, 4), np.float32), LAYOUT_SFNC)
    for bad in [((0, 0), (90, 45)), ((0, 45, 90, 135),), ((0, 45), (90, 30)), "nonsense"]:
        with pytest.raises(ConfigError):
            validate_layout(bad)
    assert validate_layout([[135, 0], [90, 45]]).tolist() == [[0, 1], [1, 1], [1, 0], [0, 0]]


@st.composite
def mosaics(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    hi = 255 if dtype == np.uint8 else 65535
    shape = (draw(st.integers(2, 21)), draw(st.integers(2, 21)))
    raw = draw(hnp.arrays(dtype, shape, elements=st.integers(0, hi)))
    if draw(st.booleans()):  # a strided, non-contiguous view (the 'A'-layout path)
        raw = raw[::-1, ::-1]
    return raw, draw(st.sampled_from(ALL_LAYOUTS))


@QUALITY_SETTINGS
@given(mosaics())
def test_property_matches_numpy(case):
    raw, layout = case
    got = assert_stokes_match(raw, layout)
    assert (got.dolp >= 0).all() and (got.dolp <= 1).all()
    assert (got.aolp >= -np.pi / 2 - 1e-6).all() and (got.aolp <= np.pi / 2 + 1e-6).all()
    assert (got.i_min <= got.i_max).all()


# --- Malus' law -------------------------------------------------------------------------------

def polarizer_sweep(angles, glare_deg, rng, shape=(120, 160)):
    """A face behind glare polarized at ``glare_deg``, seen through a rotating polarizer."""
    face = gray("alex-lacamoire.png")[: shape[0], : shape[1]].astype(np.float64) * 0.5
    frames = []
    for a in angles:
        glare = 80 * np.cos(np.deg2rad(a - glare_deg)) ** 2  # Malus: full transmission at glare_deg
        img = face + glare + rng.normal(0, 1.0, shape)
        frames.append(np.clip(img, 0, 255).round().astype(np.uint8))
    return frames


@pytest.mark.parametrize("glare_deg", [0.0, 33.0, 90.0, 151.0])
@pytest.mark.parametrize("angles", [(0, 60, 120), (0, 45, 90, 135), (10, 40, 75, 100, 170)])
def test_malus_finds_the_reflection_minimum(glare_deg, angles, rng):
    frames = polarizer_sweep(angles, glare_deg, rng)
    fit = fit_malus(frames, angles, (20, 10, 100, 90))
    best = (glare_deg + 90) % 180
    assert abs((fit.best_angle_deg - best + 90) % 180 - 90) < 1.5
    assert abs((fit.worst_angle_deg - glare_deg + 90) % 180 - 90) < 1.5
    assert fit.i_max - fit.i_min == pytest.approx(80, rel=0.03)
    assert 0 <= fit.best_angle_deg < 180 and fit.rms_residual < 2


def test_malus_errors(rng):
    frames = polarizer_sweep((0, 60, 120), 10, rng)
    with pytest.raises(LimitError):
        fit_malus(frames[:2], (0, 60), (0, 0, 10, 10))
    with pytest.raises(LimitError):
        fit_malus(frames, (0, 60, 180), (0, 0, 10, 10))  # 0 and 180 are the same angle
    with pytest.raises(LimitError):
        fit_malus(frames, (0, 60), (0, 0, 10, 10))
    with pytest.raises(LimitError):
        fit_malus(frames, (0, 60, 120), (500, 500, 10, 10))
    with pytest.raises(LimitError):
        fit_malus([frames[0], frames[1], frames[2][:50]], (0, 60, 120), (0, 0, 10, 10))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_malus_matches_numpy_least_squares(dtype, rng):
    """Random frames: the fit equals a plain numpy lstsq on the ROI means."""
    angles = np.array([3.0, 50.0, 95.0, 140.0, 171.0])
    hi = 255 if dtype == np.uint8 else 4095
    frames = [rng.integers(0, hi + 1, (37, 53)).astype(dtype) for _ in angles]
    roi = (-4, 6, 30, 50)  # runs off the top-left and bottom: clipped to x 0..26, y 6..37
    fit = fit_malus(frames, angles, roi)
    means = np.array([f[6:37, 0:26].astype(np.float64).mean() for f in frames])
    t = np.deg2rad(angles)
    design = np.stack([np.ones_like(t), np.cos(2 * t), np.sin(2 * t)], 1)
    (a, b, c), *_ = np.linalg.lstsq(design, means, rcond=None)
    np.testing.assert_allclose([fit.a, fit.b, fit.c], [a, b, c], rtol=1e-9, atol=1e-9)
    grid = np.deg2rad(np.arange(0, 180, 0.01))
    curve = a + b * np.cos(2 * grid) + c * np.sin(2 * grid)
    assert abs((fit.best_angle_deg - np.rad2deg(grid[curve.argmin()]) + 90) % 180 - 90) < 0.02
    assert fit.i_min == pytest.approx(curve.min(), abs=1e-6)
    assert fit.rms_residual == pytest.approx(
        np.sqrt(np.mean((means - design @ np.array([a, b, c])) ** 2)))

"""The fused statistics kernel against plain numpy/OpenCV references (qref.py)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import quality_reference as qref
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from quality_helpers import QUALITY_SETTINGS, gray, photo_names

from lanecam.errors import LimitError
from lanecam.quality.kernels import (
    STATS_DTYPE,
    STATS_FIELDS,
    RegionStats,
    frame_stats,
    region_stats,
    region_stats_many,
)

FLOAT_FIELDS = [name for name, typ, _ in STATS_FIELDS if typ == "f8"]


def assert_matches(image, rois, bit_depth=None, clip=None, rtol=2e-5):
    records, hist = region_stats(image, rois, bit_depth=bit_depth, clip_threshold=clip)
    assert records.dtype == STATS_DTYPE and records.shape == (len(rois),)
    assert hist.shape == (len(rois), 256)
    for i, roi in enumerate(rois):
        ref = qref.region_stats(image, roi, bit_depth, clip)
        np.testing.assert_array_equal(hist[i], ref["hist"], err_msg=f"hist {roi}")
        assert records[i]["n_pixels"] == ref["n_pixels"]
        assert records[i]["n_interior"] == ref["n_interior"]
        for name in FLOAT_FIELDS:
            # float32 row sums in the filters: relative 1e-5, absolute for near-zero values
            atol = 1e-6 * (1 + abs(ref["lap_var_raw"] if name.startswith("lap") else
                                   ref["tenengrad_raw"] if name.startswith("ten") else 0))
            np.testing.assert_allclose(records[i][name], ref[name], rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=f"{name} {roi}")
    return records, hist


@pytest.mark.parametrize("name", photo_names())
def test_real_photos_match_reference(name):
    img = gray(name)
    h, w = img.shape
    rois = [(0, 0, w, h), (w // 4, h // 5, w // 2, h // 2), (-7, -9, 40, 30),
            (w - 20, h - 3, 50, 50), (w // 2, h // 2, 1, 1), (5, 5, 0, 9), (w + 3, 0, 10, 10)]
    assert_matches(img, rois)


def test_random_uint8_and_uint16_match_reference(rng):
    a8 = rng.integers(0, 256, (301, 419), dtype=np.uint8)
    assert_matches(a8, [(0, 0, 419, 301), (13, 7, 200, 101), (400, 290, 50, 50)])
    # widths around the 64-element vector blocks (main loop + re-done, masked last block)
    assert_matches(a8, [(5, 9, w, 17) for w in (64, 65, 66, 67, 127, 128, 129, 130, 131, 195)])
    for depth in (10, 12, 16):
        a16 = rng.integers(0, 1 << depth, (211, 307)).astype(np.uint16)
        assert_matches(a16, [(0, 0, 307, 211), (3, 4, 97, 88)], bit_depth=depth)


def test_mono12_photo_scales_like_mono8():
    """A 12-bit copy of a photo gives the 8-bit statistics (DN8 units), up to quantization."""
    img = gray("obama.jpg")
    roi = [(100, 80, 500, 600)]
    r8, h8 = region_stats(img, roi)
    r12, h12 = region_stats(img.astype(np.uint16) << 4, roi, bit_depth=12)
    np.testing.assert_array_equal(h8, h12)
    for name in ("mean", "std", "under_exposed", "over_exposed", "entropy", "lr_ratio"):
        np.testing.assert_allclose(r12[0][name], r8[0][name], rtol=0.01, err_msg=name)
    np.testing.assert_allclose(r12[0]["tenengrad_raw"], r8[0]["tenengrad_raw"], rtol=0.02)
    assert_matches(img.astype(np.uint16) << 4, roi, bit_depth=12)


def test_clip_threshold_and_glare(rng):
    a = rng.integers(0, 200, (64, 64), dtype=np.uint8)
    a[10:20, 10:20] = 255
    a[30:32, 30:40] = 240
    rec, _ = assert_matches(a, [(0, 0, 64, 64)])
    assert rec[0]["clipped"] == pytest.approx(100 / 4096)
    rec, _ = assert_matches(a, [(0, 0, 64, 64)], clip=240)
    assert rec[0]["clipped"] == pytest.approx(120 / 4096)


def test_noise_estimate_and_bias_correction_on_a_photo(rng):
    """σ is recovered within 10 %, and the corrected sharpness is nearly noise-independent."""
    img = cv2.resize(gray("biden.jpg"), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    # squeeze into [30, 225] so that added noise is not clipped away at black or white
    clean = 30 + 0.76 * cv2.GaussianBlur(img.astype(np.float64), (0, 0), 0.7)
    roi = [(0, 0, img.shape[1], img.shape[0])]
    base, _ = region_stats(np.clip(clean, 0, 255).round().astype(np.uint8), roi)
    for sigma in (2.0, 4.0, 8.0):
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)
        rec, _ = region_stats(noisy, roi)
        assert rec[0]["noise_sigma"] == pytest.approx(sigma, rel=0.1)
        # raw measures grow by ~20σ² / 24σ²; the corrected ones stay within 15 % of clean
        assert rec[0]["lap_var_raw"] > base[0]["lap_var_raw"] + 10 * sigma**2
        assert rec[0]["tenengrad"] == pytest.approx(base[0]["tenengrad"], rel=0.15)


def test_sharpness_falls_with_blur():
    img = gray("lin-manuel-miranda.png").astype(np.float64)
    roi = [(0, 0, img.shape[1], img.shape[0])]
    values = []
    for s in (0.0, 1.0, 2.0, 3.0):
        b = cv2.GaussianBlur(img, (0, 0), s) if s else img
        rec, _ = region_stats(np.clip(b, 0, 255).round().astype(np.uint8), roi)
        values.append((rec[0]["lap_var"], rec[0]["tenengrad"]))
    assert all(a[0] > b[0] and a[1] > b[1] for a, b in itertools.pairwise(values))


def test_uniformity_left_right():
    a = np.full((50, 81), 100, np.uint8)
    a[:, 41:] = 50  # right half darker; the centre column (40) belongs to neither half
    rec, _ = assert_matches(a, [(0, 0, 81, 50)])
    r = rec[0]
    assert (r["mean_left"], r["mean_right"], r["lr_ratio"], r["lr_hist_overlap"]) == (
        100.0, 50.0, 0.5, 0.0)
    b = np.full((50, 81), 100, np.uint8)
    assert region_stats(b, [(0, 0, 81, 50)])[0][0]["lr_hist_overlap"] == 1.0


def test_frame_stats_and_region_stats_many(rng):
    frames = [rng.integers(0, 256, (120, 160), dtype=np.uint8) for _ in range(3)]
    rois = [[(0, 0, 160, 120)], [(10, 10, 50, 40), (150, 110, 30, 30)], []]
    rec, hist, idx = region_stats_many(frames, rois)
    assert idx.tolist() == [0, 1, 1]
    for k, (i, roi) in enumerate([(0, rois[0][0]), (1, rois[1][0]), (1, rois[1][1])]):
        one, h1 = region_stats(frames[i], [roi])
        np.testing.assert_array_equal(hist[k], h1[0])
        np.testing.assert_array_equal(rec[k].tolist(), one[0].tolist())
    fs = frame_stats(frames[0])
    assert isinstance(fs, RegionStats) and fs.n_pixels == 160 * 120
    assert fs.mean == pytest.approx(frames[0].mean())
    # views and mixed layouts go through the typed list too
    views = [frames[0][::2, ::3], frames[1]]
    rec2, _, _ = region_stats_many(views, [[(0, 0, 500, 500)], [(0, 0, 500, 500)]])
    assert rec2[0]["mean"] == pytest.approx(frames[0][::2, ::3].mean())


def test_errors():
    a = np.zeros((10, 10), np.uint8)
    with pytest.raises(LimitError):
        region_stats(a, [(0, 0, -1, 5)])
    with pytest.raises(LimitError):
        region_stats(a.astype(np.float32), [(0, 0, 5, 5)])
    with pytest.raises(LimitError):
        region_stats(np.zeros((2, 10, 10), np.uint8), [(0, 0, 5, 5)])
    with pytest.raises(LimitError):
        region_stats(a, [(0, 0, 5, 5)], bit_depth=12)  # 12 bits in a uint8 frame
    with pytest.raises(LimitError):
        region_stats(a, [(0, 0, 5, 5)], clip_threshold=300)
    b = np.full((10, 10), 4096, np.uint16)  # 13 bits in a frame declared 12-bit
    with pytest.raises(LimitError) as exc:
        region_stats(b, [(0, 0, 5, 5)], bit_depth=12)
    assert "4096" not in str(exc.value)  # counts and limits only, never pixel values
    with pytest.raises(LimitError):
        region_stats_many([a, b], [[], []])


# --- properties -------------------------------------------------------------------------------

@st.composite
def images_and_rois(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    depth = 8 if dtype == np.uint8 else draw(st.sampled_from([10, 12, 16]))
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["random", "constant", "binary"]))
    hi = (1 << depth) - 1
    if kind == "constant":
        img = np.full((h, w), draw(st.integers(0, hi)), dtype)
    else:
        elems = st.integers(0, hi) if kind == "random" else st.sampled_from([0, hi])
        img = draw(hnp.arrays(dtype, (h, w), elements=elems))
    view = draw(st.sampled_from(["c", "fortran", "flipped", "strided"]))
    if view == "fortran":
        img = np.asfortranarray(img)
    elif view == "flipped":
        img = img[::-1, ::-1]
    elif view == "strided":
        img = img[::2, ::-1]
    coord = st.integers(-5, 45)
    size = st.integers(0, 45)
    rois = draw(st.lists(st.tuples(coord, coord, size, size), min_size=1, max_size=4))
    return img, rois, (None if depth == 8 else depth)


@QUALITY_SETTINGS
@given(images_and_rois())
def test_property_matches_reference(case):
    img, rois, depth = case
    rec, _ = assert_matches(img, rois, bit_depth=depth)
    for r in rec:
        if r["n_pixels"] == 0:
            assert np.isnan(r["mean"]) and np.isnan(r["tenengrad"])
            continue
        assert 0 <= r["under_exposed"] <= 1 and 0 <= r["over_exposed"] <= 1
        assert 0 <= r["entropy"] <= 8 and 0 <= r["rms_contrast"] <= 0.5
        if r["n_interior"]:
            assert r["lap_var"] <= r["lap_var_raw"] and r["tenengrad"] <= r["tenengrad_raw"]


@QUALITY_SETTINGS
@given(st.integers(0, 255), st.integers(3, 30), st.integers(3, 30))
def test_property_constant_image(v, h, w):
    rec, hist = region_stats(np.full((h, w), v, np.uint8), [(0, 0, w, h)])
    r = rec[0]
    assert hist[0, v] == h * w and r["entropy"] == 0 and r["std"] == 0
    assert r["noise_sigma"] == 0 and r["lap_var_raw"] == 0 and r["tenengrad_raw"] == 0
    assert r["lr_ratio"] == 1.0 and r["lr_hist_overlap"] == 1.0
    assert r["under_exposed"] == (v <= 25) and r["over_exposed"] == (v >= 247)


def test_warm_up_compiles_both_pixel_types() -> None:
    from lanecam.quality import kernels

    kernels.warm_up()
    dtypes = {str(sig[0].item_type.dtype) for sig in kernels._measure_many.signatures}
    assert {"uint8", "uint16"} <= dtypes  # the first real frame of either type pays no JIT

"""DoFP analysis image: per-ROI DoLP gate between Stokes I_min and one analyzer channel.

Synthetic mosaics are rendered from known Stokes vectors per super-pixel (a face photo as the
unpolarized cabin light, a polarized glare veil over it); the simulator test renders a glare
scenario with a mosaic SimCamera and measures the glare left in the analysis image against
the glare-free render (ground truth, test-only).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import cv2
import numpy as np
import pytest
from quality_helpers import gray

from lanecam.clock import ManualClock
from lanecam.control.polarization import DOLP_GATE, PolarizationController
from lanecam.devices.cameras import Trigger
from lanecam.errors import ConfigError, LimitError
from lanecam.quality.dofp import ANALYZER_ANGLES, AnalysisImage, analysis_image, scale_roi
from lanecam.quality.kernels import Roi
from lanecam.quality.polarization import LAYOUT_90_45_135_0, LAYOUT_SFNC, stokes, validate_layout

LAYOUTS = [LAYOUT_SFNC, LAYOUT_90_45_135_0]
ALL_LAYOUTS = [((p[0], p[1]), (p[2], p[3])) for p in itertools.permutations((0, 45, 90, 135))]

H2, W2 = 120, 160  # super-pixel grid; raw frames are 240 × 320
ROI_A = (20, 40, 100, 160)  # full-sensor (x, y, w, h): super-pixels x 10..60, y 20..100
ROI_B = (180, 40, 120, 160)  # super-pixels x 90..150, y 20..100


# --- synthetic scenes -------------------------------------------------------------------------

def face_plane(scale: float = 8.0) -> np.ndarray:
    """Unpolarized cabin light per super-pixel, as the DN one analyzer channel would read."""
    return cv2.resize(gray("obama.jpg"), (W2, H2), interpolation=cv2.INTER_AREA) * scale


def glare_plane(box: tuple[int, int, int, int], level: float) -> np.ndarray:
    """A uniform veil over a full-sensor box (single-channel DN of its unpolarized equivalent)."""
    g = np.zeros((H2, W2))
    x, y, w, h = box
    g[y // 2:(y + h) // 2, x // 2:(x + w) // 2] = level
    return g


def stokes_of(face: np.ndarray, glare: np.ndarray, dolp: float, angle_deg: float,
              face_dolp: float = 0.0, face_angle_deg: float = 90.0) -> tuple[np.ndarray, ...]:
    """S0, S1, S2 of face + glare: glare at DoLP ``dolp`` and angle ``angle_deg``; the face
    optionally polarized (the glass's p-enriched transmission)."""
    a, b = np.deg2rad(angle_deg), np.deg2rad(face_angle_deg)
    s0 = 2 * (face + glare)
    s1 = 2 * glare * dolp * np.cos(2 * a) + 2 * face * face_dolp * np.cos(2 * b)
    s2 = 2 * glare * dolp * np.sin(2 * a) + 2 * face * face_dolp * np.sin(2 * b)
    return s0, s1, s2


def mosaic(s0, s1, s2, layout, dtype=np.uint16) -> np.ndarray:
    """Ideal analyzers: I(θ) = ½(S0 + S1 cos2θ + S2 sin2θ) at each super-pixel's four sites."""
    out = np.zeros((2 * s0.shape[0], 2 * s0.shape[1]))
    for dy in range(2):
        for dx in range(2):
            t = np.deg2rad(layout[dy][dx])
            out[dy::2, dx::2] = 0.5 * (s0 + s1 * np.cos(2 * t) + s2 * np.sin(2 * t))
    hi = np.iinfo(dtype).max
    assert out.min() >= -0.5 and out.max() <= hi + 0.5
    return np.round(out).astype(dtype)


def channel(raw: np.ndarray, layout, deg: int) -> np.ndarray:
    """One analyzer's samples, super-pixel grid (numpy slicing)."""
    dy, dx = (int(v) for v in validate_layout(layout)[ANALYZER_ANGLES.index(deg)])
    h, w = raw.shape[0] // 2 * 2, raw.shape[1] // 2 * 2
    return raw[dy:h:2, dx:w:2]


def ref_imin(raw: np.ndarray, layout) -> np.ndarray:
    """numpy reference: I_min = max(S0 − √(S1² + S2²), 0) / 2, float64."""
    i = {d: channel(raw, layout, d).astype(np.float64) for d in ANALYZER_ANGLES}
    s0 = (i[0] + i[45] + i[90] + i[135]) / 2
    return np.maximum(s0 - np.hypot(i[0] - i[90], i[45] - i[135]), 0) / 2


def region(img: np.ndarray, r: Roi) -> np.ndarray:
    return img[r.y:r.y + r.height, r.x:r.x + r.width]


def nearest_channel(angle_deg: float) -> int:
    return min(ANALYZER_ANGLES, key=lambda c: abs((c - angle_deg + 90) % 180 - 90))


class Fixed(PolarizationController):
    """A controller that always answers the same (to compare both fills on one frame)."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer

    def choose_channel(self, dolp: float) -> str:  # type: ignore[override]
        return self.answer


# --- DoLP measurement and the gate ------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("dolp", "angle"), [(1.0, 3.0), (0.8, 37.0), (0.5, 118.0), (0.2, 160.0)])
def test_roi_dolp_and_angle_match_the_constructed_scene(layout, dolp, angle):
    face = face_plane()
    glare = glare_plane(ROI_A, 700.0) + glare_plane(ROI_B, 300.0)
    s0, s1, s2 = stokes_of(face, glare, dolp, angle)
    s0b, s1b, s2b = stokes_of(face, glare, 0.0, angle)  # ROI B's veil: unpolarized
    right = np.s_[:, W2 // 2:]
    s1[right], s2[right] = s1b[right], s2b[right]
    raw = mosaic(s0, s1, s2, layout)
    res = analysis_image(raw, layout, [ROI_A, ROI_B], bit_depth=12)
    ra = res.rois_scaled[0]
    want = math.hypot(region(s1, ra).sum(), region(s2, ra).sum()) / region(s0, ra).sum()
    assert res.dolp[0] == pytest.approx(want, abs=1e-3)
    assert abs((res.aolp_deg[0] - angle + 90) % 180 - 90) < 0.2
    assert res.dolp[1] < 2e-3  # unpolarized veil over an unpolarized face
    assert res.choices == (PolarizationController.choose_channel(res.dolp[0]), "single")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_choice_flips_at_the_dolp_gate(layout):
    face = face_plane()
    ra = scale_roi(ROI_A, (2 * H2, 2 * W2))
    f = float(region(face, ra).mean())
    got = {}
    for target in (DOLP_GATE - 0.01, DOLP_GATE + 0.01):
        level = target * f / (1 - target)  # fully polarized veil: DoLP_roi = G / (F + G)
        s0, s1, s2 = stokes_of(face, glare_plane(ROI_A, level), 1.0, 70.0)
        res = analysis_image(mosaic(s0, s1, s2, layout), layout, [ROI_A], bit_depth=12)
        assert res.dolp[0] == pytest.approx(target, abs=2e-3)
        got[target] = res.choices[0]
    assert got == {DOLP_GATE - 0.01: "single", DOLP_GATE + 0.01: "i_min"}


def test_summed_stokes_is_not_fooled_by_noise_and_texture_edges(rng):
    """A dim unpolarized face sampled at full resolution (each analyzer sees its own scene
    point) plus sensor noise: per-pixel DoLP is large, the ROI's summed Stokes vector is not."""
    tex = cv2.resize(gray("alex-lacamoire.png"), (2 * W2, 2 * H2)).astype(np.float64)
    raw = np.clip(tex * 0.25 + 8 + rng.normal(0, 3.0, tex.shape), 0, 255).round().astype(np.uint8)
    res = analysis_image(raw, LAYOUT_SFNC, [ROI_A, ROI_B], bit_depth=8)
    st = res.stokes
    for k, r in enumerate(res.rois_scaled):
        p = np.hypot(region(st.s1, r), region(st.s2, r)).sum()
        weighted_mean = p / region(st.s0, r).sum()
        assert weighted_mean > 0.1  # the biased statistic would call for I_min…
        assert res.dolp[k] < 0.01  # …the summed vector sees no polarization
    assert res.choices == ("single", "single")


def test_the_controller_decides_and_bad_answers_raise():
    face = face_plane()
    s0, s1, s2 = stokes_of(face, glare_plane(ROI_A, 400.0), 1.0, 10.0)  # DoLP ≈ 0.4
    raw = mosaic(s0, s1, s2, LAYOUT_SFNC)
    default = analysis_image(raw, LAYOUT_SFNC, [ROI_A], bit_depth=12)

    class Strict(PolarizationController):
        @staticmethod
        def choose_channel(dolp: float) -> str:
            return "i_min" if dolp >= 0.9 else "single"

    strict = analysis_image(raw, LAYOUT_SFNC, [ROI_A], bit_depth=12, controller=Strict())
    assert default.choices == ("i_min",) and strict.choices == ("single",)
    assert default.dolp == strict.dolp
    with pytest.raises(LimitError) as e:
        analysis_image(raw, LAYOUT_SFNC, [ROI_A], bit_depth=12, controller=Fixed("s0"))
    assert e.value.feature == "controller"


# --- what fills the ROIs ----------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("angle", [20.0, 65.0, 112.0, 161.0])
def test_i_min_removes_polarized_glare_and_matches_numpy(layout, angle):
    face = face_plane()
    s0, s1, s2 = stokes_of(face, glare_plane(ROI_A, 900.0), 1.0, angle)
    raw = mosaic(s0, s1, s2, layout)
    res = analysis_image(raw, layout, [ROI_A], bit_depth=12)
    r = res.rois_scaled[0]
    assert res.choices == ("i_min",)
    got = region(res.image, r).astype(np.float64)
    ref = region(ref_imin(raw, layout), r)
    assert np.abs(got - ref).max() <= 0.5 + 1e-3  # rounded numpy formula
    # the veil is gone: what is left is the face (±1 DN of mosaic quantization)
    assert np.abs(got - region(face, r)).max() <= 1.5
    # the best single channel leaves G·(1 + cos 2(θ − φ)) of a fully polarized veil
    single = analysis_image(raw, layout, [ROI_A], bit_depth=12, controller=Fixed("single"))
    ch = single.channels_deg[0]
    assert ch == nearest_channel(angle + 90)
    off = math.radians(ch - angle)
    left = float((region(single.image, r) - region(face, r)).mean())
    assert left == pytest.approx(900.0 * (1 + math.cos(2 * off)), abs=1.0)
    assert left > 100.0  # so I_min does better than any fixed channel here


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_single_channel_blocks_the_measured_glare_angle(layout):
    face = face_plane()
    angles = {ROI_A: 33.0, ROI_B: 141.0}
    s0 = np.zeros((H2, W2))
    s1, s2 = s0.copy(), s0.copy()
    for box, ang in angles.items():
        a, b, c = stokes_of(face, glare_plane(box, 400.0), 0.4, ang)
        m = glare_plane(box, 1.0) > 0
        s0 = np.where(m, a, s0 if s0.any() else 2 * face)
        s1, s2 = np.where(m, b, s1), np.where(m, c, s2)
    raw = mosaic(s0, s1, s2, layout)
    # DoLP 0.4·G/(F+G) < gate: both ROIs take one channel, each its own
    res = analysis_image(raw, layout, [ROI_A, ROI_B], bit_depth=12)
    assert res.choices == ("single", "single")
    assert res.channels_deg == (nearest_channel(33 + 90), nearest_channel(141 + 90)) == (135, 45)
    for r, ch in zip(res.rois_scaled, res.channels_deg, strict=True):
        np.testing.assert_array_equal(region(res.image, r), region(channel(raw, layout, ch), r))
        for other in ANALYZER_ANGLES:  # it is the darkest of the four over the ROI
            assert region(channel(raw, layout, other), r).mean() >= \
                region(channel(raw, layout, ch), r).mean()
    # outside the ROIs: one channel for the frame, from both ROIs' polarization together
    outside = np.ones((H2, W2), bool)
    for r in res.rois_scaled:
        outside[r.y:r.y + r.height, r.x:r.x + r.width] = False
    bg = channel(raw, layout, res.channel_deg)
    np.testing.assert_array_equal(res.image[outside], bg[outside])
    total = [sum(region(p, r).sum() for r in res.rois_scaled) for p in (s1, s2)]
    glare_both = math.degrees(0.5 * math.atan2(total[1], total[0]))
    assert res.channel_deg == nearest_channel(glare_both + 90)


def test_glare_deg_tells_transmitted_light_from_glare():
    """At night the face's own light is p-polarized by the glass: blocking it darkens the face;
    with the glare's predicted angle the channel passing it is used instead."""
    face = face_plane()
    s0, s1, s2 = stokes_of(face, np.zeros_like(face), 0.0, 0.0, face_dolp=0.17,
                           face_angle_deg=92.0)
    glare = stokes_of(face, glare_plane(ROI_B, 400.0), 0.6, 3.0, face_dolp=0.17,
                      face_angle_deg=92.0)
    right = np.s_[:, W2 // 2:]
    for mine, theirs in zip((s0, s1, s2), glare, strict=True):
        mine[right] = theirs[right]
    raw = mosaic(s0, s1, s2, LAYOUT_SFNC)
    blind = analysis_image(raw, LAYOUT_SFNC, [ROI_A, ROI_B], bit_depth=12,
                           controller=Fixed("single"))
    told = analysis_image(raw, LAYOUT_SFNC, [ROI_A, ROI_B], bit_depth=12, glare_deg=0.0,
                          controller=Fixed("single"))
    assert abs(blind.aolp_deg[0] - 92.0) < 1.0 and blind.dolp[0] == pytest.approx(0.17, abs=2e-3)
    assert blind.channels_deg == (0, 90)  # blocks the face's own light in ROI A
    assert told.channels_deg == (90, 90)  # passes it; still blocks the glare in ROI B
    ra = told.rois_scaled[0]
    assert region(told.image, ra).mean() > 1.3 * region(blind.image, ra).mean()
    with pytest.raises(LimitError):
        analysis_image(raw, LAYOUT_SFNC, [ROI_A], bit_depth=12, glare_deg=math.nan)


def test_overlapping_rois_later_wins():
    face = face_plane()
    s0, s1, s2 = stokes_of(face, glare_plane((0, 0, 2 * W2, 2 * H2), 900.0), 1.0, 20.0)
    raw = mosaic(s0, s1, s2, LAYOUT_SFNC)

    class ByOrder(PolarizationController):
        calls = 0

        def choose_channel(self, dolp: float) -> str:  # type: ignore[override]
            ByOrder.calls += 1
            return "i_min" if ByOrder.calls == 1 else "single"

    a, b = (0, 0, 100, 100), (60, 60, 100, 100)
    res = analysis_image(raw, LAYOUT_SFNC, [a, b], bit_depth=12, controller=ByOrder())
    assert res.choices == ("i_min", "single")
    ch = channel(raw, LAYOUT_SFNC, res.channels_deg[1])
    np.testing.assert_array_equal(res.image[30:80, 30:80], ch[30:80, 30:80])
    assert np.abs(res.image[:30, :30] - ref_imin(raw, LAYOUT_SFNC)[:30, :30]).max() <= 0.5 + 1e-3


# --- geometry: scaled ROIs, None ROIs ---------------------------------------------------------

def test_rois_scaled_cover_every_touched_super_pixel(rng):
    shape = (2 * H2 + 1, 2 * W2 + 1)  # odd: the last row/column is not part of any super-pixel
    for _ in range(400):
        x, y = (int(v) for v in rng.integers(-40, 340, 2))
        w, h = (int(v) for v in rng.integers(0, 120, 2))
        got = scale_roi((x, y, w, h), shape)
        full = np.zeros(shape, bool)
        full[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
        touched = full[:2 * H2, :2 * W2].reshape(H2, 2, W2, 2).any(axis=(1, 3))
        ys, xs = np.nonzero(touched)
        if ys.size == 0:
            assert got.width * got.height == 0, (x, y, w, h, got)
        else:
            assert got == Roi(xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                              ys.max() + 1 - ys.min()), (x, y, w, h)
    assert scale_roi((11, 7, 30, 20), shape) == Roi(5, 3, 16, 11)  # x 11..41 → 5..21
    assert scale_roi((10, 6, 30, 20), shape) == Roi(5, 3, 15, 10)
    with pytest.raises(LimitError):
        scale_roi((0, 0, -1, 5), shape)


def test_none_and_off_frame_rois():
    face = face_plane()
    s0, s1, s2 = stokes_of(face, glare_plane(ROI_A, 900.0), 1.0, 20.0)
    raw = mosaic(s0, s1, s2, LAYOUT_SFNC)
    res = analysis_image(raw, LAYOUT_SFNC, [None, ROI_A, (900, 900, 50, 50), None],
                         bit_depth=12)
    assert res.rois_scaled[0] is None and res.rois_scaled[3] is None
    assert res.rois_scaled[1] == Roi(10, 20, 50, 80)
    assert res.rois_scaled[2].width == 0 and res.choices[2] is None
    assert res.choices == (None, "i_min", None, None)
    assert res.channels_deg[0] is None and math.isnan(res.dolp[0]) and math.isnan(res.dolp[2])
    only = analysis_image(raw, LAYOUT_SFNC, [ROI_A], bit_depth=12)
    np.testing.assert_array_equal(res.image, only.image)
    assert res.channel_deg == only.channel_deg == 90
    # no ROI at all: one channel everywhere, chosen from the whole frame's polarization
    bare = analysis_image(raw, LAYOUT_SFNC, [None], bit_depth=12)
    assert bare.choices == (None,) and bare.channel_deg == nearest_channel(20 + 90)
    np.testing.assert_array_equal(bare.image, channel(raw, LAYOUT_SFNC, bare.channel_deg))
    assert analysis_image(raw, LAYOUT_SFNC, [], bit_depth=12).choices == ()


# --- pixel types, full scale, buffers ---------------------------------------------------------

@pytest.mark.parametrize(("dtype", "bits"), [(np.uint8, 8), (np.uint16, 10), (np.uint16, 12),
                                             (np.uint16, 16)])
def test_dtypes_and_full_scale_never_overflow(dtype, bits, rng):
    top = (1 << bits) - 1
    raw = rng.integers(0, top + 1, (2 * H2, 2 * W2)).astype(dtype)
    raw[:40, :60] = top  # saturated: every analyzer at full scale
    raw[40:80:2, 60:120:2] = top  # one analyzer of each super-pixel saturated, others dark
    raw[41:80:2, 61:120:2] = top
    raw[40:80:2, 61:120:2] = 0
    raw[41:80:2, 60:120:2] = 0
    rois = [(0, 0, 120, 80), (60, 40, 60, 40), (150, 100, 150, 120)]
    both = [analysis_image(raw, LAYOUT_SFNC, rois, bit_depth=bits, controller=Fixed(c))
            for c in ("i_min", "single")]
    for res in both:
        assert res.image.dtype == dtype and res.image.shape == (H2, W2)
        assert res.bit_depth == bits and res.scale == 0.5
        assert int(res.image.max()) <= top
    imin = both[0]
    assert (imin.image[:20, :30] == top).all()  # saturated stays at full scale, no wrap-around
    ref = ref_imin(raw, LAYOUT_SFNC)
    for r in imin.rois_scaled:  # rounded; float32 Stokes carry 24 bits
        assert np.abs(region(imin.image, r) - region(ref, r)).max() <= 0.5 + top * 2e-7
    assert (ref <= top).all()


def test_bit_depth_and_input_errors():
    ok = np.full((8, 8), 1000, np.uint16)
    assert analysis_image(ok, LAYOUT_SFNC, [], bit_depth=10).image.max() == 1000
    with pytest.raises(LimitError) as e:  # Mono12 data declared as 10-bit
        analysis_image(np.full((8, 8), 4000, np.uint16), LAYOUT_SFNC, [], bit_depth=10)
    assert e.value.feature == "bit_depth"
    with pytest.raises(LimitError):
        analysis_image(np.full((8, 8), 4000, np.uint16), LAYOUT_SFNC, [(0, 0, 8, 8)],
                       bit_depth=10, controller=Fixed("i_min"))
    with pytest.raises(LimitError):
        analysis_image(np.zeros((8, 8), np.uint8), LAYOUT_SFNC, [], bit_depth=12)
    with pytest.raises(LimitError):
        analysis_image(np.zeros((8, 8), np.float32), LAYOUT_SFNC, [], bit_depth=12)
    with pytest.raises(LimitError):
        analysis_image(np.zeros((1, 8), np.uint8), LAYOUT_SFNC, [], bit_depth=8)
    with pytest.raises(LimitError):
        analysis_image(np.zeros((8, 8), np.uint8), LAYOUT_SFNC, [(0, 0, -2, 4)], bit_depth=8)
    with pytest.raises(ConfigError):
        analysis_image(np.zeros((8, 8), np.uint8), ((0, 0), (90, 45)), [], bit_depth=8)


def test_out_buffers_are_reused(rng):
    face = face_plane()
    s0, s1, s2 = stokes_of(face, glare_plane(ROI_A, 900.0), 1.0, 20.0)
    raw = mosaic(s0, s1, s2, LAYOUT_SFNC)
    out = AnalysisImage.empty(raw.shape, np.uint16, 12)
    image, plane = out.image, out.stokes.i_min
    res = analysis_image(raw, LAYOUT_SFNC, [ROI_A, None], bit_depth=12, out=out)
    assert res is out and res.image is image and res.stokes.i_min is plane
    fresh = analysis_image(raw, LAYOUT_SFNC, [ROI_A, None], bit_depth=12)
    np.testing.assert_array_equal(res.image, fresh.image)
    assert (res.choices, res.dolp[0], res.channels_deg) == \
        (fresh.choices, fresh.dolp[0], fresh.channels_deg)
    # a second frame through the same buffers; a strided (borrowed) view works too
    again = analysis_image(raw[::-1, ::-1].copy()[::-1, ::-1], LAYOUT_SFNC, [ROI_B],
                           bit_depth=12, out=out)
    assert again is out and again.choices == ("single",) and len(again.dolp) == 1
    np.testing.assert_array_equal(stokes(raw, LAYOUT_SFNC).s0, out.stokes.s0)
    with pytest.raises(LimitError):
        analysis_image(raw, LAYOUT_SFNC, [], bit_depth=12,
                       out=AnalysisImage.empty(raw.shape, np.uint8))
    with pytest.raises(LimitError):
        analysis_image(raw, LAYOUT_SFNC, [], bit_depth=12,
                       out=AnalysisImage.empty((10, 10), np.uint16, 12))


# --- the simulator ----------------------------------------------------------------------------

def _sim_frames(scenario: str, t_s: float) -> tuple:
    """A Mono12 frame of ``scenario`` at ``t_s`` from a mosaic SimCamera, the same frame with
    the windshield reflection switched off (ground truth for the test only), their truth,
    the mosaic layout and the world."""
    from lanecam.sim import SimCamera, load_scenario

    sc = load_scenario(scenario)
    world = replace(sc.world, cameras=(replace(sc.world.cameras[0], polarizer="mosaic"),))
    settings = sc.settings[world.cameras[0].name]
    shots = []
    for glare in (True, False):
        with SimCamera(world, scale=0.5, clock=ManualClock(), epoch_ns=0) as cam:
            if not glare:  # evaluation only: the renderer's reflected-light plane set to 0
                optics = cam.renderer._glass_optics

                def no_glare(*a, _optics=optics, **kw):
                    trans, refl = _optics(*a, **kw)
                    return trans, np.zeros_like(refl)

                cam.renderer._glass_optics = no_glare  # type: ignore[method-assign]
            cam.configure({"exposure_time": settings.exposure_s, "gain": settings.gain_db,
                           "pixel_format": "Mono12"})
            cam.illumination = sc.illumination
            cam.arm(Trigger.software())
            cam.clock.advance(t_s)
            cam.trigger()
            with cam.grab(2.0) as f:
                shots.append((f.array.copy(), cam.ground_truth(f.meta.frame_number)))
            layout = cam.profile.polarization_layout
    (raw, truth), (raw0, truth0) = shots
    assert all(f.glare_fraction > 0.3 for f in truth.faces) or scenario == "night"
    assert all(f.glare_fraction == 0 for f in truth0.faces)  # the switch worked
    return raw, raw0, truth, layout, world


def _face_rois(truth) -> list[tuple[int, int, int, int] | None]:
    return [(int(f.box[0]), int(f.box[1]), int(f.box[2] - f.box[0]), int(f.box[3] - f.box[1]))
            if f.in_view else None for f in truth.faces]


def _centre(r: Roi):
    return np.s_[r.y + r.height // 4:r.y + 3 * r.height // 4,
                 r.x + r.width // 4:r.x + 3 * r.width // 4]


def test_sim_glare_share_drops_in_the_analysis_image():
    raw, raw0, truth, layout, world = _sim_frames("low_sun_facing", 0.5)
    rois = _face_rois(truth)
    assert all(r is not None for r in rois)
    res = analysis_image(raw, layout, rois, bit_depth=12)
    # the windshield mirrors the sky, strongly s-polarized near Brewster: I_min on both faces
    assert res.choices == ("i_min", "i_min") and min(res.dolp) >= DOLP_GATE
    # the measured angle agrees with the controller's geometric prediction (same convention)
    ctl = PolarizationController()
    veh = world.vehicles[0]
    for f, ang in zip(truth.faces, res.aolp_deg, strict=True):
        want = ctl.glare_angle(world.cameras[0], f.distance_m, rake_deg=veh.vclass.rake_deg)
        assert abs((ang - want + 90) % 180 - 90) < 8.0
    assert res.channels_deg == (90, 90)
    # glare left in each image = the image minus its glare-free counterpart.  I_min is an
    # analyzer at each pixel's own blocking angle θ* = AoLP + 90°, so its glare-free part is
    # that analyzer applied to the glare-free Stokes vector (exact: Stokes vectors add).
    clean = stokes(raw0, layout)
    th = res.stokes.aolp.astype(np.float64) + np.pi / 2
    face_part = 0.5 * (clean.s0 + clean.s1 * np.cos(2 * th) + clean.s2 * np.sin(2 * th))
    for r in res.rois_scaled:
        c = _centre(r)
        shown = res.image[c].astype(np.float64).mean()
        share = (shown - face_part[c].mean()) / shown
        singles = {}
        for deg in ANALYZER_ANGLES:
            with_g = channel(raw, layout, deg)[c].astype(np.float64).mean()
            singles[deg] = (with_g - channel(raw0, layout, deg)[c].mean()) / with_g
        s0_g = (res.stokes.s0[c].mean() - clean.s0[c].mean()) / res.stokes.s0[c].mean()
        assert share < 0.1
        assert share < 0.25 * s0_g  # vs the light without an analyzer (a plain camera)
        assert share < 0.25 * min(singles[0], singles[45], singles[135])  # vs other channels
        assert share < singles[90] + 0.02  # as good as the one channel that blocks it here


def test_sim_night_faces_keep_their_light_with_the_glare_angle():
    raw, _, truth, layout, world = _sim_frames("night", 0.5)
    rois = _face_rois(truth)
    blind = analysis_image(raw, layout, rois, bit_depth=12)
    glare = PolarizationController().glare_angle(world.cameras[0], truth.faces[0].distance_m)
    told = analysis_image(raw, layout, rois, bit_depth=12, glare_deg=glare)
    assert blind.choices == told.choices == ("single", "single")  # no glare: below the gate
    assert all(0.05 < d < DOLP_GATE for d in blind.dolp)  # the strobe light, p via the glass
    assert blind.channels_deg == (0, 0) and told.channels_deg == (90, 90)
    for r in told.rois_scaled:
        assert told.image[_centre(r)].mean() > 1.2 * blind.image[_centre(r)].mean()

"""Fused single-pass image-quality statistics over mono frames and ROIs (Numba).

One call reads every pixel of each region once and returns, per region, the exposure, contrast,
noise, sharpness and left/right-uniformity statistics the burst ranker needs (see
:data:`STATS_FIELDS`).  Works on ``uint8`` (Mono8) and ``uint16`` frames (Mono10/12/14/16 in a
16-bit container, LSB-aligned: pass ``bit_depth``), on any strides (crops, flipped or strided
views are read in place, never copied).  :func:`region_stats` measures ROIs of one frame,
:func:`region_stats_many` the ROIs of a whole burst in one parallel call, :func:`frame_stats`
a whole frame.

Units.  Every intensity-valued output is in **DN8**: digital numbers rescaled so that the
sensor's full scale ``2**bit_depth - 1`` maps to 255.  An 8-bit frame's DN8 are its raw values;
a 12-bit frame's DN8 are raw × 255/4095.  Variances are in DN8², fractions in [0, 1], entropy
in bits.  The histogram has 256 bins on the same scale (a ``bit_depth``-bit value ``v`` falls in
bin ``v >> (bit_depth - 8)``), so the OFIQ exposure bins ([0, 25] and [247, 255]) mean the
same thing at every bit depth.

Regions.  A region is ``(x, y, width, height)`` in full-frame pixels (OpenCV rectangle order).
It is intersected with the frame: ROIs running off an edge are measured on their visible part,
and ``n_pixels`` says how much that was.  Filter-based measures (Laplacian, Sobel, noise) use
the region's interior, i.e. pixels whose whole 3×3 neighbourhood lies inside the visible
region; regions narrower or shorter than 3 px have no interior and report NaN for them, and an
empty region reports NaN for everything except its zero counts.

Sharpness and noise.  ``lap_var_raw`` is the variance of the 4-neighbour Laplacian
``[[0,1,0],[1,-4,1],[0,1,0]]``, ``tenengrad_raw`` the mean of ``Gx² + Gy²`` with 3×3 Sobel
kernels (Pertuz LAPV / TENG).  White noise of standard deviation σ inflates them by ``20σ²`` and
``24σ²`` (the kernels' Σk²); ``lap_var`` and ``tenengrad`` subtract that bias, floored at 0.
σ (``noise_sigma``) is estimated robustly from the median absolute response of Immerkær's
noise operator ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` (Σk² = 36): ``σ = median|N∗I| / (6 · 0.67449)``,
the median taken over the interior rows at offsets 1, 9, 17, … from the region's top (a 1-in-8
row sample: ~30 000 samples in a 512² ROI at an eighth of the cost) from a histogram with 1-DN8
bins (bin ``k`` = [k - ½, k + ½), bin 0 counted as exactly 0, the last bin open, so σ saturates
at 253 DN8) and interpolated linearly inside its bin.  The median, unlike Immerkær's mean, is barely
moved by the face's own edges, so sharp frames are not over-corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba import float64 as f64
from numba import prange, types
from numba.typed import List

from ..errors import LimitError
from ..jit import njit
from .pixels import full_scale
from .row_kernels import (  # noqa: F401 - the accumulator layout is shared
    _A_CLIP,
    _A_N,
    _A_N_INT,
    _A_N_NOISE,
    _A_OOR,
    _A_SUM,
    _A_SUM_L,
    _A_SUM_R,
    _A_SUMSQ,
    _F_LAP,
    _F_LAP2,
    _F_TEN,
    _N_ACC,
    _N_FACC,
    _NOISE_BINS,
    _chunk,
)

__all__ = [
    "warm_up",
    "LAPLACIAN_NOISE_GAIN",
    "OVER_EXPOSURE_MIN",
    "STATS_DTYPE",
    "STATS_FIELDS",
    "TENENGRAD_NOISE_GAIN",
    "UNDER_EXPOSURE_MAX",
    "RegionStats",
    "Roi",
    "as_roi_array",
    "frame_stats",
    "region_stats",
    "region_stats_many",
]

UNDER_EXPOSURE_MAX = 25
"""Highest 8-bit histogram bin counted as under-exposed (OFIQ UnderExposurePrevention, [0, 25])."""
OVER_EXPOSURE_MIN = 247
"""Lowest 8-bit histogram bin counted as over-exposed (OFIQ OverExposurePrevention, [247, 255])."""
LAPLACIAN_NOISE_GAIN = 20.0
"""Σk² of the 4-neighbour Laplacian: white noise σ adds ``20σ²`` to its variance."""
TENENGRAD_NOISE_GAIN = 24.0
"""2 × Σk² of a 3×3 Sobel kernel: white noise σ adds ``24σ²`` to mean(Gx² + Gy²)."""

_MAD_TO_SIGMA = 1.0 / (6.0 * 0.6744897501960817)  # N has Σk² = 36 → response σ_r = 6σ
class Roi(NamedTuple):
    """A region in full-frame pixel coordinates: top-left ``(x, y)``, size ``width × height``."""

    x: int
    y: int
    width: int
    height: int


STATS_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("n_pixels", "i8", "visible pixels of the region"),
    ("n_interior", "i8", "pixels with a full 3×3 neighbourhood in the region (filter support)"),
    ("mean", "f8", "mean luminance, DN8"),
    ("std", "f8", "luminance standard deviation (population), DN8"),
    ("rms_contrast", "f8", "RMS contrast = std / 255 (fraction of full scale, 0–0.5)"),
    ("under_exposed", "f8", "fraction of pixels in histogram bins [0, 25]"),
    ("over_exposed", "f8", "fraction of pixels in histogram bins [247, 255]"),
    ("clipped", "f8", "fraction of pixels at or above the clip threshold (glare, specular)"),
    ("entropy", "f8", "Shannon entropy of the 256-bin histogram, bits (dynamic range, 0–8)"),
    ("noise_sigma", "f8", "robust white-noise σ estimate, DN8"),
    ("lap_var_raw", "f8", "variance of the 4-neighbour Laplacian, DN8²"),
    ("lap_var", "f8", "lap_var_raw − 20σ², floored at 0, DN8²"),
    ("tenengrad_raw", "f8", "mean of Sobel Gx² + Gy², DN8²"),
    ("tenengrad", "f8", "tenengrad_raw − 24σ², floored at 0, DN8²"),
    ("mean_left", "f8", "mean luminance of the left half (columns < width // 2), DN8"),
    ("mean_right", "f8", "mean luminance of the right half (last width // 2 columns), DN8"),
    ("lr_ratio", "f8", "min/max of the half means (1 = even illumination); NaN if width < 2"),
    ("lr_hist_overlap", "f8", "Σ min of the halves' normalized histograms (OFIQ 0x43 raw, 0–1)"),
)
"""``(name, numpy type, meaning and unit)`` of every per-region statistic, in record order."""

STATS_DTYPE = np.dtype([(name, typ) for name, typ, _ in STATS_FIELDS])
"""Structured dtype of one :func:`region_stats` record."""

_F = {name: i for i, (name, _, _) in enumerate(STATS_FIELDS)}
_N_OUT = len(STATS_FIELDS)
_HIST_PARTS = 8
(_O_NPIX, _O_NINT, _O_MEAN, _O_STD, _O_RMS, _O_UNDER, _O_OVER, _O_CLIP, _O_ENT, _O_SIGMA,
 _O_LAPR, _O_LAP, _O_TENR, _O_TEN, _O_ML, _O_MR, _O_LR, _O_LRH) = range(_N_OUT)


@dataclass(frozen=True, slots=True)
class RegionStats:
    """Statistics of one region (see :data:`STATS_FIELDS` for meanings and units).

    ``hist`` is the 256-bin luminance histogram (pixel counts, DN8 bins).
    """

    n_pixels: int
    n_interior: int
    mean: float
    std: float
    rms_contrast: float
    under_exposed: float
    over_exposed: float
    clipped: float
    entropy: float
    noise_sigma: float
    lap_var_raw: float
    lap_var: float
    tenengrad_raw: float
    tenengrad: float
    mean_left: float
    mean_right: float
    lr_ratio: float
    lr_hist_overlap: float
    hist: np.ndarray

    @classmethod
    def from_record(cls, record: np.void, hist: np.ndarray) -> RegionStats:
        return cls(*record.tolist(), hist)  # type: ignore[arg-type]  # field order = STATS_FIELDS


def as_roi_array(rois: Iterable[Sequence[int]] | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Clip ``(x, y, w, h)`` regions to a frame of ``shape`` → int64 ``(n, 4)`` of y0, y1, x0, x1.

    Negative sizes are rejected (:class:`LimitError`); regions off the frame become empty.
    """
    arr = np.asarray(rois, dtype=np.int64).reshape(-1, 4)
    return _clip_boxes(arr, np.array(shape[0]), np.array(shape[1]))


def _clip_boxes(arr: np.ndarray, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(n, 4)`` x, y, w, h → y0, y1, x0, x1 clipped to frames of heights ``h``, widths ``w``."""
    if (arr[:, 2:] < 0).any():
        raise LimitError("ROI width and height must be ≥ 0", feature="roi")
    x0 = np.minimum(np.maximum(arr[:, 0], 0), w)
    y0 = np.minimum(np.maximum(arr[:, 1], 0), h)
    x1 = np.maximum(np.minimum(arr[:, 0] + arr[:, 2], w), x0)
    y1 = np.maximum(np.minimum(arr[:, 1] + arr[:, 3], h), y0)
    return np.stack([y0, y1, x0, x1], 1)




@njit(nogil=True, cache=True)
def _grouped_median(h, n):
    """Median of values binned at integer centres, interpolated inside its bin.

    Bin ``k ≥ 1`` spans [k - ½, k + ½); bin 0 is taken as exactly 0 (a constant region has no
    noise, not ¼ DN8 of it).
    """
    target = 0.5 * n
    if h[0] >= target:
        return 0.0
    cum = f64(h[0])
    for k in range(1, h.shape[0]):
        c = h[k]
        if c > 0 and cum + c >= target:
            return (k - 0.5) + (target - cum) / c
        cum += c
    return np.nan


@njit(nogil=True, cache=True)
def _finalize(acc, facc, hist, nhist, y0, y1, x0, x1, scale, out, hout):
    """Turn one region's reduced integer partials into its float record (DN8 units)."""
    for j in range(out.shape[0]):
        out[j] = np.nan
    n = acc[_A_N]
    out[_O_NPIX] = n
    out[_O_NINT] = acc[_A_N_INT]
    full = hist[0] + hist[1] + hist[2]
    for k in range(256):
        hout[k] = full[k]
    if n == 0:
        return
    mean = acc[_A_SUM] / n
    var = max(acc[_A_SUMSQ] / n - mean * mean, 0.0)
    out[_O_MEAN] = mean * scale
    out[_O_STD] = np.sqrt(var) * scale
    out[_O_RMS] = out[_O_STD] / 255.0
    under = 0
    for k in range(UNDER_EXPOSURE_MAX + 1):
        under += full[k]
    over = 0
    for k in range(OVER_EXPOSURE_MIN, 256):
        over += full[k]
    out[_O_UNDER] = under / n
    out[_O_OVER] = over / n
    out[_O_CLIP] = acc[_A_CLIP] / n
    ent = 0.0
    for k in range(256):
        if full[k] > 0:
            p = full[k] / n
            ent -= p * np.log2(p)
    out[_O_ENT] = ent
    half = (x1 - x0) // 2
    if half > 0:
        nh = half * (y1 - y0)
        ml = acc[_A_SUM_L] / nh
        mr = acc[_A_SUM_R] / nh
        out[_O_ML] = ml * scale
        out[_O_MR] = mr * scale
        hi = max(ml, mr)
        out[_O_LR] = 1.0 if hi == 0 else min(ml, mr) / hi
        ov = 0.0
        for k in range(256):
            ov += min(hist[0, k], hist[2, k])
        out[_O_LRH] = ov / nh
    ni = acc[_A_N_INT]
    if ni > 0:
        sigma = _grouped_median(nhist, acc[_A_N_NOISE]) * _MAD_TO_SIGMA
        lm = facc[_F_LAP] / ni
        lap_raw = max(facc[_F_LAP2] / ni - lm * lm, 0.0) * scale * scale
        ten_raw = facc[_F_TEN] / ni * scale * scale
        out[_O_SIGMA] = sigma
        out[_O_LAPR] = lap_raw
        out[_O_LAP] = max(lap_raw - LAPLACIAN_NOISE_GAIN * sigma * sigma, 0.0)
        out[_O_TENR] = ten_raw
        out[_O_TEN] = max(ten_raw - TENENGRAD_NOISE_GAIN * sigma * sigma, 0.0)


@njit(nogil=True, cache=True)
def _sums_from_hist(h3, clip, acc):
    """8-bit regions: exact sums, squares and clip counts from the left/centre/right histograms."""
    for k in range(256):
        n = h3[0, k] + h3[1, k] + h3[2, k]
        acc[_A_SUM] += k * n
        acc[_A_SUMSQ] += k * k * n
        acc[_A_SUM_L] += k * h3[0, k]
        acc[_A_SUM_R] += k * h3[2, k]
        if k >= clip:
            acc[_A_CLIP] += n


@njit(nogil=True, cache=True)
def _item(img, box, r0, r1, shift, vmax, clip, noise_scale, acc, facc, hist, nhist, hp, np4):
    """One work item: accumulate into the thread's interleaved scratch histograms ``hp``,
    ``np4`` (all zero on entry), then fold them into the item's compact ``hist`` (3, 256) and
    ``nhist`` (_NOISE_BINS,) while they are in cache, leaving the scratch zeroed again."""
    _chunk(img, box[1], box[2], box[3], box[4], r0, r1, shift, vmax, clip, noise_scale,
           acc, facc, hp, np4)
    for side in range(3):
        for q in range(_HIST_PARTS):
            for k in range(256):
                hist[side, k] += hp[side, q, k]
                hp[side, q, k] = 0
    for q in range(4):
        for k in range(_NOISE_BINS):
            nhist[k] += np4[q, k]
            np4[q, k] = 0


@njit(nogil=True, cache=True, parallel=True)
def _measure_many(imgs, boxes, work, shift, vmax, clip, noise_scale, acc, facc, hist, nhist,
                  hp, np4):
    """Parallel over (region, row-chunk) work items of a typed list of frames (``boxes[:, 0]``
    picks the frame); partials per item, scratch histograms per thread (``hp``, ``np4``
    indexed by Numba's thread id)."""
    for w in prange(work.shape[0]):
        t = numba.get_thread_id()
        box = boxes[work[w, 0]]
        _item(imgs[box[0]], box, work[w, 1], work[w, 2], shift, vmax, clip, noise_scale,
              acc[w], facc[w], hist[w], nhist[w], hp[t], np4[t])


@njit(nogil=True, cache=True)
def _reduce(boxes, work, acc, facc, hist, nhist, exact, clip, scale, out, hout, oor):
    """Sum the work items of each region and finalize its record (serial: it is tiny)."""
    a = np.empty(_N_ACC, np.int64)
    fa = np.empty(_N_FACC, np.float64)
    h3 = np.empty((3, 256), np.int64)
    nh = np.empty(_NOISE_BINS, np.int64)
    start = 0
    m = work.shape[0]
    for b in range(boxes.shape[0]):
        a[:] = 0
        fa[:] = 0.0
        h3[:] = 0
        nh[:] = 0
        w = start
        while w < m and work[w, 0] == b:
            for k in range(_N_ACC):
                a[k] += acc[w, k]
            for k in range(_N_FACC):
                fa[k] += facc[w, k]
            for side in range(3):
                for k in range(256):
                    h3[side, k] += hist[w, side, k]
            for k in range(_NOISE_BINS):
                nh[k] += nhist[w, k]
            w += 1
        start = w
        if exact:
            _sums_from_hist(h3, clip, a)
        oor[b] = a[_A_OOR]
        _finalize(a, fa, h3, nh, boxes[b, 1], boxes[b, 2], boxes[b, 3], boxes[b, 4], scale,
                  out[b], hout[b])


def _work_items(boxes: np.ndarray) -> np.ndarray:
    """Split every non-empty region into row chunks: int64 ``(m, 3)`` of (region, r0, r1).

    About 4 items per thread over all rows, ≥ 16 rows each; items are in region order.
    """
    heights = np.where(boxes[:, 4] > boxes[:, 3], boxes[:, 2] - boxes[:, 1], 0)
    total = int(heights.sum())
    if total == 0:
        return np.zeros((0, 3), np.int64)
    rows = max(16, -(-total // (4 * numba.get_num_threads())))
    items = [
        (b, r0, min(r0 + rows, y1))
        for b, (y0, y1, h) in enumerate(zip(boxes[:, 1].tolist(), boxes[:, 2].tolist(),
                                            heights.tolist()))
        if h > 0
        for r0 in range(y0, y1, rows)
    ]
    return np.asarray(items, np.int64)


def _run(images: Sequence[np.ndarray], boxes: np.ndarray, depth: int, vmax: int, clip: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Measure ``boxes`` (int64 ``(n, 5)``: image, y0, y1, x0, x1) → records, histograms."""
    n = boxes.shape[0]
    out = np.empty((n, _N_OUT), np.float64)
    hout = np.zeros((n, 256), np.int64)
    oor = np.zeros(n, np.int64)
    work = _work_items(boxes)
    m = work.shape[0]
    acc = np.zeros((m, _N_ACC), np.int64)
    facc = np.zeros((m, _N_FACC), np.float64)
    hist = np.zeros((m, 3, 256), np.int64)
    nhist = np.zeros((m, _NOISE_BINS), np.int64)
    threads = numba.get_num_threads()
    hp = np.zeros((threads, 3, _HIST_PARTS, 256), np.int32)
    np4 = np.zeros((threads, 4, _NOISE_BINS), np.int32)
    scale = 255.0 / vmax
    args = (boxes, work, depth - 8, vmax, clip, scale, acc, facc, hist, nhist, hp, np4)
    if m:
        _measure_many(_typed_list(images), *args)
    _reduce(boxes, work, acc, facc, hist, nhist, images[0].dtype == np.uint8, clip, scale,
            out, hout, oor)
    if oor.any():
        raise LimitError(f"{int(oor.sum())} pixels exceed the declared {depth}-bit full scale",
                         feature="bit_depth", allowed=(0, vmax))
    records = np.empty(n, STATS_DTYPE)
    for name, i in _F.items():
        records[name] = out[:, i]
    return records, hout


def _typed_list(images: Sequence[np.ndarray]) -> List:
    """Frames as a Numba typed list of read-only any-layout arrays.

    One compiled specialization per dtype serves contiguous, strided, writable and borrowed
    frames alike (each specialization costs ~10 s of JIT on a cold cache).  The 'A' layout
    costs nothing measurable: the only loop reading the frame directly is the float32
    conversion into the row ring; the filters run on the ring.
    """
    lst = List.empty_list(types.Array(numba.from_dtype(images[0].dtype), 2, "A",
                                      readonly=True))
    for im in images:
        lst.append(im)
    return lst


def _check_frame(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        raise LimitError("frames must be 2-D mono arrays", feature="shape",
                         allowed="(height, width)")


def _check_clip(clip_threshold: int | None, depth: int, vmax: int) -> int:
    clip = vmax if clip_threshold is None else int(clip_threshold)
    if not 1 <= clip <= vmax:
        raise LimitError(f"clip_threshold {clip} outside the {depth}-bit range",
                         feature="clip_threshold", allowed=(1, vmax))
    return clip


def region_stats(
    image: np.ndarray,
    rois: Iterable[Sequence[int]] | np.ndarray,
    *,
    bit_depth: int | None = None,
    clip_threshold: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of each ROI of a mono frame in one fused pass.

    ``image``: 2-D ``uint8`` or ``uint16`` array, any strides (read in place).  ``rois``:
    ``(x, y, width, height)`` per region, full-frame pixels (clipped to the frame).
    ``bit_depth``: significant bits of a ``uint16`` frame (default 16); pixels above
    ``2**bit_depth - 1`` raise :class:`LimitError`.  ``clip_threshold``: native DN from which a
    pixel counts as clipped (default: full scale).

    Returns ``(records, hist)``: a :data:`STATS_DTYPE` array of shape ``(n,)`` and the int64
    ``(n, 256)`` luminance histograms (DN8 bins).
    """
    _check_frame(image)
    depth, vmax = full_scale(image.dtype, bit_depth)
    clip = _check_clip(clip_threshold, depth, vmax)
    boxes = as_roi_array(rois, image.shape)
    boxes = np.concatenate([np.zeros((boxes.shape[0], 1), np.int64), boxes], axis=1)
    return _run([image], boxes, depth, vmax, clip)


def region_stats_many(
    images: Sequence[np.ndarray],
    rois: Sequence[Iterable[Sequence[int]] | np.ndarray],
    *,
    bit_depth: int | None = None,
    clip_threshold: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`region_stats` over several frames of one dtype in one parallel kernel call.

    ``rois[i]`` are the regions of ``images[i]``.  Returns ``(records, hist, image_index)``
    with the regions of all frames concatenated in order; ``image_index`` (int64) says which
    frame each came from.  Saves the per-call overhead when ranking a burst.
    """
    if len(images) != len(rois):
        raise LimitError(f"{len(images)} frames but {len(rois)} ROI lists", feature="rois",
                         allowed=len(images))
    if not len(images):
        return np.empty(0, STATS_DTYPE), np.zeros((0, 256), np.int64), np.zeros(0, np.int64)
    for im in images:
        _check_frame(im)
    dtype = images[0].dtype
    if any(im.dtype != dtype for im in images):
        raise LimitError("region_stats_many needs frames of one dtype", feature="dtype",
                         allowed=str(dtype))
    depth, vmax = full_scale(dtype, bit_depth)
    clip = _check_clip(clip_threshold, depth, vmax)
    flat = [tuple(r) for per in rois for r in per]
    index = np.repeat(np.arange(len(images), dtype=np.int64), [len(per) for per in rois])
    shapes = np.array([im.shape for im in images], np.int64).reshape(-1, 2)[index]
    arr = np.array(flat, np.int64).reshape(-1, 4)
    boxes = np.concatenate([index[:, None], _clip_boxes(arr, shapes[:, 0], shapes[:, 1])], 1)
    records, hist = _run(list(images), boxes, depth, vmax, clip)
    return records, hist, boxes[:, 0].copy()


def frame_stats(
    image: np.ndarray, *, bit_depth: int | None = None, clip_threshold: int | None = None
) -> RegionStats:
    """:func:`region_stats` of the whole frame, as a :class:`RegionStats`."""
    _check_frame(image)
    h, w = image.shape
    records, hist = region_stats(image, [(0, 0, w, h)], bit_depth=bit_depth,
                                 clip_threshold=clip_threshold)
    return RegionStats.from_record(records[0], hist[0])


def warm_up() -> float:
    """Compile (or load from Numba's cache) the kernels for 8- and 16-bit frames; return the
    seconds it took.  Call once when a lane opens, so the first vehicle does not pay the JIT
    (≈ 10 s per pixel type on a cold cache, ≈ 0.4 s warm)."""
    import time

    t0 = time.perf_counter()
    for dtype in (np.uint8, np.uint16):
        img = np.zeros((32, 32), dtype)
        region_stats(img, [Roi(0, 0, 32, 32)], bit_depth=12 if dtype == np.uint16 else None)
        region_stats_many([img], [[Roi(0, 0, 16, 16)]],
                          bit_depth=12 if dtype == np.uint16 else None)
    return time.perf_counter() - t0

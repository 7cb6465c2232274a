"""Fused single-pass image-quality statistics over mono frames and ROIs (Numba).

One call reads every pixel of each region once and returns, per region, the exposure, contrast,
noise, sharpness and left/right-uniformity statistics the burst ranker needs (see
:data:`STATS_FIELDS`).  Works on ``uint8`` (Mono8) and ``uint16`` frames (Mono10/12/14/16 in a
16-bit container, LSB-aligned: pass ``bit_depth``), on any strides (crops, flipped or strided
views are read in place, never copied).

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
the median taken from a histogram with 1-DN8 bins (bin ``k`` = [k - ½, k + ½)) and interpolated
linearly inside its bin.  The median, unlike Immerkær's mean, is barely moved by the face's own
edges, so sharp frames are not over-corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from ..errors import LimitError

__all__ = [
    "Roi",
    "STATS_FIELDS",
    "STATS_DTYPE",
    "RegionStats",
    "region_stats",
    "frame_stats",
    "full_scale",
    "as_roi_array",
    "UNDER_EXPOSURE_MAX",
    "OVER_EXPOSURE_MIN",
    "LAPLACIAN_NOISE_GAIN",
    "TENENGRAD_NOISE_GAIN",
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
_NOISE_BINS = 4096  # 1-DN8 bins: |N∗I| ≤ 16 · 255 = 4080 DN8, so the histogram never overflows

# Per-work-item integer accumulators.
_A_N, _A_SUM, _A_SUMSQ, _A_CLIP, _A_OOR = 0, 1, 2, 3, 4
_A_SUM_L, _A_SUM_R, _A_N_INT, _A_LAP, _A_LAP2, _A_TEN = 5, 6, 7, 8, 9, 10
_N_ACC = 11


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
        values = {name: record[name].item() for name in STATS_DTYPE.names or ()}
        return cls(hist=hist, **values)


def full_scale(dtype: np.dtype, bit_depth: int | None) -> tuple[int, int]:
    """``(bit_depth, 2**bit_depth - 1)`` for a frame dtype; validates ``bit_depth``.

    ``uint8`` frames are 8-bit; ``uint16`` frames default to 16 and accept 8–16 (LSB-aligned
    Mono10/12/14 in a 16-bit container).
    """
    dt = np.dtype(dtype)
    if dt == np.uint8:
        limit = 8
    elif dt == np.uint16:
        limit = 16
    else:
        raise LimitError("frames must be uint8 or uint16", feature="dtype",
                         allowed=["uint8", "uint16"])
    depth = limit if bit_depth is None else int(bit_depth)
    if not 8 <= depth <= limit:
        raise LimitError(f"bit_depth {depth} does not fit a {dt.name} frame",
                         feature="bit_depth", allowed=(8, limit))
    return depth, (1 << depth) - 1


def as_roi_array(rois: Iterable[Sequence[int]] | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Clip ``(x, y, w, h)`` regions to a frame of ``shape`` → int64 ``(n, 4)`` of y0, y1, x0, x1.

    Negative sizes are rejected (:class:`LimitError`); regions off the frame become empty.
    """
    arr = np.asarray(rois if not isinstance(rois, np.ndarray) else rois, dtype=np.int64)
    if arr.size == 0:
        return np.zeros((0, 4), np.int64)
    arr = arr.reshape(-1, 4)
    if (arr[:, 2:] < 0).any():
        raise LimitError("ROI width and height must be ≥ 0", feature="roi")
    h, w = shape
    x0 = np.clip(arr[:, 0], 0, w)
    y0 = np.clip(arr[:, 1], 0, h)
    x1 = np.clip(arr[:, 0] + arr[:, 2], 0, w)
    y1 = np.clip(arr[:, 1] + arr[:, 3], 0, h)
    return np.ascontiguousarray(np.stack([y0, np.maximum(y1, y0), x0, np.maximum(x1, x0)], 1))


@njit(nogil=True, cache=True, inline="always")
def _hist_run(img, y, xa, xb, shift, hist, side):
    """Histogram pixels ``img[y, xa:xb]`` into ``hist[side]`` via 4 interleaved sub-histograms."""
    x = xa
    while x + 4 <= xb:
        hist[side, 0, min(np.int64(img[y, x]) >> shift, 255)] += 1
        hist[side, 1, min(np.int64(img[y, x + 1]) >> shift, 255)] += 1
        hist[side, 2, min(np.int64(img[y, x + 2]) >> shift, 255)] += 1
        hist[side, 3, min(np.int64(img[y, x + 3]) >> shift, 255)] += 1
        x += 4
    while x < xb:
        hist[side, 0, min(np.int64(img[y, x]) >> shift, 255)] += 1
        x += 1


@njit(nogil=True, cache=True)
def _chunk(img, y0, y1, x0, x1, r0, r1, shift, vmax, clip, noise_scale, acc, hist, nhist):
    """Accumulate rows ``r0:r1`` of region ``[y0:y1, x0:x1]`` into one work item's partials."""
    half = (x1 - x0) // 2
    xm = x0 + half
    xr = x1 - half
    s = np.int64(0)
    ss = np.int64(0)
    sl = np.int64(0)
    sr = np.int64(0)
    nclip = np.int64(0)
    noor = np.int64(0)
    nint = np.int64(0)
    sl1 = np.int64(0)
    sl2 = np.int64(0)
    st = np.int64(0)
    for y in range(r0, r1):
        # pixel statistics: vectorizable reductions, then the scatter into histograms
        for x in range(x0, x1):
            v = np.int64(img[y, x])
            s += v
            ss += v * v
            nclip += v >= clip
            noor += v > vmax
        for x in range(x0, xm):
            sl += np.int64(img[y, x])
        for x in range(xr, x1):
            sr += np.int64(img[y, x])
        _hist_run(img, y, x0, xm, shift, hist, 0)
        _hist_run(img, y, xm, xr, shift, hist, 1)
        _hist_run(img, y, xr, x1, shift, hist, 2)
        # 3×3 filters on interior rows
        if y > y0 and y < y1 - 1 and x1 - x0 >= 3:
            for x in range(x0 + 1, x1 - 1):
                a = np.int64(img[y - 1, x - 1])
                b = np.int64(img[y - 1, x])
                c = np.int64(img[y - 1, x + 1])
                d = np.int64(img[y, x - 1])
                e = np.int64(img[y, x])
                f = np.int64(img[y, x + 1])
                g = np.int64(img[y + 1, x - 1])
                h = np.int64(img[y + 1, x])
                i = np.int64(img[y + 1, x + 1])
                lap = b + d + f + h - 4 * e
                gx = (c + 2 * f + i) - (a + 2 * d + g)
                gy = (g + 2 * h + i) - (a + 2 * b + c)
                sl1 += lap
                sl2 += lap * lap
                st += gx * gx + gy * gy
                r = abs((a + c + g + i) - 2 * (b + d + f + h) + 4 * e)
                k = min(np.int64(r * noise_scale + 0.5), _NOISE_BINS - 1)
                nhist[k] += 1
            nint += x1 - x0 - 2
    acc[_A_N] += (r1 - r0) * (x1 - x0)
    acc[_A_SUM] += s
    acc[_A_SUMSQ] += ss
    acc[_A_CLIP] += nclip
    acc[_A_OOR] += noor
    acc[_A_SUM_L] += sl
    acc[_A_SUM_R] += sr
    acc[_A_N_INT] += nint
    acc[_A_LAP] += sl1
    acc[_A_LAP2] += sl2
    acc[_A_TEN] += st


@njit(nogil=True, cache=True)
def _grouped_median(h, n):
    """Median of non-negative values binned at integer centres (bin k = [k-½, k+½)), interpolated."""
    target = 0.5 * n
    cum = 0.0
    for k in range(h.shape[0]):
        c = h[k]
        if c > 0 and cum + c >= target:
            lo = max(k - 0.5, 0.0)
            width = (k + 0.5) - lo
            return lo + width * (target - cum) / c
        cum += c
    return np.nan


@njit(nogil=True, cache=True)
def _finalize(acc, hist, nhist, y0, y1, x0, x1, scale, out, hout):
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
        out[_O_UNDER] = np.nan
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
        sigma = _grouped_median(nhist, ni) * _MAD_TO_SIGMA
        lm = acc[_A_LAP] / ni
        lap_raw = max(acc[_A_LAP2] / ni - lm * lm, 0.0) * scale * scale
        ten_raw = acc[_A_TEN] / ni * scale * scale
        out[_O_SIGMA] = sigma
        out[_O_LAPR] = lap_raw
        out[_O_LAP] = max(lap_raw - LAPLACIAN_NOISE_GAIN * sigma * sigma, 0.0)
        out[_O_TENR] = ten_raw
        out[_O_TEN] = max(ten_raw - TENENGRAD_NOISE_GAIN * sigma * sigma, 0.0)


@njit(nogil=True, cache=True, parallel=True)
def _stats_kernel(img, boxes, work, shift, vmax, clip, scale, out, hout, oor):
    """All regions of one frame: parallel over (region, row-chunk) work items, then reduce."""
    m = work.shape[0]
    acc = np.zeros((m, _N_ACC), np.int64)
    hist = np.zeros((m, 3, 4, 256), np.int64)
    nhist = np.zeros((m, _NOISE_BINS), np.int64)
    noise_scale = scale
    for w in prange(m):
        b = work[w, 0]
        _chunk(img, boxes[b, 0], boxes[b, 1], boxes[b, 2], boxes[b, 3], work[w, 1], work[w, 2],
               shift, vmax, clip, noise_scale, acc[w], hist[w], nhist[w])
    n_box = boxes.shape[0]
    for b in prange(n_box):
        a = np.zeros(_N_ACC, np.int64)
        h3 = np.zeros((3, 256), np.int64)
        nh = np.zeros(_NOISE_BINS, np.int64)
        for w in range(m):
            if work[w, 0] == b:
                a += acc[w]
                for side in range(3):
                    for q in range(4):
                        h3[side] += hist[w, side, q]
                nh += nhist[w]
        # hist sides are (left, centre, right); _finalize wants them as (left, centre, right)
        oor[b] = a[_A_OOR]
        _finalize(a, h3, nh, boxes[b, 0], boxes[b, 1], boxes[b, 2], boxes[b, 3], scale,
                  out[b], hout[b])


def _work_items(boxes: np.ndarray, target_rows: int) -> np.ndarray:
    """Split every non-empty region into row chunks: int64 ``(m, 3)`` of (region, r0, r1)."""
    items: list[tuple[int, int, int]] = []
    for b, (y0, y1, x0, x1) in enumerate(boxes.tolist()):
        if y1 <= y0 or x1 <= x0:
            continue
        rows = max(1, min(y1 - y0, target_rows))
        for r0 in range(y0, y1, rows):
            items.append((b, r0, min(r0 + rows, y1)))
    if not items:
        return np.zeros((0, 3), np.int64)
    return np.asarray(items, np.int64)


def _chunk_rows(boxes: np.ndarray) -> int:
    """Rows per work item: about 4 items per thread over the total area, ≥ 8 rows."""
    area = int(((boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])).sum())
    rows = int(((boxes[:, 1] - boxes[:, 0])).sum())
    if area == 0 or rows == 0:
        return 1
    parts = 4 * numba.get_num_threads()
    return max(8, -(-rows // parts))


def _check_frame(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        raise LimitError("frames must be 2-D mono arrays", feature="shape",
                         allowed="(height, width)")


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
    clip = vmax if clip_threshold is None else int(clip_threshold)
    if not 1 <= clip <= vmax:
        raise LimitError(f"clip_threshold {clip} outside the {depth}-bit range",
                         feature="clip_threshold", allowed=(1, vmax))
    boxes = as_roi_array(rois, image.shape)
    n = boxes.shape[0]
    out = np.empty((n, _N_OUT), np.float64)
    hout = np.zeros((n, 256), np.int64)
    oor = np.zeros(n, np.int64)
    if n:
        work = _work_items(boxes, _chunk_rows(boxes))
        _stats_kernel(image, boxes, work, depth - 8, vmax, clip, 255.0 / vmax, out, hout, oor)
    if oor.any():
        raise LimitError(f"{int(oor.sum())} pixels exceed the declared {depth}-bit full scale",
                         feature="bit_depth", allowed=(0, vmax))
    records = np.empty(n, STATS_DTYPE)
    for name, i in _F.items():
        records[name] = out[:, i]
    return records, hout


def frame_stats(
    image: np.ndarray, *, bit_depth: int | None = None, clip_threshold: int | None = None
) -> RegionStats:
    """:func:`region_stats` of the whole frame, as a :class:`RegionStats`."""
    _check_frame(image)
    h, w = image.shape
    records, hist = region_stats(image, [(0, 0, w, h)], bit_depth=bit_depth,
                                 clip_threshold=clip_threshold)
    return RegionStats.from_record(records[0], hist[0])

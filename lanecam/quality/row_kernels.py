"""The per-row pixel loops of :mod:`lanecam.quality.kernels` (Numba): histogram, sums,
float32 conversion, the 3×3 filter sums (Laplacian, Sobel) and the noise operator's histogram,
and :func:`_chunk`, which runs them over one work item (a band of rows of one region) into its
accumulators.  Units and methods: see :mod:`lanecam.quality.kernels`."""

from __future__ import annotations

import numpy as np
from numba import float32 as f32
from numba import float64 as f64
from numba import int32 as i32

from ..jit import njit

_NOISE_ROW_STEP = 8  # the noise histogram samples interior rows at offsets 1, 9, 17, … from y0
_NOISE_BINS = 1024  # 1-DN8 bins; the last one collects |N∗I| ≥ 1023 DN8 (σ saturates at 253)

# Per-work-item integer accumulators.
_A_N, _A_SUM, _A_SUMSQ, _A_CLIP, _A_OOR = 0, 1, 2, 3, 4
_A_SUM_L, _A_SUM_R, _A_N_INT, _A_N_NOISE = 5, 6, 7, 8
_N_ACC = 9
# Per-work-item float accumulators (filter sums; see _filter_row for their precision).
_F_LAP, _F_LAP2, _F_TEN = 0, 1, 2
_N_FACC = 3


@njit(nogil=True, cache=True)
def _hist_run(seg, shift, hist):
    """Histogram the 1-D view ``seg`` into ``hist`` (shape (8, 256): interleaved partials).

    Eight partial histograms break the store-to-load chains of runs of equal pixels.
    """
    n = seg.shape[0]
    x = 0
    if seg.itemsize == 1:  # uint8: the value is the bin
        while x + 8 <= n:
            for j in range(8):
                hist[j, seg[x + j]] += 1
            x += 8
        while x < n:
            hist[0, seg[x]] += 1
            x += 1
        return
    while x + 8 <= n:
        for j in range(8):
            hist[j, min(np.int64(seg[x + j]) >> shift, 255)] += 1
        x += 8
    while x < n:
        hist[0, min(np.int64(seg[x]) >> shift, 255)] += 1
        x += 1


@njit(nogil=True, cache=True)
def _seg_sums(seg, clip, vmax):
    """Sum, sum of squares, clipped count and out-of-range count of a 1-D view."""
    s = np.int64(0)
    ss = np.int64(0)
    nc = np.int64(0)
    no = np.int64(0)
    for x in range(seg.shape[0]):
        v = np.int64(seg[x])
        s += v
        ss += v * v
        nc += v >= clip
        no += v > vmax
    return s, ss, nc, no


# Vectorized row loops run in blocks of _VEC elements (16 float32 lanes × 4 unrolled); a row's
# last partial block would otherwise run scalar, which costs ~45 % on a 510-px ROI row.  The
# helpers below redo the last _VEC elements instead: idempotent for conversions, masked for sums.
_VEC = 64


@njit(nogil=True, cache=True, fastmath=True)
def _to_f32_run(src, dst, n):
    for x in range(n):
        dst[x] = f32(src[x])


@njit(nogil=True, cache=True)
def _to_f32(src, dst):
    """Convert one row to float32 (exact for every 8- and 16-bit value)."""
    n = src.shape[0]
    main = n - n % _VEC if n >= _VEC else n
    _to_f32_run(src, dst, main)
    if main < n:
        _to_f32_run(src[n - _VEC:], dst[n - _VEC:], _VEC)


@njit(nogil=True, cache=True, fastmath=True)
def _filter_sums(p, c, q, n):
    """Laplacian, Laplacian² and Sobel Gx² + Gy² sums over centres ``0 ≤ x < n``."""
    s1 = f32(0.0)
    s2 = f32(0.0)
    st = f32(0.0)
    for x in range(n):
        a = p[x]
        b = p[x + 1]
        cc = p[x + 2]
        d = c[x]
        e = c[x + 1]
        f = c[x + 2]
        g = q[x]
        h = q[x + 1]
        k = q[x + 2]
        lap = b + d + f + h - f32(4.0) * e
        gx = (cc + f32(2.0) * f + k) - (a + f32(2.0) * d + g)
        gy = (g + f32(2.0) * h + k) - (a + f32(2.0) * b + cc)
        s1 += lap
        s2 += lap * lap
        st += gx * gx + gy * gy
    return f64(s1), f64(s2), f64(st)


@njit(nogil=True, cache=True, fastmath=True)
def _filter_tail(p, c, q, skip):
    """As :func:`_filter_sums` over ``_VEC`` centres, counting only those at ``x ≥ skip``."""
    n = _VEC
    s1 = f32(0.0)
    s2 = f32(0.0)
    st = f32(0.0)
    for x in range(n):
        a = p[x]
        b = p[x + 1]
        cc = p[x + 2]
        d = c[x]
        e = c[x + 1]
        f = c[x + 2]
        g = q[x]
        h = q[x + 1]
        k = q[x + 2]
        lap = b + d + f + h - f32(4.0) * e
        gx = (cc + f32(2.0) * f + k) - (a + f32(2.0) * d + g)
        gy = (g + f32(2.0) * h + k) - (a + f32(2.0) * b + cc)
        m = f32(1.0) if x >= skip else f32(0.0)
        lap *= m
        gx *= m
        gy *= m
        s1 += lap
        s2 += lap * lap
        st += gx * gx + gy * gy
    return f64(s1), f64(s2), f64(st)


@njit(nogil=True, cache=True)
def _filter_row(p, c, q, n):
    """Laplacian, Laplacian² and Sobel Gx² + Gy² sums over ``n`` centres of float32 rows.

    L, Gx and Gy are exact in float32 for 8- and 16-bit data; squares and row sums carry float32
    rounding (about 1e-6 relative, at most ~1e-5 over a 2448-px row) before the row totals are
    accumulated in float64.
    """
    if n < _VEC:
        return _filter_sums(p, c, q, n)
    main = n - n % _VEC
    s1, s2, st = _filter_sums(p, c, q, main)
    if main < n:
        o = n - _VEC  # the last block again, counting only the centres not yet summed
        t1, t2, tt = _filter_tail(p[o:], c[o:], q[o:], main - o)
        s1 += t1
        s2 += t2
        st += tt
    return s1, s2, st


@njit(nogil=True, cache=True, fastmath=True)
def _noise_bins_run(p, c, q, n, noise_scale, top, buf):
    for x in range(n):
        r = abs((p[x] + p[x + 2] + q[x] + q[x + 2])
                - f32(2.0) * (p[x + 1] + c[x] + c[x + 2] + q[x + 1])
                + f32(4.0) * c[x + 1])
        buf[x] = i32(min(f64(r) * noise_scale + 0.5, f64(top)))


@njit(nogil=True, cache=True)
def _noise_bins(p, c, q, n, noise_scale, top, buf):
    """``buf[x] = min(round(|N∗I| in DN8), top)`` for ``n`` centres of float32 rows."""
    main = n - n % _VEC if n >= _VEC else n
    _noise_bins_run(p, c, q, main, noise_scale, top, buf)
    if main < n:
        o = n - _VEC
        _noise_bins_run(p[o:], c[o:], q[o:], _VEC, noise_scale, top, buf[o:])


@njit(nogil=True, cache=True)
def _noise_row(p, c, q, n, noise_scale, nhist, buf):
    """Histogram round(|N∗I| in DN8) of ``n`` centres into ``nhist`` (4 interleaved partials).

    The last bin collects everything ≥ its value (only its count matters for the median).
    """
    _noise_bins(p, c, q, n, noise_scale, nhist.shape[1] - 1, buf)
    x = 0
    while x + 4 <= n:
        nhist[0, buf[x]] += 1
        nhist[1, buf[x + 1]] += 1
        nhist[2, buf[x + 2]] += 1
        nhist[3, buf[x + 3]] += 1
        x += 4
    while x < n:
        nhist[0, buf[x]] += 1
        x += 1


@njit(nogil=True, cache=True)
def _add_sums(seg, clip, vmax, acc, side):
    """16-bit rows: add a segment's sums and counts to ``acc`` (and to its side's sum if ≥ 0)."""
    s, ss, nc, no = _seg_sums(seg, clip, vmax)
    acc[_A_SUM] += s
    acc[_A_SUMSQ] += ss
    acc[_A_CLIP] += nc
    acc[_A_OOR] += no
    if side >= 0:
        acc[side] += s


@njit(nogil=True, cache=True)
def _chunk(img, y0, y1, x0, x1, r0, r1, shift, vmax, clip, noise_scale, acc, facc, hist, nhist):
    """Accumulate rows ``r0:r1`` of region ``[y0:y1, x0:x1]`` into one work item's partials.

    One sweep down the rows: row ``y`` is histogrammed (left half, centre column, right half),
    then row ``y + 1`` is converted into a 3-row float32 ring and the 3×3 filters centred on
    ``y`` run on the ring; row ``y + 1`` is histogrammed next from L1, so each row comes from
    memory once.  The noise histogram samples interior rows at offsets 1, 9, 17, … from ``y0``.
    """
    width = x1 - x0
    half = width // 2
    inner = width - 2
    exact = img.itemsize == 1  # 8-bit: sums and counts follow from the histograms
    fy0 = max(r0, y0 + 1)  # filter centres of this chunk: [fy0, fy1)
    fy1 = min(r1, y1 - 1)
    filt = inner > 0 and fy1 > fy0
    ring = np.empty((3, width if filt else 0), np.float32)
    buf = np.empty(inner if filt else 0, np.int32)
    if filt:
        _to_f32(img[fy0 - 1, x0:x1], ring[(fy0 - 1) % 3])
        _to_f32(img[fy0, x0:x1], ring[fy0 % 3])
    for y in range(r0, r1):
        row = img[y, x0:x1]
        _hist_run(row[:half], shift, hist[0])
        _hist_run(row[half:width - half], shift, hist[1])
        _hist_run(row[width - half:], shift, hist[2])
        if not exact:
            _add_sums(row[:half], clip, vmax, acc, _A_SUM_L)
            _add_sums(row[half:width - half], clip, vmax, acc, -1)
            _add_sums(row[width - half:], clip, vmax, acc, _A_SUM_R)
        if filt and fy0 <= y < fy1:
            _to_f32(img[y + 1, x0:x1], ring[(y + 1) % 3])
            p = ring[(y - 1) % 3]
            c = ring[y % 3]
            q = ring[(y + 1) % 3]
            l1, l2, t = _filter_row(p, c, q, inner)
            facc[_F_LAP] += l1
            facc[_F_LAP2] += l2
            facc[_F_TEN] += t
            if (y - y0) % _NOISE_ROW_STEP == 1:
                _noise_row(p, c, q, inner, noise_scale, nhist, buf)
                acc[_A_N_NOISE] += inner
    if filt:
        acc[_A_N_INT] += (fy1 - fy0) * inner
    acc[_A_N] += (r1 - r0) * width

"""Plain numpy / OpenCV reference implementations the Numba kernels are tested against.

Written for clarity, not speed: whole-crop float64 arrays, OpenCV filters, ``np.bincount``.
"""

from __future__ import annotations

import cv2
import numpy as np

MAD_TO_SIGMA = 1.0 / (6.0 * 0.6744897501960817)
NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)


def clip_roi(roi, shape):
    x, y, w, h = roi
    H, W = shape
    x0, y0 = min(max(x, 0), W), min(max(y, 0), H)
    x1, y1 = min(max(x + w, 0), W), min(max(y + h, 0), H)
    return y0, max(y1, y0), x0, max(x1, x0)


def grouped_median(hist: np.ndarray) -> float:
    """Median of values binned at integer centres (bin k = [k-½, k+½), bin 0 = exactly 0)."""
    n = hist.sum()
    if hist[0] >= 0.5 * n:
        return 0.0
    cum = np.cumsum(hist)
    k = int(np.searchsorted(cum, 0.5 * n))
    return (k - 0.5) + (0.5 * n - cum[k - 1]) / hist[k]


def region_stats(img: np.ndarray, roi, bit_depth: int | None = None, clip=None) -> dict:
    depth = bit_depth or img.dtype.itemsize * 8
    vmax = (1 << depth) - 1
    clip = vmax if clip is None else clip
    scale = 255.0 / vmax
    shift = depth - 8
    y0, y1, x0, x1 = clip_roi(roi, img.shape)
    crop = img[y0:y1, x0:x1].astype(np.int64)
    h, w = crop.shape
    n = crop.size
    out = {"n_pixels": n, "n_interior": max(h - 2, 0) * max(w - 2, 0)}
    nan = float("nan")
    out.update({k: nan for k in ("mean", "std", "rms_contrast", "under_exposed", "over_exposed",
                                 "clipped", "entropy", "noise_sigma", "lap_var_raw", "lap_var",
                                 "tenengrad_raw", "tenengrad", "mean_left", "mean_right",
                                 "lr_ratio", "lr_hist_overlap")})
    bins = np.minimum(crop >> shift, 255)
    out["hist"] = np.bincount(bins.ravel(), minlength=256)
    if n == 0:
        return out
    f = crop.astype(np.float64)
    hist = out["hist"]
    out["mean"] = f.mean() * scale
    out["std"] = f.std() * scale
    out["rms_contrast"] = out["std"] / 255.0
    out["under_exposed"] = hist[:26].sum() / n
    out["over_exposed"] = hist[247:].sum() / n
    out["clipped"] = (crop >= clip).mean()
    p = hist[hist > 0] / n
    out["entropy"] = float(-(p * np.log2(p)).sum())
    half = w // 2
    if half:
        left, right = f[:, :half], f[:, w - half:]
        ml, mr = left.mean(), right.mean()
        out["mean_left"], out["mean_right"] = ml * scale, mr * scale
        out["lr_ratio"] = 1.0 if max(ml, mr) == 0 else min(ml, mr) / max(ml, mr)
        hl = np.bincount(bins[:, :half].ravel(), minlength=256)
        hr = np.bincount(bins[:, w - half:].ravel(), minlength=256)
        out["lr_hist_overlap"] = np.minimum(hl, hr).sum() / left.size
    if h >= 3 and w >= 3:
        lap = cv2.Laplacian(f, cv2.CV_64F, ksize=1)[1:-1, 1:-1]
        gx = cv2.Sobel(f, cv2.CV_64F, 1, 0, ksize=3)[1:-1, 1:-1]
        gy = cv2.Sobel(f, cv2.CV_64F, 0, 1, ksize=3)[1:-1, 1:-1]
        r = np.abs(cv2.filter2D(f, cv2.CV_64F, NOISE_KERNEL))[1:-1, 1:-1]
        r = r[0::8]  # interior rows at offsets 1, 9, 17, … from the region top
        nb = np.minimum(np.floor(r * scale + 0.5), 1023).astype(np.int64)
        sigma = grouped_median(np.bincount(nb.ravel(), minlength=1024)) * MAD_TO_SIGMA
        out["noise_sigma"] = sigma
        out["lap_var_raw"] = lap.var() * scale**2
        out["lap_var"] = max(out["lap_var_raw"] - 20 * sigma**2, 0.0)
        out["tenengrad_raw"] = (gx**2 + gy**2).mean() * scale**2
        out["tenengrad"] = max(out["tenengrad_raw"] - 24 * sigma**2, 0.0)
    return out

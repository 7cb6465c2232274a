"""Image-plane layers and the drawing on them: convex fills, quarter-resolution warps, blur.

A :class:`Layer` is a patch at (x, y) in frame pixels; polygons are in frame pixels and are
drawn with OpenCV at 1/16 px sub-pixel precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["F32", "F64", "Layer", "blur", "convex", "fill", "fill_ids", "fixed_point",
           "minifies", "warp_quarter"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


@dataclass
class Layer:
    """An image patch at (x, y) in frame pixels: ``data`` is (h, w, 2) float32 = premultiplied
    radiant exposure and coverage (interleaved: one OpenCV call fills or blurs both), or
    (h, w) for the cabin's radiance-only patch."""

    x: int
    y: int
    data: F32

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[0], self.data.shape[1]


def fixed_point(uv: F64) -> NDArray[np.int32]:
    """Pixel coordinates as OpenCV fixed point with 4 fractional bits (1/16 px)."""
    return np.round(np.asarray(uv) * 16).astype(np.int32)


def convex(uv: F64) -> F64:
    """The convex hull of points (px), as (n, 2) float64."""
    hull = cv2.convexHull(uv.astype(np.float32))
    return hull.reshape(-1, 2).astype(np.float64)


def fill(layer: Layer, uv: F64, value: float) -> None:
    """Fill a convex polygon (frame pixels) with radiant exposure ``value`` (and coverage 1)."""
    pts = fixed_point(convex(uv - [layer.x, layer.y]))
    color = (float(value), 1.0) if layer.data.ndim == 3 else float(value)
    cv2.fillConvexPoly(layer.data, pts, color, cv2.LINE_8, 4)


def fill_ids(ids: NDArray[np.int16], sub: Layer, uv: F64, value: int) -> None:
    """Mark a convex polygon (frame pixels) with ``value`` in ``sub``'s id map."""
    cv2.fillConvexPoly(ids, fixed_point(convex(uv - [sub.x, sub.y])), int(value), cv2.LINE_8, 4)


def minifies(hmat: F64, n: int) -> bool:
    """Whether homography ``hmat`` shrinks an ``n``-px texture's top edge below n/2 px."""
    corners = cv2.perspectiveTransform(np.array([[[0, 0], [n, 0]]], np.float32), hmat)[0]
    return float(np.linalg.norm(corners[1] - corners[0])) < n / 2


def warp_quarter(img: F32, hmat: F64, small: tuple[int, int], shape: tuple[int, int]) -> F32:
    """Warp ``img`` by ``hmat`` onto a ¼-resolution grid ``small`` (rows, columns), upsample
    ×4 and crop to ``shape`` (rows, columns); always (h, w, channels)."""
    small_img = cv2.warpPerspective(np.ascontiguousarray(img), hmat, (small[1], small[0]),
                                    flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = np.asarray(cv2.resize(small_img, (small[1] * 4, small[0] * 4),
                                interpolation=cv2.INTER_LINEAR), np.float32)[:shape[0], :shape[1]]
    return out if out.ndim == 3 else out[:, :, None]


def _motion_kernel(blur_vec: F64) -> F32 | None:
    """Normalised kernel of the path (|blur_vec| px) travelled during the exposure, end points
    splatted bilinearly; None under ¼ px (invisible)."""
    length = float(np.hypot(*blur_vec))
    if length < 0.25:
        return None
    half = math.ceil(length / 2) + 1
    k = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    n = max(8, math.ceil(length * 8))
    for i in range(n):
        f = (i + 0.5) / n - 0.5
        x, y = half + f * blur_vec[0], half + f * blur_vec[1]
        ix, iy = math.floor(x), math.floor(y)
        fx, fy = x - ix, y - iy
        k[iy, ix] += (1 - fx) * (1 - fy)
        k[iy, ix + 1] += fx * (1 - fy)
        k[iy + 1, ix] += (1 - fx) * fy
        k[iy + 1, ix + 1] += fx * fy
    return k / k.sum()


def blur(data: F32, blur_vec: F64, coc_px: float) -> None:
    """Motion blur along ``blur_vec`` (px) then defocus (blur circle ``coc_px`` px), in place.
    The defocus disc of diameter c is approximated by the Gaussian of equal second moment,
    σ = c/4 (separable, fast); a blur circle under 1 px is left out."""
    k = _motion_kernel(blur_vec)
    if k is not None:  # filter with the kernel's non-zero support only (cost ∝ its area)
        ys, xs = np.nonzero(k)
        half = k.shape[0] // 2
        support = k[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        cv2.filter2D(data, -1, support, dst=data, anchor=(half - xs.min(), half - ys.min()),
                     borderType=cv2.BORDER_CONSTANT)
    if coc_px > 1.0:  # kernel to ±2.5 σ (98.8 % of the energy)
        sigma = coc_px / 4
        ksize = 2 * math.ceil(2.5 * sigma) + 1
        cv2.GaussianBlur(data, (ksize, ksize), sigma, dst=data, borderType=cv2.BORDER_CONSTANT)

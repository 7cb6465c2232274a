"""Numba kernels of the renderer: the static background and the fused image-sensor pass.

:func:`expose` reads every output pixel once: background radiance, the vehicles' premultiplied
layer composited over it, photo-electrons, shot and read noise, saturation, gain, 12-bit
quantization and the Mono8/Mono12 output — one pass, one core (no ``parallel``: the lane runs
several cameras, each render stays on its thread's core).

Noise.  Shot noise (Poisson, variance = signal in e⁻) and read noise (Gaussian) are drawn as one
Gaussian of variance ``e + σ_read²`` (the Poisson→Gaussian approximation is accurate above a few
electrons).  Deviates come from a counter-based RNG: a SplitMix64 hash of (frame seed, pixel
index / 4) gives 64 bits, 16 per pixel, which index a 65 536-entry inverse-normal table (tails
cut at ±4.3 σ).  No state, so any window of any frame is reproducible from the seed alone.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from ..jit import njit

__all__ = ["background", "expose", "face_stats", "normal_table", "splitmix64"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@cache
def normal_table() -> NDArray[np.float32]:
    """Inverse standard-normal CDF at (k + ½)/65536, k = 0…65535."""
    nd = NormalDist()
    p = (np.arange(65536, dtype=np.float64) + 0.5) / 65536
    t = np.array([nd.inv_cdf(float(x)) for x in p], dtype=np.float32)
    t.flags.writeable = False
    return t


@njit(cache=True, nogil=True)
def splitmix64(x: np.uint64) -> np.uint64:
    """SplitMix64 finalizer (Steele, Lea & Flood, OOPSLA 2014)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, fastmath=True)
def expose(bg: NDArray[np.float32], bg_scale: float, layers: tuple[NDArray[np.float32], ...],
           origins: NDArray[np.int64], k_e: float, dn_per_e: float, full_well_e: float,
           read_var_e2: float, seed: np.uint64, abs_y: int, abs_x: int,
           table: NDArray[np.float32], noise: bool, shift: int,
           out: NDArray) -> None:  # type: ignore[type-arg]
    """Fill ``out`` (uint8 or uint16, shape of ``bg``) with digital numbers.

    ``bg`` is background radiance (W·m⁻²·sr⁻¹), scaled by ``bg_scale`` (exposure time ×
    analyzer transmission) into J·m⁻²·sr⁻¹; each of ``layers`` (h, w, 2; far to near) holds
    premultiplied radiant exposure (J·m⁻²·sr⁻¹) and coverage, composited "over" in order at
    ``origins[i]`` = (y, x) in ``out``'s coordinates.
    ``k_e`` converts to electrons; ``dn_per_e`` is the 12-bit conversion gain including the
    analog gain; the 12-bit value is shifted right by ``shift`` (4 for Mono8).  ``abs_y/abs_x``
    place the window on the sensor: a pixel's noise depends on its sensor position, the seed
    and nothing else.
    """
    h, w = out.shape
    kb = np.float32(bg_scale * k_e)
    kl = np.float32(k_e)
    g = np.float32(dn_per_e)
    fw = np.float32(full_well_e)
    rv = np.float32(read_var_e2)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    erow = np.empty(w, np.float32)
    nrow = np.empty(w, np.float32)
    g0 = (abs_x) >> 2
    ngroups = ((abs_x + w - 1) >> 2) - g0 + 1
    hrow = np.empty(ngroups, np.uint64)
    m16 = np.uint64(0xFFFF)
    for y in range(h):
        for x in range(w):  # background (vectorised)
            erow[x] = bg[y, x] * kb
        for j in range(len(layers)):  # the vehicles, far to near, over it
            lay = layers[j]
            ly = y - origins[j, 0]
            if 0 <= ly < lay.shape[0]:
                ox = origins[j, 1]
                for x in range(min(max(ox, 0), w), min(max(ox + lay.shape[1], 0), w)):
                    erow[x] = erow[x] * (one - lay[ly, x - ox, 1]) + lay[ly, x - ox, 0] * kl
        if noise:
            key = np.uint64(abs_y + y) << np.uint64(32)
            for i in range(ngroups):
                hrow[i] = splitmix64(seed ^ ((key | np.uint64(g0 + i)) * _GOLDEN))
            for x in range(w):
                ax = abs_x + x
                sh = np.uint64(16 * (ax & 3))
                nrow[x] = table[(hrow[(ax >> 2) - g0] >> sh) & m16]
            for x in range(w):
                e = max(erow[x], zero)
                erow[x] = e + np.sqrt(e + rv) * nrow[x]
        for x in range(w):
            e = min(max(erow[x], zero), fw)
            out[y, x] = min(int(e * g + half), 4095) >> shift


@njit(cache=True, nogil=True, fastmath=True)
def background(out: NDArray[np.float32], abs_y: int, abs_x: int, cam: NDArray[np.float64],
               right: NDArray[np.float64], down: NDArray[np.float64], fwd: NDArray[np.float64],
               f_px: float, cx: float, cy: float, sky: NDArray[np.float32],
               sun: NDArray[np.float64], sun_lobe: float, sun_sigma: float,
               ground: NDArray[np.float64], lane_half_m: float, step_deg: float) -> None:
    """Radiance of the static scene (road, lane paint, verge, sky) for every pixel of ``out``.

    ``sky`` is an elevation × azimuth map (``step_deg`` steps, elevation 0…90°, azimuth
    −180…180° from +z towards +x); ``ground`` = (road, paint, verge) radiance; ``sun_lobe`` the
    peak of the sun's Gaussian lobe of σ ``sun_sigma`` (rad), 0 when there is no direct sun.
    """
    h, w = out.shape
    ne, na = sky.shape
    for yy in range(h):
        v = (abs_y + yy - cy) / f_px
        for xx in range(w):
            u = (abs_x + xx - cx) / f_px
            dx = fwd[0] + u * right[0] + v * down[0]
            dy = fwd[1] + u * right[1] + v * down[1]
            dz = fwd[2] + u * right[2] + v * down[2]
            n = math.sqrt(dx * dx + dy * dy + dz * dz)
            dx, dy, dz = dx / n, dy / n, dz / n
            if dy < -1e-6:
                t = -cam[1] / dy
                gx = cam[0] + t * dx
                ax = abs(gx)
                if abs(ax - lane_half_m) < 0.075:
                    out[yy, xx] = ground[1]
                elif ax > lane_half_m + 3.0:
                    out[yy, xx] = ground[2]
                else:
                    out[yy, xx] = ground[0]
                continue
            el = math.degrees(math.asin(min(1.0, max(0.0, dy))))
            az = math.degrees(math.atan2(dx, dz)) + 180.0
            fe = min(el / step_deg, ne - 1.001)
            fa = min(az / step_deg, na - 1.001)
            ie, ia = int(fe), int(fa)
            te, ta = fe - ie, fa - ia
            val = ((1 - te) * ((1 - ta) * sky[ie, ia] + ta * sky[ie, ia + 1])
                   + te * ((1 - ta) * sky[ie + 1, ia] + ta * sky[ie + 1, ia + 1]))
            if sun_lobe > 0.0:
                c = dx * sun[0] + dy * sun[1] + dz * sun[2]
                g = math.acos(min(1.0, max(-1.0, c)))
                val += sun_lobe * math.exp(-0.5 * (g / sun_sigma) ** 2)
            out[yy, xx] = val


@njit(cache=True, nogil=True)
def face_stats(ids: NDArray[np.int16], inside: NDArray[np.uint8], glare: NDArray[np.float32],
               signal: NDArray[np.float32], n: int) -> NDArray[np.float64]:
    """Per face id 0…n−1 over a cabin id map: (pixels, pixels inside the glass, glare sum and
    signal sum inside the glass), one pass — shape (4, n)."""
    out = np.zeros((4, n), np.float64)
    h, w = ids.shape
    for y in range(h):
        for x in range(w):
            k = ids[y, x]
            if 0 <= k < n:
                out[0, k] += 1.0
                if inside[y, x]:
                    out[1, k] += 1.0
                    out[2, k] += glare[y, x]
                    out[3, k] += signal[y, x]
    return out

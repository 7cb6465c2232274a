"""Sky and sunlight in the camera's band: irradiance on surfaces and sky radiance/polarization.

Clear sky: isotropic diffuse radiance E_diffuse/π (ASSUMED isotropic; E from ASTM G173,
PQ §2.2) with Rayleigh polarization (PQ §1.3), plus seeded broken clouds of Lambertian albedo
:data:`~lanecam.sim.constants.CLOUD_ALBEDO` lit by the global irradiance (unpolarized, PQ §1.3).
The sun itself is an energy-preserving Gaussian lobe (σ
:data:`~lanecam.sim.constants.SUN_GLINT_SIGMA_DEG`).  Overcast: uniform, unpolarized, no direct
sun.  Night: no sunlight at all (the NIR night sky is taken as dark).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from .constants import (
    CLOUD_ALBEDO,
    OVERCAST_TRANSMITTANCE,
    ROAD_REFLECTANCE,
    SOLAR_BANDS,
    SUN_GLINT_SIGMA_DEG,
)
from .optics import sky_dop
from .world import Sun

__all__ = ["STEP_DEG", "Sky"]

#: Angular resolution of the sky maps (degrees).
STEP_DEG = 0.25

F = NDArray[np.float64]


class Sky:
    """Irradiance and sky radiance for one sun, band and seed (deterministic)."""

    def __init__(self, sun: Sun, band: str, seed: int) -> None:
        _, _, glob, direct = SOLAR_BANDS[band]
        self.sun = sun
        self.sun_dir = sun.direction
        if sun.night:
            self.e_direct, self.e_diffuse = 0.0, 0.0
        elif sun.sky == "overcast":
            self.e_direct, self.e_diffuse = 0.0, OVERCAST_TRANSMITTANCE * glob
        else:
            self.e_direct, self.e_diffuse = direct, glob - direct
        self.sigma = math.radians(SUN_GLINT_SIGMA_DEG)
        #: peak radiance of the sun lobe: ∫ lobe dΩ = E_direct
        self.sun_lobe = self.e_direct / (2 * math.pi * self.sigma ** 2) if self.e_direct else 0.0
        self.radiance_map, self.cloud_map = self._maps(seed)

    @property
    def ground_irradiance(self) -> float:
        """Irradiance on horizontal ground (W/m²)."""
        return self.e_direct * max(0.0, float(self.sun_dir[1])) + self.e_diffuse

    def ground_radiance(self, reflectance: float = ROAD_REFLECTANCE) -> float:
        return reflectance * self.ground_irradiance / math.pi

    def irradiance(self, normal: F) -> F:
        """Irradiance (W/m²) on unshadowed surfaces with unit ``normal`` (…, 3): direct sun
        times the cosine plus the sky's diffuse share (1 + n_y)/2 (isotropic sky)."""
        n = np.asarray(normal, dtype=np.float64)
        cos = np.clip(n @ self.sun_dir, 0.0, None)
        return self.e_direct * cos + self.e_diffuse * (1.0 + n[..., 1]) / 2.0

    def _maps(self, seed: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Radiance (W·m⁻²·sr⁻¹) and cloudiness (0–1) on a :data:`STEP_DEG` grid: elevation
        0…90°, azimuth −180…180° from +z towards +x."""
        shape = (int(90 / STEP_DEG) + 1, int(360 / STEP_DEG) + 1)
        base = self.e_diffuse / math.pi
        if self.sun.sky == "overcast" or self.sun.night or self.sun.cloud_cover <= 0:
            return (np.full(shape, base, np.float32), np.zeros(shape, np.float32))
        rng = np.random.default_rng([seed, 0x5C1])
        noise = np.zeros(shape, np.float32)
        for octave, amp in ((4, 1.0), (8, 0.5), (16, 0.3), (32, 0.2), (64, 0.12), (128, 0.07)):
            g = rng.random((octave // 2 + 2, octave * 2 + 2)).astype(np.float32)
            noise += amp * cv2.resize(g, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
        thr = float(np.quantile(noise, 1.0 - self.sun.cloud_cover))
        cloud = np.clip((noise - thr) / 0.12 + 0.5, 0.0, 1.0)
        # texture inside the clouds: thicker parts brighter (ASSUMED 55–100 % of the lit value)
        fine = np.zeros(shape, np.float32)
        for octave, amp in ((64, 1.0), (128, 0.6), (256, 0.4)):
            g = rng.random((octave // 2 + 2, octave * 2 + 2)).astype(np.float32)
            fine += amp * cv2.resize(g, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
        fine = (fine - fine.min()) / max(float(np.ptp(fine)), 1e-6)
        el, az = np.meshgrid(np.radians(np.arange(shape[0]) * STEP_DEG),
                             np.radians(np.arange(shape[1]) * STEP_DEG - 180.0), indexing="ij")
        dirs = np.stack([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], -1)
        gamma = np.degrees(np.arccos(np.clip(dirs @ self.sun_dir, -1, 1)))
        cloud *= np.clip((gamma - 10.0) / 5.0, 0.0, 1.0)  # the sun stays in a gap
        # Lambertian clouds: the side seen with the sun behind the observer is sunlit, the side
        # seen towards the sun is in its own shade — lit fraction (1 − cos γ)/2 (ASSUMED).
        lit = (1.0 - np.cos(np.radians(gamma))) / 2.0
        cloud_rad = CLOUD_ALBEDO * (self.e_direct * lit + self.e_diffuse) / math.pi
        rad = base * (1 - cloud) + cloud_rad * cloud * (0.55 + 0.45 * fine)
        return rad.astype(np.float32), cloud.astype(np.float32)

    def sample(self, dirs: F, *, with_sun: bool = True) -> tuple[F, F, F]:
        """Radiance, degree and E-vector of linear polarization seen along unit ``dirs``
        (N, 3).  Directions below the horizon see the road (unpolarized)."""
        d = np.asarray(dirs, dtype=np.float64)
        el = np.degrees(np.arcsin(np.clip(d[:, 1], 0.0, 1.0)))
        az = np.degrees(np.arctan2(d[:, 0], d[:, 2])) + 180.0
        m = self.radiance_map
        c = self.cloud_map
        fe = np.clip(el / STEP_DEG, 0, m.shape[0] - 1.001)
        fa = np.clip(az / STEP_DEG, 0, m.shape[1] - 1.001)
        ie, ia = fe.astype(int), fa.astype(int)
        te, ta = fe - ie, fa - ia

        def bil(a: NDArray[np.float32]) -> F:
            return ((1 - te) * ((1 - ta) * a[ie, ia] + ta * a[ie, ia + 1])
                    + te * ((1 - ta) * a[ie + 1, ia] + ta * a[ie + 1, ia + 1]))

        rad, cloud = bil(m), bil(c)
        cosg = np.clip(d @ self.sun_dir, -1, 1)
        gamma = np.arccos(cosg)
        if with_sun and self.sun_lobe:
            rad = rad + self.sun_lobe * np.exp(-0.5 * (gamma / self.sigma) ** 2)
        if self.sun.sky == "clear" and self.sun.up:
            dop = sky_dop(gamma) * (1 - cloud)
        else:
            dop = np.zeros_like(rad)
        below = d[:, 1] < 0
        rad = np.where(below, self.ground_radiance(), rad)
        dop = np.where(below, 0.0, dop)
        ev = np.cross(np.broadcast_to(self.sun_dir, d.shape), d)
        nrm = np.linalg.norm(ev, axis=1, keepdims=True)
        ev = np.where(nrm > 1e-9, ev / np.maximum(nrm, 1e-12), 0.0)
        return rad, dop, ev

"""Render one camera frame of the world: radiance, optics, sensor — and its ground truth.

Pipeline per frame (all vectorised or compiled; no per-pixel Python):

1. Static background radiance (road, paint, verge, sky) — one Numba pass per camera, cached.
2. Per vehicle (far to near), a premultiplied radiance-exposure layer over the vehicle's
   bounding box: flat-shaded body panels (sun, sky, NIR lamps with 1/r²), and the
   windshield — the cabin and occupants (faces warped from real textures with OpenCV, lit per
   texture row by sun through the glazing, shadowed by roof, pillars and visors), transmitted
   through the glass (Fresnel T_s/T_p × NIR transmission, twice for the illuminator's light),
   plus the reflected sky and sun (Fresnel R_s/R_p per polarization, PQ §1), both through the
   polarizer (extinction ratio; rotatable or 2×2 mosaic).
3. Motion blur along the image-plane velocity (length v·t·f/(p·Z) for transverse motion) and
   defocus (thin-lens blur circle, as a Gaussian of equal second moment), OpenCV filters per
   vehicle layer, using the velocity and depth of the windshield centre.
4. The fused Numba sensor pass (:func:`lanecam.sim.image_sensor.expose`): electrons, shot + read
   noise, saturation, gain, quantization.

Radiant exposure = radiance × time: ambient light counts for the whole exposure, the strobed
illuminator for ``min(pulse, exposure)`` (the strobe is assumed synchronous with the exposure,
as with an ExposureActive line output).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np
from numpy.typing import NDArray

from ..frames import IlluminationState
from .constants import (
    ADC_BITS,
    CABIN_DIFFUSE_FRACTION,
    CABIN_REFLECTANCE,
    CLOTHING_REFLECTANCE,
    FULL_WELL_E,
    HAIR_REFLECTANCE,
    HAT_CROWN,
    HAT_HIDES,
    HAT_REFLECTANCE,
    HAT_SHADE,
    LANE_PAINT_REFLECTANCE,
    OPTICS_TRANSMISSION,
    QUANTUM_EFFICIENCY,
    READ_NOISE_E,
    ROAD_REFLECTANCE,
    SIDE_GLASS_NIR_TRANSMISSION,
    SKIN_REFLECTANCE_MAX,
    SUNGLASS_LENS,
    SUNGLASS_NIR_TRANSMISSION,
    TRIM_REFLECTANCE,
    VERGE_REFLECTANCE,
    WINDOW_FRESNEL_T,
    WINDSHIELD_NIR_TRANSMISSION,
)
from .image_sensor import background, expose, face_stats, normal_table
from .optics import (
    analyzer,
    coc_diameter,
    electrons_per_radiance_second,
    rotate_stokes,
    windshield_rt,
)
from .sky import STEP_DEG, Sky
from .textures import EYE_COLS, EYE_ROW, FACE_BOX, TEXTURE_PX, load_face
from .truth import FaceTruth, FrameTruth, VehicleTruth
from .world import CameraPose, Lamp, Placement, VehicleGeometry, World

__all__ = ["DEFAULT_LAYOUT", "Renderer", "Shot"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

#: SFNC PolarizedRaw layout "135° and 0° on even lines, 90° and 45° on odd lines" (the layout
#: of ``generic-sfnc2-polarized``; the camera's profile decides).
DEFAULT_LAYOUT: tuple[tuple[int, int], tuple[int, int]] = ((135, 0), (90, 45))
_GRID = (24, 48)  # rows, columns of the windshield optics grid
_MIN_DEPTH_M = 0.5


@dataclass(frozen=True)
class Shot:
    """What the camera asks of the world for one frame.

    ``t_s`` exposure start (world seconds), ``exposure_s`` (s), ``gain_db`` (dB);
    ``polarizer_deg`` the rotatable polarizer's transmission axis, counter-clockwise from the
    image rows (required for a ``"rotatable"`` camera, ignored otherwise); ``window``
    (x, y, width, height) in sensor pixels at the render scale; ``bit_depth`` 8 or 12;
    ``seed`` the frame's noise seed.
    """

    t_s: float
    exposure_s: float
    gain_db: float = 0.0
    polarizer_deg: float | None = None
    illumination: IlluminationState = field(default_factory=lambda: IlluminationState("off"))
    window: tuple[int, int, int, int] | None = None
    bit_depth: int = 8
    seed: int = 0
    noise: bool = True
    layout: tuple[tuple[int, int], tuple[int, int]] = DEFAULT_LAYOUT


@dataclass
class _Layer:
    """An image patch at (x, y) in frame pixels: ``data`` is (h, w, 2) float32 = premultiplied
    radiant exposure and coverage (interleaved: one OpenCV call fills or blurs both), or
    (h, w) for the cabin's radiance-only patch."""

    x: int
    y: int
    data: F32

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[0], self.data.shape[1]


@dataclass
class _Seen:
    """Where face ``index`` was seen (cabin id map at x, y in frame pixels) — to find nearer
    vehicles over it."""

    x: int
    y: int
    ids: NDArray[np.int16]
    inside: NDArray[np.bool_]
    index: int

    @property
    def mask(self) -> NDArray[np.bool_]:
        return (self.ids == self.index) & self.inside


class _FaceStats:
    """Per-face pixel counts and sums over one cabin id map, in one pass each (bincount)."""

    def __init__(self, ids: NDArray[np.int16], inside: NDArray[np.bool_], glare: F32,
                 signal: F32, n: int) -> None:
        self.ids, self.inside = ids, inside
        self.own, self.seen, self.glare, self.signal = face_stats(
            ids, inside.view(np.uint8), glare, signal, n)


@dataclass
class _Pol:
    """Analyzer set-up: ``angles`` is () for no polarizer, (θ,) for a rotatable one, or the
    four mosaic angles with each one's (row, column) parity on the sensor."""

    er: float
    angles: tuple[float, ...]
    phases: tuple[tuple[int, int], ...] = ()

    @property
    def unpolarized_gain(self) -> float:
        return 1.0 if not self.angles else 0.5 * (1.0 + 1.0 / self.er)


class Renderer:
    """Renders frames of one camera of a :class:`World` at a resolution ``scale`` (0–1].

    ``scale`` < 1 renders a proportionally smaller sensor with proportionally larger pixels
    (same field of view, same optics, blur and defocus in the larger pixels) while each
    rendered pixel keeps the signal and noise of one full-resolution pixel, so exposure
    decisions carry over: use it for quick CI runs.
    """

    def __init__(self, world: World, camera: str | None = None, scale: float = 1.0) -> None:
        self.world = world
        self.full_pose = world.camera(camera)
        self.pose: CameraPose = self.full_pose.scaled(scale)
        self.scale = scale
        self.sky = Sky(world.sun, self.pose.band, world.seed)
        band = self.pose.band.split("_")[0]
        # electrons of a *full-resolution* pixel: a scaled render keeps the signal and noise
        # statistics per pixel (as if each rendered pixel were one sensor pixel)
        self.k_e = electrons_per_radiance_second(
            self.full_pose.f_number, self.full_pose.pixel_m, self.pose.wavelength_m,
            QUANTUM_EFFICIENCY[band], OPTICS_TRANSMISSION)
        self._band = band

    # ------------------------------------------------------------------ static background
    @cached_property
    def background_radiance(self) -> F32:
        """Radiance (W·m⁻²·sr⁻¹) of the empty lane on the whole sensor (cached)."""
        p = self.pose
        right, down, fwd = p.axes()
        out = np.empty((p.height_px, p.width_px), np.float32)
        ground = np.array([self.sky.ground_radiance(ROAD_REFLECTANCE),
                           self.sky.ground_radiance(LANE_PAINT_REFLECTANCE),
                           self.sky.ground_radiance(VERGE_REFLECTANCE)])
        background(out, 0, 0, p.position, right, down, fwd, p.focal_px, (p.width_px - 1) / 2,
                   (p.height_px - 1) / 2, self.sky.radiance_map, self.sky.sun_dir,
                   self.sky.sun_lobe, self.sky.sigma, ground, self.world.lane_width_m / 2,
                   STEP_DEG)
        out.flags.writeable = False
        return out

    # ------------------------------------------------------------------ public
    def render(self, shot: Shot, out: NDArray | None = None) -> tuple[NDArray, FrameTruth]:  # type: ignore[type-arg]
        """Render ``shot``: returns the frame (uint8 for 8 bits, uint16 for 12) and its truth."""
        p = self.pose
        wx, wy, ww, wh = shot.window or (0, 0, p.width_px, p.height_px)
        if not (wx >= 0 and wy >= 0 and ww > 0 and wh > 0 and wx + ww <= p.width_px
                and wy + wh <= p.height_px):
            raise ValueError(f"window {shot.window} outside the {p.width_px}×{p.height_px} sensor")
        if shot.bit_depth not in (8, 12):
            raise ValueError("bit_depth must be 8 or 12")
        if not shot.exposure_s > 0:
            raise ValueError("exposure must be > 0 s")
        pol = self._polarizer(shot)
        ill = self._illumination(shot)
        t_mid = shot.t_s + shot.exposure_s / 2
        layers: list[_Layer] = []
        hits: list[tuple[int, FaceTruth, _Seen | None]] = []
        vtruth: list[VehicleTruth] = []
        for g in self.world.geometries(t_mid):
            layer, ftruth = self._vehicle(g, shot, pol, ill, (wx, wy, ww, wh), t_mid)
            if layer is not None:
                layers.append(layer)
            hits.extend((len(layers) - 1, ft, seen) for ft, seen in ftruth)
            box = (0.0, 0.0, 0.0, 0.0)
            if layer is not None:
                ws = self.pose.project(g.windshield)[0]
                box = (float(ws[:, 0].min() - wx), float(ws[:, 1].min() - wy),
                       float(ws[:, 0].max() - wx), float(ws[:, 1].max() - wy))
            vtruth.append(VehicleTruth(g.vehicle.name, g.range_m, float(-g.velocity[2]),
                                       layer is not None, box))
        faces = [_hidden_by_nearer(ft, seen, layers[i + 1:]) for i, ft, seen in hits]
        dtype = np.uint8 if shot.bit_depth == 8 else np.uint16
        if out is None:
            out = np.empty((wh, ww), dtype)
        elif out.shape != (wh, ww) or out.dtype != dtype:
            raise ValueError("output buffer has the wrong shape or dtype")
        gain = 10.0 ** (shot.gain_db / 20.0)
        dn_per_e = (2 ** ADC_BITS - 1) / FULL_WELL_E * gain
        bg = self.background_radiance[wy:wy + wh, wx:wx + ww]
        if not layers:  # one transparent pixel keeps the kernel's signature
            layers = [_Layer(wx, wy, np.zeros((1, 1, 2), np.float32))]
        origins = np.array([[lay.y - wy, lay.x - wx] for lay in layers], np.int64)
        expose(bg, shot.exposure_s * pol.unpolarized_gain, tuple(lay.data for lay in layers),
               origins, self.k_e, dn_per_e, FULL_WELL_E, READ_NOISE_E ** 2,
               np.uint64(shot.seed & 0xFFFFFFFFFFFFFFFF), wy, wx, normal_table(),
               shot.noise, 0 if shot.bit_depth == 12 else ADC_BITS - 8, out)
        pol_deg = math.degrees(pol.angles[0]) if len(pol.angles) == 1 else None
        truth = FrameTruth(shot.t_s, shot.exposure_s, shot.gain_db, pol_deg,
                           shot.illumination.mode, tuple(vtruth), tuple(faces))
        return out, truth

    # ------------------------------------------------------------------ set-up
    def _polarizer(self, shot: Shot) -> _Pol:
        p = self.pose
        if p.polarizer == "none":
            return _Pol(p.extinction_ratio, ())
        if p.polarizer == "rotatable":
            if shot.polarizer_deg is None or not math.isfinite(shot.polarizer_deg):
                raise ValueError("a rotatable-polarizer camera needs polarizer_deg per frame")
            return _Pol(p.extinction_ratio, (math.radians(shot.polarizer_deg),))
        angles, phases = [], []
        for r in range(2):
            for c in range(2):
                angles.append(math.radians(shot.layout[r][c]))
                phases.append((r, c))
        return _Pol(p.extinction_ratio, tuple(angles), tuple(phases))

    def _illumination(self, shot: Shot) -> float:
        """Seconds of full-brightness illuminator output inside the exposure."""
        s = shot.illumination
        if s.mode == "off":
            return 0.0
        if s.mode not in ("strobe", "continuous"):
            raise ValueError(f"illumination mode {s.mode!r}: the simulator needs off, strobe or "
                             "continuous")
        if s.brightness is None or not s.brightness >= 0:
            raise ValueError("illumination brightness must be set (fraction of rated, ≥ 0)")
        if s.mode == "strobe":
            if s.pulse_s is None or not s.pulse_s > 0:
                raise ValueError("a strobe needs pulse_s > 0")
            return min(s.pulse_s, shot.exposure_s) * s.brightness
        return shot.exposure_s * s.brightness

    # ------------------------------------------------------------------ vehicles
    def _illum_irradiance(self, pts: F64, normals: F64) -> F64:
        """Irradiance (W/m²) of every lamp at brightness 1 on points with normals."""
        total = np.zeros(len(pts))
        for lamp in self.world.lamps:
            d = np.asarray(lamp.position_m) - pts
            r = np.linalg.norm(d, axis=1)
            cos = np.clip(np.einsum("ij,ij->i", normals, d) / r, 0, None)
            total += lamp.intensity_towards(pts) * cos / (r * r)
        return total

    def _vehicle(self, g: VehicleGeometry, shot: Shot, pol: _Pol, ill_s: float,
                 win: tuple[int, int, int, int], t_mid: float
                 ) -> tuple[_Layer | None, list[tuple[FaceTruth, _Seen | None]]]:
        p = self.pose
        allpts = np.concatenate([g.windshield] + [c for _, c, _, _ in g.panels])
        uv, depth = p.project(allpts)
        missing: list[tuple[FaceTruth, _Seen | None]] = [
            (self._face_missing(g, pl), None) for pl in g.placements]
        if depth.min() < _MIN_DEPTH_M:
            return None, missing
        # motion blur and defocus at the windshield centre
        centre = g.windshield.mean(axis=0)
        dt = 1e-3
        (c0, c1), zc = p.project(np.stack([centre, centre + g.velocity * dt]))
        vel_px = (c1 - c0) / dt
        blur_vec = vel_px * shot.exposure_s
        coc_px = float(coc_diameter(p.focal_m, p.f_number, p.focus_m, zc[0])) / p.pixel_m
        pad = math.ceil(float(np.hypot(*blur_vec)) / 2 + coc_px) + 2
        x0 = max(math.floor(uv[:, 0].min()) - pad, win[0])
        y0 = max(math.floor(uv[:, 1].min()) - pad, win[1])
        x1 = min(math.ceil(uv[:, 0].max()) + pad + 1, win[0] + win[2])
        y1 = min(math.ceil(uv[:, 1].max()) + pad + 1, win[1] + win[3])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None, missing
        layer = _Layer(x0, y0, np.zeros((y1 - y0, x1 - x0, 2), np.float32))
        self._shadow(g, layer, shot)
        cam = p.position
        for _name, corners, normal, refl in g.panels:
            if float(normal @ (cam - corners.mean(axis=0))) <= 0:
                continue
            e_amb = float(self.sky.irradiance(normal)) * shot.exposure_s
            centre = corners.mean(axis=0)[None]
            e_ill = float(self._illum_irradiance(centre, normal[None])[0]) * ill_s
            val = refl * (e_amb + e_ill) / math.pi * pol.unpolarized_gain
            _fill(layer, p.project(corners)[0], val)
        faces = self._windshield(g, layer, shot, pol, ill_s, blur_vec, coc_px, vel_px)
        _blur(layer.data, blur_vec, coc_px)
        # faces outside the window still get truth (in_view False)
        return layer, faces

    def _face_missing(self, g: VehicleGeometry, pl: Placement) -> FaceTruth:
        dist = float(np.linalg.norm(pl.face_corners.mean(axis=0) - self.pose.position))
        return FaceTruth(g.vehicle.name, pl.occupant.seat, pl.occupant.face, False,
                         (0.0, 0.0, 0.0, 0.0), 0.0, (), 0.0, 0.0, 0.0, 0.0, dist, 0.0, False)

    def _shadow(self, g: VehicleGeometry, layer: _Layer, shot: Shot) -> None:
        """The car's contact shadow on the road: skylight only, half of it (ASSUMED)."""
        c = g.vehicle.vclass
        o = g.origin
        half, back = c.width_m / 2 + 0.1, c.length_m + 0.1
        foot = o + np.array([[-half, 0.005, -0.1], [half, 0.005, -0.1], [half, 0.005, back],
                             [-half, 0.005, back]])
        uv, _ = self.pose.project(foot)
        val = ROAD_REFLECTANCE * 0.5 * self.sky.e_diffuse / math.pi * shot.exposure_s
        _fill(layer, _convex(uv), val)

    # ------------------------------------------------------------------ windshield and cabin
    def _windshield(self, g: VehicleGeometry, layer: _Layer, shot: Shot, pol: _Pol, ill_s: float,
                    blur_vec: F64, coc_px: float, vel_px: F64
                    ) -> list[tuple[FaceTruth, _Seen | None]]:
        p = self.pose
        v = g.vehicle
        tau = v.nir_transmission if v.nir_transmission is not None else \
            WINDSHIELD_NIR_TRANSMISSION[v.windshield][self._band]
        ws_uv = p.project(g.windshield)[0]
        glass_uv = p.project(g.glass)[0]
        # pillars and roof header: dark trim
        trim = TRIM_REFLECTANCE * float(self.sky.irradiance(g.windshield_normal)) \
            * shot.exposure_s / math.pi
        _fill(layer, ws_uv, trim * pol.unpolarized_gain)
        gx0 = max(math.floor(glass_uv[:, 0].min()), layer.x)
        gy0 = max(math.floor(glass_uv[:, 1].min()), layer.y)
        gx1 = min(math.ceil(glass_uv[:, 0].max()) + 1, layer.x + layer.shape[1])
        gy1 = min(math.ceil(glass_uv[:, 1].max()) + 1, layer.y + layer.shape[0])
        if gx1 - gx0 < 2 or gy1 - gy0 < 2:
            return [(self._face_missing(g, pl), None) for pl in g.placements]
        sub = _Layer(gx0, gy0, np.empty((gy1 - gy0, gx1 - gx0), np.float32))
        # cabin interior, lit by skylight through the glazing and the illuminator
        e_cabin = self.sky.e_diffuse * CABIN_DIFFUSE_FRACTION * tau
        centre = g.windshield.mean(axis=0)
        e_ill_c = float(self._illum_irradiance(centre[None], -g.windshield_normal[None])[0])
        t_in = _mean_t(g.windshield_normal, self.world.lamps, centre) * tau
        sub.data[:] = CABIN_REFLECTANCE * (e_cabin * shot.exposure_s
                                           + e_ill_c * t_in * ill_s) / math.pi
        rear_dir = np.array([[0.0, math.sin(math.radians(5)), 1.0]])  # 5° above the horizon
        rear_dir /= np.linalg.norm(rear_dir)
        # behind the car: half horizon sky, half road and roadside (ASSUMED)
        rear_l = 0.5 * (float(self.sky.sample(rear_dir, with_sun=False)[0][0])
                        + self.sky.ground_radiance())
        _fill(sub, p.project(g.rear_window)[0], rear_l * SIDE_GLASS_NIR_TRANSMISSION
              * WINDOW_FRESNEL_T * shot.exposure_s)
        ids = np.full(sub.shape, -1, np.int16)
        order = sorted(g.placements, key=lambda pl: -float(
            np.linalg.norm(pl.face_corners.mean(axis=0) - p.position)))
        totals: dict[int, tuple[int, int]] = {}
        occl: dict[int, set[str]] = {}
        sunlit: dict[int, bool] = {}
        for pl in order:
            e_lamp = float(self._illum_irradiance(pl.torso_corners.mean(axis=0)[None],
                                                  np.array([[0.0, 0.0, -1.0]]))[0])
            e_torso = e_cabin * shot.exposure_s + e_lamp * t_in * ill_s
            tor = p.project(pl.torso_corners)[0]
            _fill(sub, tor, CLOTHING_REFLECTANCE * e_torso / math.pi)
            _fill_ids(ids, sub, tor, -2)
            head = p.project(pl.head_outline)[0]
            _fill(sub, head, HAIR_REFLECTANCE * e_torso / math.pi)
            _fill_ids(ids, sub, head, -2)
            tex, hidden, lit, reasons = self._face_texture(g, pl, shot, tau, t_in, ill_s, e_cabin)
            sunlit[pl.index] = lit
            occl[pl.index] = reasons
            totals[pl.index] = self._warp_face(sub, ids, pl, tex, hidden)
        glass = np.zeros(sub.shape, np.uint8)
        cv2.fillConvexPoly(glass, _fixed(glass_uv - [gx0, gy0]), 1, cv2.LINE_8, 4)
        trans, glare = self._glass_optics(g, glass_uv - [gx0, gy0], (gx0, gy0), sub.shape,
                                          shot, pol, tau)
        out = sub.data * trans
        out += glare
        inside = glass.view(bool)
        ly, lx = gy0 - layer.y, gx0 - layer.x
        region = layer.data[ly:ly + out.shape[0], lx:lx + out.shape[1]]
        np.copyto(region[..., 0], out, where=inside)
        np.copyto(region[..., 1], np.float32(1.0), where=inside)
        stats = _FaceStats(ids, inside, glare, out, len(g.placements))
        return [self._face_truth(g, pl, stats, totals[pl.index], occl[pl.index],
                                 sunlit[pl.index], sub, shot)
                for pl in g.placements]

    def _face_texture(self, g: VehicleGeometry, pl: Placement, shot: Shot, tau: float,
                      t_in: float, ill_s: float, e_cabin: float
                      ) -> tuple[F32, F32, bool, set[str]]:
        """Radiant exposure of the face texture (before the windshield) and its occluded mask."""
        occ = pl.occupant
        tex = load_face(occ.face)
        n = TEXTURE_PX
        rows = (np.arange(n) + 0.5) / n
        tl, tr, br, bl = pl.face_corners
        pts = (tl + tr) / 2 + np.outer(rows, (bl + br) / 2 - (tl + tr) / 2)
        sun_rows, visor_rows = self._sun_on_rows(g, pts, tau)  # W/m² normal to the rays
        reasons: set[str] = set()
        if visor_rows.any():
            reasons.add("visor_shadow")
        # the face is a half cylinder across its width: column c's surface normal turns by
        # φ = asin(0.85·(2c − 1)) about the face's up axis (ASSUMED head shape)
        side = (tr - tl) / np.linalg.norm(tr - tl)
        phi = np.arcsin(0.85 * (2 * (np.arange(n) + 0.5) / n - 1))
        normals = np.cos(phi)[:, None] * pl.face_normal + np.sin(phi)[:, None] * side  # (n, 3)
        sun_cos = np.clip(normals @ self.sky.sun_dir, 0.0, None)  # (n,) per column
        centre = pl.face_corners.mean(axis=0)
        lamp_cols = self._illum_irradiance(np.broadcast_to(centre, (n, 3)), normals) * t_in
        diffuse_cols = e_cabin * (0.75 + 0.25 * np.cos(phi))  # less sky on the cheeks
        hidden = np.zeros((n, n), np.float32)
        diffuse = np.broadcast_to(diffuse_cols, (n, n))
        if occ.hat:  # brim shade: no sun, half the skylight
            sun_rows = np.where(rows < HAT_SHADE, 0.0, sun_rows)
            diffuse = np.where((rows < HAT_SHADE)[:, None], 0.5 * diffuse, diffuse)
            reasons.add("hat")
        e_amb = sun_rows[:, None] * sun_cos[None, :] + diffuse
        exposure = (e_amb * shot.exposure_s + lamp_cols[None, :] * ill_s).astype(np.float32)
        rad = tex.grey * np.float32(SKIN_REFLECTANCE_MAX / math.pi) * exposure
        if occ.hat:
            crown = (rows < HAT_CROWN)[:, None] & (tex.mask > 0)
            rad = np.where(crown, np.float32(HAT_REFLECTANCE / math.pi) * exposure, rad)
            hidden[: int(HAT_HIDES * n)] = 1.0
        if occ.sunglasses:
            yy, xx = np.mgrid[0:n, 0:n]
            lens = np.zeros((n, n), bool)
            for ex in EYE_COLS:
                dx = ((xx + 0.5) / n - ex) / SUNGLASS_LENS[0]
                dy = ((yy + 0.5) / n - EYE_ROW) / SUNGLASS_LENS[1]
                lens |= dx ** 2 + dy ** 2 <= 1
            rad = np.where(lens, rad * np.float32(SUNGLASS_NIR_TRANSMISSION ** 2), rad)
            hidden[lens] = 1.0
            reasons.add("sunglasses")
        lit = bool(sun_rows[int(EYE_ROW * n)] * float(sun_cos[n // 2]) > 0)
        return rad.astype(np.float32), hidden, lit, reasons

    def _sun_on_rows(self, g: VehicleGeometry, pts: F64, tau: float
                     ) -> tuple[F64, NDArray[np.bool_]]:
        """Direct-sun irradiance (W/m², on a surface facing the sun) reaching face points
        inside the cabin through the glazing, and which rows a lowered visor shades."""
        n = len(pts)
        s = self.sky.sun_dir
        if self.sky.e_direct <= 0:
            return np.zeros(n), np.zeros(n, bool)
        v = g.vehicle
        c = v.vclass
        o = g.origin
        cand: list[tuple[F64, str]] = []
        nw = g.windshield_normal
        if s @ nw > 1e-9:
            cand.append((((g.windshield[0] - pts) @ nw) / (s @ nw), "windshield"))
        if s[1] > 1e-9:
            cand.append(((o[1] + c.roof_m - pts[:, 1]) / s[1], "roof"))
        if abs(s[0]) > 1e-9:
            side = o[0] + math.copysign(c.width_m / 2, s[0])
            cand.append(((side - pts[:, 0]) / s[0], "side"))
        if s[2] > 1e-9:
            cand.append(((o[2] + c.length_m - 0.9 - pts[:, 2]) / s[2], "rear"))
        ts = np.stack([np.where(t > 0, t, np.inf) for t, _ in cand])
        which = np.argmin(ts, axis=0)
        tmin = ts[which, np.arange(n)]
        hit = pts + tmin[:, None] * s
        trans = np.zeros(n)
        visor = np.zeros(n, bool)
        theta = math.acos(min(1.0, abs(float(s @ nw))))
        _, _, ts_, tp_ = windshield_rt(theta)
        for k, (_, kind) in enumerate(cand):
            sel = which == k
            if not sel.any():
                continue
            h = hit[sel]
            if kind == "windshield":
                ok = _in_quad(h, g.glass)
                trans[sel] = np.where(ok, tau * 0.5 * float(ts_ + tp_), 0.0)
                for vq in g.visors:
                    # ray from the face towards the sun crossing the visor plane
                    vn = np.cross(vq[1] - vq[0], vq[3] - vq[0])
                    vn /= np.linalg.norm(vn)
                    den = s @ vn
                    if abs(den) < 1e-9:
                        continue
                    tv = ((vq[0] - pts[sel]) @ vn) / den
                    hv = pts[sel] + tv[:, None] * s
                    blocked = (tv > 0) & _in_quad(hv, vq)
                    visor[np.flatnonzero(sel)[blocked]] = True
                    trans[np.flatnonzero(sel)[blocked]] = 0.0
            elif kind == "side":
                y = h[:, 1] - o[1]
                ok = (y > c.windshield_base_m + 0.02) & (y < c.roof_m - 0.05)
                trans[sel] = np.where(ok, SIDE_GLASS_NIR_TRANSMISSION * WINDOW_FRESNEL_T, 0.0)
            elif kind == "rear":
                y = h[:, 1] - o[1]
                trans[sel] = np.where(y > c.windshield_base_m + 0.05,
                                      SIDE_GLASS_NIR_TRANSMISSION * WINDOW_FRESNEL_T, 0.0)
        return self.sky.e_direct * trans, visor

    def _warp_face(self, sub: _Layer, ids: NDArray[np.int16], pl: Placement, rad: F32,
                   hidden: F32) -> tuple[int, int]:
        """Warp one face into the cabin layer; mark its pixels in ``ids``; return its pixel
        count and how many of those an accessory hides."""
        uv = self.pose.project(pl.face_corners)[0] - [sub.x, sub.y]
        h, w = sub.shape
        x0 = max(math.floor(uv[:, 0].min()), 0)
        y0 = max(math.floor(uv[:, 1].min()), 0)
        x1 = min(math.ceil(uv[:, 0].max()) + 1, w)
        y1 = min(math.ceil(uv[:, 1].max()) + 1, h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            return 0, 0
        n = TEXTURE_PX
        src = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float32) - 0.5
        hmat = np.asarray(cv2.getPerspectiveTransform(src, (uv - [x0, y0]).astype(np.float32)),
                          np.float64)
        stack = np.dstack([rad, load_face(pl.occupant.face).mask, hidden])
        warped = cv2.warpPerspective(stack, hmat, (x1 - x0, y1 - y0), flags=cv2.INTER_AREA
                                     if _minifies(hmat, n) else cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if warped.ndim == 2:
            warped = warped[:, :, None]
        r, m, hid = warped[..., 0], warped[..., 1], warped[..., 2]
        region = sub.data[y0:y1, x0:x1]
        region *= 1.0 - m
        region += r * m
        face_px = m > 0.5
        idr = ids[y0:y1, x0:x1]
        idr[face_px] = pl.index
        covered = face_px & (hid > 0.5)
        idr[covered] = -3
        return int(face_px.sum()), int(covered.sum())

    def _glass_optics(self, g: VehicleGeometry, glass_uv: F64, origin: tuple[int, int],
                      shape: tuple[int, int], shot: Shot, pol: _Pol, tau: float
                      ) -> tuple[F32, F32]:
        """Per-pixel cabin transmission factor and reflected radiant exposure, through the
        analyzer, computed on a coarse grid over the glass and warped onto it."""
        p = self.pose
        gh, gw = _GRID
        s = (np.arange(gw) + 0.5) / gw
        t = (np.arange(gh) + 0.5) / gh
        ss, tt = np.meshgrid(s, t)
        tl, tr, br, bl = g.glass
        top = tl[None, None] + ss[..., None] * (tr - tl)
        bot = bl[None, None] + ss[..., None] * (br - bl)
        pts = (top + tt[..., None] * (bot - top)).reshape(-1, 3)
        d = pts - p.position
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        nrm = g.windshield_normal
        dn = d @ nrm
        theta = np.arccos(np.clip(np.abs(dn), 0, 1))
        rs, rp, ts, tp = windshield_rt(theta)
        refl = d - 2 * dn[:, None] * nrm
        lsky, dop, evec = self.sky.sample(refl)
        s_hat = np.cross(nrm, d)
        s_hat /= np.maximum(np.linalg.norm(s_hat, axis=1, keepdims=True), 1e-12)
        p_in = np.cross(refl, s_hat)
        chi = np.arctan2(np.einsum("ij,ij->i", evec, p_in), np.einsum("ij,ij->i", evec, s_hat))
        gi = 0.5 * ((rs + rp) * lsky + (rs - rp) * lsky * dop * np.cos(2 * chi))
        gq = 0.5 * ((rs - rp) * lsky + (rs + rp) * lsky * dop * np.cos(2 * chi))
        gu = np.sqrt(rs * rp) * lsky * dop * np.sin(2 * chi)
        right, down, _ = p.axes()
        psi = np.arctan2(-(s_hat @ down), s_hat @ right)
        gqc, guc = rotate_stokes(gq, gu, psi)
        ti, tq = 0.5 * (ts + tp) * tau, 0.5 * (ts - tp) * tau
        tqc, tuc = rotate_stokes(tq, 0.0, psi)
        exp = shot.exposure_s
        if not pol.angles:
            planes = [ti, gi * exp]
        else:
            planes = [analyzer(ti, tqc, tuc, a, pol.er) for a in pol.angles] + \
                     [analyzer(gi, gqc, guc, a, pol.er) * exp for a in pol.angles]
        grid = np.stack([pl.reshape(gh, gw) for pl in planes], -1).astype(np.float32)
        src = np.array([[-0.5, -0.5], [gw - 0.5, -0.5], [gw - 0.5, gh - 0.5], [-0.5, gh - 0.5]],
                       np.float32)
        # the fields are smooth: warp at ¼ resolution, then upsample
        q = 4
        small = (max(1, -(-shape[0] // q)), max(1, -(-shape[1] // q)))
        dst = (glass_uv + 0.5) / q - 0.5
        hmat = np.asarray(cv2.getPerspectiveTransform(src, dst.astype(np.float32)), np.float64)
        k = len(planes)
        warped = np.concatenate([
            _warp(grid[..., i:i + 4], hmat, small, shape) for i in range(0, k, 4)], axis=-1)
        half = k // 2
        if half == 1:
            return warped[..., 0], warped[..., 1]
        trans = np.empty(shape, np.float32)
        glare = np.empty(shape, np.float32)
        for i, (pr, pc) in enumerate(pol.phases):
            r0, c0 = (pr - origin[1]) % 2, (pc - origin[0]) % 2
            trans[r0::2, c0::2] = warped[r0::2, c0::2, i]
            glare[r0::2, c0::2] = warped[r0::2, c0::2, half + i]
        return trans, glare

    def _face_truth(self, g: VehicleGeometry, pl: Placement, st: _FaceStats,
                    counts: tuple[int, int], reasons: set[str], lit: bool, sub: _Layer,
                    shot: Shot) -> tuple[FaceTruth, _Seen | None]:
        p = self.pose
        dist = float(np.linalg.norm(pl.face_corners.mean(axis=0) - p.position))
        total, hidden = counts
        if total == 0:
            return self._face_missing(g, pl), None
        k = pl.index
        n_seen, n_own = int(st.seen[k]), int(st.own[k])
        vis = n_seen / total
        reasons = set(reasons)
        if n_own > n_seen:
            reasons.add("frame")
        if total - hidden - n_own > 0.002 * total:
            reasons.add("occupant")
        glare_frac = glare_rad = 0.0
        if n_seen:
            g_sum = float(st.glare[k])
            glare_frac = g_sum / max(float(st.signal[k]), 1e-30)
            glare_rad = g_sum / n_seen / shot.exposure_s
        x0f, y0f, x1f, y1f = FACE_BOX
        box3 = np.stack([_bilerp(pl.face_corners, x, y) for x, y in
                         ((x0f, y0f), (x1f, y0f), (x1f, y1f), (x0f, y1f))])
        buv = p.project(box3)[0]
        wx, wy = (shot.window or (0, 0, 0, 0))[:2]
        box = (float(buv[:, 0].min() - wx), float(buv[:, 1].min() - wy),
               float(buv[:, 0].max() - wx), float(buv[:, 1].max() - wy))
        eyes = p.project(np.stack([_bilerp(pl.face_corners, EYE_COLS[0], EYE_ROW),
                                   _bilerp(pl.face_corners, EYE_COLS[1], EYE_ROW)]))[0]
        # blur of this face: its own image velocity (looming differs across the car)
        c = pl.face_corners.mean(axis=0)
        dt = 1e-3
        (a0, a1), _ = p.project(np.stack([c, c + g.velocity * dt]))
        mb = float(np.linalg.norm(a1 - a0) / dt * shot.exposure_s)
        dz = float(p.project(c[None])[1][0])
        coc = float(coc_diameter(p.focal_m, p.f_number, p.focus_m, dz)) / p.pixel_m
        return FaceTruth(g.vehicle.name, pl.occupant.seat, pl.occupant.face, True, box,
                         min(1.0, vis), tuple(sorted(reasons)), glare_frac, glare_rad, mb, coc,
                         dist, float(np.linalg.norm(eyes[1] - eyes[0])), lit), \
            _Seen(sub.x, sub.y, st.ids, st.inside, k)


# ---------------------------------------------------------------------- helpers
def _hidden_by_nearer(ft: FaceTruth, seen: _Seen | None, nearer: list[_Layer]) -> FaceTruth:
    """Reduce a face's visibility by the part nearer vehicles cover (coverage > ½)."""
    if seen is None or not nearer:
        return ft
    n = int(seen.mask.sum())
    if n == 0:
        return ft
    covered = np.zeros(seen.mask.shape, bool)
    h, w = seen.mask.shape
    for lay in nearer:
        x0, y0 = max(seen.x, lay.x), max(seen.y, lay.y)
        x1 = min(seen.x + w, lay.x + lay.shape[1])
        y1 = min(seen.y + h, lay.y + lay.shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        a = lay.data[y0 - lay.y:y1 - lay.y, x0 - lay.x:x1 - lay.x, 1] > 0.5
        covered[y0 - seen.y:y1 - seen.y, x0 - seen.x:x1 - seen.x] |= a
    frac = float((covered & seen.mask).sum()) / n
    if frac <= 0.002:
        return ft
    return replace(ft, visibility=ft.visibility * (1.0 - frac),
                   occluders=tuple(sorted({*ft.occluders, "vehicle"})))


def _bilerp(q: F64, x: float, y: float) -> F64:
    tl, tr, br, bl = q
    top = tl + x * (tr - tl)
    bot = bl + x * (br - bl)
    return top + y * (bot - top)


def _in_quad(pts: F64, quad: F64) -> NDArray[np.bool_]:
    """Whether points lying in a planar convex quad's plane are inside it."""
    inside = np.ones(len(pts), bool)
    nrm = np.cross(quad[1] - quad[0], quad[3] - quad[0])
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        inside &= (np.cross(b - a, pts - a) @ nrm) >= 0
    return inside


def _mean_t(normal: F64, lamps: Sequence[Lamp], at: F64) -> float:
    """Unpolarized windshield transmittance (no absorption) for light from the lamps."""
    if not lamps:
        return 0.0
    ts = []
    for lamp in lamps:
        d = np.asarray(lamp.position_m) - at
        cos = abs(float(d @ normal)) / float(np.linalg.norm(d))
        _, _, a, b = windshield_rt(math.acos(min(1.0, cos)))
        ts.append(0.5 * float(a + b))
    return float(np.mean(ts))


def _fixed(uv: F64) -> NDArray[np.int32]:
    return np.round(np.asarray(uv) * 16).astype(np.int32)


def _convex(uv: F64) -> F64:
    hull = cv2.convexHull(uv.astype(np.float32))
    return hull.reshape(-1, 2).astype(np.float64)


def _fill(layer: _Layer, uv: F64, value: float) -> None:
    """Fill a convex polygon (frame pixels) with radiant exposure ``value`` (and coverage 1)."""
    pts = _fixed(_convex(uv - [layer.x, layer.y]))
    color = (float(value), 1.0) if layer.data.ndim == 3 else float(value)
    cv2.fillConvexPoly(layer.data, pts, color, cv2.LINE_8, 4)


def _fill_ids(ids: NDArray[np.int16], sub: _Layer, uv: F64, value: int) -> None:
    cv2.fillConvexPoly(ids, _fixed(_convex(uv - [sub.x, sub.y])), int(value), cv2.LINE_8, 4)


def _minifies(hmat: F64, n: int) -> bool:
    corners = cv2.perspectiveTransform(np.array([[[0, 0], [n, 0]]], np.float32), hmat)[0]
    return float(np.linalg.norm(corners[1] - corners[0])) < n / 2


def _warp(img: F32, hmat: F64, small: tuple[int, int], shape: tuple[int, int]) -> F32:
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


def _blur(data: F32, blur_vec: F64, coc_px: float) -> None:
    """Motion blur along ``blur_vec`` then defocus, in place.  The defocus disc of diameter c is
    approximated by the Gaussian of equal second moment, σ = c/4 (separable, fast); a blur
    circle under 1 px is left out."""
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

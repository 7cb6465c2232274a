"""Render one camera frame of the world: radiance, optics, sensor — and its ground truth.

Pipeline per frame (all vectorised or compiled; no per-pixel Python):

1. Static background radiance (road, paint, verge, sky) — one Numba pass per camera, cached.
2. Per vehicle (far to near), a premultiplied radiance-exposure layer over the vehicle's
   bounding box: flat-shaded body panels (sun, sky, NIR lamps with 1/r²), and the
   windshield — the cabin and occupants (3-D heads ray-cast against one depth buffer, the
   real face textures on their front, lit per texel with the head's normals by sun through
   the glazing, shadowed by roof, pillars, visors and cap brims; caps, hands, phones and
   headrests occlude by depth: :mod:`~lanecam.sim.occupants`), transmitted
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

The steps live in rooms of their own: :mod:`~lanecam.sim.faces` (face lighting, warping and
truth), :mod:`~lanecam.sim.glass` (windshield transmission and glare through the analyzer),
:mod:`~lanecam.sim.lighting` (lamps, sun through the glazing) and :mod:`~lanecam.sim.raster`
(layers, fills, warps, blur); this module puts one frame together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np
from numpy.typing import NDArray

from ..frames import IlluminationState
from .board import board_layers
from .constants import (
    ADC_BITS,
    CABIN_DIFFUSE_FRACTION,
    CABIN_REFLECTANCE,
    FULL_WELL_E,
    LANE_PAINT_REFLECTANCE,
    OPTICS_TRANSMISSION,
    QUANTUM_EFFICIENCY,
    READ_NOISE_E,
    ROAD_REFLECTANCE,
    SIDE_GLASS_NIR_TRANSMISSION,
    TRIM_REFLECTANCE,
    VERGE_REFLECTANCE,
    WINDOW_FRESNEL_T,
    WINDSHIELD_NIR_TRANSMISSION,
)
from .faces import FaceSeen, FaceStats, HeadView, face_missing, face_truth, hidden_by_nearer
from .glass import Polarizer, glass_optics
from .image_sensor import background, expose, normal_table
from .lighting import lamp_irradiance, lamp_transmittance
from .occupants import draw_occupants
from .optics import coc_diameter, electrons_per_radiance_second
from .raster import F32, F64, Layer, blur, convex, fill, fixed_point
from .side_glass import SIDE_VIEWS, draw_side_windows
from .sky import STEP_DEG, Sky
from .truth import FaceTruth, FrameTruth, VehicleTruth
from .vehicles import VehicleGeometry
from .world import CameraPose, World

__all__ = ["DEFAULT_LAYOUT", "Renderer", "Shot"]

#: SFNC PolarizedRaw layout "135° and 0° on even lines, 90° and 45° on odd lines" (the layout
#: of ``generic-sfnc2-polarized``; the camera's profile decides).
DEFAULT_LAYOUT: tuple[tuple[int, int], tuple[int, int]] = ((135, 0), (90, 45))
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
        # (a pinhole at fx: the road and sky are smooth enough to leave distortion out)
        background(out, 0, 0, p.position, right, down, fwd, p.focal_xy[0], *p.principal,
                   self.sky.radiance_map, self.sky.sun_dir,
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
        layers: list[Layer] = []
        hits: list[tuple[int, FaceTruth, FaceSeen | None]] = []
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
        # calibration boards, over the vehicles (a board rides on a bumper, in front of it)
        layers += board_layers(self.pose, self.sky, self.world.lamps, self.world.boards, t_mid,
                               shot.exposure_s, ill, pol.unpolarized_gain, (wx, wy, ww, wh))
        faces = [hidden_by_nearer(ft, seen, layers[i + 1:]) for i, ft, seen in hits]
        dtype = np.uint8 if shot.bit_depth == 8 else np.uint16
        if out is None:
            out = np.empty((wh, ww), dtype)
        elif out.shape != (wh, ww) or out.dtype != dtype:
            raise ValueError("output buffer has the wrong shape or dtype")
        gain = 10.0 ** (shot.gain_db / 20.0)
        dn_per_e = (2 ** ADC_BITS - 1) / FULL_WELL_E * gain
        bg = self.background_radiance[wy:wy + wh, wx:wx + ww]
        if not layers:  # one transparent pixel keeps the kernel's signature
            layers = [Layer(wx, wy, np.zeros((1, 1, 2), np.float32))]
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
    def _polarizer(self, shot: Shot) -> Polarizer:
        """The analyzer for ``shot``: none, the rotatable one at its angle, or the mosaic."""
        p = self.pose
        if p.polarizer == "none":
            return Polarizer(p.extinction_ratio, ())
        if p.polarizer == "rotatable":
            if shot.polarizer_deg is None or not math.isfinite(shot.polarizer_deg):
                raise ValueError("a rotatable-polarizer camera needs polarizer_deg per frame")
            return Polarizer(p.extinction_ratio, (math.radians(shot.polarizer_deg),))
        angles, phases = [], []
        for r in range(2):
            for c in range(2):
                angles.append(math.radians(shot.layout[r][c]))
                phases.append((r, c))
        return Polarizer(p.extinction_ratio, tuple(angles), tuple(phases))

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
    def _vehicle(self, g: VehicleGeometry, shot: Shot, pol: Polarizer, ill_s: float,
                 win: tuple[int, int, int, int], t_mid: float
                 ) -> tuple[Layer | None, list[tuple[FaceTruth, FaceSeen | None]]]:
        """One vehicle's layer over its blurred bounding box in window ``win`` (x, y, w, h px):
        shadow, lit body panels, windshield; None when not in view (each face's truth all the
        same).  ``ill_s`` is seconds of full illuminator output in the exposure."""
        p = self.pose
        allpts = np.concatenate([g.windshield] + [c for _, c, _, _ in g.panels])
        uv, depth = p.project(allpts)
        missing: list[tuple[FaceTruth, FaceSeen | None]] = [
            (face_missing(self.pose, g, pl), None) for pl in g.placements]
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
        layer = Layer(x0, y0, np.zeros((y1 - y0, x1 - x0, 2), np.float32))
        self._shadow(g, layer, shot)
        cam = p.position
        for _name, corners, normal, refl in g.panels:
            if float(normal @ (cam - corners.mean(axis=0))) <= 0:
                continue
            e_amb = float(self.sky.irradiance(normal)) * shot.exposure_s
            centre = corners.mean(axis=0)[None]
            e_ill = float(lamp_irradiance(self.world.lamps, centre, normal[None])[0]) * ill_s
            val = refl * (e_amb + e_ill) / math.pi * pol.unpolarized_gain
            fill(layer, p.project(corners)[0], val)
        faces = self._windshield(g, layer, shot, pol, ill_s)
        if p.view in SIDE_VIEWS:  # side cameras: the door glass too (sim/side_glass.py)
            faces = draw_side_windows(self, g, layer, shot, pol, ill_s, faces)
        blur(layer.data, blur_vec, coc_px)
        # faces outside the window still get truth (in_view False)
        return layer, faces

    def _shadow(self, g: VehicleGeometry, layer: Layer, shot: Shot) -> None:
        """The car's contact shadow on the road: skylight only, half of it (ASSUMED)."""
        c = g.vehicle.vclass
        o = g.origin
        half, back = c.width_m / 2 + 0.1, c.length_m + 0.1
        foot = o + np.array([[-half, 0.005, -0.1], [half, 0.005, -0.1], [half, 0.005, back],
                             [-half, 0.005, back]])
        uv, _ = self.pose.project(foot)
        val = ROAD_REFLECTANCE * 0.5 * self.sky.e_diffuse / math.pi * shot.exposure_s
        fill(layer, convex(uv), val)

    # ------------------------------------------------------------------ windshield and cabin
    def _windshield(self, g: VehicleGeometry, layer: Layer, shot: Shot, pol: Polarizer,
                    ill_s: float) -> list[tuple[FaceTruth, FaceSeen | None]]:
        """Draw the windshield into ``layer``: trim, then the cabin with its occupants seen
        through the glass with the reflected glare; returns each face's truth."""
        p = self.pose
        v = g.vehicle
        tau = v.nir_transmission if v.nir_transmission is not None else \
            WINDSHIELD_NIR_TRANSMISSION[v.windshield][self._band]
        ws_uv = p.project(g.windshield)[0]
        glass_uv = p.project(g.glass)[0]
        # pillars and roof header: dark trim
        trim = TRIM_REFLECTANCE * float(self.sky.irradiance(g.windshield_normal)) \
            * shot.exposure_s / math.pi
        fill(layer, ws_uv, trim * pol.unpolarized_gain)
        gx0 = max(math.floor(glass_uv[:, 0].min()), layer.x)
        gy0 = max(math.floor(glass_uv[:, 1].min()), layer.y)
        gx1 = min(math.ceil(glass_uv[:, 0].max()) + 1, layer.x + layer.shape[1])
        gy1 = min(math.ceil(glass_uv[:, 1].max()) + 1, layer.y + layer.shape[0])
        if gx1 - gx0 < 2 or gy1 - gy0 < 2:
            return [(face_missing(p, g, pl), None) for pl in g.placements]
        sub = Layer(gx0, gy0, np.empty((gy1 - gy0, gx1 - gx0), np.float32))
        e_cabin, t_in = self._cabin(g, sub, shot, ill_s, tau)
        ids = np.full(sub.shape, -1, np.int16)
        seen = self._occupants(g, sub, ids, shot, ill_s, tau, t_in, e_cabin)
        stats = self._through_glass(g, layer, sub, ids, glass_uv, shot, pol, tau)
        return [face_truth(p, g, pl, stats, seen[pl.index][0], seen[pl.index][1],
                           seen[pl.index][2], sub, shot.exposure_s, shot.window)
                for pl in g.placements]

    def _cabin(self, g: VehicleGeometry, sub: Layer, shot: Shot, ill_s: float, tau: float
               ) -> tuple[float, float]:
        """Fill ``sub`` with the cabin interior, lit by skylight through the glazing and the
        illuminator, and the rear window; returns the diffuse cabin irradiance (W/m²) and the
        windshield's Fresnel transmittance for the lamps' light."""
        e_cabin = self.sky.e_diffuse * CABIN_DIFFUSE_FRACTION * tau
        centre = g.windshield.mean(axis=0)
        e_ill_c = float(lamp_irradiance(self.world.lamps, centre[None],
                                        -g.windshield_normal[None])[0])
        t_in = lamp_transmittance(g.windshield_normal, self.world.lamps, centre) * tau
        sub.data[:] = CABIN_REFLECTANCE * (e_cabin * shot.exposure_s
                                           + e_ill_c * t_in * ill_s) / math.pi
        rear_dir = np.array([[0.0, math.sin(math.radians(5)), 1.0]])  # 5° above the horizon
        rear_dir /= np.linalg.norm(rear_dir)
        # behind the car: half horizon sky, half road and roadside (ASSUMED)
        rear_l = 0.5 * (float(self.sky.sample(rear_dir, with_sun=False)[0][0])
                        + self.sky.ground_radiance())
        fill(sub, self.pose.project(g.rear_window)[0], rear_l * SIDE_GLASS_NIR_TRANSMISSION
             * WINDOW_FRESNEL_T * shot.exposure_s)
        return e_cabin, t_in

    def _occupants(self, g: VehicleGeometry, sub: Layer, ids: NDArray[np.int16], shot: Shot,
                   ill_s: float, tau: float, t_in: float, e_cabin: float
                   ) -> dict[int, tuple[HeadView, set[str], bool]]:
        """Draw the occupants (torsos, then heads and what they wear or hold, and headrests,
        by depth) into ``sub`` and ``ids``: :func:`~lanecam.sim.occupants.draw_occupants`."""
        return draw_occupants(self.pose, self.sky, self.world.lamps, g, sub, ids,
                              shot.exposure_s, ill_s, tau, t_in, e_cabin)

    def _glass_optics(self, g: VehicleGeometry, glass_uv: F64, origin: tuple[int, int],
                      shape: tuple[int, int], shot: Shot, pol: Polarizer, tau: float
                      ) -> tuple[F32, F32]:
        """This camera's view of the glass (:func:`~lanecam.sim.glass.glass_optics`): cabin
        transmission factor and reflected radiant exposure per patch pixel.  A method of the
        renderer so evaluation code can switch the glare off for one camera
        (``tests/quality/test_dofp.py``)."""
        return glass_optics(self.pose, self.sky, g, glass_uv, origin, shape, shot.exposure_s,
                            pol, tau)

    def _through_glass(self, g: VehicleGeometry, layer: Layer, sub: Layer,
                       ids: NDArray[np.int16], glass_uv: F64, shot: Shot, pol: Polarizer,
                       tau: float) -> FaceStats:
        """Composite the cabin ``sub`` through the glass (transmission plus reflected glare)
        into ``layer`` inside the glass outline ``glass_uv`` (frame px); the faces' stats."""
        gx0, gy0 = sub.x, sub.y
        glass = np.zeros(sub.shape, np.uint8)
        cv2.fillConvexPoly(glass, fixed_point(glass_uv - [gx0, gy0]), 1, cv2.LINE_8, 4)
        trans, glare = self._glass_optics(g, glass_uv - [gx0, gy0], (gx0, gy0), sub.shape,
                                          shot, pol, tau)
        out = sub.data * trans
        out += glare
        inside = glass.view(bool)
        ly, lx = gy0 - layer.y, gx0 - layer.x
        region = layer.data[ly:ly + out.shape[0], lx:lx + out.shape[1]]
        np.copyto(region[..., 0], out, where=inside)
        np.copyto(region[..., 1], np.float32(1.0), where=inside)
        return FaceStats(ids, inside, glare, out, len(g.placements))

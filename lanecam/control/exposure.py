"""Closed-loop exposure, gain and NIR strobe control on the occupants' faces.

The loop meters the **face**, never the whole frame: the lane measures the predicted face ROIs
of frame k (:func:`lanecam.quality.kernels.region_stats` on the face box found inside the
occupant ROI) and asks :meth:`ExposureController.update` for frame k+1's settings.  The sky
mirrored in the windshield may clip; the face must not.

Model.  With the strobe pulse aligned with the exposure (``pulse = exposure``, the lamp
synchronous with the shutter, physics_quality.md §2.3), the face's recorded signal is

    S = (A + B·b)·t·g          (A ambient, B lamp per unit brightness b, t exposure, g linear gain)

so for a fixed brightness b the signal is linear in ``t·g`` and one measurement gives the
multiplier to the target (a dead-beat step, damped by ``step_exponent``).  Brightness is
therefore chosen **once per burst**, before the first frame: the highest whole-percent
brightness the eye-safety interlock allows for the longest pulse the burst may use
(:class:`PulseBudget`); shorter pulses at that brightness are always within the interlock
(every limit of :class:`~lanecam.devices.illuminators.EyeSafetyInterlock` grows with the pulse
width at a fixed brightness and rate).  More lamp light against the same ambient raises the
face against the veiling windshield glare (the glare is ambient light only).

Allocation of the wanted ``t·g``: exposure first, up to the motion-blur bound of the tracked
speed (physics_quality.md §3.1) and the camera's live limits; then gain, up to the noise budget;
downwards, gain first (to its floor), then exposure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..devices.illuminators import EyeSafetyInterlock, IlluminatorProfile, PulseSetting
from ..errors import ConfigError, LimitError
from ..quality.faces import Face, FaceFinder
from ..quality.kernels import Roi, region_stats

__all__ = [
    "DEFAULT_TARGET_DN8",
    "DEFAULT_MAX_GAIN_DB",
    "FaceMeasurement",
    "ExposureBounds",
    "ExposureSettings",
    "PulseBudget",
    "ExposureController",
    "FaceMeter",
]

DEFAULT_TARGET_DN8 = 110.0
"""Target mean face luminance (DN8).  Mid-scale (≈ 0.43 of full scale) leaves more than a stop
of head-room to the OFIQ over-exposure bins [247, 255] for the highlights of a lit face
(kernels.OVER_EXPOSURE_MIN) and keeps the mean far above the under-exposure bins [0, 25]."""

DEFAULT_MAX_GAIN_DB = 24.0
"""Gain noise budget (dB).  On a 12-bit, 10.7 ke⁻ full-well sensor (lanecam.sim.constants,
IMX250 class) unity gain (1 DN12/e⁻) is 20·log10(10700/4095) = 8.3 dB; at 24 dB one electron is
≈ 6 DN12, so the read noise (2.9 e⁻) and quantisation are already far below the shot noise of
a face at the target, and more gain only multiplies noise."""

CLIP_LIMIT = 0.01
"""Largest share of face pixels allowed in the over-exposure bins [247, 255] (1 %)."""

CLIP_BACKOFF = 0.5
"""Multiplier applied when the face clips beyond :data:`CLIP_LIMIT`: a clipped mean
under-states the true level, so step down by at least one stop."""

MAX_STEP_UP = 2.0
"""Largest brightening per frame (one stop): a face metered dark may sit beside an unmetered
brighter one (not found in that frame), which a dead-beat step would clip."""

BRACKET_SPREAD = 1.5
"""Faces metered in one frame further apart than this factor make the scene uncertain: one
setting cannot put them all at the target."""

BRACKET_MIN_STOPS = 1.0
"""Smallest bracket step (stops): a face that was not found at all is at least this far off."""

UNMETERED_LAMP_SHARE = 0.5
"""ASSUMED share of the face signal due to the lamp at the configured brightness, used only to
scale the gain of the first (unmetered) frame when the burst's brightness differs."""


@dataclass(frozen=True)
class FaceMeasurement:
    """What the lane measured on one face of the last frame (DN8 units, fractions 0–1)."""

    mean: float
    over_exposed: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.mean >= 0):
            raise LimitError("face mean must be finite and >= 0 DN8", feature="mean")
        if not (math.isfinite(self.over_exposed) and 0 <= self.over_exposed <= 1):
            raise LimitError("over_exposed is a fraction", feature="over_exposed",
                             allowed=(0.0, 1.0))


@dataclass(frozen=True)
class ExposureBounds:
    """Hard limits for one frame: exposure (s) from the camera's live limits and the motion-
    blur bound, gain (dB) from the camera's limits and the noise budget."""

    exposure_min_s: float
    exposure_max_s: float
    gain_min_db: float
    gain_max_db: float

    def __post_init__(self) -> None:
        if not (0 < self.exposure_min_s and math.isfinite(self.exposure_max_s)):
            raise LimitError("exposure bounds must be > 0 s and finite", feature="exposure_time")
        if not self.exposure_min_s <= self.exposure_max_s:
            raise LimitError(
                f"the blur bound {self.exposure_max_s:.3g} s is below the camera's minimum "
                f"exposure {self.exposure_min_s:.3g} s", feature="exposure_time",
                allowed=(self.exposure_min_s, self.exposure_max_s))
        if not (math.isfinite(self.gain_min_db) and math.isfinite(self.gain_max_db)
                and self.gain_min_db <= self.gain_max_db):
            raise LimitError("need finite gain bounds with min <= max", feature="gain")

    @classmethod
    def of(cls, camera_exposure_s: tuple[float, float], blur_bound_s: float,
           camera_gain_db: tuple[float, float], noise_budget_db: float) -> ExposureBounds:
        """Intersect the camera's live limits with the blur bound and the noise budget."""
        lo, hi = camera_exposure_s
        glo, ghi = camera_gain_db
        return cls(lo, min(hi, blur_bound_s), glo, max(glo, min(ghi, noise_budget_db)))


@dataclass(frozen=True)
class ExposureSettings:
    """One frame's settings: exposure (s), gain (dB), strobe pulse (s) and brightness (1.0 =
    100 % rated current); ``pulse_s``/``brightness`` are None without a controlled lamp.
    ``limited_by`` says which limit held the last step back (``""`` when none did)."""

    exposure_s: float
    gain_db: float
    pulse_s: float | None = None
    brightness: float | None = None
    limited_by: str = ""

    @property
    def linear(self) -> float:
        """``t·g``: exposure times linear gain (the signal scale at fixed brightness)."""
        return self.exposure_s * 10.0 ** (self.gain_db / 20.0)


class PulseBudget:
    """The strobe's allowance under the eye-safety interlock of an illuminator profile.

    ``rate_hz``: the highest pulse rate the controller will be asked for (the camera's frame
    rate; the controller's retrigger delay enforces it); brightness in whole percent (the
    Gardasoft RT wire step); pulse width in 1 µs steps (profile header).
    """

    STEP = 0.01  # whole percent of rated current (Gardasoft RT wire format)

    def __init__(self, profile: IlluminatorProfile, rate_hz: float) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise ConfigError("pulse rate must be > 0 Hz", key="rate_hz")
        self.profile = profile
        self.interlock = EyeSafetyInterlock(profile)
        self.rate_hz = rate_hz
        step = profile.retrigger_step_s
        self.min_period_s = math.ceil(1.0 / rate_hz / step - 1e-9) * step

    def setting(self, width_s: float, brightness: float) -> PulseSetting:
        """The quantised pulse setting; the interlock raises LimitError if it is unsafe."""
        s = PulseSetting(round(width_s * 1e6) / 1e6, round(brightness / self.STEP) * self.STEP,
                         self.min_period_s)
        self.interlock.check_pulse(s)
        return s

    def max_brightness(self, width_s: float, ceiling: float | None = None) -> float:
        """Highest whole-percent brightness (≤ ``ceiling``) the interlock allows for pulses of
        ``width_s``; LimitError when even the lowest step is refused."""
        top = self.profile.max_brightness if ceiling is None else min(ceiling,
                                                                      self.profile.max_brightness)
        n = int(math.floor(top / self.STEP + 1e-9))
        lo, hi = 0, n  # find the largest k with setting(width, k·STEP) allowed (monotone in k)
        if not self._ok(width_s, self.STEP):
            raise LimitError("the interlock refuses even 1 % brightness at this pulse width",
                             device=self.profile.name, feature="pulse_width_s")
        lo = 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._ok(width_s, mid * self.STEP):
                lo = mid
            else:
                hi = mid - 1
        return round(lo * self.STEP, 2)

    def max_width(self, brightness: float, ceiling_s: float) -> float:
        """Longest pulse (s, 1 µs steps, ≤ ``ceiling_s``) the interlock allows at
        ``brightness``; LimitError when even 1 µs is refused."""
        hi = int(math.floor(ceiling_s * 1e6 + 1e-6))
        if hi < 1 or not self._ok(1e-6, brightness):
            raise LimitError("the interlock refuses any pulse at this brightness",
                             device=self.profile.name, feature="brightness")
        if self._ok(hi * 1e-6, brightness):
            return hi * 1e-6
        lo = 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._ok(mid * 1e-6, brightness):
                lo = mid
            else:
                hi = mid - 1
        return lo * 1e-6

    def _ok(self, width_s: float, brightness: float) -> bool:
        try:
            self.setting(width_s, brightness)
        except LimitError:
            return False
        return True


class ExposureController:
    """Face-metered exposure/gain/strobe control for one camera, pure (no I/O, no clock).

    ``target_dn8``: wanted mean face luminance; ``tolerance``: relative dead band around it;
    ``step_exponent`` (0, 1]: fraction (in log space) of the measured error corrected per
    frame (1 = dead-beat); ``max_gain_db``: the gain noise budget; ``pulse``: the strobe's
    interlock budget (None: the lamp is not controlled, pulse and brightness stay None).
    """

    def __init__(self, *, target_dn8: float = DEFAULT_TARGET_DN8, tolerance: float = 0.1,
                 step_exponent: float = 1.0, max_gain_db: float = DEFAULT_MAX_GAIN_DB,
                 clip_limit: float = CLIP_LIMIT, pulse: PulseBudget | None = None,
                 closed_loop_frames: int = 4, bracket_max_stops: float = 0.0) -> None:
        if not (math.isfinite(target_dn8) and 25 < target_dn8 < 247):
            raise ConfigError("target must lie between the OFIQ exposure bins", key="target_dn8",
                              allowed=(25, 247))
        if not 0 < step_exponent <= 1:
            raise ConfigError("step exponent must be in (0, 1]", key="step_exponent")
        if not 0 <= tolerance < 1:
            raise ConfigError("tolerance must be in [0, 1)", key="tolerance")
        if not 0 <= clip_limit < 1:
            raise ConfigError("clip limit must be in [0, 1)", key="clip_limit")
        self.target_dn8 = target_dn8
        self.tolerance = tolerance
        self.step_exponent = step_exponent
        self.max_gain_db = max_gain_db
        self.clip_limit = clip_limit
        self.pulse = pulse
        if closed_loop_frames < 1:
            raise ConfigError("need at least one closed-loop frame", key="closed_loop_frames")
        self.closed_loop_frames = closed_loop_frames
        if not (math.isfinite(bracket_max_stops) and bracket_max_stops >= 0):
            raise ConfigError("bracket stops must be >= 0", key="bracket_max_stops")
        self.bracket_max_stops = bracket_max_stops

    # ---------------------------------------------------------------- burst start
    def begin(self, prior: ExposureSettings, bounds: ExposureBounds,
              transmission: float = 1.0) -> ExposureSettings:
        """Settings for the burst's first (unmetered) frame.

        Chooses the burst's brightness for the longest pulse it may use
        (``bounds.exposure_max_s``) and scales the prior gain for the change of lamp light
        (:data:`UNMETERED_LAMP_SHARE`) and for ``transmission``: the fraction of the face's
        light that still reaches the sensor compared with ``prior`` (e.g. ½(1 + 1/ER) when an
        analyzer now sits in front of the lens, physics_quality.md §1.4).  The allocation puts
        exposure first, up to the bound, as in :meth:`update`.
        """
        if not 0 < transmission <= 1:
            raise LimitError("transmission is a fraction in (0, 1]", feature="transmission")
        t = min(max(prior.exposure_s, bounds.exposure_min_s), bounds.exposure_max_s)
        linear = prior.linear * (t / prior.exposure_s if prior.exposure_s > 0 else 1.0)
        linear /= transmission
        brightness = None
        if self.pulse is not None:
            brightness = self.pulse.max_brightness(bounds.exposure_max_s)
            b0 = prior.brightness if prior.brightness and prior.brightness > 0 else 1.0
            share = UNMETERED_LAMP_SHARE
            linear /= (1 - share) + share * brightness / b0
        return self._allocate(linear, bounds, brightness)

    # ---------------------------------------------------------------- closed loop
    def update(self, current: ExposureSettings, faces: Sequence[FaceMeasurement],
               bounds: ExposureBounds, light_change: float = 1.0) -> ExposureSettings:
        """Settings for the next frame from the faces measured in the last one.

        Meters the brightest face (an empty seat's ROI is darker cabin, and the brightest face
        is the one that would clip first); any face clipping beyond ``clip_limit`` steps down
        by at least :data:`CLIP_BACKOFF`; brightening is limited to :data:`MAX_STEP_UP` per
        frame.  ``light_change``: predicted factor by which the face's light grows until the
        next frame (feed-forward, e.g. the lamp's 1/Z² as the vehicle approaches).  Without a
        measurement only the feed-forward applies (re-clamped to the new bounds).
        """
        if not (math.isfinite(light_change) and light_change > 0):
            raise LimitError("light change must be a finite factor > 0", feature="light_change")
        linear, brightness = self._relamp(current.linear, current.brightness, bounds)
        if not faces:
            return self._allocate(linear / light_change, bounds, brightness)
        level = max(f.mean for f in faces)
        clipped = max(f.over_exposed for f in faces)
        ratio = self.target_dn8 / max(level, 1.0)
        if abs(ratio - 1.0) <= self.tolerance:
            ratio = 1.0
        ratio = min(ratio ** self.step_exponent, MAX_STEP_UP)
        if clipped > self.clip_limit:
            ratio = min(ratio, CLIP_BACKOFF)
        return self._allocate(linear * ratio / light_change, bounds, brightness)

    def _relamp(self, linear: float, brightness: float | None,
                bounds: ExposureBounds) -> tuple[float, float | None]:
        """Drive the lamp harder when the pulse must get shorter.

        The burst's brightness is the interlock's maximum for the longest pulse then allowed
        (:meth:`begin`); as the vehicle nears, the blur bound shortens the exposure — and so the
        pulse — and the interlock allows more brightness for the shorter pulse.  Raising it puts
        light on the face instead of gain noise: ``t·g`` is lowered by the expected face-light
        gain, with the lamp share :data:`UNMETERED_LAMP_SHARE` (the closed loop corrects the
        rest).  Brightness is never lowered here: ``_allocate`` shortens the pulse to whatever
        the interlock allows at the current brightness."""
        if self.pulse is None or not brightness or brightness <= 0:
            return linear, brightness
        top = self.pulse.max_brightness(bounds.exposure_max_s)
        if top <= brightness + PulseBudget.STEP / 2:
            return linear, brightness
        share = UNMETERED_LAMP_SHARE
        return linear / ((1 - share) + share * top / brightness), top

    def settled(self, faces: Sequence[FaceMeasurement]) -> bool:
        """Whether the faces just measured are at the target (within ``tolerance``), unclipped."""
        if not faces:
            return False
        level = max(f.mean for f in faces)
        return (abs(self.target_dn8 / max(level, 1.0) - 1.0) <= self.tolerance
                and max(f.over_exposed for f in faces) <= self.clip_limit)

    def bracket(self, s: ExposureSettings, faces: Sequence[FaceMeasurement], seats: int,
                bounds: ExposureBounds) -> ExposureSettings | None:
        """The brighter setting of a two-step bracket for the rest of the burst, or None.

        ``s`` meters the brightest face; the scene is uncertain when fewer faces were found
        than ``seats`` were metered (a face too dark to find, or an empty seat) or the faces
        found lie more than :data:`BRACKET_SPREAD` apart.  The bracket lifts the dimmest face
        found to the target — at least :data:`BRACKET_MIN_STOPS`, at most
        ``bracket_max_stops`` — with more exposure and gain inside the same limits (the lamp
        stays at the burst's brightness).  None without bracketing, for a certain scene, or
        when the limits leave no room for a brighter setting.
        """
        if self.bracket_max_stops <= 0:
            return None
        levels = [max(f.mean, 1.0) for f in faces]
        spread = max(levels) / min(levels) if levels else 1.0
        if levels and len(levels) >= seats and spread < BRACKET_SPREAD:
            return None
        stops = min(max(math.log2(spread), BRACKET_MIN_STOPS), self.bracket_max_stops)
        out = self._allocate(s.linear * 2.0 ** stops, bounds, s.brightness)
        if out.linear <= s.linear * 2.0 ** (BRACKET_MIN_STOPS / 2):
            return None  # saturated: nothing brighter to offer
        return out

    # ---------------------------------------------------------------- allocation
    def _allocate(self, linear: float, b: ExposureBounds,
                  brightness: float | None) -> ExposureSettings:
        """Split the wanted ``t·g`` into exposure (first, up to the blur bound) and gain."""
        gmin, gmax = b.gain_min_db, min(b.gain_max_db, max(b.gain_min_db, self.max_gain_db))
        lin_gmin = 10.0 ** (gmin / 20.0)
        t = linear / lin_gmin  # all of it in exposure at the lowest gain
        limited = ""
        t_max, why = b.exposure_max_s, "blur"
        if brightness is not None and self.pulse is not None:
            # the pulse is aligned with the exposure: the exposure may not outlast it
            width = self.pulse.max_width(brightness, b.exposure_max_s)
            if width < t_max:
                t_max, why = max(width, b.exposure_min_s), "interlock"
        if t > t_max:
            t = t_max
            limited = why
        elif t < b.exposure_min_s:
            t = b.exposure_min_s
            limited = "min_exposure"
        g_db = 20.0 * math.log10(max(linear / t, 1e-300))
        if g_db > gmax:
            g_db, limited = gmax, "gain"
        elif g_db < gmin:
            g_db = gmin
            limited = limited or "min_gain"
        pulse = None
        if brightness is not None and self.pulse is not None:
            pulse = round(t * 1e6) / 1e6
            self.pulse.setting(pulse, brightness)  # never exceeded: raises if it would be
        return ExposureSettings(t, g_db, pulse, brightness, limited)


FACE_CORE = 0.6
"""Share of the detector's face box (centred, each axis) that is metered: the box's corners
hold hair, background and the A-pillar, the core is skin."""


FACE_REGION_GROW = 1.8
"""How much larger than the detector's face box the ranking region is (each axis): room for the
face to move inside its predicted ROI between frames and context for the face finder."""


class FaceMeter:
    """Measures the faces inside predicted occupant ROIs, frame after frame, for the controller.

    A predicted occupant ROI is the whole box a face may occupy (roof header, headrest, the
    sky mirrored in the glass), far larger than the face, so its statistics say little about
    the face: the meter finds the face in the ROI once with ``finder`` (e.g.
    ``DlibFaceFinder(upsample=0)``: faces ≥ ~80 px, ~25 ms per ROI) and then measures the core
    of its box with :func:`~lanecam.quality.kernels.region_stats` (~1 ms).  The ROI is the
    image of a box fixed to the vehicle, so the face keeps its place *relative to the ROI*
    while the vehicle approaches: later frames measure the same relative box in the new ROI
    without detecting again (:meth:`reset` forgets the boxes, once per vehicle).  ROIs in
    which no face was ever found give no measurement.
    """

    def __init__(self, finder: FaceFinder) -> None:
        self.finder = finder
        self._rel: dict[object, tuple[float, float, float, float]] = {}
        self._box: dict[object, tuple[int, int, int, int]] = {}
        self._face: dict[object, Face] = {}

    def reset(self) -> None:
        """Forget the faces found so far (a new vehicle)."""
        self._rel.clear()
        self._box.clear()
        self._face.clear()

    def face(self, key: object) -> Face | None:
        """The face the finder found for ``key`` (in the frame where it was found), or None —
        for the ranker, which then need not search that frame again."""
        return self._face.get(key)

    def found(self) -> dict[object, tuple[int, int, int, int]]:
        """Key → the detector's face box (x, y, w, h, px) in the frame where it was found."""
        return dict(self._box)

    def rebase(self, key: object, roi: Roi | tuple[int, int, int, int] | None) -> None:
        """The ROI of the frame where ``key``'s face was found, re-predicted (e.g. with a
        measured cabin): keep the face where it was in that frame, relative to the new ROI."""
        box = self._box.get(key)
        if box is None:
            return
        if roi is None:
            self._rel.pop(key, None)
            return
        self._rel[key] = self._relative(box, roi)

    @staticmethod
    def _relative(box: tuple[int, int, int, int],
                  roi: Roi | tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        x, y, w, h = box
        rx, ry, rw, rh = roi
        cw, ch = w * FACE_CORE, h * FACE_CORE
        return ((x + (w - cw) / 2 - rx) / rw, (y + (h - ch) / 2 - ry) / rh, cw / rw, ch / rh)

    def warm_up(self) -> None:
        """Load the finder's models and compile the kernels now, not in the first burst."""
        load = getattr(self.finder, "load", None)
        if load is not None:
            load()
        blank = np.zeros((96, 96), np.uint8)
        self.finder.find(blank, Roi(0, 0, 96, 96))
        region_stats(blank, [(0, 0, 8, 8)])

    def face_region(self, key: object, roi: Roi | tuple[int, int, int, int],
                    grow: float = FACE_REGION_GROW) -> tuple[int, int, int, int] | None:
        """The region around the face found for ``key``, placed in ``roi`` (the same seat's
        ROI in another frame of the burst): the detector's face box scaled by ``grow`` about its
        centre, clipped to ``roi``; None when no face was found for ``key``.

        Ranking on this region instead of the whole occupant ROI judges the face, not the sky
        mirrored beside it: a frame exposed for the face clips that sky, and an ROI-wide score
        would rank it below a frame too dark to use."""
        rel = self._rel.get(key)
        if rel is None:
            return None
        rx, ry, rw, rh = roi
        cx = rx + (rel[0] + rel[2] / 2) * rw
        cy = ry + (rel[1] + rel[3] / 2) * rh
        w = rel[2] * rw / FACE_CORE * grow
        h = rel[3] * rh / FACE_CORE * grow
        x0, y0 = max(rx, round(cx - w / 2)), max(ry, round(cy - h / 2))
        x1, y1 = min(rx + rw, round(cx + w / 2)), min(ry + rh, round(cy + h / 2))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        return (x0, y0, x1 - x0, y1 - y0)

    def measure(self, image: np.ndarray,
                rois: Sequence[tuple[object, Roi | tuple[int, int, int, int] | None]],
                *, bit_depth: int | None = None) -> list[FaceMeasurement]:
        """``rois``: ``(key, roi)`` pairs (the key names the seat, e.g. its index)."""
        boxes: list[tuple[int, int, int, int]] = []
        for key, roi in rois:
            if roi is None:
                continue
            rx, ry, rw, rh = roi
            rel = self._rel.get(key)
            if rel is None:
                faces = self.finder.find(image, Roi(*roi), bit_depth=bit_depth)
                if not faces:
                    continue
                box = tuple(int(v) for v in faces[0].box)
                self._box[key] = box  # type: ignore[assignment]
                self._face[key] = faces[0]
                rel = self._rel[key] = self._relative(box, roi)  # type: ignore[arg-type]
            bw, bh = max(1, round(rel[2] * rw)), max(1, round(rel[3] * rh))
            boxes.append((rx + round(rel[0] * rw), ry + round(rel[1] * rh), bw, bh))
        if not boxes:
            return []
        records, _ = region_stats(image, boxes, bit_depth=bit_depth)
        return [FaceMeasurement(float(r["mean"]), float(r["over_exposed"])) for r in records
                if r["n_pixels"] > 0 and math.isfinite(float(r["mean"]))]

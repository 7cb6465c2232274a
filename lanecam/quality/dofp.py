"""Analysis image of a polarization-mosaic (DoFP) frame: per ROI, the Stokes I_min or one channel.

A division-of-focal-plane sensor (physics_quality.md §1.5) records each 2×2 super-pixel
through analyzers at 0°, 45°, 90° and 135°.  :func:`analysis_image` turns one raw mosaic frame
into a half-resolution image the lane can rank and crop like a normal mono frame:

1. Stokes once, with the fused kernel :func:`lanecam.quality.polarization.stokes` (S0, S1, S2,
   DoLP, AoLP, I_min, I_max per super-pixel; reusable planes).
2. Per occupant ROI, the ROI's polarization from its **summed Stokes vector**
   ``DoLP_roi = |Σ(S1, S2)| / ΣS0`` and ``AoLP_roi = ½·atan2(ΣS2, ΣS1)`` (see below).
3. :func:`~lanecam.quality.polarization.choose_channel` (``DOLP_GATE``), or the
   controller's own ``choose_channel``, picks ``"i_min"`` or
   ``"single"`` per ROI.  ``"i_min"`` fills the ROI with the Stokes minimum image, which removes
   the polarized glare pixel by pixel; ``"single"`` fills it with the one analyzer channel that
   passes least glare — the channel closest to ``AoLP_roi + 90°``, i.e. blocking the measured
   polarization (but see ``glare_deg`` below).
4. Outside the ROIs the image is one analyzer channel for the whole frame, chosen the same way
   from the polarization of all ROIs together (of the whole frame when there are no ROIs).

**Glare or transmitted light: ``glare_deg``.**  The glass polarizes the light it transmits
too: the face's light leaves the cabin p-enriched (T_p > T_s, §1.1: DoLP ≈ 0.1–0.25 at 50–70°
incidence, more for strobe light that crosses the glass twice), orthogonal to the s-polarized
glare.  A ROI's measured polarization is their net: s where glare dominates, p where the face
does (e.g. at night: no glare, the simulator's strobe-lit faces read DoLP ≈ 0.17 at p).
Blocking a p measurement would pick the channel that darkens the face most (about −30 % in
that case) for no glare gain.  Both cases want the same analyzer — passing p, blocking s — so
when the caller knows the glare's angle from the geometry (``glare_deg``, e.g.
``PolarizationController.glare_angle`` (lanecam.control), image frame, counter-clockwise from the 0°
analyzer), a measured AoLP more than 45° from it is taken as transmitted light and the channel
closest to it (passing it) is used instead.  The measured angle still decides, the geometry
only says which of the two orthogonal kinds of polarization was measured.  Without
``glare_deg`` the measured polarization is always blocked.

**Why the summed Stokes vector** and not the intensity-weighted mean of per-pixel DoLP
(``ΣP/ΣS0`` with ``P = √(S1²+S2²)``).  ``P`` is the magnitude of differences of noisy samples,
so it is positive even for unpolarized light (with read/shot noise σ per sample, E[P] ≈ 1.8σ:
a dim face reads DoLP ≈ 0.1 from noise alone), and the four analyzers of a super-pixel look at
four neighbouring scene points, so every edge of the face texture reads as "polarized" at an
angle set by the edge direction.  Both biases are positive and never average out in a mean
of magnitudes; in the vector sum they cancel (random angles), while windshield glare, whose
angle follows the plane of incidence and is nearly constant over a face-sized ROI, adds up
coherently.  The summed vector also answers the gate's question directly: ``DoLP_roi`` is the
share of the ROI's light an analyzer can remove, i.e. how much glare I_min takes away in
exchange for its extra noise (a strongly polarized but faint veil, or a bright but
unpolarized one, both read low: I_min would not help either).  Stokes vectors of incoherent
light add, so this is exact for the ROI's total light; it under-reads only if the
polarization angle turns a lot inside one ROI, which windshield glare does not.

**Brightness scale of I_min: no gain (factor 1).**  Behind any one analyzer, unpolarized
light gives ``½·S0`` (``½(k1 + k2)·S0`` with a finite extinction ratio), and I_min of
unpolarized light is also ``½·S0`` (``S0`` here is the least-squares estimate
``(I0 + I45 + I90 + I135)/2``, i.e. the light without an analyzer).  So I_min is already on
the single-channel scale: the face's (unpolarized) light reads the same DN in both choices and
the only difference is the glare removed.  Where the glare's polarization dominates (it is s,
the light transmitted by the glass is slightly p-enriched, T_p > T_s, §1.1), I_min equals an
ideal analyzer at the exact blocking angle, which no fixed mosaic channel can be unless the
glare happens to lie on one of the four angles (a channel 22.5° off passes
``P·sin²22.5° ≈ 0.15·P`` of the polarized glare).  No overflow: ``0 ≤ I_min ≤ ½·S0`` = the
mean of the four samples ≤ full scale, so I_min is only rounded (never clipped) into the
output dtype.  Doubling I_min to an "S0 scale" would overflow bright pixels and would make
I_min ROIs twice as bright as single-channel ones.

Output.  ``image`` is ``uint8`` for a ``uint8`` mosaic, ``uint16`` (same ``bit_depth``, LSB
aligned) for a ``uint16`` one, shape ``(height // 2, width // 2)`` (an odd last row or column
is ignored, as by :func:`stokes`); pixel ``(j, i)`` is super-pixel ``(j, i)``, so full-sensor
coordinates map to it by ×½ (``scale``).  ``rois_scaled`` are the ROIs at that scale: every
super-pixel the full-resolution ROI touches (floor of the start, ceiling of the end), clipped
to the image.  ROIs are filled in order; where ROIs overlap the later one's choice wins.
The layout is relative to the array's top-left pixel (a camera ROI offset must be even, as
real polarization cameras enforce).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import prange

from ..errors import LimitError
from ..jit import njit
from .kernels import Roi
from .pixels import full_scale
from .polarization import StokesImages, choose_channel, stokes, validate_layout

__all__ = ["ANALYZER_ANGLES", "AnalysisImage", "analysis_image", "scale_roi", "warm_up"]

ANALYZER_ANGLES = (0, 45, 90, 135)
"""The mosaic's analyzer angles (degrees), in the order of :func:`validate_layout`'s rows."""

SCALE = 0.5
"""Analysis image pixels per full-sensor pixel (one per 2×2 super-pixel)."""

_CHOICES = ("i_min", "single")


class ChannelChooser(Protocol):
    """Decides per ROI between ``"i_min"`` and ``"single"`` from the measured DoLP."""

    def choose_channel(self, dolp: float) -> str: ...


@dataclass(slots=True)
class AnalysisImage:
    """Half-resolution analysis image of one mosaic frame, with the per-ROI decisions.

    ``image``: ``uint8``/``uint16`` ``(h // 2, w // 2)``, in the raw frame's DN
    (``bit_depth`` significant bits).  ``scale``: 0.5 (analysis pixels per sensor pixel).
    Per ROI, in the caller's order (``None`` for a ``None`` ROI; ``dolp``/``aolp_deg`` NaN and
    choice/channel ``None`` for a ROI with no pixels in the frame):

    * ``rois_scaled`` — the ROI at the image's scale (:class:`Roi`, clipped; rank and crop on
      ``image`` with these);
    * ``choices`` — ``"i_min"`` or ``"single"`` (from the controller);
    * ``dolp`` — the ROI's measured DoLP, ``|Σ(S1, S2)| / ΣS0`` (0 for a black ROI);
    * ``aolp_deg`` — the ROI's polarization angle, [0, 180), from the 0° analyzer toward 45°;
    * ``channels_deg`` — the analyzer channel (0/45/90/135) that passes least of the ROI's
      glare (closest to ``AoLP + 90°``, or to AoLP for transmitted light, see ``glare_deg``):
      the one that filled the ROI when its choice is ``"single"`` (reported for ``"i_min"``
      ROIs too, as what a single channel would have been).

    ``channel_deg``: the channel filling the image outside the ROIs.  ``stokes``: the Stokes
    planes computed on the way (float32, super-pixel grid; reused with ``out=``).

    Pass a previous result (or :meth:`empty`) as ``out=`` to :func:`analysis_image` to reuse
    its buffers; it is then updated in place and returned.
    """

    image: np.ndarray
    stokes: StokesImages
    bit_depth: int
    scale: float = SCALE
    rois_scaled: tuple[Roi | None, ...] = ()
    choices: tuple[str | None, ...] = ()
    dolp: tuple[float, ...] = ()
    aolp_deg: tuple[float, ...] = ()
    channels_deg: tuple[int | None, ...] = ()
    channel_deg: int = 90

    @classmethod
    def empty(cls, shape: tuple[int, int], dtype: type | np.dtype = np.uint8,
              bit_depth: int | None = None) -> AnalysisImage:
        """Preallocated buffers for mosaic frames of raw ``shape`` and ``dtype`` (``out=``)."""
        depth, _ = full_scale(np.dtype(dtype), bit_depth)
        h, w = shape[0] // 2, shape[1] // 2
        return cls(np.empty((h, w), np.dtype(dtype)), StokesImages.empty(shape), depth)


# --------------------------------------------------------------------------------- kernels
@njit(nogil=True, cache=True, parallel=True)
def _roi_sums(s0, s1, s2, boxes, sums):
    """``sums[k] = (ΣS0, ΣS1, ΣS2)`` (float64) over box k = (y0, y1, x0, x1) of the
    super-pixel grid; the rows of all boxes in parallel."""
    n = boxes.shape[0]
    first = np.zeros(n + 1, np.int64)
    for k in range(n):
        first[k + 1] = first[k] + boxes[k, 1] - boxes[k, 0]
    part = np.zeros((first[n], 3))
    for t in prange(first[n]):
        k = 0
        while first[k + 1] <= t:
            k += 1
        j = boxes[k, 0] + t - first[k]
        r0 = s0[j]
        r1 = s1[j]
        r2 = s2[j]
        a = 0.0
        b = 0.0
        c = 0.0
        for i in range(boxes[k, 2], boxes[k, 3]):
            a += r0[i]
            b += r1[i]
            c += r2[i]
        part[t, 0] = a
        part[t, 1] = b
        part[t, 2] = c
    for k in range(n):
        for q in range(3):
            acc = 0.0
            for t in range(first[k], first[k + 1]):
                acc += part[t, q]
            sums[k, q] = acc


@njit(nogil=True, cache=True, parallel=True)
def _frame_sums(s0, s1, s2):
    """(ΣS0, ΣS1, ΣS2) over the whole super-pixel grid, rows in parallel."""
    rows = np.empty((s0.shape[0], 3))
    for j in prange(s0.shape[0]):
        a = 0.0
        b = 0.0
        c = 0.0
        r0 = s0[j]
        r1 = s1[j]
        r2 = s2[j]
        for i in range(r0.shape[0]):
            a += r0[i]
            b += r1[i]
            c += r2[i]
        rows[j, 0] = a
        rows[j, 1] = b
        rows[j, 2] = c
    return rows[:, 0].sum(), rows[:, 1].sum(), rows[:, 2].sum()


@njit(nogil=True, cache=True, parallel=True)
def _fill(raw, pos, bg, boxes, modes, imin, out, vmax):
    """One pass over the output rows (in parallel): the background channel ``bg`` (index into
    ``pos``), then each box k in order — rounded I_min where ``modes[k] < 0``, else channel
    ``modes[k]``.  Returns how many written values exceeded ``vmax``."""
    top = np.float32(vmax)
    bad = 0
    for j in prange(out.shape[0]):
        n = 0
        dst = out[j]
        src = raw[2 * j + pos[bg, 0]]
        dx = pos[bg, 1]
        for i in range(dst.shape[0]):
            v = src[2 * i + dx]
            n += v > vmax
            dst[i] = v
        for k in range(boxes.shape[0]):
            if j < boxes[k, 0] or j >= boxes[k, 1]:
                continue
            m = modes[k]
            if m < 0:
                row = imin[j]
                for i in range(boxes[k, 2], boxes[k, 3]):
                    f = row[i] + np.float32(0.5)  # I_min ≥ 0 (floored by the Stokes kernel)
                    if f >= top + np.float32(1.0):
                        n += 1
                        f = top
                    dst[i] = np.uint32(f)
            else:
                src2 = raw[2 * j + pos[m, 0]]
                dx2 = pos[m, 1]
                for i in range(boxes[k, 2], boxes[k, 3]):
                    v = src2[2 * i + dx2]
                    n += v > vmax
                    dst[i] = v
        bad += n
    return bad


# --------------------------------------------------------------------------------- helpers
def scale_roi(roi: Sequence[int], raw_shape: tuple[int, int]) -> Roi:
    """A full-sensor ``(x, y, w, h)`` ROI at the analysis scale: every super-pixel it touches,
    clipped to the ``(h // 2, w // 2)`` image (an empty ROI stays empty)."""
    x, y, w, h = (int(v) for v in roi)
    if w < 0 or h < 0:
        raise LimitError("ROI width and height must be ≥ 0", feature="roi")
    hh, ww = raw_shape[0] // 2, raw_shape[1] // 2
    fx0, fx1 = min(max(x, 0), 2 * ww), min(max(x + w, 0), 2 * ww)
    fy0, fy1 = min(max(y, 0), 2 * hh), min(max(y + h, 0), 2 * hh)
    if fx1 <= fx0 or fy1 <= fy0:
        cx, cy = fx0 // 2, fy0 // 2
        return Roi(cx, cy, 0, 0)
    x0, x1 = fx0 // 2, (fx1 + 1) // 2
    y0, y1 = fy0 // 2, (fy1 + 1) // 2
    return Roi(x0, y0, x1 - x0, y1 - y0)


def _block_channel(s1: float, s2: float) -> int:
    """Index (0–3 → 0°/45°/90°/135°) of the analyzer passing least of the polarized part
    ``(s1, s2)``: behind θ it adds ``½(s1·cos2θ + s2·sin2θ)`` = ½·{s1, s2, −s1, −s2}; the
    minimum is the channel closest to AoLP + 90°.  Ties (no polarization) → the lowest."""
    vals = (s1, s2, -s1, -s2)
    return min(range(4), key=lambda k: (vals[k], k))


def _aolp_deg(s1: float, s2: float) -> float:
    return math.degrees(0.5 * math.atan2(s2, s1)) % 180.0


def _single_channel(s1: float, s2: float, glare_deg: float | None) -> int:
    """The analyzer channel for a ``"single"`` region (index 0–3): block the measured
    polarization, unless ``glare_deg`` says it is transmitted light (> 45° from the glare's
    angle), which is passed (module docstring)."""
    if glare_deg is not None and (s1 or s2):
        off = abs((_aolp_deg(s1, s2) - glare_deg + 90.0) % 180.0 - 90.0)
        if off > 45.0:
            return _block_channel(-s1, -s2)
    return _block_channel(s1, s2)


def analysis_image(
    raw: np.ndarray,
    layout: Sequence[Sequence[int]],
    rois: Sequence[Roi | Sequence[int] | None],
    *,
    bit_depth: int,
    controller: ChannelChooser | None = None,
    glare_deg: float | None = None,
    out: AnalysisImage | None = None,
) -> AnalysisImage:
    """The half-resolution analysis image of one raw DoFP mosaic frame (module docstring).

    ``raw``: 2-D ``uint8`` (Mono8) or ``uint16`` (Mono10/12/14/16, LSB-aligned) mosaic, any
    strides; ``layout``: the 2×2 analyzer angles (``Profile.polarization_layout``);
    ``rois``: occupant ROIs ``(x, y, w, h)`` in the raw frame's pixels, ``None`` entries
    allowed; ``bit_depth``: significant bits (8 for ``uint8``, 8–16 for ``uint16``);
    ``controller``: whose ``choose_channel(dolp)`` decides per ROI (e.g. a
    ``lanecam.control.polarization.PolarizationController``; default:
    :func:`~lanecam.quality.polarization.choose_channel`, gate ``DOLP_GATE``); ``glare_deg``: the windshield glare's
    predicted polarization angle in the image (degrees, from the 0° analyzer toward 45°; e.g.
    ``PolarizationController.glare_angle``) to tell glare from transmitted light when
    picking single channels, or None to always block the measured polarization; ``out``: a
    previous result or :meth:`AnalysisImage.empty` to reuse (updated in place and returned).

    Raises :class:`LimitError` for a wrong dtype/shape/``bit_depth``, a negative ROI size, an
    ``out`` of the wrong shape or dtype, a controller answering something other than
    ``"i_min"``/``"single"``, or samples above ``2**bit_depth − 1`` in what is written (the
    frame's ``bit_depth`` is wrong; ``out``'s contents are then undefined).
    """
    depth, vmax, pos, out = _checked(raw, layout, bit_depth, glare_deg, out)
    st = stokes(raw, layout, out=out.stokes)
    choose = controller.choose_channel if controller is not None else choose_channel
    scaled = [None if roi is None else scale_roi(roi, raw.shape) for roi in rois]
    live = [(k, r) for k, r in enumerate(scaled) if r is not None and r.width and r.height]
    boxes = np.array([(r.y, r.y + r.height, r.x, r.x + r.width) for _, r in live],
                     np.int64).reshape(-1, 4)
    sums = np.zeros((len(live), 3), np.float64)
    _roi_sums(st.s0, st.s1, st.s2, boxes, sums)
    modes = _choose_per_roi(out, len(scaled), live, sums, choose, glare_deg)
    # outside the ROIs: one channel, from all ROIs' polarization together (no ROI: the frame's)
    total = sums.sum(axis=0) if live else np.array(_frame_sums(st.s0, st.s1, st.s2))
    bg = _single_channel(float(total[1]), float(total[2]), glare_deg)
    view = raw.view()
    view.flags.writeable = False  # writable and borrowed frames share one specialization
    bad = _fill(view, pos, bg, boxes, modes, st.i_min, out.image, vmax)
    if bad:
        raise LimitError(f"{bad} samples above the {depth}-bit full scale {vmax}: "
                         "wrong bit_depth for this frame", feature="bit_depth",
                         allowed=(0, vmax))
    out.bit_depth = depth
    out.scale = SCALE
    out.rois_scaled = tuple(scaled)
    out.channel_deg = ANALYZER_ANGLES[bg]
    return out


def _checked(raw: np.ndarray, layout: Sequence[Sequence[int]], bit_depth: int,
             glare_deg: float | None, out: AnalysisImage | None
             ) -> tuple[int, int, np.ndarray, AnalysisImage]:
    """Validate :func:`analysis_image`'s inputs: (bit depth, full scale DN, the layout's
    channel positions, the result to fill — ``out`` or a new one)."""
    if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.dtype not in (np.uint8, np.uint16):
        raise LimitError("a polarization mosaic must be a 2-D uint8 or uint16 array",
                         feature="mosaic", allowed=["uint8", "uint16"])
    if glare_deg is not None and not math.isfinite(glare_deg):
        raise LimitError("glare_deg must be a finite angle in degrees", feature="glare_deg")
    depth, vmax = full_scale(raw.dtype, bit_depth)
    pos = validate_layout(layout)
    hh, ww = raw.shape[0] // 2, raw.shape[1] // 2
    if out is None:
        if hh < 1 or ww < 1:
            raise LimitError("a polarization mosaic needs at least one 2×2 super-pixel",
                             feature="mosaic", allowed="≥ 2×2")
        out = AnalysisImage.empty(raw.shape, raw.dtype, depth)
    elif out.image.shape != (hh, ww) or out.image.dtype != raw.dtype:
        raise LimitError("out= image must match the frame's super-pixel grid and dtype",
                         feature="out", allowed=((hh, ww), raw.dtype.name))
    return depth, vmax, pos, out


def _choose_per_roi(out: AnalysisImage, n: int, live: list[tuple[int, Roi]], sums: np.ndarray,
                    choose: Callable[[float], str], glare_deg: float | None) -> np.ndarray:
    """Per ROI: the measured DoLP and AoLP, the choice (I_min or one channel) and the channel
    that blocks the glare, written into ``out``; the fill modes of the live ROIs (−1 = I_min,
    else a channel index)."""
    choices: list[str | None] = [None] * n
    dolps = [math.nan] * n
    aolps = [math.nan] * n
    chans: list[int | None] = [None] * n
    modes = np.empty(len(live), np.int64)
    for q, ((k, _), (t0, t1, t2)) in enumerate(zip(live, sums.tolist(), strict=True)):
        d = min(math.hypot(t1, t2) / t0, 1.0) if t0 > 0 else 0.0
        c = choose(d)
        if c not in _CHOICES:
            raise LimitError(f"choose_channel answered {c!r}", feature="controller",
                             allowed=list(_CHOICES))
        choices[k] = c
        dolps[k] = d
        aolps[k] = _aolp_deg(t1, t2)
        ch = _single_channel(t1, t2, glare_deg)
        chans[k] = ANALYZER_ANGLES[ch]
        modes[q] = -1 if c == "i_min" else ch
    out.choices = tuple(choices)
    out.dolp = tuple(dolps)
    out.aolp_deg = tuple(aolps)
    out.channels_deg = tuple(chans)
    return modes


def warm_up(layout: Sequence[Sequence[int]] = ((90, 45), (135, 0))) -> None:
    """Compile (or load from Numba's cache) the mosaic kernels for 8- and 16-bit frames now —
    seconds on a cold cache, which must not land inside a vehicle's burst."""
    for dtype, depth in ((np.uint8, 8), (np.uint16, 12)):
        analysis_image(np.zeros((16, 16), dtype), layout, [(0, 0, 8, 8), None], bit_depth=depth)

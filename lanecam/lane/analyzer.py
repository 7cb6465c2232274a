"""The motorized analyzer in front of a lens, per burst: turn it to the angle that blocks the
predicted windshield glare, or — with probe offsets — film a frame at each of a few angles,
fit Malus' law to the front-row glare and turn it to the angle that blocks what was measured
(which absorbs a mis-calibrated mount offset or a rake the geometry got wrong)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..control.tracker import Track
from ..errors import DeviceTimeoutError, LanecamError, LimitError
from ..geometry import occupant_rois
from ..quality.pixels import bit_depth_of
from .camera import LaneCamera, analysis_model, develop
from .context import CaptureContext
from .types import Box, LaneStats

__all__ = ["MALUS_CLIP_LIMIT", "PROBE_GRAB_S", "probe_glare", "probe_time_s", "set_analyzer"]

#: A Malus probe whose front-row ROIs clip beyond this share is not fitted (a clipped mean
#: under-states the glare, flattening the cos 2θ it should show).
MALUS_CLIP_LIMIT = 0.05
#: Host-side time to grab and analyse one probe frame (s), on top of the frame period.
PROBE_GRAB_S = 0.06


def set_analyzer(lane_cam: LaneCamera, angle_deg: float, stats: LaneStats) -> float | None:
    """Turn the analyzer to ``angle_deg`` (image frame): with the rotator (blocking until it
    stops; a failure is counted and the burst goes on at whatever angle it reached — None),
    else through the camera's own ``polarizer_deg`` (a simulated analyzer).  Returns the angle
    reached (deg)."""
    if lane_cam.rotator is not None:
        try:
            return lane_cam.rotator.move_to(angle_deg)
        except LanecamError as exc:
            stats.faults[f"rotator:{type(exc).__name__}"] += 1
            return None
    lane_cam.camera.polarizer_deg = angle_deg % 180.0
    return angle_deg % 180.0


def probe_time_s(lane_cam: LaneCamera, predicted_deg: float = 90.0) -> float:
    """How long (s) the analyzer probe of ``lane_cam`` takes: the rotator's first move to the
    predicted angle (from anywhere: 90° at most), its moves through the probe angles and back
    to the fit's, and one frame at each angle."""
    pol, rot = lane_cam.polarization, lane_cam.rotator
    if pol is None or rot is None or not pol.probe_offsets_deg:
        return 0.0
    angles = [predicted_deg] + [predicted_deg + o for o in pol.probe_offsets_deg]
    moves = rot.move_time_s(0.0, 90.0)
    moves += sum(rot.move_time_s(a, b) for a, b in zip(angles, angles[1:]))
    back = max(rot.move_time_s(angles[-1], a) for a in angles)  # the fit's angle: ≤ this
    frame = 1.0 / lane_cam.scheduler.timing.max_frame_rate_hz + PROBE_GRAB_S
    return moves + back + len(angles) * frame


def probe_glare(ctx: CaptureContext, lane_cam: LaneCamera, predicted: float, track: Track,
                deadline_ns: int) -> None:
    """Malus probe before the burst: a frame at the predicted analyzer angle and at each probe
    offset from it (the vehicle is already in view, farther out), the front-row ROIs' glare
    per unit t·g in each, a Malus fit, and the analyzer turned to the angle that blocks the
    measured glare.  The prediction stands when there is no time before ``deadline_ns``, a
    frame is lost, the glare clips or the fit is refused (each counted)."""
    pol = lane_cam.polarization
    assert pol is not None
    first = lane_cam.rotator.move_time_s(0.0, 90.0) if lane_cam.rotator is not None else 0.0
    if (deadline_ns - ctx.clock.now_ns()) / 1e9 < probe_time_s(lane_cam, predicted) - first:
        ctx.stats.faults["malus_no_time"] += 1
        lane_cam.analyzer_log.append((predicted, None))
        return
    samples = _probe_samples(ctx, lane_cam, predicted, track)
    refined: float | None = None
    if len(samples) >= 3:
        if max(c for _, _, c in samples) > MALUS_CLIP_LIMIT:
            ctx.stats.faults["malus_clipped"] += 1
        else:
            try:
                refined = pol.refine(predicted, [a for a, _, _ in samples],
                                     [g for _, g, _ in samples])
            except LimitError:
                ctx.stats.faults["malus_degenerate"] += 1
    lane_cam.analyzer_log.append((predicted, refined))
    set_analyzer(lane_cam, predicted if refined is None else refined, ctx.stats)


def _probe_samples(ctx: CaptureContext, lane_cam: LaneCamera, predicted: float,
                   track: Track) -> list[tuple[float, float, float]]:
    """(analyzer angle deg, glare per unit t·g, clipped share) at each probe angle."""
    pol = lane_cam.polarization
    assert pol is not None
    samples: list[tuple[float, float, float]] = []
    angle: float | None = predicted
    for j, target in enumerate([predicted] + [predicted + o for o in pol.probe_offsets_deg]):
        if j:
            angle = set_analyzer(lane_cam, target, ctx.stats)
        if angle is None:
            break
        when = ctx.clock.now_ns()
        lane_cam.camera.trigger()
        try:
            f = lane_cam.camera.grab(timeout_s=1.0)
        except DeviceTimeoutError:
            ctx.stats.faults["frame_timeout"] += 1
            break
        try:
            rng, _ = ctx.predict(track, when)
            f = develop(lane_cam, f, rng, ctx.cabin, ctx.stats)
            got = glare_sample(f.array, occupant_rois(analysis_model(lane_cam), rng, ctx.cabin),
                               f.meta, bit_depth_of(f))
        finally:
            f.release()
        if got is not None:
            samples.append((angle, *got))
    return samples


def glare_sample(image: np.ndarray, roi: Sequence[Box | None], meta: Any,
                 bit_depth: int | None) -> tuple[float, float] | None:
    """The glare of one probe frame: the front-row ROIs' mean (the windshield in front of the
    faces — mirrored sky over unpolarized skin and cabin) per unit exposure (s) × linear gain,
    and the share of those pixels clipped; None without front-row ROIs or exposure metadata."""
    from ..quality.kernels import region_stats

    boxes = [b for b in roi[:2] if b is not None]
    if not boxes or not meta.exposure_s:
        return None
    recs, _ = region_stats(image, boxes, bit_depth=bit_depth)
    n = float(sum(r["n_pixels"] for r in recs))
    if n <= 0:
        return None
    mean = float(sum(r["mean"] * r["n_pixels"] for r in recs)) / n
    clip = float(sum(r["over_exposed"] * r["n_pixels"] for r in recs)) / n
    linear = meta.exposure_s * 10.0 ** ((meta.gain_db or 0.0) / 20.0)
    return mean / linear, clip

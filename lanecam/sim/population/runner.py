"""Run the production lane over a population, one vehicle per unit of work.

A :class:`UnitJob` carries one drawn vehicle and how to film it; :func:`run_unit` runs it in
whatever process it lands in (a local process, a Dask worker, or this one), so the result
depends only on the job: the same on any worker count and scheduler.  Each process keeps its
matcher, gallery and document templates (:func:`_state`).  Ground truth is read here only
through :func:`~lanecam.sim.evaluate.evaluate_run` (evaluation), and crops of missed travelers
(simulated people) stay in memory for the contact sheet.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...errors import ConfigError
from ...match.base import Template
from ..evaluate import TravelerOutcome, evaluate_run
from ..lane import SimLaneRun, run_sim_lane
from ..render import Shot
from ..scenario import Scenario
from ..textures import register_face_source
from ..truth import FrameTruth
from .draw import DrawnOccupant, DrawnVehicle, speed_band
from .gallery import Gallery, load_gallery, shipped_gallery
from .scenes import vehicle_scenario

__all__ = ["CROP_PX", "TravelerRecord", "UnitJob", "UnitResult", "conditions", "run_unit",
           "run_units"]

CROP_PX = 96  # contact-sheet crop side (px)


@dataclass(frozen=True)
class UnitJob:
    """One vehicle to run: the draw, the gallery folder (``None``: shipped faces), render
    ``scale``, ``frames`` per burst, the capture ``control`` arm, ``timing`` (:func:`run_sim_lane`'s:
    ``"simulated"``, deterministic, or ``"real"``), whether to keep crops of misses, the face
    ``finder`` and ``matcher`` kinds, and whether a side camera films too."""

    vehicle: DrawnVehicle
    gallery_root: str | None = None
    scale: float = 1.0
    frames: int = 10
    control: str = "exposure"
    timing: str = "simulated"
    crops: bool = False
    finder: str = "hog"
    matcher: str = "dlib"
    side_camera: bool = False


@dataclass(frozen=True)
class TravelerRecord:
    """What happened to one traveler with a document (metadata and counts only)."""

    vehicle: int
    seat: str
    rear: bool
    child: bool
    impostor: bool
    captured: bool
    verified: bool  # genuine traveler verified with their own face
    false_match: bool  # genuine traveler's document matched someone else's face
    accepted: bool  # impostor: the lane verified the document
    decision_latency_s: float | None
    conditions: tuple[tuple[str, str], ...]
    score: float | None = None  # the offered crop's score against the document presented
    own_crop: bool = False  # that crop shows this traveler in their seat


@dataclass
class UnitResult:
    """A unit's travelers and, when asked, crops of its missed genuine travelers (seat →
    8-bit crop of :data:`CROP_PX` px; in memory only)."""

    index: int
    travelers: list[TravelerRecord]
    crops: dict[str, NDArray[np.uint8]] = field(default_factory=dict)


def conditions(v: DrawnVehicle, o: DrawnOccupant) -> tuple[tuple[str, str], ...]:
    """The conditions a traveler is counted under in the per-condition rates."""
    return (("light", "night" if v.night else f"day-{v.sky}"), ("class", v.vclass),
            ("windshield", v.windshield), ("windshield_condition", v.windshield_condition),
            ("speed", speed_band(v.speed_mph)), ("braking", str(v.decel_mps2 > 0).lower()),
            ("tailgating", str(v.tailgating_gap_s is not None).lower()),
            ("pose", o.pose), ("cap", str(o.cap).lower()),
            ("sunglasses", str(o.sunglasses).lower()), ("mask", str(o.mask).lower()),
            ("hand", o.hand), ("headrests", str(v.headrests).lower()),
            ("visor", str(o.seat in v.visors).lower()))


@cache
def _matcher(kind: str = "dlib") -> Any:
    """The ``kind`` matcher (``[matcher] kind``) at its measured default threshold."""
    from ...config import MatcherConfig
    from ...match.factory import matcher_from_config

    return matcher_from_config(MatcherConfig(kind=kind))


@cache
def _gallery(root: str | None) -> Gallery:
    """The gallery of ``root`` (shipped faces for ``None``); its textures registered."""
    if root is None:
        return shipped_gallery()
    g = load_gallery(root)
    register_face_source(g.names, g.texture)
    return g


@cache
def _template(root: str | None, name: str, impostor: bool, kind: str = "dlib") -> Template:
    return _gallery(root).document_template(_matcher(kind), name, impostor=impostor)


def run_unit(job: UnitJob) -> UnitResult:
    """Run the production lane over one drawn vehicle and score its travelers."""
    v = job.vehicle
    gallery = _gallery(job.gallery_root)
    if job.gallery_root is not None:  # textures fail here, typed, not in a render thread
        names = {o.identity for o in v.occupants}
        if v.leader_identity is not None:
            names.add(v.leader_identity)
        for name in sorted(names):
            gallery.texture(name)
    templates: dict[str, Template] = {}
    for o in v.occupants:  # one document per identity: an identity seated twice shows one
        if o.document is not None and o.identity not in templates:
            templates[o.identity] = _template(job.gallery_root, o.document, o.impostor,
                                              job.matcher)
    sc = vehicle_scenario(v, side_camera=job.side_camera)
    run = run_sim_lane(sc, _matcher(job.matcher), templates=templates, scale=job.scale,
                       frames=job.frames, control=job.control, timing=job.timing,
                       face_finder=job.finder)
    name = f"v{v.index:06d}"
    by_seat = {o.seat: o for o in evaluate_run(run) if o.vehicle == name}
    # one record per person: a gallery with fewer documented people than seats seats someone
    # twice (one document); the second seat is not a second traveler
    firsts = {o.identity: o.seat for o in reversed(v.occupants)}
    records = [_record(v, o, by_seat.get(o.seat)) for o in v.occupants
               if o.document is not None and firsts[o.identity] == o.seat]
    crops = _miss_crops(run, sc, job, [r.seat for r in records if not r.impostor and not r.verified])
    return UnitResult(v.index, records, crops)


def _record(v: DrawnVehicle, o: DrawnOccupant, out: TravelerOutcome | None) -> TravelerRecord:
    """A traveler's record; ``out`` None (no outcome: a repeated identity whose document went
    to the first occurrence) counts as not captured."""
    matched = bool(out and (out.verified or out.false_match or out.other_occupant))
    return TravelerRecord(
        v.index, o.seat, o.seat.startswith("rear"), o.child, o.impostor,
        bool(out and out.captured), bool(out and out.verified and not o.impostor),
        bool(out and out.false_match and not o.impostor), matched and o.impostor,
        out.decision_latency_s if out is not None else None, conditions(v, o),
        out.score if out is not None else None, bool(out and out.own_crop))


def _miss_crops(run: SimLaneRun, sc: Scenario, job: UnitJob, seats: Sequence[str]
                ) -> dict[str, NDArray[np.uint8]]:
    """Crops of ``seats``' faces, when the job asks for crops: each from the lane's own frame
    in which that face was largest (its time, exposure and gain from the frame's truth; the
    strobe pulse as long as the exposure), re-rendered — the lane keeps no frames."""
    if not job.crops or not seats or not run.cameras:
        return {}
    cam = run.cameras[0]
    name = sc.world.vehicles[-1].name
    best: dict[str, tuple[float, FrameTruth]] = {}
    for fn in range(1, cam.last_frame_number + 1):
        try:
            truth = cam.ground_truth(fn)
        except LookupError:
            continue
        for f in truth.faces:
            if f.vehicle == name and f.seat in seats and f.in_view and \
                    f.ied_px > best.get(f.seat, (0.0, truth))[0]:
                best[f.seat] = (f.ied_px, truth)
    out = {}
    for seat, (_, tr) in sorted(best.items()):
        ill = sc.illumination
        if ill.mode == "strobe":
            ill = replace(ill, pulse_s=tr.exposure_s)
        img, truth = cam.renderer.render(Shot(tr.time_s, tr.exposure_s, tr.gain_db,
                                              tr.polarizer_deg, ill, seed=sc.world.seed))
        face = next(f for f in truth.faces if f.vehicle == name and f.seat == seat)
        x0, y0, x1, y1 = (max(round(a), 0) for a in face.box)
        crop = img[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        if crop.size:
            out[seat] = np.asarray(cv2.resize(crop, (CROP_PX, CROP_PX),
                                              interpolation=cv2.INTER_AREA), np.uint8)
    return out


def run_units(jobs: Sequence[UnitJob], *, workers: int = 1, scheduler: str | None = None,
              progress: Callable[[UnitResult], None] | None = None) -> list[UnitResult]:
    """Run ``jobs``: on the Dask scheduler at ``scheduler`` (``dask.distributed``), else on
    ``workers`` local processes (spawned), or in this process for ``workers == 1``.  Results
    in job order."""
    if workers < 1:
        raise ConfigError("workers must be ≥ 1", key="workers", allowed=">= 1")
    note = progress or (lambda r: None)
    if scheduler is not None:
        return _run_dask(jobs, scheduler, note)
    if workers == 1:
        out = []
        for j in jobs:
            out.append(run_unit(j))
            note(out[-1])
        return out
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        out = []
        for r in ex.map(run_unit, jobs):
            out.append(r)
            note(r)
        return out


def _run_dask(jobs: Sequence[UnitJob], address: str,
              note: Callable[[UnitResult], None]) -> list[UnitResult]:
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ConfigError("--scheduler needs dask.distributed: pip install 'lanecam[cluster]'",
                          key="scheduler") from exc
    with Client(address) as client:
        futures = client.map(run_unit, list(jobs), pure=False)
        out = client.gather(futures)
    for r in out:
        note(r)
    return list(out)

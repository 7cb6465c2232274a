"""Burst-frame quality: fused Numba kernels, polarization, burst ranking and face finding.

Start with :class:`BurstRanker` (rank a burst's occupant ROIs, top-K frames per occupant, face
finding on those only); the kernels underneath are usable on their own:
:func:`region_stats` / :func:`frame_stats` (exposure, contrast, noise, sharpness, uniformity in
one pass), :func:`stokes` (DoFP polarization mosaics) and :func:`fit_malus` (rotatable
polarizer).
"""

from .faces import (
    DlibFaceFinder,
    Face,
    FaceFinder,
    FaceFinderUnavailableError,
    default_face_finder,
    face_quality,
    face_score,
)
from .kernels import (
    STATS_DTYPE,
    STATS_FIELDS,
    RegionStats,
    Roi,
    frame_stats,
    region_stats,
    region_stats_many,
)
from .polarization import (
    LAYOUT_90_45_135_0,
    LAYOUT_SFNC,
    Layout,
    MalusFit,
    StokesImages,
    fit_malus,
    stokes,
)
from .rank import BurstRanker, BurstRanking, Candidate, RoiScore
from .scoring import COMPONENTS, DEFAULT_WEIGHTS, QualityScore, ScoreWeights, score_records

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "LAYOUT_90_45_135_0",
    "LAYOUT_SFNC",
    "STATS_DTYPE",
    "STATS_FIELDS",
    "BurstRanker",
    "BurstRanking",
    "Candidate",
    "DlibFaceFinder",
    "Face",
    "FaceFinder",
    "FaceFinderUnavailableError",
    "Layout",
    "MalusFit",
    "QualityScore",
    "RegionStats",
    "Roi",
    "RoiScore",
    "ScoreWeights",
    "StokesImages",
    "default_face_finder",
    "face_quality",
    "face_score",
    "fit_malus",
    "frame_stats",
    "region_stats",
    "region_stats_many",
    "score_records",
    "stokes",
]

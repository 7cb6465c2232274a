"""Error rates of a matcher on labelled pairs: FMR, FNMR and the ROC, per group when given.

FMR (false-match rate) = impostor pairs scored at or above the threshold / impostor pairs;
FNMR (false-non-match rate) = genuine pairs scored below it / genuine pairs
(ISO/IEC 19795-1 definitions).  Small samples: each rate carries its pair count, and a zero
count is reported as an upper bound with the rule of three (3/n at 95 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

__all__ = ["ErrorRates", "Evaluation", "ScoredPair", "evaluate"]


@dataclass(frozen=True)
class ScoredPair:
    """One comparison: its similarity, whether both images show the same person, and a group."""

    score: float
    genuine: bool
    group: str | None = None


@dataclass(frozen=True)
class ErrorRates:
    threshold: float
    fmr: float
    fnmr: float
    impostors: int
    genuines: int

    @property
    def fmr_upper95(self) -> float:
        """FMR, or 3/n when no false match was seen (rule of three)."""
        return self.fmr if self.fmr > 0 or not self.impostors else min(1.0, 3 / self.impostors)


@dataclass(frozen=True)
class Evaluation:
    at_threshold: ErrorRates
    roc: tuple[ErrorRates, ...]  # one row per distinct score, descending threshold
    per_group: dict[str, ErrorRates] = field(default_factory=dict)


def _rates(scores: np.ndarray, genuine: np.ndarray, t: float) -> ErrorRates:
    imp = scores[~genuine]
    gen = scores[genuine]
    fmr = float(np.mean(imp >= t)) if imp.size else 0.0
    fnmr = float(np.mean(gen < t)) if gen.size else 0.0
    return ErrorRates(t, fmr, fnmr, int(imp.size), int(gen.size))


def evaluate(pairs: Iterable[ScoredPair], threshold: float) -> Evaluation:
    """FMR/FNMR at ``threshold``, the full ROC, and per-group rates when groups are labelled."""
    items: Sequence[ScoredPair] = list(pairs)
    if not items:
        raise ConfigError("no scored pairs to evaluate", key="pairs")
    scores = np.array([p.score for p in items], dtype=float)
    if not np.all(np.isfinite(scores)):
        raise ConfigError("scores must be finite", key="pairs")
    genuine = np.array([p.genuine for p in items], dtype=bool)
    roc = tuple(_rates(scores, genuine, float(t)) for t in np.unique(scores)[::-1])
    groups = sorted({p.group for p in items if p.group is not None})
    per_group = {}
    for g in groups:
        mask = np.array([p.group == g for p in items])
        per_group[g] = _rates(scores[mask], genuine[mask], threshold)
    return Evaluation(_rates(scores, genuine, threshold), roc, per_group)

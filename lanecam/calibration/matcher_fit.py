"""The maths of the ``matcher`` procedure (no images): the decision threshold for a target
false-match rate from labelled comparison scores, and what the sample can vouch for.

Scores are similarities (higher = more alike).  A threshold that k of the n impostor scores
reach has a measured FMR k/n and an exact one-sided Clopper–Pearson upper bound (the p at which
P(X ≤ k; n, p) = α; 1 − α^(1/n) ≈ 3/n for k = 0, the rule of three).  The threshold is the
lowest whose bound stays at or below the target — the sample then *vouches* for the target;
when even k = 0 cannot (n < ≈ 3/target), it is the plain empirical one (k = ⌊target·n⌋) and
the fit is unsupported.  It is put midway between the (k+1)-th highest impostor score and the
next higher score of the sample, so the sample's rates do not depend on rounding.  The FNMR at the threshold (genuine
scores below it) gets the same bound.  ISO/IEC 19795-1 definitions, as
:mod:`lanecam.match.evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Photo", "RateBound", "ThresholdFit", "binomial_upper", "fit_threshold", "rate_at"]


@dataclass(frozen=True)
class Photo:
    """A labelled photo: a file, or an image in memory (``image``, cached under ``key``)."""

    path: Path
    identity: str
    group: str | None
    image: Any = None
    key: tuple[Any, ...] | None = None


#: default confidence of the one-sided upper bounds
CONFIDENCE = 0.95


def _binom_cdf(x: int, n: int, p: float) -> float:
    """P(X ≤ x) for X ~ Binomial(n, p), summed in log space (n up to millions)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if x >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    lg = math.lgamma(n + 1)
    terms = [lg - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
             for i in range(min(x, n) + 1)]
    m = max(terms)
    return min(1.0, math.exp(m) * sum(math.exp(t - m) for t in terms))


def binomial_upper(x: int, n: int, confidence: float = CONFIDENCE) -> float:
    """Exact one-sided Clopper–Pearson upper bound of a rate seen x times in n trials."""
    if n <= 0:
        return 1.0
    if x >= n:
        return 1.0
    alpha = 1.0 - confidence
    if x == 0:
        return 1.0 - alpha ** (1.0 / n)
    lo, hi = x / n, 1.0
    for _ in range(100):  # bisection: the CDF falls with p
        mid = (lo + hi) / 2
        if _binom_cdf(x, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class RateBound:
    """A measured rate: ``errors`` of ``trials``, its value and its upper bound."""

    errors: int
    trials: int
    rate: float
    upper: float


def rate_at(errors: int, trials: int, confidence: float = CONFIDENCE) -> RateBound:
    return RateBound(errors, trials, errors / trials if trials else math.nan,
                     binomial_upper(errors, trials, confidence))


@dataclass(frozen=True)
class ThresholdFit:
    """The threshold (similarity), the FMR and FNMR it reaches on the sample with their upper
    bounds, and whether the sample supports the target (``fmr.upper <= target``)."""

    target_fmr: float
    threshold: float
    fmr: RateBound
    fnmr: RateBound
    supported: bool
    min_impostors: int


def min_impostors_for(target_fmr: float, confidence: float = CONFIDENCE) -> int:
    """Fewest impostor pairs whose upper bound can reach ``target_fmr`` (none above the
    threshold): n ≥ ln(1−confidence)/ln(1−target), ≈ 3/target at 95 %."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-target_fmr))


def _vouched_errors(n: int, target: float, confidence: float) -> int | None:
    """The most impostors above the threshold whose upper bound stays ≤ ``target`` (the
    bound grows with the count: binary search), None when not even 0 does."""
    if binomial_upper(0, n, confidence) > target:
        return None
    lo, hi = 0, n - 1  # bound(lo) <= target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if binomial_upper(mid, n, confidence) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit_threshold(impostor: Sequence[float], genuine: Sequence[float], target_fmr: float,
                  confidence: float = CONFIDENCE) -> ThresholdFit:
    """The threshold at ``target_fmr`` (ValueError without impostor scores or for a target
    outside (0, 1))."""
    if not 0.0 < target_fmr < 1.0:
        raise ValueError("the target FMR must be in (0, 1)")
    imp = np.sort(np.asarray(impostor, np.float64))[::-1]
    gen = np.asarray(genuine, np.float64)
    if imp.size == 0:
        raise ValueError("no impostor scores")
    n = int(imp.size)
    k = _vouched_errors(n, target_fmr, confidence)
    if k is None:
        k = min(math.floor(target_fmr * n), n - 1)
    floor_score = float(imp[k])  # the (k+1)-th highest: must fall below the threshold
    above = np.concatenate([imp, gen])
    above = above[above > floor_score]
    nxt = float(above.min()) if above.size else floor_score + 0.02
    t = (floor_score + nxt) / 2
    fmr = rate_at(int(np.sum(imp >= t)), int(imp.size), confidence)
    fnmr = rate_at(int(np.sum(gen < t)), int(gen.size), confidence)
    return ThresholdFit(target_fmr, t, fmr, fnmr, fmr.upper <= target_fmr,
                        min_impostors_for(target_fmr, confidence))

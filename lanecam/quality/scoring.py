"""Map region statistics to quality components in [0, 100] and one combined score.

Components (each 0–100, higher is better), computed from a
:data:`~lanecam.quality.kernels.STATS_DTYPE` record:

``sharpness``
    ``100·σ(log2 x; 0, 0.5)`` of the noise-debiased, contrast-normalized Tenengrad
    ``x = tenengrad / max(std² − σ_noise², 1)`` (dimensionless; gain-invariant).  Calibrated on the
    face photos in ``tests/data/faces`` at ~150 px face width: sharp ≈ 1.3–2.7, Gaussian blur of
    σ = 1/2/3 px ≈ 0.9–1.5/0.6–0.9/0.4–0.7; added white noise leaves x unchanged.  Like OFIQ's
    sharpness it ranks samples of one subject; it is not an absolute focus test.
``exposure``
    the worst of OFIQ's LuminanceMean ``100·σ(m; 0.2, 0.05)·(1 − σ(m; 0.8, 0.05))`` (m = mean/255),
    UnderExposurePrevention ``120·(0.832 − σ(u; 0.92, 0.05))`` and OverExposurePrevention
    ``min(100, 1/(o + 0.01))``.
``glare``
    ``100·exp(−50·clipped)``: 1 % saturated pixels → 61, 5 % → 8.
``noise``
    ``100·σ(snr; 8, 2)`` with ``snr = √max(std² − σ², 0) / σ`` (signal std over noise σ):
    SNR 4 → 12, 8 → 50, 12 → 88.
``dynamic_range``
    OFIQ DynamicRange ``min(100, 12.5·entropy)``.
``uniformity``
    OFIQ IlluminationUniformity ``100·overlap^0.3`` of the left/right half histograms.

``σ(x; x0, w) = 1 / (1 + exp((x0 − x)/w))`` is OFIQ's logistic.  The combined ``score`` is the
weighted geometric mean of the components, each floored at 1 first, so one failed component
(blurred, black, blown out) sinks the frame while bad frames stay ordered; with the
:data:`DEFAULT_WEIGHTS` it lies in [1, 100].  Regions without enough pixels to measure a
component (empty, or no 3×3 interior) score 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..errors import ConfigError

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "QualityScore",
    "ScoreWeights",
    "logistic",
    "normalized_sharpness",
    "score_records",
]

COMPONENTS = ("sharpness", "exposure", "glare", "noise", "dynamic_range", "uniformity")


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Exponents of the weighted geometric mean; non-negative, normalized to sum 1 when used."""

    sharpness: float = 0.40
    exposure: float = 0.25
    glare: float = 0.15
    noise: float = 0.10
    dynamic_range: float = 0.05
    uniformity: float = 0.05

    def __post_init__(self) -> None:
        values = [getattr(self, f.name) for f in fields(self)]
        if any(not np.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
            raise ConfigError("score weights must be finite, ≥ 0 and not all 0",
                              key="quality.weights", allowed=list(COMPONENTS))

    def normalized(self) -> np.ndarray:
        """Weights in :data:`COMPONENTS` order, summing to 1."""
        w = np.array([getattr(self, name) for name in COMPONENTS], np.float64)
        return w / w.sum()


DEFAULT_WEIGHTS = ScoreWeights()


@dataclass(frozen=True, slots=True)
class QualityScore:
    """A combined quality score in [0, 100] and the components (0–100) that explain it."""

    score: float
    components: Mapping[str, float]

    @property
    def limiting(self) -> str:
        """The component with the lowest value (what to fix first)."""
        return min(self.components, key=lambda k: self.components[k])


def logistic(x: np.ndarray | float, x0: float, w: float) -> np.ndarray:
    """OFIQ's ``σ(x; x0, w) = 1 / (1 + exp((x0 − x) / w))``."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp((x0 - np.asarray(x, np.float64)) / w))


def normalized_sharpness(tenengrad: np.ndarray | float, std: np.ndarray | float,
                         noise_sigma: np.ndarray | float) -> np.ndarray:
    """``tenengrad / max(std² − σ², 1)``: noise-debiased Tenengrad per unit of signal variance
    (1/px², gain-invariant); NaN where the region had no 3×3 interior."""
    var_sig = np.maximum(np.asarray(std, np.float64) ** 2 - np.asarray(noise_sigma) ** 2, 1.0)
    return np.asarray(tenengrad, np.float64) / var_sig


def _components(rec: np.ndarray) -> np.ndarray:
    """``(n, 6)`` components in :data:`COMPONENTS` order from ``n`` stats records (NaN → 0)."""
    sig = rec["noise_sigma"]
    var_sig = np.maximum(rec["std"] ** 2 - sig**2, 0.0)
    x = normalized_sharpness(rec["tenengrad"], rec["std"], sig)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(sig > 0, np.sqrt(var_sig) / sig, np.inf)
    m = rec["mean"] / 255.0
    q_mean = 100.0 * logistic(m, 0.2, 0.05) * (1.0 - logistic(m, 0.8, 0.05))
    q_under = 120.0 * (0.832 - logistic(rec["under_exposed"], 0.92, 0.05))
    q_over = np.minimum(100.0, 1.0 / (rec["over_exposed"] + 0.01))
    comp = np.stack(
        [
            100.0 * logistic(np.log2(np.maximum(x, 1e-12)), 0.0, 0.5),
            np.minimum(np.minimum(q_mean, q_under), q_over),
            100.0 * np.exp(-50.0 * rec["clipped"]),
            100.0 * logistic(snr, 8.0, 2.0),
            np.minimum(100.0, 12.5 * rec["entropy"]),
            100.0 * np.power(np.clip(rec["lr_hist_overlap"], 0.0, 1.0), 0.3),
        ],
        axis=1,
    )
    return np.clip(np.nan_to_num(comp, nan=0.0), 0.0, 100.0)


def score_records(
    records: np.ndarray, weights: ScoreWeights = DEFAULT_WEIGHTS
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized scoring: ``(scores (n,), components (n, 6))`` for ``n`` stats records."""
    rec = np.atleast_1d(records)
    comp = _components(rec)
    logq = np.log(np.maximum(comp, 1.0))
    scores = np.exp(logq @ weights.normalized())
    scores[np.isnan(rec["tenengrad"])] = 0.0  # no 3×3 interior: nothing measurable
    return scores, comp
